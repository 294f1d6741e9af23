"""Claim C4 (the practical attacker): the paper's empirical claims under exact, controlled runs.

The paper's headline evidence is about real attackers: SpecDef (α = 10⁴) made relearning fail
at every learning rate over five decades (Table 1, SGD and Adam), and Sophia, Muon and
AdaHessian "cannot bypass" it; an independent replication saw the defence fail at α = 10³ and
hold at 10⁴, and a 232× jump of the gradient norm at the first step, with a loss spike that
clipping did not prevent.  This family runs those experiments in miniature with the optimisers
of :mod:`specdef.numerics` (batched sweeps) and records, for each claim, the claim, the
measured data and a verdict taken from the data (:mod:`.claims`).

Instances (:mod:`specdef.validation.certify.instances`). The SpecDef regression layer and a tanh MLP
whose middle layer is the defended pair ``C W̃`` (``ctx.defence``, k = 2 at small size), fine-tuned
towards a harmful target (the same network with ``W' = W + ΔW``), C frozen (every other block
trained) and C trained. Recovery is a relative loss gap of 10⁻² (:data:`.runs.TOL`); rates span five
decades (11 rates) around each optimiser's natural scale on the undefended release.

The grid (:mod:`specdef.validation.certify.grid`). Every optimiser (SGD, SGD+momentum, Adam, AdamW,
Muon with Newton–Schulz and with the exact polar factor, Sophia, AdaHessian) × C mode × α ∈ {1, 3,
10, 30, 10², 10³, 10⁴} × rates, one batched sweep per optimiser and mode. The undefended release
gets :func:`.runs.budget` updates (400 at small size); a defended sweep gets 10× the undefended best
count, so a recipe not recovered within it is *slowed at least 10×*.

Checks (in this order; one record per setting unless said)
----------------------------------------------------------
``c4.lr_sweep`` (paper, Table 1)
    SGD, SGD+momentum, Adam, AdamW: undefended best rate and count vs α = 10⁴; HOLDS iff no
    rate recovers the defended model within the defended budget; the share of diverged cells
    answers the paper's "diverges at every rate".
``c4.curvature_aware`` (paper; one record per optimiser)
    Sophia, Muon (Newton–Schulz, exact polar), AdaHessian: slowdown vs α per setting and the
    fitted exponent p (steps ∝ α^p over the resolved α) next to SGD's (GD theory: 2).
    REFUTED iff the optimiser stays within 10× of undefended at every α in a setting where SGD
    and Adam are slowed (a bypass).
``c4.alpha_threshold`` (paper and replication)
    The smallest α at which the best recipe over every optimiser and rate is slowed 10×; HOLDS
    iff it is at most 10⁴; whether α = 10³ already holds is in the data.
``c4.injection`` (the toolkit's predictions; per model)
    The additive injection's trajectory against undefended fine-tuning under every optimiser
    without decay, the measured gap under AdamW, and a rank-r parallel adapter against a
    rank-r harmful update with its overhead r(m+n)/(mn) (:mod:`.adapters`).
``c4.lora`` (per model and target)
    LoRA of rank r on W̃, on C, on both, against LoRA on the undefended layer.
``c4.clipping`` (replication; two records per setting)
    The first-step gradient-norm jump vs α under AdamW, and the clipped loss trajectory
    (:mod:`.clipping`).

Expectations and planted errors: :mod:`.claims`.  The certificate of ``specdef certify`` is
built from the same grid (:mod:`specdef.validation.certify`).
"""

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 90

# the order of these imports is the order in which the checks are registered (and listed)
from .attacker import (check_alpha_threshold, check_curvature_aware,  # noqa: E402,F401
                       check_lr_sweep)
from .adapters import check_injection, check_lora  # noqa: E402,F401
from .clipping import check_clipping  # noqa: E402,F401
from .claims import CLAIMS, EXPECTED  # noqa: E402

__all__ = ["CLAIMS", "EXPECTED"]
