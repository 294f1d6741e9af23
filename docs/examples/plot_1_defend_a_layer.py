"""
Defend a layer and look at its Hessian spectrum
===============================================

SpecDef multiplies the top ``k`` singular values of a weight ``W`` by ``α`` and appends a
compensation ``C`` with ``C W̃ = W``: the layer computes the same function. Fine-tuning ``W̃``
with ``C`` frozen is a least-squares problem whose Hessian is ``Σ_x ⊗ CᵀC``; its eigenvalues
are those of the undefended Hessian ``Σ_x ⊗ I`` scaled by ``1`` or ``1/α²``. The largest
eigenvalue — which limits the step size — does not move, while the smallest drops by ``α²``.
"""

import matplotlib.pyplot as plt
import numpy as np

from specdef import numerics as nm

rng = np.random.default_rng(0)
d, n, k = 6, 48, 2
X = rng.standard_normal((d, n)) * np.linspace(1.0, 2.0, d)[:, None]  # Σ_x = X Xᵀ / n
W = rng.standard_normal((d, d))

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
before = nm.linear_regression_spectrum(X, m=d).expand()
ax.plot(np.arange(before.size), np.sort(before)[::-1], "k.-", label="undefended")
for alpha, colour in [(10.0, "C0"), (100.0, "C1"), (1000.0, "C2")]:
    W_inf, C = nm.specdef(W, alpha, k=k)
    print(f"alpha={alpha:g}: max |C W_inf - W| = {np.abs(C @ W_inf - W).max():.1e}")
    lam = np.sort(nm.frozen_compensation_spectrum(X, C).expand())[::-1]
    ax.plot(np.arange(lam.size), lam, ".-", color=colour, label=f"SpecDef, α = {alpha:g}")
ax.set_yscale("log")
ax.set_xlabel("eigenvalue index (descending)")
ax.set_ylabel("Hessian eigenvalue")
ax.set_title("C frozen: same largest eigenvalue, smallest divided by α²")
ax.legend(fontsize=8)
