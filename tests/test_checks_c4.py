"""Claim C4 (the practical attacker): the ``c4.*`` checks.

The family passes at ``--size small``; every record states its claim (source and text), carries
the measured data and a verdict (``HOLDS``/``REFUTED``) taken from the data; a planted error in
each check's decision threshold flips a verdict (and fails the run); the report table states a
verdict with numbers for every claim.
"""

from __future__ import annotations

import json
import math

import pytest

from specdef.validation import Context, Status, run_checks, select
from specdef.validation.certify import Grid, cell_status, claims_table
from specdef.validation.checks.c4 import CLAIMS, EXPECTED
from specdef.validation.checks.c4.attacker import fitted_exponent

C4 = ["c4.lr_sweep", "c4.curvature_aware", "c4.alpha_threshold", "c4.injection", "c4.lora",
      "c4.clipping"]


def by_check(rep) -> dict:
    out: dict = {}
    for r in rep.results:
        out.setdefault(r.check, []).append(r)
    return out


@pytest.fixture(scope="module")
def report():
    return run_checks(select(["c4"]), Context(), progress=False)


def run(cid: str, factor: float):
    return run_checks(select([cid]), Context(perturb={cid: factor}), progress=False).results


# ------------------------------------------------------------------------------ the family
def test_family_passes_at_small(report):
    recs = by_check(report)
    assert list(recs) == C4  # registered in this order
    bad = [(r.check, r.params.get("setting"), r.status, r.detail) for r in report.results
           if not r.passed]
    assert not bad, bad


def test_every_record_states_claim_data_and_a_verdict(report):
    for r in report.results:
        json.dumps(r.to_dict(), allow_nan=False)
        assert r.status in (Status.HOLDS, Status.REFUTED), (r.check, r.status, r.detail)
        claim = r.data["claim"]
        assert claim["key"] in CLAIMS and claim["source"] in ("paper", "replication", "prediction")
        assert claim["text"] == CLAIMS[claim["key"]].text
        assert r.theorem == f"claim.c4.{claim['key']}"
        assert r.expectation in ("holds", "refuted")
        assert r.detail and "\n" not in r.detail
        assert r.proven is not None  # the threshold the verdict compares with
        prov = r.data.get("provenance")
        if prov is not None:
            assert prov["empirical"] != prov["proven"]


def test_measured_data_behind_the_verdicts(report):
    recs = by_check(report)
    for r in recs["c4.lr_sweep"]:
        d = r.data
        assert set(d["optimisers"]) == {"sgd", "sgd_momentum", "adam", "adamw"}
        for o in d["optimisers"].values():
            assert math.log10(max(o["lrs"]) / min(o["lrs"])) >= 5 - 1e-9  # five decades
            assert o["steps_undefended"] is not None and o["steps_undefended"] > 0
        # the verdict follows from the data: refuted iff some optimiser recovered within 10x
        recovered = any(o["steps_defended"] is not None and o["slowdown"] < d["min_slowdown"]
                        for o in d["optimisers"].values())
        assert (r.status == Status.REFUTED) == recovered
    for r in recs["c4.curvature_aware"]:
        assert set(r.data["settings"]) == {"layer/frozen", "layer/trained", "mlp/frozen",
                                           "mlp/trained"}
        assert r.data["optimiser"] in ("sophia", "muon", "muon_polar", "adahessian")
    for r in recs["c4.alpha_threshold"]:
        d = r.data
        assert d["alpha"][0] == 1.0 and d["alpha"][-1] == 1e4
        star = d["threshold_alpha"]
        assert (r.status == Status.HOLDS) == (star is not None and star <= 1e4)
        if r.params["setting"].endswith("frozen"):
            cert = d["certificate"]
            assert cert["heatmap"]["rows"] and cert["curves"]["series"]
    inj = {(r.data["claim"]["key"], r.params["setting"]): r for r in recs["c4.injection"]}
    for model in ("layer", "mlp"):
        assert inj[("injection_adamw", model)].empirical > inj[("injection_adamw",
                                                                model)].proven
        lora = inj[("parallel_lora", model)].data
        assert lora["overhead"] == pytest.approx(lora["overhead_formula"])
    jumps = {r.params["setting"]: r.empirical for r in recs["c4.clipping"]
             if r.data["claim"]["key"] == "grad_jump"}
    assert jumps["layer/trained"] > 100 * jumps["layer/frozen"]


def test_expectations_cover_every_claim():
    keys = {k for k, _ in EXPECTED}
    assert keys == set(CLAIMS)
    assert set(EXPECTED.values()) <= {"holds", "refuted"}


# --------------------------------------------------------------------------- planted errors
@pytest.mark.parametrize("cid, factor", [
    ("c4.lr_sweep", 2.0),          # "slowed" would need 20x, the budget resolves 10x
    ("c4.curvature_aware", 1.5),   # a bypass below 15x
    ("c4.alpha_threshold", 2.0),   # no alpha of the grid reaches 20x
    ("c4.injection", 1e3),         # AdamW's gap would count as "exact"
    ("c4.injection", 1e-3),        # Newton-Schulz's amplified rounding would count as inexact
    ("c4.lora", 2.0),
    ("c4.clipping", 1e4),          # a 5048x jump is below 1e5x; a 212x spike below 2e4x
])
def test_a_planted_error_flips_a_verdict(report, cid, factor):
    before = {(r.data["claim"]["key"], r.params["setting"]): r.status
              for r in report.results if r.check == cid}
    after = run(cid, factor)
    flipped = [r for r in after if before[(r.data["claim"]["key"], r.params["setting"])]
               != r.status]
    assert flipped, [(r.params["setting"], r.status) for r in after]
    assert any(not r.passed for r in flipped)


def test_unperturbed_rerun_reads_the_same_grid(report):
    again = run("c4.alpha_threshold", 1.0)
    assert [r.status for r in again] == [r.status for r in report.results
                                         if r.check == "c4.alpha_threshold"]


# ------------------------------------------------------------------------------- the report
def test_claims_table_states_a_verdict_with_numbers(report):
    lines = claims_table(report.results)
    text = "\n".join(lines)
    assert "| claim | verdict | measured |" in text
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| claim")]
    assert len(rows) == 8
    for ln in rows:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        assert any(w in cells[1] for w in ("HOLDS", "REFUTED", "not decided", "mixed")), ln
        assert cells[2] != "–", ln
    assert "Sophia, Muon and AdaHessian cannot bypass SpecDef | HOLDS" in text
    assert claims_table([]) == []


# ----------------------------------------------------------------------------- small pieces
def test_cell_status():
    assert cell_status(["converged", "converged"]) == "converged"
    assert cell_status(["converged", "diverged"]) == "diverged"
    assert cell_status(["converged", "max_steps"]) == "budget"
    assert cell_status(["stalled"]) == "budget"


def test_slowdown_and_exponent_of_a_grid():
    """A hand-made grid: steps 10·α² until the 10x budget, then a lower bound."""
    alphas = [1.0, 2.0, 4.0]
    st = [["converged"], ["converged"], ["budget"]]
    g = Grid(model="layer", alphas=alphas, modes=["frozen"], budget=100, tol=1e-2, seeds=[0],
             clip=None, optimisers={"sgd": dict(
                 lrs=[0.1], defended_budget=100, baseline=dict(status=["converged"],
                                                               steps=[10.0]),
                 modes={"frozen": dict(status=st, steps=[[10.0], [40.0], [None]])})})
    assert g.slowdown("sgd", "frozen", 2.0) == (4.0, False)
    assert g.slowdown("sgd", "frozen", 4.0) == (10.0, True)
    assert fitted_exponent(g, "sgd", "frozen") == pytest.approx(2.0)
    assert g.cell_slowdown("sgd", "frozen", 4.0, 0) == ("budget", 10.0)
