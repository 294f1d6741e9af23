"""Fuzz tests: only documented exceptions escape the public functions of numerics and theory.

Every test draws either a *valid* input (which must not raise, and must give finite outputs or
documented statuses) or a *malformed / extreme* one (NaN/inf entries, wrong rank or shape, empty,
integer/complex/boolean/string/object dtypes, lists, ``None``, non-positive or non-finite
scalars, magnitudes near the float range), which may raise only the documented ``ValueError``
subclasses — :class:`numerics.InputError` and :class:`theory.TheoryError` — with a one-line
message, or else must behave like a valid input.

Each test runs twice: the small variant in the default run (the ``default`` Hypothesis profile
of ``conftest.py``: 40 derandomised examples) and the ``fuzz_long`` variant, deselected unless
``HYPOTHESIS_PROFILE=fuzz_long`` (``HYPOTHESIS_PROFILE=fuzz_long pytest -m fuzz_long
tests/test_fuzz.py``: 10 000 random examples per test).  See ``tests/README.md`` for counts.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specdef import numerics as nm
from specdef import theory
from specdef.validation import ResultsFileError, load_results
from specdef.validation.engine.records import Result, Status

DOCUMENTED = (nm.InputError, theory.TheoryError)
OPT_STATUSES = {"converged", "diverged", "max_steps", "breakdown"}

# every test exists twice: a small default variant and a long one (marker fuzz_long)
VARIANTS = pytest.mark.parametrize(
    "variant", ["small", pytest.param("long", marks=pytest.mark.fuzz_long)])
FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


class _Refused:
    def __repr__(self) -> str:
        return "REFUSED"


REFUSED = _Refused()


def attempt(fn, *args, **kw):
    """Call ``fn``; a documented exception (one-line message) gives ``REFUSED``.

    Any other exception propagates and fails the test: that is what the fuzzing looks for.
    """
    try:
        with np.errstate(all="ignore"):
            return fn(*args, **kw)
    except DOCUMENTED as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, f"documented error with a bad message: {msg!r}"
        return REFUSED


def valid(fn, *args, **kw):
    """Call ``fn`` on an input that meets every documented requirement: nothing may escape."""
    with np.errstate(all="ignore"):
        return fn(*args, **kw)


def run(bad, fn, *args, **kw):
    return attempt(fn, *args, **kw) if bad else valid(fn, *args, **kw)


def host(x):
    return np.asarray(nm.to_host(x), dtype=np.float64)


def finite(x) -> bool:
    return bool(np.all(np.isfinite(host(x))))


def no_nan(x) -> bool:
    return not bool(np.any(np.isnan(host(x))))


# ----------------------------------------------------------------------------- strategies
SEEDS = st.integers(0, 2**32 - 1)
BAD_SCALARS = [math.nan, math.inf, -math.inf, 0.0, -1.0, -1e-300, 5e-324, 1e308, "1", "abc",
               None, 1j, True, False, 10**400, -(10**400), np.array([1.0, 2.0]), [1.0], (),
               np.float32("nan"), np.int64(-3), np.complex128(1 + 1j), object()]
BAD_MATRIX_KINDS = ["nan", "inf", "ninf", "1d", "3d", "0d", "empty_rows", "empty_cols", "complex",
                    "bool", "str", "object", "list", "none", "scalar", "huge", "tiny", "int",
                    "transpose", "extra_row", "float32", "float16"]


def bad_scalar() -> st.SearchStrategy:
    return st.sampled_from(BAD_SCALARS)


def pos_floats(lo: float = 1e-6, hi: float = 1e6) -> st.SearchStrategy:
    """Log-uniform positive floats in ``[lo, hi]`` (endpoints included)."""
    return st.one_of(st.sampled_from([lo, hi, 1.0]),
                     st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0 ** e))


@st.composite
def matrix(draw, m: int, n: int, *, scale=(-6, 6), kinds=None) -> np.ndarray:
    """A finite real ``m × n`` matrix: Gaussian, low rank, repeated or zero singular values,
    integer-valued (integer dtype), or zero; entries scaled by ``10^e``, ``e`` in ``scale``."""
    kind = draw(st.sampled_from(kinds or ["gauss", "gauss", "lowrank", "repeated", "int", "zero"]))
    rng = np.random.default_rng(draw(SEEDS))
    e = draw(st.integers(*scale))
    if kind == "int":
        return rng.integers(-5, 6, size=(m, n))
    if kind == "zero":
        return np.zeros((m, n))
    if kind == "lowrank":
        r = draw(st.integers(0, min(m, n)))
        A = rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    elif kind == "repeated":  # exactly repeated singular values, some possibly zero
        U = np.linalg.qr(rng.standard_normal((m, m)))[0]
        V = np.linalg.qr(rng.standard_normal((n, n)))[0]
        s = np.full(min(m, n), 2.0)
        s[draw(st.integers(0, min(m, n))):] = draw(st.sampled_from([0.0, 1.0, 2.0]))
        A = (U[:, :s.size] * s) @ V[:, :s.size].T
    else:
        A = rng.standard_normal((m, n))
    return A * 10.0 ** e


@st.composite
def corrupt(draw, A) -> object:
    """A malformed or extreme variant of a valid matrix ``A``."""
    A = np.asarray(A, dtype=np.float64)
    how = draw(st.sampled_from(BAD_MATRIX_KINDS))
    with np.errstate(all="ignore"):  # casting 1e300 to float16 overflows, on purpose
        return _corrupt(draw, A, how)


def _corrupt(draw, A, how):
    if how in ("nan", "inf", "ninf"):
        B = A.copy()
        idx = tuple(draw(st.integers(0, s - 1)) for s in B.shape) if B.size else ()
        if B.size:
            B[idx] = {"nan": np.nan, "inf": np.inf, "ninf": -np.inf}[how]
        return B
    return {"1d": lambda: A.reshape(-1), "3d": lambda: A[None], "0d": lambda: np.float64(1.0),
            "empty_rows": lambda: np.zeros((0,) + A.shape[1:]),
            "empty_cols": lambda: np.zeros(A.shape[:-1] + (0,)),
            "complex": lambda: A + 1j, "bool": lambda: A > 0, "str": lambda: A.astype(str),
            "object": lambda: np.where(A > 0, None, A).astype(object), "list": lambda: A.tolist(),
            "none": lambda: None, "scalar": lambda: 1.5, "huge": lambda: A * 1e300 + 1e300,
            "tiny": lambda: A * 1e-300, "int": lambda: np.rint(A).astype(np.int64),
            "transpose": lambda: A.T.copy(), "extra_row": lambda: np.vstack([A, A[:1]]),
            "float32": lambda: A.astype(np.float32), "float16": lambda: A.astype(np.float16),
            }[how]()


def maybe_bad(data, value, bad_strategy):
    """``(value, False)`` or a corrupted value from ``bad_strategy`` and ``True``."""
    if data.draw(st.booleans(), label="corrupt?"):
        return data.draw(bad_strategy), True
    return value, False


def pick_bad(data, names):
    """Which argument to corrupt (``None``: all valid)."""
    return data.draw(st.sampled_from([None, None, *names]), label="corrupted argument")


# ----------------------------------------------------------------------------- backend helpers
@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_backend_helpers(variant, data):
    x = data.draw(st.one_of(matrix(2, 3), corrupt(np.ones((2, 3))), bad_scalar()))
    name = data.draw(st.one_of(st.sampled_from(list(nm.BACKENDS) + ["torch", "", None]),
                               st.text(max_size=8), st.integers()))
    ns = attempt(nm.namespace_for, name)
    if name in ("numpy", None, "array_api_strict"):
        assert ns is not REFUSED
    if ns is not REFUSED:
        assert isinstance(nm.backend_name(ns), str)
    attempt(nm.get_namespace, x)
    h = valid(nm.to_host, x) if isinstance(x, np.ndarray) else attempt(nm.to_host, x)
    if isinstance(x, np.ndarray):
        assert isinstance(h, np.ndarray)
    dtype = data.draw(st.sampled_from([None, "float64", "float32", "float16", "int8", np.float64,
                                       np.float32, np.int32, np.complex128, 3, "x"]))
    out = attempt(nm.asarray, x, dtype=dtype)
    if out is not REFUSED and dtype in (None, "float64", "float32") and isinstance(x, np.ndarray) \
            and x.dtype.kind in "fiu" and np.all(np.isfinite(x.astype(float))) and (
            dtype != "float32" or np.all(np.abs(x.astype(float)) < 3e38)):
        assert finite(out)
    attempt(nm.resolve_dtype, nm.namespace_for("numpy"), dtype)
    e = attempt(nm.eps, dtype)
    assert e is REFUSED or 0 < e < 1
    attempt(nm.require_matrix, "f", "x", x)
    v = attempt(nm.require_positive, "f", "x", x, integer=data.draw(st.booleans()))
    assert v is REFUSED or (math.isfinite(v) and v > 0)
    v = attempt(nm.require_finite, "f", "x", x)
    assert v is REFUSED or math.isfinite(v)
    attempt(nm.make_rng, "f", data.draw(st.one_of(SEEDS, bad_scalar())))


# ----------------------------------------------------------------------------- SpecDef
@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_specdef(variant, data):
    m, n = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    W = data.draw(matrix(m, n)).astype(dtype)
    alpha = data.draw(pos_floats(1.0, 1e12))
    k = data.draw(st.integers(1, min(m, n)))
    which = pick_bad(data, ["W", "alpha", "k", "svd_dtype"])
    args = {"W": W, "alpha": alpha, "k": k, "svd_dtype": "float64"}
    if which == "W":
        args["W"] = data.draw(corrupt(W))
    elif which == "alpha":
        args["alpha"] = data.draw(st.one_of(bad_scalar(), pos_floats(1e-320, 1e-300),
                                            pos_floats(1e30, 1e308)))
    elif which == "k":
        args["k"] = data.draw(st.one_of(bad_scalar(), st.integers(-3, 12),
                                        st.just(np.int64(1)), st.just(1.0)))
    elif which == "svd_dtype":
        args["svd_dtype"] = data.draw(st.sampled_from([None, "float32", "float16", 3, "x"]))
    out = run(which is not None, nm.specdef, **args)
    if out is REFUSED:
        return
    Wt, C = out
    assert finite(Wt) and finite(C)
    W2 = np.asarray(args["W"])
    assert Wt.shape == W2.shape and C.shape == W2.shape[:-2] + (W2.shape[-2],) * 2
    err = attempt(nm.reconstruction_error, W2, Wt, C)
    assert err is REFUSED or finite(err)
    if which is None and dtype == np.float64:
        bound = 1e3 * (m + n) * alpha * np.finfo(np.float64).eps
        assert float(err) <= bound


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_reconstruction_error(variant, data):
    m, n, p = (data.draw(st.integers(1, 5)) for _ in range(3))
    W = data.draw(matrix(m, n))
    Wt, C = nm.specdef(W, data.draw(pos_floats(1.0, 1e6)), data.draw(st.integers(1, min(m, n))))
    X = data.draw(matrix(n, p))
    args = {"W": W, "W_inflated": Wt, "C": C, "X": X}
    which = pick_bad(data, list(args))
    if which is not None:
        args[which] = data.draw(st.one_of(corrupt(args[which]), st.just(None)))
        if which != "X" and args[which] is None:
            args[which] = np.ones((m + 1, n))
    out = run(which is not None, nm.reconstruction_error, **args)
    assert out is REFUSED or (finite(out) and float(np.min(host(out))) >= 0)


# ----------------------------------------------------------------------------- models
def _check_model(model, theta, bad):
    """Loss, gradient, Hessian-vector product of a valid model are finite at a valid θ.

    With ``bad`` (a malformed θ, or a model built from corrupted-but-accepted data) only the
    exceptions are checked: model methods check shapes, not finiteness (NaN must propagate to
    the optimisers' divergence test).
    """
    for meth in ("loss", "grad"):
        out = run(bad, getattr(model, meth), theta)
        assert bad or finite(out)
    out = run(bad, model.hvp, theta, theta)
    assert bad or finite(out)
    if bad:
        return
    ls = model.loss_star
    assert ls is None or math.isfinite(ls)
    ts = model.theta_star
    assert ts is None or finite(ts)


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_quadratic(variant, data):
    p = data.draw(st.integers(1, 6))
    lam = np.asarray(data.draw(st.lists(pos_floats(1e-12, 1e6), min_size=p, max_size=p)))
    singular = data.draw(st.booleans())
    if singular:
        lam[: data.draw(st.integers(0, p))] = 0.0
    args = {"eigenvalues": lam, "Q": None, "w_star": None}
    if data.draw(st.booleans()):
        args["Q"] = np.linalg.qr(np.random.default_rng(data.draw(SEEDS)).standard_normal((p, p)))[0]
    if data.draw(st.booleans()):
        args["w_star"] = data.draw(matrix(1, p))[0].astype(float)
    which = pick_bad(data, ["eigenvalues", "Q", "w_star", "rng"])
    if which in ("eigenvalues", "Q", "w_star"):
        base = args[which] if args[which] is not None else np.ones((p, p) if which == "Q" else p)
        args[which] = data.draw(st.one_of(corrupt(np.atleast_2d(base)), bad_scalar(),
                                          st.just(-np.abs(base) - 1.0)))
    if data.draw(st.booleans()) and which != "Q":
        rng = data.draw(st.one_of(SEEDS, bad_scalar())) if which == "rng" else data.draw(SEEDS)
        model = run(which is not None, nm.Quadratic.from_spectrum, args["eigenvalues"], rng=rng,
                    w_star=args["w_star"], allow_singular=singular)
    else:
        model = run(which not in (None, "rng"), nm.Quadratic, allow_singular=singular, **args)
    if model is REFUSED:
        return
    theta = np.random.default_rng(data.draw(SEEDS)).standard_normal(model.n_params)
    bad_theta = data.draw(st.booleans())
    if bad_theta:
        theta = data.draw(st.one_of(corrupt(theta[None])))
    _check_model(model, theta, bad_theta)
    start = attempt(model.worst_case_start, data.draw(st.sampled_from(["max", "min", "both", "x"])),
                    data.draw(st.one_of(pos_floats(), bad_scalar())))
    assert start is REFUSED or finite(start)


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_linear_regression(variant, data):
    d, n, m = (data.draw(st.integers(1, 5)) for _ in range(3))
    args = {"X": data.draw(matrix(d, n)), "Y": data.draw(matrix(m, n)), "offset": None}
    if data.draw(st.booleans()):
        args["offset"] = data.draw(matrix(m, d))
    which = pick_bad(data, list(args))
    if which is not None:
        base = args[which] if args[which] is not None else np.ones((m, d))
        args[which] = data.draw(corrupt(base))
    model = run(which is not None, nm.LinearRegression, **args)
    if model is REFUSED:
        return
    theta = np.random.default_rng(data.draw(SEEDS)).standard_normal(model.n_params)
    _check_model(model, theta, which is not None)
    fd = attempt(nm.finite_difference_hessian, model, theta, data.draw(
        st.one_of(st.none(), pos_floats(1e-8, 1.0), bad_scalar())))
    assert fd is REFUSED or no_nan(fd)


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_linear_chain(variant, data):
    depth = data.draw(st.integers(1, 3))
    dims = [data.draw(st.integers(1, 4)) for _ in range(depth + 1)]
    n = data.draw(st.integers(1, 4))
    factors = [data.draw(matrix(dims[i + 1], dims[i], scale=(-2, 2))) for i in range(depth)]
    X, Y = data.draw(matrix(dims[0], n, scale=(-2, 2))), data.draw(matrix(dims[-1], n))
    trainable = [data.draw(st.booleans()) for _ in range(depth)]
    trainable[data.draw(st.integers(0, depth - 1))] = True
    args = {"factors": factors, "X": X, "Y": Y, "trainable": trainable, "names": None}
    which = pick_bad(data, list(args))
    if which == "factors":
        fs = list(factors)
        i = data.draw(st.integers(0, depth - 1))
        fs[i] = data.draw(corrupt(fs[i]))
        args["factors"] = data.draw(st.sampled_from([fs, [], None, 3, tuple(fs)]))
    elif which in ("X", "Y"):
        args[which] = data.draw(corrupt(args[which]))
    elif which == "trainable":
        args["trainable"] = data.draw(st.sampled_from(
            [[False] * depth, [True] * (depth + 1), "x", 1, None, [1] * depth, np.ones(depth, bool)]))
    elif which == "names":
        args["names"] = data.draw(st.sampled_from([["a"] * depth, 3, "ab", [1] * depth, None]))
    cls = data.draw(st.sampled_from([nm.LinearChain, nm.DeepLinear]))
    if cls is nm.DeepLinear:
        args.pop("trainable"), args.pop("names")
    model = run(which is not None, cls, **args)
    if model is REFUSED:
        return
    theta = model.theta0
    _check_model(model, theta, which is not None)
    packed = attempt(model.pack, **model.unpack(theta))
    assert packed is REFUSED or finite(packed)


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_specdef_layer(variant, data):
    m, d, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    W = data.draw(matrix(m, d, scale=(-2, 2)))
    Wt, C = nm.specdef(W, data.draw(pos_floats(1.0, 1e4)), data.draw(st.integers(1, min(m, d))))
    X = data.draw(matrix(d, n, scale=(-2, 2)))
    Y = C @ Wt @ X if data.draw(st.booleans()) else data.draw(matrix(m, n))  # zero residual
    train = data.draw(st.sampled_from([("W", "C"), ("W",), ("C",), "W"]))
    args = {"W_inflated": Wt, "C": C, "X": X, "Y": Y, "train": train}
    which = pick_bad(data, list(args))
    if which == "train":
        args["train"] = data.draw(st.sampled_from([(), ("Z",), None, 3, ["W", "X"]]))
    elif which is not None:
        args[which] = data.draw(corrupt(args[which]))
    model = run(which is not None, nm.SpecDefLayer, **args)
    if model is REFUSED:
        return
    _check_model(model, model.theta0, which is not None)
    g = attempt(model.gauge_basis, model.theta0)
    assert g is REFUSED or finite(g)


# ----------------------------------------------------------------------------- spectra
@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_spectra(variant, data):
    d, n, m = (data.draw(st.integers(1, 5)) for _ in range(3))
    X = data.draw(matrix(d, n))
    W = data.draw(matrix(m, d, scale=(-3, 3)))
    Wt, C = nm.specdef(W, data.draw(pos_floats(1.0, 1e6)), data.draw(st.integers(1, min(m, d))))
    fn = data.draw(st.sampled_from(["dense", "linreg", "frozen", "joint"]))
    which = data.draw(st.sampled_from([None, None, "first", "second", "third", "group_tol"]))
    bad = which is not None
    gt = data.draw(st.one_of(bad_scalar(), st.just(-1.0))) if which == "group_tol" else None

    def arg(pos, A):
        return data.draw(corrupt(A)) if which == pos else A

    if fn == "dense":
        H = (lambda A: A @ A.T)(data.draw(matrix(d, d)).astype(float))
        sp = run(bad, nm.dense_spectrum, arg("first", H))
    elif fn == "linreg":
        mm = data.draw(st.one_of(bad_scalar(), st.integers(-2, 0))) if which == "second" else m
        sp = run(bad, nm.linear_regression_spectrum, arg("first", X), mm)
    elif fn == "frozen":
        sp = run(bad, nm.frozen_compensation_spectrum, arg("first", X), arg("second", C),
                 group_tol=gt)
    else:
        sp = run(bad, nm.joint_spectrum_zero_residual, arg("first", Wt), arg("second", C),
                 arg("third", X), group_tol=gt)
    if sp is REFUSED:
        return
    assert finite(sp.values) and int(sp.multiplicities.sum()) == sp.n_rows
    assert np.all(np.diff(host(sp.values)) >= 0)
    for judged in (sp, sp.with_rtol(0.0), sp.with_rtol(1e-8)):
        assert 0 <= judged.null_dim <= sp.n_rows and math.isfinite(sp.sigma_max)
        lmn = judged.lambda_min_nonzero
        assert math.isnan(lmn) or 0 < lmn < math.inf
        if fn != "dense":  # structured spectra are exactly >= 0: NaN only when all are zero
            assert math.isnan(lmn) == (judged.null_dim == sp.n_rows)
    attempt(sp.with_rtol, data.draw(bad_scalar()))


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_joint_extremes(variant, data):
    d, m = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))
    n = data.draw(st.integers(1, 9))
    X = data.draw(matrix(d, n))
    W = data.draw(matrix(m, d, scale=(-3, 3)))
    Wt, C = nm.specdef(W, data.draw(pos_floats(1.0, 1e6)), data.draw(st.integers(1, min(m, d))))
    which = pick_bad(data, ["W", "C", "X", "method", "tol"])
    args = {"W": Wt, "C": C, "X": X}
    if which in args:
        args[which] = data.draw(corrupt(args[which]))
    method = data.draw(bad_scalar()) if which == "method" else \
        data.draw(st.sampled_from(["auto", "lanczos", "full"]))
    tol = data.draw(bad_scalar()) if which == "tol" else 1e-13
    ends = run(which is not None, nm.joint_extremes_zero_residual, *args.values(), method=method,
               tol=tol)
    if ends is REFUSED:
        return
    assert ends.method in ("lanczos", "full")
    assert math.isfinite(ends.lambda_max) and ends.lambda_max >= 0
    low = ends.lambda_min_nonzero
    # NaN only when every eigenvalue is zero; otherwise a positive value not above the top
    assert (math.isnan(low) and ends.lambda_max == 0) or 0 < low <= ends.lambda_max * (1 + 1e-9)


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_gauge_projector(variant, data):
    m, d = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    m2 = data.draw(st.sampled_from([m, m + 1]))
    args = {"W": data.draw(matrix(m, d, scale=(-3, 3))), "C": data.draw(matrix(m2, m,
                                                                             scale=(-3, 3)))}
    which = pick_bad(data, ["W", "C"])
    if which is not None:
        args[which] = data.draw(corrupt(args[which]))
    # valid shapes may still be refused (documented): C and W̃ᵀ both rank-deficient
    P = attempt(nm.gauge_projector, args["W"], args["C"])
    if P is REFUSED:
        return
    n = m * d + np.shape(args["C"])[0] * m  # a C with an extra row is valid: m' = m2 + 1
    v = data.draw(matrix(n, 1)).reshape(-1).astype(float)
    p1 = valid(P, v)
    assert p1.shape == (n,) and finite(p1)
    # an orthogonal projector: idempotent and norm-reducing, to rounding × its conditioning
    assert np.linalg.norm(p1) <= np.linalg.norm(v) * (1 + 1e-6) + 1e-300
    attempt(P, data.draw(st.one_of(bad_scalar(), st.just(np.ones(n + 1)))))


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_spectrum_record(variant, data):
    k = data.draw(st.integers(1, 5))
    vals = np.sort(np.asarray(data.draw(st.lists(pos_floats(1e-6, 1e6), min_size=k, max_size=k))))
    mult = [data.draw(st.integers(1, 3)) for _ in range(k)]
    args = {"values": vals, "multiplicities": mult, "n_rows": sum(mult), "rtol": None}
    which = pick_bad(data, list(args))
    if which == "values":
        args["values"] = data.draw(corrupt(vals[None]))
    elif which == "multiplicities":
        args["multiplicities"] = data.draw(st.sampled_from(
            [[0] * k, ["a"] * k, [1.5] * k, mult[:-1], None, [-1] * k]))
    elif which is not None:
        args[which] = data.draw(st.one_of(bad_scalar(), st.integers(-3, 0)))
    sp = run(which is not None, nm.Spectrum, **args)
    if sp is REFUSED:
        return
    assert no_nan(sp.expand()) and sp.expand().shape == (sp.n_rows,)
    cn = sp.condition_number
    assert math.isfinite(cn) or math.isnan(sp.lambda_min_nonzero)


# ----------------------------------------------------------------------------- eigensolvers
@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_extreme_eigenvalues(variant, data):
    n = data.draw(st.integers(2, 8))
    rng = np.random.default_rng(data.draw(SEEDS))
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    lam = np.asarray(data.draw(st.lists(pos_floats(1e-6, 1e6), min_size=n, max_size=n)))
    r = data.draw(st.integers(0, n - 1))
    lam[:r] = 0.0
    H = (Q * lam) @ Q.T
    which = data.draw(st.sampled_from(["largest", "smallest", "both", "smallest_nonzero"]))
    method = data.draw(st.sampled_from(["eigsh", "lobpcg"]))
    k = data.draw(st.integers(1, n - 1))
    null = Q[:, :r] if which == "smallest_nonzero" and r > 0 else None
    if which == "smallest_nonzero" and null is None:
        which = "both"
    if which == "smallest_nonzero" and method == "lobpcg" and n - r < 5 * k:
        method = "eigsh"  # documented: LOBPCG with constraints needs n - r >= 5k
    args = {"n": n, "k": k, "which": which, "method": method, "null_space": null,
            "tol": data.draw(st.sampled_from([0.0, 1e-10, 1e-4])),
            "maxiter": data.draw(st.sampled_from([None, None, 1, 3, 1000])),
            "rng": data.draw(SEEDS), "dtype": None, "backend": None}

    def hvp(v):  # a sloppy user operator: wrong-size input gives a wrong-size output
        return H @ v if v.shape == (n,) else np.zeros(1)
    bad = pick_bad(data, ["hvp", "n", "k", "which", "method", "null_space", "tol", "maxiter",
                          "rng", "dtype", "backend"])
    if bad == "hvp":
        hvp = data.draw(st.sampled_from([3, None, lambda v: v * np.nan, lambda v: v[:1],
                                         lambda v: np.inf * v, lambda v: 0 * v]))
    elif bad in ("which", "method", "backend", "dtype"):
        args[bad] = data.draw(st.sampled_from(["x", 3, None, "torch", "cupy", "int8",
                                               "float32"]))
    elif bad == "null_space":
        args[bad] = data.draw(st.one_of(corrupt(Q[:, :max(r, 1)]), st.just(np.zeros((n, 1))),
                                        st.just(np.eye(n))))
    elif bad is not None:
        args[bad] = data.draw(st.one_of(bad_scalar(), st.integers(-2, 2 * n)))
    res = run(bad is not None, nm.extreme_eigenvalues, hvp, **args)
    if res is REFUSED:
        return
    assert finite(res.values) and np.all(np.isfinite(res.residuals))
    assert isinstance(res.converged, bool) and res.n_matvecs >= 0
    if res.converged and res.values.shape[0]:
        assert float(np.max(np.abs(host(res.values)))) <= 1.001 * max(lam.max(), 1e-300) + 1e-6


# ----------------------------------------------------------------------------- optimisers
def _model(data, p_max=4):
    """A small model: strongly convex / singular quadratic, regression, SpecDef layer."""
    kind = data.draw(st.sampled_from(["quad", "quad", "singular", "linreg", "specdef"]))
    p = data.draw(st.integers(1, p_max))
    if kind in ("quad", "singular"):
        lam = np.asarray(data.draw(st.lists(pos_floats(1e-12, 1e6), min_size=p, max_size=p)))
        if kind == "singular":
            lam[0] = 0.0
        return nm.Quadratic.from_spectrum(lam, rng=data.draw(SEEDS), allow_singular=True)
    d, n = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    X = data.draw(matrix(d, n, scale=(-2, 2)))
    if kind == "linreg":
        return nm.LinearRegression(X, data.draw(matrix(p, n, scale=(-2, 2))))
    Wt, C = nm.specdef(data.draw(matrix(p, d, scale=(-1, 1))), data.draw(pos_floats(1.0, 1e3)), 1)
    return nm.SpecDefLayer(Wt, C, X, data.draw(matrix(p, n, scale=(-1, 1))),
                           train=data.draw(st.sampled_from([("W", "C"), ("W",)])))


def _check_opt(res):
    assert res.status in OPT_STATUSES
    assert np.all(np.isfinite(res.loss)) and np.all(np.isfinite(res.grad_norm))
    assert res.loss.shape == res.grad_norm.shape == res.record_steps.shape
    assert finite(res.theta) and res.steps >= 0
    assert (res.diverged_at is not None) == (res.status == "diverged")
    if res.diverged_at is not None:
        assert 0 <= res.diverged_at <= res.params["max_steps"]


OPT_BAD = ["model", "theta0", "max_steps", "tol", "atol", "divergence_factor"]


def _opt_args(data, model):
    theta0 = np.random.default_rng(data.draw(SEEDS)).standard_normal(model.n_params)
    theta0 = theta0 * 10.0 ** data.draw(st.integers(-3, 3))
    args = {"model": model, "theta0": theta0, "max_steps": data.draw(st.integers(0, 30)),
            "tol": data.draw(pos_floats(1e-12, 0.5)), "atol": None,
            "divergence_factor": data.draw(st.sampled_from([1e12, 10.0, 1e300]))}
    return args


def _corrupt_opt(data, args, which):
    if which == "model":
        args["model"] = data.draw(st.sampled_from([None, object(), 3, "m"]))
    elif which == "theta0":
        args["theta0"] = data.draw(st.one_of(corrupt(args["theta0"][None]), bad_scalar()))
    elif which is not None:
        args[which] = data.draw(st.one_of(bad_scalar(), st.integers(-3, 0)))


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_gradient_descent(variant, data):
    model = _model(data)
    args = _opt_args(data, model)
    lmax = float(np.max(host(nm.dense_spectrum(model.hessian(args["theta0"])).values)))
    # steps around the stability limit 2/L: converging, slow, and divergent runs
    args["step"] = data.draw(pos_floats(1e-3, 1e3)) * 2.0 / max(lmax, 1e-12)
    args["record_every"] = data.draw(st.integers(1, 4))
    which = pick_bad(data, OPT_BAD + ["step", "record_every"])
    _corrupt_opt(data, args, which)
    fn = data.draw(st.sampled_from(["gd", "steps"]))
    if fn == "steps":
        args.pop("record_every")
        out = run(which is not None, nm.steps_to_tolerance, **args)
        assert out is REFUSED or out == math.inf or (out >= 0 and float(out).is_integer())
        return
    res = run(which is not None, nm.gradient_descent, **args)
    if res is not REFUSED:
        _check_opt(res)


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_best_step_sweep(variant, data):
    model = _model(data, p_max=3)
    theta0 = np.ones(model.n_params)
    steps = data.draw(st.lists(pos_floats(1e-4, 1e4), min_size=1, max_size=4))
    run_ = model
    which = pick_bad(data, ["steps", "run", "theta0"])
    if which == "steps":
        steps = data.draw(st.sampled_from([[], ["a"], [0.1, -1.0], [math.nan], None, 0.0,
                                           [[0.1, 0.2]]]))
    elif which == "run":
        run_ = data.draw(st.sampled_from([3, None, lambda s: math.nan, lambda s: "x",
                                          lambda s: -1, lambda s: 5, lambda s: math.inf]))
    elif which == "theta0":
        theta0 = data.draw(st.one_of(st.none(), corrupt(theta0[None])))
    res = run(which is not None, nm.best_step_sweep, run_, steps, theta0=theta0, max_steps=20)
    if res is REFUSED:
        return
    assert not np.any(np.isnan(res.n_steps)) and len(res.rows) == len(res.steps)
    assert (res.best_step is None) == (not np.isfinite(res.n_steps).any())


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_second_order(variant, data):
    model = _model(data)
    args = _opt_args(data, model)
    args["max_steps"] = min(args["max_steps"], 10)
    method = data.draw(st.sampled_from(["newton", "gauss_newton", "levenberg_marquardt",
                                        "damped_newton", "newton_cg"]))
    extra = {"newton": {"solver": "pinv", "rcond": None}, "gauss_newton": {"rcond": None},
             "levenberg_marquardt": {"damping": 1.0, "curvature": "gauss_newton", "rcond": None},
             "damped_newton": {"c1": 1e-4, "backtrack": 0.5, "max_backtracks": 30, "rcond": None},
             "newton_cg": {"cg_tol": None, "cg_maxiter": None, "line_search": True, "c1": 1e-4,
                           "backtrack": 0.5, "max_backtracks": 30}}[method]
    if method == "newton":
        extra["solver"] = data.draw(st.sampled_from(["pinv", "solve"]))
    if method == "levenberg_marquardt":
        extra["damping"] = data.draw(st.one_of(st.just(0.0), pos_floats(1e-8, 1e8)))
        extra["curvature"] = data.draw(st.sampled_from(["gauss_newton", "hessian"]))
    if method == "newton_cg":
        extra["cg_tol"] = data.draw(st.one_of(st.none(), pos_floats(1e-10, 0.5)))
        extra["cg_maxiter"] = data.draw(st.one_of(st.none(), st.integers(1, 5)))
        extra["line_search"] = data.draw(st.booleans())
    args.update(extra)
    which = pick_bad(data, OPT_BAD + list(extra))
    if which in extra:
        args[which] = data.draw(st.one_of(bad_scalar(), st.sampled_from(["x", 2.0, 1.0, -1.0])))
        if which == "line_search":
            args[which] = data.draw(st.booleans())
            which = None
    else:
        _corrupt_opt(data, args, which)
    res = run(which is not None, getattr(nm, method), **args)
    if res is not REFUSED:
        _check_opt(res)
        assert res.inner_iterations >= 0


# ----------------------------------------------------------------------------- quadratic kernels
@st.composite
def gd_problem(draw, batch=()):
    d = draw(st.integers(1, 5))
    lam = np.asarray(draw(st.lists(st.one_of(st.just(0.0), pos_floats(1e-12, 1e6)),
                                   min_size=d, max_size=d)))
    lam = np.broadcast_to(lam, batch + (d,)).copy()
    c = np.random.default_rng(draw(SEEDS)).standard_normal(batch + (d,))
    c *= 10.0 ** draw(st.integers(-100, 100))
    if draw(st.booleans()):
        c[..., 0] = 0.0
    step = draw(pos_floats(1e-3, 1e3)) * 2.0 / max(float(lam.max()), 1e-12)
    return lam, c, step


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_gd_closed_form(variant, data):
    lam, c, step = data.draw(gd_problem(batch=data.draw(st.sampled_from([(), (2,)]))))
    t = data.draw(st.one_of(st.integers(0, 10**6), st.floats(0, 1e12),
                            st.lists(st.integers(0, 100), min_size=1, max_size=3)))
    args = {"eigenvalues": lam, "coeffs": c, "step": step, "t": t,
            "quantity": data.draw(st.sampled_from(["loss", "distance"])),
            "log": data.draw(st.booleans())}
    which = pick_bad(data, ["eigenvalues", "coeffs", "step", "t", "quantity"])
    if which in ("eigenvalues", "coeffs"):
        args[which] = data.draw(st.one_of(corrupt(np.atleast_2d(args[which])), bad_scalar(),
                                          st.just(-np.abs(args[which]) - 1)))
    elif which == "quantity":
        args[which] = data.draw(st.sampled_from(["x", None, 3]))
    elif which is not None:
        args[which] = data.draw(st.one_of(bad_scalar(), st.just(np.ones(7))))
    out = run(which is not None, nm.gd_closed_form, **args)
    if out is REFUSED:
        return
    assert no_nan(out)
    if args["log"]:
        if np.any(host(out) == np.inf):
            # documented: +inf only where the logarithm itself, 2t·log|1 − ηλ|, is beyond float64
            with np.errstate(all="ignore"):
                growth = 2 * np.log(np.abs(1.0 - np.asarray(args["step"], float) * np.asarray(
                    args["eigenvalues"], float)))
                t_max = float(np.max(np.asarray(args["t"], float)))
            assert t_max * float(np.max(growth)) > np.finfo(float).max / 4, (t_max, growth)
    elif which is None and np.all(np.asarray(step) * lam < 2):  # stable: never above the start
        assert np.all(np.isfinite(host(out)))


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_steps_to_tolerance_quadratic(variant, data):
    lam, c, step = data.draw(gd_problem(batch=data.draw(st.sampled_from([(), (3,)]))))
    args = {"eigenvalues": lam, "coeffs": c, "step": step,
            "tol": data.draw(pos_floats(1e-15, 2.0)),
            "quantity": data.draw(st.sampled_from(["loss", "distance"])),
            "atol": data.draw(st.one_of(st.none(), pos_floats(1e-300, 1e300))),
            "max_steps": data.draw(st.sampled_from([0, 1, 100, 10**6, 10**15, 2**53]))}
    which = pick_bad(data, ["eigenvalues", "coeffs", "step", "tol", "atol", "max_steps",
                            "quantity"])
    if which in ("eigenvalues", "coeffs"):
        args[which] = data.draw(st.one_of(corrupt(np.atleast_2d(args[which])), bad_scalar()))
    elif which == "quantity":
        args[which] = "x"
    elif which == "max_steps":
        args[which] = data.draw(st.one_of(bad_scalar(), st.just(2**60), st.just(-1)))
    elif which is not None:
        args[which] = data.draw(bad_scalar())
    res = run(which is not None, nm.steps_to_tolerance_quadratic, **args)
    if res is REFUSED:
        return
    steps, status = np.asarray(res.steps), np.asarray(res.status)
    assert not np.any(np.isnan(steps)) and not np.any(np.isnan(res.contraction))
    assert np.all(np.isfinite(steps) == (status == "converged"))
    assert set(status.ravel()) <= {"converged", "diverged", "max_steps"}
    assert np.all(steps[np.isfinite(steps)] <= res.params["max_steps"])


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_batched_gradient_descent(variant, data):
    B, d, S = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4)), data.draw(
        st.integers(1, 3))
    rng = np.random.default_rng(data.draw(SEEDS))
    H = np.stack([(lambda G: G @ G.T)(rng.standard_normal((d, d)) * 10.0 ** data.draw(
        st.integers(-3, 3))) for _ in range(B)])
    args = {"H": H, "e0": rng.standard_normal((B, d)),
            "steps": np.asarray(data.draw(st.lists(pos_floats(1e-4, 1e3), min_size=S,
                                                   max_size=S))),
            "n_steps": data.draw(st.integers(0, 60)),
            "record": data.draw(st.sampled_from([("loss",), ("distance",), ("loss", "distance"),
                                                 ()])),
            "record_every": data.draw(st.integers(1, 5)),
            "divergence_factor": data.draw(st.sampled_from([1e12, 2.0, 1e300]))}
    which = pick_bad(data, list(args))
    if which in ("H", "e0", "steps"):
        args[which] = data.draw(st.one_of(corrupt(np.atleast_2d(args[which])), bad_scalar(),
                                          st.just(-args[which])))
    elif which == "record":
        args[which] = data.draw(st.sampled_from([("x",), None, 3]))
    elif which is not None:
        args[which] = data.draw(st.one_of(bad_scalar(), st.just(-1)))
    res = run(which is not None, nm.batched_gradient_descent, **args)
    if res is REFUSED:
        return
    for hist in (res.loss, res.distance):
        assert hist is None or finite(hist)
    assert np.all(host(res.diverged_at) >= -1)
    for q in ("loss", "distance"):
        tol = data.draw(st.one_of(pos_floats(1e-12, 1.0), bad_scalar()))
        out = attempt(nm.batched_steps_to_tolerance, res, tol, quantity=q)
        assert out is REFUSED or not np.any(np.isnan(out))
    assert attempt(nm.batched_steps_to_tolerance, data.draw(bad_scalar())) is REFUSED


# ----------------------------------------------------------------------------- attacks, bounds
@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_attacks(variant, data):
    m, d, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    W = data.draw(matrix(m, d, scale=(-2, 2)))
    Wt, C = nm.specdef(W, data.draw(pos_floats(1.0, 1e6)), data.draw(st.integers(1, min(m, d))))
    args = {"W_inflated": Wt, "C": C, "X": data.draw(matrix(d, n, scale=(-2, 2))),
            "Y": data.draw(matrix(m, n))}
    which = pick_bad(data, list(args))
    if which is not None:
        args[which] = data.draw(corrupt(args[which]))
    name = data.draw(st.sampled_from(sorted(nm.ATTACKS)))
    if name == "balanced_factorisation":
        args["n_factors"] = data.draw(st.integers(2, 4))
        if which is None and data.draw(st.booleans()):
            which = "n_factors"
            args["n_factors"] = data.draw(st.one_of(bad_scalar(), st.integers(-1, 1)))
    att = run(which is not None, nm.ATTACKS[name], **args)
    if att is REFUSED:
        return
    assert att.n_original > 0 and math.isfinite(att.overhead)
    if which is None:
        assert finite(att.theta0) and finite(att.weight(att.theta0))
        assert math.isfinite(float(host(att.model.loss(att.theta0))))


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_cross_block_bound(variant, data):
    p, q, s, t = (data.draw(st.integers(1, 4)) for _ in range(4))
    args = {"A": data.draw(matrix(p, q)), "B": data.draw(matrix(q, s)),
            "C": data.draw(matrix(s, t))}
    which = pick_bad(data, [*args, "variant"])
    variant_ = data.draw(st.sampled_from(nm.BOUND_VARIANTS))
    if which == "variant":
        variant_ = data.draw(st.sampled_from(["x", None, 3]))
    elif which is not None:
        args[which] = data.draw(corrupt(args[which]))
    res = run(which is not None, nm.cross_block_bound, args["A"], args["B"], args["C"], variant_)
    if res is REFUSED:
        return
    assert math.isfinite(res.value) and math.isfinite(res.sigma1_ABC)
    assert not math.isnan(res.ratio)
    terms = valid(nm.cross_block_terms, args["A"], args["B"], args["C"])
    assert np.all(np.isfinite(terms.cos1)) and np.all((0 <= terms.cos1) & (terms.cos1 <= 1))


# ----------------------------------------------------------------------------- theory
THEOREMS = theory.ids()
_INT_SCALES = ("int", "logint")


@st.composite
def theorem_value(draw, spec):
    """A parameter value: in the box, far outside it, an array, or malformed."""
    lo, hi, scale = (spec + ("lin",))[:3]
    kind = draw(st.sampled_from(["box", "box", "box", "wide", "array", "bad"]))
    if kind == "bad":
        return draw(bad_scalar())
    if kind == "wide":
        v = draw(st.one_of(pos_floats(1e-300, 1e300), st.floats(-1e3, 1e3),
                           st.integers(-5, 10**6)))
        return float(round(v)) if scale in _INT_SCALES and draw(st.booleans()) else v
    u = draw(st.floats(0, 1))
    if scale in ("log", "logint") and lo > 0:
        v = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    else:
        v = lo + u * (hi - lo)
    if scale in _INT_SCALES:
        v = float(round(v))
    if kind == "array":
        return np.full(draw(st.integers(0, 3)), v)
    return v


@pytest.mark.parametrize("theorem_id", THEOREMS)
@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_theorem_evaluate(theorem_id, variant, data):
    th = theory.get(theorem_id)
    params = {p: data.draw(theorem_value(th.box[p]), label=p) for p in th.parameters}
    if data.draw(st.integers(0, 9)) == 0:  # a missing or an unknown parameter
        if data.draw(st.booleans()):
            params.pop(th.parameters[0])
        else:
            params["not_a_parameter"] = 1.0
    out = attempt(th.evaluate, **params)
    if out is REFUSED:
        return
    assert no_nan(out), f"{theorem_id}: NaN for admissible {params}"
    if all(not hasattr(v, "shape") and not isinstance(v, (list, tuple)) for v in params.values()):
        mp = attempt(th.evaluate_mp, **params)
        assert mp is not REFUSED and not (hasattr(mp, "imag") and mp.imag != 0) \
            and not math.isnan(float(mp))
        assert attempt(th.check_assumptions, params) is None


@functools.lru_cache(maxsize=None)
def _admissible(theorem_id):
    """Admissible parameter points of a theorem (its own box sampler), with pointwise ``over``."""
    import sympy as sp
    from specdef.theory._check import sample_parameters

    th = theory.get(theorem_id)
    points = []
    for point in sample_parameters(th, 6):
        subs = {th.symbols[p]: sp.Float(v) for p, v in point.items()}
        for o in th.over:  # evaluate pointwise: each quantified variable at its lower limit
            point[o.name] = float(sp.sympify(o.lower).subs(subs))
            subs[o.symbol] = sp.Float(point[o.name])
        points.append(point)
    return points


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_theorem_violation(variant, data):
    th = theory.get(data.draw(st.sampled_from(THEOREMS)))
    point = dict(data.draw(st.sampled_from(_admissible(th.id))))
    if th.id.startswith("hessian_bound."):
        point["sigma1_ABC"] = data.draw(pos_floats(1e-3, 1e3))
    bad = data.draw(st.integers(0, 19)) != 0  # mostly malformed: a valid call is slow (mpmath)
    if bad:
        key = data.draw(st.sampled_from(list(point) + ["missing"]))
        if key == "missing":
            point.pop(th.parameters[0])
        else:
            point[key] = data.draw(bad_scalar())
        if data.draw(st.integers(0, 9)) == 0:
            point = data.draw(st.sampled_from([None, 3, "x", [1.0]]))
    out = run(bad, th.violation, point)
    assert out is REFUSED or not math.isnan(out)


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_theory_helpers(variant, data):
    import mpmath
    import sympy as sp

    anything = st.one_of(bad_scalar(), st.text(max_size=6), st.sampled_from(
        [sp.Symbol("x", positive=True) ** 2, sp.Symbol("y") - 1, sp.Rational(1, 2), sp.nan]))
    tid = data.draw(st.one_of(st.sampled_from(THEOREMS), st.text(max_size=12), bad_scalar()))
    th = attempt(theory.get, tid)
    assert (th is REFUSED) == (tid not in THEOREMS if isinstance(tid, str) else True)
    if th is not REFUSED:
        factor = data.draw(st.one_of(pos_floats(0.5, 2.0), bad_scalar()))
        th2 = attempt(th.with_bound, factor)
        assert th2 is REFUSED or th2.id == th.id
    out = attempt(theory.certify_nonnegative, data.draw(anything),
                  data.draw(st.one_of(st.none(), st.just({}), bad_scalar())))
    assert out is REFUSED or isinstance(out, bool)
    attempt(theory.ceiling_steps, data.draw(anything), data.draw(anything))
    attempt(theory.require, "a", data.draw(st.one_of(st.text(max_size=8), anything)),
            data.draw(st.sampled_from([{"x": sp.Symbol("x")}, None, 3])))
    a = attempt(theory.require_integer, "n", "n", data.draw(st.integers(-2, 2)))
    if a is not REFUSED:
        v = attempt(a.holds, data.draw(st.one_of(st.just({}), st.builds(
            dict, n=st.one_of(st.floats(-5, 5), bad_scalar())))))
        assert v is REFUSED or np.asarray(v).dtype == bool
    attempt(theory.Verdict, data.draw(st.one_of(st.sampled_from(["proved", "refuted",
                                                                 "unproven"]), st.text())), "m",
            "d")
    attempt(theory.register, data.draw(st.one_of(st.text(max_size=10), st.just("a.b"))))
    r1, r2 = data.draw(st.integers(-1, 3)), data.draw(st.integers(-1, 3))
    mats = [mpmath.matrix(np.random.default_rng(data.draw(SEEDS)).standard_normal((2, 2)).tolist())
            for _ in range(3)]
    if data.draw(st.booleans()):
        mats[data.draw(st.integers(0, 2))] = data.draw(st.sampled_from(
            [np.eye(2), None, mpmath.matrix(3, 3)]))
    out = attempt(theory.theorem3_scalars, *mats, r1, r2)
    assert out is REFUSED or not any(math.isnan(float(v)) for v in out.values())
    attempt(theory.prove_tight_by_convexity, data.draw(st.sampled_from([None, 3, "x"])))


# ----------------------------------------------------------------------------- results files
def _json_containers(children: st.SearchStrategy) -> st.SearchStrategy:
    """Lists and objects of ``children`` (a named function: Hypothesis's check that ``extend``
    uses its argument misreads a multi-line lambda)."""
    keys = st.sampled_from(["check", "status", "theorem", "params", "empirical", "proven",
                            "rtol", "meta", "results", "completed", "detail", "x"])
    return st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=6)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False,
                                                                 allow_infinity=False)
    | st.text(max_size=5) | st.sampled_from(["inf", "-inf", "TIGHT", "HOLDS", "holds"]),
    _json_containers, max_leaves=12)


@st.composite
def results_docs(draw):
    """A results document: a valid one, mutated, or arbitrary JSON, or broken text."""
    rec = {"check": "c.one", "theorem": "t", "params": {"a": 1.0}, "empirical": 1.0,
           "proven": 1.0, "rtol": 1e-8, "status": "TIGHT", "expectation": "holds", "detail": "",
           "data": {}, "instance": None, "seed": 0, "backend": "numpy", "dtype": "float64",
           "version": "0", "elapsed_s": 0.1}
    doc = {"meta": {"backend": "numpy"}, "completed": ["c.one"], "results": [rec]}
    kind = draw(st.sampled_from(["valid", "mutate", "mutate", "json", "text"]))
    if kind == "json":
        return json.dumps(draw(json_values))
    if kind == "text":
        return draw(st.sampled_from(["", "{", "NaN", '{"meta": {}, "results": [NaN]}', "\x00",
                                     "[" * 5000 + "]" * 5000]))
    if kind == "mutate":
        target = draw(st.sampled_from(["doc", "rec"]))
        key = draw(st.sampled_from(sorted(doc if target == "doc" else rec)))
        value = draw(json_values)
        (doc if target == "doc" else rec)[key] = value
        if draw(st.booleans()):
            (doc if target == "doc" else rec).pop(key)
    return json.dumps(doc)


@VARIANTS
@FUZZ
@given(data=st.data())
def test_fuzz_load_results(variant, data, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "results.json"
    path.write_text(data.draw(results_docs()), encoding="utf-8")
    try:
        doc = load_results(path)
    except ResultsFileError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    # whatever loads must be usable by --resume: records rebuild, print and re-serialise
    for r in doc["results"]:
        res = Result.from_dict(r)
        assert res.status in Status.ALL
        json.dumps(res.to_dict(), allow_nan=False)
        assert isinstance(res.detail[:70], str)
    assert all(isinstance(c, str) for c in doc["completed"])
