"""Batched sweeps: every row equals the single run it stands for; divergence stays in its row."""

from __future__ import annotations

import numpy as np
import pytest

from specdef import numerics as nm
from specdef.numerics import InputError, to_host

SINGLE = {"gradient_descent": None, "sgd_momentum": nm.sgd_momentum, "adam": nm.adam,
          "adamw": nm.adamw, "muon": nm.muon, "sophia": nm.sophia, "adahessian": nm.adahessian}


def _layer(xp=None, alpha=10.0, train=("W", "C"), seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((4, 6))
    X = rng.standard_normal((6, 20))
    Y = W @ X + 0.01 * rng.standard_normal((4, 20))
    Wt, C = nm.specdef(W, alpha, 2)
    arrs = [Wt, C, X, Y] if xp is None else [xp.asarray(a) for a in (Wt, C, X, Y)]
    return nm.SpecDefLayer(*arrs, train=train)


def _single(method, model, th, lr, seed, **kw):
    if method == "gradient_descent":
        return nm.sgd_momentum(model, th, lr, momentum=0.0, **kw)
    extra = {"rng": seed} if method in ("sophia", "adahessian") else {}
    return SINGLE[method](model, th, lr, **extra, **kw)


@pytest.mark.parametrize("method", list(SINGLE))
def test_rows_equal_single_runs_and_divergence_does_not_poison(method):
    model = _layer()
    lrs = [1e-3, 1e-2, 0.1, 5.0]  # 5.0 diverges for the gradient methods
    seeds = [0, 1]
    kw = dict(max_steps=150, tol=1e-6, clip=None)
    r = nm.sweep_optimiser(model, model.theta0, method, lrs, seeds=seeds, **kw)
    net = nm.as_network(model)  # the single run each row stands for
    assert r.status.shape == (1, 4, 2) and r.theta.shape == (1, 4, 2, model.n_params)
    assert np.all(np.isfinite(r.loss)) and np.all(np.isfinite(r.theta))
    for li, lr in enumerate(lrs):
        for si, s in enumerate(seeds):
            o = _single(method, net, model.theta0, lr, s, **kw)
            assert (o.status, o.steps) == (r.status[0, li, si], r.steps[0, li, si]), (lr, s)
            k = o.loss.size
            np.testing.assert_allclose(r.loss[:k, 0, li, si], o.loss, rtol=1e-9)
            np.testing.assert_allclose(r.theta[0, li, si], o.theta, rtol=1e-9, atol=1e-12)
    if method in ("gradient_descent", "sgd_momentum"):
        assert np.all(r.status[0, 3] == "diverged") and np.all(r.diverged_at[0, 3] > 0)


def test_alpha_axis_with_frozen_compensation():
    alphas = [1.0, 3.0, 10.0]
    models = [_layer(alpha=a, train="W") for a in alphas]
    lrs = np.geomspace(1e-2, 1.0, 5)
    r = nm.sweep_optimiser(models, [m.theta0 for m in models], "gradient_descent", lrs,
                           max_steps=3000, tol=1e-6)
    assert r.n_models == 3
    for a, m in enumerate(models):
        for li, lr in enumerate(lrs):
            o = nm.sgd_momentum(nm.as_network(m), m.theta0, lr, momentum=0.0, max_steps=3000,
                                tol=1e-6)
            assert (o.status, o.steps) == (r.status[a, li, 0], r.steps[a, li, 0])
    best = r.best
    assert best[0]["steps"] < best[1]["steps"] < best[2]["steps"]  # the defence slows GD


def test_blocks_of_configurations_give_the_same_grid():
    alphas = [1.0, 10.0]
    models = [_layer(alpha=a, train="W") for a in alphas]
    kw = dict(seeds=[0, 1], max_steps=200, tol=1e-6, record_every=7)
    ref = nm.sweep_optimiser(models, [m.theta0 for m in models], "sophia", [1e-3, 0.5, 50.0],
                             chunk=12, **kw)
    for chunk in (1, 5):
        r = nm.sweep_optimiser(models, [m.theta0 for m in models], "sophia", [1e-3, 0.5, 50.0],
                               chunk=chunk, **kw)
        assert np.array_equal(r.status, ref.status) and np.array_equal(r.steps, ref.steps)
        np.testing.assert_allclose(r.loss, ref.loss, rtol=1e-12)
        np.testing.assert_allclose(r.theta, ref.theta, rtol=1e-12)
        assert np.array_equal(r.record_steps, ref.record_steps)


def test_network_form_agrees_with_the_specdef_layer():
    """The compressed network (d_0 columns) and the layer agree to rounding on a smooth run."""
    model = _layer()
    net = nm.as_network(model)
    th = model.theta0
    assert net._Q is not None  # n = 20 > d_0 = 6: compressed
    np.testing.assert_allclose(net.loss(th), model.loss(th), rtol=1e-13)
    np.testing.assert_allclose(net.grad(th), model.grad(th), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.hessian(th), model.hessian(th), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(net.predict(th), model.factors(th)[1] @ model.factors(th)[0]
                               @ model.X, rtol=1e-12)
    a = nm.adam(net, th, 1e-3, max_steps=100, tol=1e-300)
    b = nm.adam(model, th, 1e-3, max_steps=100, tol=1e-300)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)


def test_per_seed_starts_and_backends(xp):
    ref_model = _layer()
    starts = ref_model.theta0 + 0.01 * np.random.default_rng(3).standard_normal(
        (3, ref_model.n_params))
    ref = nm.sweep_optimiser(ref_model, starts, "adam", [1e-3, 1e-2], seeds=[0, 1, 2],
                             max_steps=50, tol=1e-300)
    model = _layer(xp)
    r = nm.sweep_optimiser(model, xp.asarray(starts), "adam", [1e-3, 1e-2], seeds=[0, 1, 2],
                           max_steps=50, tol=1e-300)
    np.testing.assert_allclose(r.loss, ref.loss, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(to_host(r.theta)), np.asarray(ref.theta), rtol=1e-11,
                               atol=1e-14)
    o = nm.adam(nm.as_network(ref_model), starts[2], 1e-2, max_steps=50, tol=1e-300)
    np.testing.assert_allclose(ref.theta[0, 1, 2], o.theta, rtol=1e-11)


def test_networks_and_options():
    rng = np.random.default_rng(4)
    Ws = [rng.standard_normal((5, 3)), rng.standard_normal((4, 5)), rng.standard_normal((3, 4))]
    X, y = rng.standard_normal((3, 12)), rng.integers(0, 3, 12)
    net = nm.MLP(Ws, X, y, activation="gelu", loss="cross_entropy",
                 biases=[rng.standard_normal(5), None, rng.standard_normal(3)])
    r = nm.sweep_optimiser(net, net.theta0, "muon", [1e-3, 1e-2], options={"polar": "svd"},
                           max_steps=30, tol=1e-300, clip=1.0,
                           schedule=nm.warmup_cosine_schedule(5, 30))
    o = nm.muon(net, net.theta0, 1e-2, polar="svd", max_steps=30, tol=1e-300, clip=1.0,
                schedule=nm.warmup_cosine_schedule(5, 30))
    np.testing.assert_allclose(r.loss[:, 0, 1, 0], o.loss, rtol=1e-10)
    r = nm.sweep_optimiser(net, net.theta0, "sophia", [1e-3], options={"estimator": "gnb"},
                           seeds=[5], max_steps=20, tol=1e-300)
    o = nm.sophia(net, net.theta0, 1e-3, estimator="gnb", rng=5, max_steps=20, tol=1e-300)
    np.testing.assert_allclose(r.loss[:, 0, 0, 0], o.loss, rtol=1e-10)


def test_stalled_rows():
    # W X = W with X = I: θ = 1e16 (ulp 2) absorbs Adam's step of 0.1 but not one of 10
    model = nm.as_network(nm.LinearRegression(np.eye(3), np.full((3, 3), 1e16 + 2.0)))
    r = nm.sweep_optimiser(model, np.full(9, 1e16), "adam", [0.1, 10.0], max_steps=20)
    assert r.status[0, 0, 0] == "stalled" and r.steps[0, 0, 0] == 0
    assert r.status[0, 1, 0] != "stalled"


def test_repr_and_best():
    model = _layer()
    r = nm.sweep_optimiser(model, model.theta0, "adam", [1e-3, 1e-2], max_steps=2000, tol=1e-4)
    text = repr(r)
    assert "GridResult(" in text and len(text) < 200 and "\n" not in text
    b = r.best[0]
    assert b["lr"] in (1e-3, 1e-2)


@pytest.mark.parametrize("call, param, value", [
    (lambda m: nm.sweep_optimiser(m, m.theta0, "lbfgs", [1e-3]), "method", "lbfgs"),
    (lambda m: nm.sweep_optimiser(m, m.theta0, "adam", [-1.0]), "lrs", "-1.0"),
    (lambda m: nm.sweep_optimiser(m, m.theta0, "adam", []), "lrs", "[]"),
    (lambda m: nm.sweep_optimiser(m, m.theta0, "adam", [1e-3], seeds=[-1]), "seeds", "-1"),
    (lambda m: nm.sweep_optimiser(m, m.theta0, "adam", [1e-3], options={"foo": 1}), "options",
     "foo"),
    (lambda m: nm.sweep_optimiser(m, np.ones(3), "adam", [1e-3]), "theta0", "(3,)"),
    (lambda m: nm.sweep_optimiser(m, m.theta0, "adam", [1e-3], options={"betas": (2, 0)}),
     "betas", "2"),
    (lambda m: nm.as_network(nm.Quadratic([1.0])), "model", "Quadratic"),
])
def test_bad_input(call, param, value):
    with pytest.raises(InputError) as info:
        call(_layer())
    msg = str(info.value)
    assert "\n" not in msg and param in msg and value in msg, msg
