"""The theorem machinery: registry, evaluate, assumptions, prove() verdicts, import isolation."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the editable install may predate theory/__init__.py
    sys.path.insert(0, str(ROOT))

from specdef import theory  # noqa: E402
from specdef.theory import AssumptionError, Theorem, UnknownTheoremError, Verdict  # noqa: E402

REQUIRED = {
    "gd.quadratic.contraction": "tight", "gd.quadratic.steps_to_tolerance": "exact",
    "gd.quadratic.worst_case_value": "tight", "gd.strongly_convex.linear_rate": "upper",
    "gd.smooth_convex.sublinear": "upper", "first_order.nesterov_lower_bound": "lower",
    "gd.smooth_convex.exact_worst_case": "tight",
    "newton.local_quadratic": "upper", "newton.affine_invariance": "exact",
    "specdef.weight_spectrum": "exact", "specdef.function_preservation": "upper",
    "specdef.hessian.frozen_compensation": "exact",
    "specdef.gd_slowdown.frozen_compensation": "tight",
    "specdef.hessian.sigma1_growth": "lower", "hessian_bound.displayed": "lower",
    "hessian_bound.corrected": "lower", "attack.additive_injection.recovery": "exact",
    "attack.bypass.rate": "exact", "attack.fusion": "exact",
}


# ----------------------------------------------------------------------------- registry
def test_registry_lists_every_required_theorem_sorted():
    ids = theory.ids()
    assert ids == sorted(ids)
    assert set(REQUIRED) <= set(ids)
    assert [th.id for th in theory.all_theorems()] == ids


@pytest.mark.parametrize("theorem_id", sorted(REQUIRED))
def test_theorem_record_is_well_formed(theorem_id):
    th = theory.get(theorem_id)
    assert th is theory.get(theorem_id)  # cached
    assert th.id == theorem_id and th.kind == REQUIRED[theorem_id]
    assert th.expectation == ("refuted" if theorem_id == "hessian_bound.displayed" else "holds")
    assert th.statement and th.reference
    assert all(p.isidentifier() and isinstance(th.symbols[p], sp.Symbol) for p in th.parameters)
    assert {str(s) for s in th.bound.free_symbols} <= set(th.parameters)
    assert all(a.name and a.message for a in th.assumptions)
    with pytest.raises(dataclasses.FrozenInstanceError):
        th.kind = "upper"


def test_unknown_id_raises_value_error_not_key_error():
    with pytest.raises(UnknownTheoremError) as info:
        theory.get("no.such.theorem")
    assert isinstance(info.value, ValueError) and not isinstance(info.value, KeyError)
    assert "no.such.theorem" in str(info.value) and "\n" not in str(info.value)


def test_docstring_table_lists_every_theorem_with_its_parameters():
    doc = theory.__doc__
    for th in theory.all_theorems():
        line = next(ln for ln in doc.splitlines() if ln.startswith(th.id + " "))
        assert th.kind in line and th.expectation in line
        assert ", ".join(th.parameters) in line


def test_import_theory_loads_no_numeric_project_module():
    code = ("import sys; from specdef import theory; theory.get('gd.quadratic.contraction').prove(); "
            "bad = [m for m in ('specdef.numerics', 'specdef.validation', 'specdef.figures', 'numpy', 'cupy') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- evaluate
def test_evaluate_returns_float_and_broadcasts_arrays():
    th = theory.get("gd.quadratic.contraction")
    value = th.evaluate(mu=1, L=3, step=0.5)
    assert isinstance(value, float) and value == pytest.approx(0.5, rel=1e-15)
    mu = np.array([0.5, 1.0, 2.0])
    out = th.evaluate(mu=mu, L=4.0, step=np.array([[0.1], [0.25]]))
    assert out.shape == (2, 3)
    for i, s in enumerate((0.1, 0.25)):
        for j, m in enumerate(mu):
            assert out[i, j] == pytest.approx(max(abs(1 - s * m), abs(1 - s * 4.0)), rel=1e-15)


def test_evaluate_rejects_missing_unknown_and_nonfinite_parameters():
    th = theory.get("gd.quadratic.contraction")
    with pytest.raises(ValueError, match="missing parameter 'step'"):
        th.evaluate(mu=1, L=2)
    with pytest.raises(ValueError, match="unknown parameter 'kappa'"):
        th.evaluate(mu=1, L=2, step=0.1, kappa=3)
    with pytest.raises(ValueError, match="step must be finite"):
        th.evaluate(mu=1, L=2, step=float("nan"))


@pytest.mark.parametrize("theorem_id, params, name, message", [
    ("gd.quadratic.contraction", dict(mu=2, L=1, step=0.1), "mu_le_L", "mu must be <= L"),
    ("gd.quadratic.worst_case_value", dict(mu=2, L=1, step=0.1, n=3), "mu_le_L", "mu must be <= L"),
    ("gd.quadratic.contraction", dict(mu=1, L=2, step=0), "step_positive", "step must be > 0"),
    ("gd.quadratic.worst_case_value", dict(mu=1, L=2, step=-1.0, n=3), "step_positive",
     "step must be > 0"),
    ("gd.quadratic.steps_to_tolerance", dict(mu=1, L=2, step=1.0, eps=0.1), "step_stable",
     "step must be < 2/L for convergence"),
    ("gd.quadratic.worst_case_value", dict(mu=1, L=2, step=0.1, n=2.5), "n_integer",
     "n must be an integer >= 1"),
    ("specdef.weight_spectrum", dict(sigma=1, alpha=0.5, j=1, k=1), "alpha_ge_1",
     "alpha must be >= 1"),
    ("specdef.hessian.frozen_compensation", dict(lam_min=1, lam_max=2, alpha=0.9), "alpha_ge_1",
     "alpha must be >= 1"),
    ("specdef.gd_slowdown.frozen_compensation", dict(kappa=10, alpha=0.5, eps=0.1), "alpha_ge_1",
     "alpha must be >= 1"),
    ("hessian_bound.corrected", dict(sA=1, sB1=1, sB2=2, sC=1, cos1=0.5, cos2=0.5), "sB2_le_sB1",
     "sB2 must be <= sB1"),
])
def test_wrong_assumption_raises_named_one_line_error(theorem_id, params, name, message):
    th = theory.get(theorem_id)
    with pytest.raises(AssumptionError) as info:
        th.evaluate(**params)
    text = str(info.value)
    assert text.startswith(f"{theorem_id}: assumption '{name}' violated: {message}, got ")
    assert "\n" not in text and isinstance(info.value, ValueError)


def test_assumption_error_quotes_parameters_in_order_with_values():
    th = theory.get("gd.quadratic.contraction")
    with pytest.raises(AssumptionError, match=r"got mu=2\.0, L=1\.0$"):
        th.evaluate(mu=2.0, L=1.0, step=0.1)


def test_array_assumptions_checked_elementwise():
    th = theory.get("gd.quadratic.contraction")
    with pytest.raises(AssumptionError, match=r"step must be > 0, got step=-0\.5$"):
        th.evaluate(mu=1.0, L=2.0, step=np.array([0.1, -0.5, 0.2]))


def test_evaluate_mp_agrees_with_float_evaluate():
    th = theory.get("gd.quadratic.worst_case_value")
    params = dict(mu=0.1, L=1.0, step=1.0, n=3)
    assert float(th.evaluate_mp(50, **params)) == pytest.approx(th.evaluate(**params), rel=1e-14)


def test_replaced_copy_relambdifies_and_reproves():
    th = theory.get("gd.quadratic.contraction")
    th.evaluate(mu=1, L=3, step=0.5)
    assert th.prove().status == "proved"
    planted = dataclasses.replace(th, bound=th.bound * sp.Rational(101, 100))
    assert planted.evaluate(mu=1, L=3, step=0.5) == pytest.approx(0.505, rel=1e-14)
    assert th.with_bound(1.01).evaluate(mu=1, L=3, step=0.5) == pytest.approx(0.505, rel=1e-14)
    assert planted.prove().status == "refuted"
    assert th.evaluate(mu=1, L=3, step=0.5) == pytest.approx(0.5, rel=1e-15)


# ----------------------------------------------------------------------------- prove()
def test_prove_is_cached_and_returns_a_verdict():
    th = theory.get("newton.local_quadratic")
    v = th.prove()
    assert isinstance(v, Verdict) and th.prove() is v
    assert v.status in ("proved", "refuted", "unproven") and "\n" not in v.detail


@pytest.mark.parametrize("theorem_id", ["newton.local_quadratic",
                                        "first_order.nesterov_lower_bound",
                                        "specdef.function_preservation"])
def test_true_inequality_is_proved_by_certificate(theorem_id):
    v = theory.get(theorem_id).prove()
    assert (v.status, v.method, v.counterexample) == ("proved", "sympy certificate", None)


@pytest.mark.parametrize("theorem_id", ["gd.strongly_convex.linear_rate",
                                        "gd.smooth_convex.sublinear"])
def test_undecidable_inequality_falls_back_to_numeric_check(theorem_id):
    v = theory.get(theorem_id).prove()
    assert v.status == "unproven" and v.method == "mpmath grid"
    assert v.detail.startswith(f"numerically verified on {v.n_points} points")
    assert "proved" not in v.detail.replace("not proved", "") and v.n_points >= 64


def test_false_inequality_refuted_with_counterexample_that_really_violates():
    th = theory.get("gd.strongly_convex.linear_rate").with_bound(Fraction(99, 100))
    v = th.prove()
    assert v.status == "refuted" and v.method == "mpmath grid"
    cex = v.counterexample
    assert th.violation(cex) > 0
    # independent re-evaluation in exact rational arithmetic
    mu, L, t, lam = (Fraction(cex[k]) for k in ("mu", "L", "t", "lam"))
    assert mu <= lam <= L and t == int(t)
    truth = (1 - lam / L) ** (2 * int(t))
    assert truth > Fraction(99, 100) * (1 - mu / L) ** int(t)


TIGHT_OR_EXACT = sorted(i for i, k in REQUIRED.items() if k in ("tight", "exact"))


@pytest.mark.parametrize("theorem_id", TIGHT_OR_EXACT)
def test_planted_error_detected_by_numeric_fallback(theorem_id):
    th = theory.get(theorem_id)
    assert th.prove().status == "proved"
    planted = th.with_bound(1.01)
    v = planted.prove()
    assert v.status == "refuted" and v.method == "mpmath grid", v
    assert planted.violation(v.counterexample) > 1e-3
    assert th.violation(v.counterexample) <= 1e-15  # the true bound is fine there


@pytest.mark.parametrize("theorem_id, factor", [
    ("newton.local_quadratic", 0.99), ("specdef.function_preservation", 1.01),
    ("specdef.hessian.sigma1_growth", 1.01)])
def test_planted_error_in_one_sided_bound_detected(theorem_id, factor):
    planted = theory.get(theorem_id).with_bound(factor)
    v = planted.prove()
    assert v.status == "refuted", v
    assert planted.violation(v.counterexample) > 1e-3


def test_tight_planted_counterexample_reports_the_unattained_supremum():
    th = theory.get("gd.quadratic.worst_case_value")
    v = th.with_bound(1.01).prove()
    cex = v.counterexample
    assert set(cex) == set(th.parameters) and "not attained" in v.detail
    lam = np.geomspace(cex["mu"], cex["L"], 20001)
    brute = np.max(lam / 2 * (1 - cex["step"] * lam) ** (2 * cex["n"]))
    assert 1.01 * brute == pytest.approx(th.with_bound(1.01).evaluate(**cex), rel=1e-6)


def test_every_verdict_matches_its_expectation():
    for th in theory.all_theorems():
        fresh = dataclasses.replace(th)  # uncached copy
        v = fresh.prove()
        if th.expectation == "refuted":
            assert v.status == "refuted", th.id
        else:
            assert v.status in ("proved", "unproven"), (th.id, v)
        if v.status == "unproven":
            assert "numerically verified" in v.detail, th.id


def test_verdict_rejects_unknown_status():
    with pytest.raises(ValueError):
        Verdict("maybe", "sympy", "x")


def test_theorem_rejects_bad_kind_and_foreign_symbols():
    x, y = sp.symbols("x y", positive=True)
    with pytest.raises(ValueError, match="kind"):
        Theorem("a.b", "s", {"x": x}, (), x, "loose", "holds", "r", ("x",))
    with pytest.raises(ValueError, match="not parameters"):
        Theorem("a.b", "s", {"x": x}, (), x + y, "upper", "holds", "r", ("x",))


def test_certificate_is_sound_on_simple_cases():
    a, b = sp.symbols("a b", positive=True)
    assert theory.certify_nonnegative((a + b) ** 2 / (a * b + 1))
    assert not theory.certify_nonnegative(a - b)
    assert not theory.certify_nonnegative(sp.sin(a))
    assert math.isclose(float(sp.Integer(0)), 0.0)


@pytest.mark.parametrize("theorem_id", sorted(REQUIRED))
def test_evaluate_arrays_scalars_and_mpmath_agree(theorem_id):
    from specdef.theory._check import sample_parameters

    th = theory.get(theorem_id)
    points = sample_parameters(th, 12)
    arrays = {p: np.array([pt[p] for pt in points]) for p in th.parameters}
    out = th.evaluate(**arrays)
    for value, pt in zip(out, points):
        scalar = th.evaluate(**pt)
        assert value == pytest.approx(scalar, rel=1e-14, abs=1e-300)
        precise = float(th.evaluate_mp(40, **pt))
        assert scalar == pytest.approx(precise, rel=1e-9, abs=1e-300)


def test_step_counts_keep_precision_when_rho_is_close_to_one():
    th = theory.get("specdef.gd_slowdown.frozen_compensation")
    params = dict(kappa=1e6, alpha=1e5, eps=0.1)
    assert th.evaluate(**params) == pytest.approx(float(th.evaluate_mp(50, **params)), rel=1e-12)
    bypass = theory.get("attack.bypass.rate")
    assert bypass.evaluate(kappa_z=1e12, eps=0.1) == float(bypass.evaluate_mp(50, kappa_z=1e12,
                                                                                 eps=0.1))


def _float_form_gap(th, points) -> float:
    """max relative gap, in mpmath at 40 digits, between ``float_form`` and ``bound``."""
    import mpmath

    syms = [th.symbols[p] for p in th.parameters]
    fast = sp.lambdify(syms, th.float_form, modules="mpmath")
    gap = mpmath.mpf(0)
    with mpmath.workdps(40):
        for pt in points:
            exact = th.evaluate_mp(40, **pt)
            other = fast(*(mpmath.mpf(pt[p]) for p in th.parameters))
            gap = max(gap, abs(other - exact) / max(abs(exact), mpmath.mpf("1e-300")))
    return float(gap)


@pytest.mark.parametrize("theorem_id", [t.id for t in theory.all_theorems()
                                        if t.float_form is not None])
def test_float_form_equals_the_bound_and_a_planted_change_is_caught(theorem_id):
    from specdef.theory._check import sample_parameters

    th = theory.get(theorem_id)
    points = sample_parameters(th, 24)
    # the float form may only differ from the bound by how float64 rounds, not in value
    assert _float_form_gap(th, points) <= 1e-30
    planted = dataclasses.replace(th, float_form=th.float_form * (1 + sp.Rational(1, 10**9)))
    assert _float_form_gap(planted, points) >= 0.9e-9
    # with_bound scales both forms, so planted-error checks see the same factor
    assert th.with_bound(2).evaluate(**points[0]) == pytest.approx(2 * th.evaluate(**points[0]),
                                                                   rel=4 * np.finfo(float).eps)


def test_scalar_fast_path_falls_back_to_numpy_where_math_raises():
    # step·L = 1 exactly: log|1 − step·λ| = −inf, which Python's math.log(0) refuses
    th = theory.get("gd.quadratic.worst_case_value")
    assert th._evaluate_scalar({"mu": 0.5, "L": 2.0, "step": 1e300, "n": 1e300}) is None
    assert th.evaluate(mu=0.5, L=2.0, step=1e300, n=1e300) == math.inf  # through NumPy
    value = th.evaluate(mu=0.5, L=1.0, step=1.0, n=3)
    assert value == pytest.approx(float(th.evaluate_mp(40, mu=0.5, L=1.0, step=1.0, n=3)),
                                  rel=4 * np.finfo(float).eps)


def test_replacing_the_bound_drops_a_stale_float_form():
    th = theory.get("gd.quadratic.worst_case_value")
    point = dict(mu=0.5, L=2.0, step=0.3, n=3)
    doubled = dataclasses.replace(th, bound=2 * th.bound)
    assert doubled.float_form is None
    assert doubled.evaluate(**point) == pytest.approx(2 * th.evaluate(**point), rel=1e-15)
    scaled = th.with_bound(2)  # scales both forms and keeps the float form
    assert scaled.float_form is not None
    assert scaled.evaluate(**point) == pytest.approx(2 * th.evaluate(**point), rel=1e-15)


def test_scalar_path_does_not_hide_a_nan_inside_max():
    """Python's max(1, nan) is 1: the scalar path must not return it where NumPy gives NaN and
    evaluate recomputes the entry in mpmath (here the true value is 1e600, beyond float64)."""
    x, y = sp.symbols("x y", positive=True)
    th = Theorem(id="test.max_nan", statement="", symbols={"x": x, "y": y}, assumptions=(),
                 bound=sp.Max(1, sp.Float("1e600") * x - sp.Float("1e600") * y), kind="upper",
                 expectation="holds", reference="", parameters=("x", "y"))
    assert th.evaluate(x=3.0, y=2.0) == math.inf
    assert th.evaluate(x=np.array([3.0]), y=np.array([2.0]))[0] == math.inf
