"""Packaging contracts: light imports, the console command, backends."""

import importlib
import subprocess
import sys

import numpy as np
import pytest

from specdef import numerics as nm


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_import_numerics_is_light():
    out = _run("import sys, specdef.numerics; print(sorted({'cupy','matplotlib'} & set(sys.modules)))")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_import_theory_does_not_import_numerics():
    out = _run("import sys, specdef.theory; print('specdef.numerics' in sys.modules, 'numpy' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "False"


@pytest.mark.parametrize("pkg", ["numerics", "theory", "validation", "figures"])
def test_public_names_exist(pkg):
    mod = importlib.import_module(f"specdef.{pkg}")
    for name in getattr(mod, "__all__", []):
        assert hasattr(mod, name), f"{pkg}.{name} in __all__ but missing"


def test_cupy_without_gpu_is_one_line_error():
    try:
        nm.namespace_for("cupy")
    except nm.BackendUnavailableError as exc:
        assert "\n" not in str(exc) and "cupy" in str(exc)
    else:  # a GPU is present: the namespace must work
        import cupy

        assert nm.backend_name(nm.namespace_for("cupy")) == "cupy"
        assert cupy.cuda.runtime.getDeviceCount() > 0


def test_unknown_backend():
    with pytest.raises(nm.InputError, match="backend"):
        nm.namespace_for("torch")


def test_to_host_roundtrip(xp):
    a = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    h = nm.to_host(a)
    assert isinstance(h, np.ndarray)
    np.testing.assert_array_equal(h, [[1.0, 2.0], [3.0, 4.0]])


def test_cli_version_and_help():
    out = subprocess.run([sys.executable, "-m", "specdef.validation.cli", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("specdef-toolkit ")
    out = subprocess.run([sys.executable, "-m", "specdef.validation.cli", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "check" in out.stdout and "list" in out.stdout


@pytest.mark.parametrize("argv, needle", [
    (["check", "--backend", "torch"], "--backend"),
    (["check", "no.such.check"], "no.such.check"),
    (["check", "--seed", "x"], "--seed"),
    (["check", "--resume"], "--resume"),
    (["frobnicate"], "frobnicate"),
])
def test_cli_usage_errors_exit_2_one_line(argv, needle):
    out = subprocess.run([sys.executable, "-m", "specdef.validation.cli", *argv],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
