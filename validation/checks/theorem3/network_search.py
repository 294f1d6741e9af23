"""Counterexample search for Theorem 3 on per-sample Hessian cross-blocks of small networks.

For every family of :mod:`.network_blocks` and every block it has (``gn``: the Gauss–Newton
block, which is the whole block at zero residual; ``full``: the whole block at a non-zero
residual), the search

1. draws random instances (``n_random``, in groups of one shape, evaluated as one batch each);
2. climbs from the best random instances of a few shapes: ``chains`` parallel stochastic hill
   climbs over weights, biases, the input and the residual (Gaussian proposals with a step size
   per chain, grown on success and shrunk on failure), all chains of a shape one batch per step;
3. shrinks a violating instance (:func:`shrink_network_instance`): deletes inputs, hidden units
   and outputs, then rounds entries to short decimals, keeping the violation, a gap of at least
   half the original and, for ReLU, every pre-activation away from the kink.

The objective is the conservative ratio ``(bound − atol)/σ_1(block)`` of
:mod:`specdef.validation.checks.theorem3`; a ReLU instance with a pre-activation within
``KINK · max|z|`` of 0 (where the Hessian does not exist) is neither a candidate nor counted.
For the corrected form the climb maximises it over instances with ``rank(B) ≥ 2``
(``σ_2(B) ≥ 10⁻² σ_1(B)``) and ``B`` at least 3×3 only, so that an attained bound is one where
the ``σ_2(B)`` term is in play; any instance counts as a violation.

Expectations.  The corrected form is a theorem: ``holds`` everywhere.  The displayed form
``holds`` where :attr:`.network_blocks.Family.displayed_proof` gives the proof (deep linear,
2-layer MLP and SpecDef blocks: a factor with a single singular value makes one angle 1); on
3-layer MLP blocks it is expected ``refuted``: the general-triple counterexample ``A = [1 0]``,
``B = [[0, .2], [.5, −.4]]``, ``C = [1 0]ᵀ`` embeds in a ReLU MLP with ``d_3 = 1``,
``d_1 = d_2 = 2``: with ``θ_3 = [1 0]``, ``θ_2 = B``, only unit 1 of layer 1 active and a
positive bias on unit 1 of layer 2 (whose input ``B[0, 0] h_1`` is 0), ``A``'s top right and
``C``'s top left singular vectors are both ``e_1``, so ``ABC ∝ B[0, 0] = 0`` while the bound is
``σ_1(A) σ_1(B) σ_1(C) |u_1(B)_1| |v_1(B)_1| > 0`` (the record's shrunk ReLU instance is one).

Each record re-evaluates the reported instance one by one: ``proven`` from
:func:`.bound.evaluate_bound` (theorem and kernel cross-checked, planted perturbations applied),
``empirical = σ_1`` of the block cut from the numerics' exact dense Hessian (Gauss–Newton matrix
for ``gn``), whose distance to ``A·B·C`` is a premise (``ERROR`` above ``1e-12`` relative).  The
verdict states its scope: "refuted on <family> blocks" with the shrunk instance, or "no
counterexample on <family> blocks in N instances (random + adversarial)".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.records import Status
from ...engine.registry import Context, check
from ...engine.tolerance import rtol as dtype_rtol
from .batched import evaluate_batch, evaluate_batches
from .bound import PROVEN, THEOREMS, evaluate_bound
from .network_blocks import FAMILIES, Family, stack, take
from .shrink import round_sig, sig_digits

#: ``σ_2(B) ≥ RANK_TOL · σ_1(B)`` counts as ``rank(B) ≥ 2``.
RANK_TOL = 1e-2
#: ReLU instances keep ``|z| ≥ KINK · max|z|`` for every pre-activation while shrinking.
KINK = 1e-3


def _smooth(fam: Family, P: dict) -> np.ndarray:
    """Instances whose every ReLU pre-activation has ``|z| ≥ KINK · max|z|`` (a point where the
    Hessian exists; all instances for the other activations)."""
    ok = np.ones(next(iter(P.values())).shape[0], dtype=bool)
    if fam.act == "relu":
        for z in fam.preactivations(P):
            zmax = np.max(np.abs(z), axis=1)
            ok &= np.all(np.abs(z) >= KINK * zmax[:, None], axis=1) & (zmax > 0)
    return ok


def _excess(fam: Family, P: dict, bb: Any) -> np.ndarray:
    """The conservative ratio; 0 (no violation, not a candidate) at a ReLU kink."""
    return np.where(_smooth(fam, P), bb.excess, 0.0)


def _objective(bb: Any, variant: str, fam: Family, P: dict) -> np.ndarray:
    """The excess; for the corrected form only where ``rank(B) ≥ 2`` and ``B`` is at least 3×3
    (a 2×2 ``B`` between rank-one ``A`` and ``C`` attains the bound by construction)."""
    ex = _excess(fam, P, bb)
    if variant == "corrected":
        big = fam.name == "specdef" or min(P["W2"].shape[1:]) >= 3
        ex = np.where((bb.sB2 >= RANK_TOL * bb.sB1) & big, ex, -np.inf)
    return ex


def _random(ctx: Context, fam: Family, block: str, variant: str, rng: np.random.Generator,
            n: int, n_groups: int) -> list:
    """``[(dims, P, BatchBound)]`` over ``n_groups`` shapes, ``n`` instances in all."""
    shapes = fam.dims_choices(rng, n_groups)
    per = -(-n // n_groups)
    Ps = [fam.draw(ctx, rng, per, dims, residual=block == "full") for dims in shapes]
    bbs = evaluate_batches(ctx, variant, [fam.factors(ctx, P, block) for P in Ps])
    return list(zip(shapes, Ps, bbs))


def _climb(ctx: Context, fam: Family, block: str, variant: str, Ps: list, steps: int,
           rng: np.random.Generator) -> tuple[list, list, float, dict, int, int]:
    """Parallel hill climbs from the stacks ``Ps`` (one shape each), all shapes one theorem
    call per step; returns the final chains, their objective, the largest excess seen on any
    instance with that instance, the number of instances evaluated and of violations."""
    names = fam.trainable()

    def evaluate(stacks: list) -> list:
        return evaluate_batches(ctx, variant, [fam.factors(ctx, P, block) for P in stacks])

    def expand(v: np.ndarray, a: np.ndarray) -> np.ndarray:
        return v.reshape((v.shape[0],) + (1,) * (a.ndim - 1))

    top, top_inst, n, n_viol = -math.inf, None, 0, 0
    tol = dtype_rtol("float64")
    bbs = evaluate(Ps)
    cur = [_objective(bb, variant, fam, P) for bb, P in zip(bbs, Ps)]
    steps_ = [np.full(bb.bound.shape[0], 0.3) for bb in bbs]
    for it in range(steps + 1):
        if it:
            Qs = [{**P, **{k: P[k] + expand(st, P[k]) * rng.standard_normal(P[k].shape)
                           for k in names}} for P, st in zip(Ps, steps_)]
            bbs = evaluate(Qs)
        else:
            Qs = Ps
        for g, (Q, bb) in enumerate(zip(Qs, bbs)):
            n += bb.bound.shape[0]
            ex = _excess(fam, Q, bb)
            n_viol += int(np.sum(ex > 1 + tol))
            i = int(np.argmax(ex))
            if ex[i] > top:
                top, top_inst = float(ex[i]), take(Q, i)
            if not it:
                continue
            new = _objective(bb, variant, fam, Q)
            acc = new > cur[g]
            Ps[g] = {k: np.where(expand(acc, Q[k]), Q[k], Ps[g][k]) for k in Q}
            cur[g] = np.where(acc, new, cur[g])
            steps_[g] = np.clip(np.where(acc, steps_[g] * 1.5, steps_[g] * 0.8), 1e-6, 1.0)
    return Ps, cur, top, top_inst, n, n_viol


def search_family(ctx: Context, fam: Family, block: str, variant: str) -> dict:
    """Random draws, then adversarial climbs; the worst instance and the counts."""
    rng = ctx.rng(f"theorem3.network_blocks.{fam.name}.{block}.{variant}")
    n_random, n_groups = ctx.pick(small=(1000, 10), paper=(10000, 40), large=(50000, 80))
    n_shapes, chains, steps = ctx.pick(small=(3, 22, 16), paper=(6, 32, 150),
                                       large=(10, 64, 400))
    pool = _random(ctx, fam, block, variant, rng, n_random, n_groups)
    n_random_total = sum(bb.bound.shape[0] for _, _, bb in pool)
    tol = dtype_rtol("float64")
    n_viol_random = sum(int(np.sum(_excess(fam, P, bb) > 1 + tol)) for _, P, bb in pool)
    # the worst random instance (any rank of B) and the best starts of the best shapes
    top, top_inst = -math.inf, None
    starts = []
    for dims, P, bb in pool:
        ex, ob = _excess(fam, P, bb), _objective(bb, variant, fam, P)
        i = int(np.argmax(ex))
        if ex[i] > top:
            top, top_inst = float(ex[i]), take(P, i)
        order = np.argsort(-ob)[:chains]
        if np.isfinite(ob[order[0]]):
            starts.append((float(ob[order[0]]), dims, take(P, order)))
    starts.sort(key=lambda s: -s[0])
    chosen, seen = [], []
    for _, dims, P in starts:
        if dims not in seen and len(seen) < n_shapes:
            seen.append(dims)
            chosen.append(P)
    best_obj, best_inst, n_adv, n_viol_adv = -math.inf, None, 0, 0
    if chosen:
        Ps, cur, t, t_inst, n_adv, n_viol_adv = _climb(ctx, fam, block, variant, chosen, steps,
                                                        rng)
        if t > top:
            top, top_inst = t, t_inst
        for P, c in zip(Ps, cur):
            i = int(np.argmax(c))
            if c[i] > best_obj:
                best_obj, best_inst = float(c[i]), take(P, i)
    if best_inst is None:  # no rank(B) >= 2 start (corrected): report the worst instance
        best_obj, best_inst = top, top_inst
    return dict(top=top, top_inst=top_inst, best=best_obj, best_inst=best_inst,
                n_instances=n_random_total + n_adv, n_random=n_random_total,
                n_adversarial=n_adv, shapes_climbed=sorted(seen),
                n_violations_random=n_viol_random, n_violations_adversarial=n_viol_adv)


# -------------------------------------------------------------------------------- shrinking
def _score(ctx: Context, fam: Family, block: str, variant: str, insts: list) -> list:
    """``(excess, gap, kink_ok)`` for single instances: one batch per shape, one theorem call."""
    groups: dict = {}
    for i, inst in enumerate(insts):
        groups.setdefault(tuple(a.shape for a in inst.values()), []).append(i)
    stacks = [stack([insts[i] for i in idx]) for idx in groups.values()]
    facs = [fam.factors(ctx, P, block) for P in stacks]
    out: list = [None] * len(insts)
    for idx, P, (A, B, C), bb in zip(groups.values(), stacks, facs,
                                     evaluate_batches(ctx, variant, facs)):
        scale = (np.linalg.norm(A, 2, axis=(1, 2)) * np.linalg.norm(B, 2, axis=(1, 2))
                 * np.linalg.norm(C, 2, axis=(1, 2)))
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.where(scale > 0, (bb.bound - bb.atol - bb.sigma1) / scale, -np.inf)
        ok = _smooth(fam, P)
        for j, i in enumerate(idx):
            out[i] = (float(bb.excess[j]), float(gap[j]), bool(ok[j]))
    return out


def _deletions(fam: Family, inst: dict) -> list:
    out = []
    for unit in fam.units.values():
        name, axis = unit[0]
        size = inst[name].shape[axis]
        if size < 2:
            continue
        for j in range(size):
            out.append({**inst, **{k: np.delete(inst[k], j, axis=ax) for k, ax in unit}})
    return out


def shrink_network_instance(ctx: Context, fam: Family, block: str, variant: str, inst: dict, *,
                            margin: float = 1e-6, keep: float = 0.5) -> dict:
    """Shrink a violating network instance (dict of host arrays) to a small, short-decimal one.

    Raises ``ValueError`` if ``inst`` does not violate the bound by ``margin`` or if the result
    fails re-verification.
    """
    inst = {k: np.array(v, dtype=float) for k, v in inst.items()}
    x0, g0, ok0 = _score(ctx, fam, block, variant, [inst])[0]
    if not (x0 > 1 + margin and ok0):
        raise ValueError(f"shrink_network_instance: the instance must violate the {variant} "
                         f"bound by more than margin={margin:g} away from ReLU kinks, got "
                         f"(bound-atol)/σ1 = {x0:.9g}")
    floor = keep * g0 if math.isfinite(g0) else 0.0

    def good(s: tuple) -> float:
        x, g, ok = s
        return g - floor if (x > 1 + margin and g > floor and ok) else -1.0

    def dims(inst: dict) -> dict:
        while True:
            cands = _deletions(fam, inst)
            if not cands:
                return inst
            scored = [(good(sc), c) for sc, c in zip(_score(ctx, fam, block, variant, cands),
                                                     cands)]
            scored = [s for s in scored if s[0] > 0]
            if not scored:
                return inst
            inst = max(scored, key=lambda s: s[0])[1]

    def entries(inst: dict) -> dict:
        changed = True
        while changed:
            changed = False
            for name in fam.trainable():
                for idx in np.ndindex(inst[name].shape):
                    v = float(inst[name][idx])
                    cands = [c for c in [0.0] + [round_sig(v, d) for d in range(1, sig_digits(v))]
                             if c != v]
                    if not cands:
                        continue
                    trials = []
                    for c in cands:
                        t = {k: a.copy() for k, a in inst.items()}
                        t[name][idx] = c
                        trials.append(t)
                    for t, s in zip(trials, _score(ctx, fam, block, variant, trials)):
                        if good(s) > 0:
                            inst, changed = t, True
                            break
        return inst

    inst = dims(inst)
    for d in range(1, 18):
        R = {k: (np.vectorize(round_sig)(a, d) if k in fam.trainable() else a)
             for k, a in inst.items()}
        if good(_score(ctx, fam, block, variant, [R])[0]) > 0:
            inst = R
            break
    inst = entries(dims(entries(inst)))
    final = {k: np.array([float(repr(float(v))) for v in a.ravel()]).reshape(a.shape)
             for k, a in inst.items()}
    if not good(_score(ctx, fam, block, variant, [final])[0]) > 0:
        raise ValueError("shrink_network_instance: re-verification failed")
    return final


# ---------------------------------------------------------------------------------- records
def _fmt(a: np.ndarray) -> str:
    if a.ndim == 1:
        return "[" + ",".join(f"{v:g}" for v in a.tolist()) + "]"
    return "[" + ",".join(_fmt(row) for row in a) + "]"


def _rank(M: np.ndarray) -> int:
    s = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(s > RANK_TOL * s[0])) if s.size and s[0] > 0 else 0


def expectation(fam: Family, variant: str) -> str:
    """``holds`` where the form is a theorem on these blocks, ``refuted`` otherwise."""
    return "holds" if variant == "corrected" or fam.displayed_proof else "refuted"


def network_record(ctx: Context, check_id: str, fam: Family, block: str, variant: str,
                   found: dict) -> Any:
    """The record of one family and block: scoped verdict, reported instance, counts."""
    tid, tol = THEOREMS[variant], dtype_rtol(ctx.dtype)
    violated = found["top"] > 1 + dtype_rtol("float64")
    inst, shrink_note = (found["top_inst"] if violated or variant == "displayed"
                         else found["best_inst"]), ""
    if violated:
        try:
            inst = shrink_network_instance(ctx, fam, block, variant, inst)
        except ValueError as exc:  # not shrinkable under the margin: keep the original
            shrink_note = str(exc)
    single = stack([inst])
    A, B, C = (M[0] for M in fam.factors(ctx, single, block))
    ev = evaluate_bound(ctx, variant, *(ctx.asarray(M) for M in (A, B, C)))
    dense = fam.dense_block(ctx, inst, block)
    nrm = float(np.max(np.abs(dense))) or 1.0
    fact_res = float(np.max(np.abs(A @ B @ C - dense))) / nrm
    sigma_dense = float(np.linalg.norm(dense, 2))
    rtol_eff = tol + ev.atol / abs(ev.bound) if ev.bound != 0 else tol
    is_viol = ev.excess > 1 + tol
    n, label = found["n_instances"], fam.label
    what = "Gauss–Newton block (= whole block at zero residual)" if block == "gn" else \
        "whole block at non-zero residual"
    text = " ".join(f"{k}={_fmt(v)}" for k, v in inst.items())
    if is_viol:
        scope = f"refuted on {label} blocks ({block})"
        status = Status.REFUTED if variant == "displayed" else Status.VIOLATED
        detail = (f"{scope}: {text}: bound {ev.bound:.4g} > σ1(block) {sigma_dense:.4g}; "
                  f"violated by {found['n_violations_random']} of {found['n_random']} random "
                  f"and {found['n_violations_adversarial']} of {found['n_adversarial']} "
                  f"adversarial instances")
    else:
        scope = f"no counterexample on {label} blocks ({block}) in {n} instances (random + " \
                f"adversarial)"
        status = None  # from the comparison: TIGHT or HOLDS
        detail = f"{scope}: max bound/σ1 {ev.ratio:.9g} at rank(B) = {_rank(B)}"
    if variant == "displayed" and fam.displayed_proof:
        detail += f"; holds on these blocks: {fam.displayed_proof}"
    data = dict(scope=scope, family=fam.name, family_label=label, block=block, block_kind=what,
                n_instances=n, n_random=found["n_random"], n_adversarial=found["n_adversarial"],
                n_violations_random=found["n_violations_random"],
                n_violations_adversarial=found["n_violations_adversarial"],
                worst_excess_any=found["top"], worst_objective=found["best"],
                shapes_climbed=[list(s) for s in found["shapes_climbed"]],
                rank_A=_rank(A), rank_B=_rank(B), rank_C=_rank(C),
                shapes=[list(M.shape) for M in (A, B, C)], factor_residual=fact_res,
                sigma1_factors=ev.sigma1, per_sample=True,
                note="per-sample block; with n > 1 samples the block is a sum Σ_s A_s B C_s, "
                     "not of the theorem's form, and the bound is not applied to it")
    if fam.full_note:
        data["full_block"] = fam.full_note
    if shrink_note:
        data["shrink"] = shrink_note
    failed = fact_res > 1e-12
    instance = {**{k: v.tolist() for k, v in inst.items()}, "text": text, "r1": ev.r1,
                "r2": ev.r2, **ev.params, "bound": ev.bound, "sigma1_block": sigma_dense}
    return ctx.result(check_id, tid, dict(family=fam.name, block=block, act=fam.act),
                      sigma_dense, ev.bound, rtol=rtol_eff,
                      status=Status.ERROR if failed else status,
                      detail=(f"premise failed: A·B·C differs from the dense Hessian block by "
                              f"{fact_res:.2g}; " if failed else "") + detail,
                      instance=instance, data=data, expectation=expectation(fam, variant)
                      ).declare("linear algebra: σ1 of the dense per-sample Hessian block (SVD "
                                "of the model's dense Hessian, not of the factors)",
                                PROVEN.format(v=variant))


def _make(variant: str):
    cid = f"theorem3.network_blocks.{variant}"
    desc = (f"{variant} Theorem-3 bound on per-sample Hessian cross-blocks (deep linear, "
            f"2-3 layer ReLU/GELU/tanh MLPs, SpecDef): random + adversarial search, scoped verdict")

    @check(cid, THEOREMS[variant], desc, claim="C1")
    def run(ctx: Context) -> list:
        return [network_record(ctx, cid, fam, block, variant,
                               search_family(ctx, fam, block, variant))
                for fam in FAMILIES for block in fam.blocks]

    run.__doc__ = f"{desc}."
    return run


check_network_displayed = _make("displayed")
check_network_corrected = _make("corrected")
