"""The ``scale.*`` checks: they pass at small size, a 1 % planted error is caught, and a structured
solver that disagrees with the planted closed form gives an ERROR, never a verdict."""

from __future__ import annotations

import pytest

from specdef.validation import Context, Status, run_checks, select

GROWTH, WORST = "specdef.hessian.sigma1_growth", "gd.quadratic.worst_case_value"


@pytest.fixture(scope="module")
def report():
    return run_checks(select(["scale"]), Context(), progress=False)


def test_scale_checks_pass_at_small_size(report):
    recs = {r.check: r for r in report.results}
    assert set(recs) == {"scale.joint_spectrum", "scale.batched_gd"} and report.passed
    joint = recs["scale.joint_spectrum"]
    assert joint.params["d"] == 64 and joint.params["n_rows"] == 2 * 64 * 64
    assert all(e["relative_gap"] <= e["allowed"] and e["method"] == "lanczos"
               for e in joint.data["ends"])
    # tight to 1/(α²s_1²): the reported row is α = 10, ratio 1.01 at most
    assert 1.0 <= joint.empirical / joint.proven <= 1.0 + 1.01e-2
    batched = recs["scale.batched_gd"]
    assert batched.status == Status.TIGHT and batched.params["B"] == 512


PLANTED = [("scale.joint_spectrum", GROWTH, 1.01), ("scale.batched_gd", WORST, 1.01),
           ("scale.batched_gd", WORST, 0.99)]


@pytest.mark.parametrize("check_id, theorem, factor", PLANTED)
def test_planted_error_is_caught(check_id, theorem, factor):
    rep = run_checks(select([check_id]), Context(perturb={theorem: factor}), progress=False)
    assert not rep.passed
    assert {r.status for r in rep.results} <= {Status.VIOLATED, Status.LOOSE}


def test_a_wrong_structured_solver_is_an_error_not_a_verdict(monkeypatch):
    from specdef import numerics
    from specdef.numerics import JointExtremes

    def off_by_a_bit(*args, **kw):
        return JointExtremes(1e9, 1e-3, "lanczos")  # far from the planted closed form

    monkeypatch.setattr(numerics, "joint_extremes_zero_residual", off_by_a_bit)
    rep = run_checks(select(["scale.joint_spectrum"]), Context(), progress=False)
    (rec,) = rep.results
    assert rec.status == Status.ERROR and rec.detail.startswith("premise failed")
