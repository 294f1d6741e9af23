"""The SpecDef map itself (docs/theory/specdef.rst): spectra of W̃ and C, and function preservation.

The defence under test is ``ctx.defence(W, alpha, k)`` — SpecDef by default, a user's
function-preserving map otherwise.  ``specdef.weight_spectrum`` is a statement about SpecDef's
spectrum: a user defence runs through it and may legitimately fail it (that is the information:
its W̃ does not have SpecDef's singular values); ``specdef.function_preservation`` applies to any
defence.

Checks
------
``specdef.weight_spectrum``
    ``σ_j(W̃)`` against ``ctx.proven("specdef.weight_spectrum", sigma=σ_j(W), alpha, j, k)`` for
    every j, over square, tall and wide W, ``k ∈ {1, r/2, r}`` and α up to 1e8.  The singular
    values of W are prescribed (geometric over two decades, with a tie ``σ_{r/2} = σ_{r/2+1}``
    at the k boundary, where the inflated subspace is not unique: the adversarial case).  A
    second record compares the eigenvalues of C with ``1/T_jj = sigma/bound`` at ``sigma = 1``.
``specdef.function_preservation``
    ``‖fl(C fl(W̃X)) − WX‖_F/(‖W‖_2‖X‖_F)`` (from :func:`numerics.reconstruction_error`,
    renormalised on the host) against the first-order model ``c·α·u``, in float32 AND float64
    whatever ``ctx.dtype``, for α = 1, 10, …, 1e12.  See the check's docstring for the records.

Tolerances (all from :mod:`specdef.validation.engine.tolerance`).  The SVD of W̃ in the run's dtype
has an absolute error of about ``n·u·σ_1(W̃)`` (``n = max(m, n)``), so ``σ_j(W̃)`` is compared with
``accumulated_rtol(dtype, n, kappa=σ_1(W̃)/σ_j(W̃))`` — the ``c·u·α·σ_1/σ_j`` of the brief with
``c = 8n``.  The entries of C carry an absolute error ``u``, so its eigenvalue ``1/α`` is compared
with ``accumulated_rtol(dtype, m, kappa=α)``.  A point whose tolerance exceeds
:func:`~specdef.validation.checks.common.resolution_limit` (= ``rtol("float32")``, 1.4e-3, the
coarsest comparison tolerance of the toolkit) cannot resolve a 1 % error; it is kept in ``data``
(``resolved = False``) and left out of the verdict; a record with no resolved point is ``ERROR``
(premise failed numerically).

Records report the *worst* point: the one with the largest normalised deviation
``|empirical − proven|/(rtol·|proven|)`` (signed for one-sided bounds, see
:func:`~specdef.validation.checks.common.pick_worst`), so a record passes iff every resolved point
passes.
"""

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 40

from .weights import check_function_preservation, check_weight_spectrum  # noqa: E402

__all__ = ["check_weight_spectrum", "check_function_preservation"]
