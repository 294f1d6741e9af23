"""A run killed with SIGKILL leaves only valid files, and --resume finishes without rerunning."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from specdef.validation import load_results

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

CMD = [sys.executable, "-m", "specdef.validation.cli", "check", "theorem3", "--no-progress"]


def test_sigkill_then_resume(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([*CMD, "--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    results = out / "results.json"
    deadline = time.monotonic() + 120
    done = []
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists():
            done = load_results(results)["completed"]  # every read sees a complete file
            if done:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert done
    # only complete files: results.json parses, no stray partial file is left as results
    doc = load_results(results)
    assert doc["meta"]["end_time"] is None and set(doc["completed"]) >= set(done)
    for p in out.iterdir():
        if p.name.endswith(".json"):
            json.loads(p.read_text())
    finished = list(doc["completed"])
    # the dead run's lock is stale: a resume takes it over and reruns only what is missing
    res = subprocess.run([*CMD, "--out", str(out), "--resume"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{len(finished)} finished checks kept, not rerun" in res.stderr
    final = load_results(results)
    assert final["meta"]["end_time"] is not None
    assert final["completed"][:len(finished)] == finished
    assert len(set(final["completed"])) == len(final["completed"]) == 7  # theorem3's checks
    # records of the checks finished before the kill are byte-for-byte the ones kept
    before = [r for r in doc["results"] if r["check"] in finished]
    after = [r for r in final["results"] if r["check"] in finished]
    assert before == after


def test_second_writer_is_refused(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([*CMD, "--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (out / ".specdef.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        res = subprocess.run([*CMD, "--out", str(out)], capture_output=True, text=True,
                             timeout=120)
        if proc.poll() is None:  # the first run still holds the directory
            assert res.returncode == 2
            assert "in use by another specdef run" in res.stderr
            assert len(res.stderr.strip().splitlines()) == 1
    finally:
        proc.kill()
        proc.wait()
