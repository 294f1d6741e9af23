"""Background (docs/theory/background.rst, B1–B3): first-order methods on quadratics and beyond.

Gradient descent on quadratics (B1): contraction, step counts, worst-case value
(:mod:`.contraction`, :mod:`.worst_value`, the PEPit cross-check :mod:`.pepit`); rates beyond
the exact quadratic analysis (B2–B3): :mod:`.first_order`.

Every instance is ``L(w) = ½ (w − w*)ᵀ H (w − w*)`` with ``H = Q diag(λ) Qᵀ`` built by
:class:`numerics.Quadratic` (Haar ``Q`` drawn on the host), spectrum in ``[mu, L]`` with ``L = 1``
and ``mu = 1/κ``.  Fixing ``L`` lets one batched run (:func:`numerics.batched_gradient_descent`)
cover every κ and every step size at once: the steps ``1/L``, ``1.5/L`` and ``2/(mu_j + L)`` for
every κ_j are all stable (``< 2/L``) on every instance, so every (instance, step) pair is a valid
comparison with the theorem evaluated at that instance's ``(mu, L, step)``.

Checks (in this order)
----------------------
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
``gd.strongly_convex``, ``gd.smooth_convex``, ``first_order.nesterov_lower_bound``
    Linear and sublinear rates of GD with step ``1/L``, and Nesterov's lower bound on the chain
    quadratic: described in :mod:`.first_order`.

Tolerances.  A contraction measured from ``T`` steps carries the error of ``H`` itself
(``fl(Q Λ Qᵀ)`` moves an eigenvalue by about ``d·u·L``, the contraction by ``η d u L``):
``max(rtol(dtype), accumulated_rtol(dtype, d, 1/ρ))``.  A step count ``x = ln eps/ln ρ`` moves
by at most ``accumulated_rtol(dtype, d, 1/(1−ρ))·x`` steps (:func:`.contraction._unambiguous_eps`):
far below one step in float64, so counts must match exactly (an ``eps`` whose count sits within
round-off of flipping is moved by ``ρ^{1/2}``); in float32 at κ ≥ 100 several steps are allowed (the
record's detail says how many).

Configurations of ``gd.worst_case_value``: ``(mu, L, step) = (1e-7, 1, 1)`` (interior maximiser
``1/(step(2n+1))`` for every n ≤ 10⁶: the ``O(1/n)`` curve of Figure 7), ``(0.1, 1, 1)`` (the
maximiser clips to mu from n = 5) and ``(0.05, 1, 1.5)`` (the endpoint L wins at small n).
"""

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 20

# the order of these imports is the order in which the checks are registered (and listed)
from .contraction import (check_contraction_random, check_contraction_worst_case,  # noqa: E402,F401
                          check_steps_to_tolerance)
from .worst_value import check_worst_case_value  # noqa: E402,F401
from .pepit import PEPIT_RTOL, pepit_worst_case  # noqa: E402,F401
from .first_order import Huber, chain_quadratic, krylov_best_gap  # noqa: E402,F401

__all__ = ["PEPIT_RTOL", "pepit_worst_case", "Huber", "chain_quadratic", "krylov_best_gap"]
