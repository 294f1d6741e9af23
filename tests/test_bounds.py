"""Theorem-3 kernel: ``cross_block_terms`` / ``cross_block_bound`` against a brute force.

The brute force builds the projection matrices ``P = V_r V_r^T`` explicitly for every
``(r1, r2)`` and uses NumPy only.  Both sides form ``sin θ = sqrt(1 − cos² θ)``, which near
``θ = 0`` is accurate only to about ``sqrt(eps)``; comparisons of the corrected form allow that
(``ATOL_SIN`` times ``σ_1(A)σ_1(B)σ_1(C)``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from specdef import numerics
from specdef.numerics import InputError, cross_block_bound, cross_block_terms

EPS = float(np.finfo(np.float64).eps)
ATOL_SIN = 2 * math.sqrt(8 * 5 * EPS) + 16 * 5 * EPS   # shapes up to 5 (as in the check)


def brute_force(A, B, C):
    """Per-(r1, r2) grids of both forms, σ_1(ABC) and the scale σ_1(A)σ_1(B)σ_1(C)."""
    _, sA, VhA = np.linalg.svd(A)
    UB, sB, VhB = np.linalg.svd(B)
    UC, sC, _ = np.linalg.svd(C)
    u1, v1 = UB[:, 0], VhB[0, :]
    sB2 = sB[1] if sB.size > 1 else 0.0
    R1, R2 = min(A.shape), min(C.shape)
    disp, corr = np.empty((R1, R2)), np.empty((R1, R2))
    cos1, cos2 = np.empty(R1), np.empty(R2)
    for r1 in range(1, R1 + 1):
        V = VhA[:r1, :].T
        cos1[r1 - 1] = min(1.0, np.linalg.norm((V @ V.T) @ u1))
    for r2 in range(1, R2 + 1):
        U = UC[:, :r2]
        cos2[r2 - 1] = min(1.0, np.linalg.norm((U @ U.T) @ v1))
    for i in range(R1):
        for j in range(R2):
            c1, c2 = cos1[i], cos2[j]
            s1, s2 = math.sqrt(max(0.0, 1 - c1 * c1)), math.sqrt(max(0.0, 1 - c2 * c2))
            disp[i, j] = sA[i] * sB[0] * sC[j] * c1 * c2
            corr[i, j] = sA[i] * sC[j] * (sB[0] * c1 * c2 - sB2 * s1 * s2)
    return dict(displayed=disp, corrected=corr, sA=sA[:R1], sC=sC[:R2], cos1=cos1, cos2=cos2,
                sB1=sB[0], sB2=sB2, sigma1=np.linalg.norm(A @ B @ C, 2),
                scale=sA[0] * sB[0] * sC[0])


def low_rank(rng, p, q):
    r = min(p, q)
    if r < 2:
        return rng.standard_normal((p, q))
    k = int(rng.integers(1, r))
    return rng.standard_normal((p, k)) @ rng.standard_normal((k, q))


def random_triple(rng, deficient=False, max_dim=5):
    p, q, s, t = (int(v) for v in rng.integers(1, max_dim + 1, size=4))
    A, B, C = rng.standard_normal((p, q)), rng.standard_normal((q, s)), rng.standard_normal((s, t))
    if deficient:
        A, C = low_rank(rng, p, q), low_rank(rng, s, t)
    return A, B, C


def on(xp, *mats):
    return [numerics.asarray(m, xp=xp) for m in mats]


# -------------------------------------------------------------------------- kernel vs brute force
@pytest.mark.parametrize("deficient", [False, True], ids=["full-rank", "rank-deficient"])
def test_terms_and_bounds_match_brute_force(xp, rng, deficient):
    for _ in range(25):
        A, B, C = random_triple(rng, deficient)
        ref = brute_force(A, B, C)
        t = cross_block_terms(*on(xp, A, B, C))
        assert isinstance(t.sA, np.ndarray) and t.sA.shape == ref["sA"].shape
        np.testing.assert_allclose(t.sA, ref["sA"], rtol=1e-12, atol=1e-12 * ref["sA"][0])
        np.testing.assert_allclose(t.sC, ref["sC"], rtol=1e-12, atol=1e-12 * ref["sC"][0])
        assert t.sB1 == pytest.approx(ref["sB1"], rel=1e-12)
        assert t.sB2 == pytest.approx(ref["sB2"], rel=1e-12, abs=1e-12 * ref["sB1"])
        assert t.sigma1_ABC == pytest.approx(ref["sigma1"], rel=1e-12, abs=1e-13 * ref["scale"])
        # cosines are unique where the singular value is separated from the next one (or r = rank)
        for cos, ref_cos, s in ((t.cos1, ref["cos1"], ref["sA"]), (t.cos2, ref["cos2"], ref["sC"])):
            sep = np.append(s[:-1] - s[1:] > 1e-6 * s[0], True)
            np.testing.assert_allclose(cos[sep], ref_cos[sep], atol=1e-9)
        for variant, atol in (("displayed", 1e-10), ("corrected", ATOL_SIN)):
            b = cross_block_bound(*on(xp, A, B, C), variant=variant)
            assert b.variant == variant
            assert b.value == pytest.approx(ref[variant].max(), abs=atol * ref["scale"])
            assert 1 <= b.r1 <= min(A.shape) and 1 <= b.r2 <= min(C.shape)
            assert b.sigma1_ABC == pytest.approx(ref["sigma1"], rel=1e-12, abs=1e-13 * ref["scale"])


def test_backends_agree(xp, rng):
    A, B, C = random_triple(rng)
    for variant in numerics.BOUND_VARIANTS:
        ref = cross_block_bound(A, B, C, variant=variant)
        got = cross_block_bound(*on(xp, A, B, C), variant=variant)
        assert got.value == pytest.approx(ref.value, rel=1e-12, abs=1e-14)
        assert (got.r1, got.r2) == (ref.r1, ref.r2)


# -------------------------------------------------------------------------- the mathematics
def test_corrected_never_exceeds_sigma1(rng):
    """~300 random triples, half with rank-deficient A and C: the corrected form holds."""
    worst = -np.inf
    for k in range(300):
        A, B, C = random_triple(rng, deficient=k % 2 == 1)
        b = cross_block_bound(A, B, C, variant="corrected")
        scale = np.linalg.norm(A, 2) * np.linalg.norm(B, 2) * np.linalg.norm(C, 2)
        assert b.value <= b.sigma1_ABC * (1 + 1e-12) + ATOL_SIN * scale, (A, B, C, b)
        worst = max(worst, b.value / b.sigma1_ABC)
    assert worst <= 1 + 1e-6


def test_displayed_fails_on_some_random_triples(rng):
    """docs/theory/theorem3.rst: the displayed form fails on a few per cent of small random
    triples."""
    fails = sum(b.value > b.sigma1_ABC * (1 + 1e-6)
                for b in (cross_block_bound(*random_triple(rng, k % 2 == 1)) for k in range(300)))
    assert 3 <= fails <= 150


def test_corrected_equals_displayed_for_rank_one_B(xp, rng):
    for _ in range(20):
        p, q, s, t = (int(v) for v in rng.integers(1, 6, size=4))
        A, C = rng.standard_normal((p, q)), rng.standard_normal((s, t))
        B = np.outer(rng.standard_normal(q), rng.standard_normal(s))
        d = cross_block_bound(*on(xp, A, B, C), variant="displayed")
        c = cross_block_bound(*on(xp, A, B, C), variant="corrected")
        scale = d.sA * d.sB1 * d.sC if d.sA > 0 else 1.0
        assert c.sB2 <= 1e-12 * c.sB1
        assert c.value == pytest.approx(d.value, abs=1e-12 * max(scale, abs(d.value)))
        assert c.value <= c.sigma1_ABC * (1 + 1e-12)


def test_rank_one_B_aligned_is_tight(xp, rng):
    """B = β v_1(A) u_1(C)^T attains both forms: ABC = β σ_1(A) σ_1(C) u_1(A) v_1(C)^T."""
    A, C = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    B = 0.7 * np.outer(np.linalg.svd(A)[2][0], np.linalg.svd(C)[0][:, 0])
    for variant in numerics.BOUND_VARIANTS:
        b = cross_block_bound(*on(xp, A, B, C), variant=variant)
        assert b.value == pytest.approx(b.sigma1_ABC, rel=1e-12)
        assert (b.r1, b.r2) == (1, 1)


def test_hand_checkable_counterexample(xp):
    """A = [1 1], B = diag(-1, 2), C = [1 1]^T: ABC = -1 + 2 = 1.

    u_1(B) = v_1(B) = ±e_2, σ(B) = (2, 1); σ_1(A) = σ_1(C) = √2 with singular vectors
    (1, 1)/√2, so cos θ_1 = cos θ_2 = 1/√2.  Displayed: √2·2·√2·½ = 2 > 1 = σ_1(ABC).
    Corrected: √2·√2·(2·½ − 1·½) = 1, attained.
    """
    A, B, C = np.array([[1.0, 1.0]]), np.array([[-1.0, 0.0], [0.0, 2.0]]), np.array([[1.0], [1.0]])
    d = cross_block_bound(*on(xp, A, B, C), variant="displayed")
    c = cross_block_bound(*on(xp, A, B, C), variant="corrected")
    assert d.sigma1_ABC == pytest.approx(1.0, rel=1e-14)
    assert d.value == pytest.approx(2.0, rel=1e-14)
    assert d.cos1 == pytest.approx(1 / math.sqrt(2), rel=1e-14)
    assert d.cos2 == pytest.approx(1 / math.sqrt(2), rel=1e-14)
    assert (d.sB1, d.sB2) == (pytest.approx(2.0), pytest.approx(1.0))
    assert d.value > 1.9 * d.sigma1_ABC
    assert c.value == pytest.approx(1.0, rel=1e-12)
    assert d.ratio == pytest.approx(2.0) and c.ratio == pytest.approx(1.0)


def test_scaling_B_scales_the_bound(rng):
    """Both forms are homogeneous of degree one in B (docs/theory/theorem3.rst: α on σ_1(B), α on
    the bound)."""
    A, B, C = random_triple(rng)
    for variant in numerics.BOUND_VARIANTS:
        b1 = cross_block_bound(A, B, C, variant=variant)
        b2 = cross_block_bound(A, 1e3 * B, C, variant=variant)
        scale = b1.sA * b1.sB1 * b1.sC
        assert b2.value == pytest.approx(1e3 * b1.value, rel=1e-9, abs=1e-6 * scale)


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("which", ["A", "B", "C"])
def test_nan_input_names_the_parameter(xp, which):
    mats = dict(A=np.ones((2, 2)), B=np.ones((2, 2)), C=np.ones((2, 2)))
    mats[which] = mats[which].copy()
    mats[which][0, 1] = np.nan
    with pytest.raises(InputError, match=rf"cross_block_bound: {which} must have finite"):
        cross_block_bound(*on(xp, mats["A"], mats["B"], mats["C"]))
    with pytest.raises(InputError, match=rf"{which} must have finite"):
        cross_block_terms(*on(xp, mats["A"], mats["B"], mats["C"]))


@pytest.mark.parametrize("shapes", [((2, 3), (2, 2), (2, 2)), ((2, 2), (2, 3), (2, 2))])
def test_non_chaining_shapes_raise(xp, shapes):
    A, B, C = (np.ones(sh) for sh in shapes)
    with pytest.raises(InputError, match=r"shapes must chain.*A\(.*B\(.*C\("):
        cross_block_bound(*on(xp, A, B, C))


def test_wrong_ndim_and_empty_raise():
    with pytest.raises(InputError, match="B must have 2 dimensions"):
        cross_block_bound(np.ones((2, 2)), np.ones(2), np.ones((2, 2)))
    with pytest.raises(InputError, match="C must be non-empty"):
        cross_block_bound(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 0)))


@pytest.mark.parametrize("variant", ["display", "", "CORRECTED", None])
def test_unknown_variant_raises(variant):
    with pytest.raises(InputError, match=r"cross_block_bound: variant must be one of"):
        cross_block_bound(np.eye(2), np.eye(2), np.eye(2), variant=variant)
