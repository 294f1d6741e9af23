"""Theorem 3: lower bounds on ``σ_1(A B C)`` for a Hessian cross-block ``A·B·C``.

Two forms, both evaluated through the theory registry (``hessian_bound.displayed``, expected
``refuted``; ``hessian_bound.corrected``, expected ``holds``) on the ``(r1, r2)`` grid of
:func:`numerics.cross_block_terms` and maximised (the ``sup`` over ``r1, r2``); the value at the
maximiser comes from ``ctx.proven`` (planted perturbations apply) and is the record's
``proven``.  The kernel's own evaluation :func:`numerics.cross_block_bound` must agree with the
theorem's to ``1e-12`` relative on every random triple, on the best point of every adversarial
start and on every reported instance.  Only the inner loop of the adversarial search ranks
candidates with the kernel alone (about five times cheaper than ``Theorem.evaluate``); nothing
it computes is reported or counted before the theorem has re-evaluated it.

Checks
------
``theorem3.{displayed,corrected}.random``
    Gaussian triples of shapes 1..5, half with rank-deficient ``A`` and/or ``C``, plus triples
    on which the corrected bound is attained with ``rank(B) ≥ 3`` and the ``σ_2(B)`` term in
    play (:func:`.search._tight_triple`) so that a bound inflated by 1 % must be caught.
``theorem3.{displayed,corrected}.adversarial``
    Nelder–Mead (SciPy) maximisation of ``bound/σ_1(ABC)`` from many random starts (for the
    corrected form over ``B`` at least 3×3, penalising ``rank(B) < 2``).
``theorem3.network_blocks.{displayed,corrected}``
    Per-sample Hessian cross-blocks of deep linear nets, 2- and 3-layer ReLU/GELU/tanh MLPs and
    SpecDef layers (:mod:`.network_blocks`), Gauss–Newton and whole block: random draws,
    batched hill climbs over weights, inputs and residuals, shrinking (:mod:`.network_search`);
    one record per family and block with a scoped verdict.
``theorem3.real_hessian_blocks``
    Cross-blocks of real Hessians at zero residual (deep linear θ3–θ1, SpecDef W̃–C), factored
    exactly as ``A·B·C`` and checked against the model's dense Hessian and against our own
    finite differences of the loss; one record per block, ``σ_1(H) ≥ σ_1(block)`` a premise.

Records.  ``empirical = σ_1(ABC)`` and ``proven = bound`` at the reported instance: for a search,
the one with the largest ``bound/σ_1`` (for the corrected form among instances with
``σ_2(B) ≥ 10⁻² σ_1(B)`` and ``B`` at least 3×3: with a rank-one ``B``, or a 2×2 ``B`` between a
row and a column, the bound is attained by construction and cannot fail); for a violation (a
displayed-form counterexample, or a corrected-form one) the instance after
:func:`~.shrink.shrink_counterexample`.  The instance is attached as ``instance``; ``ratio = σ_1/bound`` (below 1: violated).  Statuses: displayed
``REFUTED`` (counterexample) or ``HOLDS`` (none found: fails its expectation); corrected ``TIGHT``
(the worst instance attains the bound: the search is strong enough to catch a 1 % error), ``HOLDS``
or ``VIOLATED``.  Scope: the general-triple records say "refuted on general triples"; the
network-block records say "refuted on <family> blocks" (with the shrunk instance) or "no
counterexample on <family> blocks in N instances (random + adversarial)".

Numerics.  Searches run on the host in float64; the reported instance is re-evaluated from
scratch on the run's backend and dtype.  The kernel forms ``sin θ = sqrt(1 − cos² θ)``, which
near ``θ = 0`` carries an absolute error up to about ``sqrt(n·eps)``; a comparison therefore
allows ``atol = τ·σ_1(A)σ_1(B)σ_1(C)``, ``τ = 2 sqrt(8 n eps) + 16 n eps``, on top of ``rtol``
(recorded as ``rtol + atol/bound``), and the searches maximise the *conservative* ratio
``(bound − atol)/σ_1(ABC)`` so that no round-off artefact can pass for a counterexample.
"""

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 10

# the order of these imports is the order in which the checks are registered (and listed):
# the four searches on general triples, the searches on network blocks, the real Hessian blocks
from .search import (check_corrected_adversarial, check_corrected_random,  # noqa: E402,F401
                     check_displayed_adversarial, check_displayed_random)
from .network_search import check_network_corrected, check_network_displayed  # noqa: E402,F401
from .blocks import check_real_hessian_blocks  # noqa: E402,F401
from .bound import THEOREMS, BoundEvaluation, evaluate_bound  # noqa: E402
from .shrink import shrink_counterexample  # noqa: E402

__all__ = ["shrink_counterexample", "evaluate_bound", "BoundEvaluation", "THEOREMS"]
