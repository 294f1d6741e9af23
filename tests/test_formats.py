"""Number formats: rounding against an independent bit-level implementation, format facts, ulp,
the pure and mixed arithmetic models, function preservation, update steps and stall thresholds.

The reference rounding below is written from the formats' definitions with integer arithmetic
only (no ml_dtypes, no NumPy casts): a float64 is split exactly into an integer significand and a
power of two, divided by the format's quantum at that exponent, rounded half to even on
integers, and packed into the format's sign / exponent / fraction bits, which are compared with
the bits NumPy stores.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from specdef import numerics as nx
from specdef.numerics import InputError

LOW = ("bfloat16", "float16", "float8_e4m3fn", "float8_e5m2")
FORMATS = ("float32",) + LOW
# (total bits, exponent bits, significand bits p with the hidden bit, has inf)
LAYOUT = {"float32": (32, 8, 24, True), "bfloat16": (16, 8, 8, True), "float16": (16, 5, 11, True),
          "float8_e4m3fn": (8, 4, 4, False), "float8_e5m2": (8, 5, 3, True)}


# ----------------------------------------------------------------------------- reference
def reference_bits(x: float, name: str) -> int | None:
    """Bits of round-to-nearest-even(x) in the format, by integer arithmetic; None for NaN."""
    bits, wexp, p, has_inf = LAYOUT[name]
    bias = 2 ** (wexp - 1) - 1
    emin = 1 - bias
    sign = 1 if math.copysign(1.0, x) < 0 else 0
    top = (1 << (bits - 1))
    if math.isnan(x):
        return None
    if math.isinf(x):
        return (top * sign) | (((1 << wexp) - 1) << (p - 1)) if has_inf else None
    num, den = Fraction(abs(x)).as_integer_ratio()  # exact
    if num == 0:
        return top * sign
    e = num.bit_length() - den.bit_length()  # 2^e <= num/den < 2^(e+1) after the fix below
    if Fraction(num, den) < Fraction(2) ** e:
        e -= 1
    q = Fraction(2) ** (max(e, emin) - p + 1)  # the quantum at that exponent
    ratio = Fraction(num, den) / q
    n, rem = divmod(ratio.numerator, ratio.denominator)
    twice = 2 * rem
    if twice > ratio.denominator or (twice == ratio.denominator and n % 2 == 1):
        n += 1  # round half to even, on integers
    exp = max(e, emin)
    if n == 1 << p:  # carried into the next binade
        n, exp = 1 << (p - 1), exp + 1
    # largest finite: IEEE formats reserve the top exponent; e4m3fn only S.1111.111 (NaN)
    emax = bias if has_inf else bias + 1
    max_n = (1 << p) - 1 if has_inf else (1 << p) - 2
    if exp > emax or (exp == emax and n > max_n):
        return (top * sign) | (((1 << wexp) - 1) << (p - 1)) if has_inf else None
    if n < 1 << (p - 1):  # subnormal (or zero): exponent field 0
        return (top * sign) | n
    return (top * sign) | ((exp + bias) << (p - 1)) | (n - (1 << (p - 1)))


def stored_bits(x: float, name: str) -> int | None:
    f = nx.number_format(name)
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.array([x], dtype=np.float64).astype(f.dtype)
    if np.isnan(a.astype(np.float64))[0]:
        return None
    return int(a.view({8: np.uint8, 16: np.uint16, 32: np.uint32}[f.bits])[0])


def bits_to_float(b: int, name: str) -> float:
    f = nx.number_format(name)
    arr = np.array([b], dtype={8: np.uint8, 16: np.uint16, 32: np.uint32}[f.bits]).view(f.dtype)
    return float(arr.astype(np.float64)[0])


def _check(x: float, name: str) -> None:
    want = reference_bits(x, name)
    assert stored_bits(x, name) == want, (x, name)
    got = float(nx.round_to_format(np.array([x]), name)[0])
    if want is None:
        assert math.isnan(got)
    else:
        assert got == bits_to_float(want, name) and math.copysign(1, got) == math.copysign(
            1, bits_to_float(want, name))


@st.composite
def format_values(draw):
    """Values at the interesting places of a format: ties, subnormals, overflow, anywhere."""
    name = draw(st.sampled_from(FORMATS))
    f = nx.number_format(name)
    p, emin = f.precision, f.min_exponent
    kind = draw(st.sampled_from(["any", "tie", "near_tie", "subnormal", "overflow", "normal"]))
    sign = draw(st.sampled_from([1.0, -1.0]))
    emax = int(math.frexp(f.max)[1]) - 1
    if kind == "any":
        x = draw(st.floats(allow_nan=True, allow_infinity=True, width=64))
        return name, x
    if kind in ("tie", "near_tie"):
        e = draw(st.integers(emin - 1, emax))
        e = max(e, emin)
        n = draw(st.integers(0 if e == emin else 1 << (p - 1), (1 << p) - 1))
        x = (n + 0.5) * 2.0 ** (e - p + 1)  # exact in float64: p <= 24
        if kind == "near_tie":
            x = math.nextafter(x, draw(st.sampled_from([0.0, math.inf])))
        return name, sign * x
    if kind == "subnormal":
        k = draw(st.integers(0, 4 << (p - 1)))
        return name, sign * k * f.smallest_subnormal / 4
    if kind == "overflow":
        ulp_max = 2.0 ** (emax - p + 1)
        off = draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 1e6]))
        return name, sign * (f.max + off * ulp_max)
    e = draw(st.integers(emin - p - 2, emax + 1))
    return name, sign * draw(st.floats(1.0, 2.0, exclude_max=True)) * 2.0 ** e


@settings(max_examples=600)
@given(format_values())
@example(("float16", 65520.0)).via("max + ulp/2 is a tie that rounds to inf")
@example(("float8_e4m3fn", 464.0)).via("tie between 448 and the NaN code: to 448")
@example(("float8_e4m3fn", 465.0)).via("beyond: NaN")
@example(("bfloat16", 1.0 + 2.0**-8)).via("tie to even: 1")
@example(("bfloat16", 1.0 + 3 * 2.0**-8)).via("tie to even: up")
@example(("float16", 2.0**-25)).via("half the smallest subnormal: to 0")
@example(("float16", 3 * 2.0**-26)).via("above half: smallest subnormal")
@example(("float8_e5m2", -0.0)).via("negative zero")
def test_rounding_matches_the_bit_level_reference(case):
    _check(case[1], case[0])


def test_reference_reproduces_known_encodings():
    assert reference_bits(1.0, "bfloat16") == 0x3F80
    assert reference_bits(65504.0, "float16") == 0x7BFF
    assert reference_bits(448.0, "float8_e4m3fn") == 0x7E
    assert reference_bits(57344.0, "float8_e5m2") == 0x7B
    assert reference_bits(2.0**-9, "float8_e4m3fn") == 0x01
    assert reference_bits(1e9, "float8_e4m3fn") is None


# ----------------------------------------------------------------------------- facts, ulp
@pytest.mark.parametrize("name, u, normal, subnormal, top", [
    ("bfloat16", 2.0**-8, 1.1754943508222875e-38, 9.183549615799121e-41, 3.3895313892515355e+38),
    ("float16", 2.0**-11, 6.103515625e-05, 5.960464477539063e-08, 65504.0),
    ("float32", 2.0**-24, 1.1754943508222875e-38, 1.401298464324817e-45, 3.4028234663852886e+38),
    ("float8_e4m3fn", 2.0**-4, 0.015625, 0.001953125, 448.0),
    ("float8_e5m2", 2.0**-3, 6.103515625e-05, 1.52587890625e-05, 57344.0),
    ("float64", 2.0**-53, 2.2250738585072014e-308, 5e-324, 1.7976931348623157e+308),
])
def test_format_facts_are_the_known_values(name, u, normal, subnormal, top):
    f = nx.number_format(name)
    assert (f.unit_roundoff, f.smallest_normal, f.smallest_subnormal, f.max) == (
        u, normal, subnormal, top)
    assert f.smallest_subnormal == f.smallest_normal * 2.0 ** (1 - f.precision)


@pytest.mark.parametrize("alias, name", [("bf16", "bfloat16"), ("fp16", "float16"),
                                         ("float8-e4m3", "float8_e4m3fn"), ("e5m2", "float8_e5m2"),
                                         (np.float32, "float32")])
def test_aliases(alias, name):
    assert nx.number_format(alias).name == name


@settings(max_examples=300)
@given(st.sampled_from(FORMATS), st.data())
def test_ulp_is_the_gap_to_the_next_encoding(name, data):
    bits, wexp, p, has_inf = LAYOUT[name]
    top_code = ((1 << wexp) - 1) << (p - 1)  # first inf/NaN code
    limit = top_code - 1 if has_inf else top_code + (1 << (p - 1)) - 2
    b = data.draw(st.integers(0, limit - 1))
    x, nxt = bits_to_float(b, name), bits_to_float(b + 1, name)
    assert float(nx.ulp(np.array([x]), name)[0]) == nxt - x
    assert float(nx.ulp(np.array([-x]), name)[0]) == nxt - x


@pytest.mark.parametrize("name", FORMATS)
def test_absorbed_update_iff_below_half_ulp_with_ties_to_even(name):
    """w + δ rounds to w iff |δ| < ulp(w)/2, or |δ| = ulp(w)/2 and w's last bit is even."""
    f = nx.number_format(name)
    for w in (1.0, 1.0 + 2.0 ** (1 - f.precision), 1.5, 3.0 * 2.0**-3):
        h = float(nx.absorption_radius(np.array([w]), name)[0])
        assert h == float(nx.ulp(np.array([w]), name)[0]) / 2
        even = (reference_bits(w, name) & 1) == 0
        fl = lambda v: float(nx.round_to_format(np.array([v]), name)[0])  # noqa: E731
        assert fl(w + 0.999 * h) == w and fl(w + 1.001 * h) != w
        assert (fl(w + h) == w) == even


# ----------------------------------------------------------------------------- arithmetic models
def _layer(rng, m=8, n=16, b=64):
    W = rng.standard_normal((m, n)) / np.sqrt(n)
    W /= np.linalg.norm(W, 2)
    return W, rng.standard_normal((n, b))


def _c(m: int, r: int) -> float:
    return math.sqrt(r) + math.sqrt(m) + 3


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("model", nx.MODELS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_preservation_error_below_c_alpha_u(name, model, seed):
    rng = np.random.default_rng(seed)
    W, X = _layer(rng)
    u = nx.number_format(name).unit_roundoff
    for alpha in (1.0, 16.0, 100.0):
        Wt, C = nx.specdef(W, alpha, 2)
        err = nx.preservation_error(W, Wt, C, X, nx.arithmetic(name, model))
        assert err <= _c(8, 8) * alpha * u


@pytest.mark.parametrize("name", ["bfloat16", "float16"])
def test_preservation_error_grows_like_alpha(name):
    """The error/(α u) ratio is O(1) and the same at α = 10² and 10⁴ within a factor 3."""
    rng = np.random.default_rng(3)
    W, X = _layer(rng)
    u = nx.number_format(name).unit_roundoff
    ratios = []
    for alpha in (1e2, 1e4):
        Wt, C = nx.specdef(W, alpha, 2)
        ratios.append(nx.preservation_error(W, Wt, C, X, nx.arithmetic(name, "mixed")) / (alpha * u))
    assert 0.02 < ratios[0] < 1 and 1 / 3 < ratios[1] / ratios[0] < 3


def test_bfloat16_at_alpha_1e4_loses_the_whole_signal_and_e4m3_overflows():
    rng = np.random.default_rng(0)
    W, X = _layer(rng)
    Wt, C = nx.specdef(W, 1e4, 2)
    assert nx.preservation_error(W, Wt, C, X, nx.arithmetic("bf16", "mixed")) > 1
    assert nx.preservation_error(W, Wt, C, X, nx.arithmetic("e4m3", "pure")) == math.inf


def test_metamorphic_float64_alpha_one_and_float32_models_agree():
    rng = np.random.default_rng(4)
    W, X = _layer(rng)
    Wt, C = nx.specdef(W, 1.0, 2)
    assert nx.preservation_error(W, Wt, C, X, nx.arithmetic("float64")) < 1e-15
    Wt, C = nx.specdef(W, 1e3, 2)
    assert nx.preservation_error(W, Wt, C, X, nx.arithmetic("float32", "pure")) == \
        nx.preservation_error(W, Wt, C, X, nx.arithmetic("float32", "mixed"))


def test_pure_model_rounds_each_result_mixed_keeps_float32():
    a, b = nx.arithmetic("bf16", "pure"), nx.arithmetic("bf16", "mixed")
    x = np.array([1.0 + 2.0**-12])
    assert a.fl(x)[0] == 1.0 and b.fl(x)[0] == x[0] and b.store(x)[0] == 1.0
    assert a.op(np.add, np.array([256.0]), np.array([1.0]))[0] == 256.0
    assert b.op(np.add, np.array([256.0]), np.array([1.0]))[0] == 257.0


# ----------------------------------------------------------------------------- steps, stalls
def _stall_instance(alpha, seed=5, m=4, n=8, b=32):
    rng = np.random.default_rng(seed)
    W, X = _layer(rng, m, n, b)
    Y = (W + 0.1 * rng.standard_normal((m, n))) @ X
    Wt, C = nx.specdef(W, alpha, m)  # every direction inflated: C = I/alpha
    return Wt, C, X, Y


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("model", nx.MODELS)
@pytest.mark.parametrize("rule", ["gd", "adamw"])
def test_stall_threshold_is_half_an_ulp_over_the_direction(name, model, rule):
    a = nx.arithmetic(name, model)
    Wt, C, X, Y = _stall_instance(2.0**6)
    G, _ = nx.specdef_gradient(Wt, C, X, Y, a)
    r = nx.gd_rule() if rule == "gd" else nx.adamw_rule()
    D, _ = r.direction(a.fl(G), a.store(Wt), r.init(Wt), a)
    if not np.all(np.isfinite(D)):
        # pure low-precision Adam: g² underflows and eps = 1e-8 rounds to 0, so the first
        # direction is ±inf or NaN and every learning rate destroys the weight
        assert model == "pure" and rule == "adamw" and name in LOW
        assert nx.stall_threshold(Wt, G, r, a) == 0.0
        return
    with np.errstate(divide="ignore"):  # entries whose direction underflowed to 0 never move
        predicted = float(np.min(nx.absorption_radius(Wt, name) / np.abs(D)))
    measured = nx.stall_threshold(Wt, G, r, a)
    u = a.format.unit_roundoff
    tol = 3 * u + 2 * u * u if a.compute == a.format else 4 * a.compute.unit_roundoff / u
    assert abs(measured / predicted - 1) <= tol + 1e-6
    if name in ("bfloat16", "float16", "float32") and model == "mixed":  # planted 1 % error
        assert abs(measured / (1.01 * predicted) - 1) > tol + 1e-6


@pytest.mark.parametrize("name", ["bfloat16", "float16", "float32"])
def test_gd_threshold_scales_alpha_squared_adam_alpha(name):
    """For α a power of two (C = I/α): η*_GD(α) = α² η*_GD(1); Adam's (eps ≪ |g|) ∝ α."""
    a = nx.arithmetic(name, "mixed")
    out = {}
    for alpha in (1.0, 2.0**5):
        Wt, C, X, Y = _stall_instance(alpha)
        G, _ = nx.specdef_gradient(Wt, C, X, Y, a)
        out[alpha] = (nx.stall_threshold(Wt, G, nx.gd_rule(), a),
                      nx.stall_threshold(Wt, G, nx.adamw_rule(eps=0.0), a))
    tol = 8 * 2.0 ** (a.format.precision - 24)
    assert out[2.0**5][0] / out[1.0][0] / 2.0**10 == pytest.approx(1, rel=tol)
    assert out[2.0**5][1] / out[1.0][1] / 2.0**5 == pytest.approx(1, rel=tol)


def test_update_step_in_pure_float16_flushes_a_tiny_learning_rate():
    a = nx.arithmetic("fp16", "pure")
    W = np.array([[1.0, 2.0]])
    W1, _ = nx.update_step(W, np.array([[1.0, 1.0]]), 1e-9, nx.gd_rule(), a)  # fl16(1e-9) = 0
    assert np.array_equal(W1, W)
    W1, _ = nx.update_step(W, np.array([[1.0, 1.0]]), 0.25, nx.gd_rule(), a)
    assert np.array_equal(W1, [[0.75, 1.75]])


def test_adamw_first_step_moves_by_lr_whatever_the_gradient_scale():
    a = nx.arithmetic("float64")
    W = np.ones((2, 2))
    for scale in (1e-3, 1.0, 1e3):
        W1, state = nx.update_step(W, scale * np.ones((2, 2)), 1e-2, nx.adamw_rule(eps=0.0), a)
        assert np.allclose(W - W1, 1e-2, rtol=1e-12) and state["t"] == 1


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, text", [
    (lambda: nx.number_format("float12"), "number_format: fmt must be one of"),
    (lambda: nx.number_format(None), "number_format: fmt must be one of"),
    (lambda: nx.arithmetic("bf16", "autocast"), "arithmetic: model must be one of"),
    (lambda: nx.update_step(np.ones((2, 2)), np.ones((2, 3)), 0.1, nx.gd_rule(), "bf16"),
     "update_step: G must have W's shape"),
    (lambda: nx.update_step(np.ones((2, 2)), np.ones((2, 2)), -1.0, nx.gd_rule(), "bf16"),
     "update_step: lr must be finite and >= 0"),
    (lambda: nx.update_step(np.ones((2, 2)), np.ones((2, 2)), 0.1, "sgd", "bf16"),
     "update_step: rule must have init and direction"),
    (lambda: nx.stall_threshold(np.ones((2, 2)), np.ones((2, 2)), nx.gd_rule(), "bf16", lo=1.0,
                                hi=0.5), "stall_threshold: lo must be < hi"),
    (lambda: nx.adamw_rule(beta1=1.0), "adamw_rule: beta1 must be in [0, 1)"),
    (lambda: nx.preservation_error(np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 3)),
                                   np.ones((3, 4)), "bf16"), "preservation_error: C must be 2x2"),
    (lambda: nx.specdef_forward(np.ones((2, 3)), np.eye(2), np.ones((2, 4)), "bf16"),
     "specdef_forward: X must have 3 rows"),
    (lambda: nx.round_to_format(np.array(["a"]), "bf16"), "round_to_format: x must be real"),
    (lambda: nx.round_to_format(np.array([1j]), "bf16"), "round_to_format: x must be real"),
    (lambda: nx.round_to_format(np.array([True]), "bf16"), "round_to_format: x must be real"),
    (lambda: nx.round_to_format(np.array([object()]), "bf16"), "round_to_format: x must be real"),
])
def test_bad_input_raises_one_line_input_error(call, text):
    with pytest.raises(InputError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(text) and "\n" not in msg
