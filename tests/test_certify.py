"""``specdef certify``: exit statuses, the certificate's contents, a planted error, resume.

SpecDef is certified by ``--quick`` (exit 0); the built-in diagonal rescaling is not (Sophia,
which sees the diagonal of the curvature, undoes an axis-aligned rescaling: exit 1, named on
stdout), so the two certificates differ; a do-nothing defence (a planted error) breaks every
recipe; usage errors are one line and exit 2; an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from specdef.validation.certify import (CertificateFileError, CertifyConfig, certify,
                                        recipe_names)
from specdef.validation.cli.main import main

DIAGONAL = "specdef.validation.defences:diagonal_rescaling"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["certify", "--no-progress", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``--quick`` for SpecDef and for the diagonal rescaling: (rc, stdout, certificate, dir)."""
    out = {}
    for name, extra in (("specdef", ()), ("diagonal", ("--defence", DIAGONAL))):
        d = tmp_path_factory.mktemp(name)
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = main(["certify", "--quick", "--no-progress", "--out", str(d), *extra])
        cert = json.loads((d / "certificate.json").read_text(encoding="utf-8"))
        out[name] = (rc, buf.getvalue(), cert, d)
    return out


def test_specdef_quick_is_certified(quick):
    rc, stdout, cert, d = quick["specdef"]
    assert rc == 0, stdout
    assert "CERTIFIED" in stdout and cert["holds"] is True and cert["broken"] == []
    assert len(cert["recipes"]) >= 7
    for r in cert["recipes"].values():
        assert math.log10(max(r["lrs"]) / min(r["lrs"])) >= 5 - 1e-9
        assert r["undefended"]["best_steps"] is not None
        for per in r["modes"].values():
            v = per["10000"]
            assert v["verdict"] in ("not within budget", "diverged", "slowed")
    assert (d / "certificate.png").stat().st_size > 10_000
    assert (d / "certificate.pdf").is_file()


def test_certificate_keeps_one_record_per_configuration(quick):
    _, _, cert, _ = quick["specdef"]
    cfg = cert["config"]
    n_lrs = {name: len(r["lrs"]) for name, r in cert["recipes"].items()}
    expected = sum(n * len(cfg["modes"]) * len(cfg["alphas"]) for n in n_lrs.values())
    assert len(cert["records"]) == expected
    for rec in cert["records"]:
        assert rec["status"] in ("converged", "diverged", "budget")
        if rec["status"] == "budget":  # not recovered: slowed at least min_slowdown (a bound)
            assert rec["lower_bound"] and rec["slowdown"] == pytest.approx(
                cert["recipes"][rec["recipe"]]["defended_budget"] / rec["steps_undefended"])
        assert rec["breaks"] == (rec["status"] == "converged"
                                 and rec["slowdown"] < cert["min_slowdown"])
    w = cert["worst_case"]
    assert w is not None and w["slowdown"] >= cert["min_slowdown"]


def test_diagonal_rescaling_gives_another_certificate(quick):
    rc, stdout, cert, _ = quick["diagonal"]
    assert rc == 1
    assert cert["holds"] is False and cert["broken"]
    line = [ln for ln in stdout.splitlines() if ln.startswith("BROKEN by:")]
    assert line and "Sophia" in line[0]
    sd = quick["specdef"][2]
    verdicts = lambda c: {(n, m): v["10000"]["verdict"]  # noqa: E731
                          for n, r in c["recipes"].items() for m, v in r["modes"].items()}
    assert verdicts(sd) != verdicts(cert)
    assert cert["defence"] == DIAGONAL and sd["defence"] == "specdef"


def test_a_do_nothing_defence_breaks_every_recipe(capsys, tmp_path):
    """Planted error: a defence that returns (W, I) must not be certified."""
    path = tmp_path / "noop.py"
    path.write_text("import numpy as np\n\ndef noop(W, alpha, k):\n"
                    "    return W, np.eye(W.shape[0], dtype=W.dtype)\n", encoding="utf-8")
    rc, out, err = run_cli(capsys, "--quick", "--optimisers", "sgd,adam", "--defence",
                           f"{path}:noop", "--json")
    assert rc == 1, err
    assert err.startswith("BROKEN by:") and "SGD" in err  # stdout stays one JSON document
    cert = json.loads(out)
    assert cert["holds"] is False
    assert {b["recipe"] for b in cert["broken"]} == {"sgd", "adam"}


@pytest.mark.parametrize("argv, needle", [
    (("--optimisers", "sgd,nope"), "--optimisers"),
    (("--alpha", "1"), "--alpha"),
    (("--alpha", "abc"), "--alpha"),
    (("--lrs", "1:0.1:3"), "--lrs"),
    (("--min-slowdown", "1"), "--min-slowdown"),
    (("--budget", "0"), "--budget"),
    (("--resume",), "--resume"),
    (("--model", "cnn"), "--model"),
    (("--defence", "no_such_module_xyz:f"), "--defence"),
])
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, needle):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_resume_keeps_finished_recipes(tmp_path):
    cfg = CertifyConfig(optimisers=["sgd", "adam", "adamw"], per_decade=1, budget=200)
    from specdef.numerics import specdef

    seen = []

    def stop_at_adam(name):
        seen.append(name)
        if name == "adam":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        certify(cfg, specdef, "specdef", out=tmp_path, progress=stop_at_adam)
    part = json.loads((tmp_path / "certificate.json").read_text(encoding="utf-8"))
    assert part["completed"] == ["sgd"]
    seen.clear()
    cert = certify(cfg, specdef, "specdef", out=tmp_path, resume=True, progress=seen.append)
    assert seen == ["adam", "adamw"]
    assert cert["completed"] == recipe_names(cfg)
    fresh = certify(cfg, specdef, "specdef")
    assert cert["records"] == fresh["records"] and cert["holds"] == fresh["holds"]
    with pytest.raises(CertificateFileError, match="other options"):
        certify(CertifyConfig(optimisers=["sgd"], per_decade=1, budget=200), specdef,
                "specdef", out=tmp_path, resume=True)


def test_resume_with_other_options_is_a_usage_error(capsys, tmp_path):
    rc, _, _ = run_cli(capsys, "--quick", "--optimisers", "sgd", "--out", str(tmp_path))
    assert rc == 0
    rc, _, err = run_cli(capsys, "--quick", "--optimisers", "adam", "--out", str(tmp_path),
                         "--resume")
    assert rc == 2 and "other options" in err and err.count("\n") == 1


def test_lora_recipes_and_options_reach_the_certificate(capsys, tmp_path):
    rc, out, err = run_cli(capsys, "--optimisers", "adam", "--lora-ranks", "2", "--lrs",
                           "1e-4:10:6", "--clip", "1.0", "--seeds", "2", "--budget", "200",
                           "--out", str(tmp_path), "--json")
    cert = json.loads((Path(tmp_path) / "certificate.json").read_text(encoding="utf-8"))
    assert set(cert["recipes"]) == {"adam", "lora2"}
    assert cert["config"]["clip"] == 1.0 and cert["config"]["seeds"] == [0, 1]
    assert len(cert["recipes"]["adam"]["lrs"]) == 6
    assert rc == (0 if cert["holds"] else 1)
