"""Claim C3 (docs/theory/attacks.rst): an attacker restores fast fine-tuning of a defended layer.

Instance.  A square layer ``W`` (``κ(W) = 2``) on data with ``Σ_x`` of spectrum
geomspace(1, κ_x) is fine-tuned by gradient descent towards ``Y = W' X`` (``W' = W + 0.3 G``),
to a relative loss gap ``ε`` (1e-8 in float64, 1e-4 in float32; the factorisation check uses
``√ε``, see below).  Every count is at the optimiser's best step from a sweep (``η = g/λ_max``
over a geometric grid of ``g`` in [0.25, 1.98], :func:`numerics.best_step_sweep`), per model:

* ``steps_before`` — undefended :class:`numerics.LinearRegression` (closed form, one simulation);
* ``steps_defended`` — the defence ``ctx.defence(W, α, k)`` with **C frozen** (W̃ trained): a
  quadratic with Hessian ``Σ_x ⊗ CᵀC``, counted exactly by
  :func:`numerics.steps_to_tolerance_quadratic` for every α (``None`` beyond ``2⁵³`` steps).  C
  frozen is where the defence bites exactly (steps ∝ α²) at no simulation cost;
* ``steps_attack`` — the attacker's model from :data:`numerics.ATTACKS`.  Quadratic attacks
  (injection: Hessian ``Σ_x ⊗ I``; bypass: ``(PΣ_xPᵀ) ⊗ I`` with ``P = C W̃``; fusion:
  ``Σ_x ⊗ I``) are swept in closed form and then simulated at the best step, which must give the
  closed-form count (±1 step only where the crossing is within rounding).  The factorisation is
  non-convex and is swept by simulation (capped; a capped α ends the sweep).

Classification of recovery, over the α of the check:

* ``exact`` — at every α the simulated loss trajectory equals the undefended one within
  ``τ_L·L_0``, the end-to-end weight ``attack.weight(θ_T)`` equals the undefended final weight
  within ``τ_W·‖W_T‖``, and the step counts agree (or differ only across a step whose loss is
  within ``τ_L·L_0`` of the threshold).  ``τ_W = accumulated_rtol(dtype, T + m + d, α)`` (the
  defended block computes ``P = W + O((m + d) α u)``, which GD carries along contracted, plus
  ``T`` steps of rounding) and ``τ_L`` the same with ``α κ_x ‖W‖/‖W − W'‖`` (a weight error moves
  the loss by at most that factor relative to ``L_0``): both ``c·α·u``;
* ``alpha-independent`` — not exact, but the counts over α spread by at most one step
  (plus ``rtol`` relative);
* ``absent`` — otherwise (steps still grow with α).

α must keep the defended function meaningful: α with ``α·u·(m + d) > √ε`` are dropped (float32)
and the detail says so; if none is left the records are ERROR.

Records (``data`` for Figure 4 on every record: alpha, steps_before, steps_defended,
steps_attack, overhead, attack, recovery).  ``c3.additive_injection``: overhead of a two-layer
model with one protected layer vs ``attack.additive_injection.recovery`` (exact), and recovery
(TIGHT iff exact with overhead <= 1; ``proven`` = the theorem's derived step ratio 1).
``c3.bypass``: worst-case GD steps at step ``1/λ_max`` from a start on the slowest eigenvector of
``(PΣ_xPᵀ) ⊗ I`` to distance ``√ε`` vs ``attack.bypass.rate`` (exact: ``rtol_exact``, plus one
step only if ``ln ε/ln ρ`` is within rounding of an integer; reported at the α farthest off), and
the classification (HOLDS iff alpha-independent; ``proven`` = the worst-case count, a reference).
``c3.factorisation`` (``n_factors = 2``): negative control, HOLDS iff ``absent``.  GD is
simulated, so the instance is smaller (m = 3, κ_x = 4, target ``√ε``, α ∈ {1, 3, 10, 30} at
small), the sweep is ``(0.9, 0.6, 0.35)/λ_max(H(θ_0))`` pruned at the best count so far, and a
run is capped at 1000 steps (20000 at paper size); ``proven`` = the frozen-C slowdown
``specdef.gd_slowdown.frozen_compensation`` at the largest α simulated (a reference),
``empirical`` = the attack's slowdown over the undefended count (a lower bound when capped).
``c3.fusion``: size change vs ``attack.fusion`` (exact) and recovery (TIGHT iff exact, and the
fused ``C·W̃`` equals W within ``τ_W``).  ``overhead`` is ``|added|/|original|``; for fusion the
(negative) relative size change of the released model.

Checks (in this order)
----------------------
``c3.additive_injection``, ``c3.fusion``, ``c3.bypass``, ``c3.factorisation``: registered in
:mod:`.attacks`; the runs are in :mod:`.runs`, the records and the classification in
:mod:`.records`.
"""

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 60

from .attacks import (check_additive_injection, check_bypass,  # noqa: E402,F401
                      check_factorisation, check_fusion)
from .records import classify  # noqa: E402

__all__ = ["classify"]
