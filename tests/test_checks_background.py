"""The background checks (``gd.*``, ``first_order.*``, ``newton.*``): they pass at size small,
every one fails with a planted error in its theorem, float32 runs clean, and the worst-case
value agrees with a brute-force maximisation written here in plain NumPy.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from specdef.validation import Context, Status, registered, run_checks, select

FAMILY = ["gd", "first_order", "newton"]
CONTRACTION, STEPS, WORST = ("gd.quadratic.contraction", "gd.quadratic.steps_to_tolerance",
                             "gd.quadratic.worst_case_value")
LINEAR, SUBLINEAR = "gd.strongly_convex.linear_rate", "gd.smooth_convex.sublinear"
EXACT_WORST = "gd.smooth_convex.exact_worst_case"
NESTEROV = "first_order.nesterov_lower_bound"
LOCAL, AFFINE = "newton.local_quadratic", "newton.affine_invariance"
IDS = {"gd.contraction.worst_case", "gd.contraction.random", "gd.steps_to_tolerance",
       "gd.worst_case_value", "gd.strongly_convex", "gd.smooth_convex",
       "first_order.nesterov_lower_bound", "newton.local_quadratic", "newton.affine_invariance"}
HAVE_PEPIT = importlib.util.find_spec("PEPit") is not None


def run(check_id: str, **ctx) -> list:
    checks = [c for c in registered() if c.id == check_id]
    return run_checks(checks, Context(**ctx), progress=False).results


@pytest.fixture(scope="module")
def report():
    return run_checks(select(FAMILY), Context(), progress=False)


@pytest.fixture(scope="module")
def records(report):
    out: dict[str, list] = {}
    for r in report.results:
        out.setdefault(r.check, []).append(r)
    return out


def test_family_is_registered():
    ids = {c.id for c in select(FAMILY)}
    assert ids == IDS | ({"gd.worst_case_value.pepit"} if HAVE_PEPIT else set())


def test_pepit_check_registered_only_with_pepit():
    ids = {c.id for c in registered()}
    assert ("gd.worst_case_value.pepit" in ids) == HAVE_PEPIT


def test_every_record_passes_at_small(report):
    bad = [(r.check, r.status, r.detail) for r in report.results if not r.passed]
    assert not bad
    assert all(r.status != Status.ERROR for r in report.results)
    assert all(r.theorem for r in report.results)


@pytest.mark.parametrize("cid, status", [
    ("gd.contraction.worst_case", Status.TIGHT), ("gd.steps_to_tolerance", Status.TIGHT),
    ("gd.worst_case_value", Status.TIGHT), ("newton.affine_invariance", Status.TIGHT),
    ("gd.contraction.random", Status.HOLDS)])
def test_statuses(records, cid, status):
    assert all(r.status == status for r in records[cid]), [r.detail for r in records[cid]]


def test_smooth_convex_exact_worst_case_is_attained(records):
    """L R²/(4t+2) (Drori & Teboulle 2014) is attained by GD on the Huber function: TIGHT; the
    loose L R²/(2t) HOLDS with ratio t/(2t+1) < 1/2."""
    upper, tight = records["gd.smooth_convex"]
    assert upper.theorem == SUBLINEAR and upper.status == Status.HOLDS
    assert tight.theorem == EXACT_WORST and tight.status == Status.TIGHT
    d = tight.data
    for t, gap, exact in zip(d["t"], d["huber"], d["exact_worst_case"]):
        assert math.isclose(gap, 1.0 / (4 * t + 2), rel_tol=1e-9)  # L = R = 1, from scratch
        assert math.isclose(exact, 1.0 / (4 * t + 2), rel_tol=1e-12)
    # no quadratic comes close: its worst gap is at most about L R²/(4e t)
    assert all(q < 0.8 * e for q, e in zip(d["worst_quadratic"], d["exact_worst_case"]))


def test_contraction_curves_feed_figure_1(records):
    (r,) = records["gd.contraction.worst_case"]
    curves = r.data["curves"]
    assert {c["kappa"] for c in curves} == {10.0, 100.0, 1000.0}
    assert len(curves) == 9  # three canonical steps per κ
    for c in curves:
        assert len(c["t"]) == len(c["loss"]) == len(c["bound"]) <= 200
        t, loss, bound = (np.asarray(c[k], dtype=float) for k in ("t", "loss", "bound"))
        assert t[0] == 0 and np.all(np.diff(t) > 0) and np.all(np.isfinite(loss))
        # the worst-case start attains the proven envelope gap_0 ρ^{2t}
        np.testing.assert_allclose(loss, bound, rtol=1e-6)


def test_worst_case_value_data_feeds_figure_7(records):
    for r in records["gd.worst_case_value"]:
        n, v = np.asarray(r.data["n"]), np.asarray(r.data["value"])
        assert n[0] == 1 and len(n) == len(v) <= 200 and np.all(v > 0)
        assert len(r.data["n_search"]) == len(r.data["search"])
    first = records["gd.worst_case_value"][0]
    assert first.data["n"][-1] == 10**6  # mu = 1e-7: interior maximiser up to n = 1e6


def brute_force(mu: float, L: float, step: float, n: int) -> float:
    lam = np.linspace(mu, L, 2_000_001)
    return float(np.max(lam / 2 * (1 - step * lam) ** (2 * n)))


def test_worst_case_value_matches_brute_force(records):
    for r in records["gd.worst_case_value"]:
        mu, L, step = r.data["mu"], r.data["L"], r.data["step"]
        for n, found in zip(r.data["n_search"], r.data["search"]):
            if n in (1, 3, 10, 50):
                assert found == pytest.approx(brute_force(mu, L, step, n), rel=1e-6)


def test_nesterov_krylov_point_is_the_chain_value(records):
    rec = {r.params["method"]: r for r in records["first_order.nesterov_lower_bound"]}
    kr = rec["krylov_optimal"].data
    np.testing.assert_allclose(kr["gap"], kr["chain_value"], rtol=1e-8)
    assert rec["krylov_optimal"].ratio < 1.01  # within 1 % of the bound: a planted error shows
    assert all(g >= b for g, b in zip(rec["gradient_descent"].data["gap"], kr["bound"]))


def test_newton_local_rate_is_nearly_attained(records):
    (r,) = records["newton.local_quadratic"]
    assert 0.99 < r.ratio <= 1.0


def test_affine_invariance_covers_methods_and_reparameterisations(records):
    recs = records["newton.affine_invariance"]
    assert {r.params["method"] for r in recs} == {"newton", "gauss_newton"}
    assert any("specdef" in r.params["P"] for r in recs)
    assert max(r.params["cond_P"] for r in recs) >= 1e3
    assert all(r.empirical == 1.0 for r in recs)


# A planted error must be caught.  Direction: upper bounds must be caught when lowered (0.99),
# lower bounds when raised (1.01), tight/exact ones both ways.  gd.smooth_convex is loose by
# nature: the exact worst case of GD over L-smooth convex functions is L R²/(4t+2), at most half
# of L R²/(2t) (Drori & Teboulle 2014), so no honest instance can expose a 1 % error; 0.49 is
# the smallest change the Huber worst case at t = 200 (ratio 0.4988) exposes.
PLANTED = [
    ("gd.contraction.worst_case", CONTRACTION, 1.01),
    ("gd.contraction.worst_case", CONTRACTION, 0.99),
    ("gd.contraction.random", CONTRACTION, 0.99),
    ("gd.steps_to_tolerance", STEPS, 1.01),
    ("gd.steps_to_tolerance", STEPS, 0.99),
    ("gd.worst_case_value", WORST, 1.01),
    ("gd.worst_case_value", WORST, 0.99),
    ("gd.strongly_convex", LINEAR, 0.99),
    ("gd.smooth_convex", SUBLINEAR, 0.49),
    ("gd.smooth_convex", EXACT_WORST, 1.01),
    ("gd.smooth_convex", EXACT_WORST, 0.99),
    ("first_order.nesterov_lower_bound", NESTEROV, 1.01),
    ("newton.local_quadratic", LOCAL, 0.99),
    ("newton.affine_invariance", AFFINE, 1.01),
    ("newton.affine_invariance", AFFINE, 0.99),
]
if HAVE_PEPIT:  # PEPit's SDP against the closed form, to the solver accuracy 1e-3
    PLANTED += [("gd.worst_case_value.pepit", WORST, 1.01),
                ("gd.worst_case_value.pepit", WORST, 0.99)]


@pytest.mark.parametrize("cid, tid, factor", PLANTED, ids=[f"{c}-{f}" for c, _, f in PLANTED])
def test_planted_error_is_caught(cid, tid, factor):
    res = run(cid, perturb={tid: factor})
    assert any(r.status in (Status.VIOLATED, Status.LOOSE) for r in res), [
        (r.status, r.detail) for r in res]
    assert not all(r.passed for r in res)


def test_every_check_has_a_planted_error_test():
    assert {c for c, _, _ in PLANTED} == IDS | ({"gd.worst_case_value.pepit"} if HAVE_PEPIT
                                                else set())


def test_float32_runs_clean():
    rep = run_checks(select(FAMILY), Context(dtype="float32"), progress=False)
    bad = [(r.check, r.status, r.detail) for r in rep.results
           if r.status in (Status.VIOLATED, Status.ERROR, Status.REFUTED) or not r.passed]
    assert not bad
    for r in rep.results:
        assert r.empirical is None or math.isfinite(r.empirical)
