"""Side-by-side benchmarks (toolkit vs baseline); not part of the default pytest run.

Each family times the toolkit and a baseline in one run (interleaved, medians after a warm-up),
checks both against an independent reference and reports the time ratio, both errors and the
problem size; ``specdef bench`` prints the table.  Families register themselves with
:func:`register`; :func:`registry` lists them.

==================== =================================================================
family               what is compared
==================== =================================================================
gd_worst_case        worst-case GD loss on quadratics: closed form vs PEPit / brute force
joint_hessian_eigs   σ_1, λ_min⁺ of the SpecDef joint Hessian: structure vs eigsh on HVPs
gd_batch             GD on many quadratics: batched kernel vs loops; closed form vs
                     simulation; achieved memory bandwidth
alpha_sweep          steps to tolerance over 100 α: closed form vs simulation
optimiser_grid       7 optimisers × 16 lrs × 8 seeds on a SpecDef layer: batched sweep vs
                     per-configuration loops (toolkit, jitted optax)
==================== =================================================================

NumPy vs CuPy agreement (for ``benchmarks/gpu.sh``): ``python -m benchmarks._agreement``.
"""

# import order = registration order = the order of `specdef bench` (issue items 1-4)
from . import _harness, _machine, _report, _worst_case, _eigen, _gd_batch, _alpha_sweep  # noqa
from . import _optimiser_grid  # noqa: E402  (issue 13: the practical optimisers)
from . import _format_training  # noqa: E402  (issue 15: optimisers in a number format)
from ._alpha_sweep import *  # noqa: F401,F403
from ._eigen import *  # noqa: F401,F403
from ._format_training import *  # noqa: F401,F403
from ._gd_batch import *  # noqa: F401,F403
from ._harness import *  # noqa: F401,F403
from ._machine import *  # noqa: F401,F403
from ._optimiser_grid import *  # noqa: F401,F403
from ._report import *  # noqa: F401,F403
from ._worst_case import *  # noqa: F401,F403

__all__ = [
    *_harness.__all__,
    *_machine.__all__,
    *_report.__all__,
    *_worst_case.__all__,
    *_eigen.__all__,
    *_gd_batch.__all__,
    *_alpha_sweep.__all__,
    *_optimiser_grid.__all__,
    *_format_training.__all__,
]
