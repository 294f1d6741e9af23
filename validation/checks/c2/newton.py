"""Exact second-order methods (docs/theory/background.rst, B4): Newton's local rate and affine
invariance.

Models (numerics' model protocol: ``n_params``, ``loss``, ``grad``, ``hvp``, ``hessian``,
``loss_star``, ``theta_star``; ``xp`` ops only, so every backend runs them)
------
:class:`LogCoshModel`  ``f(x) = ½ eᵀAe + β Σ_i ψ(q_iᵀe)``, ``e = x − x*``, Q orthogonal,
    ``ψ(δ) = log cosh(δ + z₀) − log cosh z₀ − tanh(z₀)·δ`` (so ``∇f(x*) = 0``, ``f* = 0``).
    ``∇²f(x) = A + β Q diag(sech²(Qᵀe + z₀)) Qᵀ ⪰ A``, so ``mu = λ_min(A)``.  Hessian
    Lipschitz constant: ``‖∇²f(x) − ∇²f(y)‖₂ = β max_i |sech²(u_i) − sech²(v_i)| ≤
    β·sup|(sech²)'|·‖Qᵀ(x − y)‖_∞ ≤ M‖x − y‖`` with ``(sech²)' = −2 sech² tanh``, whose modulus
    ``2s(1 − s²)`` (``s = tanh``) peaks at ``s = 1/√3``: ``M = 4β/(3√3)``.  Choosing
    ``z₀ = artanh(1/√3)`` puts x* exactly where the third derivative is extreme, so Newton's
    error ``e⁺ ≈ (M/2)·e²/(a + 2β/3)`` along ``q_1`` (A aligned with Q, ``A q_1 = a q_1``,
    ``a = mu``) and ``e⁺/bound → 1/(1 + 2β/(3a))``: 0.9993 at ``β/a = 10⁻³``.  The
    ``(sech²)''(z₀) = 0`` at that point makes the approach second order in e.
    Differences are formed without cancellation (``tanh(z₀+δ) − tanh z₀ = sinh δ/(cosh(z₀+δ)
    cosh z₀)``, ``ψ = log1p(2sinh²(δ/2) + tanh z₀ sinh δ) − tanh z₀ δ``) and ``x* = 0``, so
    errors far below ``u`` stay resolvable.
:class:`SquaresModel`  ``r(θ) = B e + (γ/2)(C e)²`` (elementwise square), zero residual at θ*,
    ``J = B + γ diag(Ce) C`` of full column rank (Gauss–Newton is then affine invariant too).
:class:`Reparameterised`  ``φ ↦ model(Pφ)``: gradient ``Pᵀg``, Hessian ``PᵀHP``, Jacobian ``JP``.

Checks
------
``newton.local_quadratic`` (upper): ``‖e_{t+1}‖ ≤ M‖e_t‖²/(2mu)`` at every Newton step
    (:func:`numerics.newton`, one call per step: Newton is memoryless) that round-off can
    resolve: a step's error is ``≲ accumulated_rtol(dtype, p, κ(H))·‖e_t‖``, and only steps
    where that is below ``rtol(dtype)·‖e_{t+1}‖`` are compared, with that allowance added.
``newton.affine_invariance`` (exact, = 1): step counts of Newton and Gauss–Newton on a model
    and on ``φ ↦ L(Pφ)`` (P random well-/ill-conditioned, and SpecDef's ``I ⊗ C`` on a linear
    regression), ratio ``T(reparameterised)/T(original)``; the trajectories must satisfy
    ``‖Pφ_t − θ_t‖ ≤ accumulated_rtol(dtype, T, κ_solve)·max(‖θ_0 − θ*‖, ‖θ*‖)``, else the
    record is VIOLATED; ``κ_solve`` is the condition of what the reparameterised run inverts at
    θ*: ``κ(PᵀHP) ≈ κ(P)²κ(H)`` for Newton (it forms the Hessian), ``κ(JP)`` for Gauss–Newton
    (SVD of the Jacobian).  A tolerance in ``κ(P)`` alone is too tight for Newton: measured
    deviations reach ``eps·κ(P)²`` (4e-9 at κ(P) = 10⁴, float64).  Stopping rule: relative
    loss gap ``rtol(dtype)`` (the loss gap is invariant; Newton's quadratic convergence jumps
    over it by orders of magnitude, so round-off cannot move the count).  In float32 the conditioning of P is capped so that
    ``κ(P)²κ(H)·eps ≤ 10⁻²`` (the reparameterised Hessian must stay resolvable), and said so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.records import Status
from ...engine.registry import Context, check
from ...engine.tolerance import accumulated_rtol, eps_of, rtol as dtype_rtol
from ..common import host as _h, rows_record
from .models import Z0, LogCoshModel, Reparameterised, SquaresModel, _logcosh, _orthogonal

__all__ = ["LogCoshModel", "SquaresModel", "Reparameterised"]

LOCAL = "newton.local_quadratic"
AFFINE = "newton.affine_invariance"


# ------------------------------------------------------------------------ local quadratic rate
@check("newton.local_quadratic", LOCAL,
       "Newton on a strongly convex log-cosh model: ‖e_{t+1}‖ <= M‖e_t‖²/(2mu) at every step")
def check_local_quadratic(ctx: Context) -> list:
    """Upper; tight instance: A aligned with Q, β/a = 1e-3, start 0.02·q_1 (ratio 0.999)."""
    from specdef.numerics import newton

    rng = ctx.rng("newton.local_quadratic")
    d = ctx.pick(small=6, paper=24, large=128)
    spec = np.concatenate([[1.0], np.geomspace(1.5, 4.0, d - 1)])
    cases = [("aligned.beta=1e-3", 1e-3, True, 0.02, "q1"),
             ("aligned.beta=1", 1.0, True, 0.3, "q1"),
             ("random.beta=0.5", 0.5, False, 0.5, "random"),
             ("random.beta=2.far", 2.0, False, 3.0, "random")]
    base = dtype_rtol(ctx.dtype)
    rows, series, skipped = [], [], 0
    for name, beta, aligned, r0, start in cases:
        model = _logcosh(ctx, rng, d, spec, beta, aligned)
        u = _h(model.Q)[:, 0] if start == "q1" else rng.standard_normal(d)
        theta = ctx.asarray(r0 * u / np.linalg.norm(u))
        mu, M = float(spec.min()), model.M
        r = float(np.linalg.norm(_h(theta)))
        rs = [r]
        for _ in range(ctx.pick(small=8, paper=10, large=12)):
            kappa = float(np.linalg.cond(_h(model.hessian(theta))))
            res = newton(model, theta, max_steps=1, tol=1e-300)
            if res.steps != 1:
                break
            theta = res.theta
            r_next = float(np.linalg.norm(_h(theta)))
            allow = accumulated_rtol(ctx.dtype, d, kappa) * r / max(r_next, 1e-300)
            if allow > base:  # round-off would swamp e_{t+1}: out of the resolvable regime
                skipped += 1
                break
            rows.append(dict(emp=r_next, prv=ctx.proven(LOCAL, M=M, mu=mu, r=r), tol=base + allow,
                             params=dict(instance=name, step=len(rs), beta=beta, M=M, mu=mu,
                                         r=r)))
            rs.append(r_next)
            r = r_next
        series.append(dict(instance=name, beta=beta, M=M, mu=mu, r=rs,
                           bound=[ctx.proven(LOCAL, M=M, mu=mu, r=x) for x in rs[:-1]]))
    if not rows:
        return [ctx.result("newton.local_quadratic", LOCAL, dict(d=d), None, None,
                           status=Status.ERROR, detail="premise failed numerically: no Newton "
                           f"step was resolvable above round-off in {ctx.dtype}")]
    return [rows_record(ctx, "newton.local_quadratic", LOCAL, rows, kind="upper",
                        params=dict(d=d, z0=Z0),
                        detail=f"‖e_(t+1)‖ vs M‖e_t‖²/(2mu) over {len(rows)} resolvable Newton "
                               f"steps of {len(cases)} log-cosh instances",
                        data=dict(series=series, n_unresolvable_stops=skipped)).declare(
        "simulation: numerics.newton on log-cosh models", f"closed form: {LOCAL}")]


# ------------------------------------------------------------------------- affine invariance
def _matrix_with_cond(rng: np.random.Generator, d: int, cond: float) -> np.ndarray:
    return (_orthogonal(rng, d) * np.geomspace(1.0, cond, d)) @ _orthogonal(rng, d).T


def _floor_125(x: float) -> float:
    """Largest 1, 2 or 5 times a power of ten that is ``<= x``."""
    p = 10.0 ** math.floor(math.log10(x))
    return max(m * p for m in (1, 2, 5) if m * p <= x)


def _trajectory(method: Any, model: Any, theta0: Any, n: int) -> list:
    thetas = [theta0]
    for _ in range(n):
        res = method(model, thetas[-1], max_steps=1, tol=1e-300)
        thetas.append(res.theta)
    return thetas


def _affine_models(ctx: Context, rng: np.random.Generator) -> list[tuple]:
    """``(name, model, shape)``: quadratic (κ = 100), log-cosh, squares, linear regression.

    ``shape`` is ``(outputs, features)`` for the regression (its θ is ``vec W``), else ``d``.
    """
    from specdef.numerics import LinearRegression, Quadratic

    d = ctx.pick(small=6, paper=16, large=64)
    quad = Quadratic.from_spectrum(np.geomspace(1.0, 100.0, d), rng=rng, backend=ctx.backend,
                                   dtype=ctx.dtype)
    logc = _logcosh(ctx, rng, d, np.geomspace(1.0, 10.0, d), 1.0, aligned=False)
    m = 2 * d
    ts = rng.standard_normal(d)
    sq = SquaresModel(ctx.asarray(rng.standard_normal((m, d)) / math.sqrt(m)),
                      ctx.asarray(rng.standard_normal((m, d)) / math.sqrt(m)), 0.5,
                      ctx.asarray(ts), ctx.xp)
    fd, out, n = max(d // 2, 2), 3, 4 * d
    U, V = _orthogonal(rng, fd), np.linalg.qr(rng.standard_normal((n, fd)))[0]
    X = (U * np.sqrt(n * np.geomspace(1.0, 10.0, fd))) @ V.T
    Y = rng.standard_normal((out, fd)) @ X + 0.1 * rng.standard_normal((out, n))
    reg = LinearRegression(ctx.asarray(X), ctx.asarray(Y))
    return [("quadratic", quad, d), ("logcosh", logc, d), ("squares", sq, d),
            ("linear_regression", reg, (out, fd))]


@check("newton.affine_invariance", AFFINE,
       "Newton / Gauss-Newton on L and on φ ↦ L(Pφ): same step counts, iterates Pφ_t = θ_t")
def check_affine_invariance(ctx: Context) -> list:
    """Exact: one record per (method, model, P)."""
    from specdef.numerics import gauss_newton, newton

    rng = ctx.rng("newton.affine_invariance")
    cap = _floor_125(min(1e4, 0.1 / math.sqrt(eps_of(ctx.dtype) * 100.0)))  # κ(P)²κ(H)eps ≤ 1e-2
    note = "" if cap >= 1e4 else f"; κ(P) capped at {cap:g} in {ctx.dtype}"
    tol_stop, out = dtype_rtol(ctx.dtype), []
    for name, model, shape in _affine_models(ctx, rng):
        H_star = _h(model.hessian(model.theta_star))
        kappa_h = float(np.linalg.cond(H_star))
        p = model.n_params
        if name == "linear_regression":
            mo, fd = shape
            alpha = min(1e3, cap)
            Wt, C = (_h(a) for a in ctx.defence(rng.standard_normal((mo, fd)), alpha, 1))
            Ps = [(f"{ctx.defence_name}(I⊗C) alpha={alpha:g}", np.kron(np.eye(fd), C), alpha,
                   Wt.reshape(-1, order="F"))]
        else:
            Ps = [(f"random cond={c:g}", _matrix_with_cond(rng, p, c), c, None)
                  for c in (10.0, cap)]
        for pname, P, condP, phi0 in Ps:
            Pb = ctx.asarray(P)
            if phi0 is None:
                phi0 = np.linalg.solve(P, _h(model.theta_star) + 0.5 * rng.standard_normal(p))
            phi0 = ctx.asarray(phi0)
            theta0 = Pb @ phi0  # the very point the reparameterised model evaluates first
            rep = Reparameterised(model, Pb)
            methods = [("newton", newton)] + (
                [("gauss_newton", gauss_newton)] if hasattr(model, "jacobian") else [])
            for mname, method in methods:
                a = method(model, theta0, max_steps=50, tol=tol_stop)
                b = method(rep, phi0, max_steps=50, tol=tol_stop)
                params = dict(method=mname, model=name, P=pname, cond_P=condP, kappa_H=kappa_h,
                              steps_original=a.steps, steps_reparameterised=b.steps)
                prv = ctx.proven(AFFINE, alpha=condP, kappa=max(kappa_h, 1.0))
                if not a.converged:
                    out.append(ctx.result("newton.affine_invariance", AFFINE, params, None, prv,
                                          status=Status.ERROR, detail=f"premise failed: {mname} "
                                          f"did not converge on {name} ({a.message})"))
                    continue
                emp = (b.steps if b.converged else 50 + 1) / max(a.steps, 1)
                th = _trajectory(method, model, theta0, a.steps)
                ph = _trajectory(method, rep, phi0, a.steps)
                scale = max(float(np.linalg.norm(_h(theta0 - model.theta_star))),
                            float(np.linalg.norm(_h(model.theta_star))))
                dev = [float(np.linalg.norm(_h(Pb @ f - t))) / scale for f, t in zip(ph, th)]
                # the reparameterised run solves with PᵀHP (Newton) or the SVD of JP (GN)
                Pst = _h(Pb)
                kappa_solve = float(np.linalg.cond(
                    Pst.T @ H_star @ Pst if mname == "newton" else
                    _h(model.jacobian(model.theta_star)) @ Pst))
                tol_traj = accumulated_rtol(ctx.dtype, max(a.steps, 1), kappa_solve)
                r = ctx.result("newton.affine_invariance", AFFINE, params, emp, prv,
                               rtol=dtype_rtol(ctx.dtype),
                               detail=f"{mname} steps {b.steps}/{a.steps} on {name} with P "
                                      f"{pname}; max ‖Pφ_t−θ_t‖/scale {max(dev):.2g} "
                                      f"(tol {tol_traj:.2g}){note}",
                               data=dict(t=list(range(len(dev))), deviation=dev,
                                         tol_trajectory=tol_traj, kappa_solve=kappa_solve,
                                         loss_original=a.loss.tolist(),
                                         loss_reparameterised=b.loss.tolist()))
                if max(dev) > tol_traj and r.status != Status.ERROR:
                    r.status = Status.VIOLATED
                out.append(r.declare(f"simulation: numerics.{mname} on the model and its "
                                     "reparameterisation (step ratio)", f"closed form: {AFFINE}"))
    return out
