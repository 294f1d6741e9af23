"""The practical optimisers: contracts, statuses, invariances and the curvature estimators.

Trajectories against an independent library (optax) are in ``test_crosscheck_optimisers.py``;
here: properties that need no reference — Adam's diagonal invariance, Muon's orthogonality and
equivariance, Sophia's elementwise clip, AdaHessian with power 0 as momentum SGD, Hutchinson's
``1/√N`` rate, the additive injection under Adam, stalls, masks, clipping, schedules, backends.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from specdef import numerics as nm
from specdef.numerics import InputError, to_host

OPTIMISERS = {
    "sgd_momentum": (nm.sgd_momentum, {}),
    "nesterov": (nm.sgd_momentum, {"nesterov": True}),
    "adam": (nm.adam, {}),
    "adamw": (nm.adamw, {"weight_decay": 0.1}),
    "muon": (nm.muon, {}),
    "muon_svd": (nm.muon, {"polar": "svd"}),
    "sophia": (nm.sophia, {"rng": 3}),
    "sophia_gnb": (nm.sophia, {"rng": 3, "estimator": "gnb"}),
    "adahessian": (nm.adahessian, {"rng": 3}),
}


def _layer(xp=None, alpha=10.0, seed=0, m=4, n=6, N=20, train=("W", "C")):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n))
    X = rng.standard_normal((n, N))
    Y = rng.standard_normal((m, N))
    Wt, C = nm.specdef(W, alpha, 2)
    arrs = [Wt, C, X, Y] if xp is None else [xp.asarray(a) for a in (Wt, C, X, Y)]
    return nm.SpecDefLayer(*arrs, train=train)


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_backends_agree(xp, name):
    fn, kw = OPTIMISERS[name]
    ref_model = _layer()
    ref = fn(ref_model, ref_model.theta0, 1e-3, max_steps=30, tol=1e-300, **kw)
    model = _layer(xp)
    res = fn(model, model.theta0, 1e-3, max_steps=30, tol=1e-300, **kw)
    assert res.status == ref.status == "max_steps"
    assert res.method == fn.__name__
    np.testing.assert_allclose(res.loss, ref.loss, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(to_host(res.theta)), ref.theta, rtol=1e-11, atol=1e-14)
    assert res.loss[-1] < res.loss[0]


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_frozen_block_is_untouched_and_clip_bounds_the_first_gradient(name):
    fn, kw = OPTIMISERS[name]
    model = _layer()
    res = fn(model, model.theta0, 1e-3, max_steps=10, tol=1e-300, train="W", clip=0.5, **kw)
    before, after = model.unpack(model.theta0), model.unpack(res.theta)
    assert np.array_equal(before["C"], after["C"])
    assert not np.array_equal(before["W"], after["W"])


def test_clip_scales_to_the_threshold():
    g = np.array([[3.0, 4.0], [0.3, 0.4]])
    out = nm.clip_by_global_norm(g, 1.0)
    np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-15)
    assert np.array_equal(out[1], g[1])
    model = _layer()
    g0 = model.grad(model.theta0)
    assert np.linalg.norm(g0) > 1.0
    res = nm.sgd_momentum(model, model.theta0, 0.01, momentum=0.0, max_steps=1, tol=1e-300,
                          clip=1.0)
    assert math.isclose(np.linalg.norm(res.theta - model.theta0), 0.01, rel_tol=1e-12)


def test_warmup_cosine_values():
    s = nm.warmup_cosine_schedule(4, 14, final=0.1)
    assert [s(k) for k in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert s(4) == 1.0 and math.isclose(s(9), 0.55) and s(14) == pytest.approx(0.1)
    assert s(100) == pytest.approx(0.1)
    assert nm.constant_schedule()(7) == 1.0


def test_adam_invariant_to_positive_diagonal_gradient_scaling():
    """Adam sees ``D g`` for a positive diagonal D: with ε → 0 the trajectory is unchanged."""

    class Scaled:
        def __init__(self, model, d):
            self.model, self.d = model, d
            self.n_params = model.n_params

        def loss(self, th):
            return self.model.loss(th)

        def grad(self, th):
            return self.d * self.model.grad(th)

    model = _layer()
    d = np.exp(np.random.default_rng(1).uniform(-5, 5, model.n_params))
    a = nm.adam(model, model.theta0, 1e-2, eps=1e-300, max_steps=100, tol=1e-300)
    b = nm.adam(Scaled(model, d), model.theta0, 1e-2, eps=1e-300, max_steps=100, tol=1e-300)
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-12)
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-12)
    # gradient descent is not invariant: the check can fail
    g1 = nm.sgd_momentum(model, model.theta0, 1e-4, max_steps=20, tol=1e-300)
    g2 = nm.sgd_momentum(Scaled(model, d), model.theta0, 1e-4, max_steps=20, tol=1e-300)
    k = min(g1.loss.size, g2.loss.size)
    assert g1.status != g2.status or np.max(np.abs(g1.loss[:k] - g2.loss[:k]) / g1.loss[:k]) > 1e-3


def test_newton_schulz_singular_values_near_one_and_polar_exact():
    rng = np.random.default_rng(2)
    for shape in [(5, 5), (4, 9), (9, 4)]:
        M = rng.standard_normal(shape)
        s = np.linalg.svd(nm.newton_schulz(M), compute_uv=False)
        assert np.all((s > 0.6) & (s < 1.25)), s
        sp = np.linalg.svd(nm.polar_factor(M), compute_uv=False)
        np.testing.assert_allclose(sp, 1.0, rtol=1e-13)
    # rank-deficient: the polar factor is a partial isometry on the range
    M = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 5))
    sp = np.linalg.svd(nm.polar_factor(M), compute_uv=False)
    np.testing.assert_allclose(sp[:2], 1.0, rtol=1e-12)
    assert np.all(sp[2:] < 1e-12)


@pytest.mark.parametrize("shape", [(5, 5), (4, 7), (7, 4)])
def test_muon_update_is_orthogonally_equivariant(shape):
    rng = np.random.default_rng(3)
    M = rng.standard_normal(shape)
    Q1 = np.linalg.qr(rng.standard_normal((shape[0],) * 2))[0]
    Q2 = np.linalg.qr(rng.standard_normal((shape[1],) * 2))[0]
    for f in (nm.newton_schulz, nm.polar_factor):
        np.testing.assert_allclose(f(Q1 @ M @ Q2), Q1 @ f(M) @ Q2, atol=1e-12)


def test_muon_single_step_is_the_scaled_orthogonalised_gradient():
    model = _layer(train="W")
    g = model.grad(model.theta0)
    res = nm.muon(model, model.theta0, 0.1, polar="svd", nesterov=False, max_steps=1,
                  tol=1e-300)
    step = model.unpack(model.theta0)["W"] - model.unpack(res.theta)["W"]
    G = model.unpack(g)["W"]
    np.testing.assert_allclose(step, 0.1 * nm.polar_factor(G), atol=1e-14)
    s = np.linalg.svd(step / 0.1, compute_uv=False)
    np.testing.assert_allclose(s, 1.0, rtol=1e-12)


def test_hutchinson_exact_for_diagonal_and_converges_at_inverse_sqrt_rate():
    lam = np.array([1.0, 2.0, 5.0, 0.1])
    q = nm.Quadratic(lam)
    np.testing.assert_allclose(nm.hutchinson_diagonal(q, np.zeros(4), 1, rng=0), lam,
                               rtol=1e-15)
    model = _layer()
    th = model.theta0
    exact = np.diag(model.hessian(th))
    errs = {}
    for N in (16, 256, 4096):
        e = [np.linalg.norm(nm.hutchinson_diagonal(model, th, N, rng=s) - exact)
             for s in range(8)]
        errs[N] = float(np.sqrt(np.mean(np.square(e))))
    # rms error · √N is constant in expectation: each 16-fold increase divides the error by 4
    for a, b in ((16, 256), (256, 4096)):
        ratio = errs[a] / errs[b]
        assert 2.5 < ratio < 6.5, (errs, ratio)


def test_sophia_update_is_clipped_elementwise_to_lr():
    model = _layer(alpha=100.0)
    lr = 1e-3
    for est in ("hutchinson", "gnb"):
        res = nm.sophia(model, model.theta0, lr, max_steps=1, tol=1e-300, rng=0, estimator=est,
                        gamma=1e-6)
        step = np.abs(res.theta - model.theta0)
        slack = 4 * np.finfo(float).eps * np.abs(model.theta0)  # rounding of θ − η·u
        assert np.all(step <= lr + slack)
        assert np.any(step >= lr - slack)  # the clip is active on some coordinate
    # with a nonnegative estimate and a huge γ no coordinate is clipped: the step is η m/(γh) < η
    res = nm.sophia(model, model.theta0, lr, max_steps=1, tol=1e-300, rng=0, gamma=1e6,
                    estimator="gnb")
    assert np.all(np.abs(res.theta - model.theta0) < lr)


def test_sophia_gnb_estimate_is_unbiased_for_the_gauss_newton_diagonal():
    model = _layer()
    th = model.theta0
    J = model.jacobian(th)
    exact = np.sum(J * J, axis=0)
    rng = np.random.default_rng(0)
    est = np.mean([model.vjp(th, rng.standard_normal(model.n_residuals)) ** 2
                   for _ in range(4000)], axis=0)
    np.testing.assert_allclose(est, exact, rtol=0.15, atol=0.02 * exact.max())


def test_adahessian_power_zero_is_momentum_sgd():
    model = _layer()
    b1, eps, lr = 0.9, 1e-4, 1e-3
    a = nm.adahessian(model, model.theta0, lr, betas=(b1, 0.999), eps=eps, hessian_power=0.0,
                      max_steps=100, tol=1e-300, rng=0)
    sched = lambda k: (1 - b1) / ((1 - b1 ** (k + 1)) * (1 + eps))  # noqa: E731
    s = nm.sgd_momentum(model, model.theta0, lr, momentum=b1, schedule=sched, max_steps=100,
                        tol=1e-300)
    np.testing.assert_allclose(a.loss, s.loss, rtol=1e-12)
    np.testing.assert_allclose(a.theta, s.theta, rtol=1e-11)


def test_additive_injection_under_adam_equals_undefended():
    rng = np.random.default_rng(4)
    W = rng.standard_normal((4, 6))
    X, Y = rng.standard_normal((6, 30)), rng.standard_normal((4, 30))
    Wt, C = nm.specdef(W, 10.0, 2)
    atk = nm.additive_injection(Wt, C, X, Y)
    plain = nm.LinearRegression(X, Y)
    for fn, kw in ((nm.adam, {}), (nm.adamw, {"weight_decay": 0.0}), (nm.muon, {})):
        a = fn(atk.model, atk.theta0, 1e-2, max_steps=100, tol=1e-300, **kw)
        u = fn(plain, plain.pack(W=W), 1e-2, max_steps=100, tol=1e-300, **kw) if fn is not \
            nm.muon else None
        if u is None:  # Muon's step depends on the increment only: compare increments
            u = fn(plain, plain.pack(W=W), 1e-2, max_steps=100, tol=1e-300, **kw)
        np.testing.assert_allclose(a.loss, u.loss, rtol=1e-9)
        np.testing.assert_allclose(atk.weight(a.theta), plain.unpack(u.theta)["W"], rtol=1e-9,
                                   atol=1e-12)
    # with weight decay the decay pulls Δ, not W + Δ: the trajectories separate
    a = nm.adamw(atk.model, atk.theta0, 1e-2, weight_decay=0.1, max_steps=100, tol=1e-300)
    u = nm.adamw(plain, plain.pack(W=W), 1e-2, weight_decay=0.1, max_steps=100, tol=1e-300)
    assert np.max(np.abs(a.loss - u.loss) / u.loss) > 1e-4


def test_stalled_when_updates_are_absorbed():
    big = 1e16  # ulp 2: a step of 0.1 rounds away
    q = nm.Quadratic(np.ones(3), w_star=np.full(3, big + 2.0))
    for fn in (nm.sgd_momentum, nm.adam, nm.muon):
        res = fn(q, np.full(3, big), 0.1, max_steps=50)
        assert res.status == "stalled" and res.steps == 0, res
        assert "changed no parameter" in res.message


def test_divergence_is_a_status():
    model = _layer()
    res = nm.sgd_momentum(model, model.theta0, 10.0, max_steps=500)
    assert res.status == "diverged" and res.diverged_at is not None
    assert np.all(np.isfinite(res.loss)) and np.all(np.isfinite(res.theta))


def test_converged_with_loss_gap():
    q = nm.Quadratic(np.array([1.0, 0.5]))
    for fn, lr in ((nm.sgd_momentum, 0.5), (nm.adam, 0.05), (nm.adahessian, 0.5)):
        res = fn(q, np.ones(2), lr, max_steps=5000, tol=1e-10)
        assert res.status == "converged", (fn.__name__, res)


def test_repr_is_short():
    q = nm.Quadratic(np.array([1.0, 1e-6]))
    res = nm.sgd_momentum(q, np.ones(2), 0.1, max_steps=10_000, tol=1e-300)
    text = repr(res)
    assert res.loss.size == 10_001
    assert len(text) < 250 and text.count("\n") == 0
    for part in ("sgd_momentum", "max_steps", "steps=10000", "final_loss=", "theta_shape=(2,)"):
        assert part in text
    sw = nm.best_step_sweep(q, [0.1, 1.0, 3.0], theta0=np.ones(2), max_steps=100)
    t = repr(sw)
    assert "SweepResult(" in t and len(t) < 250 and "best_step=" in t


@pytest.mark.parametrize("call, param, value", [
    (lambda: nm.adam(_layer(), _layer().theta0, -1.0), "lr", "-1.0"),
    (lambda: nm.adam(_layer(), _layer().theta0, 0.1, betas=(0.9, 1.5)), "betas", "1.5"),
    (lambda: nm.sgd_momentum(_layer(), _layer().theta0, 0.1, momentum=1.0), "momentum", "1.0"),
    (lambda: nm.muon(_layer(), _layer().theta0, 0.1, polar="qr"), "polar", "qr"),
    (lambda: nm.sophia(_layer(), _layer().theta0, 0.1, estimator="x"), "estimator", "x"),
    (lambda: nm.adahessian(_layer(), _layer().theta0, 0.1, hessian_power=2), "hessian_power",
     "2"),
    (lambda: nm.adam(_layer(), _layer().theta0, 0.1, train="B"), "train", "B"),
    (lambda: nm.adam(_layer(), _layer().theta0, 0.1, schedule=3), "schedule", "3"),
    (lambda: nm.adam(_layer(), _layer().theta0, 0.1, clip=0), "clip", "0"),
    (lambda: nm.warmup_cosine_schedule(5, 2), "total_steps", "2"),
    (lambda: nm.clip_by_global_norm(np.ones(3), -1), "max_norm", "-1"),
    (lambda: nm.newton_schulz(np.ones(3)), "M", "(3,)"),
    (lambda: nm.hutchinson_diagonal(_layer(), np.ones(2)), "theta", "(2,)"),
])
def test_bad_input(call, param, value):
    with pytest.raises(InputError) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg and param in msg and value in msg, msg
