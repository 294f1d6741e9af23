"""The GPU path of the number formats, exercised on the CPU.

On CuPy (and ``array_api_strict``) values are rounded to a format by float64 arithmetic alone
(``numerics._formats._round_generic``: ``rint(x/q)·q`` with the format's quantum ``q``); on NumPy by
an ``ml_dtypes`` cast.  ``rounding="generic"`` runs the arithmetic kernel on NumPy, so the code
CuPy runs is checked here, bit for bit:

* against ``ml_dtypes`` and the integer-arithmetic reference of ``test_formats.py`` — on
  Hypothesis-drawn values and on every code of the 8- and 16-bit formats with the midpoints
  between neighbours (the ties) and the float64 values next to them;
* through the whole ``_lowprec`` pipeline (forward pass, preservation error, gradients, GD and
  AdamW steps, stall thresholds) against the ``ml_dtypes`` pipeline, per format and model;
* on every backend of ``conftest.py`` (NumPy, ``array_api_strict``, CuPy with a GPU: marker
  ``gpu``) against NumPy.  Across backends the instances have small-integer entries, so that
  every float32 accumulation is exact in any summation order and the results cannot depend on
  the BLAS; only the preservation error's norms (an SVD) are compared within a tolerance.

Planted errors (half away from zero instead of half to even, rounding through float32 first,
inf instead of NaN for float8_e4m3fn) must be caught by the same comparisons.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings

from specdef import numerics as nx
from specdef.numerics import InputError, backend_name, get_namespace, to_host
from specdef.numerics._formats import _round_generic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_formats import FORMATS, bits_to_float, format_values, reference_bits  # noqa: E402

SMALL = ("bfloat16", "float16", "float8_e4m3fn", "float8_e5m2")
UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32}


# ----------------------------------------------------------------------------- helpers
def _mismatches(got, want) -> np.ndarray:
    """Mask of entries whose float64 bits differ (any NaN equals any NaN: its sign is no data)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    same = (got.view(np.uint64) == want.view(np.uint64)) | (np.isnan(got) & np.isnan(want))
    return ~same


def _cast(x: np.ndarray, name: str) -> np.ndarray:
    """The ml_dtypes rounding (the NumPy default path)."""
    return nx.round_to_format(x, name)


def _edge_values(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Values at every place where rounding can go wrong, and the mask of the exact ties.

    Every finite value of an 8/16-bit format (a seeded sample of codes for float32), the
    midpoint to its upper neighbour (a tie), the float64 values next to each midpoint, the
    values around the overflow threshold (its tie ``max + ulp(max)/2`` included), ±0, ±inf,
    NaN and float64's extremes; both signs.
    """
    f = nx.number_format(name)
    if f.bits <= 16:
        codes = np.arange(2**f.bits, dtype=np.uint64).astype(UINT[f.bits])
    else:
        rng = np.random.default_rng(15)
        codes = rng.integers(0, 2**32, 2**14, dtype=np.uint64).astype(np.uint32)
        codes = np.concatenate([codes, np.array([0, 1, 2, 0x007FFFFF, 0x00800000, 0x7F7FFFFE,
                                                 0x7F7FFFFF], dtype=np.uint32)])
    with np.errstate(invalid="ignore"):  # the NaN codes
        v = codes.view(f.dtype).astype(np.float64)
    v = np.unique(np.abs(v[np.isfinite(v)]))
    v = v[v < f.max]
    up = (np.nextafter(v.astype(np.float32), np.float32(np.inf)).astype(np.float64)
          if name == "float32" else np.append(v[1:], f.max))
    mid = (v + up) / 2  # exact: both have at most 24 significant bits
    ulp_max = float(nx.ulp(np.array([f.max]), name)[0])
    over = f.max + ulp_max * np.arange(1, 9) / 4  # ..., the tie max + ulp/2, ..., max + 2 ulp
    parts = [(v, False), (mid, True), (np.nextafter(mid, 0.0), False),
             (np.nextafter(mid, np.inf), False), (over, over == f.max + ulp_max / 2),
             (np.array([np.inf, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]),
              False)]
    pos = np.concatenate([p for p, _ in parts])
    tie = np.concatenate([np.broadcast_to(t, p.shape) for p, t in parts])
    x = np.concatenate([pos, -pos, [0.0, -0.0, np.nan, -np.nan]])
    return x, np.concatenate([tie, tie, [False] * 4])


# ----------------------------------------------------------------------------- the kernel
@settings(max_examples=300)
@given(format_values())
@example(("float16", 65520.0)).via("max + ulp/2 is a tie that rounds to inf")
@example(("float8_e4m3fn", 464.0)).via("tie between 448 and the NaN code: to 448")
@example(("float8_e4m3fn", -465.0)).via("beyond: NaN")
@example(("float8_e5m2", 61440.0)).via("max + ulp/2 of e5m2: to inf")
@example(("bfloat16", 1.0 + 2.0**-8)).via("tie to even: 1")
@example(("bfloat16", 1.0 + 3 * 2.0**-8)).via("tie to even: up")
@example(("float16", 2.0**-25)).via("half the smallest subnormal: to 0")
@example(("float16", -3 * 2.0**-26)).via("above half: the smallest subnormal")
@example(("float32", 5e-324)).via("float64's smallest subnormal: to +0")
@example(("bfloat16", -1.7976931348623157e308)).via("float64's max: -inf")
@example(("float8_e5m2", -0.0)).via("negative zero")
@example(("float16", -math.inf)).via("-inf")
@example(("float8_e4m3fn", math.inf)).via("inf has no code in e4m3fn: NaN")
@example(("bfloat16", math.nan)).via("NaN")
def test_generic_kernel_matches_ml_dtypes_and_the_integer_reference(case):
    name, x = case
    got = nx.round_to_format(np.array([x]), name, rounding="generic")
    assert not _mismatches(got, _cast(np.array([x]), name)).any(), (name, x)
    want = reference_bits(x, name)
    if want is None:
        assert math.isnan(got[0])
    else:
        ref = bits_to_float(want, name)
        assert got[0] == ref and math.copysign(1, got[0]) == math.copysign(1, ref), (name, x)


@pytest.mark.parametrize("name", FORMATS)
def test_generic_kernel_on_every_code_tie_and_neighbour(name):
    x, tie = _edge_values(name)
    got = nx.round_to_format(x, name, rounding="generic")
    bad = _mismatches(got, _cast(x, name))
    assert not bad.any(), (x[bad][:5], got[bad][:5])
    assert tie.sum() > 100  # the ties are there
    if nx.number_format(name).bits == 8:  # small enough for the integer reference on all
        ref = np.array([math.nan if (b := reference_bits(float(v), name)) is None
                        else bits_to_float(b, name) for v in x])
        assert not _mismatches(got, ref).any()


def test_default_rounding_on_numpy_is_the_ml_dtypes_cast():
    x, _ = _edge_values("bfloat16")
    with np.errstate(over="ignore"):
        cast = x.astype(nx.number_format("bf16").dtype).astype(np.float64)
    assert not _mismatches(nx.round_to_format(x, "bf16"), cast).any()
    assert nx.round_to_format(x, "float64", rounding="generic") is not x  # a copy, as before


# ----------------------------------------------------------------------------- planted errors
class _HalfAwayFromZero:
    """NumPy, except that ``rint`` rounds halves away from zero (the planted error)."""

    def __getattr__(self, attr):
        return getattr(np, attr)

    @staticmethod
    def rint(x):
        t = np.trunc(x)
        return np.where(np.abs(x - t) == 0.5, t + np.sign(x), np.rint(x))


@pytest.mark.parametrize("name", FORMATS)
def test_planted_half_away_from_zero_is_caught_at_the_ties(name):
    f = nx.number_format(name)
    x, tie = _edge_values(name)
    want = _cast(x, name)
    assert not _mismatches(_round_generic(np, x, f), want).any()
    bad = _mismatches(_round_generic(_HalfAwayFromZero(), x, f), want)
    assert bad.sum() > 10  # caught ...
    assert tie[bad].all()  # ... exactly at ties (those whose lower neighbour is even)


@pytest.mark.parametrize("name", ["bfloat16", "float16", "float8_e5m2"])
def test_planted_double_rounding_through_float32_is_caught(name):
    """What a float64 → float32 → format conversion would do (CuPy's astype may)."""
    f = nx.number_format(name)
    x, _ = _edge_values(name)
    with np.errstate(over="ignore"):
        twice = _round_generic(np, x.astype(np.float32).astype(np.float64), f)
    assert _mismatches(twice, _cast(x, name)).sum() > 10


def test_planted_inf_instead_of_nan_for_e4m3fn_is_caught():
    f = nx.number_format("float8_e4m3fn")
    x, _ = _edge_values(f.name)
    wrong = _round_generic(np, x, dataclasses.replace(f, overflow="inf"))
    bad = _mismatches(wrong, _cast(x, f.name))
    assert bad.any() and np.all(np.abs(x[bad]) > 464)


# ----------------------------------------------------------------------------- the pipeline
def _instance(seed: int, m: int = 4, n: int = 8, b: int = 16):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n)) / np.sqrt(n)
    W /= np.linalg.norm(W, 2)
    X = rng.standard_normal((n, b))
    Y = (W + 0.1 * rng.standard_normal((m, n))) @ X
    return W, X, Y


def _same(x, y) -> bool:
    return not _mismatches(to_host(x), to_host(y)).any()


def _pipeline(W, Wt, C, X, Y, a) -> dict:
    """Everything _lowprec computes on one instance, as host values."""
    out = {"forward": to_host(nx.specdef_forward(Wt, C, X, a)),
           "preservation": nx.preservation_error(W, Wt, C, X, a)}
    G_W, G_C = nx.specdef_gradient(Wt, C, X, Y, a)
    out["G_W"], out["G_C"] = to_host(G_W), to_host(G_C)
    if not np.all(np.isfinite(out["G_W"])):  # overflowed (float8 at large α): no step to take
        return out
    for rule in (nx.gd_rule(), nx.adamw_rule(weight_decay=2.0**-4)):
        state = None
        for k, lr in enumerate((2.0**-6, 0.1)):  # two steps: the AdamW state is carried
            W1, state = nx.update_step(Wt, G_W, lr, rule, a, state)
            out[f"{rule.name}_W{k}"] = to_host(W1)
        if rule.name == "adamw":
            out["adamw_m"], out["adamw_v"] = to_host(state["m"]), to_host(state["v"])
        out[f"{rule.name}_stall"] = nx.stall_threshold(Wt, G_W, rule, a)
    return out


def _assert_same(got: dict, want: dict, skip=()) -> None:
    assert got.keys() == want.keys()
    for k, value in got.items():
        if k not in skip:
            assert _same(value, want[k]), k


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("model", nx.MODELS)
def test_pipeline_with_the_generic_kernel_is_bit_identical_to_ml_dtypes(name, model):
    W, X, Y = _instance(7)
    cast = nx.arithmetic(name, model)
    gen = nx.arithmetic(name, model, rounding="generic")
    for alpha in (1.0, 2.0**6, 1e4):
        Wt, C = nx.specdef(W, alpha, 2)
        _assert_same(_pipeline(W, Wt, C, X, Y, gen), _pipeline(W, Wt, C, X, Y, cast))


def test_pipeline_comparison_catches_a_one_ulp_change():
    """The planted error of the pipeline test: one stored weight one ulp off is a mismatch."""
    W, X, Y = _instance(7)
    Wt, C = nx.specdef(W, 2.0**6, 2)
    a = nx.arithmetic("bf16", "mixed")
    want = _pipeline(W, Wt, C, X, Y, a)
    got = dict(want, gd_W0=want["gd_W0"].copy())
    got["gd_W0"][0, 0] += float(nx.ulp(got["gd_W0"][:1, :1], "bf16")[0, 0])
    with pytest.raises(AssertionError, match="gd_W0"):
        _assert_same(got, want)


# ----------------------------------------------------------------------------- every backend
def _grid_instance(seed: int = 3, m: int = 4, n: int = 8, b: int = 8):
    """Small integers: every product and partial sum below is an integer < 2^24 (exact in
    float32 whatever the summation order), and b is a power of two (exact division)."""
    rng = np.random.default_rng(seed)
    Wt = rng.integers(-3, 4, (m, n)).astype(np.float64)
    C = rng.integers(-2, 3, (m, m)).astype(np.float64)
    X = rng.integers(-2, 3, (n, b)).astype(np.float64)
    Y = rng.integers(-8, 9, (m, b)).astype(np.float64)
    return C @ Wt, Wt, C, X, Y  # W = C W̃: function-preserving in exact arithmetic


@pytest.mark.parametrize("name", FORMATS)
def test_rounding_kernel_on_every_backend_matches_numpy(xp, name):
    x, _ = _edge_values(name)
    got = nx.round_to_format(xp.asarray(x), name, rounding="generic")
    assert backend_name(get_namespace(got)) == backend_name(xp)
    bad = _mismatches(to_host(got), _cast(x, name))
    assert not bad.any(), (x[bad][:5], to_host(got)[bad][:5])


@pytest.mark.parametrize("name", ["bfloat16", "float16"])
@pytest.mark.parametrize("model", nx.MODELS)
def test_lowprec_kernels_on_every_backend_match_numpy(xp, name, model):
    backend = backend_name(xp)
    a = nx.arithmetic(name, model, backend=backend, rounding="generic")
    host = _grid_instance()
    got = _pipeline(*(xp.asarray(M) for M in host), a)
    want = _pipeline(*host, nx.arithmetic(name, model))
    _assert_same(got, want, skip=("preservation",))
    # the one quantity that goes through a factorisation (‖W‖₂ by an SVD): float64 tolerance
    rtol = 4 * math.sqrt(float(np.finfo(np.float64).eps))
    assert math.isclose(got["preservation"], want["preservation"], rel_tol=rtol)
    assert isinstance(got["preservation"], float) and isinstance(got["gd_stall"], float)


def test_a_format_name_runs_on_the_inputs_backend(xp):
    _, Wt, C, X, _ = _grid_instance()
    out = nx.specdef_forward(xp.asarray(Wt), xp.asarray(C), xp.asarray(X), "bf16")
    assert backend_name(get_namespace(out)) == backend_name(xp)
    assert _same(out, nx.specdef_forward(Wt, C, X, "bf16"))


# ----------------------------------------------------------------------------- interface
def test_existing_constructors_and_defaults_are_unchanged():
    f = nx.number_format("bf16")
    a = nx.Arithmetic(f, "pure")
    assert (a.backend, a.rounding) == ("numpy", "auto") and a == nx.arithmetic("bf16", "pure")
    assert repr(a) == "Arithmetic('bfloat16', 'pure')"
    b = nx.arithmetic(a, rounding="generic")
    assert b.rounding == "generic" and b.format == f and nx.arithmetic(a) is a
    assert isinstance(a.store(np.ones((2, 2))), np.ndarray)


@pytest.mark.parametrize("call, text", [
    (lambda: nx.round_to_format(np.ones(2), "bf16", rounding="nearest"),
     "round_to_format: rounding must be one of"),
    (lambda: nx.arithmetic("bf16", "pure", backend="tpu"), "arithmetic: backend must be one of"),
    (lambda: nx.arithmetic("bf16", "pure", rounding="up"), "arithmetic: rounding must be one of"),
    (lambda: nx.round_to_format(_strict().asarray([1.0]), "bf16", xp=np),
     ("round_to_format: x is an array of array_api_strict but the namespace asked for is "
      "numpy")),
    (lambda: nx.round_to_format(_strict().asarray([True]), "bf16"),
     "round_to_format: x must be real numbers"),
    (lambda: nx.specdef_forward(_strict().asarray(np.eye(2)), np.eye(2), np.ones((2, 3)),
                                nx.arithmetic("bf16")),
     ("specdef_forward: W_inflated is an array of array_api_strict but the arithmetic runs "
      "on numpy")),
])
def test_bad_input_raises_one_line_input_error(call, text):
    with pytest.raises(InputError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(text) and "\n" not in msg


def _strict():
    return pytest.importorskip("array_api_strict")
