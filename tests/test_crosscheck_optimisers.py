"""The practical optimisers against optax (JAX, 64-bit) on the same problem: trajectories to 1e-12.

Part of the ``crosscheck`` extra: skipped cleanly when optax (or JAX) is not installed.  The
problem is a SpecDef layer ``f(x) = C W̃ x`` with both blocks trained (α = 3, 4×6 weight, 20
samples); 100 updates; the recorded loss at every step and the final parameters are compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

from specdef import numerics as nm  # noqa: E402

STEPS = 100
RTOL = 1e-12


def _problem(seed: int = 0, alpha: float = 3.0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((4, 6))
    X = rng.standard_normal((6, 20))
    Y = rng.standard_normal((4, 20))
    Wt, C = nm.specdef(W, alpha, 2)
    return nm.SpecDefLayer(Wt, C, X, Y), Wt, C, X, Y


def _optax_run(tx, Wt, C, X, Y, steps=STEPS):
    params = {"W": jnp.asarray(Wt), "C": jnp.asarray(C)}
    Xj, Yj, n = jnp.asarray(X), jnp.asarray(Y), X.shape[1]

    def loss(p):
        R = p["C"] @ (p["W"] @ Xj) - Yj
        return 0.5 * jnp.sum(R * R) / n

    vg = jax.jit(jax.value_and_grad(loss))
    state = tx.init(params)
    losses = []

    @jax.jit
    def step(params, state):
        _, g = vg(params)
        upd, state = tx.update(g, state, params)
        return optax.apply_updates(params, upd), state

    for _ in range(steps):
        losses.append(float(vg(params)[0]))
        params, state = step(params, state)
    losses.append(float(vg(params)[0]))
    return np.asarray(losses), params


def _ours(fn, model, lr, **kw):
    return fn(model, model.theta0, lr, max_steps=STEPS, tol=1e-300, **kw)


def _max_rel(res, model, ref_losses, ref_params):
    assert res.status == "max_steps", res
    assert res.loss.shape == ref_losses.shape
    d_loss = float(np.max(np.abs(res.loss - ref_losses) / np.abs(ref_losses)))
    blocks = model.unpack(res.theta)
    d_par = max(float(np.linalg.norm(blocks[k] - np.asarray(ref_params[k]))
                      / np.linalg.norm(np.asarray(ref_params[k]))) for k in ("W", "C"))
    return max(d_loss, d_par)


def _sched(lr, W=10, T=STEPS, final=0.1):
    def s(count):
        k = count.astype(jnp.float64) if hasattr(count, "astype") else float(count)
        prog = jnp.minimum(1.0, (k - W) / (T - W))
        cos = final + (1 - final) * 0.5 * (1 + jnp.cos(math.pi * prog))
        return lr * jnp.where(k < W, (k + 1) / W, cos)
    return s


CASES = {
    "sgd": (lambda: optax.sgd(0.01, momentum=0.9),
            lambda m: _ours(nm.sgd_momentum, m, 0.01, momentum=0.9)),
    "nesterov": (lambda: optax.sgd(0.01, momentum=0.9, nesterov=True),
                 lambda m: _ours(nm.sgd_momentum, m, 0.01, momentum=0.9, nesterov=True)),
    "sgd_clip": (lambda: optax.chain(optax.clip_by_global_norm(0.5),
                                     optax.sgd(0.01, momentum=0.9)),
                 lambda m: _ours(nm.sgd_momentum, m, 0.01, momentum=0.9, clip=0.5)),
    "adam": (lambda: optax.adam(1e-2),
             lambda m: _ours(nm.adam, m, 1e-2)),
    "adam_warmup_cosine": (lambda: optax.adam(_sched(1e-2)),
                           lambda m: _ours(nm.adam, m, 1e-2,
                                           schedule=nm.warmup_cosine_schedule(10, STEPS,
                                                                              final=0.1))),
    "adamw": (lambda: optax.adamw(1e-2, weight_decay=0.05),
              lambda m: _ours(nm.adamw, m, 1e-2, weight_decay=0.05)),
    "adamw_clip": (lambda: optax.chain(optax.clip_by_global_norm(0.3),
                                       optax.adamw(1e-2, weight_decay=0.05)),
                   lambda m: _ours(nm.adamw, m, 1e-2, weight_decay=0.05, clip=0.3)),
}


# Muon's update has norm ~η whatever the gradient: at η = 1e-2 this problem reaches its noise
# floor within 100 steps, where Newton–Schulz (p'(0) = 3.44 per step) amplifies last-bit
# differences chaotically (1e-11 at step 100); η = 3e-3 is still descending at step 100.
MUON_LR = 3e-3


def _muon_tx(nesterov, wd=0.0):
    dims = {"W": optax.contrib.MuonDimensionNumbers(reduction_axis=1, output_axis=0),
            "C": optax.contrib.MuonDimensionNumbers(reduction_axis=1, output_axis=0)}
    return optax.contrib.muon(MUON_LR, beta=0.95, nesterov=nesterov, weight_decay=wd,
                              muon_weight_dimension_numbers=dims)


CASES.update({
    "muon": (lambda: _muon_tx(True),
             lambda m: _ours(nm.muon, m, MUON_LR, bias_correction=True)),
    "muon_no_nesterov": (lambda: _muon_tx(False),
                         lambda m: _ours(nm.muon, m, MUON_LR, nesterov=False,
                                         bias_correction=True)),
    "muon_weight_decay": (lambda: _muon_tx(True, 0.1),
                          lambda m: _ours(nm.muon, m, MUON_LR, bias_correction=True,
                                          weight_decay=0.1)),
})

RESULTS: dict = {}


@pytest.mark.parametrize("name", list(CASES))
def test_trajectory_matches_optax(name):
    model, Wt, C, X, Y = _problem()
    make_tx, run = CASES[name]
    ref_losses, ref_params = _optax_run(make_tx(), Wt, C, X, Y)
    res = run(model)
    err = _max_rel(res, model, ref_losses, ref_params)
    RESULTS[name] = err
    # the run moved: the comparison is not between two copies of θ_0
    assert abs(res.loss[-1] - res.loss[0]) > 1e-3 * res.loss[0]
    assert err <= RTOL, f"{name}: max relative difference {err:.3g} > {RTOL:g}"


def test_muon_torch_convention_differs_from_optax_only_by_momentum_weighting():
    """Without Nesterov the bias correction is a scalar, which Newton–Schulz normalises away."""
    model, Wt, C, X, Y = _problem()
    ref_losses, ref_params = _optax_run(_muon_tx(False), Wt, C, X, Y)
    res = _ours(nm.muon, model, MUON_LR, nesterov=False, bias_correction=False, eps=1e-30)
    # the eps placement differs (eps vs eps·(1-μ^t)); with eps→0 the two agree to rounding
    assert _max_rel(res, model, ref_losses, ref_params) <= 1e-6


def test_muon_with_vector_blocks_matches_optax():
    """Biases are not matrices: Muon hands them to (Nesterov) AdamW, in optax as here."""
    rng = np.random.default_rng(1)
    W1, W2 = rng.standard_normal((5, 3)), rng.standard_normal((2, 5))
    b1, b2 = rng.standard_normal(5), rng.standard_normal(2)
    X, Y = rng.standard_normal((3, 16)), rng.standard_normal((2, 16))
    net = nm.MLP([W1, W2], X, Y, activation="tanh", biases=[b1, b2])
    res = nm.muon(net, net.theta0, MUON_LR, bias_correction=True, max_steps=STEPS, tol=1e-300)
    params = {k: jnp.asarray(v) for k, v in net.params0.items()}
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

    def loss(p):
        h = jnp.tanh(p["W1"] @ Xj + p["b1"][:, None])
        R = p["W2"] @ h + p["b2"][:, None] - Yj
        return 0.5 * jnp.sum(R * R) / X.shape[1]

    dims = {k: (optax.contrib.MuonDimensionNumbers(reduction_axis=1, output_axis=0)
                if k.startswith("W") else None) for k in params}
    tx = optax.contrib.muon(MUON_LR, beta=0.95, muon_weight_dimension_numbers=dims)
    vg = jax.jit(jax.value_and_grad(loss))
    state = tx.init(params)
    losses = []
    for _ in range(STEPS):
        val, g = vg(params)
        losses.append(float(val))
        upd, state = tx.update(g, state, params)
        params = optax.apply_updates(params, upd)
    losses.append(float(vg(params)[0]))
    err = float(np.max(np.abs(res.loss - np.asarray(losses)) / np.asarray(losses)))
    P = net.unpack(res.theta)
    err = max(err, *(float(np.linalg.norm(P[k] - np.asarray(params[k])) /
                           np.linalg.norm(np.asarray(params[k]))) for k in params))
    RESULTS["muon_with_biases"] = err
    assert err <= RTOL, err
