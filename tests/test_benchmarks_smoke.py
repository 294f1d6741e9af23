"""Smoke tests of the benchmarks: tiny sizes, result structure only, no timing assertions."""

from __future__ import annotations

import io
import json
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from specdef import benchmarks
from specdef.benchmarks import BenchConfig, BenchResult

ROOT = Path(__file__).resolve().parents[1]
GPU_SH = ROOT / "benchmarks" / "gpu.sh"
CFG = BenchConfig(quick=True, repeats=1)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _check_rows(rows: list[BenchResult], family: str) -> None:
    assert rows and all(isinstance(r, BenchResult) for r in rows)
    for r in rows:
        assert r.family == family and r.case and r.size and r.toolkit and r.reference
        assert _finite(r.t_toolkit) and r.t_toolkit > 0
        assert _finite(r.err_toolkit) and r.err_toolkit >= 0
        if r.baseline is not None:
            assert _finite(r.t_baseline) and r.t_baseline > 0
            assert _finite(r.ratio) and r.ratio > 0
            assert _finite(r.err_baseline) and r.err_baseline >= 0
        assert r.met in (True, False, None)
        json.dumps(r.to_dict(), allow_nan=False)  # every record is valid JSON
        assert BenchResult.from_dict(r.to_dict()).to_dict() == r.to_dict()


def test_registry_lists_the_families_in_issue_order():
    assert list(benchmarks.registry()) == ["gd_worst_case", "joint_hessian_eigs", "gd_batch",
                                           "alpha_sweep", "optimiser_grid", "format_training"]


def test_optimiser_grid_tiny():
    rows = benchmarks.bench_optimiser_grid(CFG, d=6, n_lrs=3, n_seeds=2, T=5, n_loop=2,
                                           methods=("adam", "sophia"))
    _check_rows(rows, "optimiser_grid")
    assert rows[-1].case == "all optimisers: batched vs loop" and rows[-1].target == ">=10x"
    assert all(r.err_toolkit <= 1e-12 for r in rows if "loop" in r.case and "optax" not in
               r.case)


def test_format_training_tiny():
    rows = benchmarks.bench_format_training(CFG, widths=(3, 4, 2), n=8, steps=3)
    _check_rows(rows, "format_training")
    assert [r.case for r in rows] == ["float64 pure", "bfloat16 pure", "float16 mixed"]
    assert rows[0].met is True and rows[0].err_toolkit == 0.0  # the machinery alone: exact
    assert rows[1].err_toolkit > 0  # bfloat16 changes the run


def test_gd_worst_case_tiny():
    rows = benchmarks.bench_gd_worst_case(CFG, ns=(3,), big_n=1000, sweep=4)
    _check_rows(rows, "gd_worst_case")
    cases = [r.case for r in rows]
    assert cases == ["n=3 vs PEPit", "n=3 vs brute force", "n=1000 vs brute force",
                     "sweep n=1..4"]
    pepit_row = rows[0]
    try:
        import PEPit  # noqa: F401
    except ImportError:
        assert pepit_row.baseline is None and "PEPit not installed" in pepit_row.note
    assert all(r.err_toolkit <= 1e-12 for r in rows)  # closed form vs mpmath brute force


def test_brute_force_matches_closed_form_at_an_endpoint_maximum():
    from specdef import theory

    # step*L > 1 with a short horizon: the maximum is at the endpoint L, not interior
    v = benchmarks.brute_force_worst_case(0.1, 1.0, 1.9, 1, precision="mpmath")
    th = theory.get("gd.quadratic.worst_case_value")
    assert v == pytest.approx(th.evaluate(mu=0.1, L=1.0, step=1.9, n=1), rel=1e-12)


def test_joint_hessian_eigs_tiny():
    rows = benchmarks.bench_joint_hessian_eigs(CFG, ds=(4,), big_d=8, explicit_d=4,
                                               target_d=4)
    _check_rows(rows, "joint_hessian_eigs")
    assert [r.case for r in rows] == ["d=4", "d=4 explicit gauge basis", "d=8 alone"]
    for r in rows[:2]:
        assert r.extra["agreement"] <= 1e-8 and r.err_toolkit <= 1e-10


def test_gd_batch_tiny():
    rows = benchmarks.bench_gd_sweep(CFG, B=4, d=3, T=5, n_loop=2, copy_bytes=2**20)
    _check_rows(rows, "gd_batch")
    bw = rows[-1]
    assert bw.case == "bandwidth"
    for key in ("achieved_GBps", "copy_GBps", "fraction", "GFLOPps"):
        assert _finite(bw.extra[key]) and bw.extra[key] > 0


def test_alpha_sweep_tiny():
    rows = benchmarks.bench_alpha_sweep(CFG, n_alpha=3, alpha_max=2.0)
    _check_rows(rows, "alpha_sweep")
    assert rows[0].extra["identical_counts"] == 3 and rows[0].err_toolkit == 0


def test_print_table_shows_ratio_errors_and_notes():
    r = BenchResult(family="f", case="c", size="s", toolkit="tk", baseline="bl", t_toolkit=1e-3,
                    t_baseline=1.0, err_toolkit=1e-16, err_baseline=1e-9, reference="ref",
                    target="t", met=True, note="a note")
    buf = io.StringIO()
    benchmarks.print_table([r], file=buf)
    text = buf.getvalue()
    assert "1,000x" in text and "1.0e-16" in text and "1.0e-09" in text and "[1] a note" in text


def test_cli_list_and_usage_errors(capsys):
    from specdef.validation.cli import main

    assert main(["bench", "--list"]) == 0
    assert "joint_hessian_eigs" in capsys.readouterr().out
    assert main(["bench", "--only", "nope", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--only must name benchmark families" in err[0]


def test_cli_cupy_without_gpu_is_one_line_exit_2(capsys):
    from specdef.numerics import BackendUnavailableError, namespace_for
    from specdef.validation.cli import main

    try:
        namespace_for("cupy")
        pytest.skip("a GPU is present")
    except BackendUnavailableError:
        pass
    assert main(["bench", "--backend", "cupy", "--quick", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cupy" in err[0]


def test_agreement_plumbing_on_numpy():
    from specdef.benchmarks._agreement import agreement

    rows = agreement("numpy", d=8)
    assert rows and all(r["ok"] for r in rows), rows


def test_gpu_sh_exists_is_executable_and_parses():
    assert GPU_SH.is_file()
    assert os.stat(GPU_SH).st_mode & stat.S_IXUSR
    subprocess.run(["bash", "-n", str(GPU_SH)], check=True)


def test_gpu_sh_fails_clearly_without_a_gpu(tmp_path):
    from specdef.numerics import BackendUnavailableError, namespace_for

    try:
        namespace_for("cupy")
        pytest.skip("a GPU is present")
    except BackendUnavailableError:
        pass
    env = dict(os.environ, PYTHON=sys.executable)
    res = subprocess.run(["bash", str(GPU_SH), str(tmp_path / "out")], capture_output=True,
                         text=True, env=env, timeout=120)
    assert res.returncode == 2
    assert "no GPU run possible here" in res.stderr and "nothing was run" in res.stderr
    assert not (tmp_path / "out" / "bench.json").exists()
