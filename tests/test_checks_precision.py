"""The ``precision.*`` checks: they pass at small size, report what the issue asks for (the
function-preservation error at α = 10⁴, the closing α* and a verdict on the paper's claim per
format), and every verdict can fail (planted errors)."""

from __future__ import annotations

import math

import pytest

from specdef.validation import Context, Status, run_checks, select

PRESERVE, GD, ADAM = ("specdef.function_preservation", "precision.stall_threshold.gd",
                      "precision.stall_threshold.adam")
CLOSING, BELOW = "precision.gd_window.closing_alpha", "precision.gd_window.stable_rate_below"


@pytest.fixture(scope="module")
def report():
    return run_checks(select(["precision"]), Context(), progress=False)


def _by(report, check_id):
    return [r for r in report.results if r.check == check_id]


def test_precision_checks_pass_at_small_size(report):
    assert report.passed, [(r.check, r.status, r.detail) for r in report.results if not r.passed]
    for r in report.results:  # every verdict names two different code paths
        if not r.is_data:
            prov = r.data["provenance"]
            assert prov["empirical"] != prov["proven"], r.check
    assert {r.check for r in report.results} == {
        "precision.function_preservation", "precision.stall_threshold.gd",
        "precision.stall_threshold.adamw", "precision.stall_scaling", "precision.gd_window",
        "precision.paper_claim"}


def test_function_preservation_at_1e4_per_format(report):
    recs = {(r.params["format"], r.params["model"]): r for r in
            _by(report, "precision.function_preservation")}
    for fmt in ("bfloat16", "float16", "float8_e4m3fn", "float32"):
        for mod in ("pure", "mixed"):
            rec = recs[(fmt, mod)]
            assert "err(α=1e4)" in rec.detail and rec.status == Status.HOLDS
    assert recs[("bfloat16", "mixed")].data["error_at_1e4"] > 1  # the whole signal is lost
    assert recs[("float16", "mixed")].data["error_at_1e4"] < 1
    assert recs[("float8_e4m3fn", "pure")].data["error_at_1e4"] == "inf"  # W̃ overflows 448
    assert "float8_e5m2" not in {f for f, _ in recs}  # 2cu > 1: data only
    assert "e5m2_mixed" in recs[("float16", "pure")].data["outside_model"]


def test_stall_thresholds_are_tight_and_scale_like_the_theorems(report):
    for rec in _by(report, "precision.stall_threshold.gd"):
        assert rec.status == Status.TIGHT
        if rec.params["model"] == "mixed":
            assert rec.data["loglog_slope"] == pytest.approx(2.0, abs=0.05)
    for rec in _by(report, "precision.stall_threshold.adamw"):
        assert rec.status == Status.TIGHT and rec.params["model"] == "mixed"
        assert "±inf" in rec.data["pure_model"] or rec.data["pure_model"] == "pure = mixed"


def test_window_and_paper_claim_per_format(report):
    closing = {r.params["format"]: r for r in _by(report, "precision.gd_window")
               if r.theorem == CLOSING}
    claims = {r.params["format"]: r for r in _by(report, "precision.paper_claim")}
    for fmt in ("bfloat16", "float16", "float8_e4m3fn"):
        assert "window closes at α*" in closing[fmt].detail
        assert 1 < closing[fmt].empirical < 1e3  # closed by absorption far below 10⁶
    for fmt in ("bfloat16", "float16", "float32"):
        assert closing[fmt].status == Status.TIGHT
        assert 1 - 1e-6 <= closing[fmt].ratio <= 2 ** 0.25 * 1.01  # the binade band
    assert closing["float8_e4m3fn"].status == Status.MEASURED  # data: the gradient moves too
    assert claims["bfloat16"].status == Status.REFUTED and claims["bfloat16"].passed
    assert claims["float32"].status == Status.REFUTED
    for fmt in ("float16", "float8_e4m3fn", "float8_e5m2"):
        assert claims[fmt].status == Status.HOLDS and claims[fmt].passed
        assert claims[fmt].data["alpha_zero"] < 1e6  # the stable rate is flushed to 0 by then
    inst = claims["bfloat16"].instance
    assert inst["stable_rate"] > 1e-38  # a normal bfloat16 number at α = 10⁶


@pytest.mark.parametrize("check_id, theorem, factor", [
    ("precision.function_preservation", PRESERVE, 0.01),
    ("precision.stall_threshold.gd", GD, 1.01), ("precision.stall_threshold.gd", GD, 0.99),
    ("precision.stall_threshold.adamw", ADAM, 1.01),
    ("precision.stall_threshold.adamw", ADAM, 0.99),
    ("precision.gd_window", CLOSING, 0.7), ("precision.gd_window", CLOSING, 1.6),
    ("precision.gd_window", BELOW, 1.01), ("precision.gd_window", BELOW, 0.99)])
def test_planted_error_is_caught(check_id, theorem, factor):
    rep = run_checks(select([check_id]), Context(perturb={theorem: factor}), progress=False)
    assert not rep.passed
    bad = [r for r in rep.results if not r.passed]
    if theorem in (CLOSING, BELOW):  # every verdict record of that theorem fails
        assert all(not r.passed for r in rep.results if r.theorem == theorem and not r.is_data)
    assert {r.status for r in bad} <= {Status.VIOLATED, Status.LOOSE}
    if theorem in (GD, ADAM):  # a 1 % error is caught in every mixed-model record
        mixed = [r for r in rep.results if r.params.get("model") == "mixed"]
        assert mixed and all(r.status == Status.VIOLATED for r in mixed)


@pytest.mark.parametrize("fmt, factor", [("float16", 1e-4), ("float8_e4m3fn", 1e-5),
                                         ("bfloat16", 1e15), ("float32", 1e15)])
def test_planted_paper_alpha_flips_the_verdict(fmt, factor):
    tid = f"precision.paper_claim.{fmt}"
    rep = run_checks(select(["precision.paper_claim"]), Context(perturb={tid: factor}),
                     progress=False)
    rec = next(r for r in rep.results if r.params["format"] == fmt)
    assert not rec.passed
    assert rec.status == (Status.REFUTED if factor < 1 else Status.HOLDS)
    assert math.isclose(rec.proven, 1e6 * factor)


SCALING = {"gd": 2, "sgd_nesterov": 2, "adam": 1, "muon": 1, "sophia": 1, "sophia_newton": 0,
           "adahessian": 0}


def test_every_optimiser_has_its_power_of_alpha_in_the_formats(report):
    recs = {(r.params["optimiser"], r.params["model"]): r
            for r in _by(report, "precision.stall_scaling")}
    assert set(recs) == {(o, m) for o in SCALING for m in ("pure", "mixed")}
    for (opt, mod), rec in recs.items():
        assert rec.status == Status.TIGHT, (opt, mod, rec.detail)
        assert rec.data["exponent"] == SCALING[opt]
        # bfloat16 is inside the hypothesis in both models: its exponent range is float32's
        # (clipped Sophia starts its law at α = 16: at α = 1 some ratios are not clipped)
        assert all("regime" in why for why in rec.data["outside_hypothesis"].get("bf16", [])), \
            (opt, mod)
    # pure float16 Adam: g² underflows, the first step is not finite at any learning rate
    out = recs[("adam", "pure")].data["outside_hypothesis"]["fp16"]
    assert any("not finite" in why for why in out)


def test_planted_scaling_error_fails_every_scaling_verdict():
    perturb = {f"precision.stall_scaling.{fam}": 1.01 for fam in
               ("gd", "sgd_momentum", "adam", "muon", "sophia", "sophia_unclipped",
                "adahessian")}
    rep = run_checks(select(["precision.stall_scaling"]), Context(perturb=perturb),
                     progress=False)
    verdicts = [r for r in rep.results if not r.is_data]
    assert len(verdicts) == 14 and all(r.status == Status.VIOLATED for r in verdicts)
