"""The validation engine: statuses, tolerances, atomic results, locking, resume."""

import json
import os
import re

import pytest

from specdef.validation import (Check, Context, DirectoryLock, LockedError, Result, ResultsFileError,
                        Status, compare, is_verdict, load_results, passes, provenance, rtol,
                        run_checks)
from specdef.validation.engine.store import atomic_write_json


@pytest.mark.parametrize("kind, emp, prv, side, status", [
    ("upper", 0.5, 1.0, "upper", Status.HOLDS),
    ("upper", 1.0 + 1e-12, 1.0, "upper", Status.TIGHT),
    ("upper", 1.01, 1.0, "upper", Status.VIOLATED),
    ("lower", 2.0, 1.0, "upper", Status.HOLDS),
    ("lower", 0.99, 1.0, "upper", Status.VIOLATED),
    ("exact", 3.0, 3.0, "upper", Status.TIGHT),
    ("exact", 3.0, 3.01, "upper", Status.VIOLATED),
    ("tight", 0.9, 1.0, "upper", Status.LOOSE),
    ("tight", 1.0, 1.0, "upper", Status.TIGHT),
    ("tight", 1.1, 1.0, "upper", Status.VIOLATED),
    ("tight", 1.1, 1.0, "lower", Status.LOOSE),
    ("upper", float("nan"), 1.0, "upper", Status.ERROR),
])
def test_compare(kind, emp, prv, side, status):
    assert compare(kind, emp, prv, 1e-6, side=side) == status


@pytest.mark.parametrize("kind, emp, prv, rtol_, side, status", [
    # the tolerance edge itself is inside (<=), in exact binary arithmetic
    ("exact", 1.5, 1.0, 0.5, "upper", Status.TIGHT),
    ("upper", 1.5, 1.0, 0.5, "upper", Status.TIGHT),
    ("lower", 0.5, 1.0, 0.5, "upper", Status.TIGHT),
    ("tight", 0.5, 1.0, 0.5, "lower", Status.TIGHT),
    ("upper", 1.625, 1.0, 0.5, "upper", Status.VIOLATED),
    ("lower", 0.375, 1.0, 0.5, "upper", Status.VIOLATED),
    ("upper", 0.25, 1.0, 0.5, "upper", Status.HOLDS),
    ("lower", 1.75, 1.0, 0.5, "upper", Status.HOLDS),
    ("tight", 1.75, 1.0, 0.5, "lower", Status.LOOSE),
    # relative to |proven|, absolute only when proven is 0
    ("exact", 1000.5, 1000.0, 1e-3, "upper", Status.TIGHT),
    ("exact", -1000.5, -1000.0, 1e-3, "upper", Status.TIGHT),
    ("exact", 1.0005, 1.0, 1e-3, "upper", Status.TIGHT),
    ("exact", 1e-7, 0.0, 1e-6, "upper", Status.TIGHT),
    ("exact", 1e-5, 0.0, 1e-6, "upper", Status.VIOLATED),
    ("exact", 1.5e-6, 0.0, 1e-6, "upper", Status.VIOLATED),  # absolute rtol, not 2·rtol
    ("upper", 1000.5, 1000.0, 1e-3, "upper", Status.TIGHT),
    ("upper", 1001.5, 1000.0, 1e-3, "upper", Status.VIOLATED),
    ("lower", 999.5, 1000.0, 1e-3, "upper", Status.TIGHT),
    ("lower", 998.5, 1000.0, 1e-3, "upper", Status.VIOLATED),
    ("upper", 0.5e-6, 0.0, 1e-6, "upper", Status.TIGHT),
    # non-finite: equal infinities are an exact match, anything else an ERROR
    ("exact", float("inf"), float("inf"), 1e-6, "upper", Status.TIGHT),
    ("upper", float("inf"), float("inf"), 1e-6, "upper", Status.ERROR),
    ("exact", float("inf"), 1.0, 1e-6, "upper", Status.ERROR),
    ("exact", float("nan"), float("nan"), 1e-6, "upper", Status.ERROR),
    ("tight", 1.0, float("inf"), 1e-6, "upper", Status.ERROR),
])
def test_compare_edges(kind, emp, prv, rtol_, side, status):
    assert compare(kind, emp, prv, rtol_, side=side) == status


def test_compare_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        compare("sideways", 1.0, 1.0, 1e-6)
    with pytest.raises(ValueError, match="kind"):
        compare("tight", 1.0, 2.0, 1e-6, side="middle")


def test_one_percent_is_beyond_every_dtype_tolerance():
    """A planted 1 % error must be visible: the comparison tolerance is far below 1 %."""
    assert rtol("float64") < 1e-6 and rtol("float32") < 2e-3


def test_passes():
    assert passes(Status.TIGHT, "holds") and passes(Status.HOLDS, "holds")
    assert not passes(Status.LOOSE, "holds") and not passes(Status.VIOLATED, "holds")
    assert passes(Status.REFUTED, "refuted") and not passes(Status.HOLDS, "refuted")
    assert not passes(Status.ERROR, "holds")


def test_measured_is_data_not_a_verdict():
    """A MEASURED record never fails a run, is not a verdict, and is shown apart."""
    assert Status.MEASURED in Status.ALL and Status.MEASURED not in Status.VERDICTS
    assert passes(Status.MEASURED, "holds") and passes(Status.MEASURED, "refuted")
    assert not is_verdict(Status.MEASURED)
    assert all(is_verdict(s) for s in Status.VERDICTS)
    r = _rec("c.data", Status.MEASURED)
    assert r.is_data and r.passed and r.verdict == "data"
    assert _rec("c.ok").verdict == "pass" and _rec("c.bad", Status.VIOLATED).verdict == "FAIL"
    d = r.to_dict()
    assert d["verdict"] == "data" and Result.from_dict(d).status == Status.MEASURED


def test_provenance_names_both_sides():
    assert provenance("simulation", "closed form: t") == {"empirical": "simulation",
                                                        "proven": "closed form: t"}
    with pytest.raises(ValueError, match="provenance"):
        provenance("", "closed form: t")


def test_report_shows_data_apart(tmp_path):
    """The table has a "data (not verdicts)" section; a data record never reads as a pass."""
    import io

    from specdef.validation.cli.common import print_report
    from specdef.validation.cli.reproduce import report_markdown

    recs = [_rec("c.ok"), Result(check="c.count", theorem="t", params={}, empirical=16.0,
                                 proven=None, rtol=0.0, status=Status.MEASURED,
                                 detail="overhead 16 parameters")]

    def fn(ctx):
        return recs

    rep = run_checks([Check(id="c.all", theorem="t", fn=fn, description="", claim="test")],
                     Context(), progress=False)
    assert rep.passed
    buf = io.StringIO()
    print_report(rep, file=buf)
    text = buf.getvalue()
    head, _, tail = text.partition("data (not verdicts)")
    assert "c.count" not in head and "c.count" in tail and "MEASURED" in tail
    assert re.search(r"1 of 1 verdicts? match their expectation, 1 data records?", text)
    md = report_markdown(rep, {}, {}, out=tmp_path, timings={"checks": 0.0, "figures": 0.0})
    verdict_part, _, data_part = md.partition("### Data (not verdicts)")
    assert "c.count" not in verdict_part and "| `c.count` | `t` | MEASURED | 16 |" in data_part
    assert re.search(r"1 of 1 verdicts? match", md)


def _rec(cid, status=Status.HOLDS):
    return Result(check=cid, theorem="t", params={}, empirical=1.0, proven=1.0, rtol=0.0,
                  status=status)


def _checks(calls):
    def mk(cid):
        def fn(ctx):
            calls.append(cid)
            if cid == "c.boom":
                raise RuntimeError("kaboom\nsecond line")
            return [_rec(cid)]
        return Check(id=cid, theorem="t", fn=fn, description="", claim="test")
    return [mk(c) for c in ("c.one", "c.two", "c.boom")]


def test_run_persists_and_resumes(tmp_path):
    calls = []
    rep = run_checks(_checks(calls), Context(), out=tmp_path, progress=False)
    assert [r.status for r in rep.results] == [Status.HOLDS, Status.HOLDS, Status.ERROR]
    assert rep.results[-1].detail == "RuntimeError: kaboom"
    doc = load_results(tmp_path)
    assert doc["meta"]["end_time"] and doc["completed"] == ["c.one", "c.two", "c.boom"]
    # simulate an interrupted run: drop the last check from the file, then resume
    doc["results"] = doc["results"][:2]
    doc["completed"] = ["c.one", "c.two"]
    atomic_write_json(tmp_path / "results.json", doc)
    calls.clear()
    rep2 = run_checks(_checks(calls), Context(), out=tmp_path, resume=True, progress=False)
    assert calls == ["c.boom"] and rep2.skipped == ["c.one", "c.two"]
    assert len(load_results(tmp_path)["results"]) == 3


def test_resume_refuses_other_settings(tmp_path):
    run_checks(_checks([]), Context(seed=1), out=tmp_path, progress=False)
    with pytest.raises(ResultsFileError, match="seed"):
        run_checks(_checks([]), Context(seed=2), out=tmp_path, resume=True, progress=False)


def test_results_file_never_contains_nan(tmp_path):
    r = Result(check="x", theorem="t", params={"a": float("inf")}, empirical=float("nan"),
               proven=1.0, rtol=0.0, status=Status.ERROR, data={"v": [1.0, float("nan")]})
    atomic_write_json(tmp_path / "r.json", {"meta": {}, "results": [r.to_dict()]})
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)


@pytest.mark.parametrize("content, needle", [
    ("{not json", "not valid JSON"), ('{"results": []}', "meta"),
    ('{"meta": {}, "results": [{"x": 1}]}', "record 0"),
])
def test_malformed_results(tmp_path, content, needle):
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(ResultsFileError, match=needle):
        load_results(tmp_path)


def test_missing_results(tmp_path):
    with pytest.raises(ResultsFileError, match="no results file"):
        load_results(tmp_path / "nowhere")


def test_lock_excludes_live_owner_and_takes_over_stale(tmp_path):
    (tmp_path / ".specdef.lock").write_text(str(os.getppid()))  # a live process
    with pytest.raises(LockedError, match="in use"):
        DirectoryLock(tmp_path).acquire()
    (tmp_path / ".specdef.lock").write_text("999999999")  # no such pid: stale
    with DirectoryLock(tmp_path):
        assert (tmp_path / ".specdef.lock").read_text() == str(os.getpid())
    assert not (tmp_path / ".specdef.lock").exists()


def test_context_validates():
    with pytest.raises(ValueError, match="size"):
        Context(size="huge")
    with pytest.raises(ValueError, match="dtype"):
        Context(dtype="float16")
