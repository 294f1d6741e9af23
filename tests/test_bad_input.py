"""Bad input and numerical extremes: documented exceptions, one-line messages, statuses.

Every bad input raises a ``ValueError`` subclass — :class:`numerics.InputError` (and its
:class:`numerics.BackendUnavailableError`), :class:`theory.TheoryError` (and its
:class:`theory.AssumptionError`), :class:`validation.ResultsFileError` — whose single-line
message names the parameter and the offending value; the CLI exits 2 with one line on stderr.
Numerical outcomes (divergence, non-convergence) are statuses, never NaN.  The table of what
was tried and what broke is in ``tests/README.md``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from specdef import numerics as nm
from specdef import theory
from specdef.numerics import BackendUnavailableError, InputError
from specdef.theory import AssumptionError, TheoryError, UnknownTheoremError
from specdef.validation import Context, ResultsFileError, UnknownCheckError, load_results, select
from specdef.validation.cli import main

RNG = np.random.default_rng(7)
W = RNG.standard_normal((3, 4))
X = RNG.standard_normal((4, 6))
Y = RNG.standard_normal((3, 6))
WT, CC = nm.specdef(W, 10.0, 1)
NAN2 = np.array([[1.0, np.nan], [0.0, 1.0]])
INF2 = np.array([[1.0, np.inf], [0.0, 1.0]])
QUAD = nm.Quadratic([1.0, 10.0])
LINREG = nm.LinearRegression(X, Y)
THETA = np.ones(2)


def _gpu() -> bool:
    try:
        nm.namespace_for("cupy")
        return True
    except BackendUnavailableError:
        return False


def check_raises(exc, call, param, value):
    """``call()`` raises ``exc`` with a one-line message naming ``param`` and ``value``."""
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert msg and "\n" not in msg, msg
    assert param in msg, f"{param!r} not named in {msg!r}"
    assert value in msg, f"{value!r} not in {msg!r}"
    return msg


def case(name, call, param, value, exc=InputError):
    return pytest.param(call, param, value, exc, id=name)


# ------------------------------------------------------------------ numerics: array arguments
ARRAY_CASES = [
    # NaN / inf entries
    case("specdef-W-nan", lambda: nm.specdef(NAN2, 10.0, 1), "specdef: W", "NaN or inf"),
    case("specdef-W-inf", lambda: nm.specdef(INF2, 10.0, 1), "specdef: W", "NaN or inf"),
    case("recon-X-nan", lambda: nm.reconstruction_error(W, WT, CC, X * np.nan),
         "reconstruction_error: X", "NaN or inf"),
    case("recon-C-inf", lambda: nm.reconstruction_error(W, WT, CC * np.inf),
         "reconstruction_error: C", "NaN or inf"),
    case("quadratic-eig-nan", lambda: nm.Quadratic([1.0, np.nan]), "Quadratic: eigenvalues",
         "NaN or inf"),
    case("quadratic-Q-inf", lambda: nm.Quadratic([1.0, 2.0], INF2), "Quadratic: Q", "NaN or inf"),
    case("linreg-Y-nan", lambda: nm.LinearRegression(X, Y * np.nan), "LinearRegression: Y",
         "NaN or inf"),
    case("chain-factor-nan", lambda: nm.LinearChain([W * np.nan], X, Y), "factors[0]",
         "NaN or inf"),
    case("specdef-layer-C-inf", lambda: nm.SpecDefLayer(WT, CC * np.inf, X, Y),
         "SpecDefLayer: C", "NaN or inf"),
    case("dense-H-nan", lambda: nm.dense_spectrum(NAN2), "dense_spectrum: H", "NaN or inf"),
    case("linreg-spectrum-X-inf", lambda: nm.linear_regression_spectrum(X * np.inf, 3),
         "linear_regression_spectrum: X", "NaN or inf"),
    case("frozen-C-nan", lambda: nm.frozen_compensation_spectrum(X, CC * np.nan),
         "frozen_compensation_spectrum: C", "NaN or inf"),
    case("joint-W-nan", lambda: nm.joint_spectrum_zero_residual(WT * np.nan, CC, X),
         "joint_spectrum_zero_residual: W_inflated", "NaN or inf"),
    case("spectrum-values-nan", lambda: nm.Spectrum(np.array([np.nan, 1.0]), [1, 1], 2),
         "Spectrum: values", "NaN or inf"),
    case("gd-theta-nan", lambda: nm.gradient_descent(QUAD, THETA * np.nan, 0.1),
         "gradient_descent: theta0", "NaN or inf"),
    case("newton-theta-inf", lambda: nm.newton(QUAD, THETA * np.inf), "newton: theta0",
         "NaN or inf"),
    case("closed-form-coeffs-nan", lambda: nm.gd_closed_form([1.0, 2.0], [np.nan, 1.0], 0.1, 3),
         "gd_closed_form: coeffs", "NaN or inf"),
    case("batched-H-inf", lambda: nm.batched_gradient_descent(INF2[None], np.ones((1, 2)), [0.1],
                                                            3),
         "batched_gradient_descent: H", "NaN or inf"),
    case("attack-X-nan", lambda: nm.additive_injection(WT, CC, X * np.nan, Y),
         "additive_injection: X", "NaN or inf"),
    case("cross-block-B-inf", lambda: nm.cross_block_bound(W, X * np.inf, X.T),
         "cross_block_bound: B", "NaN or inf"),
    case("eig-null-nan", lambda: nm.extreme_eigenvalues(
        lambda v: v, 5, which="smallest_nonzero", null_space=np.full((5, 1), np.nan)),
        "extreme_eigenvalues: null_space", "NaN or inf"),
    case("eig-hvp-nan", lambda: nm.extreme_eigenvalues(lambda v: v * np.nan, 5),
         "extreme_eigenvalues: hvp", "NaN or inf"),
    # wrong rank or shape
    case("specdef-W-1d", lambda: nm.specdef(np.ones(3), 10.0, 1), "specdef: W", "shape (3,)"),
    case("specdef-W-list", lambda: nm.specdef([[1.0, 2.0]], 10.0, 1), "specdef: W", "list"),
    case("recon-C-shape", lambda: nm.reconstruction_error(W, WT, CC[:2, :2]),
         "reconstruction_error: C", "(2, 2)"),
    case("recon-X-rows", lambda: nm.reconstruction_error(W, WT, CC, X[:2]),
         "reconstruction_error: X", "(2, 6)"),
    case("linreg-Y-cols", lambda: nm.LinearRegression(X, Y[:, :5]), "LinearRegression: Y",
         "(3, 5)"),
    case("chain-chaining", lambda: nm.LinearChain([W.T], X, Y), "factors[0]", "(4, 3)"),
    case("dense-H-nonsquare", lambda: nm.dense_spectrum(W), "dense_spectrum: H", "(3, 4)"),
    case("dense-H-3d", lambda: nm.dense_spectrum(np.ones((1, 2, 2))), "dense_spectrum: H",
         "(1, 2, 2)"),
    case("joint-C-shape", lambda: nm.joint_spectrum_zero_residual(WT, np.eye(2), X),
         "joint_spectrum_zero_residual: C", "(2, 2)"),
    case("ends-X-rows", lambda: nm.joint_extremes_zero_residual(WT, CC, X[:1]),
         "joint_extremes_zero_residual: X", "(1, "),
    case("ends-C-inf", lambda: nm.joint_extremes_zero_residual(WT, CC * np.inf, X),
         "joint_extremes_zero_residual: C", "NaN or inf"),
    case("ends-method", lambda: nm.joint_extremes_zero_residual(WT, CC, X, method="svd"),
         "joint_extremes_zero_residual: method", "'svd'"),
    case("ends-tol", lambda: nm.joint_extremes_zero_residual(WT, CC, X, tol=-1.0),
         "joint_extremes_zero_residual: tol", "-1.0"),
    case("gd-theta-shape", lambda: nm.gradient_descent(QUAD, np.ones(3), 0.1),
         "gradient_descent: theta0", "(3,)"),
    case("gd-theta-list", lambda: nm.gradient_descent(QUAD, [1.0, 1.0], 0.1),
         "gradient_descent: theta0", "list"),
    case("closed-form-coeffs-len", lambda: nm.gd_closed_form([1.0, 2.0], [1.0], 0.1, 3),
         "gd_closed_form: coeffs", "(1,)"),
    case("batched-H-nonsquare", lambda: nm.batched_gradient_descent(
        np.ones((1, 2, 3)), np.ones((1, 2)), [0.1], 3), "batched_gradient_descent: H",
        "(1, 2, 3)"),
    case("batched-H-not-psd", lambda: nm.batched_gradient_descent(
        -np.eye(2)[None], np.ones((1, 2)), [0.1], 3), "batched_gradient_descent: H",
        "lambda_min = -1"),
    case("attack-Y-shape", lambda: nm.fusion(WT, CC, X, Y[:2]), "fusion: Y", "(2, 6)"),
    case("attack-X-rows", lambda: nm.multiplicative_bypass(WT, CC, X[:3], Y),
         "multiplicative_bypass: X", "(3, 6)"),
    case("cross-block-chain", lambda: nm.cross_block_bound(W, W, W), "cross_block_bound: shapes",
         "B(3, 4)"),
    case("eig-null-shape", lambda: nm.extreme_eigenvalues(
        lambda v: v, 5, which="smallest_nonzero", null_space=np.ones((4, 1))),
        "extreme_eigenvalues: null_space", "(4, 1)"),
    case("eig-hvp-shape", lambda: nm.extreme_eigenvalues(lambda v: v[:2], 5),
         "extreme_eigenvalues: hvp", "(2,)"),
    case("quadratic-theta-shape", lambda: QUAD.grad(np.ones(3)), "Quadratic.grad: theta", "(3,)"),
    case("mixed-backends", lambda: nm.gradient_descent(
        QUAD, nm.namespace_for("array_api_strict").asarray([1.0, 1.0]), 0.1),
        "gradient_descent: theta0", "array_api_strict"),
    # empty arrays
    case("specdef-W-empty", lambda: nm.specdef(np.ones((0, 3)), 10.0, 1), "specdef: W",
         "(0, 3)"),
    case("quadratic-empty", lambda: nm.Quadratic([]), "Quadratic: eigenvalues", "(0,)"),
    case("linreg-X-empty", lambda: nm.LinearRegression(np.ones((4, 0)), np.ones((3, 0))),
         "LinearRegression: X", "(4, 0)"),
    case("spectrum-empty", lambda: nm.linear_regression_spectrum(np.ones((0, 2)), 1),
         "linear_regression_spectrum: X", "(0, 2)"),
    case("sweep-empty", lambda: nm.best_step_sweep(QUAD, [], theta0=THETA),
         "best_step_sweep: steps", "[]"),
    case("batched-steps-empty", lambda: nm.batched_gradient_descent(
        np.eye(2)[None], np.ones((1, 2)), [], 3), "batched_gradient_descent: steps", "(0,)"),
    case("chain-no-factors", lambda: nm.LinearChain([], X, Y), "LinearChain: factors",
         "length 0"),
    # dtypes that cannot be converted meaningfully
    case("specdef-W-complex", lambda: nm.specdef(W + 1j, 10.0, 1), "specdef: W", "complex128"),
    case("specdef-W-bool", lambda: nm.specdef(W > 0, 10.0, 1), "specdef: W", "bool"),
    case("specdef-W-str", lambda: nm.specdef(W.astype(str), 10.0, 1), "specdef: W", "<U"),
    case("quadratic-complex", lambda: nm.Quadratic([1j, 2.0]), "Quadratic: eigenvalues",
         "complex128"),
    case("linreg-object", lambda: nm.LinearRegression(X.astype(object), Y),
         "LinearRegression: X", "object"),
    case("closed-form-step-str", lambda: nm.gd_closed_form([1.0], [1.0], "fast", 3),
         "gd_closed_form: step", "<U4"),
    case("eig-null-complex", lambda: nm.extreme_eigenvalues(
        lambda v: v, 5, which="smallest_nonzero", null_space=np.ones((5, 1)) + 1j),
        "extreme_eigenvalues: null_space", "complex128"),
    case("asarray-str", lambda: nm.asarray(["a"]), "asarray: x", "<U1"),
    case("asarray-dtype", lambda: nm.asarray([1.0], dtype="int8"), "dtype", "'int8'"),
]


@pytest.mark.parametrize("call, param, value, exc", ARRAY_CASES)
def test_bad_arrays(call, param, value, exc):
    check_raises(exc, call, param, value)


@pytest.mark.parametrize("make", [
    lambda: nm.specdef(np.arange(12).reshape(3, 4), 10.0, 2)[0],
    lambda: nm.Quadratic(np.array([1, 4])).eigenvalues,
    lambda: nm.LinearRegression(np.arange(8).reshape(2, 4), np.arange(4)[None]).Sigma_x,
    lambda: nm.dense_spectrum(np.eye(3, dtype=np.int32)).values,
    lambda: nm.gradient_descent(QUAD, np.array([1, 1]), 0.1).theta,
    lambda: nm.gd_closed_form(np.array([1, 2]), np.array([1, 1]), 0.1, 3),
    lambda: nm.specdef(W.astype(np.float16), 10.0, 1)[0],
    lambda: nm.dense_spectrum(np.eye(2, dtype=np.float16)).values,
], ids=["specdef", "quadratic", "linreg", "dense", "gd", "closed-form", "specdef-f16",
        "dense-f16"])
def test_integer_and_half_inputs_are_converted(make):
    out = nm.to_host(make())
    assert out.dtype.kind == "f" and np.all(np.isfinite(out))


# ------------------------------------------------------------------ numerics: scalar arguments
SCALAR_CASES = [
    # alpha <= 0, non-finite, beyond the dtype's limit
    *[case(f"specdef-alpha-{v!r}", (lambda v=v: nm.specdef(W, v, 1)), "specdef: alpha", repr(v))
      for v in (0.0, -1.0, math.nan, math.inf, -math.inf)],
    case("specdef-alpha-str", lambda: nm.specdef(W, "big", 1), "specdef: alpha", "'big'"),
    case("specdef-alpha-complex", lambda: nm.specdef(W, 1j, 1), "specdef: alpha", "1j"),
    case("specdef-alpha-float32-limit", lambda: nm.specdef(W.astype(np.float32), 1e38, 1),
         "specdef: alpha", "1e+38"),
    case("specdef-alpha-float32-overflow", lambda: nm.specdef(100 * W.astype(np.float32), 1e37, 1),
         "specdef: alpha", "alpha=1e+37"),
    case("specdef-alpha-float64-overflow", lambda: nm.specdef(W * 1e300, 1e10, 1),
         "specdef: alpha", "alpha=10000000000.0"),
    case("specdef-alpha-tiny", lambda: nm.specdef(W, 1e-320, 1), "specdef: alpha", "1e-320"),
    # k outside [1, rank]
    *[case(f"specdef-k-{k!r}", (lambda k=k: nm.specdef(W, 10.0, k)), "specdef: k", repr(k))
      for k in (0, -1, 4, 1.5, "2", None, True)],
    # mu <= 0 where strong convexity is assumed
    case("quadratic-mu-zero", lambda: nm.Quadratic([0.0, 1.0]), "Quadratic: eigenvalues",
         "0.0"),
    case("quadratic-mu-negative", lambda: nm.Quadratic([-1.0, 1.0]), "Quadratic: eigenvalues",
         "-1.0"),
    case("closed-form-negative", lambda: nm.gd_closed_form([-1.0, 1.0], [1.0, 1.0], 0.1, 3),
         "gd_closed_form: eigenvalues", "-1"),
    # step <= 0
    *[case(f"gd-step-{s!r}", (lambda s=s: nm.gradient_descent(QUAD, THETA, s)),
           "gradient_descent: step", repr(s)) for s in (0.0, -0.1, math.nan, math.inf)],
    case("closed-form-step-0", lambda: nm.gd_closed_form([1.0], [1.0], 0.0, 3),
         "gd_closed_form: step", "0.0"),
    case("steps-quadratic-step-neg", lambda: nm.steps_to_tolerance_quadratic([1.0], [1.0], -1.0),
         "steps_to_tolerance_quadratic: step", "-1"),
    case("batched-step-neg", lambda: nm.batched_gradient_descent(
        np.eye(2)[None], np.ones((1, 2)), [-0.1], 3), "batched_gradient_descent: steps", "-0.1"),
    case("sweep-step-zero", lambda: nm.best_step_sweep(QUAD, [0.1, 0.0], theta0=THETA),
         "best_step_sweep: steps", "0.0"),
    case("lm-damping-neg", lambda: nm.levenberg_marquardt(LINREG, np.zeros(12), -1.0),
         "levenberg_marquardt: damping", "-1.0"),
    # n < 0 and other counts
    case("batched-n-neg", lambda: nm.batched_gradient_descent(
        np.eye(2)[None], np.ones((1, 2)), [0.1], -1), "batched_gradient_descent: n_steps", "-1"),
    case("gd-max-steps-neg", lambda: nm.gradient_descent(QUAD, THETA, 0.1, max_steps=-5),
         "gradient_descent: max_steps", "-5"),
    case("closed-form-t-neg", lambda: nm.gd_closed_form([1.0], [1.0], 0.1, -2),
         "gd_closed_form: t", "-2"),
    case("eig-n-neg", lambda: nm.extreme_eigenvalues(lambda v: v, -3), "extreme_eigenvalues: n",
         "-3"),
    case("eig-k-too-big", lambda: nm.extreme_eigenvalues(lambda v: v, 5, k=6, method="lobpcg"),
         "extreme_eigenvalues: k", "6"),
    case("eig-maxiter-zero", lambda: nm.extreme_eigenvalues(lambda v: v, 5, maxiter=0),
         "extreme_eigenvalues: maxiter", "0"),
    case("lr-spectrum-m-neg", lambda: nm.linear_regression_spectrum(X, -2),
         "linear_regression_spectrum: m", "-2"),
    case("steps-quadratic-max-steps", lambda: nm.steps_to_tolerance_quadratic(
        [1.0], [1.0], 0.1, max_steps=2**60), "steps_to_tolerance_quadratic: max_steps",
        str(2**60)),
    case("require-positive-huge-int", lambda: nm.require_positive("f", "n", 10**400, integer=True),
         "f: n", "1000"),
    case("spectrum-rtol-neg", lambda: nm.dense_spectrum(np.eye(2)).with_rtol(-1.0).null_dim,
         "Spectrum: rtol", "-1.0"),
    case("group-tol-nan", lambda: nm.frozen_compensation_spectrum(X, CC, group_tol=math.nan),
         "frozen_compensation_spectrum: group_tol", "nan"),
    case("rng-bad", lambda: nm.Quadratic.from_spectrum([1.0, 2.0], rng="seed"),
         "Quadratic.from_spectrum: rng", "'seed'"),
    case("eig-rng-bad", lambda: nm.extreme_eigenvalues(lambda v: v, 5, rng=-1),
         "extreme_eigenvalues: rng", "-1"),
    case("chain-trainable", lambda: nm.LinearChain([W], X, Y, trainable=1),
         "LinearChain: trainable", "1"),
    case("specdef-layer-train", lambda: nm.SpecDefLayer(WT, CC, X, Y, train=None),
         "SpecDefLayer: train", "None"),
    case("max-dense-str", lambda: nm.Quadratic([1.0], max_dense="big"), "Quadratic: max_dense",
         "'big'"),
    case("sweep-run-bad-return", lambda: nm.best_step_sweep(lambda s: "many", [0.1]),
         "best_step_sweep: run", "'many'"),
    case("batched-result-bad", lambda: nm.batched_steps_to_tolerance(3),
         "batched_steps_to_tolerance: result", "int"),
    case("attack-n-factors-huge", lambda: nm.balanced_factorisation(WT, CC, X, Y, 10**400),
         "balanced_factorisation: n_factors", "1000"),
    case("fd-hessian-model", lambda: nm.finite_difference_hessian(object(), THETA),
         "finite_difference_hessian: model", "object"),
    case("lobpcg-constraints-too-big", lambda: nm.extreme_eigenvalues(
        lambda v: v, 4, k=1, method="lobpcg", which="smallest_nonzero",
        null_space=np.eye(4)[:, :1]), "extreme_eigenvalues: lobpcg", "r=1"),
    case("eig-null-dependent", lambda: nm.extreme_eigenvalues(
        lambda v: v, 4, which="smallest_nonzero", null_space=np.zeros((4, 1))),
        "extreme_eigenvalues: null_space", "rank-deficient"),
]


@pytest.mark.parametrize("call, param, value, exc", SCALAR_CASES)
def test_bad_scalars(call, param, value, exc):
    check_raises(exc, call, param, value)


# ------------------------------------------------------------------ numerics: backends
@pytest.mark.parametrize("call", [
    lambda: nm.namespace_for("torch"),
    lambda: nm.get_namespace(W, backend="torch"),
    lambda: nm.asarray([1.0], backend="torch"),
    lambda: nm.Quadratic.from_spectrum([1.0, 2.0], backend="torch"),
], ids=["namespace_for", "get_namespace", "asarray", "from_spectrum"])
def test_unknown_backend(call):
    check_raises(InputError, call, "backend", "'torch'")


def test_unknown_backend_eigensolver():
    check_raises(InputError, lambda: nm.extreme_eigenvalues(lambda v: v, 5, backend="jax"),
                 "extreme_eigenvalues: backend", "'jax'")


@pytest.mark.skipif(_gpu(), reason="a GPU is present: CuPy works")
@pytest.mark.parametrize("call", [
    lambda: nm.namespace_for("cupy"),
    lambda: nm.Quadratic.from_spectrum([1.0, 2.0], backend="cupy"),
    lambda: nm.extreme_eigenvalues(lambda v: v, 5, backend="cupy"),
    lambda: Context(backend="cupy").asarray([1.0]),
], ids=["namespace_for", "from_spectrum", "eigensolver", "context"])
def test_cupy_without_gpu(call):
    msg = check_raises(BackendUnavailableError, call, "backend", "'cupy'")
    assert "GPU" in msg


# ------------------------------------------------------------------ theory
def _ev(theorem_id, **params):
    return lambda: theory.get(theorem_id).evaluate(**params)


THEORY_CASES = [
    # mu > L or mu <= 0 where strong convexity is assumed
    case("contraction-mu-gt-L", _ev("gd.quadratic.contraction", mu=3, L=1, step=0.1), "mu",
         "mu=3.0", AssumptionError),
    case("contraction-mu-zero", _ev("gd.quadratic.contraction", mu=0, L=1, step=0.1), "mu",
         "mu=0.0", AssumptionError),
    case("linear-rate-mu-neg", _ev("gd.strongly_convex.linear_rate", mu=-1, L=1, t=3), "mu",
         "mu=-1.0", AssumptionError),
    case("steps-mu-gt-L", _ev("gd.quadratic.steps_to_tolerance", mu=2, L=1, step=0.1, eps=0.1),
         "L", "L=1.0", AssumptionError),
    case("newton-mu-zero", _ev("newton.local_quadratic", M=1, mu=0, r=1), "mu", "mu=0.0",
         AssumptionError),
    case("hessian-lam-min-gt-max", _ev("specdef.hessian.frozen_compensation", lam_min=2,
                                       lam_max=1, alpha=10), "lam_min", "lam_min=2.0",
         AssumptionError),
    # step <= 0, beyond the stability limit
    case("contraction-step-zero", _ev("gd.quadratic.contraction", mu=1, L=2, step=0), "step",
         "step=0.0", AssumptionError),
    case("steps-step-unstable", _ev("gd.quadratic.steps_to_tolerance", mu=1, L=2, step=1.0,
                                    eps=0.1), "step", "step=1.0", AssumptionError),
    # eps outside (0, 1): eps <= 0 was accepted before (inf / NaN)
    case("steps-eps-zero", _ev("gd.quadratic.steps_to_tolerance", mu=1, L=2, step=0.5, eps=0),
         "eps", "eps=0.0", AssumptionError),
    case("steps-eps-neg", _ev("gd.quadratic.steps_to_tolerance", mu=1, L=2, step=0.5, eps=-0.5),
         "eps", "eps=-0.5", AssumptionError),
    # n < 0 and non-integers
    case("worst-case-n-neg", _ev("gd.quadratic.worst_case_value", mu=1, L=2, step=0.1, n=-1), "n",
         "n=-1.0", AssumptionError),
    case("worst-case-n-frac", _ev("gd.quadratic.worst_case_value", mu=1, L=2, step=0.1, n=2.5),
         "n", "n=2.5", AssumptionError),
    case("nesterov-d-frac", _ev("first_order.nesterov_lower_bound", L=1, t=1, R=1, d=3.5), "d",
         "d=3.5", AssumptionError),
    # alpha outside its range, non-finite, non-real
    case("weight-alpha-lt-1", _ev("specdef.weight_spectrum", sigma=1, alpha=0.5, j=1, k=1),
         "alpha", "alpha=0.5", AssumptionError),
    case("slowdown-alpha-nan", _ev("specdef.gd_slowdown.frozen_compensation", kappa=10,
                                   alpha=math.nan, eps=0.1), "alpha", "nan", TheoryError),
    case("growth-alpha-inf", _ev("specdef.hessian.sigma1_growth", alpha=math.inf, sigma1_W=1,
                                 vSv=1), "alpha", "inf", TheoryError),
    case("param-str", _ev("gd.quadratic.contraction", mu="one", L=2, step=0.1), "mu", "'one'",
         TheoryError),
    case("param-complex", _ev("gd.quadratic.contraction", mu=1j, L=2, step=0.1), "mu", "1j",
         TheoryError),
    case("param-none", _ev("gd.quadratic.contraction", mu=None, L=2, step=0.1), "mu", "None",
         TheoryError),
    case("param-bool", _ev("gd.quadratic.contraction", mu=True, L=2, step=0.1), "mu", "True",
         TheoryError),
    case("param-huge-int", _ev("gd.quadratic.contraction", mu=1, L=10**400, step=0.1), "L",
         "inf", TheoryError),
    case("param-shapes", _ev("gd.quadratic.contraction", mu=np.ones(2), L=np.ones(3) * 2,
                             step=0.1), "mu", "(2,)", TheoryError),
    case("param-missing", _ev("gd.quadratic.contraction", mu=1, L=2), "step", "step",
         TheoryError),
    case("param-unknown", _ev("gd.quadratic.contraction", mu=1, L=2, step=0.1, kappa=3),
         "kappa", "kappa", TheoryError),
    case("unknown-theorem", lambda: theory.get("no.such.theorem"), "theorem id",
         "'no.such.theorem'", UnknownTheoremError),
    case("unknown-theorem-list", lambda: theory.get(["gd"]), "theorem id", "['gd']",
         UnknownTheoremError),
    case("evaluate-mp-dps", lambda: theory.get("gd.quadratic.contraction").evaluate_mp(
        dps=0, mu=1, L=2, step=0.1), "dps", "0", TheoryError),
    case("evaluate-mp-array", lambda: theory.get("gd.quadratic.contraction").evaluate_mp(
        mu=np.ones(2), L=2, step=0.1), "mu", "(2,)", TheoryError),
    case("violation-missing", lambda: theory.get("gd.quadratic.contraction").violation(
        {"mu": 1.0}), "L", "'L'", TheoryError),
    case("violation-not-mapping", lambda: theory.get("gd.quadratic.contraction").violation(3),
         "point", "int", TheoryError),
    case("violation-str", lambda: theory.get("gd.quadratic.contraction").violation(
        {"mu": "a", "L": 2.0, "step": 0.1}), "mu", "'a'", TheoryError),
    case("violation-sigma1-missing", lambda: theory.get("hessian_bound.corrected").violation(
        dict(sA=1, sB1=2, sB2=1, sC=1, cos1=0.5, cos2=0.5)), "sigma1_ABC", "cos1", TheoryError),
    case("check-assumptions-missing", lambda: theory.get(
        "gd.quadratic.contraction").check_assumptions({"mu": 1.0}), "L", "'L'", TheoryError),
    case("with-bound-nan", lambda: theory.get("gd.quadratic.contraction").with_bound(math.nan),
         "factor", "nan", TheoryError),
    case("theorem3-r1-zero", lambda: theory.theorem3_scalars(
        *(__import__("mpmath").eye(2),) * 3, 0, 1), "r1", "0", TheoryError),
    case("certify-none", lambda: theory.certify_nonnegative(None), "expr", "None", TheoryError),
    case("require-bad", lambda: theory.require("a", "x >", {}), "relation", "'x >'",
         TheoryError),
    case("holds-missing", lambda: theory.require_integer("n", "n", 1).holds({}), "n", "'n'",
         TheoryError),
]


@pytest.mark.parametrize("call, param, value, exc", THEORY_CASES)
def test_bad_theory_input(call, param, value, exc):
    check_raises(exc, call, param, value)


def test_assumption_error_is_a_value_error_naming_theorem_and_hypothesis():
    msg = check_raises(AssumptionError, _ev("gd.quadratic.contraction", mu=3, L=1, step=0.1),
                       "mu_le_L", "L=1.0")
    assert msg.startswith("gd.quadratic.contraction: ")


# ------------------------------------------------------------------ validation: checks, results
@pytest.mark.parametrize("kw, param, value", [
    (dict(backend="torch"), "backend", "'torch'"), (dict(seed=-1), "seed", "-1"),
    (dict(size="huge"), "size", "'huge'"), (dict(dtype="float16"), "dtype", "'float16'"),
    (dict(defence=3), "defence", "int"),
])
def test_bad_context(kw, param, value):
    check_raises(ValueError, lambda: Context(**kw), param, value)


def test_unknown_check_id():
    check_raises(UnknownCheckError, lambda: select(["no.such.check"]), "check id",
                 "'no.such.check'")


GOOD_RECORD = {"check": "c.one", "theorem": "t", "params": {}, "empirical": 1.0, "proven": 1.0,
               "rtol": 1e-8, "status": "TIGHT"}


def _doc(**record):
    return json.dumps({"meta": {}, "results": [{**GOOD_RECORD, **record}]})


MALFORMED = [
    ("not-json", "{", "not valid JSON"),
    ("empty", "", "not valid JSON"),
    ("nan-literal", _doc(empirical=float("nan")), "non-finite number NaN"),
    ("array", "[1, 2]", "lacks a 'meta' object"),
    ("record-not-object", json.dumps({"meta": {}, "results": [3]}), "record 0"),
    ("check-not-str", _doc(check=["x"]), "field 'check'"),
    ("status-unknown", _doc(status="MAYBE"), "'MAYBE'"),
    ("theorem-missing", json.dumps({"meta": {}, "results": [
        {k: v for k, v in GOOD_RECORD.items() if k != "theorem"}]}), "field 'theorem'"),
    ("empirical-str", _doc(empirical="abc"), "field 'empirical'"),
    ("rtol-missing", json.dumps({"meta": {}, "results": [
        {k: v for k, v in GOOD_RECORD.items() if k != "rtol"}]}), "lacks 'rtol'"),
    ("detail-int", _doc(detail=5), "field 'detail'"),
    ("completed-null", json.dumps({"meta": {}, "completed": None, "results": []}),
     "'completed'"),
    ("completed-ints", json.dumps({"meta": {}, "completed": [1], "results": []}), "'completed'"),
    ("deep-nesting", "[" * 100_000 + "]" * 100_000, "not a valid results file"),
]


@pytest.mark.parametrize("content, needle", [pytest.param(c, n, id=i) for i, c, n in MALFORMED])
def test_malformed_results_file(tmp_path, content, needle):
    (tmp_path / "results.json").write_text(content, encoding="utf-8")
    msg = check_raises(ResultsFileError, lambda: load_results(tmp_path), "results.json", needle)
    assert msg.startswith("results: ")


def test_unreadable_results_file(tmp_path):
    (tmp_path / "results.json").write_bytes(b"\xff\xfe\x00")
    check_raises(ResultsFileError, lambda: load_results(tmp_path), "results.json",
                 "cannot read")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "results.json").mkdir()
    check_raises(ResultsFileError, lambda: load_results(tmp_path / "d" / "results.json"),
                 "results.json", "is a directory")


# ------------------------------------------------------------------ the CLI: exit 2, one line
def cli(argv, capsys):
    """Run ``specdef`` in-process; return ``(exit status, stderr lines)``."""
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


CLI_CASES = [
    (["check", "no.such.check"], "'no.such.check'"),
    (["check", "--backend", "torch"], "--backend"),
    (["check", "--dtype", "float16"], "--dtype"),
    (["check", "--seed", "-1"], "--seed"),
    (["check", "--seed", "x"], "--seed"),
    (["check", "--size", "huge"], "--size"),
    (["check", "--defence", "nomodule"], "--defence"),
    (["check", "--defence", "os:no_such_function"], "--defence"),
    (["check", "--defence", "os:sep"], "--defence"),
    (["check", "--resume"], "--resume"),
    (["check", "--bogus"], "--bogus"),
    (["list", "--bogus"], "--bogus"),
    (["frobnicate"], "frobnicate"),
]  # bare `specdef` is not an error: it prints the usage (tests/test_cli.py)


@pytest.mark.parametrize("argv, needle", CLI_CASES, ids=[" ".join(a) or "none"
                                                         for a, _ in CLI_CASES])
def test_cli_usage_errors(argv, needle, capsys):
    code, err = cli(argv, capsys)
    assert code == 2 and len(err) == 1, err
    assert needle in err[0] and "Traceback" not in err[0]


@pytest.mark.skipif(_gpu(), reason="a GPU is present: --backend cupy works")
def test_cli_cupy_without_gpu(capsys):
    code, err = cli(["check", "--backend", "cupy", "gd"], capsys)
    assert code == 2 and len(err) == 1 and "'cupy'" in err[0] and "GPU" in err[0]


@pytest.mark.parametrize("content, needle", [pytest.param(c, n, id=i) for i, c, n in MALFORMED])
def test_cli_resume_malformed_results(tmp_path, capsys, content, needle):
    (tmp_path / "results.json").write_text(content, encoding="utf-8")
    code, err = cli(["check", "--resume", "--out", str(tmp_path), "--no-progress",
                     "gd.contraction.worst_case"], capsys)
    assert code == 2 and len(err) == 1, err
    assert "results.json" in err[0] and needle in err[0]


def test_cli_resume_other_settings(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(
        {"meta": {"backend": "numpy", "dtype": "float64", "seed": 5, "size": "small",
                  "defence": "specdef"}, "results": []}))
    code, err = cli(["check", "--resume", "--out", str(tmp_path), "--no-progress",
                     "gd.contraction.worst_case"], capsys)
    assert code == 2 and len(err) == 1 and "seed=5" in err[0]


def test_cli_out_not_a_directory(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, err = cli(["check", "--out", str(tmp_path / "file"), "--no-progress",
                     "gd.contraction.worst_case"], capsys)
    assert code == 2 and len(err) == 1 and "--out" in err[0]


def test_cli_real_process_has_no_traceback(tmp_path):
    """The console entry point itself: exit 2, exactly one line, no traceback."""
    (tmp_path / "results.json").write_text('{"meta": {}, "completed": null, "results": []}')
    for argv in (["check", "--resume", "--out", str(tmp_path), "gd"],
                 ["check", "--seed", "-3"]):
        out = subprocess.run([sys.executable, "-m", "specdef.validation.cli", *argv],
                             capture_output=True, text=True, timeout=120)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1, out.stderr
        assert "Traceback" not in out.stderr


# ------------------------------------------------------------------ numerical extremes
ALPHAS = [1.0, 1e3, 1e6, 1e9, 1e12]


@pytest.mark.parametrize("alpha", ALPHAS)
def test_extreme_alpha_float64(alpha):
    """σ_j(W̃) = α σ_j(W) for j <= k and C W̃ = W to O(α u), from α = 1 to 10¹²."""
    Wt, C = nm.specdef(W, alpha, 2)
    s, st_ = np.linalg.svd(W, compute_uv=False), np.linalg.svd(Wt, compute_uv=False)
    want = np.sort(np.concatenate([alpha * s[:2], s[2:]]))[::-1]
    # an SVD of W̃ resolves each σ to eps·σ_1(W̃) absolute
    np.testing.assert_allclose(st_, want, rtol=1e-10, atol=10 * np.finfo(float).eps * want[0])
    err = float(nm.reconstruction_error(W, Wt, C))
    assert err <= 10 * (3 + 4) * alpha * np.finfo(np.float64).eps
    if alpha == 1.0:
        np.testing.assert_array_equal(Wt, W)  # the identity map, bit for bit


@pytest.mark.parametrize("alpha", [1e-300, 1e-12, 0.5])
def test_extreme_alpha_below_one(alpha):
    """Deflation keeps σ_j(W̃) = α σ_j(W) even for α far below eps (it used to cancel to 0)."""
    Wt, C = nm.specdef(W, alpha, 1)
    s = np.linalg.svd(W, compute_uv=False)
    assert np.all(np.isfinite(Wt)) and np.all(np.isfinite(C))
    assert np.max(np.abs(Wt)) > 0
    assert np.linalg.svd(Wt, compute_uv=False)[-1] == pytest.approx(
        min(alpha * s[0], s[-1]), rel=1e-6)
    if alpha >= 1e-12:  # C carries 1/α: the function-preservation error is O(u/α)
        assert float(nm.reconstruction_error(W, Wt, C)) <= 100 * 7 * np.finfo(float).eps / alpha


@pytest.mark.parametrize("alpha", [1.0, 1e6, 1e12, 1e30, 8e37])
def test_extreme_alpha_float32_up_to_the_limit(alpha):
    """float32 works up to 1/smallest_normal (8.5e37) when α σ_1 fits; beyond it is refused."""
    W32 = (W * 1e-2).astype(np.float32)
    Wt, C = nm.specdef(W32, alpha, 1)
    assert Wt.dtype == C.dtype == np.float32
    assert np.all(np.isfinite(Wt)) and np.all(np.isfinite(C))
    s1 = np.linalg.svd(W32.astype(np.float64), compute_uv=False)[0]
    assert np.linalg.svd(Wt.astype(np.float64), compute_uv=False)[0] == pytest.approx(
        alpha * s1, rel=1e-5)
    with pytest.raises(InputError, match="alpha"):
        nm.specdef(W32, 1e38, 1)


def test_extreme_conditioning_kappa_1e12():
    """κ(Σ_x) = 10¹² comes out of the structured spectra and drives the exact step counts."""
    kappa = 1e12
    Q = np.linalg.qr(RNG.standard_normal((3, 3)))[0]
    Xk = Q @ np.diag([1.0, 1e-3, 1e-6]) @ np.linalg.qr(RNG.standard_normal((3, 3)))[0].T
    Xk = Xk * math.sqrt(3)  # Σ_x = X Xᵀ/3 has eigenvalues 1, 1e-6, 1e-12
    sp = nm.linear_regression_spectrum(Xk, 2)
    assert sp.condition_number == pytest.approx(kappa, rel=1e-6)
    Wt, C = nm.specdef(RNG.standard_normal((2, 3)), 1e3, 1)
    fr = nm.frozen_compensation_spectrum(Xk, C)
    assert fr.condition_number == pytest.approx(kappa * 1e6, rel=1e-6)
    # worst-case GD steps at κ = 1e12 (step 1/L, distance criterion) match the theorem
    res = nm.steps_to_tolerance_quadratic([1 / kappa, 1.0], [1.0, 0.0], 1.0, 1e-3,
                                          quantity="distance")
    want = theory.get("gd.quadratic.steps_to_tolerance").evaluate(mu=1 / kappa, L=1.0, step=1.0,
                                                                    eps=1e-3)
    assert res.status == "converged" and float(res.steps) == pytest.approx(want, rel=1e-9)
    # ... and beyond 1/eps the theorem used to return -inf (log(rho) = log(1.0) = 0)
    big = theory.get("gd.quadratic.steps_to_tolerance").evaluate(mu=1e-17, L=2.0, step=0.5,
                                                                   eps=0.1)
    assert big == pytest.approx(math.log(10) / 0.5e-17, rel=1e-9)


def test_extreme_repeated_and_zero_singular_values():
    """Rank-deficient W with exactly repeated singular values; k below, at and above the rank."""
    U = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
    V = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
    Wr = U @ np.diag([3.0, 3.0, 3.0, 0.0]) @ V.T  # rank 3, σ = 3 three times
    for k, want in [(2, [3e3, 3e3, 3.0, 0.0]), (3, [3e3, 3e3, 3e3, 0.0]),
                    (4, [3e3, 3e3, 3e3, 0.0])]:
        Wt, C = nm.specdef(Wr, 1e3, k)
        np.testing.assert_allclose(np.linalg.svd(Wt, compute_uv=False), want, atol=1e-9)
        assert float(nm.reconstruction_error(Wr, Wt, C)) < 1e-10
        assert np.sum(np.isclose(np.linalg.eigvalsh(C), 1e-3)) == k
    sp = nm.frozen_compensation_spectrum(X, nm.specdef(Wr, 1e3, 1)[1])
    # each λ_i(Σ_x) times c = 1/α² (k = 1 time) and c = 1 (m - k = 3 times)
    assert sorted(sp.multiplicities.tolist()) == [1] * 4 + [3] * 4
    joint = nm.joint_spectrum_zero_residual(Wr, np.eye(4), np.vstack([X[:2], X[:2]]))
    assert joint.null_dim == 16 + 4 * 2  # gauge m² plus m·(d − rank Σ_x)


def test_extreme_one_by_one_layers():
    Wt, C = nm.specdef(np.array([[2.0]]), 1e12, 1)
    assert Wt[0, 0] == pytest.approx(2e12) and C[0, 0] == pytest.approx(1e-12)
    Xs, Ys = np.array([[1.0, -2.0]]), np.array([[2.0, -4.0]])
    layer = nm.SpecDefLayer(Wt, C, Xs, Ys)
    assert layer.n_params == 2 and np.isfinite(layer.loss(layer.theta0))
    assert nm.dense_spectrum(np.array([[5.0]])).condition_number == 1.0
    assert nm.joint_spectrum_zero_residual(Wt, C, Xs).n_rows == 2
    for attack in nm.ATTACKS.values():
        att = attack(Wt, C, Xs, Ys)
        assert np.isfinite(float(att.model.loss(att.theta0)))
    assert nm.cross_block_bound(*(np.ones((1, 1)),) * 3).ratio == 1.0
    res = nm.gradient_descent(nm.LinearRegression(Xs, Ys), np.zeros(1), 0.1)
    assert res.status == "converged"


@pytest.mark.parametrize("factor", [1.001, 1.5, 10.0, 1e6, 1e300])
def test_extreme_steps_beyond_the_stability_limit(factor):
    """Divergence is a status with the step it happened at; nothing recorded is NaN."""
    q = nm.Quadratic.from_spectrum([1e-3, 1.0], rng=0)
    step = factor * 2.0  # 2/L with L = 1
    res = nm.gradient_descent(q, np.ones(2), step, max_steps=100_000)
    assert res.status == "diverged" and res.diverged_at is not None and res.diverged_at >= 1
    assert np.all(np.isfinite(res.loss)) and np.all(np.isfinite(res.grad_norm))
    assert np.all(np.isfinite(res.theta))
    assert nm.steps_to_tolerance(q, np.ones(2), step) == math.inf
    exact = nm.steps_to_tolerance_quadratic([1e-3, 1.0], [1.0, 1.0], step)
    assert exact.status == "diverged" and exact.steps == math.inf
    batch = nm.batched_gradient_descent(np.diag([1e-3, 1.0])[None], np.ones((1, 2)),
                                        [step, 1.0], 20_000, record_every=100)
    div = nm.to_host(batch.diverged_at)
    assert div[0, 0] >= 1 and div[0, 1] == -1
    assert np.all(np.isfinite(nm.to_host(batch.loss)))
    assert not np.any(np.isnan(nm.gd_closed_form([1e-3, 1.0], [1.0, 1.0], step, 10**6)))
    sweep = nm.best_step_sweep(q, [step, 0.5], theta0=np.ones(2), max_steps=20_000)
    assert sweep.best_step == 0.5 and not np.any(np.isnan(sweep.n_steps))
    with pytest.raises(AssumptionError, match="step"):
        theory.get("gd.quadratic.steps_to_tolerance").evaluate(mu=1e-3, L=1.0, step=step,
                                                               eps=0.1)


def test_extreme_divergence_in_second_order_and_float32():
    q32 = nm.Quadratic(np.array([1e-6, 1.0], dtype=np.float32))
    res = nm.gradient_descent(q32, np.ones(2, dtype=np.float32), 3.0)
    assert res.status == "diverged" and np.all(np.isfinite(res.loss))
    nt = nm.newton_cg(q32, np.ones(2, dtype=np.float32))
    assert nt.status in {"converged", "max_steps", "breakdown"} and np.all(np.isfinite(nt.loss))
