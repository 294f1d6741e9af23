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

Backends: an :class:`Arithmetic` names the array namespace it computes in (``backend``:
``"numpy"`` by default, ``"cupy"`` on the GPU, ``"array_api_strict"``).  Every kernel here runs
in that namespace: host inputs are moved in once (``xp.asarray``), arrays come back in it, and
scalars (:func:`preservation_error`, :func:`stall_threshold`) come back as Python floats.  On
NumPy, rounding is a cast through ``ml_dtypes``; elsewhere it is the arithmetic kernel of
:func:`numerics.round_to_format` (``rounding="generic"`` selects that kernel on NumPy too, and
gives bit-identical results).  Matrix products accumulate in float32 (float64 for the float64
format) on every backend: on CuPy that is cuBLAS SGEMM, which must not be allowed TF32
(``CUPY_TF32`` unset, CuPy's default).  When the kernels are given a format name instead of an
:class:`Arithmetic`, the backend is that of the input arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from ._backend import (BACKENDS, _brief, backend_name, get_namespace, namespace_for,
                       require_matrix, require_positive)
from ._errors import InputError
from ._formats import (ROUNDINGS, NumberFormat, _as_float64, _is_host, number_format,
                       round_to_format, ulp)

__all__ = ["MODELS", "Arithmetic", "arithmetic", "specdef_forward", "preservation_error",
           "specdef_gradient", "UpdateRule", "gd_rule", "adamw_rule", "update_step",
           "stall_threshold", "absorption_radius", "geometric_bisection"]

MODELS = ("pure", "mixed")


_NAMESPACES: dict[str, Any] = {}


def _namespace(backend: str) -> Any:
    """The namespace of ``backend``, looked up once per process (CuPy: once a GPU answered)."""
    if backend not in _NAMESPACES:
        _NAMESPACES[backend] = namespace_for(backend)
    return _NAMESPACES[backend]


@dataclass(frozen=True)
class Arithmetic:
    """Storage format plus arithmetic model (see the module notes), on an array backend.

    ``store`` rounds to the storage format F; ``fl`` to the compute format (F when pure,
    float32 when mixed, float64 when F is float64).

    Attributes
    ----------
    format : NumberFormat
        The storage format F.
    model : str
        ``"pure"`` or ``"mixed"``.
    backend : str
        The array namespace every operation runs in: ``"numpy"`` (default), ``"cupy"`` or
        ``"array_api_strict"``.
    rounding : str
        ``"auto"`` (an ``ml_dtypes`` cast on NumPy, the arithmetic kernel elsewhere) or
        ``"generic"`` (the arithmetic kernel everywhere); see :func:`round_to_format`.
    """

    format: NumberFormat
    model: str
    backend: str = "numpy"
    rounding: str = "auto"

    @property
    def xp(self) -> Any:
        """The array namespace of :attr:`backend`."""
        return _namespace(self.backend)

    @property
    def compute(self) -> NumberFormat:
        """The format every intermediate result is rounded to."""
        if self.model == "pure" or self.format.name == "float64":
            return self.format
        return number_format("float32")

    @property
    def accumulate(self) -> str:
        """Dtype name in which matrix products accumulate."""
        return "float64" if self.format.name == "float64" else "float32"

    def _in(self, x: Any) -> Any:
        return _as_float64("Arithmetic", self.xp, x)

    def store(self, x: Any) -> Any:
        """Round to the storage format F."""
        return round_to_format(x, self.format, xp=self.xp, rounding=self.rounding)

    def fl(self, x: Any) -> Any:
        """Round to the compute format."""
        return round_to_format(x, self.compute, xp=self.xp, rounding=self.rounding)

    def matmul(self, a: Any, b: Any) -> Any:
        """``fl(a @ b)``: accumulate in :attr:`accumulate`, then round to the compute format."""
        xp = self.xp
        acc = getattr(xp, self.accumulate)
        with np.errstate(all="ignore"):
            prod = xp.matmul(xp.astype(self._in(a), acc), xp.astype(self._in(b), acc))
        return self.fl(xp.astype(prod, xp.float64))

    def op(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fl(fn(*args))`` for an elementwise ``fn`` evaluated in float64.

        ``fn`` is a function of the backend's namespace (``a.xp.add``; NumPy's ufuncs work on
        NumPy and CuPy arrays).  Exactly rounded for +, −, ×, ÷ and sqrt of operands with at
        most 24 significand bits (float64 carries 53 ≥ 2·24 + 2 bits, so rounding twice is
        innocuous).
        """
        with np.errstate(all="ignore"):
            return self.fl(fn(*(self._in(a) for a in args)))

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v, d in (("backend", self.backend, "numpy"),
                                                        ("rounding", self.rounding, "auto"))
                        if v != d)
        return f"Arithmetic({self.format.name!r}, {self.model!r}{extra})"


def arithmetic(fmt: Any, model: str = "pure", backend: str | None = None,
               rounding: str | None = None) -> Arithmetic:
    """The :class:`Arithmetic` of format ``fmt`` (see :func:`number_format`) and ``model``.

    Parameters
    ----------
    fmt : str, dtype, NumberFormat or Arithmetic
        The storage format; an :class:`Arithmetic` is returned as it is (with ``backend`` and
        ``rounding`` replaced where given).
    model : {"pure", "mixed"}
        The arithmetic model.
    backend : {"numpy", "cupy", "array_api_strict"}, optional
        The array namespace (default NumPy).  ``"cupy"`` without CuPy and a GPU raises
        :class:`BackendUnavailableError` here.
    rounding : {"auto", "generic"}, optional
        The rounding kernel (default ``"auto"``), see :func:`round_to_format`.
    """
    func = "arithmetic"
    if not (backend is None or (isinstance(backend, str) and backend in BACKENDS)):
        raise InputError(f"{func}: backend must be one of {', '.join(BACKENDS)}, got "
                         f"{_brief(backend)}")
    if not (rounding is None or (isinstance(rounding, str) and rounding in ROUNDINGS)):
        raise InputError(f"{func}: rounding must be one of {', '.join(ROUNDINGS)}, got "
                         f"{_brief(rounding)}")
    if backend is not None:
        _namespace(backend)  # a backend that cannot run raises now, not at the first kernel
    if isinstance(fmt, Arithmetic):
        changes = {k: v for k, v in (("backend", backend), ("rounding", rounding))
                   if v is not None}
        return replace(fmt, **changes) if changes else fmt
    if not (isinstance(model, str) and model in MODELS):
        raise InputError(f"{func}: model must be one of {', '.join(MODELS)}, got "
                         f"{_brief(model)}")
    return Arithmetic(number_format(fmt), model, backend or "numpy", rounding or "auto")


def _backend_of(func: str, *arrays: Any) -> str:
    """The backend of the non-host arrays among ``arrays`` (NumPy when all live on the host)."""
    dev = [x for x in arrays if x is not None and not _is_host(x)]
    return backend_name(get_namespace(*dev, func=func)) if dev else "numpy"


def _resolve(func: str, arith: Any, *arrays: Any) -> Arithmetic:
    """``arith`` as an :class:`Arithmetic`; a format name runs on the inputs' backend."""
    if isinstance(arith, Arithmetic):
        return arith
    return arithmetic(arith, backend=_backend_of(func, *arrays))


def _matrix(func: str, name: str, x: Any, a: Arithmetic) -> Any:
    """A validated matrix (:func:`require_matrix`) as float64 in ``a``'s namespace.

    Host arrays are moved in (``xp.asarray``, the one host-to-device hop of the inputs); an
    array of another device namespace raises :class:`InputError`.
    """
    x = require_matrix(func, name, x)
    have = "numpy" if _is_host(x) else backend_name(get_namespace(x, func=func))
    if have != a.backend and have != "numpy":
        raise InputError(f"{func}: {name} is an array of {have} but the arithmetic runs on "
                         f"{a.backend} (pass arithmetic(..., backend={have!r}))")
    xp = a.xp
    return xp.asarray(x, dtype=xp.float64)


def _layer(func: str, W_inflated: Any, C: Any, X: Any, a: Arithmetic) -> tuple[Any, ...]:
    Wt, Cm, Xm = (_matrix(func, "W_inflated", W_inflated, a), _matrix(func, "C", C, a),
                  _matrix(func, "X", X, a))
    m, n = Wt.shape
    if tuple(Cm.shape) != (m, m):
        raise InputError(f"{func}: C must be {m}x{m}, got shape {tuple(Cm.shape)}")
    if Xm.shape[0] != n:
        raise InputError(f"{func}: X must have {n} rows (columns of W_inflated), got shape "
                         f"{tuple(Xm.shape)}")
    return Wt, Cm, Xm


def specdef_forward(W_inflated: Any, C: Any, X: Any, arith: Any) -> Any:
    """``fl(C_F · fl(W̃_F · X))`` in the arithmetic ``arith``, as float64 values.

    ``W̃`` and ``C`` are stored in F (:meth:`Arithmetic.store`), ``X`` enters in the compute
    format, both products follow :meth:`Arithmetic.matmul`.  Overflow gives inf or NaN entries,
    as the format defines it.  The result is an array of the arithmetic's backend.
    """
    func = "specdef_forward"
    a = _resolve(func, arith, W_inflated, C, X)
    Wt, Cm, Xm = _layer(func, W_inflated, C, X, a)
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
    a = _resolve(func, arith, W, W_inflated, C, X)
    Wm = _matrix(func, "W", W, a)
    Wt, Cm, Xm = _layer(func, W_inflated, C, X, a)
    if Wm.shape != Wt.shape:
        raise InputError(f"{func}: W must have W_inflated's shape {tuple(Wt.shape)}, got "
                         f"{tuple(Wm.shape)}")
    xp = a.xp
    out = specdef_forward(Wt, Cm, Xm, a)
    if not bool(xp.all(xp.isfinite(out))):
        return math.inf
    ref = xp.matmul(Wm, Xm)
    den = _norm(a, Wm, 2) * _norm(a, Xm)
    if den == 0.0:
        raise InputError(f"{func}: W and X must be nonzero, got ‖W‖‖X‖ = 0")
    return _norm(a, out - ref) / den


def _norm(a: Arithmetic, A: Any, ord: Any = None) -> float:
    """``‖A‖_F`` (``ord=None``) or ``‖A‖₂`` (``ord=2``) as a Python float, in ``a``'s namespace.

    NumPy keeps ``numpy.linalg.norm`` (the values this module always reported); other
    namespaces use the array API's ``linalg.vector_norm`` / ``matrix_norm``.
    """
    if a.backend == "numpy":
        return float(np.linalg.norm(A, ord))
    xp = a.xp
    if ord is None:
        return float(xp.linalg.vector_norm(xp.reshape(A, (-1,))))
    return float(xp.linalg.matrix_norm(A, ord=ord))


def specdef_gradient(W_inflated: Any, C: Any, X: Any, Y: Any, arith: Any
                     ) -> tuple[Any, Any]:
    """Gradients of ``(1/2b)‖C W̃ X − Y‖_F²`` in W̃ and C, computed in ``arith``.

    ``G_W = Cᵀ R Xᵀ / b`` and ``G_C = R (W̃X)ᵀ / b`` with ``R = C W̃ X − Y``; weights are read
    from their F-rounded stored values, every product and difference is rounded as the model
    says.  Returns ``(G_W, G_C)`` as float64 arrays of compute-format values, in the
    arithmetic's backend.
    """
    func = "specdef_gradient"
    a = _resolve(func, arith, W_inflated, C, X, Y)
    Wt, Cm, Xm = _layer(func, W_inflated, C, X, a)
    Ym = _matrix(func, "Y", Y, a)
    if tuple(Ym.shape) != (Cm.shape[0], Xm.shape[1]):
        raise InputError(f"{func}: Y must have shape {(Cm.shape[0], Xm.shape[1])}, got "
                         f"{tuple(Ym.shape)}")
    xp = a.xp
    Ws, Cs, Xs = a.store(Wt), a.store(Cm), a.fl(Xm)
    Z = a.matmul(Ws, Xs)
    R = a.op(xp.subtract, a.matmul(Cs, Z), a.fl(Ym))
    b = float(Xm.shape[1])
    G_W = a.op(xp.divide, a.matmul(a.matmul(Cs.T, R), Xs.T), b)
    G_C = a.op(xp.divide, a.matmul(R, Z.T), b)
    return G_W, G_C


# ----------------------------------------------------------------------------- update rules
@dataclass(frozen=True)
class UpdateRule:
    """An optimiser as a direction map: ``step: W ← fl_F(W − fl(lr · D))``.

    ``init(W) -> state`` and ``direction(G, W, state, arith) -> (D, state)``; ``D`` is the
    update per unit learning rate (decoupled weight decay included), in compute-format values.
    ``G`` and ``W`` are arrays of the arithmetic's backend, and so are ``D`` and the state.
    Any object with these two methods and a ``name`` can be passed where a rule is expected.
    """

    name: str
    init: Callable[[Any], Any]
    direction: Callable[[Any, Any, Any, Arithmetic], tuple[Any, Any]]


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

    def init(W: Any) -> dict:
        xp = get_namespace(W, func=func)
        return {"t": 0, "m": xp.zeros_like(W), "v": xp.zeros_like(W)}

    def direction(G: Any, W: Any, state: dict, a: Arithmetic) -> tuple[Any, dict]:
        xp = a.xp
        add, mul, div = xp.add, xp.multiply, xp.divide
        t = state["t"] + 1
        b1, b2, e = a.fl(beta1), a.fl(beta2), a.fl(eps)
        m = a.op(add, a.op(mul, b1, state["m"]), a.op(mul, a.fl(1 - beta1), G))
        v = a.op(add, a.op(mul, b2, state["v"]), a.op(mul, a.fl(1 - beta2), a.op(mul, G, G)))
        mh = a.op(div, m, a.fl(1 - beta1**t))
        vh = a.op(div, v, a.fl(1 - beta2**t))
        D = a.op(div, mh, a.op(add, a.op(xp.sqrt, vh), e))
        if weight_decay:
            D = a.op(add, D, a.op(mul, a.fl(weight_decay), W))
        return D, {"t": t, "m": m, "v": v}

    return UpdateRule("adamw", init, direction)


def update_step(W: Any, G: Any, lr: float, rule: Any, arith: Any, state: Any = None
                ) -> tuple[Any, Any]:
    """One step ``W ← fl_F(W_F − fl(fl(lr)·D))`` of ``rule``; returns ``(W_new, state)``.

    ``W`` is rounded to F first (the stored weight); ``state=None`` starts the rule afresh.
    In the pure model the learning rate itself is a value of F (it may round to a subnormal
    or to 0); in the mixed model a float32.  ``W_new`` is an array of the arithmetic's backend.
    """
    func = "update_step"
    a = _resolve(func, arith, W, G)
    Wm, Gm = _matrix(func, "W", W, a), _matrix(func, "G", G, a)
    if Gm.shape != Wm.shape:
        raise InputError(f"{func}: G must have W's shape {tuple(Wm.shape)}, got "
                         f"{tuple(Gm.shape)}")
    lr = require_positive(func, "lr", lr, allow_zero=True)
    if not all(hasattr(rule, k) for k in ("init", "direction")):
        raise InputError(f"{func}: rule must have init and direction (an UpdateRule), got "
                         f"{_brief(rule)}")
    xp = a.xp
    Ws = a.store(Wm)
    if state is None:
        state = rule.init(Ws)
    D, state = rule.direction(a.fl(Gm), Ws, state, a)
    delta = a.op(xp.multiply, a.fl(lr), D)
    return a.store(a.op(xp.subtract, Ws, delta)), state


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
    to ``hi`` changes ``W`` (default ``hi``: ``1e300``) and ``0.0`` if even ``lo`` does; a
    Python float on every backend (each bisection step reads one boolean back from the device).
    """
    func = "stall_threshold"
    a = _resolve(func, arith, W, G)
    Wm, Gm = _matrix(func, "W", W, a), _matrix(func, "G", G, a)  # moved in once, not per step
    rtol = require_positive(func, "rtol", rtol)
    xp = a.xp
    Ws = a.store(Wm)

    def changes(lr: float) -> bool:
        W1, _ = update_step(Ws, Gm, lr, rule, a, state)
        return bool(xp.any(W1 != Ws))

    lo = 1e-300 if lo is None else require_positive(func, "lo", lo)
    hi = 1e300 if hi is None else require_positive(func, "hi", hi)
    if not lo < hi:
        raise InputError(f"{func}: lo must be < hi, got lo={lo!r}, hi={hi!r}")
    if changes(lo):
        return 0.0
    if not changes(hi):
        return math.inf
    return geometric_bisection(changes, lo, hi, rtol)


def geometric_bisection(pred: Callable[[float], bool], lo: float, hi: float,
                        rtol: float) -> float:
    """Smallest ``x`` in ``(lo, hi]`` with ``pred(x)``, for a monotone ``pred`` (False at ``lo``,
    True at ``hi``), to relative width ``rtol``: bisection at geometric midpoints
    ``√(lo·hi)``, which halves ``log(hi/lo)`` each step (``lo``, ``hi`` > 0).  Returns the upper
    end of the final bracket; stops early when the midpoint no longer lies strictly inside.
    """
    while hi / lo > 1 + rtol:
        mid = math.sqrt(lo * hi)
        if not lo < mid < hi:
            break
        lo, hi = (lo, mid) if pred(mid) else (mid, hi)
    return hi
