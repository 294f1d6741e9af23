"""How the first-step stall threshold of each optimiser family scales with α (number formats).

Notes
-----
Take the SpecDef layer with every output direction inflated (``k = m``): ``W̃ = αW``,
``C = I/α`` frozen.  For ``α = 2^j`` a power of two, scaling by ``α`` is exact in binary
floating point, so every quantity the first step computes is an exact power-of-two multiple of
its value at ``α = 1``, as long as nothing overflows or underflows (every value involved stays
a normal number of its format): the stored entries ``w̃ = αw``, the gradient ``g̃ = g/α``
(``C`` passes it shrunk), the Hessian diagonal and Hutchinson's ``z ⊙ Hz`` of the ``W̃``-block,
``h̃ = h/α²`` (the block is ``CᵀC ⊗ Σ_x``).  If the optimiser's first direction is homogeneous,
``D(g/α, h/α²) = α^(−d) D(g, h)``, then rounding commutes with the scaling, the absorption
radius of ``w̃`` is ``α`` times that of ``w`` and the smallest learning rate whose first step
changes a stored entry obeys, exactly,

.. math::

    \\eta^*(\\alpha) = \\alpha^{1+d}\\,\\eta^*(1).

The degree ``d`` of each family (first step: momentum buffers start at 0, bias corrections are
constants):

* gradient descent ``D = g`` and SGD with (Nesterov) momentum ``D = (1+μ)g``: ``d = 1``,
  threshold ``∝ α²``;
* Adam/AdamW without decay, ``ε`` absorbed (``D = m̂/√v̂ = g/|g|``): ``d = 0``, ``∝ α``;
* Muon: Newton–Schulz runs on ``M/‖M‖_F`` (``ε`` absorbed) and the exact polar factor is scale
  free: ``d = 0``, ``∝ α``;
* Sophia with every ratio clipped (``|m/(γh)| ≥ 1``, the sign-like regime; with the default
  ``γ = 0.01`` the ratios grow like α, so a layer enters it from some α on): ``D = sign(m)``,
  ``d = 0``, ``∝ α``;
* Sophia with no ratio clipped (large ``γ``, Newton-like): ``D = m/(γh)``, ``d = −1``,
  threshold independent of α;
* AdaHessian (Hessian power 1, ``ε`` absorbed): ``D = m̂/√v̂_h = g/|h|``, ``d = −1``, independent
  of α.

So, in every format, the defence's absorption grows like α² for plain and momentum SGD, like α
for the sign-like and orthogonalising optimisers, and not at all for the diagonal-Newton ones.
For α not a power of two the binade position of ``αw`` moves and the law holds up to a factor
in ``(1/2, 2)``.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any, Mapping

import sympy as sp

from ._precision import _REF, _numeric_by_oracle, _threshold, round_nearest_even
from ._registry import register
from ._records import Assumption, Verdict, require
from ._theorem import Theorem

__all__ = ["STALL_FAMILIES", "derive_stall_degrees"]

#: Family -> (statement of the first direction, expected degree d, reference).
STALL_FAMILIES = {
    "gd": ("D = g", 1, "gradient descent"),
    "sgd_momentum": ("D = (1+\\mu) g", 1, "Polyak (1964); Nesterov (1983); torch.optim.SGD"),
    "adam": ("D = \\hat m/\\sqrt{\\hat v} = g/|g|", 0, "Kingma & Ba (2015)"),
    "muon": ("D = \\mathrm{NS}(M/\\|M\\|_F)", 0, "Jordan et al. (2024), Muon"),
    "sophia": ("D = \\mathrm{clip}(m/(\\gamma h), 1) = \\mathrm{sign}(m)", 0,
               "Liu et al. (2024), Sophia"),
    "sophia_unclipped": ("D = m/(\\gamma h)", -1, "Liu et al. (2024), Sophia"),
    "adahessian": ("D = \\hat m/\\sqrt{\\hat v_h} = g/|h|", -1, "Yao et al. (2021), AdaHessian"),
}

alpha, eta1 = sp.symbols("alpha eta1", positive=True)
_g, _h, _mu, _gamma, _b1 = sp.symbols("g h mu gamma beta1", positive=True)
_SYMS = {"alpha": alpha, "eta1": eta1}


def _directions() -> dict[str, sp.Expr]:
    """First directions as functions of the gradient ``g`` and Hessian diagonal ``h``.

    Muon's is the first Newton–Schulz step on a 2×2 gradient (``g`` and three more entries),
    entry (0, 0): the iteration is a polynomial in the Frobenius-normalised matrix.
    """
    g2, g3, g4 = sp.symbols("g2 g3 g4", positive=True)
    Mx = sp.Matrix([[_g, g2], [g3, g4]])
    X = Mx / sp.sqrt(sum(x**2 for x in Mx))
    a, b, c = (sp.Rational(34445, 10000), sp.Rational(-4775, 1000), sp.Rational(20315, 10000))
    A = X * X.T
    ns = (a * X + (b * A + c * A * A) * X)[0, 0]
    m1 = (1 - _b1) * _g  # first moment after one step (bias correction 1/(1 - β1) a constant)
    return {"gd": _g, "sgd_momentum": (1 + _mu) * _g, "adam": m1 / (1 - _b1) / sp.sqrt(_g**2),
            "muon": ns, "sophia": sp.sign(m1), "sophia_unclipped": m1 / (_gamma * _h),
            "adahessian": (m1 / (1 - _b1)) / sp.sqrt(_h**2)}


@lru_cache(maxsize=1)
def _degrees() -> tuple:
    return tuple(_derive().items())


def derive_stall_degrees() -> dict[str, sp.Expr]:
    """Degree ``d`` with ``D(g/α, h/α², ...) = α^(−d) D(g, h, ...)``, per family (SymPy)."""
    return dict(_degrees())


def _derive() -> dict[str, sp.Expr]:
    """Degree ``d`` with ``D(g/α, h/α², ...) = α^(−d) D(g, h, ...)``, per family (SymPy)."""
    out = {}
    for fam, D in _directions().items():
        scaled = D.subs({_g: _g / alpha, _h: _h / alpha**2,
                         **{s: s / alpha for s in D.free_symbols if s.name in ("g2", "g3", "g4")}},
                        simultaneous=True)
        r = sp.simplify(sp.powsimp(scaled / D, force=True))
        d = sp.simplify(-sp.expand_log(sp.log(r), force=True) / sp.log(alpha))
        out[fam] = d
    return out


def _power_of_two(values: Mapping[str, Any]) -> Any:
    """``alpha`` is ``2^j`` with ``j >= 0`` (elementwise: frexp's mantissa is exactly 1/2)."""
    import numpy as np

    v = np.asarray(values["alpha"], dtype=float)
    return (np.frexp(v)[0] == 0.5) & (v >= 1)


POWER_OF_TWO = Assumption("alpha_power_of_two", _power_of_two,
                          "alpha must be a power of two 2^j, j >= 0", ("alpha",))


def _bound(fam: str) -> sp.Expr:
    return eta1 * alpha ** (1 + STALL_FAMILIES[fam][1])


def _prove(fam: str) -> Any:
    def prover(th: Theorem) -> Verdict | None:
        d = derive_stall_degrees()[fam]
        if not d.is_number or sp.simplify(th.bound - eta1 * alpha ** (1 + d)) != 0:
            return None
        return Verdict("proved", "sympy", f"the first direction has degree d = {d} (SymPy: "
                       f"D(g/α, h/α²) = α^({-d}) D(g, h)); with exact power-of-two scaling "
                       f"commuting with rounding and the absorption radius scaling by α, "
                       f"η*(α) = α^{1 + d} η*(1) (that step is the module's argument, checked "
                       f"by exact rounding in the numeric check)")
    return prover


# ----------------------------------------------------------------------------- exact oracle
def _direction_value(fam: str, g: Fraction, h: Fraction, bits: int) -> Fraction:
    """The family's first direction for one entry, each operation rounded to ``bits``."""
    rnd = lambda x: round_nearest_even(x, bits)  # noqa: E731
    if fam == "gd":
        return rnd(g)
    if fam == "sgd_momentum":
        return rnd(rnd(Fraction(19, 10)) * g)  # Nesterov, μ = 0.9: g + μ·(μ·0 + g)
    if fam in ("adam", "muon", "sophia"):
        return Fraction(1) if g > 0 else Fraction(-1)  # g/|g|; a 1×1 polar factor; sign
    if fam == "sophia_unclipped":
        return rnd(rnd(rnd(Fraction(35, 1000)) * g) / rnd(rnd(Fraction(10**6)) * h))
    return rnd(g / abs(h))  # adahessian


def _oracle(fam: str) -> Any:
    def oracle(pt: Mapping[str, Any]) -> Fraction:
        bits, k = int(pt["bits"]), int(pt["j"])
        a = Fraction(2) ** k
        w, g, h = (Fraction(pt[x]) for x in ("w", "g", "h"))
        return _threshold(bits, a * w, _direction_value(fam, g / a, h / (a * a), bits))
    return oracle


def _points(fam: str) -> list[dict]:
    """Entries stored in ``bits`` (w, g, h), α = 2^j; ``eta1`` is the exact threshold at α = 1."""
    out, oracle = [], _oracle(fam)
    for n, bits in enumerate((4, 8, 11, 24)):
        M = 2 ** (bits - 1) + (7 * n + 3) % 2 ** (bits - 1)
        w = Fraction(M, 2 ** (bits - 1)) * Fraction(2) ** (n - 2)
        g = -round_nearest_even(Fraction(3, 7 + n), bits)  # a descent step moves w up
        h = round_nearest_even(Fraction(5 + n, 11), bits)
        base = {"bits": bits, "w": w, "g": g, "h": h, "j": 0}
        e1 = oracle(base)
        for j in (1, 4, 9):
            out.append({**base, "j": j, "alpha": float(2**j), "eta1": float(e1)})
    return out


def _theorem(fam: str) -> Theorem:
    stmt, d, ref = STALL_FAMILIES[fam]
    tid = f"precision.stall_scaling.{fam}"
    return Theorem(
        id=tid,
        statement=r"\eta^*(\alpha) = \alpha^{" + str(1 + d) + r"}\,\eta^*(1)\quad(" + stmt
                  + r";\ \alpha = 2^j,\ \tilde W=\alpha W,\ C=I/\alpha\ \text{frozen})",
        symbols=dict(_SYMS),
        assumptions=(POWER_OF_TWO, require("eta1_positive", "eta1 > 0", _SYMS)),
        bound=_bound(fam), kind="exact", expectation="holds",
        reference=_REF + "; " + ref, parameters=("alpha", "eta1"),
        derived={"degree": derive_stall_degrees()[fam], "exponent": sp.Integer(1 + d)},
        box={"alpha": (1.0, 65536.0, "log"), "eta1": (1e-12, 1.0, "log")},
        prover=_prove(fam),
        numeric=lambda th: _numeric_by_oracle(th, _points(fam), _oracle(fam),
                                              f"{fam} first-step stall threshold"),
        n_points=12)


for _fam in STALL_FAMILIES:
    register(f"precision.stall_scaling.{_fam}")(lambda _f=_fam: _theorem(_f))
