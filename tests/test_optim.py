"""Optimisers: GD against its closed form, exact step counts, batched runs, second-order methods.

The models here are tiny self-contained implementations of the model protocol so that these tests
do not depend on ``numerics._models``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from specdef.numerics import (
    InputError,
    batched_gradient_descent,
    batched_steps_to_tolerance,
    best_step_sweep,
    damped_newton,
    gauss_newton,
    gd_closed_form,
    gradient_descent,
    levenberg_marquardt,
    newton,
    newton_cg,
    steps_to_tolerance,
    steps_to_tolerance_quadratic,
    to_host,
)
from specdef.numerics._backend import get_namespace


# ----------------------------------------------------------------------------- test models

class QuadraticModel:
    """``L(w) = ½ (w − w*)ᵀ H (w − w*)``, also least squares with ``r = H^{1/2}(w − w*)``."""

    def __init__(self, xp, H, w_star):
        self.xp = xp
        self.H = xp.asarray(np.asarray(H, dtype=np.float64))
        self.w_star = xp.asarray(np.asarray(w_star, dtype=np.float64))
        self._H_host = np.asarray(H, dtype=np.float64)
        self._R = None
        self.n_params = int(self.H.shape[0])
        self.loss_star = 0.0

    def loss(self, w):
        e = w - self.w_star
        return 0.5 * self.xp.vecdot(e, self.xp.matmul(self.H, e))

    def grad(self, w):
        return self.xp.matmul(self.H, w - self.w_star)

    def hvp(self, w, v):
        return self.xp.matmul(self.H, v)

    def hessian(self, w):
        return self.H

    @property
    def R(self):
        """Symmetric square root of H, computed on first use."""
        if self._R is None:
            lam, Q = np.linalg.eigh(self._H_host)
            self._R = self.xp.asarray((Q * np.sqrt(np.clip(lam, 0, None))) @ Q.T)
        return self._R

    def residual(self, w):
        return self.xp.matmul(self.R, w - self.w_star)

    def jacobian(self, w):
        return self.R


class LeastSquaresModel:
    """``L = ½‖r(θ)‖²`` from callables for ``r``, its Jacobian and its component Hessians."""

    def __init__(self, xp, n_params, residual, jacobian, residual_hessians, loss_star=0.0):
        self.xp, self.n_params, self.loss_star = xp, n_params, loss_star
        self._r, self._J, self._Hr = residual, jacobian, residual_hessians

    def residual(self, th):
        return self._r(self.xp, th)

    def jacobian(self, th):
        return self._J(self.xp, th)

    def loss(self, th):
        r = self.residual(th)
        return 0.5 * self.xp.vecdot(r, r)

    def grad(self, th):
        return self.xp.matmul(self.xp.matrix_transpose(self.jacobian(th)), self.residual(th))

    def jvp(self, th, v):
        return self.xp.matmul(self.jacobian(th), v)

    def vjp(self, th, u):
        return self.xp.matmul(self.xp.matrix_transpose(self.jacobian(th)), u)

    def hessian(self, th):
        J = self.jacobian(th)
        r = self.residual(th)
        Hr = self._Hr(self.xp, th)  # (q, p, p)
        return self.xp.matmul(self.xp.matrix_transpose(J), J) + self.xp.sum(
            r[:, None, None] * Hr, axis=0)

    def hvp(self, th, v):
        return self.xp.matmul(self.hessian(th), v)


def rosenbrock(xp):
    """Rosenbrock as least squares: ``r = (10(y − x²), 1 − x)``, minimum 0 at (1, 1)."""

    def r(xp, t):
        return xp.stack([10.0 * (t[1] - t[0] ** 2), 1.0 - t[0]])

    def J(xp, t):
        z, o = xp.zeros_like(t[0]), xp.ones_like(t[0])
        return xp.stack([xp.stack([-20.0 * t[0], 10.0 * o]), xp.stack([-o, z])])

    def Hr(xp, t):
        H1 = xp.asarray([[-20.0, 0.0], [0.0, 0.0]], dtype=t.dtype)
        return xp.stack([H1, xp.zeros_like(H1)])

    return LeastSquaresModel(xp, 2, r, J, Hr)


def nonlinear_lsq(xp, rng, q=7, p=4, scale=0.3):
    """Zero-residual ``r(θ) = Aθ + s·sin(Bθ) − y`` with ``y`` generated at a known ``θ*``."""
    A = rng.standard_normal((q, p))
    Bm = rng.standard_normal((q, p)) / math.sqrt(p)
    theta_star = rng.standard_normal(p)
    y = A @ theta_star + scale * np.sin(Bm @ theta_star)
    A_, B_, y_ = (xp.asarray(v) for v in (A, Bm, y))

    def r(xp, t):
        return xp.matmul(A_, t) + scale * xp.sin(xp.matmul(B_, t)) - y_

    def J(xp, t):
        return A_ + scale * xp.cos(xp.matmul(B_, t))[:, None] * B_

    def Hr(xp, t):
        s = -scale * xp.sin(xp.matmul(B_, t))
        return s[:, None, None] * (B_[:, :, None] * B_[:, None, :])

    return LeastSquaresModel(xp, p, r, J, Hr), theta_star


class Reparam:
    """``φ ↦ L(Pφ)`` for an invertible ``P``: the affine-invariance wrapper."""

    def __init__(self, xp, model, P):
        self.xp, self.m = xp, model
        self.P = xp.asarray(P)
        self.Pt = xp.matrix_transpose(self.P)
        self.n_params = model.n_params
        self.loss_star = model.loss_star

    def _th(self, phi):
        return self.xp.matmul(self.P, phi)

    def loss(self, phi):
        return self.m.loss(self._th(phi))

    def grad(self, phi):
        return self.xp.matmul(self.Pt, self.m.grad(self._th(phi)))

    def hessian(self, phi):
        return self.xp.matmul(self.Pt, self.xp.matmul(self.m.hessian(self._th(phi)), self.P))

    def hvp(self, phi, v):
        return self.xp.matmul(self.Pt, self.m.hvp(self._th(phi), self.xp.matmul(self.P, v)))

    def residual(self, phi):
        return self.m.residual(self._th(phi))

    def jacobian(self, phi):
        return self.xp.matmul(self.m.jacobian(self._th(phi)), self.P)


def spd(rng, eigenvalues):
    """``Q diag(λ) Qᵀ`` with a random orthogonal ``Q``; returns ``(H, Q)`` on the host."""
    d = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (Q * np.asarray(eigenvalues)) @ Q.T, Q


def host(x):
    return np.asarray(to_host(x), dtype=np.float64)


# ----------------------------------------------------------------------------- first order

def test_gd_matches_closed_form(xp, rng):
    lam = np.array([0.1, 0.25, 0.4, 0.7, 0.9, 1.0])
    H, Q = spd(rng, lam)
    e0 = rng.standard_normal(6)
    model = QuadraticModel(xp, H, np.zeros(6))  # w* = 0: no cancellation in w − w*
    eta = 1.5  # ηλ_max = 1.5: the fast modes oscillate in sign
    res = gradient_descent(model, xp.asarray(e0), eta, max_steps=200, tol=1e-300)
    assert res.status == "max_steps" and res.steps == 200
    assert res.loss.shape == (201,) and np.array_equal(res.record_steps, np.arange(201))
    cf = host(gd_closed_form(xp.asarray(lam), xp.asarray(Q.T @ e0), eta,
                             np.arange(201)))
    assert cf[-1] < 1e-20 * cf[0]  # the comparison spans twenty decades
    np.testing.assert_allclose(res.loss, cf, rtol=1e-10, atol=0)
    # with w* != 0 the simulated gap bottoms out at the rounding floor (u·‖w*‖)², not the
    # closed form: compare above that floor only
    w_star = rng.standard_normal(6)
    shifted = gradient_descent(QuadraticModel(xp, H, w_star), xp.asarray(w_star + e0), eta,
                               max_steps=200, tol=1e-300)
    above = cf > 1e-8 * cf[0]
    np.testing.assert_allclose(shifted.loss[above], cf[above], rtol=1e-7)
    assert get_namespace(res.theta) is get_namespace(model.w_star)
    assert res.evaluations["grad"] == 201


def test_gd_record_every_and_stopping(xp, rng):
    lam = np.linspace(0.2, 1.0, 5)
    H, Q = spd(rng, lam)
    model = QuadraticModel(xp, H, np.zeros(5))
    e0 = rng.standard_normal(5)
    full = gradient_descent(model, xp.asarray(e0), 1.0, tol=1e-6)
    assert full.status == "converged"
    exact = steps_to_tolerance_quadratic(lam, Q.T @ e0, 1.0, 1e-6)
    assert full.steps == exact.steps
    assert full.loss[-1] <= 1e-6 * full.loss[0] < full.loss[-2]
    sparse = gradient_descent(model, xp.asarray(e0), 1.0, tol=1e-6, record_every=7)
    assert sparse.steps == 7 * math.ceil(full.steps / 7)
    assert np.all(sparse.record_steps % 7 == 0)
    np.testing.assert_allclose(sparse.loss, host(gd_closed_form(lam, Q.T @ e0, 1.0,
                                                                sparse.record_steps)), rtol=1e-10)
    assert steps_to_tolerance(model, xp.asarray(e0), 1.0, 1e-6) == full.steps
    ab = gradient_descent(model, xp.asarray(e0), 1.0, atol=1e-9)
    assert ab.params["criterion"] == "absolute loss gap"
    assert ab.loss[-1] <= 1e-9 < ab.loss[-2]


def test_gd_gradient_criterion_without_loss_star(rng):
    import array_api_strict as xp

    H, _ = spd(rng, [0.5, 1.0, 2.0])
    model = QuadraticModel(xp, H, np.ones(3))
    model.loss_star = None
    res = gradient_descent(model, xp.asarray(np.zeros(3)), 0.4, tol=1e-5)
    assert res.status == "converged" and res.params["criterion"] == "relative gradient norm"
    assert res.grad_norm[-1] <= 1e-5 * res.grad_norm[0] < res.grad_norm[-2]


@pytest.mark.parametrize("eta_scale", [2.5, 1e200])
def test_gd_divergence_status_no_nan(xp, rng, eta_scale):
    H, _ = spd(rng, [0.1, 0.5, 1.0])
    model = QuadraticModel(xp, H, np.zeros(3))
    res = gradient_descent(model, xp.asarray(rng.standard_normal(3)), eta_scale * 1.0,
                           max_steps=10_000)
    assert res.status == "diverged" and res.diverged_at is not None
    assert res.steps == res.diverged_at
    assert np.all(np.isfinite(res.loss)) and np.all(np.isfinite(res.grad_norm))
    assert np.all(np.isfinite(host(res.theta)))
    if eta_scale == 2.5:  # |1 − 2.5| = 1.5: loss grows by 2.25 per step up to the 1e12 factor
        assert res.loss[-1] > 1e12 * res.loss[0]
        assert 25 <= res.diverged_at <= 40 and len(res.loss) == res.diverged_at + 1


def test_batched_gd_matches_loop_and_closed_form(xp, rng):
    B, d, n = 3, 4, 60
    lams = np.sort(rng.uniform(0.05, 1.0, (B, d)), axis=1)
    Hs, Qs = zip(*(spd(rng, lam) for lam in lams))
    e0 = rng.standard_normal((B, d))
    steps = np.array([0.5, 1.0, 1.9])
    res = batched_gradient_descent(xp.asarray(np.stack(Hs)), xp.asarray(e0), xp.asarray(steps),
                                   n, record=("loss", "distance"))
    loss = host(res.loss)
    assert loss.shape == (n + 1, B, len(steps))
    assert host(res.errors).shape == (B, len(steps), d)
    assert np.all(host(res.diverged_at) == -1)
    coeffs = np.einsum("bij,bi->bj", np.stack(Qs), e0)  # c = Qᵀ e0
    cf = host(gd_closed_form(lams, coeffs, steps[:, None], np.arange(n + 1)))  # (T, S, B)
    np.testing.assert_allclose(loss, np.moveaxis(cf, 2, 1), rtol=1e-10)
    dist = host(gd_closed_form(lams, coeffs, steps[:, None], np.arange(n + 1),
                               quantity="distance"))
    np.testing.assert_allclose(host(res.distance), np.moveaxis(dist, 2, 1), rtol=1e-10)
    for b in range(B):
        model = QuadraticModel(xp, Hs[b], np.zeros(d))
        for s, eta in enumerate(steps):
            one = gradient_descent(model, xp.asarray(e0[b]), float(eta), max_steps=n, tol=1e-300)
            np.testing.assert_allclose(loss[:, b, s], one.loss, rtol=1e-11)
            np.testing.assert_allclose(host(res.errors)[b, s], host(one.theta), rtol=1e-9,
                                       atol=1e-14)
    # exact step counts from the batched history equal the no-simulation search
    got = batched_steps_to_tolerance(res, 1e-3)
    exact = steps_to_tolerance_quadratic(lams, coeffs, steps[:, None], 1e-3).steps.T
    exact = np.where(exact <= n, exact, np.inf)
    np.testing.assert_array_equal(got, exact)
    sub = batched_gradient_descent(xp.asarray(np.stack(Hs)), xp.asarray(e0), xp.asarray(steps),
                                   n, record_every=25)
    np.testing.assert_array_equal(sub.record_steps, [0, 25, 50, 60])
    np.testing.assert_allclose(host(sub.loss), loss[[0, 25, 50, 60]], rtol=1e-12)


def test_batched_gd_divergence(xp, rng):
    H, _ = spd(rng, [0.2, 1.0])
    res = batched_gradient_descent(xp.asarray(H[None]), xp.asarray(rng.standard_normal((1, 2))),
                                   xp.asarray([1.0, 2.5, 1e300]), 400)
    loss, div = host(res.loss), np.asarray(to_host(res.diverged_at))
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(host(res.errors)))
    assert div[0, 0] == -1 and div[0, 1] > 0 and div[0, 2] >= 1
    assert loss[div[0, 1], 0, 1] > 1e12 * loss[0, 0, 1]


@pytest.mark.parametrize("per_chunk", [1, 2, 3])
def test_batched_gd_chunks_give_the_unchunked_result_bit_for_bit(rng, monkeypatch, per_chunk):
    import specdef.numerics._gd_batched as gb

    B, d = 5, 3
    H = np.stack([spd(rng, rng.uniform(0.1, 1.0, d))[0] for _ in range(B)])
    e0, steps = rng.standard_normal((B, d)), np.array([0.5, 1.5, 3.0])  # 3.0 diverges
    whole = batched_gradient_descent(H, e0, steps, 80, record=("loss", "distance"),
                                     record_every=7)
    assert gb._chunk_size(np, B, d, np.float64) == B  # 5 problems of 72 bytes fit one chunk
    monkeypatch.setattr(gb, "_CACHE_BYTES", per_chunk * d * d * 8)
    assert gb._chunk_size(np, B, d, np.float64) == per_chunk
    parts = batched_gradient_descent(H, e0, steps, 80, record=("loss", "distance"),
                                     record_every=7)
    assert np.any(whole.diverged_at > 0)
    for name in ("errors", "loss", "distance", "diverged_at", "record_steps"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name))


def test_batched_gd_psd_test_accepts_singular_and_refuses_indefinite(rng):
    H = np.stack([np.zeros((3, 3)), np.diag([1.0, 0.0, 0.0]), spd(rng, [0.1, 0.5, 1.0])[0]])
    res = batched_gradient_descent(H, np.ones((3, 3)), [0.5], 3)  # Cholesky fails, eigvalsh: PSD
    assert np.all(res.diverged_at == -1)
    H[1, 2, 2] = -1e-3
    with pytest.raises(InputError, match=r"semidefinite, got lambda_min = -0.001 in H\[1\]"):
        batched_gradient_descent(H, np.ones((3, 3)), [0.5], 3)


# ----------------------------------------------------------------------------- exact counts

def brute_force_steps(lam, c, eta, tol, quantity, cap):
    """First t with the criterion met, by iterating each mode; ``inf`` if not within ``cap``."""
    lam, c = np.asarray(lam, float), np.asarray(c, float)
    w = 0.5 * lam if quantity == "loss" else np.ones_like(lam)
    thr = (tol if quantity == "loss" else tol**2) * np.sum(w * c * c)
    f, e = 1 - eta * lam, c.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(cap + 1):
            if np.sum(w * e * e) <= thr:
                return t
            e = f * e
    return math.inf


def test_steps_quadratic_vs_brute_force(xp, rng):
    cases = []
    for _ in range(6):
        d = int(rng.integers(2, 9))
        lam = np.exp(rng.uniform(np.log(1e-2), 0, d))
        c = rng.standard_normal(d)
        for eta in (0.3 / lam.max(), 1 / lam.max(), 1.95 / lam.max()):
            cases.append((lam, c, eta))
    # an unstable step whose divergent mode carries little weight: the tolerance is crossed
    # transiently before that mode takes over; and one where it never is
    cases.append((np.array([0.05, 1.0]), np.array([1.0, 1e-7]), 2.05))
    cases.append((np.array([0.05, 1.0]), np.array([1.0, 1e-1]), 2.05))
    for quantity, tol in (("loss", 1e-6), ("distance", 1e-3)):
        for lam, c, eta in cases:
            got = steps_to_tolerance_quadratic(xp.asarray(lam), xp.asarray(c), eta, tol,
                                               quantity=quantity)
            want = brute_force_steps(lam, c, eta, tol, quantity, cap=20_000)
            assert float(got.steps) == want, (quantity, lam, c, eta)
            assert str(got.status) == ("converged" if math.isfinite(want) else "diverged")
    # vectorised over a batch of spectra and a grid of steps at once
    lams = np.exp(rng.uniform(np.log(1e-2), 0, (5, 6)))
    cs = rng.standard_normal((5, 6))
    grid = np.array([0.5, 1.0, 1.5])[:, None] / lams.max(axis=1)  # (3, 5)
    batch = steps_to_tolerance_quadratic(xp.asarray(lams), xp.asarray(cs), grid, 1e-6)
    assert batch.steps.shape == (3, 5)
    for s in range(3):
        for b in range(5):
            assert batch.steps[s, b] == brute_force_steps(lams[b], cs[b], grid[s, b], 1e-6,
                                                          "loss", 20_000)


@given(lam=st.lists(st.floats(1e-2, 1.0), min_size=1, max_size=6),
       coef=st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 2.0), st.floats(-2.0, -1e-3)),
                     min_size=6, max_size=6),
       factor=st.floats(0.2, 2.2), log_tol=st.floats(-8.0, -0.5),
       quantity=st.sampled_from(["loss", "distance"]))
def test_steps_quadratic_property(lam, coef, factor, log_tol, quantity):
    """Exact count = brute force, up to rounding when the crossing is within 1e-9 of the bound.

    Coefficients stay above 1e-3 (or are 0) so that the brute force, which squares them, never
    meets subnormal numbers; the kernel itself works in log space and does not need this.
    """
    lam = np.asarray(lam)
    c = np.asarray(coef[: len(lam)])
    eta = factor / lam.max()
    tol = 10.0**log_tol
    got = float(steps_to_tolerance_quadratic(lam, c, eta, tol, quantity=quantity).steps)
    want = brute_force_steps(lam, c, eta, tol, quantity, cap=5_000)
    if got != want and math.isfinite(got) and math.isfinite(want):
        t = int(min(got, want))  # the two may differ only on a borderline step
        w = 0.5 * lam if quantity == "loss" else np.ones_like(lam)
        ratio = np.sum(w * c**2 * (1 - eta * lam) ** (2 * t)) / np.sum(w * c**2)
        target = tol if quantity == "loss" else tol**2
        assert abs(ratio / target - 1) < 1e-9, (got, want)
    elif got != want:
        assert math.isinf(want) and got > 5_000  # met only beyond the brute-force cap


def test_steps_worst_case_formula(xp, rng):
    """``e_0`` on the λ_min eigenvector, η = 1/λ_max: T = ⌈ln ε / ln(1 − 1/κ)⌉
    (docs/theory/background.rst, B1)."""
    for kappa, eps_ in ((50.0, 1e-3), (7.0, 1e-5), (1e3, 1e-2)):
        lam = np.array([1.0 / kappa, 0.3, 0.6, 1.0])  # λ_max = 1
        H, Q = spd(rng, lam)
        formula = math.ceil(math.log(eps_) / math.log1p(-1.0 / kappa))
        frac = math.log(eps_) / math.log1p(-1.0 / kappa) % 1
        assert 1e-6 < frac < 1 - 1e-6  # not at an integer boundary, so the check is robust
        # independent check: plain matrix iteration in the original basis
        e = Q[:, 0].copy()
        t = 0
        while np.linalg.norm(e) > eps_:
            e = e - H @ e
            t += 1
        assert t == formula
        got = steps_to_tolerance_quadratic(xp.asarray(lam), xp.asarray(Q.T @ Q[:, 0]), 1.0, eps_,
                                           quantity="distance")
        assert float(got.steps) == formula
        assert float(got.contraction) == pytest.approx(1 - 1 / kappa, rel=1e-12)
        # the loss criterion with tol = ε² is the same event on a single mode
        loss_steps = steps_to_tolerance_quadratic(lam, np.eye(4)[0], 1.0, eps_**2)
        assert float(loss_steps.steps) == formula


def test_steps_tiny_coefficients_do_not_underflow():
    # c² = 1.5e-313 is subnormal and c = 1e-170 squares to 0: the log-space weights keep both
    for c in (3.9e-157, 1e-170):
        got = steps_to_tolerance_quadratic([0.03125], [c], 8.0, 1e-7)  # ρ² = 0.5625
        assert float(got.steps) == math.ceil(math.log(1e-7) / math.log(0.5625)) == 29
    lg = host(gd_closed_form([0.5], [1e-200], 1.0, 0, log=True))
    assert lg == pytest.approx(math.log(0.25) + 2 * math.log(1e-200), rel=1e-14)


def test_steps_huge_counts_and_statuses():
    # κ = 10⁸: hundreds of millions of steps, found without simulating them
    kappa, eps_ = 1e8, 1e-6
    got = steps_to_tolerance_quadratic([1 / kappa, 1.0], [1.0, 0.0], 1.0, eps_,
                                       quantity="distance")
    assert float(got.steps) == math.ceil(math.log(eps_) / math.log1p(-1 / kappa))
    assert float(got.steps) > 1e9
    capped = steps_to_tolerance_quadratic([1 / kappa, 1.0], [1.0, 0.0], 1.0, eps_,
                                          quantity="distance", max_steps=10**6)
    assert str(capped.status) == "max_steps" and math.isinf(float(capped.steps))
    div = steps_to_tolerance_quadratic([0.1, 1.0], [1.0, 1.0], 2.1, 1e-6)
    assert str(div.status) == "diverged" and math.isinf(float(div.steps))
    edge = steps_to_tolerance_quadratic([0.1, 1.0], [1.0, 1.0], 2.0, 1e-6)  # |1 − ηλ_max| = 1
    assert str(edge.status) == "diverged"
    ignored = steps_to_tolerance_quadratic([0.1, 1.0], [1.0, 0.0], 2.5, 1e-6)  # no weight there
    assert str(ignored.status) == "converged"
    zero = steps_to_tolerance_quadratic([0.1, 1.0], [0.0, 0.0], 1.0, 1e-6)
    assert float(zero.steps) == 0
    stalled = steps_to_tolerance_quadratic([0.0, 1.0], [1.0, 1.0], 1.0, 1e-3, quantity="distance",
                                           max_steps=10**6)
    assert str(stalled.status) == "max_steps"


def test_closed_form_huge_t_against_mpmath(xp):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    lam = [1e-7, 3e-7, 0.5]
    c = [1.0, -2.0, 3.0]
    t = 10**6
    got = host(gd_closed_form(xp.asarray(lam), xp.asarray(c), 1.0, [0, 1, t]))
    for i, tt in enumerate([0, 1, t]):
        want = sum(mpmath.mpf(li) / 2 * (1 - mpmath.mpf(li)) ** (2 * tt) * mpmath.mpf(ci) ** 2
                   for li, ci in zip(lam, c))
        assert got[i] == pytest.approx(float(want), rel=1e-10)
    lg = host(gd_closed_form(xp.asarray(lam), xp.asarray(c), 1.0, 10**12, log=True))
    assert np.isfinite(lg) and lg < -1000  # underflows as a value, finite as a log


def test_best_step_sweep(rng):
    import array_api_strict as xp

    lam = np.array([0.1, 0.5, 1.0])
    H, Q = spd(rng, lam)
    model = QuadraticModel(xp, H, np.zeros(3))
    e0 = rng.standard_normal(3)
    grid = [0.5, 1.0, 1.5, 1.8, 2.5]
    sw = best_step_sweep(model, grid, theta0=xp.asarray(e0), tol=1e-6)
    assert list(sw.status) == ["converged"] * 4 + ["diverged"]
    exact = steps_to_tolerance_quadratic(lam, Q.T @ e0, np.asarray(grid), 1e-6)
    np.testing.assert_array_equal(sw.n_steps, exact.steps)  # the whole table, exactly
    assert sw.best_step == grid[int(np.argmin(exact.steps))]
    assert sw.best_n_steps == exact.steps.min() and math.isinf(sw.n_steps[-1])
    # weight on both extreme eigenvectors: the minimax step 2/(λ_min + λ_max) ≈ 1.82 wins
    both = best_step_sweep(model, grid, theta0=xp.asarray(Q[:, 0] + Q[:, 2]), tol=1e-6)
    assert both.best_step == 1.8 and both.status[-1] == "diverged"
    # on the slowest eigenvector alone, the unstable 2.5 wins: its divergent mode only holds
    # rounding noise, which needs more steps to grow than the tolerance needs to be met
    alone = best_step_sweep(model, grid, theta0=xp.asarray(Q[:, 0]), tol=1e-6)
    assert alone.best_step == 2.5
    calls = best_step_sweep(lambda s: 10.0 / s, [1.0, 2.0, 4.0])
    assert calls.best_step == 4.0 and calls.rows[0]["n_steps"] == 10.0
    with pytest.raises(InputError, match="^best_step_sweep: theta0 "):
        best_step_sweep(model, grid)


# ----------------------------------------------------------------------------- second order

def test_newton_solves_quadratic_in_one_step(xp, rng):
    lam = np.logspace(-6, 0, 6)  # κ = 10⁶ does not matter to exact Newton
    H, _ = spd(rng, lam)
    w_star = rng.standard_normal(6)
    model = QuadraticModel(xp, H, w_star)
    for solver in ("pinv", "solve"):
        res = newton(model, xp.asarray(w_star + rng.standard_normal(6)), solver=solver, tol=1e-20)
        assert res.status == "converged" and res.steps == 1, solver
        np.testing.assert_allclose(host(res.theta), w_star, atol=1e-8)
    gn = gauss_newton(model, xp.asarray(np.zeros(6)), tol=1e-20)
    assert gn.status == "converged" and gn.steps == 1


def test_newton_singular_hessian(xp, rng):
    lam = np.array([0.0, 0.0, 0.5, 1.0])  # a null space, as for SpecDef's gauge directions
    H, Q = spd(rng, lam)
    model = QuadraticModel(xp, H, np.zeros(4))
    theta0 = rng.standard_normal(4)
    # the gap cannot fall below the rounding noise of H on its null space (~u·λ_max·‖θ0‖²)
    res = newton(model, xp.asarray(theta0), tol=1e-12)
    assert res.status == "converged" and res.steps == 1
    P_null = Q[:, :2] @ Q[:, :2].T  # the null-space component is left untouched
    np.testing.assert_allclose(host(res.theta), P_null @ theta0, atol=1e-12)
    # an exactly singular matrix: LU reports a breakdown (a status, not an exception)
    exact = QuadraticModel(xp, np.diag([1.0, 0.0]), np.zeros(2))
    lu = newton(exact, xp.asarray([1.0, 1.0]), solver="solve")
    assert lu.status == "breakdown" and lu.steps == 0 and "solve" in lu.message
    assert np.all(np.isfinite(lu.loss)) and np.all(np.isfinite(host(lu.theta)))
    pinv = newton(exact, xp.asarray([1.0, 1.0]))
    assert pinv.status == "converged" and np.allclose(host(pinv.theta), [0.0, 1.0])


def _iterate(method, model, x0, n, **kw):
    return host(method(model, x0, max_steps=n, tol=1e-300, **kw).theta)


@pytest.mark.parametrize("method", [newton, gauss_newton, damped_newton,
                                    lambda m, x, **k: newton_cg(m, x, cg_tol=1e-14, **k)],
                         ids=["newton", "gauss_newton", "damped_newton", "newton_cg_exact"])
def test_affine_invariance(xp, rng, method):
    model, theta_star = nonlinear_lsq(xp, rng)
    P = rng.standard_normal((4, 4)) + 3 * np.eye(4)
    wrapped = Reparam(xp, model, P)
    theta0 = theta_star + 0.3 * rng.standard_normal(4)
    phi0 = np.linalg.solve(P, theta0)
    for n in (1, 2, 3):
        th = _iterate(method, model, xp.asarray(theta0), n)
        ph = _iterate(method, wrapped, xp.asarray(phi0), n)
        np.testing.assert_allclose(P @ ph, th, rtol=1e-7, atol=1e-9)
    res = method(model, xp.asarray(theta0), tol=1e-12)
    assert res.status == "converged" and res.steps <= 8


def test_gradient_descent_is_not_affine_invariant(rng):
    """Planted contrast: GD on the reparameterised problem takes a different path."""
    import array_api_strict as xp

    model, theta_star = nonlinear_lsq(xp, rng)
    P = np.diag([1.0, 10.0, 1.0, 1.0])
    theta0 = theta_star + 0.3 * rng.standard_normal(4)
    th = _iterate(lambda m, x, **k: gradient_descent(m, x, 0.01, **k), model,
                  xp.asarray(theta0), 3)
    ph = _iterate(lambda m, x, **k: gradient_descent(m, x, 0.01, **k), Reparam(xp, model, P),
                  xp.asarray(np.linalg.solve(P, theta0)), 3)
    assert np.linalg.norm(P @ ph - th) > 1e-3


def test_levenberg_marquardt_limits(xp, rng):
    model, theta_star = nonlinear_lsq(xp, rng)
    theta0 = theta_star + 0.5 * rng.standard_normal(4)
    x0 = xp.asarray(theta0)
    gn1 = _iterate(gauss_newton, model, x0, 1)
    for lam, tol_ in ((1e-4, 1e-3), (1e-8, 1e-7)):
        lm1 = _iterate(lambda m, x, **k: levenberg_marquardt(m, x, lam, **k), model, x0, 1)
        assert np.linalg.norm(lm1 - gn1) <= tol_ * np.linalg.norm(gn1 - theta0)
    assert np.array_equal(_iterate(lambda m, x, **k: levenberg_marquardt(m, x, 0.0, **k),
                                   model, x0, 1), gn1)
    # large damping: one LM step ≈ one GD step of size 1/λ (relative error ~ ‖C‖/λ)
    g = host(model.grad(x0))
    for curvature in ("gauss_newton", "hessian"):
        big = 1e7
        lm = _iterate(lambda m, x, **k: levenberg_marquardt(m, x, big, curvature=curvature, **k),
                      model, x0, 1)
        gd_step = theta0 - g / big
        np.testing.assert_allclose(lm - theta0, gd_step - theta0, rtol=1e-5)
    # hessian curvature with λ → 0 is Newton
    nt = _iterate(newton, model, x0, 1)
    lmh = _iterate(lambda m, x, **k: levenberg_marquardt(m, x, 1e-10, curvature="hessian", **k),
                   model, x0, 1)
    np.testing.assert_allclose(lmh, nt, rtol=1e-8)
    conv = levenberg_marquardt(model, x0, 1e-3, tol=1e-14)
    assert conv.status == "converged"


def test_lm_fixed_damping_slows_low_curvature_modes():
    """On a quadratic, fixed-damping LM contracts mode i by λ/(c_i + λ): steps grow with λ/c_min."""
    import array_api_strict as xp

    counts = []
    for c_min in (1e-1, 3e-2, 1e-2):
        c = np.array([c_min, 1.0])
        model = QuadraticModel(xp, np.diag(c), np.zeros(2))
        res = levenberg_marquardt(model, xp.asarray([1.0, 1.0]), 1.0, tol=1e-6, max_steps=100_000)
        assert res.status == "converged"
        rho = 1.0 / (c + 1.0)  # per-mode contraction with λ = 1
        gaps = [0.5 * np.sum(c * rho ** (2 * t)) for t in range(res.steps + 1)]
        assert gaps[-1] <= 1e-6 * gaps[0] < gaps[-2]  # the exact first crossing
        counts.append(res.steps)
    assert counts[0] < counts[1] < counts[2]
    assert counts[2] > 6 * counts[0]  # ~ 1/c_min growth: tenfold c_min, about tenfold steps


def test_damped_newton_rosenbrock(xp):
    model = rosenbrock(xp)
    x0 = xp.asarray([-1.2, 1.0])
    res = damped_newton(model, x0, tol=1e-14)
    assert res.status == "converged", res.message
    np.testing.assert_allclose(host(res.theta), [1.0, 1.0], atol=1e-6)
    assert np.all(np.diff(res.loss) <= 0)  # a descent method
    assert res.evaluations["line_search"] > res.steps  # some steps backtracked
    assert res.evaluations["hessian"] == res.steps
    assert res.loss[-1] <= 1e-14 * res.loss[0]


def test_newton_cg_inner_iterations_grow_with_kappa(xp, rng):
    d = 300
    inner = []
    for kappa in (10.0, 100.0, 1000.0):
        # Chebyshev points of [1/κ, 1]: the spectrum on which CG's √κ bound is sharp
        a, b = 1.0 / kappa, 1.0
        lam = (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (np.arange(d) + 0.5) / d)
        H, _ = spd(rng, lam)
        model = QuadraticModel(xp, H, np.zeros(d))
        res = newton_cg(model, xp.asarray(rng.standard_normal(d)), cg_tol=1e-6, tol=1e-10)
        assert res.status == "converged", res.message
        assert res.steps <= 3
        assert np.all(res.inner_per_step <= d)
        assert res.inner_iterations == res.evaluations["hvp"] == res.inner_per_step.sum()
        inner.append(res.inner_per_step[0])
    assert inner[0] < inner[1] < inner[2]
    # O(√κ): a hundredfold κ raises the first-step count by well over 3x and under 30x
    assert 3 < inner[2] / inner[0] < 30


def test_newton_cg_forcing_term_and_negative_curvature(xp):
    model = rosenbrock(xp)
    res = newton_cg(model, xp.asarray([-1.2, 1.0]), tol=1e-14)
    assert res.status == "converged", res.message
    np.testing.assert_allclose(host(res.theta), [1.0, 1.0], atol=1e-6)
    assert res.params["forcing"].startswith("min(0.5")


class DoubleWell:
    """``L = (x² − 1)²/4 + y²/2``: minima at (±1, 0) with L* = 0, a saddle at the origin."""

    def __init__(self, xp):
        self.xp, self.n_params, self.loss_star = xp, 2, 0.0

    def loss(self, t):
        return (t[0] ** 2 - 1) ** 2 / 4 + t[1] ** 2 / 2

    def grad(self, t):
        return self.xp.stack([t[0] ** 3 - t[0], t[1]])

    def hessian(self, t):
        z = self.xp.zeros_like(t[0])
        return self.xp.stack([self.xp.stack([3 * t[0] ** 2 - 1, z]),
                              self.xp.stack([z, self.xp.ones_like(z)])])

    def hvp(self, t, v):
        return self.xp.matmul(self.hessian(t), v)


def test_indefinite_hessian_newton_vs_descent_methods(xp):
    model = DoubleWell(xp)
    x0 = xp.asarray([0.1, 0.01])  # Hessian indefinite here, and along −∇L
    plain = newton(model, x0, max_steps=30)
    assert plain.status != "converged"  # exact Newton is attracted by the saddle
    assert np.linalg.norm(host(plain.theta)) < 1e-3
    assert plain.loss[-1] == pytest.approx(0.25)
    for method in (damped_newton, newton_cg):
        res = method(model, x0, tol=1e-12)
        assert res.status == "converged", (method.__name__, res.message)
        np.testing.assert_allclose(np.abs(host(res.theta)), [1.0, 0.0], atol=1e-5)
        assert np.all(np.diff(res.loss) <= 0)
    cg = newton_cg(model, x0, tol=1e-12)
    assert cg.inner_per_step[0] == 1  # negative curvature on the first CG direction: −∇L


def test_float32_agrees_with_float64(rng):
    import array_api_compat.numpy as xp

    lam = np.linspace(0.1, 1.0, 5)
    H, Q = spd(rng, lam)
    e0 = rng.standard_normal(5)
    m32 = QuadraticModel(xp, H, np.zeros(5))
    m32.H, m32.w_star = xp.astype(m32.H, xp.float32), xp.astype(m32.w_star, xp.float32)
    res = gradient_descent(m32, xp.asarray(e0, dtype=xp.float32), 1.0, tol=1e-4)
    assert res.theta.dtype == xp.float32 and res.loss.dtype == np.float64
    cf = host(gd_closed_form(lam, Q.T @ e0, 1.0, res.record_steps))
    np.testing.assert_allclose(res.loss, cf, rtol=1e-4)
    assert res.steps == float(steps_to_tolerance_quadratic(lam, Q.T @ e0, 1.0, 1e-4).steps)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, pattern", [
    (lambda m, x: gradient_descent(m, x, 0.0), r"^gradient_descent: step must"),
    (lambda m, x: gradient_descent(m, x, math.nan), r"^gradient_descent: step must"),
    (lambda m, x: gradient_descent(m, x, 0.1, max_steps=-1), r"^gradient_descent: max_steps "),
    (lambda m, x: gradient_descent(m, x, 0.1, tol=0.0), r"^gradient_descent: tol must"),
    (lambda m, x: gradient_descent(m, x, 0.1, record_every=0), r"^gradient_descent: record_every"),
    (lambda m, x: gradient_descent(m, x[:2], 0.1), r"^gradient_descent: theta0 must have shape"),
    (lambda m, x: gradient_descent(m, x * math.nan, 0.1), r"^gradient_descent: theta0 must have "
                                                           r"finite"),
    (lambda m, x: newton(m, x, solver="qr"), r"^newton: solver must"),
    (lambda m, x: levenberg_marquardt(m, x, -1.0), r"^levenberg_marquardt: damping must"),
    (lambda m, x: levenberg_marquardt(m, x, 1.0, curvature="x"), r"^levenberg_marquardt: "
                                                                 r"curvature"),
    (lambda m, x: damped_newton(m, x, c1=2.0), r"^damped_newton: c1 must be < 1"),
    (lambda m, x: newton_cg(m, x, cg_tol=-1.0), r"^newton_cg: cg_tol must"),
    (lambda m, x: gauss_newton(object(), x), r"^gauss_newton: model must provide"),
])
def test_bad_input_optimisers(xp, call, pattern):
    model = QuadraticModel(xp, np.eye(3), np.zeros(3))
    with pytest.raises(InputError, match=pattern) as info:
        call(model, xp.asarray([1.0, 2.0, 3.0]))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("call, pattern", [
    (lambda xp: gd_closed_form(xp.asarray([-1.0, 1.0]), xp.asarray([1.0, 1.0]), 1.0, 3),
     r"^gd_closed_form: eigenvalues must be >= 0"),
    (lambda xp: gd_closed_form(xp.asarray([1.0]), xp.asarray([1.0]), 1.0, -1),
     r"^gd_closed_form: t must"),
    (lambda xp: gd_closed_form(xp.asarray([1.0]), xp.asarray([1.0, 2.0]), 1.0, 1),
     r"^gd_closed_form: coeffs must have last dimension"),
    (lambda xp: gd_closed_form(xp.asarray([1.0]), xp.asarray([1.0]), 1.0, 1, quantity="x"),
     r"^gd_closed_form: quantity"),
    (lambda xp: steps_to_tolerance_quadratic(xp.asarray([1.0]), xp.asarray([1.0]), 0.0),
     r"^steps_to_tolerance_quadratic: step must be finite and > 0, got 0.0"),
    (lambda xp: steps_to_tolerance_quadratic(xp.asarray([1.0]), xp.asarray([1.0]), 1.0, 0.0),
     r"^steps_to_tolerance_quadratic: tol must"),
    (lambda xp: batched_gradient_descent(xp.ones((2, 3, 3)), xp.ones((2, 2)), xp.ones(2), 5),
     r"^batched_gradient_descent: e0 must have shape \(2, 3\)"),
    (lambda xp: batched_gradient_descent(xp.ones((2, 3, 3)), xp.ones((2, 3)), -xp.ones(2), 5),
     r"^batched_gradient_descent: steps must be > 0"),
    (lambda xp: batched_gradient_descent(xp.ones((2, 3, 3)), xp.ones((2, 3)), xp.ones(2), -5),
     r"^batched_gradient_descent: n_steps must"),
])
def test_bad_input_kernels(xp, call, pattern):
    with pytest.raises(InputError, match=pattern):
        call(xp)
