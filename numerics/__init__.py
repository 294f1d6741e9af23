"""Backend-agnostic array kernels for SpecDef experiments (NumPy by default, CuPy on request).

``numerics`` knows nothing of theorems: it builds models, applies the SpecDef
reparameterisation and the attacks on it, computes Hessian spectra (exactly from structure, or
matrix-free with a library eigensolver) and runs first- and second-order optimisers.  Importing
it never imports CuPy or matplotlib.
"""

from . import _format_arrays, _formats, _lowprec  # noqa: E402  (number formats)
from . import (_attacks, _backend, _bounds, _deep_linear, _eigsolve, _errors, _gauge,
               _joint_extremes, _joint_spectrum, _model_base, _models, _optim, _second_order,
               _specdef, _spectra)
from ._attacks import *  # noqa: F401,F403
from . import _adaptive, _curvature_optimisers, _lora, _muon, _network, _optim_common, _sweep
from ._adaptive import *  # noqa: F401,F403
from ._curvature_optimisers import *  # noqa: F401,F403
from ._muon import *  # noqa: F401,F403
from ._network import *  # noqa: F401,F403
from ._lora import *  # noqa: F401,F403
from ._sweep import *  # noqa: F401,F403
from ._optim_common import *  # noqa: F401,F403
from ._backend import *  # noqa: F401,F403
from ._bounds import *  # noqa: F401,F403
from ._deep_linear import *  # noqa: F401,F403
from ._eigsolve import *  # noqa: F401,F403
from ._errors import *  # noqa: F401,F403
from ._formats import *  # noqa: F401,F403
from ._lowprec import *  # noqa: F401,F403
from ._format_arrays import *  # noqa: F401,F403
from ._gauge import *  # noqa: F401,F403
from ._joint_extremes import *  # noqa: F401,F403
from ._joint_spectrum import *  # noqa: F401,F403
from ._model_base import *  # noqa: F401,F403
from ._models import *  # noqa: F401,F403
from ._optim import *  # noqa: F401,F403
from ._second_order import *  # noqa: F401,F403
from ._specdef import *  # noqa: F401,F403
from ._spectra import *  # noqa: F401,F403
from ._version import __version__

__all__ = [
    "__version__",
    *_errors.__all__,
    *_backend.__all__,
    *_specdef.__all__,
    *_model_base.__all__,
    *_models.__all__,
    *_deep_linear.__all__,
    *_spectra.__all__,
    *_joint_spectrum.__all__,
    *_joint_extremes.__all__,
    *_eigsolve.__all__,
    *_gauge.__all__,
    *_optim.__all__,
    *_optim_common.__all__,
    *_adaptive.__all__,
    *_muon.__all__,
    *_curvature_optimisers.__all__,
    *_network.__all__,
    *_lora.__all__,
    *_sweep.__all__,
    *_second_order.__all__,
    *_attacks.__all__,
    *_bounds.__all__,
    *_formats.__all__,
    *_lowprec.__all__,
    *_format_arrays.__all__,
]
