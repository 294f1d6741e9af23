"""Claim C2 (docs/theory/background.rst, B4, docs/theory/hessian.rst): which second-order methods
does the defence slow, and by how much?

Setting.  A defended linear-regression layer ``x ↦ C W̃ x`` (``(W̃, C) = ctx.defence(W, α, k)``)
is fine-tuned towards a new target ``Y = W' X`` (``W' = W + PERT·N(0, 1)``) in two
parameterisations:

* ``frozen``: C frozen, W̃ trained — a convex quadratic with Hessian ``Σ_x ⊗ CᵀC``
  (``κ = κ_x α²`` for SpecDef); the undefended reference is :class:`numerics.LinearRegression`
  from ``W``;
* ``joint``: ``(W̃, C)`` trained together — bilinear, with the gauge null space; Newton-type
  solvers use the pseudo-inverse (:mod:`numerics._second_order`).  The undefended reference is
  the same two-factor model at ``(W, I)``, which SpecDef maps to ``(T W, T⁻¹)``: an invertible
  linear reparameterisation.  The target is a small step (inside Newton's local region);
  damped Newton is also run on ``N_FAR`` farther targets (costs summed), where its line search
  and ``|H|`` act.

Cost to the relative loss-gap target ``ε`` (1e-8 in float64, 1e-4 in float32) over an α sweep:
outer steps (Newton, Gauss–Newton, Levenberg–Marquardt), loss evaluations (damped Newton's
line-search trials), Hessian-vector products (Newton-CG's inner CG iterations; ``cg_tol = 0.1``).
LM with C frozen is a quadratic with per-mode contraction ``λ/(h_i + λ)``, counted exactly with
:func:`numerics.steps_to_tolerance_quadratic` and verified by simulation within
``VERIFY_BUDGET`` steps; the rest is simulated (caps: 20 / 40 outer steps frozen / joint, LM
joint 400 at small and 2000 at paper size).  Capped runs are lower bounds; once a slowed method
hits its cap, larger α are not simulated (``None``).

Verdicts.  Theorem ``newton.affine_invariance`` (exact, value 1): Newton on ``φ ↦ L(Pφ)`` maps to
Newton on ``L``.  Each (method, parameterisation) gets a prediction (:data:`PREDICTION`):

* ``invariant`` — Newton and Gauss–Newton in both parameterisations; damped Newton with C frozen
  (``H ≻ 0``: ``|H| = H`` and the Armijo test accepts the unit Newton step, invariantly).
  ``empirical`` = cost(α)/cost(undefended) at the α farthest from 1, ``proven`` = the theorem's
  value, compared exactly (``rtol_exact``): TIGHT or VIOLATED.
* ``slowed`` — LM (fixed damping is not invariant), Newton-CG (Krylov counts depend on the
  spectrum), damped Newton jointly trained (``|H|`` of an indefinite Hessian depends on the
  metric).  ``empirical`` = cost(α_max)/cost(undefended) at the largest usable α.  No theorem
  says by how much, so the record is data (``MEASURED``, ``proven`` None, "not predicted"), never
  a pass against a placeholder: the detail says "slowed ×…" or "not slowed" and gives the slope of
  log cost against log α (Newton-CG: against the worst-case ``√κ ∝ α``, slope 1).  Where theory
  does predict the count — LM with C frozen — ``c2.levenberg_marquardt.prediction`` compares it.

Finite precision.  A backward-stable solve leaves a relative error of about ``κ·u``; where that
exceeds the distance accuracy ``√ε`` the target demands, counts are set by rounding, not by the
method (one-step Newton on the frozen quadratic then needs a second step).  ``κ`` is evaluated in
float64 from the structured spectra (:func:`.runs._kappa`); for the full-Hessian methods on the
joint problem the soft gauge directions must also keep two digits, ``κ_soft·u <= FP_LIMIT``.
Newton on the joint problem decomposes the unit-diagonal-scaled Hessian (its rank decision, see
:func:`numerics.newton`), so both of its κ come from that matrix (:func:`.runs._newton_kappa`):
the scaling removes the α-grading of the blocks, and α up to 10⁴ enters its verdict.  Other
α are run and recorded (``data["representable"]``) but excluded from the verdict, and the detail
says so.  ERROR records: the undefended run did not converge, or no α > 1 is representable (the
joint problem in float32).

Checks (in this order)
----------------------
``newton.local_quadratic``, ``newton.affine_invariance``  (background of the claim)
    Newton's local quadratic rate and the affine invariance of Newton and Gauss–Newton on
    smooth test models: described in :mod:`.newton` (models in :mod:`.models`).
``c2.newton``, ``c2.gauss_newton``, ``c2.levenberg_marquardt``, ``c2.damped_newton``,
``c2.newton_cg``
    One check per method (:data:`METHODS`), each over both parameterisations and the α sweep:
    :mod:`.second_order` (records), :mod:`.runs` (the sweeps), :mod:`.instances` (the instance).
``c2.levenberg_marquardt.prediction``  (``gd.quadratic.steps_to_tolerance``, exact)
    LM with fixed damping λ and C frozen is gradient descent with step 1 on the spectrum
    ``h/(h + λ)``: from the bottom-eigenvector start its step count is that theorem's count at
    ``(h_min/(h_min+λ), h_max/(h_max+λ), 1, √ε)``, compared with simulated LM at every α whose
    predicted count is at most 2000, per damping.
"""

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 30

# the order of these imports is the order in which the checks are registered (and listed)
from .newton import LogCoshModel, Reparameterised, SquaresModel  # noqa: E402,F401
from .second_order import METHODS, PREDICTION, THEOREM  # noqa: E402,F401
from ..common import data_matrix, kron_modes  # noqa: E402,F401  (re-export)

__all__ = ["METHODS", "PREDICTION", "THEOREM", "LogCoshModel", "SquaresModel", "Reparameterised"]
