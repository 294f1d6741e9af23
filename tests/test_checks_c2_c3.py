"""Claims C2 (second-order methods) and C3 (attacks): the ``c2.*`` and ``c3.*`` checks.

The families pass at ``--size small``; each exact theorem perturbed by 1 % is caught; the
classification checks fail when the outcome is rigged (a no-op defence, a broken attack); float32
runs without crashing and reports unrepresentable instances as ERROR with a reason.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from specdef import numerics
from specdef.validation import Context, Status, run_checks, select
from specdef.validation.checks.c3 import classify
from specdef.validation.checks.c2 import PREDICTION, kron_modes

C2 = ["c2.newton", "c2.gauss_newton", "c2.levenberg_marquardt", "c2.damped_newton",
      "c2.newton_cg", "c2.levenberg_marquardt.prediction"]
C3 = ["c3.additive_injection", "c3.bypass", "c3.factorisation", "c3.fusion"]


def noop_defence(W, alpha, k):
    """Function-preserving and does nothing: ``(W, I)``."""
    return W, np.eye(W.shape[0], dtype=W.dtype)


def by_check(rep):
    out = {}
    for r in rep.results:
        out.setdefault(r.check, []).append(r)
    return out


def failed(recs):
    return [r for r in recs if not r.passed]


@pytest.fixture(scope="module")
def report():
    return run_checks(select(["c2", "c3"]), Context(), progress=False)


@pytest.fixture(scope="module")
def noop_report():
    return run_checks(select(["c3", "c2.newton_cg"]),
                      Context(defence=noop_defence, defence_name="noop"), progress=False)


# ------------------------------------------------------------------------------ the families
def test_families_pass_at_small(report):
    recs = by_check(report)
    assert sorted(recs) == sorted(C2 + C3)
    bad = [(r.check, r.status, r.detail) for r in report.results if not r.passed]
    assert not bad, bad


def test_records_are_json_and_carry_figure_data(report):
    for r in report.results:
        json.dumps(r.to_dict(), allow_nan=False)
        assert r.detail and "\n" not in r.detail
        d = r.data
        if r.params.get("relation") == "LM count vs prediction":
            assert len(d["steps"]) == len(d["alpha"]) == len(d["predicted"])
        elif r.check.startswith("c2."):
            for key in ("alpha", "steps", "steps_undefended", "method", "parameterisation"):
                assert key in d, (r.check, key)
            assert len(d["steps"]) == len(d["alpha"])
            assert d["parameterisation"] in ("frozen", "joint")
            if r.check == "c2.newton_cg":
                assert len(d["inner"]) == len(d["alpha"])
            if r.check == "c2.levenberg_marquardt":
                assert d["damping"] > 0
        else:
            for key in ("alpha", "steps_before", "steps_defended", "steps_attack", "overhead",
                        "attack", "recovery"):
                assert key in d, (r.check, key)
            assert len(d["steps_attack"]) == len(d["alpha"]) == len(d["steps_before"])
    gd = [r for r in report.results if r.check == "c2.newton" and "gd_steps" in r.data]
    assert len(gd) == 1 and len(gd[0].data["gd_steps"]) == len(gd[0].data["alpha"])


def test_c2_verdicts_follow_the_predictions(report):
    for r in report.results:
        if not r.check.startswith("c2."):
            continue
        if r.params.get("relation") == "LM count vs prediction":
            # LM with fixed damping, C frozen: simulated count = its exact prediction
            assert r.status == Status.TIGHT and r.theorem == "gd.quadratic.steps_to_tolerance"
            continue
        pred = PREDICTION[(r.data["method"], r.data["parameterisation"])]
        assert r.data["prediction"] == pred
        if pred == "invariant":
            assert r.status == Status.TIGHT, r.detail
        else:  # no theorem predicts the factor: data, never "HOLDS pass" against a placeholder
            assert r.status == Status.MEASURED and r.proven is None, r.detail
            assert r.empirical > 1 and "slowed ×" in r.detail


def test_lm_frozen_has_a_prediction_record_per_damping(report):
    recs = by_check(report)["c2.levenberg_marquardt.prediction"]
    assert all(r.params.get("relation") == "LM count vs prediction" for r in recs)
    assert len(recs) == 3 and all(r.status == Status.TIGHT for r in recs)
    for r in recs:  # every simulated count equals the prediction, at more than one α somewhere
        assert r.data["steps"] == r.data["predicted"]
    assert max(len(r.data["alpha"]) for r in recs) >= 2


def test_c2_gd_grows_like_alpha_squared(report):
    """The GD reference of Figure 3: C frozen, steps ∝ α² (κ α² worst case) for large α."""
    r = next(r for r in report.results if r.check == "c2.newton" and "gd_steps" in r.data)
    a, gd = np.array(r.data["alpha"]), np.array(r.data["gd_steps"], dtype=float)
    big = a >= 100
    slope = np.polyfit(np.log(a[big]), np.log(gd[big]), 1)[0]
    assert 1.9 < slope < 2.1


def test_c3_classifications(report):
    recs = by_check(report)
    inj = recs["c3.additive_injection"][-1]
    assert inj.data["recovery"] == "exact" and inj.status == Status.TIGHT
    assert {10.0, 1e10} <= set(inj.data["alpha"]) and inj.data["overhead"] <= 1
    assert inj.data["steps_attack"] == inj.data["steps_before"]
    assert recs["c3.bypass"][-1].data["recovery"] == "alpha-independent"
    assert recs["c3.factorisation"][0].data["recovery"] == "absent"
    fus = recs["c3.fusion"]
    assert fus[-1].data["recovery"] == "exact" and fus[0].empirical < 0


def test_bypass_rate_matches_the_formula_from_scratch(report):
    rate = by_check(report)["c3.bypass"][0]
    kz, eps = rate.params["kappa_z"], rate.params["eps"]
    assert rate.empirical == math.ceil(math.log(eps) / math.log(1 - 1 / kz))


def test_kron_modes_match_a_dense_eigendecomposition():
    rng = np.random.default_rng(3)
    A, B, E = rng.standard_normal((3, 5)), rng.standard_normal((4, 2)), rng.standard_normal((2, 3))
    H = np.kron(A @ A.T, B.T @ B)
    e = E.reshape(-1, order="F")
    h, c = kron_modes(A, B, E)
    assert np.allclose(np.sort(h), np.linalg.eigvalsh(H), atol=1e-10)
    for t in (1, 3):  # quadratic form through the modes = through the dense Hessian
        assert np.isclose(np.sum(h ** t * c ** 2), e @ np.linalg.matrix_power(H, t) @ e)


def test_classify():
    assert classify([5.0, 5.0], [True, True], 1e-8) == "exact"
    assert classify([5.0, 6.0], [True, False], 1e-8) == "alpha-independent"
    assert classify([5.0, 50.0], [False, False], 1e-8) == "absent"
    assert classify([5.0, None], [], 1e-8) == "absent"


# ------------------------------------------------------------------------------ planted errors
def test_planted_newton_invariance_is_caught():
    rep = run_checks(select(["c2.newton", "c2.gauss_newton"]),
                     Context(perturb={"newton.affine_invariance": 1.01}), progress=False)
    assert rep.results and all(r.status == Status.VIOLATED for r in rep.results)


#: (check, theorem, factor): every theorem a verdict record of c2/c3 compares with, perturbed
#: (tests/test_verdicts.py checks the coverage).
PLANTED = [(c, t, f) for c, t in [
    ("c3.additive_injection", "attack.additive_injection.recovery"),
    ("c3.bypass", "attack.bypass.rate"),
    ("c3.fusion", "attack.fusion"),
    ("c2.levenberg_marquardt.prediction", "gd.quadratic.steps_to_tolerance"),
    ("c2.damped_newton", "newton.affine_invariance"),
    ("c2.newton", "newton.affine_invariance"),
    ("c2.gauss_newton", "newton.affine_invariance"),
] for f in (1.01, 0.99)]


@pytest.mark.parametrize("check_id, theorem, factor", [p for p in PLANTED
                                                       if not p[0].startswith(("c2.newton",
                                                                               "c2.gauss"))])
def test_planted_attack_theorems_are_caught(check_id, theorem, factor):
    rep = run_checks(select([check_id]), Context(perturb={theorem: factor}), progress=False)
    assert any(r.status == Status.VIOLATED for r in rep.results)
    assert not all(r.passed for r in rep.results)


# ------------------------------------------------------------------------------ rigged outcomes
def test_noop_defence_makes_factorisation_recover(noop_report):
    recs = by_check(noop_report)
    fac = recs["c3.factorisation"][0]
    assert fac.data["recovery"] != "absent" and fac.status == Status.VIOLATED
    assert not failed(recs["c3.additive_injection"]) and not failed(recs["c3.fusion"])
    assert not failed(recs["c3.bypass"])
    for rec in recs["c3.additive_injection"][-1:]:  # a no-op defence does not slow GD
        assert rec.data["steps_defended"] == rec.data["steps_before"]


def test_noop_defence_does_not_slow_newton_cg(noop_report):
    recs = by_check(noop_report)["c2.newton_cg"]
    # Newton-CG's slowdown is data (no theorem predicts it): the record says "not slowed"
    assert all(r.status == Status.MEASURED and "not slowed" in r.detail for r in recs)


def test_broken_injection_is_not_exact(monkeypatch):
    """An injection that forgets C (offset W̃ instead of C W̃) must not count as recovery."""
    def broken(Wt, C, X, Y):
        model = numerics.LinearRegression(X, Y, offset=Wt)
        m, n = Wt.shape
        return numerics.Attack("additive_injection", model, model.xp.zeros(m * n, dtype=Wt.dtype),
                               m * n, m * n, lambda th: model.unpack(th)["W"] + Wt)

    monkeypatch.setitem(numerics.ATTACKS, "additive_injection", broken)
    rep = run_checks(select(["c3.additive_injection"]), Context(), progress=False)
    rec = rep.results[-1]
    assert rec.data["recovery"] != "exact" and rec.status == Status.VIOLATED


def test_factorisation_that_recovers_fails(monkeypatch):
    """Swap the factorisation for the injection: steps no longer grow, the control must fail."""
    monkeypatch.setattr(numerics, "balanced_factorisation",
                        lambda Wt, C, X, Y, n_factors=2: numerics.additive_injection(Wt, C, X, Y))
    rep = run_checks(select(["c3.factorisation"]), Context(), progress=False)
    assert rep.results[0].status == Status.VIOLATED


# ------------------------------------------------------------------------------ float32
def test_float32_runs_and_reports_premise_failures():
    rep = run_checks(select(["c2", "c3"]), Context(dtype="float32"), progress=False)
    assert {r.check for r in rep.results} == set(C2 + C3)
    for r in rep.results:
        assert r.status in Status.ALL
        assert r.dtype == "float32"
        json.dumps(r.to_dict(), allow_nan=False)
        if r.status == Status.ERROR:  # a numerical premise, never a crash
            assert "premise failed" in r.detail, r.detail
    recs = by_check(rep)
    assert all(r.passed for r in recs["c2.newton"] if r.data["parameterisation"] == "frozen")
    inj = recs["c3.additive_injection"][-1]
    assert inj.passed and "dropped" in inj.detail and 1e10 not in inj.data["alpha"]
