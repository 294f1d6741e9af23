"""Low-precision arithmetic models, the SpecDef forward pass and update steps in a format.

Two arithmetic models for a storage format F (:class:`Arithmetic`):

* ``"pure"`` — weights, activations, gradients, optimiser state and updates are stored in F and
  every operation's result is rounded to F (elementwise operations exactly rounded; matrix
  products accumulated in float32, as tensor cores and ``ml_dtypes`` do, then rounded to F);
* ``"mixed"`` — weights are stored in F, everything else is computed and kept in float32 (the
  storage side of mixed precision; the updated weight is rounded back to F after each step).

For F = float64 both models are plain float64 arithmetic.  All arrays cross this module as
float64 arrays holding values representable in the format they belong to, so that no NumPy
promotion rule of the ``ml_dtypes`` types can round anything behind the model's back.

Update steps are pluggable: an :class:`UpdateRule` turns a gradient into a direction ``D``
(per unit learning rate) and the step is ``W ← fl_F(W − fl(lr·D))``; :func:`gd_rule` and
:func:`adamw_rule` are two such rules, and any object with the same two methods (``init`` and
``direction``) can replace them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._backend import _brief, require_matrix, require_positive
from ._errors import InputError
from ._formats import NumberFormat, number_format, round_to_format, ulp

__all__ = ["MODELS", "Arithmetic", "arithmetic", "specdef_forward", "preservation_error",
           "specdef_gradient", "UpdateRule", "gd_rule", "adamw_rule", "update_step",
           "stall_threshold", "absorption_radius"]

MODELS = ("pure", "mixed")


@dataclass(frozen=True)
class Arithmetic:
    """Storage format plus arithmetic model (see the module notes).

    ``store`` rounds to the storage format F; ``fl`` to the compute format (F when pure,
    float32 when mixed, float64 when F is float64).
    """

    format: NumberFormat
    model: str

    @property
    def compute(self) -> NumberFormat:
        """The format every intermediate result is rounded to."""
        if self.model == "pure" or self.format.name == "float64":
            return self.format
        return number_format("float32")

    @property
    def accumulate(self) -> str:
        """NumPy dtype name in which matrix products accumulate."""
        return "float64" if self.format.name == "float64" else "float32"

    def store(self, x: Any) -> np.ndarray:
        """Round to the storage format F."""
        return round_to_format(x, self.format)

    def fl(self, x: Any) -> np.ndarray:
        """Round to the compute format."""
        return round_to_format(x, self.compute)

    def matmul(self, a: Any, b: Any) -> np.ndarray:
        """``fl(a @ b)``: accumulate in :attr:`accumulate`, then round to the compute format."""
        acc = np.dtype(self.accumulate)
        with np.errstate(all="ignore"):
            prod = np.matmul(np.asarray(a, dtype=acc), np.asarray(b, dtype=acc))
        return self.fl(prod.astype(np.float64))

    def op(self, fn: Callable[..., Any], *args: Any) -> np.ndarray:
        """``fl(fn(*args))`` for an elementwise ``fn`` evaluated in float64.

        Exactly rounded for +, −, ×, ÷ and sqrt of operands with at most 24 significand bits
        (float64 carries 53 ≥ 2·24 + 2 bits, so rounding twice is innocuous).
        """
        with np.errstate(all="ignore"):
            return self.fl(fn(*(np.asarray(a, dtype=np.float64) for a in args)))

    def __repr__(self) -> str:
        return f"Arithmetic({self.format.name!r}, {self.model!r})"


def arithmetic(fmt: Any, model: str = "pure") -> Arithmetic:
    """The :class:`Arithmetic` of format ``fmt`` (see :func:`number_format`) and ``model``."""
    if isinstance(fmt, Arithmetic):
        return fmt
    if not (isinstance(model, str) and model in MODELS):
        raise InputError(f"arithmetic: model must be one of {', '.join(MODELS)}, got "
                         f"{_brief(model)}")
    return Arithmetic(number_format(fmt), model)


def _host(func: str, name: str, x: Any) -> np.ndarray:
    x = require_matrix(func, name, x)
    return np.asarray(x, dtype=np.float64)


def _layer(func: str, W_inflated: Any, C: Any, X: Any) -> tuple[np.ndarray, ...]:
    Wt, Cm, Xm = _host(func, "W_inflated", W_inflated), _host(func, "C", C), _host(func, "X", X)
    m, n = Wt.shape
    if Cm.shape != (m, m):
        raise InputError(f"{func}: C must be {m}x{m}, got shape {Cm.shape}")
    if Xm.shape[0] != n:
        raise InputError(f"{func}: X must have {n} rows (columns of W_inflated), got shape "
                         f"{Xm.shape}")
    return Wt, Cm, Xm


def specdef_forward(W_inflated: Any, C: Any, X: Any, arith: Any) -> np.ndarray:
    """``fl(C_F · fl(W̃_F · X))`` in the arithmetic ``arith``, as float64 values.

    ``W̃`` and ``C`` are stored in F (:meth:`Arithmetic.store`), ``X`` enters in the compute
    format, both products follow :meth:`Arithmetic.matmul`.  Overflow gives inf or NaN entries,
    as the format defines it.
    """
    func = "specdef_forward"
    Wt, Cm, Xm = _layer(func, W_inflated, C, X)
    a = arithmetic(arith) if not isinstance(arith, Arithmetic) else arith
    return a.matmul(a.store(Cm), a.matmul(a.store(Wt), a.fl(Xm)))


def preservation_error(W: Any, W_inflated: Any, C: Any, X: Any, arith: Any) -> float:
    """Function-preservation error ``‖fl(C fl(W̃X)) − WX‖_F / (‖W‖₂ ‖X‖_F)`` in ``arith``.

    The reference ``WX`` is computed in float64 from the original ``W``.  Returns ``inf`` when
    the low-precision forward pass overflowed (an inf or NaN entry).

    Notes
    -----
    With the SpecDef layer of :func:`numerics.specdef` (``‖C‖₂ = 1``, ``‖W̃‖_F ≤ √r·α·σ_1(W)``,
    ``‖C‖_F ≤ √m``), storage rounding ``|E| ≤ u|·|`` and one rounding per product, the first-order
    error is ``C E_W X + E_C W̃ X + W E_X + C E_Z + E_Y``, of norm at most
    ``u(α(√r + √m + 1) + 2)·σ_1‖X‖_F ≤ c·α·u·σ_1‖X‖_F`` with ``c = √r + √m + 3`` — the model
    ``c·α·u_F`` of the function-preservation theorem (F's u in the pure model; the mixed model
    rounds only W̃ and C to F and is bounded by the same c).
    """
    func = "preservation_error"
    Wm = _host(func, "W", W)
    Wt, Cm, Xm = _layer(func, W_inflated, C, X)
    if Wm.shape != Wt.shape:
        raise InputError(f"{func}: W must have W_inflated's shape {Wt.shape}, got {Wm.shape}")
    out = specdef_forward(Wt, Cm, Xm, arith)
    if not np.all(np.isfinite(out)):
        return math.inf
    ref = Wm @ Xm
    den = float(np.linalg.norm(Wm, 2) * np.linalg.norm(Xm))
    if den == 0.0:
        raise InputError(f"{func}: W and X must be nonzero, got ‖W‖‖X‖ = 0")
    return float(np.linalg.norm(out - ref)) / den


def specdef_gradient(W_inflated: Any, C: Any, X: Any, Y: Any, arith: Any
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of ``(1/2b)‖C W̃ X − Y‖_F²`` in W̃ and C, computed in ``arith``.

    ``G_W = Cᵀ R Xᵀ / b`` and ``G_C = R (W̃X)ᵀ / b`` with ``R = C W̃ X − Y``; weights are read
    from their F-rounded stored values, every product and difference is rounded as the model
    says.  Returns ``(G_W, G_C)`` as float64 arrays of compute-format values.
    """
    func = "specdef_gradient"
    Wt, Cm, Xm = _layer(func, W_inflated, C, X)
    Ym = _host(func, "Y", Y)
    if Ym.shape != (Cm.shape[0], Xm.shape[1]):
        raise InputError(f"{func}: Y must have shape {(Cm.shape[0], Xm.shape[1])}, got "
                         f"{Ym.shape}")
    a = arithmetic(arith) if not isinstance(arith, Arithmetic) else arith
    Ws, Cs, Xs = a.store(Wt), a.store(Cm), a.fl(Xm)
    Z = a.matmul(Ws, Xs)
    R = a.op(np.subtract, a.matmul(Cs, Z), a.fl(Ym))
    b = float(Xm.shape[1])
    G_W = a.op(np.divide, a.matmul(a.matmul(Cs.T, R), Xs.T), b)
    G_C = a.op(np.divide, a.matmul(R, Z.T), b)
    return G_W, G_C


# ----------------------------------------------------------------------------- update rules
@dataclass(frozen=True)
class UpdateRule:
    """An optimiser as a direction map: ``step: W ← fl_F(W − fl(lr · D))``.

    ``init(W) -> state`` and ``direction(G, W, state, arith) -> (D, state)``; ``D`` is the
    update per unit learning rate (decoupled weight decay included), in compute-format values.
    Any object with these two methods and a ``name`` can be passed where a rule is expected.
    """

    name: str
    init: Callable[[np.ndarray], Any]
    direction: Callable[[np.ndarray, np.ndarray, Any, Arithmetic], tuple[np.ndarray, Any]]


def gd_rule() -> UpdateRule:
    """Gradient descent: ``D = G``."""
    return UpdateRule("gd", lambda W: None, lambda G, W, state, a: (a.fl(G), state))


def adamw_rule(beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
               weight_decay: float = 0.0) -> UpdateRule:
    """AdamW: ``D = m̂/(√v̂ + eps) + weight_decay·W`` with bias-corrected moments.

    Every operation is rounded in the arithmetic (in the pure model ``eps`` itself is stored in
    F: 1e-8 is 0 in float16 and the float8 formats, and ``g²`` may underflow, as on hardware).

    Notes
    -----
    At the first step ``m̂ = g`` and ``v̂ = g²``, so ``D = g/(|g| + eps)`` (+ decay): a step of
    size ≈ lr whatever the gradient's scale.
    """
    func = "adamw_rule"
    for name, v in (("beta1", beta1), ("beta2", beta2)):
        v = require_positive(func, name, v, allow_zero=True)
        if v >= 1:
            raise InputError(f"{func}: {name} must be in [0, 1), got {v!r}")
    eps = require_positive(func, "eps", eps, allow_zero=True)
    weight_decay = require_positive(func, "weight_decay", weight_decay, allow_zero=True)

    def init(W: np.ndarray) -> dict:
        return {"t": 0, "m": np.zeros_like(W), "v": np.zeros_like(W)}

    def direction(G: np.ndarray, W: np.ndarray, state: dict, a: Arithmetic
                  ) -> tuple[np.ndarray, dict]:
        t = state["t"] + 1
        b1, b2, e = a.fl(beta1), a.fl(beta2), a.fl(eps)
        m = a.op(np.add, a.op(np.multiply, b1, state["m"]), a.op(np.multiply, a.fl(1 - beta1), G))
        v = a.op(np.add, a.op(np.multiply, b2, state["v"]),
                 a.op(np.multiply, a.fl(1 - beta2), a.op(np.multiply, G, G)))
        mh = a.op(np.divide, m, a.fl(1 - beta1**t))
        vh = a.op(np.divide, v, a.fl(1 - beta2**t))
        D = a.op(np.divide, mh, a.op(np.add, a.op(np.sqrt, vh), e))
        if weight_decay:
            D = a.op(np.add, D, a.op(np.multiply, a.fl(weight_decay), W))
        return D, {"t": t, "m": m, "v": v}

    return UpdateRule("adamw", init, direction)


def update_step(W: Any, G: Any, lr: float, rule: Any, arith: Any, state: Any = None
                ) -> tuple[np.ndarray, Any]:
    """One step ``W ← fl_F(W_F − fl(fl(lr)·D))`` of ``rule``; returns ``(W_new, state)``.

    ``W`` is rounded to F first (the stored weight); ``state=None`` starts the rule afresh.
    In the pure model the learning rate itself is a value of F (it may round to a subnormal
    or to 0); in the mixed model a float32.
    """
    func = "update_step"
    Wm, Gm = _host(func, "W", W), _host(func, "G", G)
    if Gm.shape != Wm.shape:
        raise InputError(f"{func}: G must have W's shape {Wm.shape}, got {Gm.shape}")
    lr = require_positive(func, "lr", lr, allow_zero=True)
    if not all(hasattr(rule, k) for k in ("init", "direction")):
        raise InputError(f"{func}: rule must have init and direction (an UpdateRule), got "
                         f"{_brief(rule)}")
    a = arithmetic(arith) if not isinstance(arith, Arithmetic) else arith
    Ws = a.store(Wm)
    if state is None:
        state = rule.init(Ws)
    D, state = rule.direction(a.fl(Gm), Ws, state, a)
    delta = a.op(np.multiply, a.fl(lr), D)
    return a.store(a.op(np.subtract, Ws, delta)), state


def absorption_radius(W: Any, fmt: Any) -> np.ndarray:
    """``ulp(fl_F(w))/2`` entrywise: updates of smaller size leave the stored weight unchanged.

    (Upward; at a power of two the gap below is half as wide, and a tie goes to the even
    neighbour.)
    """
    f = number_format(fmt)
    return ulp(round_to_format(W, f), f) / 2


def stall_threshold(W: Any, G: Any, rule: Any, arith: Any, *, lo: float | None = None,
                    hi: float | None = None, rtol: float = 1e-7, state: Any = None) -> float:
    """Smallest learning rate whose first step changes some stored entry of ``W``.

    Bisection (geometric) on ``lr`` of :func:`update_step` between ``lo`` (no entry changes)
    and ``hi`` (some entry changes), to relative width ``rtol``; returns the upper end.  The
    predicate is monotone in ``lr`` because rounding is.  Returns ``inf`` if no learning rate up
    to ``hi`` changes ``W`` (default ``hi``: ``1e300``) and ``0.0`` if even ``lo`` does.
    """
    func = "stall_threshold"
    Wm = _host(func, "W", W)
    rtol = require_positive(func, "rtol", rtol)
    a = arithmetic(arith) if not isinstance(arith, Arithmetic) else arith
    Ws = a.store(Wm)

    def changes(lr: float) -> bool:
        W1, _ = update_step(Ws, G, lr, rule, a, state)
        return bool(np.any(W1 != Ws))

    lo = 1e-300 if lo is None else require_positive(func, "lo", lo)
    hi = 1e300 if hi is None else require_positive(func, "hi", hi)
    if not lo < hi:
        raise InputError(f"{func}: lo must be < hi, got lo={lo!r}, hi={hi!r}")
    if changes(lo):
        return 0.0
    if not changes(hi):
        return math.inf
    while hi / lo > 1 + rtol:
        mid = math.sqrt(lo * hi)
        if not lo < mid < hi:
            break
        if changes(mid):
            hi = mid
        else:
            lo = mid
    return hi
