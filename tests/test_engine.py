"""The validation engine: statuses, tolerances, atomic results, locking, resume."""

import json
import os

import pytest

from specdef.validation import (Check, Context, DirectoryLock, LockedError, Result, ResultsFileError,
                        Status, compare, load_results, passes, rtol, run_checks)
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


def test_one_percent_is_beyond_every_dtype_tolerance():
    """A planted 1 % error must be visible: the comparison tolerance is far below 1 %."""
    assert rtol("float64") < 1e-6 and rtol("float32") < 2e-3


def test_passes():
    assert passes(Status.TIGHT, "holds") and passes(Status.HOLDS, "holds")
    assert not passes(Status.LOOSE, "holds") and not passes(Status.VIOLATED, "holds")
    assert passes(Status.REFUTED, "refuted") and not passes(Status.HOLDS, "refuted")
    assert not passes(Status.ERROR, "holds")


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
