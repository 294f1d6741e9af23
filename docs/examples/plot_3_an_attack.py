"""
An attack: additive injection undoes SpecDef
============================================

The attacker keeps the defended block ``x ↦ C W̃ x`` frozen and trains a new matrix ``Δ`` in
parallel, started at zero: ``x ↦ C W̃ x + Δ x``. Because ``C W̃ = W``, the attacker's loss is
``L(W + Δ)`` — exactly the undefended fine-tuning problem, for every ``α``. Gradient descent
on the defended layer (compensation frozen) crawls; on the injected matrix it follows the
undefended run step for step, at the price of one extra copy of the layer.
"""

import matplotlib.pyplot as plt
import numpy as np

from specdef import numerics as nm

rng = np.random.default_rng(2)
d, n, k, alpha = 4, 32, 1, 100.0
X = rng.standard_normal((d, n)) * np.linspace(1.0, 2.0, d)[:, None]
W = rng.standard_normal((d, d))
Y = (W + 0.3 * rng.standard_normal((d, d))) @ X            # the fine-tuning target
W_inf, C = nm.specdef(W, alpha, k=k)
steps = 400

undefended = nm.LinearRegression(X, Y)
eta = 1 / np.linalg.eigvalsh(undefended.Sigma_x).max()       # 1/λ_max: stable for all three
runs = {"undefended": (undefended, W.reshape(-1, order="F"))}
defended = nm.SpecDefLayer(W_inf, C, X, Y, train=("W",))
runs["defended (C frozen)"] = (defended, defended.theta0)
attack = nm.additive_injection(W_inf, C, X, Y)
runs["additive injection"] = (attack.model, attack.theta0)

fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
for (name, (model, theta0)), style in zip(runs.items(), ["k-", "C3-", "C0--"]):
    res = nm.gradient_descent(model, theta0, eta, max_steps=steps, tol=1e-20)
    gap = np.maximum(res.loss - model.loss_star, 1e-30)  # rounding can make it <= 0
    ax.semilogy(res.record_steps, gap, style, label=f"{name}")
    print(f"{name:22s} loss gap after {steps} steps: {gap[-1]:.3e}")
ax.set_xlabel("gradient-descent step")
ax.set_ylabel("loss gap L(θ_t) − L*")
ax.set_title(f"α = {alpha:g}: the attack retraces the undefended run\n"
             f"(parameter overhead {attack.overhead:.0%})", fontsize=10)
ax.legend(fontsize=8)
