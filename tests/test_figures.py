"""Figures: every figure renders from a small results fixture, at its size, non-blank and
byte-stable; missing data fails loudly; ``specdef figures`` / ``specdef reproduce`` behave.

The fixture ``fixtures/results_small.json`` is written by hand in the shape the checks emit, so
these tests never run a check.  ``reproduce`` is exercised with the check registry replaced by
checks that return the fixture's records.
"""

from __future__ import annotations

import copy
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from specdef import figures
from specdef.validation import cli
from specdef.validation.engine.records import Result
from specdef.validation.engine.registry import Check

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
NAMES = figures.names()


def fixture_doc() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def fake_checks(doc: dict, keep=lambda cid: True) -> list[Check]:
    """Checks that return the fixture's records (the registry's ``select`` replacement)."""
    by_id: dict[str, list[dict]] = {}
    for rec in doc["results"]:
        by_id.setdefault(rec["check"], []).append(rec)
    return [Check(id=cid, theorem=recs[0]["theorem"], description="fixture", claim="test",
                  fn=lambda ctx, recs=recs: [Result.from_dict(r) for r in recs])
            for cid, recs in by_id.items() if keep(cid)]


def run_reproduce(monkeypatch, out: Path, checks: list[Check]) -> int:
    import specdef.validation.engine.registry as registry

    monkeypatch.setattr(registry, "select", lambda patterns=None: checks)
    return cli.main(["reproduce", "--out", str(out), "--no-progress"])


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """``specdef reproduce`` on the fixture's records: (exit status, output directory)."""
    out = tmp_path_factory.mktemp("reproduce")
    with pytest.MonkeyPatch.context() as mp:
        rc = run_reproduce(mp, out, fake_checks(fixture_doc()))
    return rc, out


def png_info(path: Path) -> tuple[int, int, float]:
    """(width, height, dots per inch) from the IHDR and pHYs chunks."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name}: not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    pos, dpi = 8, None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        if kind == b"pHYs":
            ppx, ppy, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            assert unit == 1 and ppx == ppy
            dpi = ppx * 0.0254
        pos += 12 + length
    assert dpi is not None, f"{path.name}: no pHYs chunk"
    return width, height, dpi


# ------------------------------------------------------------------------------ registry
def test_registry_is_derived_from_the_modules():
    mods = sorted((p.stem for p in Path(figures.__file__).parent.glob("fig*.py")),
                  key=lambda s: int(re.match(r"fig(\d+)_", s)[1]))  # fig2 before fig10
    assert len(NAMES) == len(mods) >= 7
    assert [figures.get(n).module.rsplit(".", 1)[1] for n in NAMES] == mods
    for n in NAMES:
        spec = figures.get(n)
        assert spec.checks and spec.caption and spec.size[0] in (figures.SINGLE, figures.DOUBLE)


def test_figures_package_is_light_and_independent():
    code = ("import sys; from specdef import figures; figures.names(); "
            "light = not {'matplotlib', 'specdef.numerics', 'specdef.theory', 'specdef.validation'} & set(sys.modules); "
            f"fig = figures.make('theorem3', {str(FIXTURE)!r}); "
            "print(light, sorted({'specdef.numerics', 'specdef.theory', 'specdef.validation'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "[]"]


# ------------------------------------------------------------------------------ reproduce
def test_reproduce_makes_everything(reproduced):
    rc, out = reproduced
    assert rc == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    doc = fixture_doc()
    for cid in {r["check"] for r in doc["results"]}:
        assert f"`{cid}`" in report
    for n in NAMES:
        assert f"![{n}](figures/{n}.png)" in report
        assert (out / "figures" / f"{n}.pdf").is_file()
    assert "Missing" not in report and "FAIL" not in report
    assert json.loads((out / "results.json").read_text())["meta"]["size"] == "small"


@pytest.mark.parametrize("name", NAMES)
def test_png_has_the_size_and_is_not_blank(reproduced, name):
    _, out = reproduced
    path = out / "figures" / f"{name}.png"
    width, height, dpi = png_info(path)
    w_in, h_in = figures.get(name).size
    assert dpi == pytest.approx(figures.DPI, abs=0.01)
    assert (width, height) == (round(w_in * figures.DPI), round(h_in * figures.DPI))
    from PIL import Image

    with Image.open(path) as im:
        grey = np.asarray(im.convert("L"), dtype=float)
    assert grey.var() > 200.0, f"{name}: nearly uniform image"
    assert 0.02 < (grey < 250).mean() < 0.6, f"{name}: blank or flooded"


@pytest.mark.parametrize("name", NAMES)
def test_pdf_is_valid_sized_and_undated(reproduced, name):
    _, out = reproduced
    data = (out / "figures" / f"{name}.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    w_in, h_in = figures.get(name).size
    assert box and (float(box[1]), float(box[2])) == pytest.approx((w_in * 72, h_in * 72))
    assert b"/CreationDate" not in data and b"/ModDate" not in data
    assert b"specdef-toolkit" in data


def test_figures_rerun_is_byte_identical(reproduced, tmp_path):
    """A fresh process (another hash seed) reproduces reproduce's files byte for byte; SVG too."""
    _, out = reproduced
    env = dict(os.environ, PYTHONHASHSEED="12345")
    res = subprocess.run([sys.executable, "-m", "specdef.validation.cli", "figures", "--results",
                          str(out), "--out", str(tmp_path / "a"), "--only", "theorem3",
                          "--format", "pdf,png,svg"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    for fmt in ("pdf", "png"):
        assert (tmp_path / "a" / f"theorem3.{fmt}").read_bytes() == \
            (out / "figures" / f"theorem3.{fmt}").read_bytes(), f"theorem3.{fmt} differs"
    svg = figures.render("theorem3", out, tmp_path / "b", formats=("svg",))[0].read_bytes()
    assert svg.startswith(b"<?xml") and svg == (tmp_path / "a" / "theorem3.svg").read_bytes()


def test_reproduce_reports_a_missing_figure_and_exits_1(monkeypatch, tmp_path):
    doc = fixture_doc()
    stale = tmp_path / "figures" / "attacks.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    rc = run_reproduce(monkeypatch, tmp_path,
                       fake_checks(doc, keep=lambda cid: cid.startswith("theorem3")))
    assert rc == 1
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "![theorem3](figures/theorem3.png)" in report
    assert re.search(r"\*\*Missing\*\*: figure 'attacks': .*c3\.", report)
    assert not stale.exists()  # no stale file of an earlier run passes for this one
    assert (tmp_path / "figures" / "theorem3.png").is_file()


# ------------------------------------------------------------------------------ loud failures
def without_check(doc: dict, check: str) -> dict:
    doc = copy.deepcopy(doc)
    doc["results"] = [r for r in doc["results"] if r["check"] != check]
    return doc


@pytest.mark.parametrize("name", NAMES)
def test_missing_check_fails_naming_figure_and_check(name):
    check = figures.get(name).checks[0]
    with pytest.raises(ValueError, match=rf"figure '{name}'.*'{re.escape(check)}'"):
        figures.make(name, without_check(fixture_doc(), check))


@pytest.mark.parametrize("name, check, key", [
    ("gd_worst_case", "gd.contraction.worst_case", "curves"),
    ("specdef_alpha", "c1.spectrum.frozen", "lambda_min"),
    ("second_order", "c2.newton", "method"),
    ("attacks", "c3.bypass", "overhead"),
    ("theorem3", "theorem3.real_hessian_blocks", "displayed_bound"),
    ("function_preservation", "specdef.function_preservation", "model_float32"),
    ("worst_case_value", "gd.worst_case_value", "value"),
    ("stall_scaling", "precision.stall_scaling", "thresholds"),
    ("stall_scaling", "precision.stall_scaling", "outside_hypothesis"),
])
def test_missing_field_fails_naming_the_field(name, check, key):
    doc = fixture_doc()
    for r in doc["results"]:
        if r["check"] == check:
            r["data"].pop(key, None)
    with pytest.raises(ValueError, match=rf"figure '{name}'.*'{re.escape(check)}'.*'{key}'"):
        figures.make(name, doc)


def test_a_crashed_check_is_named_with_its_status():
    doc = without_check(fixture_doc(), "specdef.function_preservation")
    doc["results"].append(dict(check="specdef.function_preservation", status="ERROR",
                               detail="RuntimeError: boom", data={}))
    with pytest.raises(ValueError, match="status ERROR: RuntimeError: boom"):
        figures.make("function_preservation", doc)


# ------------------------------------------------------------------------------ command line
def one_line_exit_2(capsys, argv: list[str], needle: str) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_cli_unknown_figure(capsys, tmp_path):
    one_line_exit_2(capsys, ["figures", "--results", str(FIXTURE), "--out", str(tmp_path),
                             "--only", "theorem3", "nonesuch"], "nonesuch")
    assert not list(tmp_path.iterdir())  # nothing drawn before the names are checked


def test_cli_missing_and_malformed_results(capsys, tmp_path):
    one_line_exit_2(capsys, ["figures", "--results", str(tmp_path / "none")], "no results file")
    bad = tmp_path / "results.json"
    bad.write_text('{"meta": {}, "results": [')
    one_line_exit_2(capsys, ["figures", "--results", str(tmp_path)], "not valid JSON")
    bad.write_text('{"results": []}')
    one_line_exit_2(capsys, ["figures", "--results", str(bad)], "'meta'")


def test_cli_figure_without_its_data_exits_2(capsys, tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(without_check(fixture_doc(), "c3.fusion")))
    one_line_exit_2(capsys, ["figures", "--results", str(tmp_path), "--only", "attacks"],
                    "'c3.fusion'")


def test_cli_bad_format(capsys):
    one_line_exit_2(capsys, ["figures", "--results", str(FIXTURE), "--format", "gif"], "gif")


def test_cli_list(capsys):
    assert cli.main(["figures", "--list"]) == 0
    assert [ln.split()[0] for ln in capsys.readouterr().out.splitlines()] == NAMES


def test_module_main(tmp_path, capsys):
    from specdef.figures import fig6_function_preservation as mod

    assert mod.main(["--results", str(FIXTURE), "--out", str(tmp_path), "--format", "png"]) == 0
    assert (tmp_path / "function_preservation.png").is_file()
    assert mod.main(["--results", str(tmp_path / "missing.json")]) == 2
    assert "no results file" in capsys.readouterr().err
