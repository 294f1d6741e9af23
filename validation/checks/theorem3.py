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

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._records import Status
from .._registry import Context, check
from .._shrink import shrink_counterexample
from .._tolerance import eps_of, rtol as dtype_rtol, rtol_exact

__all__ = ["shrink_counterexample", "evaluate_bound", "BoundEvaluation", "THEOREMS"]

THEOREMS = {"displayed": "hessian_bound.displayed", "corrected": "hessian_bound.corrected"}
#: Stop a start of the adversarial search once the conservative ratio reaches this.
CAP = {"displayed": 1.5, "corrected": 1.0 + 1e-3}


@dataclass(frozen=True)
class BoundEvaluation:
    """The bound at its maximising ``(r1, r2)`` and ``σ_1(ABC)`` for one triple."""

    variant: str
    bound: float          # theorem value (times any planted perturbation)
    sigma1: float         # σ_1(ABC)
    atol: float           # round-off allowance (module docstring)
    r1: int
    r2: int
    params: dict          # sA, sB1, sB2, sC, cos1, cos2 at (r1, r2)
    scale: float          # σ_1(A) σ_1(B) σ_1(C)

    @property
    def ratio(self) -> float:
        """``bound / σ_1(ABC)``."""
        return self.bound / self.sigma1 if self.sigma1 > 0 else math.inf * (self.bound > 0)

    @property
    def excess(self) -> float:
        """Conservative ratio ``(bound − atol)/σ_1(ABC)``: above ``1 + rtol`` is a violation."""
        num = self.bound - self.atol
        if self.sigma1 > 0:
            return num / self.sigma1
        return math.inf if num > 0 else 0.0


def _atol(scale: float, n: int, dtype: str) -> float:
    e = eps_of(dtype)
    return scale * (2 * math.sqrt(8 * n * e) + 16 * n * e)


def evaluate_bounds(ctx: Context, variant: str, triples: list, *,
                    cross_check: bool = True) -> list[BoundEvaluation]:
    """Theorem-3 bound of ``variant`` on many triples, each maximised over ``(r1, r2)``.

    The ``(r1, r2)`` grids of all triples are padded into one array and evaluated by a single
    ``Theorem.evaluate`` call (NumPy broadcasting; padded cells are masked out) to find each
    maximiser; the bound there comes from ``ctx.proven`` (so planted perturbations apply).  With
    ``cross_check`` the kernel's :func:`numerics.cross_block_bound` must agree with the
    unperturbed theorem value to ``max(1e-12, 64 eps)`` relative to ``σ_1(A)σ_1(B)σ_1(C)``; a
    disagreement raises ``RuntimeError`` (the runner records it as ``ERROR``).
    """
    from numerics import cross_block_bound, cross_block_terms

    tid = THEOREMS[variant]
    terms = [cross_block_terms(*T) for T in triples]
    if not terms:
        return []
    R1, R2 = max(t.sA.shape[0] for t in terms), max(t.sC.shape[0] for t in terms)
    N = len(terms)
    pad = {k: np.zeros((N, R1 if k in ("sA", "cos1") else R2)) for k in ("sA", "cos1", "sC",
                                                                            "cos2")}
    mask = np.zeros((N, R1, R2), dtype=bool)
    for k, t in enumerate(terms):
        r1, r2 = t.sA.shape[0], t.sC.shape[0]
        for key in pad:
            pad[key][k, :r1 if key in ("sA", "cos1") else r2] = getattr(t, key)
        mask[k, :r1, :r2] = True
    col = lambda v: np.asarray(v, dtype=float)[:, None, None]  # noqa: E731
    grid = ctx.theorem(tid).evaluate(
        sA=pad["sA"][:, :, None], cos1=pad["cos1"][:, :, None], sC=pad["sC"][:, None, :],
        cos2=pad["cos2"][:, None, :], sB1=col([t.sB1 for t in terms]),
        sB2=col([t.sB2 for t in terms]))
    grid = np.where(mask, np.broadcast_to(np.asarray(grid, dtype=float), mask.shape), -np.inf)
    if not np.all(np.isfinite(grid[mask])):
        raise RuntimeError(f"theorem3: {tid} is not finite on an (r1, r2) grid")
    out = []
    for k, ((A, B, C), t) in enumerate(zip(triples, terms)):
        i, j = divmod(int(np.argmax(grid[k])), R2)
        params = dict(sA=float(t.sA[i]), sB1=float(t.sB1), sB2=float(t.sB2),
                      sC=float(t.sC[j]), cos1=float(t.cos1[i]), cos2=float(t.cos2[j]))
        scale = float(t.sA[0]) * float(t.sB1) * float(t.sC[0])
        dt = str(getattr(A, "dtype", "float64"))
        if cross_check:
            kb, val = cross_block_bound(A, B, C, variant), float(grid[k, i, j])
            tol = max(1e-12, rtol_exact(dt)) * max(scale, abs(val), 1e-300)
            if not abs(kb.value - val) <= tol:
                raise RuntimeError(f"theorem3: numerics.cross_block_bound gives {kb.value!r}, "
                                   f"{tid} gives {val!r} (|diff| > {tol:.2g})")
        out.append(BoundEvaluation(variant=variant, bound=ctx.proven(tid, **params),
                                   sigma1=float(t.sigma1_ABC),
                                   atol=_atol(scale, max(*A.shape, *C.shape), dt),
                                   r1=i + 1, r2=j + 1, params=params, scale=scale))
    return out


def evaluate_bound(ctx: Context, variant: str, A: Any, B: Any, C: Any, *,
                   cross_check: bool = True) -> BoundEvaluation:
    """:func:`evaluate_bounds` for one triple."""
    return evaluate_bounds(ctx, variant, [(A, B, C)], cross_check=cross_check)[0]


def _kernel_excess(variant: str, A: np.ndarray, B: np.ndarray, C: np.ndarray) -> float:
    """Conservative ratio from the kernel alone: the cheap inner loop of the adversarial search."""
    from numerics import cross_block_bound

    b = cross_block_bound(A, B, C, variant)
    scale = float(np.linalg.norm(A, 2) * b.sB1 * np.linalg.norm(C, 2))
    num = b.value - _atol(scale, max(*A.shape, *C.shape), "float64")
    return num / b.sigma1_ABC if b.sigma1_ABC > 0 else (math.inf if num > 0 else 0.0)


def _fmt_matrix(M: np.ndarray) -> str:
    return "[" + ",".join("[" + ",".join(f"{v:g}" for v in row) + "]" for row in M.tolist()) + "]"


def format_instance(A: Any, B: Any, C: Any, ev: BoundEvaluation) -> dict:
    """``{"text": "A=[[1,0]] B=… C=…", "instance": {...}}`` for a record (host values)."""
    from numerics import to_host

    A, B, C = (np.asarray(to_host(m), dtype=float) for m in (A, B, C))
    inst = dict(A=A.tolist(), B=B.tolist(), C=C.tolist(), variant=ev.variant, r1=ev.r1,
                r2=ev.r2, **ev.params, sigma1_ABC=ev.sigma1, bound=ev.bound,
                ratio_bound_over_sigma1=ev.ratio, atol=ev.atol)
    text = f"A={_fmt_matrix(A)} B={_fmt_matrix(B)} C={_fmt_matrix(C)}"
    return {"text": text, "instance": inst}


# ---------------------------------------------------------------------------------- searches
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


def _tight_triple(rng: np.random.Generator, max_dim: int, aligned: bool):
    """A triple on which both forms equal ``σ_1(ABC)`` exactly (B of rank one)."""
    p, q, s, t = (int(v) for v in rng.integers(1, max_dim + 1, size=4))
    if not aligned:
        p = t = 1  # ‖A u‖ = σ_1(A) cos θ_1 and ‖C^T v‖ = σ_1(C) cos θ_2 hold for vectors
    A, C = rng.standard_normal((p, q)), rng.standard_normal((s, t))
    u, v = rng.standard_normal(q), rng.standard_normal(s)
    if aligned:  # u = top right singular vector of A, v = top left singular vector of C
        u, v = np.linalg.svd(A)[2][0], np.linalg.svd(C)[0][:, 0]
    return A, abs(rng.standard_normal()) * np.outer(u, v) / (
        np.linalg.norm(u) * np.linalg.norm(v)), C


def _random_search(ctx: Context, variant: str) -> dict:
    rng = ctx.rng(f"theorem3.{variant}.random")
    n, n_tight = ctx.pick(small=(1200, 160), paper=(20000, 2000), large=(100000, 10000))
    max_dim, tol = 5, dtype_rtol("float64")
    triples = [_random_triple(rng, max_dim, deficient=k % 2 == 1) for k in range(n)]
    triples += [_tight_triple(rng, max_dim, aligned=k % 2 == 0) for k in range(n_tight)]
    excess = np.array([ev.excess for start in range(0, len(triples), 1000)
                       for ev in evaluate_bounds(ctx, variant, triples[start:start + 1000])])
    best = int(np.argmax(excess))
    return dict(best=triples[best], best_excess=float(excess[best]),
                n_violations=int(np.sum(excess > 1 + tol)),
                params=dict(n_triples=n + n_tight, n_tight=n_tight, n_rank_deficient=n // 2,
                            max_dim=max_dim),
                data=dict(max_excess_tight=float(excess[n:].max()),
                          n_cross_checked=n + n_tight))


def _adversarial_search(ctx: Context, variant: str) -> dict:
    from scipy.optimize import minimize

    rng = ctx.rng(f"theorem3.{variant}.adversarial")
    shapes = [(1, 2, 2, 1), (2, 2, 2, 2), (2, 3, 3, 2), (3, 3, 2, 2), (3, 3, 3, 3)]
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

        track = {"x": -math.inf, "triple": None, "n": 0}

        def objective(x, unpack=unpack, track=track):
            triple = unpack(x)
            track["n"] += 1
            try:
                e = _kernel_excess(variant, *triple)
            except ValueError:  # non-finite entries after a wild simplex step
                e = -math.inf
            e = -math.inf if math.isnan(e) else e
            if e > track["x"]:
                track["x"], track["triple"] = e, tuple(np.array(m) for m in triple)
            if e >= cap:
                raise _Stop
            return -e

        x0 = rng.standard_normal(int(sizes[-1]))
        try:
            minimize(objective, x0, method="Nelder-Mead",
                     options=dict(maxfev=fev * x0.size, adaptive=True, xatol=1e-12, fatol=1e-15))
        except _Stop:
            pass
        n_eval += track["n"]
        if track["triple"] is None:
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
def _vec(M: np.ndarray) -> np.ndarray:
    return M.reshape(-1, order="F")


def _fd_hessian(loss: Callable[[np.ndarray], float], theta: np.ndarray, h: float) -> np.ndarray:
    """Central second differences of ``loss`` (independent of any model code)."""
    n, E = theta.size, np.eye(theta.size) * h
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = (loss(theta + E[i] + E[j]) - loss(theta + E[i] - E[j])
                                 - loss(theta - E[i] + E[j]) + loss(theta - E[i] - E[j])) / (
                4 * h * h)
    return H


def _deep_linear_block(ctx: Context) -> dict:
    """f = θ3 θ2 θ1 x, one sample, zero residual: H_{θ3,θ1} = (h x^T) ⊗ (θ3 θ2) = A θ2 C."""
    from numerics import DeepLinear, to_host

    rng = ctx.rng("theorem3.real_hessian_blocks.deep_linear")
    d0, d1, d2, d3 = ctx.pick(small=(3, 2, 3, 2), paper=(4, 3, 5, 3), large=(6, 4, 7, 4))
    t1, t2, t3 = (rng.standard_normal(sh) / math.sqrt(sh[1]) for sh in
                  ((d1, d0), (d2, d1), (d3, d2)))
    x = rng.standard_normal(d0)
    y = t3 @ (t2 @ (t1 @ x))
    h = t2 @ (t1 @ x)
    model = DeepLinear([t1, t2, t3], x[:, None], y[:, None])
    theta = np.concatenate([_vec(t1), _vec(t2), _vec(t3)])
    H = np.asarray(to_host(model.hessian(model.theta0)), dtype=float)
    n1, n2 = d1 * d0, d2 * d1

    def loss(th: np.ndarray) -> float:
        a = th[:n1].reshape((d1, d0), order="F")
        b = th[n1:n1 + n2].reshape((d2, d1), order="F")
        c = th[n1 + n2:].reshape((d3, d2), order="F")
        return 0.5 * float(np.sum((c @ (b @ (a @ x)) - y) ** 2))

    return dict(name="deep_linear.theta3_theta1", H=H, block=H[n1 + n2:, :n1],
                H_fd=_fd_hessian(loss, theta, 1e-4), A=np.kron(h[:, None], t3), B=t2,
                C=np.kron(x[None, :], np.eye(d1)), factorisation="A=h⊗θ3, B=θ2, C=x^T⊗I",
                params=dict(dims=[d0, d1, d2, d3], n_samples=1))


def _specdef_blocks(ctx: Context) -> list[dict]:
    """SpecDef layer f = C W̃ x at zero residual: H_{W̃,C} = (Σ_x W̃^T) ⊗ C^T, two factorings."""
    from numerics import SpecDefLayer, to_host

    rng = ctx.rng("theorem3.real_hessian_blocks.specdef")
    m, d, n = ctx.pick(small=(3, 4, 6), paper=(4, 5, 8), large=(5, 7, 12))
    alpha, k = ctx.pick(small=10.0, paper=100.0, large=1000.0), 1
    W = rng.standard_normal((m, d)) / math.sqrt(d)
    Wt, Cm = (np.asarray(to_host(M), dtype=float) for M in ctx.defence(W, alpha, k))
    X = rng.standard_normal((d, n))
    Y = Cm @ (Wt @ X)
    Sx = X @ X.T / n
    H = np.asarray(to_host(SpecDefLayer(Wt, Cm, X, Y).hessian(
        np.concatenate([_vec(Wt), _vec(Cm)]))), dtype=float)
    nw = m * d

    def loss(th: np.ndarray) -> float:
        w, c = th[:nw].reshape((m, d), order="F"), th[nw:].reshape((m, m), order="F")
        return 0.5 / n * float(np.sum((c @ (w @ X) - Y) ** 2))

    H_fd = _fd_hessian(loss, np.concatenate([_vec(Wt), _vec(Cm)]), 1e-4)
    Im, Id = np.eye(m), np.eye(d)
    common = dict(H=H, block=H[:nw, nw:], H_fd=H_fd, expected=np.kron(Sx @ Wt.T, Cm.T),
                  params=dict(m=m, d=d, n_samples=n, alpha=alpha, k=k,
                              defence=ctx.defence_name))
    return [dict(common, name="specdef.W_C.weight_middle", A=np.kron(Sx, Im),
                 B=np.kron(Wt.T, Im), C=np.kron(Im, Cm.T),
                 factorisation="A=Σx⊗I, B=W̃^T⊗I, C=I⊗C^T"),
            dict(common, name="specdef.W_C.sigma_middle", A=np.kron(Id, Cm.T),
                 B=np.kron(Sx, Im), C=np.kron(Wt.T, Im),
                 factorisation="A=I⊗C^T, B=Σx⊗I, C=W̃^T⊗I")]


def _block_record(ctx: Context, blk: dict) -> Any:
    tid, tol = THEOREMS["corrected"], dtype_rtol(ctx.dtype)
    H, block = blk["H"], blk["block"]
    nrm = lambda M: float(np.max(np.abs(M)))  # noqa: E731
    fact_res = nrm(blk["A"] @ blk["B"] @ blk["C"] - block) / nrm(block)
    fd_res = nrm(H - blk["H_fd"]) / nrm(H)
    exp_res = nrm(blk["expected"] - block) / nrm(block) if "expected" in blk else 0.0
    sH = float(np.linalg.norm(H, 2))
    sblk = float(np.linalg.norm(block, 2))
    args = [ctx.asarray(blk[key]) for key in ("A", "B", "C")]
    ev = evaluate_bound(ctx, "corrected", *args)
    ev_d = evaluate_bound(ctx, "displayed", *args)
    rtol_eff = tol + ev.atol / abs(ev.bound) if ev.bound != 0 else tol
    premises = [(fact_res <= 1e-12, f"A·B·C differs from the Hessian block by {fact_res:.2g}"),
                (exp_res <= 1e-12, f"block differs from (Σx W̃^T)⊗C^T by {exp_res:.2g}"),
                (fd_res <= 1e-5, f"Hessian differs from finite differences by {fd_res:.2g}"),
                (sH >= sblk * (1 - 1e-12), f"σ1(H) {sH:.6g} < σ1(block) {sblk:.6g}")]
    failed = [msg for good, msg in premises if not good]
    detail = (f"{blk['name']}: σ1(H) {sH:.4g} ≥ σ1(block) {ev.sigma1:.4g} ≥ corrected "
              f"{ev.bound:.4g} (displayed {ev_d.bound:.4g}); {blk['factorisation']}")
    data = dict(sigma1_H=sH, sigma1_block_dense=sblk, displayed_bound=ev_d.bound,
                displayed_holds=bool(ev_d.excess <= 1 + tol), corrected_r1=ev.r1,
                corrected_r2=ev.r2, corrected_params=ev.params, factor_residual=fact_res,
                fd_residual=fd_res, kron_residual=exp_res, sB2_over_sB1=(
                    ev.params["sB2"] / ev.params["sB1"] if ev.params["sB1"] > 0 else 0.0),
                shapes=[list(blk[key].shape) for key in ("A", "B", "C")])
    params = dict(blk["params"], block=blk["name"], factorisation=blk["factorisation"])
    return ctx.result("theorem3.real_hessian_blocks", tid, params, ev.sigma1, ev.bound,
                      rtol=rtol_eff, status=Status.ERROR if failed else None,
                      detail=("premise failed: " + "; ".join(failed) + "; " if failed else "")
                      + detail, data=data)


@check("theorem3.real_hessian_blocks", THEOREMS["corrected"],
       "corrected bound on real Hessian cross-blocks (deep linear θ3-θ1, SpecDef W̃-C)",
       claim="C1")
def check_real_hessian_blocks(ctx: Context) -> list:
    """σ_1(H) ≥ σ_1(cross-block) ≥ corrected bound, one record per block."""
    return [_block_record(ctx, blk) for blk in [_deep_linear_block(ctx), *_specdef_blocks(ctx)]]
