"""Scale-out: ``-j N`` worker processes and a Dask cluster give the serial run's records, survive
a worker killed mid-run (SIGKILL), record a unit that raises as ERROR, and ``--resume`` a run
whose driver was killed on another executor.

A real :class:`distributed.LocalCluster` (two worker processes, one thread each) is started once
for the module.  The user defence below wraps SpecDef (same records as the default) and marks
each process that runs a unit, so a test kills a worker that is inside a unit, not an idle one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from specdef.validation import Context, load_results, run_checks, select
from specdef.validation.cli import main

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="POSIX signals and /proc")
distributed = pytest.importorskip("distributed")

FAMILIES = ["specdef", "c3", "newton"]  # 8 fast checks in 3 modules (units), 39 defence calls
CLI = [sys.executable, "-m", "specdef.validation.cli"]

DEFENCE = '''
import os, time
from pathlib import Path
from specdef.numerics import specdef

def slow(W, alpha, k):
    """SpecDef, 20 ms slower, leaving running.<pid> beside this file while a unit runs."""
    if W.shape != (6, 4):  # not the loader's validation call
        (Path(__file__).parent / f"running.{os.getpid()}").touch()
        time.sleep(0.02)
    return specdef(W, alpha, k)

def failing(W, alpha, k):
    if alpha >= 1e12:
        raise FloatingPointError(f"planted failure at alpha={alpha:g}")
    return specdef(W, alpha, k)
'''


def _records(doc_or_report) -> list[dict]:
    """The records, timings dropped (the only field that may differ between executors)."""
    recs = (doc_or_report["results"] if isinstance(doc_or_report, dict)
            else [r.to_dict() for r in doc_or_report.results])
    return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in recs]


def _unnamed(records: list[dict], spec: str) -> list[dict]:
    """Records with the defence's name (which some checks carry) read as the default's."""
    return json.loads(json.dumps(records).replace(json.dumps(spec)[1:-1], "specdef"))


def _running(userdef: Path) -> set[int]:
    return {int(p.name.split(".")[1]) for p in userdef.glob("running.*")}


@pytest.fixture(scope="module")
def userdef(tmp_path_factory) -> Path:
    """A folder holding the user defence file ``userdef.py``."""
    folder = tmp_path_factory.mktemp("userdef")
    (folder / "userdef.py").write_text(DEFENCE)
    return folder


@pytest.fixture
def slow(userdef) -> str:
    """The ``--defence`` spec of the slow SpecDef, with no marks left by earlier tests."""
    for mark in userdef.glob("running.*"):
        mark.unlink()
    return f"{userdef / 'userdef.py'}:slow"


@pytest.fixture(scope="module")
def slow_reference(userdef):
    """The serial run's records with the slow SpecDef defence."""
    from specdef.validation.cli.common import load_defence

    spec = f"{userdef / 'userdef.py'}:slow"
    fn, name = load_defence(spec)
    return _records(run_checks(select(FAMILIES), Context(defence=fn, defence_name=name),
                               progress=False))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _kill_a_worker_inside_a_unit(tmp_path: Path, run: threading.Thread, *, not_pid: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.is_alive():
        pids = _running(tmp_path) - {not_pid}
        if pids:
            pid = min(pids)
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.01)
    pytest.fail("no worker entered a unit before the run ended")


@pytest.fixture(scope="module")
def reference():
    """The serial run's records (default SpecDef defence)."""
    return _records(run_checks(select(FAMILIES), Context(), progress=False))


@pytest.fixture(scope="module")
def scheduler():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _main_in_thread(argv: list[str]) -> tuple[threading.Thread, dict]:
    box: dict = {}
    run = threading.Thread(target=lambda: box.setdefault("status", main(argv)), daemon=True)
    run.start()
    return run, box


def test_jobs_and_cluster_give_the_serial_records_in_the_registered_order(
        tmp_path, reference, scheduler, capsys):
    ids = [c.id for c in select(FAMILIES)]
    for name, where in (("j2", ["-j", "2"]), ("dask", ["--scheduler", scheduler])):
        assert main(["check", *FAMILIES, *where, "--out", str(tmp_path / name),
                     "--no-progress"]) == 0
        doc = load_results(tmp_path / name)
        assert _records(doc) == reference, name
        assert doc["completed"] == ids and doc["meta"]["end_time"] is not None
        assert doc["meta"]["workers"] == ("2 local processes" if name == "j2"
                                          else f"dask scheduler {scheduler}")
    capsys.readouterr()


def test_a_unit_that_raises_is_an_error_record_and_the_rest_go_on(tmp_path, reference, userdef,
                                                                   scheduler, capsys):
    spec = f"{userdef / 'userdef.py'}:failing"
    assert main(["check", *FAMILIES, "--scheduler", scheduler, "--defence", spec, "--out",
                 str(tmp_path / "run"), "--no-progress"]) == 1
    capsys.readouterr()
    recs = _records(load_results(tmp_path / "run"))
    bad = [r for r in recs if r["check"] == "specdef.function_preservation"]
    assert len(bad) == 1 and bad[0]["status"] == "ERROR"
    assert bad[0]["detail"] == "FloatingPointError: planted failure at alpha=1e+12"
    assert _unnamed([r for r in recs if r["check"] != "specdef.function_preservation"], spec) \
        == [r for r in reference if r["check"] != "specdef.function_preservation"]


def test_certify_on_the_cluster_gives_the_serial_certificate(scheduler):
    from specdef.numerics import specdef
    from specdef.validation.certify.certificate import CertifyConfig, certify, recipe_names

    cfg = CertifyConfig(optimisers=["adam", "sgd", "adamw"], per_decade=1, budget=200)
    serial = certify(cfg, specdef, "specdef")
    cluster = certify(cfg, specdef, "specdef", scheduler=scheduler)
    drop = lambda c: {k: v for k, v in c.items() if k != "elapsed_s"}  # noqa: E731
    assert drop(cluster) == drop(serial)  # recipes in their order, whatever order they finished
    assert cluster["completed"] == recipe_names(cfg)


def test_user_defence_without_a_loader_must_pickle():
    ctx = Context(defence=lambda W, a, k: (W, W), defence_name="lambda")
    with pytest.raises(ValueError, match="workers cannot receive the defence 'lambda'"):
        run_checks(select(["c3.fusion"]), ctx, jobs=2, progress=False)


@pytest.mark.parametrize("argv, needle", [
    (["-j", "0"], "-j/--jobs: must be an integer >= 1"),
    (["-j", "2", "--scheduler", "tcp://x:1"], "not allowed with argument"),
])
def test_bad_placement_options_are_one_line_usage_errors(argv, needle, capsys):
    assert main(["check", "c3", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_local_worker_killed_mid_unit_is_replaced_and_nothing_is_lost(
        tmp_path, slow, slow_reference, userdef, capsys):
    run, box = _main_in_thread(["check", *FAMILIES, "-j", "2", "--defence", slow, "--out",
                                str(tmp_path / "run"), "--no-progress"])
    killed = _kill_a_worker_inside_a_unit(userdef, run, not_pid=os.getpid())
    run.join(180)
    capsys.readouterr()
    assert box.get("status") == 0
    assert _records(load_results(tmp_path / "run")) == slow_reference
    assert _running(userdef) - {killed, os.getpid()}, "no new worker took over"


def test_resume_on_the_cluster_after_the_driver_is_killed(tmp_path, slow, slow_reference,
                                                          userdef, scheduler, capsys):
    spec = slow
    out = tmp_path / "run"
    driver = subprocess.Popen([*CLI, "check", *FAMILIES, "-j", "2", "--defence", spec, "--out",
                               str(out), "--no-progress"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        finished: list[str] = []
        while time.monotonic() < deadline and driver.poll() is None and not finished:
            if (out / "results.json").exists():
                finished = load_results(out)["completed"]
            time.sleep(0.02)
        assert driver.poll() is None, "the run ended before it could be killed"
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    workers = _running(userdef) - {driver.pid, os.getpid()}
    before = load_results(out)
    assert before["meta"]["end_time"] is None and finished
    reference_ids = [c.id for c in select(FAMILIES)]
    assert len(before["completed"]) < len(reference_ids)
    # the dead driver's workers leave by themselves
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "orphaned worker processes"
    assert main(["check", *FAMILIES, "--scheduler", scheduler, "--defence", spec, "--out",
                 str(out), "--resume", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"{len(before['completed'])} finished checks kept, not rerun" in err
    after = load_results(out)
    assert _records(after) == slow_reference and after["completed"] == reference_ids
    kept = [r for r in after["results"] if r["check"] in before["completed"]]
    assert kept == [r for r in before["results"]]  # byte for byte, timings included
    assert json.loads((out / "results.json").read_text())["meta"]["workers"].startswith("dask")


def test_cluster_worker_killed_mid_unit_is_retried_and_nothing_is_lost(
        tmp_path, slow, slow_reference, userdef, scheduler, capsys):
    run, box = _main_in_thread(["check", *FAMILIES, "--scheduler", scheduler, "--defence",
                                slow, "--out", str(tmp_path / "run"), "--no-progress"])
    killed = _kill_a_worker_inside_a_unit(userdef, run, not_pid=os.getpid())
    run.join(180)
    capsys.readouterr()
    assert box.get("status") == 0
    assert _records(load_results(tmp_path / "run")) == slow_reference
    assert not _alive(killed)
