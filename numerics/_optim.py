"""Optimiser runs on models: the result record, gradient descent, step counts and step sweeps.

A *model* exposes ``n_params``, ``loss(θ)`` (0-d array), ``grad(θ)``, ``hvp(θ, v)``,
``hessian(θ)``, optionally ``residual``/``jacobian`` (least squares, ``loss = ½‖r‖²``) and
``loss_star`` (the known minimum or ``None``).  ``θ`` is a flat array on any array-API backend;
every run stays on that backend and moves one or two scalars per recorded step to the host.

Stopping convention (every optimiser here and in :mod:`numerics._second_order`)
-------------------------------------------------------------------------------
With ``L*`` known (``model.loss_star`` not ``None``) the criterion is on the loss gap
``Δ_t = L(θ_t) − L*``; otherwise on the gradient norm ``‖∇L(θ_t)‖``:

* relative (default): stop at the first ``t`` with ``Δ_t <= tol · Δ_0`` (resp.
  ``‖∇L(θ_t)‖ <= tol · ‖∇L(θ_0)‖``);
* absolute, when ``atol`` is given (``tol`` is then ignored): ``Δ_t <= atol`` (resp.
  ``‖∇L(θ_t)‖ <= atol``).

The test is applied at ``t = 0`` too, so ``steps`` is the number of updates performed: the
iteration count ``T_A(ε)`` of docs/theory/overview.rst with ``ε = tol · Δ_0`` (or ``atol``).  A run
is
``diverged`` at the first checked ``t`` where the loss or gradient is non-finite, or where
``|L(θ_t) − L_ref| > divergence_factor · |L(θ_0) − L_ref|`` (``L_ref = L*`` or 0); records are cut
at the last finite value and ``theta`` is the last finite iterate.  Otherwise the status is
``converged`` or ``max_steps``; second-order methods may also report ``breakdown`` (failed solve,
zero step, failed line search), with the reason in ``message``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import _gd_batched, _gd_quadratic, _optim_driver
from ._backend import require_positive, to_host
from ._errors import InputError
from ._gd_batched import *  # noqa: F401,F403  (public names of the batched kernel)
from ._gd_quadratic import *  # noqa: F401,F403  (public names of the quadratic kernels)
from ._optim_driver import *  # noqa: F401,F403  (the run record)
from ._optim_driver import _Counted, _run, _UpdateRule

__all__ = [
    *_optim_driver.__all__,
    "SweepResult",
    "gradient_descent",
    "steps_to_tolerance",
    "best_step_sweep",
    *_gd_quadratic.__all__,
    *_gd_batched.__all__,
]


def gradient_descent(model: Any, theta0: Any, step: float, *, max_steps: int = 10_000,
                     tol: float = 1e-8, atol: float | None = None, record_every: int = 1,
                     divergence_factor: float = 1e12) -> OptResult:
    """Fixed-step gradient descent ``θ_{t+1} = θ_t − η ∇L(θ_t)`` on any model.

    Parameters
    ----------
    model : model
        Needs ``n_params``, ``loss``, ``grad`` (and ``loss_star`` for a loss-gap criterion).
    theta0 : array, shape (p,)
        Starting point; its namespace is the backend of the run.
    step : float
        Step size ``η > 0``.
    max_steps : int
        Most updates (``>= 0``).
    tol, atol : float
        Stopping criterion, see the module docstring.
    record_every : int
        Evaluate the loss, test the criteria and record every ``k`` steps (and at the last);
        ``steps`` and ``diverged_at`` are then resolved to multiples of ``k``.
    divergence_factor : float
        See the module docstring.

    Returns
    -------
    OptResult

    Notes
    -----
    On a quadratic with Hessian ``H`` the iteration is stable iff ``0 < η < 2/λ_max(H)`` and
    then ``L(θ_t) − L*`` follows :func:`gd_closed_form` exactly (docs/theory/background.rst, B1);
    with ``η = 1/L`` on an ``L``-smooth, ``μ``-strongly convex loss the gap contracts by at least
    ``1 − μ/L`` per step (B2).  Cost per step: one ``grad`` and, on recorded steps, one ``loss`` and
    one host transfer.
    """
    func = "gradient_descent"
    eta = require_positive(func, "step", step)

    def make(m: _Counted, xp: Any) -> _UpdateRule:
        def update(theta: Any, g: Any, L: float) -> tuple[Any, int]:
            return theta - eta * g, 0
        return update

    return _run(func, model, theta0, make, max_steps=max_steps, tol=tol, atol=atol,
                divergence_factor=divergence_factor, record_every=record_every,
                params={"step": eta})


def steps_to_tolerance(model: Any, theta0: Any, step: float, tol: float = 1e-8, *,
                       atol: float | None = None, max_steps: int = 10_000,
                       divergence_factor: float = 1e12) -> float:
    """Gradient-descent steps to the stopping criterion, by simulation; ``inf`` if not reached.

    The model counterpart of :func:`steps_to_tolerance_quadratic`: runs
    :func:`gradient_descent` (criterion of the module docstring) and returns ``steps`` as a
    float, or ``math.inf`` when the run diverged or hit ``max_steps``.  Use
    :func:`gradient_descent` directly for the status and trajectory.
    """
    res = gradient_descent(model, theta0, step, max_steps=max_steps, tol=tol, atol=atol,
                           divergence_factor=divergence_factor)
    return float(res.steps) if res.converged else math.inf


@dataclass(frozen=True)
class SweepResult:
    """A step-size sweep: the attacker's best step and the full table (host arrays).

    Attributes
    ----------
    steps : numpy.ndarray
        Step sizes tried, in the order given.
    n_steps : numpy.ndarray of float64
        Iterations to tolerance for each step size, ``inf`` where not reached.
    status : numpy.ndarray of str
        Status of each run.
    best_step : float or None
        Step size with the fewest iterations (ties: the smallest step); ``None`` if none converged.
    best_n_steps : float
        Its iteration count (``inf`` if none converged).
    results : list
        What each run returned (an :class:`OptResult` for models).
    """

    steps: np.ndarray
    n_steps: np.ndarray
    status: np.ndarray
    best_step: float | None
    best_n_steps: float
    results: list = field(default_factory=list)

    def __repr__(self) -> str:
        best = "None" if self.best_step is None else f"{self.best_step:.6g}"
        counts = {st: int(np.sum(self.status == st)) for st in dict.fromkeys(self.status.tolist())}
        return (f"SweepResult(n={self.steps.size}, best_step={best}, "
                f"best_n_steps={self.best_n_steps:g}, status={counts})")

    @property
    def rows(self) -> list[dict]:
        """The table as a list of ``{"step", "n_steps", "status"}`` records."""
        return [{"step": float(s), "n_steps": float(n), "status": str(st)}
                for s, n, st in zip(self.steps, self.n_steps, self.status)]


def best_step_sweep(run: Any, steps: Sequence[float], *, theta0: Any = None, tol: float = 1e-8,
                    atol: float | None = None, max_steps: int = 10_000,
                    divergence_factor: float = 1e12) -> SweepResult:
    """Try each step size and return the one reaching the tolerance in the fewest iterations.

    Parameters
    ----------
    run : model or callable
        A model (then :func:`gradient_descent` from ``theta0`` is run for each step), or a
        callable ``run(step)`` returning an :class:`OptResult` or an iteration count
        (``inf`` for failure).
    steps : sequence of float
        Step sizes ``> 0`` (a grid, typically geometric around ``2/λ_max``).
    theta0 : array, optional
        Required when ``run`` is a model.
    tol, atol, max_steps, divergence_factor
        Passed to :func:`gradient_descent` when ``run`` is a model.

    Returns
    -------
    SweepResult

    Notes
    -----
    This is the attacker's step-size tuning of docs/theory/attacks.rst: a defence only counts if it
    slows the attacker at the attacker's best step, ``min_η T_A(ε; η)``.  For quadratics call
    :func:`steps_to_tolerance_quadratic` with an array of steps instead: it is exact and
    vectorised.
    """
    func = "best_step_sweep"
    try:
        flat = np.asarray(to_host(steps), dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{func}: steps must be a sequence of real numbers, got "
                         f"{steps!r}") from None
    grid = [require_positive(func, "steps", s) for s in flat]
    if not grid:
        raise InputError(f"{func}: steps must be non-empty, got {steps!r}")
    is_model = hasattr(run, "loss") and hasattr(run, "grad")
    if is_model and theta0 is None:
        raise InputError(f"{func}: theta0 must be given when run is a model, got None")
    if not is_model and not callable(run):
        raise InputError(f"{func}: run must be a model or a callable, got {type(run).__name__}")
    counts, statuses, results = [], [], []
    for s in grid:
        if is_model:
            out: Any = gradient_descent(run, theta0, s, max_steps=max_steps, tol=tol, atol=atol,
                                        divergence_factor=divergence_factor)
        else:
            out = run(s)
        if isinstance(out, OptResult):
            n, st = (float(out.steps) if out.converged else math.inf), out.status
        else:
            try:
                n = float(out)
            except (TypeError, ValueError):
                raise InputError(f"{func}: run must return an OptResult or an iteration count, "
                                 f"got {out!r} for step {s!r}") from None
            if n < 0:
                raise InputError(f"{func}: run must return an iteration count >= 0 (inf for "
                                 f"failure), got {out!r} for step {s!r}")
            if math.isnan(n):  # a failed run reported as NaN counts as not converged
                n = math.inf
            st = "converged" if math.isfinite(n) else "not_converged"
        counts.append(n)
        statuses.append(st)
        results.append(out)
    n_arr = np.asarray(counts, dtype=np.float64)
    s_arr = np.asarray(grid, dtype=np.float64)
    if np.isfinite(n_arr).any():
        best = np.flatnonzero(n_arr == n_arr.min())
        i = int(best[np.argmin(s_arr[best])])
        best_step, best_n = float(s_arr[i]), float(n_arr[i])
    else:
        best_step, best_n = None, math.inf
    return SweepResult(steps=s_arr, n_steps=n_arr, status=np.asarray(statuses, dtype=str),
                       best_step=best_step, best_n_steps=best_n, results=results)
