"""Muon: momentum orthogonalised by Newton–Schulz (or by an exact polar factor), AdamW elsewhere.

Matrix blocks of θ (``model.block_shapes`` of two dimensions) take the Muon step; other blocks
(vectors, biases) take AdamW, as in ``optax.contrib.muon`` and Keller Jordan's reference.
"""

from __future__ import annotations

import math
from typing import Any

from ._adaptive import _AdamRule
from ._backend import _brief, _one_of, eps as _eps, get_namespace, require_matrix, require_positive
from ._errors import InputError
from ._optim_common import _Context, _Rule, _require_betas, _require_unit, _run_rule
from ._optim_driver import OptResult

__all__ = ["NS_COEFFS", "newton_schulz", "polar_factor", "muon"]

#: Keller Jordan's quintic Newton–Schulz coefficients ``(a, b, c)``.
NS_COEFFS = (3.4445, -4.7750, 2.0315)


def _ns(xp: Any, M: Any, coeffs: tuple[float, float, float], steps: int, eps: float) -> Any:
    rows, cols = M.shape[-2], M.shape[-1]
    X = xp.matrix_transpose(M) if rows > cols else M
    nrm = xp.sqrt(xp.sum(X * X, axis=(-2, -1), keepdims=True))
    X = X / (nrm + eps)
    a, b, c = coeffs
    for _ in range(steps):
        A = X @ xp.matrix_transpose(X)
        B = b * A + (c * A) @ A
        X = a * X + B @ X
    return xp.matrix_transpose(X) if rows > cols else X


def _polar(xp: Any, M: Any) -> Any:
    U, s, Vh = xp.linalg.svd(M, full_matrices=False)
    tol = max(M.shape[-2:]) * _eps(M.dtype) * s[..., :1]
    keep = xp.astype(s > tol, M.dtype)
    return (U * keep[..., None, :]) @ Vh


def newton_schulz(M: Any, *, coeffs: tuple[float, float, float] = NS_COEFFS, steps: int = 5,
                  eps: float = 1e-8) -> Any:
    """Approximate polar factor ``U Vᵀ`` of ``M`` by the quintic Newton–Schulz iteration.

    Parameters
    ----------
    M : array, shape (..., m, n)
        Matrix or stack of matrices.
    coeffs : (float, float, float)
        ``(a, b, c)``; default Keller Jordan's ``(3.4445, −4.7750, 2.0315)``.
    steps : int
        Iterations (``>= 0``).
    eps : float
        ``ε > 0`` in the normalisation ``X_0 = M/(‖M‖_F + ε)``.

    Returns
    -------
    array, shape (..., m, n)

    Notes
    -----
    On the wide orientation (``Mᵀ`` when ``m > n``):

    .. math::

        X_0 = \\frac{M}{‖M‖_F + ε}, \\qquad
        X_{k+1} = a X_k + b (X_k X_k^T) X_k + c (X_k X_k^T)^2 X_k,

    computed as ``aX + (bA + (cA)A)X`` with ``A = X Xᵀ`` (the order of ``optax.contrib``).
    Each step maps every singular value ``σ`` of ``X`` to ``p(σ) = aσ + bσ³ + cσ⁵`` and keeps
    the singular vectors, so ``X_5 = U p^{∘5}(Σ/‖M‖_F) Vᵀ``.  These coefficients maximise
    ``p'(0)`` rather than converge: after 5 steps the singular values lie roughly in
    ``[0.7, 1.2]`` instead of at 1 (use :func:`polar_factor` for the exact ``U Vᵀ``).
    """
    func = "newton_schulz"
    M = require_matrix(func, "M", M, ndim=tuple(range(2, 8)))
    xp = get_namespace(M, func=func)
    try:
        cf = tuple(float(x) for x in coeffs)
    except (TypeError, ValueError):
        cf = ()
    if len(cf) != 3 or not all(math.isfinite(x) for x in cf):
        raise InputError(f"{func}: coeffs must be three finite numbers, got {_brief(coeffs)}")
    steps = require_positive(func, "steps", steps, allow_zero=True, integer=True)
    e = require_positive(func, "eps", eps)
    return _ns(xp, M, cf, steps, e)


def polar_factor(M: Any) -> Any:
    """Exact polar factor ``U_r V_rᵀ`` of ``M`` from its SVD (numerical rank ``r``).

    Parameters
    ----------
    M : array, shape (..., m, n)

    Returns
    -------
    array, shape (..., m, n)
        ``U diag(1[σ_i > max(m, n)·eps·σ_1]) Vᵀ``: the orthogonal factor of ``M = (U Vᵀ)(V Σ Vᵀ)``
        restricted to the numerical range, so a rank-deficient ``M`` gives a partial isometry.

    Notes
    -----
    The idealised Muon step (the limit of Newton–Schulz with convergent coefficients): all
    nonzero singular values of the update are exactly 1, and ``polar(Q_1 M Q_2) =
    Q_1 polar(M) Q_2`` for orthogonal ``Q_1, Q_2``.
    """
    M = require_matrix("polar_factor", "M", M, ndim=tuple(range(2, 8)))
    return _polar(get_namespace(M), M)


class _MuonRule(_Rule):
    name = "muon"

    def __init__(self, momentum: float, nesterov: bool, bias_correction: bool, polar: str,
                 coeffs: tuple[float, float, float], ns_steps: int, eps: float,
                 weight_decay: float, adam: _AdamRule) -> None:
        self.mu, self.nesterov, self.bc, self.polar = momentum, nesterov, bias_correction, polar
        self.coeffs, self.ns_steps, self.eps, self.wd, self.adam = (coeffs, ns_steps, eps,
                                                                    weight_decay, adam)

    def params(self) -> dict:
        return {"momentum": self.mu, "nesterov": self.nesterov,
                "bias_correction": self.bc, "polar": self.polar, "ns_coeffs": self.coeffs,
                "ns_steps": self.ns_steps, "eps": self.eps, "weight_decay": self.wd,
                "adam": self.adam.params()}

    def init(self, theta: Any, ctx: _Context) -> dict:
        xp = ctx.xp
        return {"m": xp.zeros_like(theta), "adam": self.adam.init(theta, ctx)}

    def step(self, state: dict, theta: Any, g: Any, t: int, ctx: _Context) -> tuple[Any, dict]:
        xp, mu = ctx.xp, self.mu
        m = (1 - mu) * g + mu * state["m"]
        if self.bc:
            if self.nesterov:
                mh = mu * (m / (1 - mu ** (t + 1))) + (1 - mu) * (g / (1 - mu ** t))
            else:
                mh = m / (1 - mu ** t)
        else:
            mh = (1 - mu) * g + mu * m if self.nesterov else m
        adam_u, adam_state = None, state["adam"]
        parts = []
        for b in ctx.blocks:
            if len(b.shape) != 2:
                if adam_u is None:
                    adam_u, adam_state = self.adam.direction(state["adam"], theta, g, t, xp)
                parts.append(adam_u[..., b.start:b.stop])
                continue
            # work on Mᵀ, the row-major view of the column-major block (no copy): Newton–Schulz
            # runs on the same wide matrix either way, and vec(O) is a reshape of Oᵀ
            Mt = xp.reshape(mh[..., b.start:b.stop], (*mh.shape[:-1], b.shape[1], b.shape[0]))
            Ot = (_polar(xp, Mt) if self.polar == "svd"
                  else _ns(xp, Mt, self.coeffs, self.ns_steps, self.eps))
            u = math.sqrt(max(1.0, b.shape[0] / b.shape[1])) * xp.reshape(
                Ot, (*Ot.shape[:-2], b.stop - b.start))
            if self.wd:
                u = u + self.wd * theta[..., b.start:b.stop]
            parts.append(u)
        u = parts[0] if len(parts) == 1 else xp.concat(parts, axis=-1)
        return u, {"m": m, "adam": adam_state}


def _muon_rule(func: str, *, momentum: float = 0.95, nesterov: bool = True,
               polar: str = "newton_schulz", ns_coeffs: Any = NS_COEFFS, ns_steps: int = 5,
               eps: float = 1e-8, weight_decay: float = 0.0, bias_correction: bool = False,
               adam_betas: Any = (0.9, 0.999), adam_weight_decay: float = 0.0) -> _MuonRule:
    mu = _require_unit(func, "momentum", momentum)
    if not _one_of(polar, ("newton_schulz", "svd")):
        raise InputError(f"{func}: polar must be 'newton_schulz' or 'svd', got {_brief(polar)}")
    try:
        cf = tuple(float(x) for x in ns_coeffs)
    except (TypeError, ValueError):
        cf = ()
    if len(cf) != 3 or not all(math.isfinite(x) for x in cf):
        raise InputError(f"{func}: ns_coeffs must be three finite numbers, got "
                         f"{_brief(ns_coeffs)}")
    steps = require_positive(func, "ns_steps", ns_steps, allow_zero=True, integer=True)
    e = require_positive(func, "eps", eps)
    wd = require_positive(func, "weight_decay", weight_decay, allow_zero=True)
    awd = require_positive(func, "adam_weight_decay", adam_weight_decay, allow_zero=True)
    ab = _require_betas(func, adam_betas)
    rule = _MuonRule(mu, bool(nesterov), bool(bias_correction), polar, cf, steps, e, wd,
                     _AdamRule(ab, e, awd, bool(nesterov)))
    return rule


def muon(model: Any, theta0: Any, lr: float, *, momentum: float = 0.95, nesterov: bool = True,
         polar: str = "newton_schulz", ns_coeffs: tuple[float, float, float] = NS_COEFFS,
         ns_steps: int = 5, eps: float = 1e-8, weight_decay: float = 0.0,
         bias_correction: bool = False, adam_betas: tuple[float, float] = (0.9, 0.999),
         adam_weight_decay: float = 0.0, max_steps: int = 10_000, tol: float = 1e-8,
         atol: float | None = None, clip: float | None = None, schedule: Any = None,
         train: Any = None, record_every: int = 1,
         divergence_factor: float = 1e12) -> OptResult:
    """Muon on the matrix blocks of θ, AdamW on the others.

    Parameters
    ----------
    model : model
        Needs ``n_params``, ``loss``, ``grad``; its ``block_names``/``block_shapes`` (column-major
        ``vec`` blocks) say which parts of θ are matrices.  Without them θ is one vector and
        the whole run is AdamW.
    theta0 : array, shape (p,)
    lr : float
        Learning rate ``η > 0`` (shared by the AdamW blocks, as in optax).
    momentum : float
        ``μ ∈ [0, 1)`` of the momentum EMA.
    nesterov : bool
        Orthogonalise ``(1−μ)g + μm`` instead of ``m`` (the reference default).
    polar : {"newton_schulz", "svd"}
        Five-step quintic Newton–Schulz (:func:`newton_schulz`) or the exact polar factor
        (:func:`polar_factor`, the idealised method).
    ns_coeffs, ns_steps, eps
        Newton–Schulz coefficients, iterations and normalisation ``ε`` (also Adam's ``ε``).
    weight_decay : float
        Decoupled decay ``λ`` of the matrix blocks (``θ ← θ − ηλθ``).
    bias_correction : bool
        ``False`` (default): Keller Jordan's and ``torch.optim.Muon``'s momentum.  ``True``:
        ``optax.contrib.muon``'s bias-corrected momentum (see Notes).
    adam_betas, adam_weight_decay
        AdamW of the non-matrix blocks (which uses Nesterov iff ``nesterov``, as optax does).
    max_steps, tol, atol, clip, schedule, train, record_every, divergence_factor
        As :func:`adam`.

    Returns
    -------
    OptResult

    Notes
    -----
    For a matrix block ``W ∈ R^{m×n}`` (the map ``x ↦ W x``) with gradient ``G``:

    .. math::

        M_t = μ M_{t-1} + (1-μ) G_t, \\qquad
        N_t = (1-μ) G_t + μ M_t \\;\\text{(Nesterov) or}\\; M_t, \\qquad
        W_{t+1} = W_t − η_t\\bigl(\\sqrt{\\max(1, m/n)}\\; \\mathrm{NS}_5(N_t) + λ W_t\\bigr),

    ``NS_5`` five quintic Newton–Schulz steps from ``N/(‖N‖_F + ε)`` (or the exact polar factor).
    The heavy-ball buffer ``b ← μb + g`` of the textbook definition is ``M/(1−μ)``: the
    normalisation makes the update independent of that scalar up to ``ε``.  With
    ``bias_correction=True`` (optax): ``N_t = μ M_t/(1−μ^{t+1}) + (1−μ) G_t/(1−μ^t)``
    (Nesterov) or ``M_t/(1−μ^t)``; with optax's ``MuonDimensionNumbers(reduction_axis=1,
    output_axis=0)`` (our ``y = W x`` layout) and ``nesterov`` passed through, the trajectories
    agree with ``optax.contrib.muon`` to rounding.  ``torch.optim.Muon`` normalises by
    ``max(‖N‖_F, ε)`` and its default ε is 10⁻⁷: an ``ε/‖N‖_F`` relative difference.
    """
    func = "muon"
    rule = _muon_rule(func, momentum=momentum, nesterov=nesterov, polar=polar,
                      ns_coeffs=ns_coeffs, ns_steps=ns_steps, eps=eps, weight_decay=weight_decay,
                      bias_correction=bias_correction, adam_betas=adam_betas,
                      adam_weight_decay=adam_weight_decay)
    return _run_rule(func, model, theta0, lr, rule, schedule=schedule, clip=clip, train=train,
                     rng=None, max_steps=max_steps, tol=tol, atol=atol,
                     record_every=record_every, divergence_factor=divergence_factor)
