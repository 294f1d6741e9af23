"""The instance of claim C2 (:mod:`validation.checks.second_order`): constants and data.

The family's constants (theorem, methods, parameterisations, :data:`PREDICTION`, the target ``ε``
per dtype, target perturbations, finite-precision limit, verification budget, cost names), the
formatting and data helpers shared with :mod:`validation.checks.attacks`, the Kronecker-structured
closed form :func:`kron_modes`, and the fine-tuning instance (data, weights, targets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._registry import Context
from .._tolerance import unit_roundoff

THEOREM = "newton.affine_invariance"
METHODS = ("newton", "gauss_newton", "levenberg_marquardt", "damped_newton", "newton_cg")
PARAMS = ("frozen", "joint")
PREDICTION = {(m, p): "invariant" for m in ("newton", "gauss_newton") for p in PARAMS}
PREDICTION.update({("damped_newton", "frozen"): "invariant", ("damped_newton", "joint"): "slowed",
                   ("levenberg_marquardt", "frozen"): "slowed",
                   ("levenberg_marquardt", "joint"): "slowed",
                   ("newton_cg", "frozen"): "slowed", ("newton_cg", "joint"): "slowed"})
#: Relative loss-gap target ε of the fine-tuning run, per dtype (well above the loss floor).
EPS = {"float64": 1e-8, "float32": 1e-4}
#: Size of the target perturbation ``W' − W`` (entries ``pert·N(0, 1)``): any for the frozen
#: quadratic; inside Newton's local region for the joint problem (farther targets make the
#: non-convex Newton path chaotic: rounding-level differences change its count); outside it
#: for damped Newton jointly trained, where the line search and ``|H|`` act (``N_FAR`` targets,
#: costs summed).
PERT = {"frozen": 0.3, "joint": 1e-3, "far": 0.05}
N_FAR = 5
#: Largest ``κ_soft·u``: the solve keeps two digits along the soft gauge directions.
FP_LIMIT = 1e-2
#: Most simulated steps spent verifying the closed-form LM counts of one record.
VERIFY_BUDGET = 1000
COST_NAME = {"newton": "steps", "gauss_newton": "steps", "levenberg_marquardt": "steps",
             "damped_newton": "loss evaluations", "newton_cg": "Hessian-vector products"}


def fmt_alpha(a: float) -> str:
    """``1e4`` style for powers of ten, ``%g`` otherwise."""
    e = math.log10(a) if a > 0 else 0.0
    return f"1e{int(round(e))}" if a >= 100 and abs(e - round(e)) < 1e-9 else f"{a:g}"


def finite_or_none(x: Any) -> Any:
    """A float for JSON, ``None`` when not finite."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def data_matrix(rng: np.random.Generator, d: int, n: int, kappa_x: float) -> np.ndarray:
    """``X`` (d×n, host float64) with ``Σ_x = XXᵀ/n`` exactly of spectrum geomspace(1, κ_x)."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Z = np.linalg.qr(rng.standard_normal((n, d)))[0].T * math.sqrt(n)  # Z Zᵀ = n I
    return Q @ (np.sqrt(np.geomspace(1.0, kappa_x, d))[:, None] * Z)


def kron_modes(A: np.ndarray, B: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and error coordinates of the quadratic with Hessian ``(AAᵀ) ⊗ (BᵀB)``.

    ``vec(E)`` (column-major, ``E`` of shape ``(cols(B), rows(A))``) has coordinate
    ``v_jᵀ E u_i`` on the eigenvector ``u_i ⊗ v_j`` with eigenvalue ``σ_i(A)² σ_j(B)²`` (``u_i``
    left singular vectors of A, ``v_j`` right singular vectors of B).  Taken from SVDs of the
    factors, never from ``AAᵀ`` or ``BᵀB`` (which would lose eigenvalues below ``u·λ_max``, e.g.
    ``1/α²`` of SpecDef's ``CᵀC``).  Host float64: a closed form.
    """
    Ua, sa, _ = np.linalg.svd(A, full_matrices=True)
    _, sb, Vbt = np.linalg.svd(B, full_matrices=True)
    sa = np.concatenate([sa, np.zeros(A.shape[0] - sa.size)])
    sb = np.concatenate([sb, np.zeros(B.shape[1] - sb.size)])
    coeffs = Vbt @ E @ Ua
    h = (sb ** 2)[:, None] * (sa ** 2)[None, :]
    return h.ravel(), coeffs.ravel()


@dataclass
class _Target:
    Y: Any               # on the run's backend and dtype
    Wp64: np.ndarray     # W' (host float64): Y = W' X


@dataclass
class _Setup:
    X: Any
    W: Any
    X64: np.ndarray
    W64: np.ndarray
    targets: dict        # (method or "*", param) -> list of _Target
    m: int
    d: int
    k: int
    kappa_x: float
    alphas: tuple
    eps: float
    u: float
    sigma1: float  # σ_1(H_undefended) = λ_max(Σ_x)
    lm_cap: int    # most LM steps per joint run

    def for_run(self, method: str, param: str) -> list:
        return self.targets.get((method, param)) or self.targets[("*", param)]


def _setup(ctx: Context) -> _Setup:
    m, d, n, k = ctx.pick(small=(3, 4, 16, 1), paper=(6, 8, 32, 2), large=(16, 24, 96, 4))
    alphas = ctx.pick(small=(1.0, 10.0, 1e2, 1e3, 1e4),
                      paper=(1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6))
    kappa_x = 10.0
    rng = ctx.rng("c2.instance")
    X = data_matrix(rng, d, n, kappa_x)
    W = rng.standard_normal((m, d))

    def target(pert: float) -> _Target:
        Wp = W + pert * rng.standard_normal((m, d))
        return _Target(Y=ctx.asarray(Wp @ X), Wp64=Wp)

    targets = {("*", "frozen"): [target(PERT["frozen"])], ("*", "joint"): [target(PERT["joint"])],
               ("damped_newton", "joint"): [target(PERT["far"]) for _ in range(N_FAR)]}
    sig = np.linalg.eigvalsh(X @ X.T / n)
    return _Setup(X=ctx.asarray(X), W=ctx.asarray(W), X64=X, W64=W, targets=targets, m=m, d=d,
                  k=k, kappa_x=kappa_x, alphas=tuple(alphas), eps=EPS[ctx.dtype],
                  u=unit_roundoff(ctx.dtype), sigma1=float(sig[-1]),
                  lm_cap=ctx.pick(small=400, paper=2000))


def _host(x: Any) -> np.ndarray:
    from specdef.numerics import to_host

    return np.asarray(to_host(x), dtype=np.float64)
