"""Theorem 3 (THEORY §5): lower bounds on ``σ_1(A B C)`` for a Hessian cross-block ``A·B·C``.

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
    on which the bound is attained (rank-one ``B`` aligned with ``A`` and ``C``, or row-vector
    ``A`` and column-vector ``C``) so that a bound inflated by 1 % must be caught.
``theorem3.{displayed,corrected}.adversarial``
    Nelder–Mead (SciPy) maximisation of ``bound/σ_1(ABC)`` from many random starts.
``theorem3.real_hessian_blocks``
    Cross-blocks of real Hessians at zero residual (deep linear θ3–θ1, SpecDef W̃–C), factored
    exactly as ``A·B·C`` and checked against the model's dense Hessian and against our own
    finite differences of the loss; one record per block, ``σ_1(H) ≥ σ_1(block)`` a premise.

Records.  ``empirical = σ_1(ABC)`` and ``proven = bound`` at the reported instance: for a
search, the one with the largest ``bound/σ_1``; for a violation (a displayed-form
counterexample, or a corrected-form one) the instance after :func:`shrink_counterexample`.  The
instance is attached as ``instance``; ``ratio = σ_1/bound`` (below 1: violated).  Statuses:
displayed ``REFUTED`` (counterexample) or ``HOLDS`` (none found: fails its expectation);
corrected ``TIGHT`` (the worst instance attains the bound: the search is strong enough to catch
a 1 % error), ``HOLDS`` or ``VIOLATED``.

Numerics.  Searches run on the host in float64; the reported instance is re-evaluated from
scratch on the run's backend and dtype.  The kernel forms ``sin θ = sqrt(1 − cos² θ)``, which
near ``θ = 0`` carries an absolute error up to about ``sqrt(n·eps)``; a comparison therefore
allows ``atol = τ·σ_1(A)σ_1(B)σ_1(C)``, ``τ = 2 sqrt(8 n eps) + 16 n eps``, on top of ``rtol``
(recorded as ``rtol + atol/bound``), and the searches maximise the *conservative* ratio
``(bound − atol)/σ_1(ABC)`` so that no round-off artefact can pass for a counterexample.
"""

from __future__ import annotations

import numpy as np

from .._records import Status
from .._registry import Context, check
from .._shrink import shrink_counterexample
from .._tolerance import rtol as dtype_rtol
from ._theorem3_blocks import _block_record, _deep_linear_block, _specdef_blocks
from ._theorem3_bound import (THEOREMS, BoundEvaluation, evaluate_bound,  # noqa: F401
                              evaluate_bounds, format_instance)
from ._theorem3_search import CAP, _adversarial_search, _random_search  # noqa: F401

__all__ = ["shrink_counterexample", "evaluate_bound", "BoundEvaluation", "THEOREMS"]


# ---------------------------------------------------------------------------------- records
def _record(ctx: Context, check_id: str, variant: str, found: dict, what: str) -> list:
    """Re-evaluate the search's best triple on ctx's backend/dtype and build the record."""
    tid, tol = THEOREMS[variant], dtype_rtol(ctx.dtype)
    triple = tuple(np.asarray(m, dtype=float) for m in found["best"])
    params, data = dict(found["params"]), dict(found["data"])
    data.update(search_best_excess=found["best_excess"], n_violations=found["n_violations"],
                search_shape=[int(triple[0].shape[0]), *(int(m.shape[1]) for m in triple)])
    candidates = [triple]
    if found["best_excess"] > 1 + dtype_rtol("float64"):
        try:
            candidates.insert(0, shrink_counterexample(*triple, variant=variant, ctx=ctx))
        except ValueError as exc:  # not shrinkable under the margin: keep the original
            data["shrink"] = str(exc)
    for A, B, C in candidates:
        ev = evaluate_bound(ctx, variant, *(ctx.asarray(m) for m in (A, B, C)))
        rtol_eff = tol + ev.atol / abs(ev.bound) if ev.bound != 0 else tol
        inst = format_instance(A, B, C, ev)
        if ev.excess > 1 + tol:
            break
    violated = ev.excess > 1 + tol
    summary = (f"{found['n_violations']} of {params.get('n_triples', params.get('n_starts'))} "
               f"{what} violate")
    if variant == "displayed":
        status = Status.REFUTED if violated else Status.HOLDS
        detail = (f"{inst['text']}: bound {ev.bound:.4g} > σ1 {ev.sigma1:.4g}; {summary}"
                  if violated else f"no counterexample: max bound/σ1 {ev.ratio:.6g}; {summary}")
        return [ctx.result(check_id, tid, params, ev.sigma1, ev.bound, rtol=rtol_eff,
                           status=status, detail=detail, instance=inst["instance"], data=data)]
    detail = (f"max bound/σ1 {ev.ratio:.9g} at r1={ev.r1}, r2={ev.r2}; {summary}"
              + (f"; {inst['text']}" if violated else ""))
    return [ctx.result(check_id, tid, params, ev.sigma1, ev.bound, rtol=rtol_eff,
                       detail=detail, instance=inst["instance"], data=data)]


def _make(variant: str, search: str):
    finder = _random_search if search == "random" else _adversarial_search
    what = "triples" if search == "random" else "starts"
    cid = f"theorem3.{variant}.{search}"
    claim = ("refuted under our angle reading: a counterexample must be found"
             if variant == "displayed" else "holds: no triple may violate it")
    desc = (f"{variant} Theorem-3 bound vs σ1(ABC): "
            + ("random triples incl. rank-deficient and tight ones" if search == "random"
               else "Nelder-Mead maximisation of bound/σ1 from random starts"))

    @check(cid, THEOREMS[variant], desc, claim="C1")
    def run(ctx: Context) -> list:
        return _record(ctx, cid, variant, finder(ctx, variant), what)

    run.__doc__ = f"{desc} ({claim})."
    return run


check_displayed_random = _make("displayed", "random")
check_corrected_random = _make("corrected", "random")
check_displayed_adversarial = _make("displayed", "adversarial")
check_corrected_adversarial = _make("corrected", "adversarial")


# ---------------------------------------------------------------------------------- real blocks
@check("theorem3.real_hessian_blocks", THEOREMS["corrected"],
       "corrected bound on real Hessian cross-blocks (deep linear θ3-θ1, SpecDef W̃-C)",
       claim="C1")
def check_real_hessian_blocks(ctx: Context) -> list:
    """σ_1(H) ≥ σ_1(cross-block) ≥ corrected bound, one record per block."""
    return [_block_record(ctx, blk) for blk in [_deep_linear_block(ctx), *_specdef_blocks(ctx)]]
