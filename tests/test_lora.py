"""LoRA adapters and parallel paths on networks: function kept, exact derivatives, overhead, attacks."""

from __future__ import annotations

import numpy as np
import pytest

from specdef import numerics as nm
from specdef.numerics import InputError, to_host


def _defended(xp=None, act="tanh", alpha=100.0, seed=0, n=8):
    rng = np.random.default_rng(seed)
    W1, W2, W3 = (rng.standard_normal((5, 3)), rng.standard_normal((6, 5)),
                  rng.standard_normal((2, 6)))
    Wt, C = nm.specdef(W2, alpha, 2)
    X, Y = rng.standard_normal((3, n)), rng.standard_normal((2, n))
    mk = (lambda a: a) if xp is None else xp.asarray
    defended = nm.MLP([mk(W1), mk(Wt), mk(W3)], mk(X), mk(Y), activation=act,
                      compensations={2: mk(C)})
    plain = nm.MLP([mk(W1), mk(W2), mk(W3)], mk(X), mk(Y), activation=act)
    return defended, plain


def _fd(m, th, h=1e-6):
    E = np.eye(m.n_params)
    g = np.array([(float(m.loss(th + h * E[i])) - float(m.loss(th - h * E[i]))) / (2 * h)
                  for i in range(m.n_params)])
    H = np.array([(m.grad(th + h * E[i]) - m.grad(th - h * E[i])) / (2 * h)
                  for i in range(m.n_params)])
    return g, H


@pytest.mark.parametrize("targets", [("W2",), ("C2",), ("W2", "C2"), ("W1", "W3")])
def test_lora_keeps_the_function_and_has_exact_derivatives(targets):
    model, _ = _defended(alpha=3.0)
    ad = nm.lora(model, targets, 2, rng=0)
    assert float(ad.model.loss(ad.theta0)) == pytest.approx(float(model.loss(model.theta0)),
                                                           rel=1e-13)
    assert set(ad.model.block_names) == {f"{p}_{t}" for t in targets for p in "AB"}
    th = ad.theta0 + 0.1 * np.random.default_rng(1).standard_normal(ad.model.n_params)
    g, H = _fd(ad.model, th)
    np.testing.assert_allclose(ad.model.grad(th), g, rtol=1e-8, atol=1e-8 * np.abs(g).max())
    np.testing.assert_allclose(ad.model.hessian(th), H, rtol=1e-7, atol=1e-8 * np.abs(H).max())


def test_lora_overhead_and_first_gradient():
    model, _ = _defended()
    ad = nm.lora(model, ["W2"], 2, scale=4.0, rng=0)
    m, n = 6, 5
    assert ad.n_added == 2 * (m + n) and ad.n_original == m * n
    assert ad.overhead == pytest.approx(2 * (m + n) / (m * n))
    assert ad.model_overhead == pytest.approx(ad.n_added / sum(
        int(np.prod(v.shape)) for v in model.params0.values()))
    # ∇_B = (s/r) ∇_W̃ L Aᵀ and ∇_A = 0 at B = 0
    G = ad.model.unpack(ad.model.grad(ad.theta0))
    base = model.unpack(model.grad(model.theta0))
    A = ad.model.unpack(ad.theta0)["A_W2"]
    full = model.grad(model.theta0)
    gW = model.unpack(full)["W2"]
    np.testing.assert_allclose(G["B_W2"], 2.0 * gW @ A.T, rtol=1e-12, atol=1e-15)
    assert np.all(G["A_W2"] == 0) and base is not None


def test_lora_on_both_maps_of_the_pair_trains_only_adapters():
    model, _ = _defended()
    ad = nm.lora(model, ["W2", "C2"], 1, rng=0)
    res = nm.adam(ad.model, ad.theta0, 1e-2, max_steps=30, tol=1e-300)
    P = ad.model.unpack(res.theta)
    for k in ("W1", "W2", "C2", "W3"):
        assert np.array_equal(P[k], model.params0[k])
    assert res.loss[-1] < res.loss[0]


@pytest.mark.parametrize("fn", [nm.adam, nm.sgd_momentum, nm.muon])
def test_parallel_full_path_reproduces_undefended_fine_tuning(fn):
    """Additive injection on an MLP: Δ from 0 next to the defended pair = fine-tuning W2."""
    model, plain = _defended(alpha=10.0)
    ad = nm.parallel_adapter(model, "W2")
    assert ad.overhead == 1.0 and ad.model.block_names == ("Delta_W2",)
    und = nm.MLP([plain.params0["W1"], plain.params0["W2"], plain.params0["W3"]], plain.X,
                 plain.Y, activation="tanh", train=["W2"])
    a = fn(ad.model, ad.theta0, 1e-2, max_steps=100, tol=1e-300)
    u = fn(und, und.theta0, 1e-2, max_steps=100, tol=1e-300)
    np.testing.assert_allclose(a.loss, u.loss, rtol=1e-9)
    np.testing.assert_allclose(ad.model.unpack(a.theta)["Delta_W2"] + plain.params0["W2"],
                               und.unpack(u.theta)["W2"], rtol=1e-9, atol=1e-11)


def test_low_rank_parallel_path_recovers_a_rank_one_update():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 6))
    X = rng.standard_normal((6, 40))
    harm = np.outer(rng.standard_normal(4), rng.standard_normal(6))
    Wt, C = nm.specdef(W, 1e3, 2)
    model = nm.MLP([Wt], X, (W + harm) @ X, compensations={1: C})
    ad = nm.parallel_adapter(model, "W1", rank=1, rng=0)
    assert ad.overhead == pytest.approx((4 + 6) / 24)
    res = nm.adam(ad.model, ad.theta0, 3e-2, max_steps=3000, tol=1e-10)
    assert res.status == "converged", res


def test_backends(xp):
    model, _ = _defended(xp)
    ad = nm.lora(model, ["C2"], 2, rng=0)
    ref_model, _ = _defended()
    ref = nm.lora(ref_model, ["C2"], 2, rng=0)
    th = ad.theta0
    np.testing.assert_allclose(to_host(ad.model.grad(th)), ref.model.grad(ref.theta0),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("call, param, value", [
    (lambda: nm.lora(_defended()[0], ["Z"], 1), "targets", "Z"),
    (lambda: nm.lora(_defended()[0], ["b1"], 1), "targets", "b1"),
    (lambda: nm.lora(_defended()[0], ["W2"], 9), "rank", "9"),
    (lambda: nm.lora(_defended()[0], ["W2"], 1, scale=-1), "scale", "-1"),
    (lambda: nm.lora(nm.Quadratic([1.0]), ["W2"], 1), "model", "Quadratic"),
    (lambda: nm.parallel_adapter(_defended()[0], "Q"), "factor", "Q"),
    (lambda: nm.parallel_adapter(_defended()[0], "W2", rank=0), "rank", "0"),
])
def test_bad_input(call, param, value):
    with pytest.raises(InputError) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg and param in msg and value in msg, msg
