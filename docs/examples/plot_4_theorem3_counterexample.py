"""
A Theorem-3 counterexample
==========================

The displayed form of the paper's Theorem 3 claims
``σ_1(ABC) ≥ σ_r1(A) σ_1(B) σ_r2(C) cos θ_1 cos θ_2``. With our reading of the angles it fails:
the registry's exact counterexample has ``σ_1(ABC) = 2/25`` but a bound of ``18/25``. The
corrected form subtracts ``σ_r1(A) σ_r2(C) σ_2(B) sin θ_1 sin θ_2`` and is attained on it.
Random small triples, half of them with a rank-one ``A``, show how often the displayed form
fails and that the corrected one never does.
"""

import matplotlib.pyplot as plt
import numpy as np

from specdef import numerics as nm
from specdef import theory

ce = theory.exact_counterexample()
A, B, C = (np.array(ce[key].tolist(), dtype=float) for key in "ABC")
for variant in nm.BOUND_VARIANTS:
    b = nm.cross_block_bound(A, B, C, variant)
    print(f"{variant:9s}: bound {b.value:.4f}  vs  sigma_1(ABC) {b.sigma1_ABC:.4f}")
print("registry verdict:", theory.get("hessian_bound.displayed").prove().status)

rng = np.random.default_rng(3)
points = {v: [] for v in nm.BOUND_VARIANTS}
for i in range(300):
    p, q, s, t = rng.integers(1, 5, size=4)
    A = rng.standard_normal((p, q))
    if i % 2:  # rank-one A: where the displayed form fails most often
        A = np.outer(rng.standard_normal(p), rng.standard_normal(q))
    B, C = rng.standard_normal((q, s)), rng.standard_normal((s, t))
    for v in nm.BOUND_VARIANTS:
        b = nm.cross_block_bound(A, B, C, v)
        points[v].append((b.sigma1_ABC, b.value))

fig, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
lim = [1e-3, 1e2]
ax.fill_between(lim, lim, [lim[1]] * 2, color="C3", alpha=0.08, label="bound > σ_1: violated")
ax.plot(lim, lim, "k-", lw=0.8)
for v, style in [("displayed", dict(marker="o", color="C3", ms=3, ls="none")),
                 ("corrected", dict(marker="o", mfc="none", color="C0", ms=4, ls="none"))]:
    s1, bd = np.array(points[v]).T
    keep = (s1 > 0) & (bd > 0)
    bad = np.sum(bd > s1 * (1 + 1e-9))
    ax.plot(s1[keep], bd[keep], label=f"{v}: {bad}/{len(s1)} violate", **style)
ax.plot([2 / 25], [18 / 25], "k*", ms=12, label="exact counterexample (displayed)")
ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim, xlabel="σ_1(ABC)",
       ylabel="Theorem-3 lower bound")
ax.legend(fontsize=7, loc="lower right")
