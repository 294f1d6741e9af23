"""The instance of claim C2 (:mod:`.second_order`): constants and data.

The family's constants (theorem, methods, parameterisations, :data:`PREDICTION`, the target ``ε``
per dtype, target perturbations, finite-precision limit, verification budget, cost names) and the
fine-tuning instance (data, weights, targets).  The data and formatting helpers it shares with
claim C3 (:func:`~specdef.validation.checks.common.data_matrix`,
:func:`~specdef.validation.checks.common.kron_modes`, ...) live in
:mod:`specdef.validation.checks.common`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...engine.registry import Context
from ...engine.tolerance import unit_roundoff
from ..common import FINETUNE_EPS, data_matrix

THEOREM = "newton.affine_invariance"
METHODS = ("newton", "gauss_newton", "levenberg_marquardt", "damped_newton", "newton_cg")
PARAMS = ("frozen", "joint")
PREDICTION = {(m, p): "invariant" for m in ("newton", "gauss_newton") for p in PARAMS}
PREDICTION.update({("damped_newton", "frozen"): "invariant", ("damped_newton", "joint"): "slowed",
                   ("levenberg_marquardt", "frozen"): "slowed",
                   ("levenberg_marquardt", "joint"): "slowed",
                   ("newton_cg", "frozen"): "slowed", ("newton_cg", "joint"): "slowed"})
#: Relative loss-gap target ε of the fine-tuning run, per dtype (shared with claim C3).
EPS = FINETUNE_EPS
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
