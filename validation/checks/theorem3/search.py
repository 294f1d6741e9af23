"""Searches for the Theorem-3 triple with the largest conservative ratio ``(bound − atol)/σ_1``.

:func:`_random_search` draws Gaussian triples (half rank-deficient) and triples on which the
bound is attained; :func:`_adversarial_search` maximises the ratio with SciPy's Nelder–Mead from
random starts, ranking candidates with the kernel alone and re-evaluating each start's best
point with the theorem.  Both return the best triple and counts; :func:`_record` turns them into
the records of the four checks ``theorem3.{displayed,corrected}.{random,adversarial}``
(registered here, in that order: displayed/corrected random, then adversarial).
"""

from __future__ import annotations

import math

import numpy as np

from ...engine.records import Status
from ...engine.registry import Context, check
from ...engine.tolerance import rtol as dtype_rtol
from .bound import (EMPIRICAL, PROVEN, THEOREMS, _kernel_excess, evaluate_bound, evaluate_bounds,
                    format_instance)
from .shrink import shrink_counterexample

#: ``σ_2(B) ≥ RANK_TOL · σ_1(B)`` counts as ``rank(B) ≥ 2``.
RANK_TOL = 1e-2
#: Stop a start of the adversarial search once the conservative ratio reaches this.
CAP = {"displayed": 1.5, "corrected": 1.0 + 1e-3}


def _low_rank(rng: np.random.Generator, p: int, q: int) -> np.ndarray:
    """Gaussian ``p×q`` of rank ``k < min(p, q)`` (full rank when ``min(p, q) == 1``)."""
    r = min(p, q)
    if r < 2:
        return rng.standard_normal((p, q))
    k = int(rng.integers(1, r))
    return rng.standard_normal((p, k)) @ rng.standard_normal((k, q))


def _random_triple(rng: np.random.Generator, max_dim: int, deficient: bool):
    p, q, s, t = (int(v) for v in rng.integers(1, max_dim + 1, size=4))
    A, B, C = (rng.standard_normal(sh) for sh in ((p, q), (q, s), (s, t)))
    if deficient:  # A, C or both rank-deficient
        which = int(rng.integers(3))
        if which in (0, 2):
            A = _low_rank(rng, p, q)
        if which in (1, 2):
            C = _low_rank(rng, s, t)
    return A, B, C


def _tight_triple(rng: np.random.Generator, max_dim: int):
    """A triple with ``rank(B) ≥ 3`` on which the corrected form equals ``σ_1(ABC)`` exactly.

    ``y = cos θ_1 u_1 + sin θ_1 u_2`` and ``w = cos θ_2 v_1 − sin θ_2 v_2`` (top two singular
    pairs of a Gaussian ``B`` with ``q, s ≥ 3``) give ``yᵀBw = σ_1 cos θ_1 cos θ_2 − σ_2 sin θ_1
    sin θ_2``, the bound's bracket with the ``σ_2(B)`` term in play.  ``A = a g yᵀ + E`` and
    ``C = c w hᵀ + F`` with ``E`` orthogonal to ``g`` on the left and to ``y, Bw`` on the right,
    ``F`` orthogonal to ``w`` on the left, to ``h`` on the right and inside ``null(AB)``
    (``‖E‖ < a``, ``‖F‖ < c``): then ``y`` and ``w`` are the top singular vectors of ``A`` and
    ``C``, ``ABC = a c (yᵀBw) g hᵀ`` and the bound at ``r1 = r2 = 1`` is ``σ_1(ABC)``.
    """
    q, s = (int(v) for v in rng.integers(3, max(3, max_dim) + 1, size=2))
    p, t = (int(v) for v in rng.integers(2, max_dim + 1, size=2))
    B = rng.standard_normal((q, s))
    U, sv, Vt = np.linalg.svd(B)
    while True:
        t1, t2 = rng.uniform(0.2, np.pi / 2 - 0.2, size=2)
        if sv[0] * np.cos(t1) * np.cos(t2) - sv[1] * np.sin(t1) * np.sin(t2) > 0.05 * sv[0]:
            break
    y = np.cos(t1) * U[:, 0] + np.sin(t1) * U[:, 1]
    w = np.cos(t2) * Vt[0] - np.sin(t2) * Vt[1]

    def unit(n: int) -> np.ndarray:
        v = rng.standard_normal(n)
        return v / np.linalg.norm(v)

    def perp(*vs: np.ndarray) -> np.ndarray:
        Q = np.linalg.qr(np.stack(vs, axis=1))[0]
        return np.eye(Q.shape[0]) - Q @ Q.T

    a, c = np.exp(rng.standard_normal(2))
    g, h = unit(p), unit(t)
    E = perp(g) @ rng.standard_normal((p, q)) @ perp(y, B @ w)
    A = a * np.outer(g, y) + 0.5 * a * E / max(np.linalg.norm(E, 2), 1e-300)
    _, sn, Vn = np.linalg.svd(np.vstack([w[None, :], A @ B]))
    null = Vn[int(np.sum(sn > 1e-12 * sn[0])):].T  # orthonormal basis of w⊥ ∩ null(AB)
    F = null @ rng.standard_normal((null.shape[1], t)) @ perp(h) if null.size else np.zeros((s, t))
    C = c * np.outer(w, h) + (0.5 * c * F / np.linalg.norm(F, 2) if np.linalg.norm(F) > 0 else F)
    return A, B, C


def _eligible(triple, ev) -> bool:
    """Counts for the corrected form's tightness: ``σ_2(B) ≥ RANK_TOL σ_1(B)`` and ``B`` at least
    3×3 (with a 2×2 ``B`` and rank-one ``A``, ``C`` the corrected form is an identity for one
    sign pattern, a check that cannot fail)."""
    B = triple[1]
    return ev.params["sB2"] >= RANK_TOL * ev.params["sB1"] and min(B.shape) >= 3


def _random_search(ctx: Context, variant: str) -> dict:
    rng = ctx.rng(f"theorem3.{variant}.random")
    n, n_tight = ctx.pick(small=(1200, 160), paper=(20000, 2000), large=(100000, 10000))
    max_dim, tol = 5, dtype_rtol("float64")
    triples = [_random_triple(rng, max_dim, deficient=k % 2 == 1) for k in range(n)]
    triples += [_tight_triple(rng, max_dim) for k in range(n_tight)]
    evs = [ev for start in range(0, len(triples), 1000)
           for ev in evaluate_bounds(ctx, variant, triples[start:start + 1000])]
    excess = np.array([ev.excess for ev in evs])
    eligible = np.array([_eligible(T, ev) for T, ev in zip(triples, evs)])
    best = int(np.argmax(excess))
    out = dict(best=triples[best], best_excess=float(excess[best]),
               n_violations=int(np.sum(excess > 1 + tol)),
               params=dict(n_triples=n + n_tight, n_tight=n_tight, n_rank_deficient=n // 2,
                           max_dim=max_dim),
               data=dict(max_excess_tight=float(excess[n:].max()),
                         n_cross_checked=n + n_tight, n_eligible=int(eligible.sum())))
    if variant == "corrected" and out["best_excess"] <= 1 + tol and eligible.any():
        k = int(np.flatnonzero(eligible)[np.argmax(excess[eligible])])
        out.update(best=triples[k], best_excess=float(excess[k]))
    return out


def _adversarial_search(ctx: Context, variant: str) -> dict:
    from scipy.optimize import minimize

    rng = ctx.rng(f"theorem3.{variant}.adversarial")
    # the corrected form's tightness counts only with a B of rank >= 2 and at least 3x3
    shapes = ([(1, 2, 2, 1), (2, 2, 2, 2), (2, 3, 3, 2), (3, 3, 2, 2), (3, 3, 3, 3)]
              if variant == "displayed" else
              [(1, 3, 3, 1), (2, 3, 3, 2), (1, 3, 4, 2), (2, 3, 3, 1)])
    n_starts, fev = ctx.pick(small=(8, 25), paper=(60, 200), large=(200, 400))
    cap, tol = CAP[variant], dtype_rtol("float64")
    best, n_viol, n_eval = None, 0, 0

    class _Stop(Exception):
        pass

    for k in range(n_starts):
        p, q, s, t = shapes[k % len(shapes)]
        ka = kc = None
        if k % 2 == 1 and min(p, q) > 1:  # rank-deficient A (and C) via factors
            ka = int(rng.integers(1, min(p, q)))
        if k % 2 == 1 and min(s, t) > 1:
            kc = int(rng.integers(1, min(s, t)))
        blocks = [(p, ka), (ka, q)] if ka else [(p, q)]
        blocks += [(q, s)] + ([(s, kc), (kc, t)] if kc else [(s, t)])
        sizes = np.cumsum([0] + [a * b for a, b in blocks])

        def unpack(x, blocks=blocks, sizes=sizes, ka=ka, kc=kc):
            M = [x[sizes[i]:sizes[i + 1]].reshape(blocks[i]) for i in range(len(blocks))]
            A = M.pop(0) @ M.pop(0) if ka else M.pop(0)
            B = M.pop(0)
            C = M[0] @ M[1] if kc else M[0]
            return A, B, C

        track = {"x": -math.inf, "triple": None, "n": 0, "any": -math.inf, "any_triple": None}

        def objective(x, unpack=unpack, track=track):
            triple = unpack(x)
            track["n"] += 1
            try:
                e = _kernel_excess(variant, *triple)
            except ValueError:  # non-finite entries after a wild simplex step
                e = -math.inf
            e = -math.inf if math.isnan(e) else e
            if e > track["any"]:
                track["any"], track["any_triple"] = e, tuple(np.array(m) for m in triple)
            if variant == "corrected" and e > -math.inf:  # rank(B) >= 2 only
                sb = np.linalg.svd(triple[1], compute_uv=False)
                e = e if sb[1] >= RANK_TOL * sb[0] else e - 1.0
            if e > track["x"]:
                track["x"], track["triple"] = e, tuple(np.array(m) for m in triple)
                track["xvec"] = np.array(x)
            if e >= cap:
                raise _Stop
            return -e

        x0 = rng.standard_normal(int(sizes[-1]))
        # corrected: a restart from the best point (a fresh simplex) polishes it to the bound
        for x_start, budget in ([(x0, fev * x0.size)] if variant == "displayed" else
                                [(x0, fev * x0.size * 2 // 3), (None, fev * x0.size // 3)]):
            if x_start is None:
                if track.get("xvec") is None:
                    break
                x_start = track["xvec"]
            try:
                minimize(objective, x_start, method="Nelder-Mead",
                         options=dict(maxfev=budget, adaptive=True, xatol=1e-12, fatol=1e-15))
            except _Stop:
                break
        n_eval += track["n"]
        if track["triple"] is None:
            continue
        if track["any"] > 1 + tol and track["any_triple"] is not track["triple"]:
            x = evaluate_bound(ctx, variant, *track["any_triple"]).excess
            if x > 1 + tol and (best is None or x > best[0]):  # a violation at any rank of B
                n_viol += 1
                best = (x, track["any_triple"])
                continue
        x = evaluate_bound(ctx, variant, *track["triple"]).excess  # the theorem, cross-checked
        n_viol += x > 1 + tol
        if best is None or x > best[0]:
            best = (x, track["triple"])
    if best is None:
        raise RuntimeError("theorem3: the adversarial search evaluated no finite point")
    return dict(best=best[1], best_excess=best[0], n_violations=int(n_viol),
                params=dict(n_starts=n_starts, shapes=shapes, maxfev_per_param=fev, cap=cap,
                            optimiser="scipy Nelder-Mead (adaptive)"),
                data=dict(n_evaluations=int(n_eval), n_cross_checked=n_starts))


# ---------------------------------------------------------------------- records and checks
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
    Bh = np.asarray(B, dtype=float)
    sb = np.linalg.svd(Bh, compute_uv=False)
    rank_b = int(np.sum(sb > RANK_TOL * sb[0])) if sb[0] > 0 else 0
    data.update(rank_B=rank_b, sB2_over_sB1=float(sb[1] / sb[0]) if sb.size > 1 and sb[0] > 0
                else 0.0, scope="general triples (A, B, C) of any shape, not Hessian blocks")
    summary = (f"{found['n_violations']} of {params.get('n_triples', params.get('n_starts'))} "
               f"{what} violate")
    if variant == "displayed":
        status = Status.REFUTED if violated else Status.HOLDS
        detail = (f"refuted on general triples: {inst['text']}: bound {ev.bound:.4g} > σ1 "
                  f"{ev.sigma1:.4g}; {summary} (Hessian blocks: theorem3.network_blocks)"
                  if violated else f"no counterexample on general triples: max bound/σ1 "
                  f"{ev.ratio:.6g}; {summary}")
        return [ctx.result(check_id, tid, params, ev.sigma1, ev.bound, rtol=rtol_eff,
                           status=status, detail=detail, instance=inst["instance"], data=data)
                .declare(EMPIRICAL, PROVEN.format(v=variant))]
    detail = (f"max bound/σ1 {ev.ratio:.9g} at r1={ev.r1}, r2={ev.r2}, rank(B) = {rank_b} "
              f"(B {Bh.shape[0]}×{Bh.shape[1]}); {summary} on general triples"
              + (f"; {inst['text']}" if violated else ""))
    return [ctx.result(check_id, tid, params, ev.sigma1, ev.bound, rtol=rtol_eff,
                       detail=detail, instance=inst["instance"], data=data)
            .declare(EMPIRICAL, PROVEN.format(v=variant))]


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
