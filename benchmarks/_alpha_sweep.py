"""Benchmark 4: α sweeps of gradient-descent steps to tolerance (docs/theory/hessian.rst, C frozen).

SpecDef with C frozen turns ``Σ_x ⊗ I`` into ``Σ_x ⊗ CᵀC``: eigenvalues ``λ_i(Σ_x) c_j`` with
``c_j ∈ {1/α², 1}``, so GD needs about α² times more steps.  For each α of a grid the exact step
count to ``L(w_t) − L* ≤ tol·(L(w_0) − L*)`` comes from the closed form
(``numerics.steps_to_tolerance_quadratic``, all α in one vectorised call) and from simulation
(``numerics.steps_to_tolerance``: ``gradient_descent`` on a ``numerics.Quadratic``, one run per
α).  Reference: the first crossing found by exponential search and bisection on the loss sum in
mpmath at 30 digits.
"""

from __future__ import annotations

import numpy as np

from ._harness import BenchConfig, BenchResult, compare, register

__all__ = ["bench_alpha_sweep", "frozen_compensation_eigenvalues", "reference_steps"]

FAMILY = "alpha_sweep"
SIGMA_X = (1.0, 0.6, 0.4, 0.25)  # λ(Σ_x): κ = 4
M_OUT, K_INFLATED, TOL, STEP = 4, 1, 1e-6, 1.0  # η = 1/λ_max, λ_max = 1


def frozen_compensation_eigenvalues(alphas: np.ndarray) -> np.ndarray:
    """``(len(alphas), d·m)`` Hessian eigenvalues ``λ_i(Σ_x)·c_j`` of SpecDef with C frozen."""
    lam = np.asarray(SIGMA_X)
    c = np.ones((alphas.size, M_OUT))
    c[:, :K_INFLATED] = 1.0 / alphas[:, None] ** 2
    return (lam[None, :, None] * c[:, None, :]).reshape(alphas.size, -1)


def reference_steps(eigs: np.ndarray, coeffs: np.ndarray, step: float, tol: float) -> np.ndarray:
    """First ``t`` with ``f(t) <= tol·f(0)``, ``f(t) = ½ Σ λ_i (1 − ηλ_i)^{2t} c_i²`` (mpmath).

    ``0 < ηλ_i <= 1`` makes ``f`` non-increasing, so doubling then bisection finds the first
    crossing.
    """
    import mpmath

    out = np.empty(eigs.shape[0])
    with mpmath.workdps(30):
        s = mpmath.mpf(step)
        for a in range(eigs.shape[0]):
            lam = [mpmath.mpf(x) for x in eigs[a].tolist()]
            w = [lam_i * mpmath.mpf(c) ** 2 / 2 for lam_i, c in zip(lam, coeffs.tolist())]
            f = lambda t: mpmath.fsum(wi * (1 - s * li) ** (2 * t)  # noqa: E731
                                      for wi, li in zip(w, lam))
            goal = tol * f(0)
            if f(0) <= goal:
                out[a] = 0
                continue
            lo, hi = 0, 1
            while f(hi) > goal:
                lo, hi = hi, 2 * hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if f(mid) > goal else (lo, mid)
            out[a] = hi
    return out


def _max_rel(steps: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(steps, dtype=np.float64) - ref) / ref))


@register(FAMILY)
def bench_alpha_sweep(cfg: BenchConfig, *, n_alpha: int = 100,
                      alpha_max: float | None = None) -> list[BenchResult]:
    """Closed-form step counts against simulated ones over ``n_alpha`` values of α.

    α is geometric on ``[1, alpha_max]`` (10 with ``quick``, else 30).  Target: the same counts
    as the mpmath reference for every α, on both sides.
    """
    from specdef.numerics import Quadratic, steps_to_tolerance, steps_to_tolerance_quadratic

    xp, reps = cfg.xp, cfg.n_repeats
    alpha_max = alpha_max if alpha_max is not None else (10.0 if cfg.quick else 30.0)
    alphas = np.geomspace(1.0, alpha_max, n_alpha)
    eigs = frozen_compensation_eigenvalues(alphas)
    p = eigs.shape[1]
    coeffs = np.full(p, 1.0 / np.sqrt(p))  # every mode excited, ‖e_0‖ = 1
    ref = reference_steps(eigs, coeffs, STEP, TOL)
    eigs_x, coeffs_x = xp.asarray(eigs), xp.asarray(coeffs)
    max_steps = int(2 * ref.max()) + 10
    models = [Quadratic(eigs_x[a]) for a in range(n_alpha)]

    def closed() -> np.ndarray:
        return steps_to_tolerance_quadratic(eigs_x, coeffs_x, STEP, TOL).steps

    def simulate() -> np.ndarray:
        return np.array([steps_to_tolerance(m, coeffs_x, STEP, TOL, max_steps=max_steps)
                         for m in models])

    warm = Quadratic(eigs_x[0])
    t_c, t_s = compare(closed, simulate, repeats=reps, xp=xp, baseline_repeats=3,
                       baseline_seconds=cfg.slow_seconds,
                       warmup_baseline=lambda: steps_to_tolerance(warm, coeffs_x, STEP, TOL))
    same = int(np.sum(np.asarray(t_c.value) == np.asarray(t_s.value)))
    e_c, e_s = _max_rel(t_c.value, ref), _max_rel(t_s.value, ref)
    return [BenchResult(
        family=FAMILY, case=f"{n_alpha} alphas in [1, {alpha_max:g}]",
        size=f"{p}-parameter quadratic per alpha (Sigma_x (x) C^T C), "
             f"{int(ref.min())}..{int(ref.max())} steps to tol {TOL:g}",
        toolkit="numerics.steps_to_tolerance_quadratic (closed form, all alphas in one call)",
        baseline="numerics.steps_to_tolerance (gradient_descent simulation, one run per alpha)",
        t_toolkit=t_c.median, t_baseline=t_s.median, err_toolkit=e_c, err_baseline=e_s,
        reference="first crossing of the loss sum in mpmath, 30 digits (doubling + bisection)",
        target="same counts as reference", met=bool(e_c == 0 and e_s == 0 and same == n_alpha),
        backend=cfg.backend, repeats=reps,
        extra={"identical_counts": same, "n_alpha": n_alpha, "total_sim_steps": int(ref.sum()),
               "baseline_repeats": len(t_s.times)},
        note=f"closed form and simulation give identical counts for {same}/{n_alpha} alphas; "
             f"errors are max |steps - reference| / reference (0 = every count exact)")]
