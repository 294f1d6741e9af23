"""The pytest plugin, the hypothesis strategies and assert_theorem, as a user would use them."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from specdef import numerics as nm
from specdef.validation import TheoremAssertionError, assert_theorem
from specdef.validation.strategies import quadratics, spd_matrices, specdef_instances


@given(spd_matrices(kappa=1e3))
def test_spd_strategy_has_the_prescribed_condition_number(A):
    lam = np.linalg.eigvalsh(A)
    assert lam[0] > 0
    assert lam[-1] / lam[0] == pytest.approx(1e3, rel=1e-8)


@given(quadratics(max_n=6, min_kappa=2.0, max_kappa=1e4), st.sampled_from([0.5, 1.0, 1.5]))
def test_user_property_check_gd_contraction(assert_theorem, q, c):
    """The README's example: a user's own property check in a few lines."""
    lam = nm.to_host(q.eigenvalues)
    mu, L = float(lam.min()), float(lam.max())
    step = c / L
    theta = q.worst_case_start("max" if abs(1 - step * L) >= abs(1 - step * mu) else "min")
    res = nm.gradient_descent(q, theta, step, max_steps=5, tol=1e-300)
    e0 = np.linalg.norm(nm.to_host(theta - q.theta_star))
    e5 = np.linalg.norm(nm.to_host(res.theta - q.theta_star))
    assert_theorem("gd.quadratic.contraction", (e5 / e0) ** (1 / 5), rtol=1e-6,
                   mu=mu, L=L, step=step)


@given(specdef_instances(max_dim=5, alphas=(1.0, 1e6)))
def test_specdef_strategy_instances_are_valid(inst):
    Wi, C = nm.specdef(inst["W"], inst["alpha"], inst["k"])
    assert np.allclose(C @ Wi, inst["W"], atol=1e-6 * max(1.0, np.abs(inst["W"]).max()))


def test_assert_theorem_catches_a_planted_error():
    # contraction at mu=1, L=3, step=0.5 is exactly 0.5: attained
    assert assert_theorem("gd.quadratic.contraction", 0.5, mu=1.0, L=3.0, step=0.5) == "TIGHT"
    with pytest.raises(TheoremAssertionError, match="VIOLATED"):
        assert_theorem("gd.quadratic.contraction", 0.505, mu=1.0, L=3.0, step=0.5)
    with pytest.raises(TheoremAssertionError, match="LOOSE"):
        assert_theorem("gd.quadratic.contraction", 0.45, mu=1.0, L=3.0, step=0.5)
    assert assert_theorem("gd.quadratic.contraction", 0.45, allow_loose=True, mu=1.0, L=3.0,
                          step=0.5) == "LOOSE"


def test_plugin_is_registered(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("specdef")
