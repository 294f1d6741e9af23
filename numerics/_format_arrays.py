"""Models and optimisers run in a number format: arrays whose every operation is rounded.

:class:`FormatArray` is a NumPy array of float64 values representable in an
:class:`~numerics.Arithmetic`'s compute format, and every NumPy operation on it returns a
:class:`FormatArray` whose values are the exact result rounded once to that format:

* elementwise ufuncs (``+ − × ÷``, ``sqrt``, ``maximum``, ``clip``, ``tanh``, ...) are evaluated
  in float64 and rounded: for ``+ − × ÷ sqrt`` of operands with at most 24 significand bits this
  is the correctly rounded result (float64 carries ``53 ≥ 2·24 + 2`` bits, so rounding twice is
  innocuous); other functions are modelled as correctly rounded library functions;
* matrix products, reductions (``sum``), ``dot``/``einsum``/``tensordot`` and ``linalg`` routines
  run in the arithmetic's accumulation type (float32 for every format below float64, as tensor
  cores and ``ml_dtypes`` do) and their result is rounded to the compute format;
* an operand that is not a :class:`FormatArray` (data, a constant such as ``β₁`` or the
  learning rate) enters a ufunc or an accumulating routine rounded to the compute format, as a
  stored constant would (other routines — ``where``, ``concat``, ``copyto`` — see it as it is
  and only their result is rounded); integer and boolean operands are exact and enter as they
  are;
* results that are not floating point (comparisons, indices) are returned as plain arrays.

A library routine that converts its input with ``asarray`` leaves the subclass: it runs in
float64, and its result enters the arithmetic, rounded, at its next operation with a
:class:`FormatArray`.  The training loop therefore hands an optimiser θ, the gradient and every
Hessian product as FormatArrays, gives it an array namespace whose every result is rounded
(``array_api_compat``'s ``clip`` builds a plain array), and rounds the direction it returns, so
nothing unrounded reaches an update; the tests rebuild each optimiser's first direction
operation by operation and compare bits.

:func:`train_in_format` runs the optimisers of :data:`numerics.METHODS` (gradient descent,
SGD with momentum, Adam, AdamW, Muon, Sophia, AdaHessian) on any model of :mod:`numerics` in a
format and an arithmetic model (``"pure"`` or ``"mixed"``, see :class:`numerics.Arithmetic`):
the optimiser's own code runs on :class:`FormatArray` operands, the step is
``θ ← fl_F(θ − fl(fl(η)·u))`` (in the mixed model ``fl`` is float32's rounding, so the stored
weight is rounded twice, as a float32 update stored in the format is).  :func:`first_step_threshold` is the smallest learning rate whose
first update changes a stored parameter.  Both run on NumPy (the formats of ``ml_dtypes``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import _brief, require_positive
from ._errors import InputError
from ._lowprec import Arithmetic, arithmetic, geometric_bisection

__all__ = ["FormatArray", "in_format", "train_in_format", "first_step_threshold"]

#: NumPy functions that accumulate (run in the accumulation type, then rounded once).
_ACCUMULATING = {np.dot, np.vdot, np.inner, np.outer, np.tensordot, np.einsum, np.matmul,
                 np.sum, np.prod, np.mean, np.var, np.std, np.cumsum, np.trace, np.linalg.norm,
                 np.linalg.svd, np.linalg.eigh, np.linalg.eigvalsh, np.linalg.qr,
                 np.linalg.solve, np.linalg.inv, np.linalg.lstsq, np.linalg.pinv,
                 np.linalg.matrix_norm, np.linalg.vector_norm, np.linalg.svdvals,
                 np.linalg.vecdot, np.vecdot}


class FormatArray(np.ndarray):
    """A float64 array whose every operation is rounded in :attr:`arith` (module notes).

    Build one with :func:`in_format`; views and slices keep the arithmetic.
    """

    arith: Arithmetic | None = None

    def __array_finalize__(self, obj: Any) -> None:
        if obj is not None and self.arith is None:
            self.arith = getattr(obj, "arith", None)

    def __reduce__(self) -> Any:
        rebuild, args, state = super().__reduce__()[:3]
        return rebuild, args, (state, self.arith)

    def __setstate__(self, state: Any) -> None:
        base, self.arith = state
        super().__setstate__(base)

    # -- helpers -------------------------------------------------------------------------
    def _a(self, operands: Any) -> Arithmetic:
        mine = [x for x in _walk(operands) if isinstance(x, FormatArray)] or [self]
        found = {x.arith for x in mine}
        if None in found:
            raise InputError("FormatArray: an operand has no arithmetic (build FormatArrays "
                             "with in_format, not by viewing a plain array)")
        if len(found) > 1:
            raise InputError("FormatArray: operands must share one arithmetic, got "
                             + ", ".join(sorted(repr(a) for a in found)))
        return next(iter(found))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, out: Any = None,
                        **kwargs: Any) -> Any:
        a = self._a((inputs, out))
        accumulate = ufunc is np.matmul or method in ("reduce", "accumulate", "reduceat")
        if method == "at":  # in place on the first operand: apply, then round what it holds
            raw = [_unwrap(inputs[0])] + [_enter(a, x, False) for x in inputs[1:]]
            with np.errstate(all="ignore"):
                ufunc.at(*raw, **kwargs)
            _reround(a, inputs[0])
            return None
        raw = [_enter(a, x, accumulate) for x in inputs]
        with np.errstate(all="ignore"):
            res = getattr(ufunc, method)(*raw, **kwargs)
        res = _leave(a, res)
        if out is None:
            return res
        targets = out if isinstance(out, tuple) else (out,)
        results = res if isinstance(res, tuple) else (res,)
        for t, r in zip(targets, results):
            np.ndarray.__setitem__(_unwrap(t), Ellipsis, _unwrap(r))
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        a = self._a((args, kwargs))
        accumulate = func in _ACCUMULATING
        # other functions may write into their arguments (copyto, put, place): FormatArray
        # operands are passed as views and rounded again afterwards, plain arrays as they are
        enter = (lambda x: _enter(a, x, True)) if accumulate else _unwrap
        new_args, new_kwargs = _map(enter, args), _map(enter, kwargs)
        with np.errstate(all="ignore"):
            res = func(*new_args, **new_kwargs)
        if not accumulate:
            for x in _walk((args, kwargs)):
                if isinstance(x, FormatArray):
                    _reround(a, x)
        return _leave(a, res)

    # -- elements and the ndarray methods that bypass the two protocols -----------------
    def __getitem__(self, key: Any) -> Any:
        out = super().__getitem__(key)
        return in_format(out, self.arith) if isinstance(out, np.floating) else out

    def __setitem__(self, key: Any, value: Any) -> None:
        if self.arith is None:
            raise InputError("FormatArray: an operand has no arithmetic (build FormatArrays "
                             "with in_format, not by viewing a plain array)")
        v = value.view(np.ndarray) if isinstance(value, FormatArray) else value
        if isinstance(v, (float, np.floating)) or (isinstance(v, np.ndarray)
                                                    and v.dtype.kind == "f"):
            v = self.arith.fl(v)
        np.ndarray.__setitem__(self.view(np.ndarray), key, v)

    def fill(self, value: Any) -> None:
        self[...] = value

    def dot(self, b: Any, out: Any = None) -> Any:
        return np.dot(self, b, out=out) if out is not None else np.dot(self, b)

    def __repr__(self) -> str:
        arr = np.array2string(self.view(np.ndarray), threshold=8)
        return f"FormatArray({arr}, {self.arith!r})"


def _through(func: Any) -> Any:
    """An ndarray reduction method routed through ``func`` (so ``__array_function__`` rounds it)."""
    def method(self: "FormatArray", *args: Any, **kwargs: Any) -> Any:
        return func(self, *args, **kwargs)
    method.__name__ = func.__name__
    method.__doc__ = f"``numpy.{func.__name__}`` of the array, rounded in its arithmetic."
    return method


for _func in (np.sum, np.prod, np.cumsum, np.mean, np.var, np.std, np.trace):
    setattr(FormatArray, _func.__name__, _through(_func))


def _reround(a: Arithmetic, x: "FormatArray") -> None:
    """Round what ``x`` holds now (after a routine that may have written into it)."""
    v = x.view(np.ndarray)
    if v.flags.writeable and v.dtype.kind == "f":
        v[...] = a.fl(v)


def _walk(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _walk(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _walk(x)
    else:
        yield obj


def _map(fn: Any, obj: Any) -> Any:
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_map(fn, x) for x in obj)
    if isinstance(obj, list):
        return [_map(fn, x) for x in obj]
    if isinstance(obj, dict):
        return {k: _map(fn, v) for k, v in obj.items()}
    return fn(obj)


def _unwrap(x: Any) -> Any:
    return x.view(np.ndarray) if isinstance(x, FormatArray) else x  # a view: writes go through


def _enter(a: Arithmetic, x: Any, accumulate: bool) -> Any:
    """An operand as the raw array the computation sees (rounded to the compute format)."""
    if isinstance(x, FormatArray):
        raw = x.view(np.ndarray)
    elif isinstance(x, (float, np.floating)) or (
            isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        raw = a.fl(x)
        if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
            raw = np.float64(raw)
    else:
        return x  # ints, booleans, dtypes, axes, callables, None: exact or not numbers
    if accumulate and isinstance(raw, np.ndarray) and raw.dtype.kind == "f":
        return raw.astype(a.accumulate)  # exact: compute-format values fit the accumulator
    if accumulate and isinstance(raw, np.floating):
        return np.dtype(a.accumulate).type(raw)
    return raw


def _leave(a: Arithmetic, res: Any) -> Any:
    """A result rounded to the compute format (floating arrays wrapped as FormatArray)."""
    if isinstance(res, tuple):
        mapped = [_leave(a, r) for r in res]
        return type(res)(*mapped) if hasattr(res, "_fields") else tuple(mapped)
    if isinstance(res, list):
        return [_leave(a, r) for r in res]
    if isinstance(res, np.ndarray) and res.dtype.kind == "f":
        return in_format(res, a)
    if isinstance(res, np.floating):
        return in_format(np.asarray(res), a)  # a 0-d FormatArray: later operations round too
    return res


def in_format(x: Any, arith: Any) -> FormatArray:
    """``x`` rounded to ``arith``'s compute format, as a :class:`FormatArray` of float64 values.

    Parameters
    ----------
    x : array_like of real numbers
    arith : Arithmetic or format name
        See :func:`numerics.arithmetic` (a name means the ``"pure"`` model).

    Returns
    -------
    FormatArray
        Every operation on it is rounded in ``arith`` (see the module notes).
    """
    if isinstance(arith, Arithmetic):
        a = arith
    else:
        try:
            a = arithmetic(arith)
        except InputError:
            raise InputError(f"in_format: arith must be an Arithmetic or a format name, got "
                             f"{_brief(arith)}") from None
    raw = x.view(np.ndarray) if isinstance(x, FormatArray) else np.asarray(x)
    if raw.dtype.kind not in "biuf":
        raise InputError(f"in_format: x must be real numbers, got {_brief(x)}")
    out = np.asarray(a.fl(raw), dtype=np.float64).view(FormatArray)
    out.arith = a
    return out


class _Namespace:
    """The rules' array namespace, each result rounded: a routine of ``array_api_compat`` that
    builds a plain array from FormatArray operands (``clip`` fills a fresh array with
    ``copyto``) returns it rounded and wrapped."""

    def __init__(self, xp: Any, a: Arithmetic) -> None:
        self._xp, self._a = xp, a

    def __getattr__(self, name: str) -> Any:
        obj = getattr(self._xp, name)
        if name == "linalg" or type(obj).__name__ == "module":
            return _Namespace(obj, self._a)
        if not callable(obj) or isinstance(obj, type):
            return obj
        a = self._a

        def call(*args: Any, **kwargs: Any) -> Any:
            res = obj(*args, **kwargs)
            touched = any(isinstance(x, FormatArray) for x in _walk((args, kwargs)))
            return _leave(a, res) if touched else res
        return call


class _FormatRule:
    """An optimiser rule run on FormatArray operands: θ enters rounded (exact: it is stored),
    the namespace rounds every result, and the direction leaves as a FormatArray."""

    def __init__(self, rule: Any, a: Arithmetic) -> None:
        self._rule, self._a = rule, a
        self.name, self.needs = rule.name, rule.needs

    def params(self) -> dict:
        return self._rule.params()

    def _ctx(self, ctx: Any) -> Any:
        import copy

        out = copy.copy(ctx)
        out.xp = _Namespace(ctx.xp, self._a)
        return out

    def init(self, theta: Any, ctx: Any) -> dict:
        return self._rule.init(in_format(theta, self._a), self._ctx(ctx))

    def step(self, state: dict, theta: Any, g: Any, t: int, ctx: Any) -> tuple[Any, dict]:
        u, state = self._rule.step(state, in_format(theta, self._a), g, t, self._ctx(ctx))
        return (u if isinstance(u, FormatArray) else in_format(u, self._a)), state


# ----------------------------------------------------------------------------- training
class _InFormat:
    """A model whose gradient and curvature products are computed in an arithmetic.

    ``loss`` is the float64 loss of the stored parameters (what is reported and tested for
    convergence, not part of the training arithmetic); ``grad``, ``hvp``, ``vjp`` and
    ``sampled_grad`` run the model's own code on :class:`FormatArray` operands and round
    their result once more (a no-op unless a routine left the subclass).
    """

    def __init__(self, model: Any, arith: Arithmetic) -> None:
        self._model, self._a = model, arith
        if hasattr(model, "vjp"):
            self.vjp = lambda th, u: self._out(model.vjp(self._in(th), self._in(u)))
        if hasattr(model, "sampled_grad"):
            self.sampled_grad = lambda th, g: self._out(model.sampled_grad(self._in(th), g))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def _in(self, x: Any) -> FormatArray:
        return in_format(np.asarray(x, dtype=np.float64), self._a)

    def _out(self, x: Any) -> FormatArray:
        return in_format(np.asarray(x.view(np.ndarray) if isinstance(x, FormatArray) else x,
                                    dtype=np.float64), self._a)

    def loss(self, theta: Any) -> Any:
        return self._model.loss(np.asarray(theta, dtype=np.float64))

    def grad(self, theta: Any) -> FormatArray:
        return self._out(self._model.grad(self._in(theta)))

    def hvp(self, theta: Any, v: Any) -> FormatArray:
        return self._out(self._model.hvp(self._in(theta), self._in(v)))


def _setup(func: str, model: Any, theta0: Any, method: Any, fmt: Any, arith_model: Any,
           options: dict) -> tuple[Arithmetic, Any, np.ndarray, Any]:
    from ._backend import backend_name
    from ._sweep import METHODS

    if not isinstance(method, str) or method not in METHODS:
        raise InputError(f"{func}: method must be one of {sorted(METHODS)}, got "
                         f"{_brief(method)}")
    if isinstance(fmt, Arithmetic) and fmt.model != arith_model:
        raise InputError(f"{func}: fmt is an Arithmetic of model {fmt.model!r}, but "
                         f"arithmetic={_brief(arith_model)}; pass its format name instead")
    a = arithmetic(fmt.format if isinstance(fmt, Arithmetic) else fmt, arith_model)
    if not all(hasattr(model, k) for k in ("n_params", "grad", "loss")):
        raise InputError(f"{func}: model must be a model of numerics (n_params, loss, grad), "
                         f"got {_brief(model)}")
    if getattr(model, "xp", None) is not None and backend_name(model.xp) != "numpy":
        raise InputError(f"{func}: model must be on the numpy backend (the formats live in "
                         f"ml_dtypes), got {backend_name(model.xp)}")
    if not hasattr(theta0, "shape") or np.asarray(theta0).dtype.kind not in "biuf":
        raise InputError(f"{func}: theta0 must be an array of real numbers, got "
                         f"{_brief(theta0)}")
    theta = np.asarray(theta0, dtype=np.float64)
    if theta.shape != (int(model.n_params),):
        raise InputError(f"{func}: theta0 must have shape ({int(model.n_params)},), got "
                         f"{tuple(theta.shape)}")
    stored = a.store(theta)
    if not np.all(np.isfinite(stored)):
        raise InputError(f"{func}: theta0 must be finite in {a.format.name} (max "
                         f"{a.format.max:g}), got max |θ| = {float(np.max(np.abs(theta))):g}")
    if "model" in options:
        raise InputError(f"{func}: options must not contain 'model' (the model is the first "
                         f"argument), got {sorted(options)}")
    opts = dict(options)
    if method == "sophia":
        opts["model"] = model
    try:
        rule = METHODS[method](func, **opts)
    except TypeError as exc:  # an option the optimiser does not have
        raise InputError(f"{func}: options must be keywords of {method}, got "
                         f"{sorted(options)} ({str(exc).splitlines()[0]})") from None
    return a, _FormatRule(rule, a), stored, _InFormat(model, a)


def train_in_format(model: Any, theta0: Any, method: str, /, lr: float, fmt: Any, *,
                    arithmetic: str = "mixed", max_steps: int = 100, tol: float = 1e-8,
                    atol: float | None = None, clip: float | None = None, schedule: Any = None,
                    train: Any = None, rng: Any = 0, record_every: int = 1,
                    divergence_factor: float = 1e12, **options: Any) -> Any:
    """Run an optimiser of :data:`numerics.METHODS` on ``model`` in a number format.

    Parameters
    ----------
    model : model of :mod:`numerics` (NumPy backend)
        Its ``grad`` (and ``hvp`` for Sophia/AdaHessian) run on :class:`FormatArray` operands.
    theta0 : array, shape (n_params,)
        Rounded to the storage format first (the released weights as stored).
    method : str
        ``"gradient_descent"``, ``"sgd_momentum"``, ``"adam"``, ``"adamw"``, ``"muon"``,
        ``"sophia"`` or ``"adahessian"``; ``options`` are its keywords (``momentum``, ``betas``,
        ``eps``, ``weight_decay``, ...), as for :func:`numerics.sweep_optimiser`.
    lr : float
        Learning rate ``η > 0`` (itself a value of the compute format: in the pure model a
        rate below F's smallest subnormal/2 is 0 and every update is absorbed).
    fmt : str or NumberFormat
        Storage format F (:data:`numerics.FORMAT_NAMES` or an alias such as ``"bf16"``).
    arithmetic : {"mixed", "pure"}
        ``"pure"``: gradients, optimiser state and updates rounded to F; ``"mixed"``: computed
        in float32, the updated weights stored in F (see :class:`numerics.Arithmetic`).
    max_steps, tol, atol, clip, schedule, train, record_every, divergence_factor
        As for the optimisers of :mod:`numerics` (stopping convention of
        :mod:`numerics._optim`).
    rng : int or numpy.random.Generator
        Probes of Sophia/AdaHessian (default seed 0, so that runs are repeatable).

    Returns
    -------
    OptResult
        ``params`` records ``format`` and ``arithmetic``; ``loss`` is the float64 loss of the
        stored weights; status ``stalled`` when an update changed no stored parameter.

    Notes
    -----
    Update ``t`` is ``θ_t = fl_F(θ_{t−1} − fl(fl(η_t)·u_t))`` with the optimiser's direction
    ``u_t`` computed by its own code in the arithmetic: the same rules as
    :func:`numerics.adam`, :func:`numerics.muon`, ... (checked against ``optax`` in float64),
    every intermediate rounded.  In the pure model ``fl`` is F's rounding, in the mixed one
    float32's, and ``fl_F`` stores the result.
    """
    from ._optim_common import _run_rule

    func = "train_in_format"
    a, rule, stored, wrapped = _setup(func, model, theta0, method, fmt, arithmetic, options)

    def store(new: Any) -> np.ndarray:
        return a.store(new.view(np.ndarray) if isinstance(new, FormatArray) else new)

    res = _run_rule(func, wrapped, stored, lr, rule, schedule=schedule, clip=clip, train=train,
                    rng=rng, max_steps=max_steps, tol=tol, atol=atol, record_every=record_every,
                    divergence_factor=divergence_factor, store=store)
    res.params.update(format=a.format.name, arithmetic=a.model, method=method)
    return res


def first_step_threshold(model: Any, theta0: Any, method: str, /, fmt: Any, *,
                         arithmetic: str = "mixed", train: Any = None, rng: Any = 0,
                         clip: float | None = None, lo: float = 1e-300, hi: float = 1e300,
                         rtol: float = 1e-9, **options: Any) -> float:
    """Smallest learning rate whose first update changes a stored parameter.

    Geometric bisection on ``lr`` of one update of :func:`train_in_format` (the same probes at
    every ``lr``: ``rng`` is re-seeded), to relative width ``rtol``; returns the upper end.  The
    predicate is monotone in ``lr`` because rounding is.  Returns ``inf`` when not even ``hi``
    moves a parameter, ``0.0`` when ``lo`` already does, and NaN when the first update at
    ``lo`` is not finite (pure float16 Adam: ``g²`` underflows to 0 and ``g/√v̂`` is ±inf).

    Notes
    -----
    For a stored weight ``w`` and direction ``d`` the update is absorbed iff
    ``|fl(fl(η)d)|`` is at most the absorption radius of ``w`` (``ulp(w)/2``, or ``ulp(w)/4``
    toward zero from a power of two, ties to even); so the threshold is
    ``min_i radius_i/|d_i|`` up to the rounding of ``η`` and of the product.
    """
    func = "first_step_threshold"
    lo = require_positive(func, "lo", lo)
    hi = require_positive(func, "hi", hi)
    rtol = require_positive(func, "rtol", rtol)
    if not lo < hi:
        raise InputError(f"{func}: lo must be < hi, got lo={lo!r}, hi={hi!r}")
    if not (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0):
        raise InputError(f"{func}: rng must be an integer seed >= 0 (the same probes at every "
                         f"lr), got {_brief(rng)}")
    fixed = sorted(k for k in ("max_steps", "tol", "atol", "schedule", "record_every",
                               "divergence_factor") if k in options)
    if fixed:
        raise InputError(f"{func}: {fixed[0]} is not an option here (one update at a constant "
                         f"rate is run), got {fixed[0]}={_brief(options[fixed[0]])}")
    a, _, stored, _ = _setup(func, model, theta0, method, fmt, arithmetic, options)

    def outcome(lr: float) -> str:
        res = train_in_format(model, stored, method, lr, a.format, arithmetic=a.model,
                              max_steps=1, tol=1e-300, train=train, rng=int(rng), clip=clip,
                              divergence_factor=1e300, **options)
        if res.status == "stalled" or res.steps == 0 and res.status == "converged":
            return "absorbed"  # no update changed a stored parameter (or none was made)
        return "not finite" if res.status == "diverged" else "moves"

    first = outcome(lo)
    if first == "not finite":
        return math.nan
    if first == "moves":
        return 0.0
    if outcome(hi) == "absorbed":
        return math.inf

    def moves(lr: float) -> bool:
        return outcome(lr) != "absorbed"

    return geometric_bisection(moves, lo, hi, rtol)
