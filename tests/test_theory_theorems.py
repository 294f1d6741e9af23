"""Each theorem: hand-computed values at rational points, derivations, independent NumPy checks.

The NumPy constructions here are written from the docs (docs/theory/), not from ``numerics``, so
that they stay independent of the kernels the validation layer compares against.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the editable install may predate theory/__init__.py
    sys.path.insert(0, str(ROOT))

from specdef import theory  # noqa: E402

HAND = [
    ("gd.quadratic.contraction", dict(mu=1, L=3, step=0.5), 0.5),
    ("gd.quadratic.contraction", dict(mu=1, L=4, step=0.25), 0.75),
    ("gd.quadratic.contraction", dict(mu=1, L=2, step=1.5), 2.0),
    ("gd.quadratic.steps_to_tolerance", dict(mu=1, L=2, step=0.5, eps=0.2), 3.0),
    ("gd.quadratic.steps_to_tolerance", dict(mu=2, L=2, step=0.5, eps=0.2), 1.0),
    ("gd.quadratic.worst_case_value", dict(mu=0.1, L=1, step=1, n=1), 2 / 27),
    ("gd.quadratic.worst_case_value", dict(mu=0.5, L=1, step=1, n=2), 1 / 64),
    ("gd.quadratic.worst_case_value", dict(mu=0.5, L=1, step=1.9, n=1), 0.405),
    ("gd.strongly_convex.linear_rate", dict(mu=1, L=4, t=2), 0.5625),
    ("gd.smooth_convex.sublinear", dict(L=2, t=4, R=3), 2.25),
    ("gd.smooth_convex.exact_worst_case", dict(L=2, t=4, R=3), 1.0),
    ("first_order.nesterov_lower_bound", dict(L=1, t=1, R=1, d=3), 3 / 128),
    ("newton.local_quadratic", dict(M=2, mu=0.5, r=0.5), 0.5),
    ("newton.affine_invariance", dict(alpha=1e4, kappa=1e3), 1.0),
    ("specdef.weight_spectrum", dict(sigma=2, alpha=10, j=1, k=1), 20.0),
    ("specdef.weight_spectrum", dict(sigma=2, alpha=10, j=2, k=1), 2.0),
    ("specdef.function_preservation", dict(alpha=1e4, u=2.0**-24, c=2), 2e4 * 2.0**-24),
    ("specdef.hessian.frozen_compensation", dict(lam_min=0.25, lam_max=2, alpha=10), 0.0025),
    ("specdef.gd_slowdown.frozen_compensation", dict(kappa=2, alpha=2, eps=0.5), 6.0),
    ("specdef.hessian.sigma1_growth", dict(alpha=10, sigma1_W=2, vSv=0.5), 200.0),
    ("hessian_bound.displayed", dict(sA=1, sB1=2, sB2=1, sC=1, cos1=0.6, cos2=0.6), 0.72),
    ("hessian_bound.corrected", dict(sA=1, sB1=2, sB2=1, sC=1, cos1=0.6, cos2=0.6), 0.08),
    ("attack.additive_injection.recovery", dict(n_protected=3, n_total=4), 0.75),
    ("attack.bypass.rate", dict(kappa_z=4, eps=0.5), 3.0),
    ("attack.bypass.rate", dict(kappa_z=1, eps=0.5), 1.0),
    ("attack.fusion", dict(n_compensation=1, n_original=3), -0.25),
    ("precision.absorbed_update", dict(p=8, e=0), 2.0**-8),
    ("precision.stall_threshold.gd", dict(alpha=2, u=0.25, ratio=3, f=1.5), 2.0),
    ("precision.stall_threshold.adam", dict(alpha=2, u=0.25, E=0, g=0.5, eps=0.25), 0.5),
    ("precision.gd_window.closing_alpha", dict(u=0.5, ratio=1, s=4), 1.0),
    ("precision.gd_window.stable_rate_below", dict(s=2, level=0.25), 2.0),
    ("precision.paper_claim.bfloat16", dict(s=1, ratio=1, alpha=1e6), 2.0**63.5),
    ("precision.paper_claim.float16", dict(s=1, ratio=1, alpha=1e6), 2.0**7.5),
    ("precision.paper_claim.float8_e4m3fn", dict(s=1, ratio=1, alpha=1e6), 2.0**3.5),
    ("precision.paper_claim.float8_e5m2", dict(s=1, ratio=1, alpha=1e6), 2.0**7.5),
    ("precision.paper_claim.float32", dict(s=1, ratio=1, alpha=1e6), 2.0**63.5),
    ("precision.stall_scaling.gd", dict(alpha=4, eta1=0.5), 8.0),
    ("precision.stall_scaling.sgd_momentum", dict(alpha=2, eta1=3), 12.0),
    ("precision.stall_scaling.adam", dict(alpha=8, eta1=0.25), 2.0),
    ("precision.stall_scaling.muon", dict(alpha=16, eta1=1), 16.0),
    ("precision.stall_scaling.sophia", dict(alpha=4, eta1=3), 12.0),
    ("precision.stall_scaling.sophia_unclipped", dict(alpha=1024, eta1=0.3), 0.3),
    ("precision.stall_scaling.adahessian", dict(alpha=64, eta1=7), 7.0),
]


@pytest.mark.parametrize("theorem_id, params, expected", HAND)
def test_evaluate_at_rational_points(theorem_id, params, expected):
    th = theory.get(theorem_id)
    assert th.evaluate(**params) == pytest.approx(expected, rel=1e-13, abs=1e-15)


def test_every_theorem_has_a_hand_computed_value():
    assert {h[0] for h in HAND} == set(theory.ids())


# ----------------------------------------------------------------------------- GD on quadratics
def test_contraction_derivations():
    d = theory.get("gd.quadratic.contraction").derived
    mu, L, kappa = sp.symbols("mu L kappa", positive=True)
    assert sp.simplify(d["optimal_step"] - 2 / (mu + L)) == 0
    assert sp.simplify(d["optimal_rate_kappa"] - (kappa - 1) / (kappa + 1)) == 0
    assert sp.simplify(d["stability_limit"] - 2 / L) == 0
    th = theory.get("gd.quadratic.contraction")
    assert th.evaluate(mu=1, L=9, step=0.2) == pytest.approx(0.8, rel=1e-14)  # (κ−1)/(κ+1)


@given(st.floats(0.01, 1), st.floats(1, 100), st.floats(1e-3, 2.5))
def test_contraction_equals_max_over_a_lambda_grid(mu, L, step):
    lam = np.linspace(mu, L, 2001)
    brute = np.max(np.abs(1 - step * lam))
    assert theory.get("gd.quadratic.contraction").evaluate(mu=mu, L=L, step=step) == \
        pytest.approx(brute, rel=1e-12)


@given(st.floats(0.05, 1), st.floats(1, 20), st.floats(0.05, 0.95), st.floats(1e-6, 0.5))
def test_steps_to_tolerance_matches_gradient_descent(mu, L, frac, eps):
    step = frac * 2 / L
    rho = max(abs(1 - step * mu), abs(1 - step * L))
    t, err = 0, 1.0  # worst case: e_0 on the eigenvector realising rho
    while err > eps:
        err *= rho
        t += 1
    value = theory.get("gd.quadratic.steps_to_tolerance").evaluate(mu=mu, L=L, step=step, eps=eps)
    x = math.log(eps) / math.log(rho)
    on_boundary = abs(x - round(x)) < 1e-9  # rho^t == eps up to rounding: either count is right
    assert value == t or (on_boundary and abs(value - t) == 1)


def test_steps_to_tolerance_is_attained_by_gd_iterates():
    mu, L, step, eps = 0.5, 4.0, 0.3, 1e-3
    H = np.diag(np.linspace(mu, L, 7))
    e = np.zeros(7)
    e[0] = 1.0  # |1 - 0.3*0.5| = 0.85 > |1 - 0.3*4| = 0.2: the bottom eigenvector is worst
    t = 0
    while np.linalg.norm(e) > eps:
        e = e - step * H @ e
        t += 1
    th = theory.get("gd.quadratic.steps_to_tolerance")
    assert th.evaluate(mu=mu, L=L, step=step, eps=eps) == t


# ----------------------------------------------------------------------------- rates
def test_nesterov_chain_quadratic_matches_derivation():
    th = theory.get("first_order.nesterov_lower_bound")
    chain = th.derived["chain_value"]
    Ls, ts, Rs = (th.symbols[k] for k in ("L", "t", "R"))
    for t in (1, 2, 5):
        k, L, R = 2 * t + 1, 2.0, 1.5
        A = (L / 4) * (2 * np.eye(k) - np.eye(k, k=1) - np.eye(k, k=-1))
        b = np.zeros(k)
        b[0] = L / 4
        x_star = np.linalg.solve(A, b)
        assert np.allclose(x_star, 1 - np.arange(1, k + 1) / (k + 1))
        f = lambda x: 0.5 * x @ A @ x - b @ x  # noqa: E731
        x_t = np.zeros(k)
        x_t[:t] = np.linalg.solve(A[:t, :t], b[:t])  # best point of span(e_1..e_t)
        gap = (R**2 / (x_star @ x_star)) * (f(x_t) - f(x_star))
        exact = float(chain.subs({Ls: L, ts: t, Rs: R}))
        assert gap == pytest.approx(exact, rel=1e-12)
        assert gap >= th.evaluate(L=L, t=t, R=R, d=k)
        x = np.zeros(k)  # gradient descent stays in the Krylov span
        for _ in range(t):
            x = x - (A @ x - b) / L
        assert np.all(x[t:] == 0) and (R**2 / (x_star @ x_star)) * (f(x) - f(x_star)) >= gap


def test_newton_local_rate_attained_in_one_dimension():
    M, mu, r = 3.0, 0.5, 0.2
    g = mu * r + M * r**2 / 2  # L'(x*+r) with curvature mu + M (r - s)
    newton_error = abs(r - g / mu)
    assert newton_error == pytest.approx(theory.get("newton.local_quadratic").evaluate(
        M=M, mu=mu, r=r), rel=1e-14)


def test_newton_commutes_with_invertible_reparameterisation(rng):
    n = 5
    G = rng.standard_normal((n, n))
    H, b = G @ G.T + 0.1 * np.eye(n), rng.standard_normal(n)
    P = rng.standard_normal((n, n)) + 3 * np.eye(n)
    theta = rng.standard_normal(n)
    theta_next = theta - np.linalg.solve(H, H @ theta - b)
    phi = np.linalg.solve(P, theta)
    phi_next = phi - np.linalg.solve(P.T @ H @ P, P.T @ (H @ theta - b))
    assert np.allclose(P @ phi_next, theta_next) and np.allclose(H @ theta_next, b)


# ----------------------------------------------------------------------------- SpecDef
def _specdef(W, alpha, k):
    U, s, Vt = np.linalg.svd(W, full_matrices=True)
    t = np.ones(W.shape[0])
    t[:k] = alpha
    Sigma = np.zeros_like(W)
    Sigma[: len(s), : len(s)] = np.diag(s)
    return U @ np.diag(t) @ Sigma @ Vt, U @ np.diag(1 / t) @ U.T


def test_weight_spectrum_and_compensation_numerically(rng):
    W = rng.standard_normal((5, 4))
    alpha, k = 7.0, 2
    Wt, C = _specdef(W, alpha, k)
    th = theory.get("specdef.weight_spectrum")
    s, st_ = np.linalg.svd(W, compute_uv=False), np.linalg.svd(Wt, compute_uv=False)
    for j in range(1, 5):
        assert st_[j - 1] == pytest.approx(th.evaluate(sigma=s[j - 1], alpha=alpha, j=j, k=k))
    assert np.allclose(C @ Wt, W)
    assert np.allclose(np.sort(np.linalg.eigvalsh(C)), [1 / alpha] * 2 + [1.0] * 3)


def test_frozen_compensation_hessian_spectrum(rng):
    d, m, alpha = 3, 4, 5.0
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.array([0.3, 1.1, 2.5])
    Sx = Q @ np.diag(lam) @ Q.T
    _, C = _specdef(rng.standard_normal((m, d)), alpha, 2)
    H = np.kron(Sx, C.T @ C)
    ev = np.linalg.eigvalsh(H)
    th = theory.get("specdef.hessian.frozen_compensation")
    assert ev[0] == pytest.approx(th.evaluate(lam_min=0.3, lam_max=2.5, alpha=alpha), rel=1e-10)
    assert ev[-1] == pytest.approx(2.5, rel=1e-12)
    assert np.allclose(np.sort(ev), np.sort(np.outer(lam, [alpha**-2] * 2 + [1.0] * 2).ravel()))


def test_slowdown_limit_and_finite_kappa_behaviour():
    th = theory.get("specdef.gd_slowdown.frozen_compensation")
    alpha = sp.Symbol("alpha", positive=True)
    assert th.derived["limit_kappa_to_infinity"] == alpha**2
    ratio = sp.lambdify(sp.symbols("kappa alpha", positive=True), th.derived["continuous_ratio"])
    for kappa in (1.5, 10.0, 1e3, 1e6):
        for a in (1.0, 3.0, 30.0):
            assert ratio(kappa, a) >= a**2 * (1 - 1e-12)
    assert ratio(1e9, 3.0) == pytest.approx(9.0, rel=1e-6)


def test_slowdown_matches_simulated_gradient_descent():
    kappa, alpha, eps = 4.0, 3.0, 1e-2

    def steps(kap):
        lam = np.array([1.0 / kap, 1.0])  # step 1/lam_max = 1; worst e_0 on the bottom
        e, t = np.array([1.0, 0.0]), 0
        while np.linalg.norm(e) > eps:
            e, t = e - lam * e, t + 1
        return t

    th = theory.get("specdef.gd_slowdown.frozen_compensation")
    expected = steps(kappa * alpha**2) / steps(kappa)
    assert th.evaluate(kappa=kappa, alpha=alpha, eps=eps) == pytest.approx(expected, rel=1e-14)


def test_sigma1_growth_lower_bound_on_random_instances(rng):
    th = theory.get("specdef.hessian.sigma1_growth")
    for _ in range(20):
        W = rng.standard_normal((4, 3))
        G = rng.standard_normal((3, 3))
        Sx = G @ G.T / 3 + 0.01 * np.eye(3)
        alpha = 10.0 ** rng.uniform(0, 3)
        Wt, _ = _specdef(W, alpha, 1)
        _, s, Vt = np.linalg.svd(W)
        bound = th.evaluate(alpha=alpha, sigma1_W=s[0], vSv=Vt[0] @ Sx @ Vt[0])
        assert np.linalg.eigvalsh(Wt @ Sx @ Wt.T)[-1] >= bound * (1 - 1e-10)
    assert sp.simplify(th.derived["step_ceiling"] * th.bound - 2) == 0


# ----------------------------------------------------------------------------- Theorem 3
def _scalars(A, B, C, r1, r2):
    _, sa, vat = np.linalg.svd(A)
    ub, sb, vbt = np.linalg.svd(B)
    uc, sc, _ = np.linalg.svd(C)
    cos1 = np.linalg.norm(vat[:r1] @ ub[:, 0])
    cos2 = np.linalg.norm(uc[:, :r2].T @ vbt[0])
    return dict(sA=sa[r1 - 1], sB1=sb[0], sB2=sb[1], sC=sc[r2 - 1], cos1=min(cos1, 1.0),
                cos2=min(cos2, 1.0)), np.linalg.svd(A @ B @ C, compute_uv=False)[0]


def test_displayed_refuted_by_an_exact_instance_rechecked_in_numpy():
    th = theory.get("hessian_bound.displayed")
    v = th.prove()
    assert v.status == "refuted" and th.expectation == "refuted"
    cex = v.counterexample
    mat = {n: np.array([[cex[f"{n}[{i},{j}]"] for j in range(2)] for i in range(2)])
           for n in "ABC"}
    scal, top = _scalars(mat["A"], mat["B"], mat["C"], int(cex["r1"]), int(cex["r2"]))
    assert th.evaluate(**scal) > top * 1.5
    assert theory.get("hessian_bound.corrected").evaluate(**scal) <= top * (1 + 1e-12)
    assert th.violation(cex) > 0.5


def test_corrected_holds_on_random_rank_deficient_triples(rng):
    th = theory.get("hessian_bound.corrected")
    for i in range(200):
        A = rng.standard_normal((3, 1)) @ rng.standard_normal((1, 3)) if i % 2 else \
            rng.standard_normal((3, 3))
        B, C = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
        for r1 in range(1, 2 if i % 2 else 4):
            for r2 in (1, 2, 3):
                scal, top = _scalars(A, B, C, r1, r2)
                assert th.evaluate(**scal) <= top * (1 + 1e-9) + 1e-12


def test_corrected_verdict_is_honest():
    v = theory.get("hessian_bound.corrected").prove()
    assert v.status == "unproven"
    assert "sympy proved: bound <= displayed" in v.detail and "numerically verified" in v.detail
    assert "specdef check" in v.detail


# ----------------------------------------------------------------------------- attacks
def test_additive_injection_reproduces_undefended_outputs(rng):
    W, X = rng.standard_normal((4, 3)), rng.standard_normal((3, 10))
    Wt, C = _specdef(W, 1e3, 2)
    D = rng.standard_normal((4, 3))
    assert np.allclose(C @ (Wt @ X) + D @ X, (W + D) @ X, atol=1e-9)
    th = theory.get("attack.additive_injection.recovery")
    assert th.derived["steps_ratio"] == 1 and th.evaluate(n_protected=12, n_total=12) == 1.0


def test_bypass_hessian_is_alpha_free_and_rate_matches_gd(rng):
    th = theory.get("attack.bypass.rate")
    assert th.derived["d_steps_d_alpha"] == 0
    lam = np.array([0.25, 1.0])  # kappa_z = 4, step 1/lam_max
    e, t = np.array([1.0, 0.0]), 0
    while np.linalg.norm(e) > 1e-3:
        e, t = e - lam * e, t + 1
    assert th.evaluate(kappa_z=4.0, eps=1e-3) == t


def test_fusion_recovers_the_original_weight(rng):
    W = rng.standard_normal((3, 5))
    Wt, C = _specdef(W, 1e4, 1)
    assert np.allclose(C @ Wt, W, atol=1e-8)
    m = 3
    th = theory.get("attack.fusion")
    assert th.evaluate(n_compensation=m * m, n_original=W.size) == pytest.approx(-9 / 24)


def test_random_matrix_search_also_refutes_the_displayed_form():
    from specdef.theory._hessian_bound import _random_search

    th = theory.get("hessian_bound.displayed")
    v = _random_search(th)
    assert v.status == "refuted" and v.method == "mpmath random matrices"
    cex = v.counterexample
    shapes = {n: (1 + max(int(k[2:-1].split(",")[0]) for k in cex if k.startswith(n + "[")),
                  1 + max(int(k[2:-1].split(",")[1]) for k in cex if k.startswith(n + "[")))
              for n in "ABC"}
    mat = {n: np.array([[cex[f"{n}[{i},{j}]"] for j in range(c)] for i in range(r)])
           for n, (r, c) in shapes.items()}
    scal, top = _scalars(mat["A"], mat["B"], mat["C"], int(cex["r1"]), int(cex["r2"]))
    assert th.evaluate(**scal) > top * (1 + 1e-9)
    assert theory.get("hessian_bound.corrected").evaluate(**scal) <= top * (1 + 1e-9)
