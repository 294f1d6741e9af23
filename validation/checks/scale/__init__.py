"""Two theorems at the sizes the GPU path is for (``--size large``; docs/theory/background.rst, B1,
docs/theory/hessian.rst).

Checks
------
``scale.joint_spectrum``  (``specdef.hessian.sigma1_growth``, lower)
    Both factors trained, zero residual, ``m = d`` (``2d²`` Hessian rows), ``d`` = 64 / 1024 /
    8192 (small / paper / large).  σ_1(H) and λ_min⁺ from
    :func:`numerics.joint_extremes_zero_residual` (QR + Lanczos on triangular factors at every
    size, never the Hessian) on a *planted* layer: ``W = U diag(s) Vᵀ`` and ``Σ_x = V diag(x²) Vᵀ`` share V (U,
    V products of two Householder reflections, O(d²) to build), so every eigenvalue is
    ``x_i²(c + s̃_i²)``, ``c ∈ {α⁻², 1}``.  Rows: σ_1(H) against ``α²σ_1(W)²·v_1ᵀΣ_xv_1`` for
    α = 10 … 10⁴; with ``s_1 = x_1 = max`` the bound is attained up to the factor
    ``1 + 1/(α²s_1²)``, so a bound raised by 1 % is caught.  Both ends must also match the closed
    form (relative ``64·d·u·√κ``), else the record is an ERROR: the solver is then not a
    measurement of σ_1.
``scale.batched_gd``  (``gd.quadratic.worst_case_value``, tight)
    ``B`` = 512 / 4096 / 10⁴ quadratics (``d`` = 8 / 16 / 32) with spectra in ``[mu, L]`` and
    unit starts, run together by :func:`numerics.batched_gradient_descent` (step ``1/L``).  For
    each recorded ``n`` the largest simulated ``f(x_n) − f*`` is compared with
    ``max_{λ∈[mu, L]} (λ/2)(1 − λ/L)^{2n}``; one planted problem per ``n`` has the maximising
    eigenvalue ``clip(L/(2n+1), mu, L)`` and starts on its eigenvector (the supremum is attained),
    the others are random.  Tolerance ``4·n·d·eps``.

The planted instances are built in :mod:`.instances`; the checks are registered in
:mod:`.spectrum` and :mod:`.batched_gd`, in the order above.
"""

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 70

# the order of these imports is the order in which the checks are registered (and listed)
from .spectrum import check_joint_spectrum  # noqa: E402,F401
from .batched_gd import check_batched_gd  # noqa: E402,F401

__all__: list[str] = []
