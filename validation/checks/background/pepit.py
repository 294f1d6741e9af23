"""Gradient descent on quadratics (THEORY.md §2, B1): contraction, step counts, worst-case value.

Every instance is ``L(w) = ½ (w − w*)ᵀ H (w − w*)`` with ``H = Q diag(λ) Qᵀ`` built by
:class:`numerics.Quadratic` (Haar ``Q`` drawn on the host), spectrum in ``[mu, L]`` with ``L = 1``
and ``mu = 1/κ``.  Fixing ``L`` lets one batched run (:func:`numerics.batched_gradient_descent`)
cover every κ and every step size at once: the steps ``1/L``, ``1.5/L`` and ``2/(mu_j + L)`` for
every κ_j are all stable (``< 2/L``) on every instance, so every (instance, step) pair is a valid
comparison with the theorem evaluated at that instance's ``(mu, L, step)``.

Checks
------
``gd.contraction.worst_case``  (``gd.quadratic.contraction``, tight)
    Starts on the extreme eigenvectors (:meth:`Quadratic.worst_case_start`, ``"min"`` and
    ``"max"``); the empirical contraction ``(‖e_T‖/‖e_0‖)^{1/T}`` of the worse start must equal
    ``ρ = max(|1 − η mu|, |1 − η L|)``.  ``T`` is the horizon cut where ``‖e_t‖²/‖e_0‖²`` falls
    below ``sqrt(tiny)`` of the dtype (no underflow).  ``data["curves"]`` holds, for each κ and its
    three canonical steps, the simulated loss gap and the proven envelope ``gap_0 · ρ^{2t}``
    (down to ``CURVE_DEPTH · gap_0``, at most 151 log-spaced t)
    (each eigen-component of ``e_t`` shrinks by at most ``ρ`` per step, so the gap by ``ρ²``;
    equality on the binding eigenvector, which is the start plotted).
``gd.contraction.random``  (same theorem, compared as ``upper``)
    Random spectra in ``[mu, L]`` containing both endpoints, Haar ``Q``, Gaussian starts.
``gd.steps_to_tolerance``  (``gd.quadratic.steps_to_tolerance``, exact)
    First ``t`` with ``‖e_t‖ ≤ eps‖e_0‖`` counted on the simulated history
    (:func:`numerics.batched_steps_to_tolerance`), worse of the two extreme starts.
``gd.worst_case_value``  (``gd.quadratic.worst_case_value``, tight)
    Direct search of ``max f(x_n) − f*`` over spectra in ``[mu, L]`` and ``‖x_0 − x*‖ = 1``: a
    log grid of one-eigenvalue quadratics refined by zooming around the best point, plus random
    diagonal spectra with random unit starts, evaluated with :func:`numerics.gd_closed_form`.
``gd.worst_case_value.pepit``  (same theorem; registered only when PEPit is importable)
    PEPit's semidefinite worst case at n = 1..5, to the solver accuracy ``PEPIT_RTOL``.

Tolerances.  A contraction measured from ``T`` steps carries the error of ``H`` itself
(``fl(Q Λ Qᵀ)`` moves an eigenvalue by about ``d·u·L``, the contraction by ``η d u L``):
``max(rtol(dtype), accumulated_rtol(dtype, d, 1/ρ))``.  A step count ``x = ln eps/ln ρ`` moves
by at most ``accumulated_rtol(dtype, d, 1/(1−ρ))·x`` steps (:func:`_unambiguous_eps`): far
below one step in float64, so counts must match exactly (an ``eps`` whose count sits within
round-off of flipping is moved by ``ρ^{1/2}``); in float32 at κ ≥ 100 several steps are allowed
(the record's detail says how many).

Configurations of ``gd.worst_case_value``: ``(mu, L, step) = (1e-7, 1, 1)`` (interior maximiser
``1/(step(2n+1))`` for every n ≤ 10⁶: the ``O(1/n)`` curve of Figure 7), ``(0.1, 1, 1)`` (the
maximiser clips to mu from n = 5) and ``(0.05, 1, 1.5)`` (the endpoint L wins at small n).
"""

from __future__ import annotations

import importlib.util

from .._registry import Context, check
# the checks of these modules are registered in this order, before the PEPit check below
from ._background_contraction import (CONTRACTION, CURVE_DEPTH, L_SMOOTH, STEPS,  # noqa: F401
                                      check_contraction_random, check_contraction_worst_case,
                                      check_steps_to_tolerance, _contraction, _contraction_tol,
                                      _extreme_start_run, _kappas, _steps, _unambiguous_eps)
from ._background_records import _host, log_subsample, rows_record  # noqa: F401
from ._background_worst_value import (WORST, check_worst_case_value, _random_max,  # noqa: F401
                                      _search_max)

__all__ = ["rows_record", "log_subsample", "PEPIT_RTOL"]

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
                            data=dict(n=list(ns), pepit=pep, exact=exact))]
