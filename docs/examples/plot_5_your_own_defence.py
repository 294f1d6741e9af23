"""
Your own defence
================

Every check of claims C1–C3 accepts any function-preserving layer map
``defence(W, alpha, k) -> (W_inflated, C)`` with ``C @ W_inflated == W``. Here three are
compared on one layer, with the compensation frozen: SpecDef, the diagonal rescaling shipped in
:mod:`specdef.validation.defences`, and a naive defence written below that scales the whole
layer by ``α``. What matters to gradient descent is the condition number of the Hessian
``Σ_x ⊗ CᵀC``: the uniform scaling multiplies every eigenvalue by ``1/α²`` and leaves the
condition number — hence the step count at the best step size — unchanged. A defence has to
inflate *some* directions and not others. With ``C`` frozen, SpecDef and the diagonal
rescaling both multiply the condition number by ``α²`` (their curves coincide); they differ
when ``C`` is trained too, which the C1 checks measure.

To run the toolkit's checks on your own map, put it in a module and pass it on the command
line::

    specdef check c1 c3 --defence my_defences.py:uniform_scaling
"""

import matplotlib.pyplot as plt
import numpy as np

from specdef import numerics as nm
from specdef.validation.defences import diagonal_rescaling


def uniform_scaling(W, alpha, k):
    """Scale the whole layer: ``W_inflated = alpha W``, ``C = I / alpha`` (``k`` is ignored)."""
    return alpha * W, np.eye(W.shape[0]) / alpha


defences = {"SpecDef": nm.specdef, "diagonal rescaling": diagonal_rescaling,
             "uniform scaling (ours)": uniform_scaling}
rng = np.random.default_rng(4)
d, n, k = 5, 40, 2
X = rng.standard_normal((d, n)) * np.linspace(1.0, 2.0, d)[:, None]
W = rng.standard_normal((d, d))
alphas = np.logspace(0, 4, 9)
kappa0 = nm.linear_regression_spectrum(X, m=d).condition_number

fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
styles = [dict(marker="o", ms=8, mfc="none"), dict(marker="s", ms=3), dict(marker="D", ms=3)]
for (name, defence), style in zip(defences.items(), styles):
    kappas = []
    for alpha in alphas:
        W_inf, C = defence(W, alpha, k)
        assert np.allclose(C @ W_inf, W, atol=1e-9 * alpha)   # function preserved
        kappas.append(nm.frozen_compensation_spectrum(X, C).condition_number / kappa0)
    ax.loglog(alphas, kappas, "-", label=name, **style)
ax.loglog(alphas, alphas**2, "k--", lw=0.8, label="α²")
ax.set_xlabel("inflation factor α")
ax.set_ylabel("κ(H) / κ(H undefended)   (C frozen)")
ax.set_title("Which defences slow gradient descent?")
ax.legend(fontsize=8)
