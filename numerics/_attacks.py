"""Attacks on a SpecDef-defended layer (docs/theory/attacks.rst): each builds the attacker's model.

Every attack returns an :class:`Attack`: the model the attacker trains (same loss as the
defended model, ``(1/2n)‖f(X) − Y‖_F²``), the attacker's starting parameters (which compute
exactly the released function), a map from parameters to the end-to-end weight, and the
parameter overhead ``|added| / |original|`` where ``|original| = m·n`` is the size of the
undefended layer ``W ∈ R^{m×n}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ._backend import get_namespace, require_index, require_matrix
from ._deep_linear import LinearChain
from ._errors import InputError
from ._model_base import LeastSquaresModel
from ._models import LinearRegression

__all__ = ["Attack", "ATTACKS", "additive_injection", "multiplicative_bypass",
           "balanced_factorisation", "fusion"]


@dataclass(frozen=True)
class Attack:
    """The attacker's parametrisation of a defended layer."""

    name: str
    model: LeastSquaresModel
    theta0: Any
    n_added: int
    n_original: int
    weight: Callable[[Any], Any]

    @property
    def overhead(self) -> float:
        """``|added| / |original|`` (0 when the attack adds nothing)."""
        return self.n_added / self.n_original


def _inputs(func: str, W_inflated: Any, C: Any, X: Any, Y: Any):
    W = require_matrix(func, "W_inflated", W_inflated)
    C = require_matrix(func, "C", C)
    X, Y = require_matrix(func, "X", X), require_matrix(func, "Y", Y)
    xp = get_namespace(W, C, X, Y, func=func)
    if C.shape != (W.shape[0], W.shape[0]):
        raise InputError(f"{func}: C must have shape ({W.shape[0]}, {W.shape[0]}), "
                         f"got {tuple(C.shape)}")
    if X.shape[0] != W.shape[1]:
        raise InputError(f"{func}: X must have {W.shape[1]} rows (columns of W_inflated), "
                         f"got shape {tuple(X.shape)}")
    if tuple(Y.shape) != (W.shape[0], X.shape[1]):
        raise InputError(f"{func}: Y must have shape ({W.shape[0]}, {X.shape[1]}), "
                         f"got {tuple(Y.shape)}")
    return xp, W, C


def additive_injection(W_inflated: Any, C: Any, X: Any, Y: Any) -> Attack:
    """Freeze the defended block ``g(x) = C W̃ x`` and train a parallel ``Δ`` from 0.

    Notes
    -----
    ``f(x) = C W̃ x + Δ x = (P + Δ) x`` with ``P = C W̃ = W`` (in exact arithmetic), so
    ``L_attack(Δ) = L_undefended(W + Δ)`` identically: gradient, Hessian (``Σ_x ⊗ I``) and every
    first- or second-order trajectory equal those of fine-tuning the undefended layer, shifted
    by ``W``.  In floating point ``P`` differs from ``W`` by ``O(α u ‖W‖)``.  Adds ``m·n``
    parameters: overhead 1 for one layer.
    """
    xp, W, C = _inputs("additive_injection", W_inflated, C, X, Y)
    P = C @ W
    model = LinearRegression(X, Y, offset=P)
    m, n = W.shape
    theta0 = xp.zeros(m * n, dtype=model.dtype)
    return Attack("additive_injection", model, theta0, n_added=m * n, n_original=m * n,
                  weight=lambda th: model.unpack(th)["W"] + P)


def multiplicative_bypass(W_inflated: Any, C: Any, X: Any, Y: Any) -> Attack:
    """Train ``B`` in ``x ↦ B C W̃ x`` from ``B = I`` (defended factors frozen).

    Notes
    -----
    The Hessian in ``B`` is ``(P Σ_x P^T) ⊗ I`` with ``P = C W̃ = W``: the rate no longer
    depends on α but is set by ``κ(W Σ_x W^T)`` instead of ``κ(Σ_x)``.  Adds ``m²``.
    """
    xp, W, C = _inputs("multiplicative_bypass", W_inflated, C, X, Y)
    m, n = W.shape
    eye = xp.eye(m, dtype=W.dtype)
    model = LinearChain([W, C, eye], X, Y, trainable=[False, False, True],
                        names=("W", "C", "B"))
    return Attack("multiplicative_bypass", model, model.theta0, n_added=m * m, n_original=m * n,
                  weight=model.product)


def balanced_factorisation(W_inflated: Any, C: Any, X: Any, Y: Any,
                           n_factors: int = 2) -> Attack:
    """Split ``W̃ = U Σ̃ V^T`` into ``n_factors`` balanced factors and train them, C frozen.

    Notes
    -----
    ``F_1 = Σ̃^{1/L} V^T``, ``F_i = Σ̃^{1/L}`` (middle), ``F_L = U Σ̃^{1/L}``, so
    ``F_L ⋯ F_1 = W̃``.  A negative control: the frozen ``C`` still scales the output
    directions by ``1/α`` and steps stay ∝ α² (docs/theory/attacks.rst (C)).  Adds
    ``Σ|F_i| − m·n`` parameters.
    """
    xp, W, C = _inputs("balanced_factorisation", W_inflated, C, X, Y)
    # each factor is an array the size of W: beyond 2**16 factors is a typo
    n_factors = require_index("balanced_factorisation", "n_factors", n_factors, 2, 2**16)
    m, n = W.shape
    U, S, Vh = xp.linalg.svd(W, full_matrices=False)
    root = S ** (1.0 / n_factors)
    facs = [root[:, None] * Vh]
    facs += [xp.eye(S.shape[0], dtype=W.dtype) * root[None, :] for _ in range(n_factors - 2)]
    facs += [U * root[None, :]]
    model = LinearChain(facs + [C], X, Y, trainable=[True] * n_factors + [False],
                        names=tuple(f"F{i + 1}" for i in range(n_factors)) + ("C",))
    return Attack("balanced_factorisation", model, model.theta0,
                  n_added=model.n_params - m * n, n_original=m * n, weight=model.product)


def fusion(W_inflated: Any, C: Any, X: Any, Y: Any) -> Attack:
    """Multiply C into W̃ and train the fused ``W = C W̃`` (SpecDef-specific; shrinks the model).

    Notes
    -----
    Recovers the undefended parametrisation up to ``O(α u)``; adds nothing (overhead 0) and
    removes the ``m²`` compensation parameters.  Only possible because the defended block is
    linear: it is not the class-wide attack.
    """
    xp, W, C = _inputs("fusion", W_inflated, C, X, Y)
    model = LinearRegression(X, Y)
    m, n = W.shape
    return Attack("fusion", model, model.pack(W=C @ W), n_added=0, n_original=m * n,
                  weight=lambda th: model.unpack(th)["W"])


ATTACKS = {f.__name__: f for f in (additive_injection, multiplicative_bypass,
                                   balanced_factorisation, fusion)}
