"""Per-sample Hessian cross-blocks ``A·B·C`` of small networks, built for stacks of instances.

A *family* draws network instances (weights, biases, one input ``x``, the residual ``r`` of the
one sample) stacked over a leading axis and returns the factors of one cross-block of the loss
``½‖f(x) − y‖²`` (``y = f(x) − r``), written here independently of the numerics' models (which
check them: :meth:`Family.dense_block`).  ``vec`` is column-major throughout.

``deep_linear`` and ``mlp3_<φ>``: ``f = θ_3 φ(θ_2 φ(θ_1 x + b_1) + b_2)`` (φ the identity for the
deep linear net), block ``∂²L/∂vec(θ_3)∂vec(θ_1)ᵀ``, ``D_i = diag φ'(z_i)``::

    GN   = (h_2 ⊗ I) θ_3 D_2 · θ_2 · D_1 (xᵀ ⊗ I)
    full = [(h_2 ⊗ θ_3) + (I ⊗ r)] D_2 · θ_2 · D_1 (xᵀ ⊗ I)

The residual term ``(I ⊗ r) D_2 θ_2 D_1 (xᵀ ⊗ I)`` comes from ``vec(r h_2ᵀ) = h_2 ⊗ r`` and has
the weight ``θ_2`` in the middle too, so for one sample the full block is again of the theorem's
form (φ'' does not enter this block).

``mlp2_<φ>``: ``f = θ_2 φ(θ_1 x + b_1)``, block ``∂²L/∂vec(θ_2)∂vec(θ_1)ᵀ``:
``GN = (h_1 ⊗ I) · θ_2 · D_1 (xᵀ ⊗ I)``; the residual term ``(I ⊗ r) D_1 (xᵀ ⊗ I)`` carries no
weight, so the full block is not of the form and only the GN block is searched.

``specdef``: ``f = C W̃ x`` with ``(W̃, C)`` from the run's defence of a weight ``W``, block
``∂²L/∂vec(W̃)∂vec(C)ᵀ``: ``GN = (x xᵀ ⊗ I) · (W̃ᵀ ⊗ I) · (I ⊗ Cᵀ)`` (the inflated weight in the
middle); the residual term ``(x rᵀ ⊗ I) K`` carries no weight: GN block only.

The Gauss–Newton block does not depend on ``r``: the ``gn`` records cover the block at zero
residual and the Gauss–Newton part at any residual; the ``full`` records the whole block at a
non-zero residual.  With ``n > 1`` samples every block is a sum ``(1/n) Σ_s A_s B C_s``, not of
the theorem's form; the bound is only defined, and only applied, per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ...engine.registry import Context

_GELU_C, _GELU_K = math.sqrt(2.0 / math.pi), 0.044715


def activation(kind: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``φ(z)`` and ``φ'(z)`` elementwise (identity, ReLU, GELU tanh form, tanh)."""
    if kind == "identity":
        return z, np.ones_like(z)
    if kind == "relu":
        return np.where(z > 0, z, 0.0), (z > 0).astype(float)
    if kind == "tanh":
        t = np.tanh(z)
        return t, 1.0 - t * t
    u = _GELU_C * (z + _GELU_K * z ** 3)
    t = np.tanh(u)
    return 0.5 * z * (1.0 + t), 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_C * (
        1.0 + 3.0 * _GELU_K * z * z)


def _kron(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Batched Kronecker product ``P[k] ⊗ Q[k]``."""
    N, a, c = P.shape
    _, b, d = Q.shape
    return np.einsum("nac,nbd->nabcd", P, Q).reshape(N, a * b, c * d)


def _eye(N: int, d: int) -> np.ndarray:
    return np.broadcast_to(np.eye(d), (N, d, d))


def _x_kron_eye(D1: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``diag(D_1) (xᵀ ⊗ I_{d1})``: shape ``(N, d1, d0·d1)``."""
    N, d1 = D1.shape
    return _kron(x[:, None, :], _eye(N, d1)) * D1[:, :, None]


@dataclass(frozen=True)
class Family:
    """A model family, the blocks it has, and what is known of the displayed form on them."""

    name: str
    label: str                       # "ReLU-MLP (3 layers)" — used in scoped verdicts
    act: str
    depth: int                       # 2, 3; 1 for the SpecDef layer
    blocks: tuple                    # ("gn", "full") or ("gn",)
    # (name, axis) of every array a unit (input, hidden unit, output) occupies
    units: dict = field(default_factory=dict)
    # what the displayed form does on these blocks: "holds" (proved, reason) or None (unknown)
    displayed_proof: str | None = None
    # why the whole block at non-zero residual is not searched (families without "full")
    full_note: str = ""

    # ----------------------------------------------------------------------------- drawing
    def draw(self, ctx: Context, rng: np.random.Generator, N: int, dims: tuple,
             residual: bool) -> dict:
        """``N`` instances of one shape ``dims`` as a dict of stacked arrays."""
        if self.name == "specdef":
            m, d = dims
            P = dict(W=rng.standard_normal((N, m, d)) / math.sqrt(d), x=rng.standard_normal((N, d)))
            return P
        scale = np.exp(0.5 * rng.standard_normal((N, 1, 1)))
        P: dict = {}
        for l in range(1, self.depth + 1):
            fan_in = dims[l - 1]
            W = scale * rng.standard_normal((N, dims[l], fan_in)) / math.sqrt(fan_in)
            sparse = rng.random((N, 1, 1)) < 0.25
            W = np.where(sparse & (rng.random(W.shape) < 0.3), 0.0, W)
            P[f"W{l}"] = W
            if l < self.depth:
                b = 0.5 * rng.standard_normal((N, dims[l]))
                if self.act == "identity":
                    b[:] = 0.0
                else:
                    b = np.where(rng.random((N, 1)) < 0.5, 0.0, b)
                P[f"b{l}"] = b
        P["x"] = rng.standard_normal((N, dims[0]))
        P["r"] = (rng.standard_normal((N, dims[-1])) * np.exp(rng.standard_normal((N, 1)))
                  if residual else np.zeros((N, dims[-1])))
        return P

    def dims_choices(self, rng: np.random.Generator, n: int) -> list[tuple]:
        """``n`` shapes: ``(d0, d1, d2, d3)``, ``(d0, d1, d2)`` or SpecDef's ``(m, d)``."""
        if self.name == "specdef":
            return [tuple(int(v) for v in rng.integers(2, 4, size=2)) for _ in range(n)]
        hi = (3, 4, 4, 3)[:self.depth + 1]
        # every other shape has hidden widths >= 3, so that B = θ2 is at least 3x3 (where the
        # corrected form's tightness is not an identity)
        lo = [(1,) * len(hi), (1, 3, 3, 1)[:len(hi)] if self.depth == 3 else (1, 3, 3)]
        return [tuple(int(rng.integers(l, h + 1)) for l, h in zip(lo[k % 2], hi))
                for k in range(n)]

    def arrays(self) -> tuple:
        """Names of the arrays of one instance."""
        if self.name == "specdef":
            return ("W", "x")
        return (*(f"W{l}" for l in range(1, self.depth + 1)),
                *(f"b{l}" for l in range(1, self.depth)), "x", "r")

    def trainable(self) -> tuple:
        """Arrays the adversarial search moves (biases of the deep linear net stay 0)."""
        if self.name == "specdef":
            return ("W", "x")
        names = [f"W{l}" for l in range(1, self.depth + 1)] + ["x", "r"]
        if self.act != "identity":
            names += [f"b{l}" for l in range(1, self.depth)]
        return tuple(names)

    # ----------------------------------------------------------------------------- forward
    def preactivations(self, P: dict) -> list[np.ndarray]:
        """``z_1, …`` (for keeping ReLU instances away from kinks)."""
        if self.name == "specdef":
            return []
        z1 = np.einsum("nij,nj->ni", P["W1"], P["x"]) + P["b1"]
        if self.depth == 2:
            return [z1]
        h1, _ = activation(self.act, z1)
        return [z1, np.einsum("nij,nj->ni", P["W2"], h1) + P["b2"]]

    def factors(self, ctx: Context, P: dict, block: str) -> tuple:
        """Stacked ``(A, B, C)`` of ``block`` ("gn" or "full") for the instances ``P``."""
        if self.name == "specdef":
            return self._specdef_factors(ctx, P)
        x, N = P["x"], P["x"].shape[0]
        z1 = np.einsum("nij,nj->ni", P["W1"], x) + P["b1"]
        h1, D1 = activation(self.act, z1)
        C = _x_kron_eye(D1, x)
        if self.depth == 2:
            d2 = P["W2"].shape[1]
            return _kron(h1[:, :, None], _eye(N, d2)), P["W2"], C
        W2, W3 = P["W2"], P["W3"]
        z2 = np.einsum("nij,nj->ni", W2, h1) + P["b2"]
        h2, D2 = activation(self.act, z2)
        A = _kron(h2[:, :, None], W3)
        if block == "full":
            A = A + _kron(_eye(N, W2.shape[1]), P["r"][:, :, None])
        return A * D2[:, None, :], W2, C

    def _specdef_factors(self, ctx: Context, P: dict) -> tuple:
        W, x = P["W"], P["x"]
        N, m, d = W.shape
        Wt, Cm = self.defended(ctx, W)
        Sx = x[:, :, None] * x[:, None, :]
        return (_kron(Sx, _eye(N, m)), _kron(np.swapaxes(Wt, 1, 2), _eye(N, m)),
                _kron(_eye(N, m), np.swapaxes(Cm, 1, 2)))

    @staticmethod
    def defended(ctx: Context, W: np.ndarray) -> tuple:
        """``(W̃, C)`` of the run's defence for each ``W[k]`` (``α``, ``k = 1`` by size)."""
        from specdef.numerics import to_host

        alpha = ctx.pick(small=10.0, paper=100.0, large=1000.0)
        out = [tuple(np.asarray(to_host(M), dtype=float) for M in ctx.defence(w, alpha, 1))
               for w in W]
        return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])

    # ----------------------------------------------------------------------------- dense
    def dense_block(self, ctx: Context, inst: dict, block: str) -> np.ndarray:
        """The block from the numerics' exact dense Hessian (``block == "gn"``: Gauss–Newton
        matrix) of one instance (host arrays without the batch axis)."""
        from specdef import numerics as nm
        from specdef.numerics import to_host

        if self.name == "specdef":
            Wt, Cm = (M[0] for M in self.defended(ctx, inst["W"][None]))
            x = inst["x"][:, None]
            model = nm.MLP([Wt], x, Cm @ (Wt @ x), compensations={1: Cm})
            rows, cols = "W1", "C1"
        else:
            x = inst["x"][:, None]
            Ws = [inst[f"W{l}"] for l in range(1, self.depth + 1)]
            f = self.output(inst)
            y = (f - inst["r"])[:, None]
            if self.act == "identity":
                ops = [("linear", [(1.0, [f"W{l}"])]) for l in range(1, self.depth + 1)]
                model = nm.Network({f"W{l}": W for l, W in enumerate(Ws, 1)}, ops, x, y)
            else:
                bs = [inst[f"b{l}"] for l in range(1, self.depth)] + [None]
                model = nm.MLP(Ws, x, y, activation=self.act, biases=bs)
            rows, cols = f"W{self.depth}", "W1"
        th = model.theta0
        H = model.gauss_newton(th) if block == "gn" else model.hessian(th)
        H = np.asarray(to_host(H), dtype=float)
        sl, s = {}, 0
        for k, sh in zip(model.block_names, model.block_shapes):
            sl[k] = slice(s, s + math.prod(sh))
            s += math.prod(sh)
        return H[sl[rows], sl[cols]]

    def output(self, inst: dict) -> np.ndarray:
        """``f(x)`` of one instance (host arrays without the batch axis)."""
        h = inst["x"]
        for l in range(1, self.depth + 1):
            h = inst[f"W{l}"] @ h
            if l < self.depth:
                h, _ = activation(self.act, h + inst[f"b{l}"])
        return h


def _units(depth: int, biases: bool) -> dict:
    if depth == 1:
        return {"input": [("W", 1), ("x", 0)], "output": [("W", 0)]}
    out = {"input": [("W1", 1), ("x", 0)]}
    for l in range(1, depth):
        out[f"hidden{l}"] = [(f"W{l}", 0), (f"b{l}", 0), (f"W{l + 1}", 1)]
    out["output"] = [(f"W{depth}", 0), ("r", 0)]
    return out


_LABEL = {"relu": "ReLU", "gelu": "GELU", "tanh": "tanh"}
_DL_PROOF = ("C = xᵀ⊗I has the single singular value ‖x‖, so cos θ2 = 1 at r2 = d1 and "
             "σ1(ABC) = ‖x‖σ1(AB) ≥ ‖x‖‖A u1(B)‖σ1(B) ≥ σ_r1(A)σ1(B)‖x‖cos θ1")
_M2_PROOF = ("A = h1⊗I has the single singular value ‖h1‖, so cos θ1 = 1 at r1 = d2 and "
             "σ1(ABC) = ‖h1‖σ1(BC) ≥ ‖h1‖σ1(B)‖Cᵀv1(B)‖ ≥ ‖h1‖σ1(B)σ_r2(C)cos θ2")
_SD_PROOF = ("per sample the block is (x xᵀW̃ᵀ)⊗Cᵀ, so σ1 = ‖x‖‖W̃x‖σ1(C) ≥ "
             "‖x‖²σ1(W̃)|⟨x̂, v1(W̃)⟩|σ1(C), which is ≥ the bound (cos θ1 = |⟨x̂, v1(W̃)⟩|, "
             "σ_r2(I⊗Cᵀ) cos θ2 ≤ σ1(C))")

FAMILIES: tuple = (
    Family("deep_linear", "deep-linear (3 layers)", "identity", 3, ("gn", "full"),
           _units(3, False), _DL_PROOF),
    *(Family(f"mlp3_{a}", f"{_LABEL[a]}-MLP (3 layers)", a, 3, ("gn", "full"), _units(3, True))
      for a in ("relu", "gelu", "tanh")),
    *(Family(f"mlp2_{a}", f"{_LABEL[a]}-MLP (2 layers)", a, 2, ("gn",), _units(2, True),
             _M2_PROOF, "the residual term (I⊗r)·D1(xᵀ⊗I) carries no weight, so the whole "
             "block at non-zero residual is not of the form A·θ2·C: not searched")
      for a in ("relu", "gelu", "tanh")),
    Family("specdef", "SpecDef W̃–C", "identity", 1, ("gn",), _units(1, False), _SD_PROOF,
           "the residual term (x rᵀ⊗I)·K carries no weight, so the whole block at non-zero "
           "residual is not of the form A·(W̃ᵀ⊗I)·C: not searched"),
)


def family(name: str) -> Family:
    """The family called ``name``."""
    for f in FAMILIES:
        if f.name == name:
            return f
    raise ValueError(f"theorem3: family must be one of {[f.name for f in FAMILIES]}, got {name!r}")


def take(P: dict, k: Any) -> dict:
    """Instance(s) ``k`` of a stack (an int drops the batch axis)."""
    return {key: np.array(v[k]) for key, v in P.items()}


def stack(insts: list) -> dict:
    """Stack single instances of one shape."""
    return {key: np.stack([i[key] for i in insts]) for key in insts[0]}


Factors = Callable[[dict], tuple]
