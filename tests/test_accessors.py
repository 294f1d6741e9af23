"""One style of accessor: the records' derived quantities are properties, everywhere.

``spec.condition_number``, ``ends.condition_number``, ``result.converged``, ``grid.best`` — never
a zero-argument method beside a property.  Methods are kept for operations that build something
new and are named by a verb (``expand``, ``with_rtol``, ``to_dict``).
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from specdef import numerics as nm
from specdef import validation

OPERATIONS = {"expand", "to_dict", "store", "fl", "op", "matmul"}  # verbs that build or compute


def _records():
    for mod in (nm, validation):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
                yield f"{mod.__name__}.{name}", obj


@pytest.mark.parametrize("qualname, cls", list(_records()), ids=lambda x: x if isinstance(x, str)
                         else "")
def test_derived_quantities_are_properties(qualname, cls):
    for attr, value in vars(cls).items():
        if attr.startswith("_") or not inspect.isfunction(value):
            continue
        params = list(inspect.signature(value).parameters)
        assert params[1:] or attr in OPERATIONS, \
            f"{qualname}.{attr}() takes no argument: make it a property"


def test_spectrum_accessors_and_rtol():
    s = nm.Spectrum(np.array([0.0, 1e-20, 0.5, 4.0]), [2, 1, 2, 1], 6)
    assert (s.null_dim, s.lambda_min_nonzero, s.condition_number) == (3, 0.5, 8.0)
    exact = s.with_rtol(0.0)
    assert (exact.null_dim, exact.lambda_min_nonzero) == (2, 1e-20)
    assert s.null_dim == 3  # the original is unchanged
    with pytest.raises(nm.InputError, match="rtol"):
        s.with_rtol(-1.0)


def test_readme_accessors_agree():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 40))
    W_inf, C = nm.specdef(rng.standard_normal((6, 6)), 10.0, k=2)
    full = nm.joint_spectrum_zero_residual(W_inf, C, X)
    ends = nm.joint_extremes_zero_residual(W_inf, C, X)
    assert ends.condition_number == pytest.approx(full.condition_number, rel=1e-10)
