"""
Your own property check
=======================

A theorem from the registry can be turned into a property test of your own code. Installing
the toolkit registers a pytest plugin whose fixture ``assert_theorem`` compares a measured value
with the theorem's bound according to its kind (upper, lower, exact, tight) and the dtype's
tolerance; :mod:`specdef.validation.strategies` builds inputs that satisfy the theorem's
hypotheses. In a test file::

    from hypothesis import given, settings
    from specdef.validation.strategies import quadratics

    @settings(deadline=None)
    @given(quadratics(max_n=6, min_kappa=2.0, max_kappa=1e4))
    def test_gd_contracts_as_proven(assert_theorem, q):
        ...  # the body below, with assert_theorem from the fixture

The same comparison is :func:`specdef.validation.assert_theorem`, used directly here on random
quadratics: the measured per-step contraction of gradient descent never exceeds
``max(|1 − ημ|, |1 − ηL|)``, and equals it when the start lies on the eigenvector of the end of
the spectrum that realises the maximum.
"""

import matplotlib.pyplot as plt
import numpy as np

from specdef import numerics as nm
from specdef.validation import assert_theorem

rng = np.random.default_rng(5)
rows = []
for trial in range(40):
    n = int(rng.integers(2, 7))
    lam = np.sort(rng.uniform(1.0, 10.0 ** rng.uniform(0.5, 4), size=n))
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = Q @ np.diag(lam) @ Q.T
    mu, L = lam[0], lam[-1]
    step = rng.uniform(0.2, 1.9) / L
    binding = Q[:, 0] if abs(1 - step * mu) >= abs(1 - step * L) else Q[:, -1]
    start = binding if trial % 2 else rng.standard_normal(n)    # the binding mode, or random
    e = start.copy()
    for _ in range(5):
        e = e - step * (H @ e)                                     # GD on the error
    measured = (np.linalg.norm(e) / np.linalg.norm(start)) ** (1 / 5)
    # tight theorem: from the binding mode the bound must be attained; a random start may
    # contract faster (LOOSE), which is allowed for it
    verdict = assert_theorem("gd.quadratic.contraction", measured, mu=mu, L=L, step=step,
                             allow_loose=not trial % 2)
    proven = max(abs(1 - step * mu), abs(1 - step * L))
    rows.append((proven, measured, trial % 2))
print("every assertion passed; last verdict:", verdict)

proven, measured, on_mode = np.array(rows).T
fig, ax = plt.subplots(figsize=(4.6, 4), layout="constrained")
ax.plot([0, 1], [0, 1], "k-", lw=0.8)
ax.plot(proven[on_mode == 1], measured[on_mode == 1], "o", color="C0",
        label="start on the binding eigenvector")
ax.plot(proven[on_mode == 0], measured[on_mode == 0], "s", mfc="none", color="C1",
        label="random start")
ax.set(xlabel="proven contraction max(|1−ημ|, |1−ηL|)", ylabel="measured contraction",
       xlim=(0, 1.02), ylim=(0, 1.02))
ax.legend(fontsize=8)
