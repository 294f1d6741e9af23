"""Small nonlinear networks with exact derivatives: MLPs, SpecDef pairs, adapters, on any backend.

A :class:`Network` is a chain of *operations* on a feature matrix ``h ∈ R^{d × n}`` (one column
per sample), starting from ``h_0 = X``:

* ``linear``: ``h ← Σ_τ s_τ F_{τ,K} ⋯ F_{τ,1} h`` — a sum of scaled products of matrix factors.
  A plain layer is one term ``[W]``; a SpecDef pair is one term ``[W̃, C]`` (C right after W̃, no
  activation between); a LoRA adapter on W adds the term ``(s/r)[A, B]`` next to every term
  holding W; a parallel path adds ``[Δ]`` or ``(s/r)[A, B]`` to the layer's sum;
* ``bias``: ``h ← h + b 1ᵀ``;
* ``act``: ``h ← φ(h)`` elementwise (ReLU, GELU (tanh form), tanh);

then a loss: squared ``(1/2n)‖h − Y‖_F²`` or softmax cross-entropy
``(1/n) Σ_s [log Σ_c e^{h_{cs}} − h_{y_s s}]``.  Every factor is a named parameter, trainable
(part of θ, column-major ``vec`` blocks in order of first use) or frozen.

All methods accept θ with leading batch axes ``(..., p)``: a grid of configurations runs as one
array program (see :func:`numerics.sweep_optimiser`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ._backend import (_brief, _one_of, get_namespace, make_rng, require_matrix, require_positive,
                       to_host)
from ._errors import InputError

__all__ = ["Network", "MLP", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "gelu", "tanh")
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


def _act(xp: Any, kind: str, z: Any, order: int) -> Any:
    """``φ``, ``φ'`` or ``φ''`` (``order`` 0, 1, 2) of an activation, elementwise."""
    if kind == "relu":
        if order == 0:
            return xp.where(z > 0, z, xp.zeros_like(z))
        if order == 1:
            return xp.astype(z > 0, z.dtype)
        return xp.zeros_like(z)
    if kind == "tanh":
        t = xp.tanh(z)
        if order == 0:
            return t
        s = 1.0 - t * t
        return s if order == 1 else -2.0 * t * s
    # GELU, tanh form: φ(z) = ½ z (1 + tanh(c(z + k z³)))
    u = _GELU_C * (z + _GELU_K * z * z * z)
    t = xp.tanh(u)
    if order == 0:
        return 0.5 * z * (1.0 + t)
    du = _GELU_C * (1.0 + 3.0 * _GELU_K * z * z)
    s = 1.0 - t * t
    if order == 1:
        return 0.5 * (1.0 + t) + 0.5 * z * s * du
    d2u = 6.0 * _GELU_C * _GELU_K * z
    return s * (du + 0.5 * z * (d2u - 2.0 * t * du * du))


def _unvec_b(v: Any, shape: tuple[int, ...], xp: Any) -> Any:
    if len(shape) == 1:
        return v
    m, n = shape
    return xp.matrix_transpose(xp.reshape(v, (*v.shape[:-1], n, m)))


def _vec_b(M: Any, shape: tuple[int, ...], xp: Any) -> Any:
    if len(shape) == 1:
        return M
    return xp.reshape(xp.matrix_transpose(M), (*M.shape[:-2], shape[0] * shape[1]))


def _add(a: Any, b: Any) -> Any:
    return b if a is None else (a if b is None else a + b)


class Network:
    """A chain of linear maps (sums of factor products), biases and activations; exact derivatives.

    Parameters
    ----------
    params : dict of str -> array
        Every named factor (matrix ``(m, n)``) or bias (vector ``(m,)``) with its value.
    ops : sequence
        ``("linear", [(scale, [name, ...]), ...])`` (factors in order of application),
        ``("bias", name)`` or ``("act", kind)`` with kind in ``ACTIVATIONS``.
    X : array, shape (d_0, n)
        Inputs, one column per sample.
    Y : array
        Targets: shape ``(d_L, n)`` for the squared loss; integer labels ``(n,)`` in
        ``[0, d_L)`` for cross-entropy.
    loss : {"squared", "cross_entropy"}
    train : sequence of str, optional
        Trainable parameters (default all); θ concatenates their column-major ``vec`` in the
        order of ``params``.
    loss_star : float, optional
        Known minimum (enables the loss-gap stopping criterion).
    max_dense : int
        Largest ``n_params`` for :meth:`hessian`.

    Notes
    -----
    Forward: ``u_{τ,0} = h``, ``u_{τ,k} = F_{τ,k} u_{τ,k-1}``; the output adjoint is
    ``a = ∂L/∂h_L`` (``(h − Y)/n`` squared; ``(softmax(h) − onehot(y))/n`` cross-entropy).
    Reverse mode: through an activation ``a ← φ'(z) ⊙ a``; through a term ``a_K = s a``,
    ``∇F_k += a_k u_{k-1}ᵀ``, ``a_{k-1} = F_kᵀ a_k``; ``∇b += a 1``.  The exact Hessian-vector
    product is forward-over-reverse: tangents ``u̇_k = V_k u_{k-1} + F_k u̇_{k-1}``,
    ``ż ↦ φ'(z) ż``, the output adjoint's tangent ``ȧ = H_ℓ ḣ_L`` (``H_ℓ = I/n`` squared,
    ``(diag p − p pᵀ)/n`` per sample for cross-entropy), and backwards
    ``(Hv)_{F_k} += ȧ_k u_{k-1}ᵀ + a_k u̇_{k-1}ᵀ``, ``ȧ_{k-1} = F_kᵀ ȧ_k + V_kᵀ a_k``,
    ``ȧ ← φ'(z) ⊙ ȧ + φ''(z) ⊙ ż ⊙ a``.  The terms carrying ``a`` vanish at zero residual;
    dropping them gives the Gauss–Newton product ``Jᵀ H_ℓ J v`` (:meth:`gnvp`).  ReLU has
    ``φ'' = 0`` (its Hessian is defined off the kinks).
    """

    def __init__(self, params: dict, ops: Sequence, X: Any, Y: Any, *, loss: str = "squared",
                 train: Sequence[str] | None = None, loss_star: float | None = None,
                 max_dense: int = 4096) -> None:
        func = type(self).__name__
        if not isinstance(params, dict) or not params:
            raise InputError(f"{func}: params must be a non-empty dict of named arrays, got "
                             f"{_brief(params)}")
        if not _one_of(loss, ("squared", "cross_entropy")):
            raise InputError(f"{func}: loss must be 'squared' or 'cross_entropy', got "
                             f"{_brief(loss)}")
        vals = {}
        for k, v in params.items():
            if not isinstance(k, str):
                raise InputError(f"{func}: params must have string names, got {_brief(k)}")
            vals[k] = require_matrix(func, f"params[{k!r}]", v, ndim=(1, 2))
        X = require_matrix(func, "X", X)
        xp = self.xp = get_namespace(*vals.values(), X, func=func)
        self.dtype = xp.result_type(*vals.values(), X)
        self.params0 = {k: xp.astype(v, self.dtype) for k, v in vals.items()}
        self.X, self.loss_kind, self._n = xp.astype(X, self.dtype), loss, X.shape[1]
        self.ops = self._check_ops(func, ops)
        d_out = self._shapes_through(func)
        if loss == "squared":
            Y = require_matrix(func, "Y", Y)
            if tuple(Y.shape) != (d_out, self._n):
                raise InputError(f"{func}: Y must have shape ({d_out}, {self._n}), got "
                                 f"{tuple(Y.shape)}")
            self.Y = xp.astype(Y, self.dtype)
            self.labels = None
        else:
            lab = np.asarray(to_host(Y)) if hasattr(Y, "shape") else np.asarray(Y)
            if lab.shape != (self._n,) or lab.dtype.kind not in "iu" or (
                    lab.size and (lab.min() < 0 or lab.max() >= d_out)):
                raise InputError(f"{func}: Y must be {self._n} integer labels in [0, {d_out}) "
                                 f"for cross-entropy, got {_brief(Y)}")
            self.labels = lab
            onehot = np.zeros((d_out, self._n))
            onehot[lab, np.arange(self._n)] = 1.0
            self.Y = xp.asarray(onehot, dtype=self.dtype)
        used = [k for k in self.params0 if any(k in self._names_of(op) for op in self.ops)]
        if train is None:
            train = used
        if isinstance(train, str) or not isinstance(train, (list, tuple)) or not train or any(
                t not in self.params0 for t in train):
            raise InputError(f"{func}: train must be a non-empty list of parameter names "
                             f"{list(self.params0)}, got {_brief(train)}")
        self.train = tuple(k for k in self.params0 if k in train)
        self.block_names = self.train
        self.block_shapes = tuple(tuple(self.params0[k].shape) for k in self.train)
        self.n_params = sum(math.prod(s) for s in self.block_shapes)
        self.n_residuals = d_out * self._n
        self._first_trained = min(i for i, op in enumerate(self.ops)
                                  if set(self._names_of(op)) & set(self.train))
        self.max_dense = require_positive(func, "max_dense", max_dense, integer=True)
        self._loss_star = None if loss_star is None else float(loss_star)
        self._compress()

    def _compress(self) -> None:
        """Linear network, squared loss, ``n > d_0``: work on ``d_0`` columns instead of ``n``.

        With ``Xᵀ = Q R`` (thin QR), ``‖M X − Y‖² = ‖M Rᵀ − Y Q‖² + ‖Y − Y Q Qᵀ‖²`` for every
        ``M``: the loss, its gradient and Hessian are those of the inputs ``Rᵀ``, targets
        ``Y Q`` plus a constant, at ``d_0/n`` of the cost.
        """
        xp = self.xp
        self._Xin, self._Yin, self._c, self._Q = self.X, self.Y, 0.0, None
        d0 = self.X.shape[0]
        if self.loss_kind != "squared" or self._n <= d0 or any(
                op[0] != "linear" for op in self.ops):
            return
        Q, R = xp.linalg.qr(xp.matrix_transpose(self.X))
        YQ = self.Y @ Q
        rest = self.Y - YQ @ xp.matrix_transpose(Q)
        self._Xin, self._Yin, self._Q = xp.matrix_transpose(R), YQ, Q
        self._c = 0.5 * xp.sum(rest * rest) / self._n

    # ------------------------------------------------------------------ structure
    @staticmethod
    def _names_of(op: tuple) -> list[str]:
        if op[0] == "linear":
            return [f for _, facs in op[1] for f in facs]
        return [op[1]] if op[0] == "bias" else []

    def _check_ops(self, func: str, ops: Any) -> tuple:
        if not isinstance(ops, (list, tuple)) or not ops:
            raise InputError(f"{func}: ops must be a non-empty list of operations, got "
                             f"{_brief(ops)}")
        out = []
        for i, op in enumerate(ops):
            ok = isinstance(op, (list, tuple)) and len(op) == 2
            if ok and op[0] == "linear":
                terms = []
                for term in op[1] if isinstance(op[1], (list, tuple)) else [None]:
                    if not (isinstance(term, (list, tuple)) and len(term) == 2 and isinstance(
                            term[1], (list, tuple)) and term[1] and all(
                            isinstance(f, str) and f in self.params0 and
                            self.params0[f].ndim == 2 for f in term[1])):
                        ok = False
                        break
                    terms.append((float(term[0]), tuple(term[1])))
                ok = ok and bool(terms)
                if ok:
                    out.append(("linear", tuple(terms)))
            elif ok and op[0] == "bias":
                ok = op[1] in self.params0 and self.params0[op[1]].ndim == 1
                if ok:
                    out.append(("bias", op[1]))
            elif ok and op[0] == "act":
                ok = _one_of(op[1], ACTIVATIONS)
                if ok:
                    out.append(("act", op[1]))
            else:
                ok = False
            if not ok:
                raise InputError(f"{func}: ops[{i}] must be ('linear', [(scale, [matrix "
                                 f"names])]), ('bias', vector name) or ('act', one of "
                                 f"{ACTIVATIONS}), got {_brief(op)}")
        return tuple(out)

    def _shapes_through(self, func: str) -> int:
        d = self.X.shape[0]
        for i, op in enumerate(self.ops):
            if op[0] == "linear":
                outs = set()
                for _, facs in op[1]:
                    dd = d
                    for f in facs:
                        m, n = self.params0[f].shape
                        if n != dd:
                            raise InputError(f"{func}: ops[{i}] factor {f!r} must have {dd} "
                                             f"columns, got shape {(m, n)}")
                        dd = m
                    outs.add(dd)
                if len(outs) != 1:
                    raise InputError(f"{func}: ops[{i}] terms must all map to one dimension, "
                                     f"got {sorted(outs)}")
                d = outs.pop()
            elif op[0] == "bias" and self.params0[op[1]].shape[0] != d:
                raise InputError(f"{func}: ops[{i}] bias {op[1]!r} must have length {d}, got "
                                 f"{self.params0[op[1]].shape[0]}")
        return d

    @property
    def loss_star(self) -> float | None:
        return self._loss_star

    @property
    def theta_star(self) -> Any:
        return None

    @property
    def theta0(self) -> Any:
        """θ of the parameter values given at construction."""
        return self.pack(**{k: self.params0[k] for k in self.train})

    def pack(self, **blocks: Any) -> Any:
        """θ from the trainable blocks (each an array of its shape)."""
        if sorted(blocks) != sorted(self.train):
            raise InputError(f"{type(self).__name__}.pack: blocks must be exactly "
                             f"{list(self.train)}, got {sorted(blocks)}")
        parts = []
        for k, shape in zip(self.train, self.block_shapes):
            M = blocks[k]
            if tuple(getattr(M, "shape", ())) != shape:
                raise InputError(f"{type(self).__name__}.pack: {k} must have shape {shape}, got "
                                 f"{getattr(M, 'shape', type(M).__name__)}")
            parts.append(_vec_b(self.xp.astype(M, self.dtype), shape, self.xp))
        return self.xp.concat(parts)

    def _check(self, func: str, theta: Any, name: str = "theta") -> None:
        if getattr(theta, "shape", (None,))[-1:] != (self.n_params,):
            raise InputError(f"{type(self).__name__}.{func}: {name} must have shape (..., "
                             f"{self.n_params}), got {getattr(theta, 'shape', _brief(theta))}")

    def _split(self, v: Any) -> dict:
        out, start = {}, 0
        for k, shape in zip(self.train, self.block_shapes):
            size = math.prod(shape)
            out[k] = _unvec_b(v[..., start:start + size], shape, self.xp)
            start += size
        return out

    def unpack(self, theta: Any) -> dict:
        """Every parameter by name at θ (frozen ones at their fixed value)."""
        self._check("unpack", theta)
        P = dict(self.params0)
        P.update(self._split(theta))
        return P

    def _join(self, G: dict, like: Any) -> Any:
        xp = self.xp
        parts = []
        for k, shape in zip(self.train, self.block_shapes):
            g = G.get(k)
            if g is None:
                g = xp.zeros((*like.shape[:-1], math.prod(shape)), dtype=self.dtype)
            else:
                # matrix blocks arrive transposed (Gᵀ, computed contiguous): column-major
                # vec(G) is then a reshape of Gᵀ, with no strided copy
                g = g if len(shape) == 1 else xp.reshape(g, (*g.shape[:-2], math.prod(shape)))
                want = (*like.shape[:-1], math.prod(shape))
                if tuple(g.shape) != want:
                    g = g + xp.zeros(want, dtype=self.dtype)
            parts.append(g)
        return xp.concat(parts, axis=-1)

    # ------------------------------------------------------------------ passes
    def _forward(self, P: dict) -> tuple[Any, list]:
        xp, h, tape = self.xp, self._Xin, []
        for op in self.ops:
            if op[0] == "linear":
                out, us = None, []
                for s, facs in op[1]:
                    u, seq = h, [h]
                    for f in facs:
                        u = P[f] @ u
                        seq.append(u)
                    us.append(seq)
                    out = _add(out, s * u if s != 1.0 else u)
                tape.append(us)
                h = out
            elif op[0] == "bias":
                tape.append(None)
                h = h + P[op[1]][..., :, None]
            else:
                tape.append(h)
                h = _act(xp, op[1], h, 0)
        return h, tape

    def _out_adjoint(self, h: Any) -> Any:
        xp = self.xp
        if self.loss_kind == "squared":
            return (h - self._Yin) / self._n
        return (self._softmax(h) - self._Yin) / self._n

    def _softmax(self, h: Any) -> Any:
        xp = self.xp
        e = xp.exp(h - xp.max(h, axis=-2, keepdims=True))
        return e / xp.sum(e, axis=-2, keepdims=True)

    def _loss_of(self, h: Any) -> Any:
        xp = self.xp
        if self.loss_kind == "squared":
            R = h - self._Yin
            return 0.5 * xp.sum(R * R, axis=(-2, -1)) / self._n + self._c
        mx = xp.max(h, axis=-2, keepdims=True)
        lse = xp.log(xp.sum(xp.exp(h - mx), axis=-2)) + mx[..., 0, :]
        return xp.sum(lse - xp.sum(self._Yin * h, axis=-2), axis=-1) / self._n

    def _backward(self, P: dict, tape: list, a: Any) -> dict:
        """Reverse mode from the output adjoint ``a``: gradient blocks of the trainable params."""
        xp, G = self.xp, {}
        train, first = set(self.train), self._first_trained
        for i in range(len(self.ops) - 1, first - 1, -1):
            op, rec = self.ops[i], tape[i]
            if op[0] == "act":
                a = a * _act(xp, op[1], rec, 1)
            elif op[0] == "bias":
                if op[1] in train:
                    G[op[1]] = _add(G.get(op[1]), xp.sum(a, axis=-1))
            else:
                a_in = None
                for (s, facs), seq in zip(op[1], rec):
                    ak = s * a if s != 1.0 else a
                    for k in range(len(facs) - 1, -1, -1):
                        f = facs[k]
                        if f in train:  # stored transposed: (a u^T)^T = u a^T
                            G[f] = _add(G.get(f), seq[k] @ xp.matrix_transpose(ak))
                        if i == first and not any(x in train for x in facs[:k]):
                            ak = None  # nothing below needs this adjoint
                            break
                        ak = xp.matrix_transpose(P[f]) @ ak
                    a_in = _add(a_in, ak)
                a = a_in
        return G

    def _tangents(self, P: dict, V: dict, tape: list) -> tuple[Any, list]:
        xp, hd, tans = self.xp, None, []
        for op, rec in zip(self.ops, tape):
            if op[0] == "linear":
                out, useq = None, []
                for (s, facs), seq in zip(op[1], rec):
                    ud, dseq = hd, [hd]
                    for k, f in enumerate(facs):
                        nxt = None if ud is None else P[f] @ ud
                        if f in V:
                            nxt = _add(nxt, V[f] @ seq[k])
                        ud = nxt
                        dseq.append(ud)
                    useq.append(dseq)
                    if ud is not None:
                        out = _add(out, s * ud if s != 1.0 else ud)
                tans.append(useq)
                hd = out
            elif op[0] == "bias":
                tans.append(hd)
                if op[1] in V:
                    hd = _add(hd, V[op[1]][..., :, None])
            else:
                tans.append(hd)
                hd = None if hd is None else _act(xp, op[1], rec, 1) * hd
        return hd, tans

    def _out_hvp(self, h: Any, hd: Any) -> Any:
        """``H_ℓ ḣ``: the output loss Hessian applied to a tangent."""
        if self.loss_kind == "squared":
            return hd / self._n
        p = self._softmax(h)
        ph = p * hd
        return (ph - p * self.xp.sum(ph, axis=-2, keepdims=True)) / self._n

    # ------------------------------------------------------------------ protocol
    def loss(self, theta: Any) -> Any:
        """``L(θ)``: 0-d array (or one value per leading index)."""
        self._check("loss", theta)
        h, _ = self._forward(self.unpack(theta))
        return self._loss_of(h)

    def predict(self, theta: Any) -> Any:
        """Network output ``h_L`` on ``X``, shape ``(..., d_L, n)``."""
        self._check("predict", theta)
        h = self._forward(self.unpack(theta))[0]
        return h if self._Q is None else h @ self.xp.matrix_transpose(self._Q)

    def grad(self, theta: Any) -> Any:
        """Exact gradient by reverse mode, shape of θ."""
        self._check("grad", theta)
        P = self.unpack(theta)
        h, tape = self._forward(P)
        return self._join(self._backward(P, tape, self._out_adjoint(h)), theta)

    def _ht(self, theta: Any, v: Any) -> tuple:
        P = self.unpack(theta)
        h, tape = self._forward(P)
        V = self._split(v)
        hd, tans = self._tangents(P, V, tape)
        if hd is None:
            hd = self.xp.zeros_like(h)
        return P, h, tape, V, hd, tans

    def hvp(self, theta: Any, v: Any) -> Any:
        """Exact Hessian-vector product (forward-over-reverse, see the class Notes)."""
        self._check("hvp", theta)
        self._check("hvp", v, "v")
        xp = self.xp
        P, h, tape, V, hd, tans = self._ht(theta, v)
        a, ad = self._out_adjoint(h), self._out_hvp(h, hd)
        train, HV, first = set(self.train), {}, self._first_trained
        for i in range(len(self.ops) - 1, first - 1, -1):
            op, rec, tan = self.ops[i], tape[i], tans[i]
            if op[0] == "act":
                d1 = _act(xp, op[1], rec, 1)
                if tan is not None:
                    ad = d1 * ad + _act(xp, op[1], rec, 2) * tan * a
                else:
                    ad = d1 * ad
                a = d1 * a
            elif op[0] == "bias":
                if op[1] in train:
                    HV[op[1]] = _add(HV.get(op[1]), xp.sum(ad, axis=-1))
            else:
                a_in, ad_in = None, None
                for (s, facs), seq, dseq in zip(op[1], rec, tan):
                    ak = s * a if s != 1.0 else a
                    adk = s * ad if s != 1.0 else ad
                    for k in range(len(facs) - 1, -1, -1):
                        f = facs[k]
                        if f in train:  # stored transposed, see _join
                            blk = seq[k] @ xp.matrix_transpose(adk)
                            if dseq[k] is not None:
                                blk = blk + dseq[k] @ xp.matrix_transpose(ak)
                            HV[f] = _add(HV.get(f), blk)
                        if i == first and not any(x in train for x in facs[:k]):
                            ak = adk = None  # nothing below needs these adjoints
                            break
                        Ft = xp.matrix_transpose(P[f])
                        adk = Ft @ adk
                        if f in V:
                            adk = adk + xp.matrix_transpose(V[f]) @ ak
                        ak = Ft @ ak
                    a_in, ad_in = _add(a_in, ak), _add(ad_in, adk)
                a, ad = a_in, ad_in
        return self._join(HV, theta + v)

    def gnvp(self, theta: Any, v: Any) -> Any:
        """Gauss–Newton product ``Jᵀ H_ℓ J v`` (the Hessian at zero residual)."""
        self._check("gnvp", theta)
        self._check("gnvp", v, "v")
        P, h, tape, V, hd, tans = self._ht(theta, v)
        return self._join(self._backward(P, tape, self._out_hvp(h, hd)), theta + v)

    def _dense(self, name: str, theta: Any, prod: Any) -> Any:
        self._check(name, theta)
        if theta.ndim != 1:
            raise InputError(f"{type(self).__name__}.{name}: theta must have shape "
                             f"({self.n_params},), got {tuple(theta.shape)}")
        if self.n_params > self.max_dense:
            raise InputError(f"{type(self).__name__}.{name}: n_params must be <= max_dense="
                             f"{self.max_dense} for a dense matrix, got {self.n_params}")
        eye = self.xp.eye(self.n_params, dtype=self.dtype)
        M = prod(theta, eye)  # row i = H e_i (batched over the identity's rows)
        return 0.5 * (M + self.xp.matrix_transpose(M))

    def hessian(self, theta: Any) -> Any:
        """Dense exact Hessian (one batched Hessian-vector product with the identity)."""
        return self._dense("hessian", theta, self.hvp)

    def gauss_newton(self, theta: Any) -> Any:
        """Dense Gauss–Newton matrix ``Jᵀ H_ℓ J``."""
        return self._dense("gauss_newton", theta, self.gnvp)

    def sampled_grad(self, theta: Any, rng: Any = None) -> Any:
        """Gradient at labels sampled from the model, scaled so ``E[ĝ ĝᵀ]`` is Gauss–Newton.

        ``ĝ = n^{-1/2} Σ_s J_sᵀ ε_s`` with ``ε_s ~ N(0, I)`` (squared loss) or
        ``ε_s = p_s − e_{ŷ_s}``, ``ŷ_s ~ softmax(h_s)`` (cross-entropy): ``Cov ε_s = H_ℓ``, so
        ``E[ĝ ⊙ ĝ]`` is the Gauss–Newton diagonal (Sophia's Gauss–Newton–Bartlett estimator).
        ``rng``: a Generator, or one per leading index of θ.
        """
        self._check("sampled_grad", theta)
        xp = self.xp
        P = self.unpack(theta)
        h, tape = self._forward(P)
        gens = rng if isinstance(rng, list) else None
        batch = tuple(h.shape[:-2])
        shape = tuple(h.shape[-2:])
        if gens is None:
            gens = make_rng("sampled_grad", rng)
        if self.loss_kind == "squared":
            full = (shape[0], self._n)  # draws in sample space, also when compressed
            if isinstance(gens, list):
                eps = np.stack([g.standard_normal(full) for g in gens]).reshape(*batch, *full)
            else:
                eps = gens.standard_normal((*batch, *full))
            E = xp.asarray(eps, dtype=self.dtype)
            if self._Q is not None:
                E = E @ self._Q
        else:
            p = np.asarray(to_host(self._softmax(h)), dtype=np.float64)
            flat = p.reshape(-1, *shape)
            glist = gens if isinstance(gens, list) else [gens] * flat.shape[0]
            oh = np.zeros_like(flat)
            for b in range(flat.shape[0]):
                cum = np.cumsum(flat[b], axis=0)
                u = glist[b].random(shape[1])
                y = np.minimum((cum < u[None, :]).sum(axis=0), shape[0] - 1)
                oh[b, y, np.arange(shape[1])] = 1.0
            E = xp.asarray((flat - oh).reshape(p.shape), dtype=self.dtype)
        return self._join(self._backward(P, tape, E / math.sqrt(self._n)), theta)


class MLP(Network):
    """Multilayer perceptron ``h_l = φ(M_l h_{l-1} + b_l)`` (no φ at the last layer).

    Parameters
    ----------
    weights : sequence of arrays
        ``W_1, …, W_L`` (``W_l ∈ R^{d_l × d_{l-1}}``), depth ``L >= 1``; blocks ``"W1"``, ….
    X, Y
        As :class:`Network`.
    activation : {"relu", "gelu", "tanh"}
        GELU is the tanh form ``½z(1 + tanh(√(2/π)(z + 0.044715 z³)))``.
    loss : {"squared", "cross_entropy"}
    biases : sequence of arrays or None, optional
        ``b_1, …, b_L`` (``None`` entries: no bias); blocks ``"b1"``, ….
    compensations : dict of int -> array, optional
        ``{l: C_l}`` makes layer ``l`` (1-based) a SpecDef pair ``M_l = C_l W̃_l`` with
        ``W_l = W̃_l`` the inflated weight and ``C_l`` its compensation (block ``"C{l}"``), no
        activation between.
    train : sequence of str, optional
        Trainable blocks (default all).
    loss_star, max_dense
        As :class:`Network`.

    Notes
    -----
    For the 3-layer network ``f = θ_3 φ(θ_2 φ(θ_1 x))`` with one sample at zero residual, the
    Hessian block ``∂²L/∂vec(θ_3)∂vec(θ_1)ᵀ`` is ``J_3ᵀ J_1`` with ``J_3 = h_2ᵀ ⊗ I`` and
    ``J_1 = θ_3 D_2 θ_2 D_1 (xᵀ ⊗ I)``, ``D_i = diag φ'(z_i)``:

    .. math::

        H_{31} = \\underbrace{(h_2 ⊗ I_{d_3})\\,θ_3 D_2}_{A}\\;\\underbrace{θ_2}_{B}\\;
        \\underbrace{D_1 (x^T ⊗ I_{d_1})}_{C}

    (:meth:`theorem3_factors`).  Away from zero residual a residual term adds to the block;
    with ``n > 1`` samples the block is ``(1/n) Σ_s A_s B C_s``, a sum, not of this form.
    """

    def __init__(self, weights: Sequence[Any], X: Any, Y: Any, *, activation: str = "relu",
                 loss: str = "squared", biases: Sequence[Any] | None = None,
                 compensations: dict | None = None, train: Sequence[str] | None = None,
                 loss_star: float | None = None, max_dense: int = 4096) -> None:
        func = "MLP"
        if not isinstance(weights, (list, tuple)) or not weights:
            raise InputError(f"{func}: weights must be a non-empty list of matrices, got "
                             f"{_brief(weights)}")
        if not _one_of(activation, ACTIVATIONS):
            raise InputError(f"{func}: activation must be one of {ACTIVATIONS}, got "
                             f"{_brief(activation)}")
        L = len(weights)
        if biases is not None and (not isinstance(biases, (list, tuple)) or len(biases) != L):
            raise InputError(f"{func}: biases must be None or a list of {L} vectors (or None), "
                             f"got {_brief(biases)}")
        comp = {} if compensations is None else compensations
        if not isinstance(comp, dict) or any(
                not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= L for k in comp):
            raise InputError(f"{func}: compensations must be a dict {{layer in 1..{L}: C}}, got "
                             f"{_brief(compensations)}")
        params: dict = {}
        ops: list = []
        for l in range(1, L + 1):
            params[f"W{l}"] = weights[l - 1]
            facs = [f"W{l}"]
            if l in comp:
                params[f"C{l}"] = comp[l]
                facs.append(f"C{l}")
            ops.append(("linear", [(1.0, facs)]))
            if biases is not None and biases[l - 1] is not None:
                params[f"b{l}"] = biases[l - 1]
                ops.append(("bias", f"b{l}"))
            if l < L:
                ops.append(("act", activation))
        self.depth, self.activation = L, activation
        super().__init__(params, ops, X, Y, loss=loss, train=train, loss_star=loss_star,
                         max_dense=max_dense)

    def theorem3_factors(self, theta: Any, sample: int = 0) -> dict:
        """Factors ``A, B, C`` of the θ_3–θ_1 Hessian block of a 3-layer MLP, for one sample.

        Parameters
        ----------
        theta : array, shape (p,)
        sample : int
            Column ``s`` of ``X``.

        Returns
        -------
        dict
            ``A`` ``(d_3 d_2, d_2)``, ``B`` ``(d_2, d_1)`` (the middle layer's map, ``C_2 W̃_2``
            for a SpecDef pair), ``C`` ``(d_1, d_1 d_0)``, and ``D1``, ``D2`` (the activation
            derivatives ``φ'(z_1)``, ``φ'(z_2)`` as vectors), ``h2``, ``x``.

        Notes
        -----
        See the class Notes: ``A = (h_2 ⊗ I) θ_3 D_2``, ``B = θ_2``, ``C = D_1 (xᵀ ⊗ I)``.
        ``A·B·C`` is the block ``(1/n)``-scaled for one sample (``n = 1``) at zero residual.
        Needs depth 3 with layers 1 and 3 plain; the block is between ``"W3"`` and ``"W1"``.
        """
        func = "MLP.theorem3_factors"
        if self.depth != 3 or "C1" in self.params0 or "C3" in self.params0:
            raise InputError(f"{func}: the model must be a 3-layer MLP with plain layers 1 and "
                             f"3, got depth {self.depth} with blocks {list(self.params0)}")
        self._check("theorem3_factors", theta)
        if theta.ndim != 1:
            raise InputError(f"{func}: theta must have shape ({self.n_params},), got "
                             f"{tuple(theta.shape)}")
        if not isinstance(sample, int) or isinstance(sample, bool) or not 0 <= sample < self._n:
            raise InputError(f"{func}: sample must be an integer in [0, {self._n}), got "
                             f"{_brief(sample)}")
        xp = self.xp
        P = self.unpack(theta)
        x = self.X[:, sample]
        z1 = P["W1"] @ x + (P["b1"] if "b1" in P else 0.0)
        B = P["C2"] @ P["W2"] if "C2" in P else P["W2"]
        z2 = B @ _act(xp, self.activation, z1, 0) + (P["b2"] if "b2" in P else 0.0)
        h2 = _act(xp, self.activation, z2, 0)
        D1, D2 = _act(xp, self.activation, z1, 1), _act(xp, self.activation, z2, 1)
        W3 = P["W3"]
        d3, d2 = W3.shape
        d1, d0 = P["W1"].shape
        I3, I1 = xp.eye(d3, dtype=self.dtype), xp.eye(d1, dtype=self.dtype)
        # (h2 ⊗ I_{d3}): rows i + d3·j ↔ h2[j] I[i, :]
        K3 = xp.reshape(h2[:, None, None] * I3[None, :, :], (d2 * d3, d3))
        A = K3 @ (W3 * D2[None, :])
        # (xᵀ ⊗ I_{d1}): columns i + d1·j ↔ x[j] I[:, i]
        K1 = xp.reshape(I1[:, None, :] * x[None, :, None], (d1, d0 * d1))
        C = D1[:, None] * K1
        return {"A": A, "B": B, "C": C, "D1": D1, "D2": D2, "h2": h2, "x": x}
