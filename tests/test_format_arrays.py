"""Optimisers and models in a number format (``numerics.FormatArray``, ``train_in_format``).

The reference is the hand-written low-precision arithmetic of ``numerics._lowprec`` (every
operation of the SpecDef forward pass, gradient and GD/AdamW steps rounded explicitly), an
implementation separate from the one under test, which runs the models' and optimisers' own
code on rounded operands: the two must agree bit for bit.  Tolerances are not needed where the
two compute the same rounded operations; elsewhere they come from the format.
"""

from __future__ import annotations

import math

import array_api_compat
import numpy as np
import pytest

from specdef import numerics as nx
from specdef.numerics import InputError

LOW = ("bfloat16", "float16", "float8_e4m3fn", "float8_e5m2")
MODELS = ("pure", "mixed")
XP = array_api_compat.array_namespace(np.empty(0))


def _layer(alpha: float = 16.0, seed: int = 0, m: int = 4, n: int = 8, b: int = 32):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n)) / 3
    X = rng.standard_normal((n, b))
    Y = (W + 0.1 * rng.standard_normal((m, n))) @ X
    return alpha * W, np.eye(m) / alpha, X, Y


def _vec(*mats):
    return np.concatenate([M.reshape(-1, order="F") for M in mats])


def _mlp(seed: int, widths: tuple, n: int, activation: str):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((o, i)) / math.sqrt(i) for i, o in zip(widths[:-1], widths[1:])]
    bs = [0.1 * rng.standard_normal(o) for o in widths[1:]]
    X = rng.standard_normal((widths[0], n))
    Y = rng.standard_normal((widths[-1], n))
    return nx.MLP(Ws, X, Y, activation=activation, biases=bs)


def _representable(x, fmt) -> bool:
    x = np.asarray(x.view(np.ndarray) if isinstance(x, nx.FormatArray) else x)
    return bool(np.array_equal(nx.round_to_format(x, fmt), x, equal_nan=True))


# ----------------------------------------------------------------------------- the array
@pytest.mark.parametrize("fmt", LOW + ("float32",))
@pytest.mark.parametrize("model", MODELS)
def test_every_operation_is_rounded_once_to_the_compute_format(fmt, model):
    a = nx.arithmetic(fmt, model)
    rng = np.random.default_rng(1)
    x, y = (nx.in_format(rng.standard_normal((3, 3)), a) for _ in range(2))
    X, Y = x.view(np.ndarray), y.view(np.ndarray)
    cases = {"add": (x + y, X + Y), "mul": (x * y, X * Y), "div": (x / y, X / Y),
             "sqrt": (np.sqrt(abs(x)), np.sqrt(abs(X))), "const": (0.1 * x, a.fl(0.1) * X)}
    for name, (got, exact) in cases.items():
        assert isinstance(got, nx.FormatArray), name
        assert np.array_equal(got.view(np.ndarray), a.fl(exact), equal_nan=True), name
    # products accumulate in float32 and are rounded once: Arithmetic.matmul
    assert np.array_equal((x @ y).view(np.ndarray), a.matmul(X, Y))
    assert np.array_equal(np.sum(x).view(np.ndarray) if isinstance(np.sum(x), np.ndarray)
                          else np.float64(np.sum(x)), a.fl(np.sum(X.astype(np.float32))))
    assert type(x < y) is np.ndarray and (x < y).dtype == bool  # comparisons are exact


def test_plain_operands_enter_rounded_and_arithmetics_do_not_mix():
    a = nx.arithmetic("bfloat16", "pure")
    x = nx.in_format(np.ones(2), a)
    assert np.array_equal((x * np.array([1 + 2.0**-12, 3.0])).view(np.ndarray), [1.0, 3.0])
    with pytest.raises(InputError, match="share one arithmetic"):
        _ = x + nx.in_format(np.ones(2), nx.arithmetic("float16", "pure"))


def test_library_routines_that_write_into_plain_arrays_see_them():
    # array_api_compat's clip fills a fresh plain array with copyto: it must be written, not a
    # rounded copy of it (a planted copy returns uninitialised memory)
    from specdef.numerics._format_arrays import _Namespace

    a = nx.arithmetic("float32", "mixed")
    x = nx.in_format(np.array([0.3, -2.0, 0.5]), a)
    assert np.array_equal(np.asarray(XP.clip(x, -1.0, 1.0)), a.fl(np.array([0.3, -1.0, 0.5])))
    got = _Namespace(XP, a).clip(x, -1.0, 1.0)  # the rules' namespace: back in the format
    assert isinstance(got, nx.FormatArray) and got.arith == a


def test_elements_methods_and_writes_stay_in_the_format():
    a = nx.arithmetic("bfloat16", "pure")
    x = nx.in_format(np.array([1.1, 2.2, 3.3]), a)
    X = x.view(np.ndarray)
    assert isinstance(x[0], nx.FormatArray) and float(x[0] * 0.1) == a.fl(X[0] * a.fl(0.1))
    for got, exact in ((x.mean(), np.mean(X.astype(np.float32))),
                       (x.sum(), np.sum(X.astype(np.float32))),
                       (x.dot(x), np.dot(X.astype(np.float32), X.astype(np.float32)))):
        assert isinstance(got, nx.FormatArray) and float(got) == float(a.fl(exact))
    y = x.copy()
    y[0] = 0.1
    assert _representable(y, "bfloat16") and y.view(np.ndarray)[0] == a.fl(0.1)
    np.add.at(y, [1], 0.01)
    assert _representable(y, "bfloat16")
    np.copyto(y, np.array([0.1, 0.2, 0.3]))
    assert _representable(y, "bfloat16")
    import pickle

    z = pickle.loads(pickle.dumps(x))
    assert z.arith == a and isinstance(z + 1, nx.FormatArray)
    # equal arithmetics are one arithmetic
    assert isinstance(x + nx.in_format(np.ones(3), nx.arithmetic("bfloat16", "pure")),
                      nx.FormatArray)
    with pytest.raises(InputError, match="no arithmetic"):
        _ = np.ones(3).view(nx.FormatArray) + 1.0


# ----------------------------------------------------------------------------- against _lowprec
@pytest.mark.parametrize("fmt", ("bfloat16", "float16", "float32"))
@pytest.mark.parametrize("model", MODELS)
def test_model_gradient_equals_the_hand_rounded_specdef_gradient(fmt, model):
    Wt, C, X, Y = _layer()
    a = nx.arithmetic(fmt, model)
    M = nx.SpecDefLayer(Wt, C, X, Y)
    got = M.grad(nx.in_format(a.store(M.theta0), a))
    GW, GC = nx.specdef_gradient(Wt, C, X, Y, a)
    assert np.array_equal(np.asarray(got.view(np.ndarray)), _vec(GW, GC))
    assert not np.array_equal(_vec(GW, GC), a.fl(M.grad(M.theta0))) or fmt == "float32"


@pytest.mark.parametrize("fmt", ("bfloat16", "float16", "float32"))
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("method, lr, rule, wd", [("gradient_descent", 0.37, nx.gd_rule, None),
                                                  ("adamw", 1e-3, nx.adamw_rule, 0.0),
                                                  ("adamw", 0.1, nx.adamw_rule, 0.7)])
def test_first_update_equals_the_hand_rounded_update_step(fmt, model, method, lr, rule, wd):
    Wt, C, X, Y = _layer()
    a = nx.arithmetic(fmt, model)
    M = nx.SpecDefLayer(Wt, C, X, Y)
    opts = {} if wd is None else {"weight_decay": wd}  # decay: fl(fl(λ)·θ), θ in the format
    res = nx.train_in_format(M, M.theta0, method, lr, fmt, arithmetic=model, max_steps=1,
                             tol=1e-300, **opts)
    GW, GC = nx.specdef_gradient(Wt, C, X, Y, a)
    W1, _ = nx.update_step(Wt, GW, lr, rule(**opts), a)
    C1, _ = nx.update_step(C, GC, lr, rule(**opts), a)
    if fmt == "float16" and model == "pure" and method == "adamw":
        assert res.status == "diverged"  # g² underflows in float16: the step is ±inf
        assert not np.all(np.isfinite(W1))
        return
    assert res.steps == 1 and np.array_equal(res.theta, _vec(W1, C1))
    assert res.params["format"] == fmt and res.params["arithmetic"] == model


def test_first_step_threshold_equals_the_hand_kernel_stall_threshold():
    Wt, C, X, Y = _layer()
    a = nx.arithmetic("bfloat16", "mixed")
    M = nx.SpecDefLayer(Wt, C, X, Y)
    GW, _ = nx.specdef_gradient(Wt, C, X, Y, a)
    want = nx.stall_threshold(Wt, GW, nx.gd_rule(), a, rtol=1e-10)
    got = nx.first_step_threshold(M, M.theta0, "gradient_descent", "bfloat16",
                                  arithmetic="mixed", train=("W",), rtol=1e-10)
    assert got == pytest.approx(want, rel=3e-10)


# ----------------------------------------------------------------------------- every optimiser
OPTIMISERS = [("gradient_descent", 1e-2, {}), ("sgd_momentum", 1e-2, {"nesterov": True}),
              ("adam", 1e-3, {}), ("adamw", 1e-3, {}), ("muon", 1e-3, {}),
              ("muon", 1e-3, {"polar": "svd"}), ("sophia", 1e-3, {}),
              ("sophia", 1e-3, {"estimator": "gnb"}), ("adahessian", 1e-3, {})]


@pytest.mark.parametrize("method, lr, opts", OPTIMISERS)
@pytest.mark.parametrize("fmt", ("bfloat16", "float16", "float8_e4m3fn"))
def test_every_optimiser_runs_in_every_format_on_the_mlp(method, lr, opts, fmt):
    net = _mlp(3, (4, 6, 3), 16, "tanh")
    res = nx.train_in_format(net, net.theta0, method, lr, fmt, arithmetic="mixed",
                             max_steps=5, tol=1e-300, **opts)
    assert res.status in ("max_steps", "stalled", "diverged")
    assert _representable(res.theta, fmt)  # the stored weights are values of the format
    ref = nx.train_in_format(net, net.theta0, method, lr, "float64", arithmetic="pure",
                             max_steps=5, tol=1e-300, **opts)
    assert ref.status == "max_steps" and ref.loss[-1] < ref.loss[0]


@pytest.mark.parametrize("method, lr, opts", OPTIMISERS[:3])
def test_float64_format_is_the_float64_optimiser(method, lr, opts):
    net = _mlp(4, (3, 5, 2), 12, "gelu")
    got = nx.train_in_format(net, net.theta0, method, lr, "float64", arithmetic="pure",
                             max_steps=4, tol=1e-300, **opts)
    want = getattr(nx, method)(net, net.theta0, lr, max_steps=4, tol=1e-300, **opts)
    assert np.array_equal(got.theta, want.theta) and np.array_equal(got.loss, want.loss)


def test_mlp_gradient_in_bfloat16_is_rounded_inside_not_only_at_the_end():
    net = _mlp(5, (4, 8, 3), 32, "tanh")
    a = nx.arithmetic("bfloat16", "pure")
    theta = a.store(net.theta0)
    g = np.asarray(net.grad(nx.in_format(theta, a)).view(np.ndarray))
    g64 = net.grad(theta)
    assert _representable(g, "bfloat16")
    assert not np.array_equal(g, a.fl(g64))  # intermediate results were rounded too


@pytest.mark.parametrize("method, opts, power", [("gradient_descent", {}, 2),
                                                 ("adam", {"eps": 1e-30}, 1),
                                                 ("adahessian", {"eps": 1e-30}, 0)])
def test_stall_threshold_scales_with_the_family_power_of_alpha(method, opts, power):
    etas = []
    for j in (0, 3):
        M = nx.SpecDefLayer(*_layer(alpha=2.0**j))
        etas.append(nx.first_step_threshold(M, M.theta0, method, "bfloat16",
                                            arithmetic="mixed", train=("W",), **opts))
    assert etas[1] / etas[0] == pytest.approx(2.0 ** (3 * power), rel=4e-9)


def test_pure_float16_adam_first_step_is_not_finite():
    M = nx.SpecDefLayer(*_layer())
    got = nx.first_step_threshold(M, M.theta0, "adam", "float16", arithmetic="pure",
                                  train=("W",))
    assert math.isnan(got)


def test_a_tiny_learning_rate_stalls_in_pure_bfloat16():
    M = nx.SpecDefLayer(*_layer(alpha=256.0))
    res = nx.train_in_format(M, M.theta0, "gradient_descent", 1e-6, "bfloat16",
                             arithmetic="pure", max_steps=10, train=("W",))
    assert res.status == "stalled" and res.steps == 0


def test_a_zero_gradient_moves_nothing_at_any_rate():
    rng = np.random.default_rng(0)
    W = nx.round_to_format(rng.standard_normal((4, 8)) / 3, "bfloat16")
    X = rng.integers(-3, 4, (8, 32)).astype(float)
    M = nx.SpecDefLayer(W, np.eye(4), X, W @ X)  # at the minimum: the gradient is exactly 0
    assert nx.first_step_threshold(M, M.theta0, "gradient_descent", "bfloat16") == math.inf


def test_a_finite_float16_gradient_whose_norm_overflows_is_not_divergence():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((24, 32)) * 5
    X = rng.standard_normal((32, 64)) * 4  # max |g| ≈ 2.3·10⁴ < 65504 < ‖g‖ ≈ 8·10⁴
    M = nx.SpecDefLayer(W, np.eye(24), X, np.zeros((24, 64)))
    g = M.grad(nx.in_format(nx.round_to_format(M.theta0, "float16"), "float16"))
    g = g.view(np.ndarray)
    assert np.all(np.isfinite(g)) and np.linalg.norm(g) > 65504
    res = nx.train_in_format(M, M.theta0, "gradient_descent", 1e-12, "float16",
                             arithmetic="pure", max_steps=1, tol=1e-300)
    assert res.status != "diverged", res.message


@pytest.mark.parametrize("call, text", [
    (lambda M: nx.train_in_format(M, M.theta0, "lbfgs", 1e-3, "bf16"), "method must be one of"),
    (lambda M: nx.train_in_format(M, M.theta0, "adam", 1e-3, "bf16", momentum=0.9),
     "options must be keywords of adam"),
    (lambda M: nx.train_in_format(M, M.theta0, "sophia", 1e-3, "bf16", model=M),
     "options must not contain 'model'"),
    (lambda M: nx.train_in_format(None, M.theta0, "adam", 1e-3, "bf16"), "model must be"),
    (lambda M: nx.train_in_format(M, np.array(["a"] * M.n_params), "adam", 1e-3, "bf16"),
     "theta0 must be an array of real numbers"),
    (lambda M: nx.train_in_format(M, M.theta0 + 0j, "adam", 1e-3, "bf16"),
     "theta0 must be an array of real numbers"),
    (lambda M: nx.train_in_format(M, M.theta0, "adam", 1e-3, nx.arithmetic("bf16", "pure")),
     "fmt is an Arithmetic of model 'pure'"),
    (lambda M: nx.first_step_threshold(M, M.theta0, "adam", "bf16", max_steps=3),
     "max_steps is not an option here"),
    (lambda M: nx.first_step_threshold(M, M.theta0, "adam", "bf16", rng=-1),
     "first_step_threshold: rng must be"),
    (lambda M: nx.in_format(None, "bf16"), "in_format: x must be real numbers"),
    (lambda M: nx.in_format(M.theta0, None), "in_format: arith must be"),
    (lambda M: nx.train_in_format(M, M.theta0, "adam", 1e-3, "float12"), "fmt must be one of"),
    (lambda M: nx.train_in_format(M, M.theta0, "adam", 1e-3, "bf16", arithmetic="half"),
     "model must be one of"),
    (lambda M: nx.train_in_format(M, M.theta0[:3], "adam", 1e-3, "bf16"), "theta0 must have"),
    (lambda M: nx.train_in_format(M, M.theta0, "adam", -1.0, "bf16"), "lr must be"),
    (lambda M: nx.train_in_format(M, M.theta0 * 1e3, "adam", 1e-3, "e4m3"),
     "theta0 must be finite in float8_e4m3fn"),
    (lambda M: nx.first_step_threshold(M, M.theta0, "adam", "bf16", rng=None),
     "rng must be an integer seed"),
    (lambda M: nx.first_step_threshold(M, M.theta0, "adam", "bf16", lo=1.0, hi=0.5),
     "lo must be < hi")])
def test_bad_input_raises_one_line_input_error(call, text):
    M = nx.SpecDefLayer(*_layer())
    with pytest.raises(InputError, match=text) as exc:
        call(M)
    assert "\n" not in str(exc.value)


# ----------------------------------------------------------------------------- every op rounded
def _first_direction(method, opts, fmt, model, train=None):
    """The wrapped rule's first direction and state, and the plain gradient, in a format."""
    from specdef.numerics._format_arrays import _setup
    from specdef.numerics._optim_common import _blocks, _Context

    M = nx.SpecDefLayer(*_layer(alpha=16.0))
    a, rule, stored, wrapped = _setup("test", M, M.theta0, method, fmt, model, opts)
    mask = None
    if train is not None:
        mask = np.zeros(M.n_params, dtype=bool)
        mask[:32] = True
    ctx = _Context(XP, np.float64, _blocks(M, M.n_params), mask, np.random.default_rng(0),
                   hvp=wrapped.hvp)
    g = wrapped.grad(stored)
    if mask is not None:
        g = XP.where(mask, g, XP.zeros_like(g))
    u, state = rule.step(rule.init(stored, ctx), stored, g, 1, ctx)
    assert isinstance(u, nx.FormatArray)
    plain = {k: np.asarray(v.view(np.ndarray)) if isinstance(v, np.ndarray) else v
             for k, v in state.items()}
    return a, np.asarray(g.view(np.ndarray)), np.asarray(u.view(np.ndarray)), plain


def _moment(a, beta, x):
    """``β·0 + (1 − β)·x`` as the rules write it, every operation rounded."""
    return a.op(np.add, a.op(np.multiply, a.fl(beta), 0.0), a.op(np.multiply, a.fl(1 - beta), x))


@pytest.mark.parametrize("fmt, model", [("bfloat16", "pure"), ("float16", "mixed"),
                                        ("float8_e4m3fn", "mixed")])
def test_first_directions_equal_hand_rounded_formulas(fmt, model):
    """Each rule's first direction, rebuilt here operation by operation with Arithmetic.op:
    an operation that escaped rounding (a plain float64 intermediate) changes the bits."""
    # SGD, Nesterov: b = g + μ·0, u = g + μ·b
    a, G, u, _ = _first_direction("sgd_momentum", {"nesterov": True}, fmt, model)
    b = a.op(np.add, G, a.op(np.multiply, a.fl(0.9), 0.0))
    assert np.array_equal(u, a.op(np.add, G, a.op(np.multiply, a.fl(0.9), b)))
    # Adam: bias-corrected moments, u = m̂/(√v̂ + ε)
    a, G, u, st = _first_direction("adam", {"eps": 1e-3}, fmt, model)
    m = a.op(np.add, a.op(np.multiply, a.fl(1 - 0.9), G), a.op(np.multiply, a.fl(0.9), 0.0))
    v = a.op(np.add, a.op(np.multiply, a.fl(1 - 0.999), a.op(np.multiply, G, G)),
             a.op(np.multiply, a.fl(0.999), 0.0))
    mh, vh = a.op(np.divide, m, a.fl(1 - 0.9)), a.op(np.divide, v, a.fl(1 - 0.999))
    want = a.op(np.divide, mh, a.op(np.add, a.op(np.sqrt, vh), a.fl(1e-3)))
    assert np.array_equal(st["m"], m) and np.array_equal(st["v"], v)
    assert np.array_equal(u, want)
    # Sophia (from the curvature estimate it drew): clip(m / max(γh, ε), ±1)
    a, G, u, st = _first_direction("sophia", {"gamma": 0.5}, fmt, model, train=("W",))
    assert np.array_equal(st["m"], _moment(a, 0.965, G))
    den = a.op(np.maximum, a.op(np.multiply, a.fl(0.5), st["h"]), a.fl(1e-12))
    assert np.array_equal(u, np.clip(a.op(np.divide, st["m"], den), -1.0, 1.0))
    # AdaHessian (from its Hutchinson estimate D): (m/(1 − β₁)) / (√v/√(1 − β₂) + ε)
    a, G, u, st = _first_direction("adahessian", {"eps": 1e-3}, fmt, model, train=("W",))
    m = _moment(a, 0.9, G)
    v = _moment(a, 0.999, a.op(np.multiply, st["D"], st["D"]))
    den = a.op(np.add, a.op(np.divide, a.op(np.sqrt, v), a.fl((1 - 0.999) ** 0.5)),
               a.fl(1e-3))
    assert np.array_equal(u, a.op(np.divide, a.op(np.divide, m, a.fl(1 - 0.9)), den))


@pytest.mark.parametrize("fmt, model", [("bfloat16", "pure"), ("float16", "mixed")])
def test_muon_first_direction_equals_hand_rounded_newton_schulz(fmt, model):
    a, G, u, _ = _first_direction("muon", {"eps": 1e-3}, fmt, model, train=("W",))
    mu, (ca, cb, cc) = 0.95, nx.NS_COEFFS
    m = a.op(np.add, a.op(np.multiply, a.fl(1 - mu), G), a.op(np.multiply, a.fl(mu), 0.0))
    mh = a.op(np.add, a.op(np.multiply, a.fl(1 - mu), G), a.op(np.multiply, a.fl(mu), m))
    X = mh[:32].reshape(8, 4).T  # the 4×8 block (column-major vec), as Newton–Schulz sees it
    nrm = a.op(np.sqrt, a.fl(np.sum(a.op(np.multiply, X, X).astype(a.accumulate))))
    X = a.op(np.divide, X, a.op(np.add, nrm, a.fl(1e-3)))
    for _ in range(5):
        A = a.matmul(X, X.T)
        B = a.op(np.add, a.op(np.multiply, a.fl(cb), A), a.matmul(a.op(np.multiply, a.fl(cc), A), A))
        X = a.op(np.add, a.op(np.multiply, a.fl(ca), X), a.matmul(B, X))
    assert np.array_equal(u[:32], X.T.reshape(-1))
