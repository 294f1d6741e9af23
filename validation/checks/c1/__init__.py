"""Claim C1 (docs/theory/hessian.rst): a SpecDef layer slows first-order optimisation.

The model is the SpecDef layer ``f(x) = C W̃ x`` with loss ``(1/2n)‖C W̃ X − Y‖²_F``
(:class:`numerics.SpecDefLayer`), ``(W̃, C) = ctx.defence(W, alpha, k)``.  Instances are built so
that the bounds can be attained: ``X = Q diag(√(nλ)) Pᵀ`` gives ``Σ_x = Q diag(λ) Qᵀ`` with a
prescribed spectrum (``κ(Σ_x) = 10``), and for the joint checks ``Q = V`` (the right singular
vectors of W), the instance on which ``σ_1(W̃Σ_xW̃ᵀ) = α²σ_1(W)²v_1ᵀΣ_xv_1`` exactly.

Checks
------
``c1.spectrum.frozen``  (``specdef.hessian.frozen_compensation``, exact)
    C frozen, W̃ trained.  ``λ_min(H)`` from :func:`numerics.frozen_compensation_spectrum` vs
    ``lam_min/alpha²`` (``lam_min, lam_max`` of the undefended ``Σ_x ⊗ I``); ``σ_1(H)`` vs the
    undefended ``λ_max`` (kind exact); and the structure vs the matrix-free eigensolver
    (:func:`numerics.extreme_eigenvalues` on the model's HVPs) and, at small d, a dense ``eigh``.
``c1.spectrum.joint``  (``specdef.hessian.sigma1_growth``, lower)
    Both trained, zero residual.  ``σ_1`` from :func:`numerics.joint_spectrum_zero_residual` vs
    ``alpha²·σ_1(W)²·v_1ᵀΣ_xv_1`` on the aligned (tight) and a random-``Σ_x`` instance; the
    structure vs the eigensolver (largest, and smallest nonzero with the gauge directions
    deflated) and a dense ``eigh`` at small d.
``c1.gd_steps.frozen``  (``specdef.gd_slowdown.frozen_compensation``, tight)
    Worst-case GD steps to ``‖e_t‖ ≤ eps‖e_0‖`` at the theorem's step ``1/λ_max`` (start on the
    bottom eigenvector), defended / undefended, from :func:`numerics.steps_to_tolerance_quadratic`
    on the structured spectra (exact), confirmed by simulating :func:`numerics.gradient_descent`
    at the smallest α.  The attacker's best step (``best_step_sweep`` over a grid containing
    ``1/λ_max`` and ``2/(λ_min+λ_max)``, worst of the two extreme starts) is reported in ``data``.
``c1.gd_steps.joint``  (``specdef.hessian.sigma1_growth``, step ceiling ``2/bound``)
    Both trained, non-convex.  (a) Largest stable step: bisection on η of GD from the released
    point displaced along the top Hessian eigenvector (the worst-case start for stability), on the
    loss whose minimum is the released model; *stable* means the loss does not rise over the
    first steps.  Compared with ``derived["step_ceiling"] = 2/bound`` as an upper bound.
    (b) Fine-tuning towards ``W' = W + ΔW`` (``Y = W'X``) from the released point: a step sweep
    (the attacker's best step), steps vs α and their log-log slope (data only:
    docs/theory/hessian.rst reports faster than α², which is a measurement, not a theorem).

A user defence runs through every check.  The frozen-C checks hold for any defence whose C has
singular values ``{1/α, 1}`` (the diagonal rescaling does); the σ_1-growth theorem is about
SpecDef's W̃ and may legitimately fail for another map (informative, not a bug).

Tolerances (all from :mod:`specdef.validation.engine.tolerance`): structured eigenvalues carry the
error of C's entries (absolute ``u``), so ``1/α²`` is known to
``accumulated_rtol(dtype, m, kappa=α)``; an eigenvalue λ of an operator with top eigenvalue σ_1 from
an eigensolver or dense ``eigh`` to ``accumulated_rtol(dtype, n_params, kappa=σ_1/λ)`` plus its
residual ``‖Hv − λv‖/λ`` (a rigorous distance to the spectrum).  Step counts: see
:func:`.steps._count_allowance`.  Points whose tolerance exceeds
:func:`~specdef.validation.checks.common.resolution_limit` are unresolved in the run's dtype: kept
in ``data``, left out of the verdict (a record with none is ``ERROR``).
"""

from __future__ import annotations

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 50

# the order of these imports is the order in which the checks are registered (and listed)
from .instances import alpha_exponent, c1_instance  # noqa: E402
from .spectrum import check_spectrum_frozen, check_spectrum_joint  # noqa: E402,F401
from .steps import check_gd_steps_frozen, check_gd_steps_joint  # noqa: E402,F401

__all__ = ["c1_instance", "alpha_exponent"]
