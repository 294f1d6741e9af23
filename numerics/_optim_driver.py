"""The shared optimiser driver: the run record and the loop every optimiser runs through.

:class:`OptResult` records one run; ``_run`` validates the model and ``θ_0``, iterates an update
rule, applies the stopping and divergence tests of the convention in :mod:`numerics._optim` and
records the trajectory on the host.  The first-order runs of :mod:`numerics._optim` and the
second-order methods of :mod:`numerics._second_order` and :mod:`numerics._newton_cg` are update
rules handed to ``_run``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ._backend import backend_name, get_namespace, require_matrix, require_positive, to_host
from ._errors import InputError

__all__ = ["OptResult"]


@dataclass(frozen=True)
class OptResult:
    """One optimiser run.

    Attributes
    ----------
    method : str
        ``"gradient_descent"``, ``"newton"``, ``"gauss_newton"``, ...
    status : str
        ``"converged"``, ``"diverged"``, ``"max_steps"``, ``"stalled"`` (an update with a
        positive learning rate left every parameter bit-for-bit unchanged: the step was absorbed
        by rounding) or ``"breakdown"``.
    steps : int
        Updates performed until the stopping criterion, divergence or ``max_steps``.
    theta : array
        Final (last finite) iterate, on the input's backend.
    loss, grad_norm : numpy.ndarray of float64
        ``L(θ_t)`` and ``‖∇L(θ_t)‖`` at ``record_steps`` (step 0 included), never NaN.
    inner_iterations : int
        Total inner products (Hessian-vector products of Newton-CG), else 0.
    diverged_at : int or None
        Step at which divergence was detected.
    params : dict
        Method parameters and the stopping criterion.
    record_steps : numpy.ndarray of int64
        Iteration index of each record.
    evaluations : dict
        Number of calls of each model method (``loss``, ``grad``, ``hvp``, ...).
    inner_per_step : numpy.ndarray of int64
        Inner products per outer step (Newton-CG), else empty.
    message : str
        One line on why the run stopped.
    """

    method: str
    status: str
    steps: int
    theta: Any
    loss: np.ndarray
    grad_norm: np.ndarray
    inner_iterations: int = 0
    diverged_at: int | None = None
    params: dict = field(default_factory=dict)
    record_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    evaluations: dict = field(default_factory=dict)
    inner_per_step: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    message: str = ""

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    def __repr__(self) -> str:
        final = f"{self.loss[-1]:.6g}" if self.loss.size else "n/a"
        shape = tuple(getattr(self.theta, "shape", ()))
        extra = f", diverged_at={self.diverged_at}" if self.diverged_at is not None else ""
        return (f"OptResult(method={self.method!r}, status={self.status!r}, steps={self.steps}"
                f"{extra}, final_loss={final}, theta_shape={shape}, "
                f"records={self.loss.size})")


class _Breakdown(Exception):
    """Raised by an update rule for a numerical breakdown; reported as status ``breakdown``."""


class _Stalled(Exception):
    """Raised by an update rule whose update changed no parameter; reported as ``stalled``."""


class _Counted:
    """Wrap a model and count the calls of each method."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.counts: dict[str, int] = {}

    def __call__(self, name: str, *args: Any) -> Any:
        self.counts[name] = self.counts.get(name, 0) + 1
        return getattr(self.model, name)(*args)


def _require_model(func: str, model: Any, needs: Sequence[str]) -> None:
    missing = [n for n in ("n_params", *needs) if not hasattr(model, n)]
    if missing:
        raise InputError(f"{func}: model must provide {', '.join(missing)}, got "
                         f"{type(model).__name__}")


class _Stop:
    """The stopping and divergence tests of the :mod:`numerics._optim` docstring, on host floats."""

    def __init__(self, loss_star: float | None, tol: float, atol: float | None,
                 factor: float) -> None:
        self.loss_star, self.tol, self.atol, self.factor = loss_star, tol, atol, factor
        self.on = "loss gap" if loss_star is not None else "gradient norm"
        self.kind = "absolute" if atol is not None else "relative"

    def start(self, L0: float, gn0: float) -> None:
        self.ref = self.loss_star if self.loss_star is not None else 0.0
        self.dev0 = abs(L0 - self.ref)
        self.val0 = (L0 - self.ref) if self.loss_star is not None else gn0

    def value(self, L: float, gn: float) -> float:
        return (L - self.ref) if self.loss_star is not None else gn

    def met(self, L: float, gn: float) -> bool:
        bound = self.atol if self.atol is not None else self.tol * self.val0
        return self.value(L, gn) <= bound

    def blown(self, L: float) -> bool:
        return self.dev0 > 0 and abs(L - self.ref) > self.factor * self.dev0


def _host_pair(xp: Any, L: Any, g: Any) -> tuple[float, float]:
    """``(L, ‖g‖)`` as host floats with one transfer (diagnostics: a gradient held in a number
    format, :class:`numerics.FormatArray`, is measured in float64, where its norm cannot
    overflow)."""
    if isinstance(g, np.ndarray) and type(g) is not np.ndarray:
        g = g.view(np.ndarray)
    gn = xp.linalg.vector_norm(g)
    if not hasattr(L, "shape"):
        return float(L), float(to_host(gn))
    h = to_host(xp.stack([xp.astype(xp.reshape(L, ()), gn.dtype), gn]))
    return float(h[0]), float(h[1])


_UpdateRule = Callable[[Any, Any, float], "tuple[Any, int]"]


def _run(func: str, model: Any, theta0: Any,
         make_update: Callable[[_Counted, Any], _UpdateRule], *, max_steps: Any, tol: Any,
         atol: Any, divergence_factor: Any, record_every: Any = 1, params: dict | None = None,
         needs: Sequence[str] = ("loss", "grad")) -> OptResult:
    """Shared driver: validate, iterate ``make_update(counted, xp)``, test, record."""
    _require_model(func, model, needs)
    if not hasattr(theta0, "shape"):
        raise InputError(f"{func}: theta0 must be an array, got {type(theta0).__name__}")
    theta = require_matrix(func, "theta0", theta0, ndim=1)
    xp = get_namespace(theta, func=func)
    model_xp = getattr(model, "xp", None)
    if model_xp is not None and backend_name(model_xp) != backend_name(xp):
        raise InputError(f"{func}: theta0 must be on the model's backend "
                         f"({backend_name(model_xp)}), got a {backend_name(xp)} array")
    p = int(model.n_params)
    if theta.shape[0] != p:
        raise InputError(f"{func}: theta0 must have shape ({p},) to match model.n_params, got "
                         f"shape {tuple(theta.shape)}")
    max_steps = require_positive(func, "max_steps", max_steps, allow_zero=True, integer=True)
    tol = require_positive(func, "tol", tol)
    atol = None if atol is None else require_positive(func, "atol", atol)
    factor = require_positive(func, "divergence_factor", divergence_factor)
    record_every = require_positive(func, "record_every", record_every, integer=True)
    loss_star = getattr(model, "loss_star", None)
    loss_star = None if loss_star is None else float(loss_star)
    stop = _Stop(loss_star, tol, atol, factor)
    params = dict(params or {})
    params.update(max_steps=max_steps, tol=tol, atol=atol, record_every=record_every,
                  divergence_factor=factor, loss_star=loss_star,
                  criterion=f"{stop.kind} {stop.on}")
    m = _Counted(model)
    update = make_update(m, xp)
    losses: list[float] = []
    gnorms: list[float] = []
    rsteps: list[int] = []
    inner: list[int] = []

    def record(t: int, L: float, gn: float) -> None:
        losses.append(L)
        gnorms.append(gn)
        rsteps.append(t)

    status, steps, diverged_at, message = "max_steps", max_steps, None, ""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        g = m("grad", theta)
        L, gn = _host_pair(xp, m("loss", theta), g)
        theta_ok = theta
        if not (math.isfinite(L) and math.isfinite(gn)):
            status, steps, diverged_at = "diverged", 0, 0
            message = "loss or gradient non-finite at theta0"
        else:
            record(0, L, gn)
            stop.start(L, gn)
            if stop.met(L, gn):
                status, steps, message = "converged", 0, "criterion met at theta0"
        t = 0
        while status == "max_steps" and t < max_steps:
            t += 1
            try:
                theta_new, n_inner = update(theta, g, L)
            except _Breakdown as exc:
                status, steps, message = "breakdown", t - 1, str(exc)
                break
            except _Stalled as exc:
                status, steps, message = "stalled", t - 1, str(exc)
                break
            inner.append(n_inner)
            theta = theta_new
            g = m("grad", theta)
            if t % record_every and t != max_steps:
                L = math.nan  # not evaluated at this step
                continue
            L, gn = _host_pair(xp, m("loss", theta), g)
            if not (math.isfinite(L) and math.isfinite(gn)):
                status, steps, diverged_at = "diverged", t, t
                message = f"loss or gradient non-finite at step {t}"
                break
            record(t, L, gn)
            theta_ok = theta
            if stop.blown(L):
                status, steps, diverged_at = "diverged", t, t
                message = f"loss moved more than divergence_factor={factor:g} times its start"
            elif stop.met(L, gn):
                status, steps = "converged", t
                message = f"{stop.kind} {stop.on} criterion met at step {t}"
        if status == "max_steps":
            message = f"criterion not met in max_steps={max_steps}"
    return OptResult(
        method=func, status=status, steps=int(steps), theta=theta_ok,
        loss=np.asarray(losses, dtype=np.float64), grad_norm=np.asarray(gnorms, dtype=np.float64),
        inner_iterations=int(sum(inner)), diverged_at=diverged_at, params=params,
        record_steps=np.asarray(rsteps, dtype=np.int64), evaluations=dict(m.counts),
        inner_per_step=np.asarray(inner, dtype=np.int64), message=message)
