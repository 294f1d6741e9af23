"""
A certificate
=============

A theorem in the registry is data: ``prove()`` returns a verdict that says *how* it was decided
— proved symbolically, refuted with a counterexample, or only checked numerically. Here the
worst-case loss of gradient descent over quadratics with spectrum in ``[μ, L]`` is certified in
three independent ways: SymPy's proof of the closed form, a positive-coefficient certificate of
one inequality the proof needs, and a brute-force maximisation over a fine grid of eigenvalues.
"""

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

from specdef import theory

th = theory.get("gd.quadratic.worst_case_value")
verdict = th.prove()
print(f"{th.id}: {verdict.status} [{verdict.method}]")
print(verdict.detail)

# The interior critical point lam1 = 1/(step (2n + 1)) lies below the zero 1/step of
# (1 - step*lam): 1/step - lam1 >= 0 for all positive step and n, certified by the signs of
# the coefficients of numerator and denominator.
step, n = sp.symbols("step n", positive=True)
gap = 1 / step - 1 / (step * (2 * n + 1))
print("1/step - lam1 >= 0 certified:", theory.certify_nonnegative(sp.together(gap)))

mu, L, eta = 0.01, 1.0, 1.0
ns = np.unique(np.logspace(0, 3, 25).astype(int))
closed = [th.evaluate(mu=mu, L=L, step=eta, n=int(k)) for k in ns]
lam = np.linspace(mu, L, 20001)
brute = [np.max(lam / 2 * (1 - eta * lam) ** (2 * k)) for k in ns]

fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
ax.loglog(ns, closed, "k--", lw=1, label=f"closed form (registry: {verdict.status})")
ax.loglog(ns, brute, "o", mfc="none", color="C0", label="max over a grid of 20 001 eigenvalues")
ax.set_xlabel("number of GD steps n")
ax.set_ylabel(r"worst-case $f(x_n) - f^\star$")
ax.set_title(rf"$\mu = {mu:g}$, $L = {L:g}$, $\eta = {eta:g}$, $\|x_0 - x^\star\| = 1$")
ax.legend(fontsize=8)
print("largest relative difference:", max(abs(b - c) / c for b, c in zip(brute, closed)))
