"""Number formats (docs/theory/number_formats.rst): function preservation, stall thresholds,
the GD window.

SpecDef's inflated weights are α times larger than the originals; in bfloat16, float16 and
float8 that turns the rate control into something else.  These checks measure it per format
(bfloat16, float16, float8-e4m3fn, float8-e5m2, float32) and per arithmetic model (*pure*:
everything stored and rounded in the format; *mixed*: weights stored in the format, compute in
float32), with the kernels of :mod:`numerics` (``ml_dtypes`` formats on the host), against the
theorems of the ``precision`` family of :mod:`theory`.

Checks
------
``precision.function_preservation``  (``specdef.function_preservation``, upper)
    ``‖fl(C fl(W̃X)) − WX‖_F/(‖W‖₂‖X‖_F)`` on a 4×8 layer (k = 1) against ``c·α·u_F``,
    ``c = √r + √m + 3``, α = 1 … 1e6.  One record per format and model; the detail starts with
    the error at α = 10⁴.  Overflowing points (float8-e4m3: W̃ entries beyond 448 from
    α ≈ 2·10³) and float8-e5m2 (``2cu > 1``: outside the first-order model) are reported in
    ``data`` without a verdict.  The bound is loose (errors are ~0.2·α·u): a planted error must
    shrink the bound below the measured error (``perturb`` 0.01) to be caught.
``precision.stall_threshold.gd``  (``precision.stall_threshold.gd``, exact)
    The smallest GD learning rate whose first step changes a stored entry of W̃ (k = m, so
    ``C = I/α``), by bisection on the actual step in the format and model, against the minimum
    over entries of ``u α² |w|/|g| / f`` (halved where a power of two moves toward zero; the
    absorbed-update radius for subnormal entries).  α ∈ {1, 2⁴, 2⁸, 10⁴, 2¹⁶}; tolerance
    :func:`.instances.stall_rtol` (``3u_F + 2u_F²`` pure, ``4·2^(p−24)`` mixed), so a 1 % error is caught
    in every mixed record and in the pure float16/float32 ones.  Pure-model points where an
    update at the threshold is subnormal in F or the threshold exceeds F's max (the learning
    rate itself overflows) are outside the theorem's hypothesis: kept in ``data``, no verdict.
    ``data`` has the measured and predicted curves and the fitted log-log slope (2).
``precision.stall_threshold.adamw``  (``precision.stall_threshold.adam``, exact)
    The same for AdamW's first step (ε = 1e-8, no decay) in the mixed model, against
    ``u 2^E (1 + εα/|g|)`` (``2^E ≤ α|w| < 2^(E+1)``): slope 1.  Pure low-precision AdamW is
    not run: ε = 1e-8 rounds to 0 and ``g²`` underflows, so its first step is ±inf
    (``data["pure_model"]``).
``precision.stall_scaling``  (``precision.stall_scaling.<family>``, exact)
    Every optimiser of the practical suite — GD, SGD with Nesterov momentum, Adam, Muon, Sophia
    (default γ: every ratio clipped; γ = 10⁸: none clipped) and AdaHessian — run by its own code
    on rounded operands (:func:`numerics.train_in_format`), pure and mixed, in bfloat16, float16,
    float8-e4m3fn and float32 (float8-e5m2 too at ``paper`` size): the first-step stall threshold
    at α = 2⁴, 2⁸ (… 2¹⁶) against ``α^(1+d)·η*(1)`` with the family's degree ``d`` (α², α², α, α,
    α, 1, 1).  Tolerance ``4·10⁻⁹`` (two bisection brackets): power-of-two scaling is exact, so a
    1 % error fails every record.  Points where something overflows, comes within 2¹⁶ of
    underflow, or the first step is not finite (pure float16 Adam) are data, not verdicts.
``precision.gd_window``  (``precision.gd_window.closing_alpha``, ``…stable_rate_below``; exact)
    Per format (mixed model, GD, C and W̃ trained jointly): the α* where the measured stall
    threshold meets the stable rate ``2/λ_max`` of the joint Hessian (window closed), against
    ``(2/(u r s))^(1/4)`` with ``s = σ_1(WΣ_xWᵀ)`` and ``r = min|W/G|`` of the undefended
    float64 layer, within the binade band ``2^(1/4)(1 + 3u/ρ)^(1/4)`` (a verdict for bfloat16,
    float16 and float32; data for the float8 formats, whose stored weights move the gradient
    itself); the α where the stored stable rate ``fl_F(2/λ_max)`` becomes subnormal (the real
    rate below ``N − S/2``) and 0 (below ``S/2``), against ``(2/(sℓ))^(1/2)``, rtol
    ``1e-6 + √(‖Σ_x‖/s)/α²``.  ``data`` of the closing records carries the curves of figure 8.
``precision.paper_claim``  (``precision.paper_claim.<format>``, upper)
    The paper's "α ≥ 10⁶ pushes the feasible learning rate below the smallest effective learning
    rate (subnormal region)" per format: measured ``max(α*, α_subnormal)`` against 10⁶,
    ``HOLDS`` or ``REFUTED`` (with the layer as counterexample); expected: holds for float16 and
    the float8 formats, refuted for bfloat16 and float32 (their stable rate at α = 10⁶ is a
    normal number, ~10⁻¹²; the window closed long before, at α* ≈ 5-100, by absorption).

Tolerances of this family come from the formats (:mod:`.instances`), not from ``ctx.dtype``.
"""

#: Place of this family in ``specdef list --checks`` (see :mod:`specdef.validation.checks`).
ORDER = 80

# the order of these imports is the order in which the checks are registered (and listed)
from .preservation import check_function_preservation  # noqa: E402,F401
from .stall import check_stall_adamw, check_stall_gd  # noqa: E402,F401
from .optimisers import check_stall_scaling  # noqa: E402,F401
from .window import check_gd_window, check_paper_claim  # noqa: E402,F401

__all__: list[str] = []
