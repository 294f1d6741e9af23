"""The PEPit cross-check ``gd.worst_case_value.pepit``: PEPit's SDP worst case of GD.

Registered only when PEPit is importable; compares :func:`pepit_worst_case` with the closed form
of ``gd.quadratic.worst_case_value`` to PEPit's solver accuracy :data:`PEPIT_RTOL`.
"""

from __future__ import annotations

import importlib.util

from ...engine.registry import Context, check
from ..common import rows_record
from .worst_value import WORST

__all__ = ["PEPIT_RTOL", "pepit_worst_case"]

#: PEPit's SDP accuracy: the relative precision its own test-suite allows for every example
#: (``tests/test_examples.py``: ``relative_precision = 10 ** -3``).  Not a dtype tolerance.
PEPIT_RTOL = 1e-3


# ------------------------------------------------------------------------------------ PEPit
def pepit_worst_case(mu: float, L: float, step: float, n: int) -> float:
    """PEPit's worst ``f(x_n) − f*`` of GD on ``mu``-strongly convex ``L``-smooth quadratics.

    The PEP of ``PEPit.examples.unconstrained_convex_minimization.
    wc_gradient_descent_quadratics``, built with PEPit's documented API.
    """
    from PEPit import PEP
    from PEPit.functions import SmoothStronglyConvexQuadraticFunction

    problem = PEP()
    func = problem.declare_function(SmoothStronglyConvexQuadraticFunction, mu=mu, L=L)
    xs = func.stationary_point()
    fs = func(xs)
    x0 = problem.set_initial_point()
    problem.set_initial_condition((x0 - xs) ** 2 <= 1)
    x = x0
    for _ in range(n):
        x = x - step * func.gradient(x)
    problem.set_performance_metric(func(x) - fs)
    return float(problem.solve(verbose=0))


if importlib.util.find_spec("PEPit") is not None:
    @check("gd.worst_case_value.pepit", WORST,
           "PEPit's SDP worst case of GD on quadratics vs the closed form", claim="crosscheck")
    def check_worst_case_value_pepit(ctx: Context) -> list:
        """Tight to PEPit's solver accuracy (``PEPIT_RTOL``), float64 on the host."""
        mu, L, eta = 0.1, 1.0, 1.0
        ns = ctx.pick(small=[1, 2, 3], paper=[1, 2, 3, 4, 5], large=[1, 2, 3, 4, 5])
        rows, pep, exact = [], [], []
        for n in ns:
            v = pepit_worst_case(mu, L, eta, n)
            prv = ctx.proven(WORST, mu=mu, L=L, step=eta, n=n)
            pep.append(v)
            exact.append(prv)
            rows.append(dict(emp=v, prv=prv, tol=PEPIT_RTOL, params=dict(n=n)))
        return [rows_record(ctx, "gd.worst_case_value.pepit", WORST, rows, kind="tight",
                            params=dict(mu=mu, L=L, step=eta),
                            detail=f"PEPit SDP worst case at n={ns} vs closed form "
                                   f"(solver rtol {PEPIT_RTOL:g})",
                            data=dict(n=list(ns), pepit=pep, exact=exact)).declare(
            "semidefinite program: PEPit", f"closed form: {WORST}")]
