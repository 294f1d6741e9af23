"""Benchmark 3: gradient descent on many quadratics at once (docs/theory/background.rst, B1).

``B`` quadratics ``½ eᵀ H_b e`` (``H_b = Q_b diag(λ_b) Q_bᵀ``, d×d) run ``T`` steps of size η.
Rows: the batched kernel (``numerics.batched_gradient_descent``: one batched product per step)
against a per-problem loop of the toolkit's ``gradient_descent`` and against a bare per-problem
NumPy loop; the eigenbasis closed form (``numerics.gd_closed_form``) against the batched
simulation; and the batched kernel's memory bandwidth against a large array copy measured in
the same run.  Reference: ``½ Σ_i λ_i (1 − ηλ_i)^{2T} c_i²`` in mpmath at 30 digits, from the
same ``(λ, c = Qᵀe_0)`` the instance was built from.

Bytes: each step must read every ``H_b`` once, ``B·d²·8`` bytes (the state, ``B·d·S`` numbers,
is small and stays in cache); flops: ``2·B·d²·S`` per step for the product, so with ``S = 1``
step size the kernel does 0.25 flop per byte of H and is bound by memory bandwidth.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._harness import BenchConfig, BenchResult, interleave, measure, register

__all__ = ["bench_gd_sweep", "quadratic_batch", "copy_bandwidth", "copy_kernel", "reference_loss"]

FAMILY = "gd_batch"
STEP = 1.0  # λ <= 1, so η = 1 = 1/λ_max is stable


def quadratic_batch(B: int, d: int, *, rng: Any = 0) -> dict:
    """``B`` random quadratics: λ log-uniform in [1e-2, 1], Haar Q, e_0 standard normal (host)."""
    gen = np.random.default_rng(rng)
    lam = np.exp(gen.uniform(math.log(1e-2), 0.0, (B, d)))
    Q, R = np.linalg.qr(gen.standard_normal((B, d, d)))
    Q = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]
    H = (Q * lam[:, None, :]) @ Q.transpose(0, 2, 1)
    H = 0.5 * (H + H.transpose(0, 2, 1))
    e0 = gen.standard_normal((B, d))
    c = np.einsum("bji,bj->bi", Q, e0)
    return {"H": H, "Q": Q, "lam": lam, "e0": e0, "c": c}


def reference_loss(lam: np.ndarray, c: np.ndarray, step: float, T: int) -> np.ndarray:
    """``½ Σ_i λ_i (1 − ηλ_i)^{2T} c_i²`` per row, in mpmath at 30 digits."""
    import mpmath

    out = np.empty(lam.shape[0])
    with mpmath.workdps(30):
        s = mpmath.mpf(step)
        for b in range(lam.shape[0]):
            acc = mpmath.mpf(0)
            for x, y in zip(lam[b].tolist(), c[b].tolist()):
                x = mpmath.mpf(x)
                acc += x * (1 - s * x) ** (2 * T) * mpmath.mpf(y) ** 2
            out[b] = float(acc / 2)
    return out


def copy_kernel(xp: Any, nbytes: int = 2**28) -> Any:
    """A callable doing ``b[...] = a`` on two ``nbytes`` arrays (moves ``2·nbytes`` bytes)."""
    n = nbytes // 8
    a = xp.ones(n, dtype=xp.float64)
    b = xp.zeros(n, dtype=xp.float64)

    def cp() -> None:
        b[...] = a

    return cp


def copy_bandwidth(xp: Any, *, nbytes: int = 2**28, repeats: int = 5) -> float:
    """Bytes per second of ``b[...] = a`` on ``nbytes`` arrays (read + write counted)."""
    t = measure(copy_kernel(xp, nbytes), repeats=repeats, xp=xp, number=1)
    return 2 * nbytes / t.median


def _max_rel(v: Any, ref: np.ndarray) -> float:
    from specdef.numerics import to_host

    v = np.asarray(to_host(v), dtype=np.float64).reshape(-1)
    return float(np.max(np.abs(v - ref[:v.size]) / ref[:v.size]))


@register(FAMILY)
def bench_gd_sweep(cfg: BenchConfig, *, B: int = 1024, d: int = 64, T: int | None = None,
                   n_loop: int | None = None, copy_bytes: int = 2**28) -> list[BenchResult]:
    """Batched GD vs per-problem loops, closed form vs simulation, and achieved bandwidth.

    ``T`` defaults to 1000 (300 with ``quick``); the per-problem loops run on ``n_loop`` of the
    ``B`` problems (16 quick, 64 otherwise) and their time is scaled by ``B / n_loop`` (the
    problems are independent, so the cost is linear in their number).  The reference bandwidth
    is a copy of a ``copy_bytes`` array (default 256 MiB, well beyond the caches).
    """
    from specdef.numerics import Quadratic, batched_gradient_descent, gd_closed_form, gradient_descent

    xp, reps = cfg.xp, cfg.n_repeats
    T = T if T is not None else (300 if cfg.quick else 1000)
    n_loop = min(B, n_loop if n_loop is not None else (16 if cfg.quick else 64))
    inst = quadratic_batch(B, d)
    ref = reference_loss(inst["lam"], inst["c"], STEP, T)
    H, e0 = xp.asarray(inst["H"]), xp.asarray(inst["e0"])
    lam, c = xp.asarray(inst["lam"]), xp.asarray(inst["c"])
    steps = xp.asarray([STEP], dtype=xp.float64)
    size = f"B={B} quadratics, d={d}, T={T} steps"
    scale = B / n_loop
    common = dict(family=FAMILY, size=size, backend=cfg.backend, repeats=reps,
                  reference="sum_i lam_i (1-eta lam_i)^(2T) c_i^2 / 2 in mpmath, 30 digits")

    def batched(Hx: Any = H, ex: Any = e0, n: int = T) -> Any:
        r = batched_gradient_descent(Hx, ex, steps, n, record=("loss",), record_every=max(n, 1))
        return r.loss[-1, :, 0]

    warm = lambda: batched(H[:8], e0[:8], 5)  # noqa: E731
    models = [Quadratic(lam[b], xp.asarray(inst["Q"][b])) for b in range(n_loop)]

    def per_problem() -> Any:
        out = []
        for b, model in enumerate(models):
            r = gradient_descent(model, e0[b], STEP, max_steps=T, tol=1e-300,
                                 record_every=T)
            out.append(r.loss[-1])
        return np.asarray(out)

    def bare_loop() -> Any:
        out = []
        for b in range(n_loop):
            Hb, e = H[b], e0[b]
            for _ in range(T):
                e = e - STEP * (Hb @ e)
            out.append(0.5 * xp.sum(e * (Hb @ e)))
        return xp.stack(out)

    closed = lambda: gd_closed_form(lam, c, STEP, T)  # noqa: E731
    from specdef.numerics._gd_batched import _chunk_size

    chunk = _chunk_size(xp, B, d, H.dtype)
    chunk_note = (f"the batched kernel runs {B // chunk} chunks of {chunk} problems "
                  f"({chunk * d * d * 8 / 2**20:.2g} MiB of H) through all T steps, so H is read "
                  "from L2, not DRAM" if chunk < B else
                  "the batched kernel streams all of H every step (one chunk)")
    tm = interleave({"batched": batched, "per_problem": per_problem, "bare_loop": bare_loop,
                     "closed": closed, "fixed": lambda: batched(n=0),
                     "copy": copy_kernel(xp, copy_bytes)},
                    repeats=reps, xp=xp, warmups={"batched": warm},
                    max_seconds=cfg.slow_seconds)
    t_b = tm["batched"]
    err_b = _max_rel(t_b.value, ref)
    batched_name = "numerics.batched_gradient_descent (one batched matmul/step)"
    loop_note = (f"per-problem loops run {n_loop} of the {B} problems; their time is scaled by "
                 f"{scale:g} (independent problems: cost linear in their number)")
    rows = [
        BenchResult(case="batched vs gradient_descent loop", toolkit=batched_name,
                    baseline="numerics.gradient_descent on numerics.Quadratic, per problem",
                    t_toolkit=t_b.median, t_baseline=tm["per_problem"].median * scale,
                    err_toolkit=err_b, err_baseline=_max_rel(tm["per_problem"].value, ref),
                    note=loop_note, **common),
        BenchResult(case="batched vs bare NumPy loop", toolkit=batched_name,
                    baseline="bare loop e -= eta*(H_b @ e), one problem at a time",
                    t_toolkit=t_b.median, t_baseline=tm["bare_loop"].median * scale,
                    err_toolkit=err_b, err_baseline=_max_rel(tm["bare_loop"].value, ref),
                    note=loop_note + f"; the bare loop keeps one H_b ({d * d * 8 // 1024} KiB) in "
                    f"L1/L2 for all T steps; {chunk_note}",
                    **common)]
    e_c = _max_rel(tm["closed"].value, ref)
    rows.append(BenchResult(case="closed form vs simulation",
                            toolkit="numerics.gd_closed_form (eigenbasis, log-sum-exp)",
                            baseline="numerics.batched_gradient_descent (simulation)",
                            t_toolkit=tm["closed"].median, t_baseline=t_b.median, err_toolkit=e_c,
                            err_baseline=err_b, target="err<=1e-12", met=bool(e_c <= 1e-12),
                            **common))
    bw = 2 * copy_bytes / tm["copy"].median
    t_med, t_fix = t_b.median, tm["fixed"].median
    h_bytes = B * d * d * 8 * T
    achieved, flops = h_bytes / t_med, 2 * B * d * d * T / t_med
    loop_only = h_bytes / max(t_med - t_fix, 1e-12)
    frac = achieved / bw
    rows.append(BenchResult(
        case="bandwidth", toolkit=batched_name,
        baseline=f"copy of a {copy_bytes / 2**20:.0f} MiB array (b[...] = a), same run",
        t_toolkit=t_med, t_baseline=h_bytes / bw, err_toolkit=err_b, err_baseline=0.0,
        target=">=50% of copy bandwidth", met=bool(frac >= 0.5),
        extra={"achieved_GBps": achieved / 1e9, "copy_GBps": bw / 1e9, "fraction": frac,
               "loop_only_GBps": loop_only / 1e9, "loop_only_fraction": loop_only / bw,
               "fixed_cost_s": t_fix, "GFLOPps": flops / 1e9, "H_MiB": B * d * d * 8 / 2**20},
        note=f"achieved {achieved / 1e9:.2f} GB/s of H traffic (B*d^2*8 bytes per step) = "
             f"{100 * frac:.0f}% of the {bw / 1e9:.2f} GB/s copy bandwidth (read+write), "
             f"{flops / 1e9:.2f} GFLOP/s: memory-bound (0.25 flop per byte of H). Without the "
             f"kernel's fixed cost ({t_fix:.2g} s at T=0: input checks incl. a batched Cholesky "
             f"PSD test) the loop moves {loop_only / 1e9:.2f} GB/s = {100 * loop_only / bw:.0f}%. "
             f"H is {B * d * d * 8 / 2**20:.1f} MiB; the baseline time is those bytes at copy "
             "bandwidth, so ratio = fraction of copy bandwidth achieved; " + chunk_note +
             " (effective bandwidth: above 100% is possible)",
        **dict(common, reference=common["reference"] + " (err baseline: a copy is exact)")))
    return rows
