"""Theorems as data: the bounds of the SpecDef paper and its background, in SymPy.

``theory`` imports SymPy and mpmath only (NumPy lazily, inside :meth:`Theorem.evaluate`), and
nothing else of this project.  Each theorem is a frozen :class:`Theorem`; ``evaluate(**params)``
returns the bound (lambdified once per instance), ``prove()`` a tri-state :class:`Verdict`.

>>> from specdef import theory
>>> th = theory.get("gd.quadratic.contraction")
>>> th.evaluate(mu=1, L=3, step=0.5)
0.5
>>> th.prove().status
'proved'

Registered theorems
-------------------
=========================================  =====  =======  ==================================
id                                         kind   expect   parameters
=========================================  =====  =======  ==================================
gd.quadratic.contraction                   tight  holds    mu, L, step
gd.quadratic.steps_to_tolerance            exact  holds    mu, L, step, eps
gd.quadratic.worst_case_value              tight  holds    mu, L, step, n
gd.strongly_convex.linear_rate             upper  holds    mu, L, t
gd.smooth_convex.sublinear                 upper  holds    L, t, R
gd.smooth_convex.exact_worst_case          tight  holds    L, t, R
first_order.nesterov_lower_bound           lower  holds    L, t, R, d
newton.local_quadratic                     upper  holds    M, mu, r
newton.affine_invariance                   exact  holds    alpha, kappa
specdef.weight_spectrum                    exact  holds    sigma, alpha, j, k
specdef.function_preservation              upper  holds    alpha, u, c
specdef.hessian.frozen_compensation        exact  holds    lam_min, lam_max, alpha
specdef.gd_slowdown.frozen_compensation    tight  holds    kappa, alpha, eps
specdef.hessian.sigma1_growth              lower  holds    alpha, sigma1_W, vSv
hessian_bound.displayed                    lower  refuted  sA, sB1, sB2, sC, cos1, cos2
hessian_bound.corrected                    lower  holds    sA, sB1, sB2, sC, cos1, cos2
attack.additive_injection.recovery         exact  holds    n_protected, n_total
attack.bypass.rate                         exact  holds    kappa_z, eps
attack.fusion                              exact  holds    n_compensation, n_original
precision.absorbed_update                  tight  holds    p, e
precision.stall_threshold.gd               exact  holds    alpha, u, ratio, f
precision.stall_threshold.adam             exact  holds    alpha, u, E, g, eps
precision.gd_window.closing_alpha          exact  holds    u, ratio, s
precision.gd_window.stable_rate_below      exact  holds    s, level
precision.paper_claim.bfloat16             upper  refuted  s, ratio, alpha
precision.paper_claim.float16              upper  holds    s, ratio, alpha
precision.paper_claim.float8_e4m3fn        upper  holds    s, ratio, alpha
precision.paper_claim.float8_e5m2          upper  holds    s, ratio, alpha
precision.paper_claim.float32              upper  refuted  s, ratio, alpha
precision.stall_scaling.gd                 exact  holds    alpha, eta1
precision.stall_scaling.sgd_momentum       exact  holds    alpha, eta1
precision.stall_scaling.adam               exact  holds    alpha, eta1
precision.stall_scaling.muon               exact  holds    alpha, eta1
precision.stall_scaling.sophia             exact  holds    alpha, eta1
precision.stall_scaling.sophia_unclipped   exact  holds    alpha, eta1
precision.stall_scaling.adahessian         exact  holds    alpha, eta1
=========================================  =====  =======  ==================================

What ``evaluate`` returns
-------------------------
gd.quadratic.contraction
    ``max(|1 - step*mu|, |1 - step*L|)``: per-step contraction of ``‖e_t‖`` for GD on a quadratic
    with spectrum in ``[mu, L]`` (attained).  ``derived``: optimal step ``2/(mu+L)``, rate
    ``(κ-1)/(κ+1)``, stability limit ``2/L``.
gd.quadratic.steps_to_tolerance
    least t with ``‖e_t‖ <= eps‖e_0‖`` for every e_0: ``ceil(ln eps / ln rho)``, 1 when
    ``rho = 0`` (mu = L, step = 1/L); ``step >= 2/L`` raises (no convergence).  Inputs with
    ``rho^t`` equal to eps up to rounding may come out one step high in float64.
gd.quadratic.worst_case_value
    ``max_{λ∈[mu,L]} (λ/2)(1 - step*λ)^(2n)``: worst ``f(x_n) - f*`` over quadratics with
    ``mu I ⪯ H ⪯ L I`` and ``‖x_0 - x*‖ = 1`` (the quantity of PEPit's
    ``wc_gradient_descent_quadratics``).  ``evaluate`` is accurate to about ``|ln value|·u``
    even at n = 10⁶ — exact for ``fl(step·λ)`` as stored, not for step and L separately: the
    value's relative sensitivity to either is ``2n·step·λ/|1 − step·λ|``, so their own rounding
    is ~2n·u of input conditioning.
gd.strongly_convex.linear_rate
    ``(1 - mu/L)^t``: bound on the loss-gap ratio after t GD steps of size 1/L.
gd.smooth_convex.sublinear
    ``L R²/(2t)``: bound on the loss gap after t GD steps of size 1/L, ``R = ‖θ_0 - θ*‖``.
gd.smooth_convex.exact_worst_case
    ``L R²/(4t+2)``: the exact worst loss gap after t GD steps of size 1/L over L-smooth convex
    functions with ``‖θ_0 - θ*‖ <= R`` (Drori & Teboulle 2014), attained by a Huber function.
first_order.nesterov_lower_bound
    ``3 L R²/(32 (t+1)²)``: a loss gap that some L-smooth convex quadratic on R^d (d >= 2t+1)
    forces on every Krylov (span-of-gradients) method after t steps.
newton.local_quadratic
    ``M r²/(2 mu)``: bound on Newton's next error from error r (M-Lipschitz Hessian, ``⪰ mu``).
newton.affine_invariance
    1: exact-Newton step count after / before an invertible reparameterisation (SpecDef with
    C frozen included), for every alpha and kappa.
specdef.weight_spectrum
    ``σ_j(W̃)`` given ``σ_j(W) = sigma``: ``alpha*sigma`` for ``j <= k``, ``sigma`` after.
specdef.function_preservation
    ``c*alpha*u``: relative error of ``fl(C fl(W̃x))`` against ``Wx``, to first order in the unit
    round-off u; ``c = (n+m)·sqrt(m·r)`` makes ``c·alpha·u/(1 - c·u)`` rigorous.
specdef.hessian.frozen_compensation
    ``lam_min/alpha²`` = ``λ_min(Σ_x ⊗ CᵀC)`` (C frozen); ``derived``: ``σ_1``, ``κ``.
specdef.gd_slowdown.frozen_compensation
    worst-case GD step counts (step ``1/λ_max``, distance tolerance eps), defended over
    undefended; ``derived["limit_kappa_to_infinity"]`` is ``alpha**2``.
specdef.hessian.sigma1_growth
    ``alpha² sigma1_W² vSv`` (``vSv = v_1ᵀ Σ_x v_1``), a lower bound on ``σ_1(W̃ Σ_x W̃ᵀ)``,
    itself ``<= σ_1(H_joint)``; ``derived["step_ceiling"]`` is ``2/bound``.
hessian_bound.displayed
    ``sA*sB1*sC*cos1*cos2``, the paper's lower bound on ``σ_1(ABC)`` with ``sA = σ_r1(A)``,
    ``sB1, sB2 = σ_1(B), σ_2(B)``, ``sC = σ_r2(C)`` and the angles of docs/theory/theorem3.rst.
hessian_bound.corrected
    ``sA*sC*(sB1*cos1*cos2 - sB2*sin1*sin2)``, ``sin = sqrt(1 - cos²)``: corrected lower bound.
attack.additive_injection.recovery
    parameter overhead ``n_protected/n_total`` (<= 1); ``prove()`` shows the loss identity
    ``L_attack(Δ) = L(θ + Δ)``; ``derived["steps_ratio"]`` is 1.
attack.bypass.rate
    worst-case GD steps of the bypass matrix B (step ``1/λ_max``):
    ``ceil(ln eps / ln(1 - 1/kappa_z))`` with ``kappa_z = κ(W Σ_x Wᵀ)``, independent of alpha.
attack.fusion
    relative size change of the released model when C is fused into W̃:
    ``-n_compensation/(n_original + n_compensation)``; the fused model is the original.
precision.absorbed_update
    ``2^(e-p)`` = ulp(w)/2: the largest update a stored normal ``w`` in ``[2^e, 2^(e+1))`` of a
    p-bit format absorbs (``fl(w + δ) = w``); a tie goes to the even neighbour.
precision.stall_threshold.gd
    ``u*alpha²*ratio/f``: smallest GD learning rate that changes an inflated entry ``αw``
    (``ratio = |w|/|g|`` of the undefended layer, ``|αw| = 2^E f``); ∝ α².
precision.stall_threshold.adam
    ``u*2^E*(1 + eps*alpha/g)`` (= ulp(αw)/2 · (1 + εα/g), ``2^E <= α|w| < 2^(E+1)``): the
    same for Adam/AdamW's first step (no decay); ∝ α through the binade of α|w|.
precision.gd_window.closing_alpha
    ``(2/(u*ratio*s))^(1/4)``: where GD's stable rate ``2/(α²s)`` meets its stall rate
    ``uα²·ratio`` (``s = σ_1(W)² v_1ᵀΣ_x v_1``): beyond it no learning rate is both.
precision.gd_window.stable_rate_below
    ``sqrt(2/(s*level))``: beyond it ``2/(α²s) < level`` (level = smallest normal: subnormal;
    half the smallest subnormal: rounds to 0).
precision.paper_claim.<format>
    ``max(closing alpha, sqrt(2/(s*N_F)))``; claim: at most the paper's alpha (>= 10⁶) for every
    layer with ``s, ratio`` in [1e-2, 1e2] — refuted for bfloat16 and float32.
precision.stall_scaling.<family>
    ``eta1*alpha^(1+d)``: the first-step stall threshold at ``α = 2^j`` from the one at α = 1,
    for a SpecDef layer (``k = m``, C frozen); ``d`` is the degree of the family's first
    direction in the gradient scale: 1 for gd and sgd_momentum (∝ α²), 0 for adam, muon and
    clipped sophia (∝ α), −1 for sophia_unclipped and adahessian (independent of α).

Integer parameters (``n``, ``t``, ``d``, ``j``, ``k``) must be integral floats or ints.  Each
theorem's ``derived`` mapping holds its auxiliary derivations (optimal step and rate, stationary
point, limit α², step ceiling, ...); the module docstrings hold the mathematics.
"""

from __future__ import annotations

from . import (_attacks, _errors, _gd_quadratic, _gd_rates, _hessian_bound, _newton, _prove,
               _records, _registry, _specdef, _specdef_hessian, _theorem)
from . import _precision, _precision_scaling
from ._attacks import *  # noqa: F401,F403
from ._errors import *  # noqa: F401,F403
from ._gd_quadratic import *  # noqa: F401,F403
from ._gd_rates import *  # noqa: F401,F403
from ._hessian_bound import *  # noqa: F401,F403
from ._newton import *  # noqa: F401,F403
from ._precision import *  # noqa: F401,F403
from ._precision_scaling import *  # noqa: F401,F403
from ._prove import certify_nonnegative
from ._records import *  # noqa: F401,F403
from ._registry import *  # noqa: F401,F403
from ._specdef import *  # noqa: F401,F403
from ._specdef_hessian import *  # noqa: F401,F403
from ._theorem import *  # noqa: F401,F403

__all__ = [
    *_errors.__all__,
    *_records.__all__,
    *_theorem.__all__,
    *_registry.__all__,
    "certify_nonnegative",
    *_gd_quadratic.__all__,
    *_gd_rates.__all__,
    *_newton.__all__,
    *_specdef.__all__,
    *_specdef_hessian.__all__,
    *_hessian_bound.__all__,
    *_attacks.__all__,
    *_precision.__all__,
    *_precision_scaling.__all__,
]
