"""Installing the wheel must not harm anybody's project.

Builds the wheel, installs it (without dependencies) into a fresh virtual environment whose
dependencies come from this one, and checks the two promises of the one-import-name layout:

* the wheel adds exactly one top-level import package, ``specdef`` (plus its dist-info and the
  ``specdef`` console script);
* a user project with its own ``validation/`` package, ``theory.py`` and ``figures/`` folder keeps
  passing its own tests under both ``pytest`` and ``python -m pytest`` (our auto-loaded pytest
  plugin must not shadow or break anything), while ``import specdef.theory`` still works there.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

USER_TEST = '''
import subprocess, sys
from validation import check_schema
import theory

def test_own_packages_win():
    assert check_schema() == "mine" and theory.get() == "my theory"

def test_specdef_importable_beside_them():
    import specdef.theory as st
    assert "gd.quadratic.contraction" in st.ids()

def test_plugin_fixture_still_works(assert_theorem):
    assert_theorem("gd.quadratic.contraction", 0.5, mu=1.0, L=3.0, step=0.5)

def test_plugin_loaded_nothing_heavy():
    heavy = {"numpy", "scipy", "sympy", "matplotlib", "specdef.numerics", "specdef.theory"}
    code = ("import sys, specdef.validation.pytest_plugin; "
            f"print(sorted(m for m in {sorted(heavy)!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
'''


def _run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory):
    """A fresh venv with the wheel installed; its dependencies resolve to this environment's."""
    tmp = tmp_path_factory.mktemp("install")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "-w", str(tmp / "dist"), str(ROOT)])
    (wheel,) = (tmp / "dist").glob("specdef_toolkit-*.whl")
    env_dir = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    # Dependencies (numpy, pytest, ...) from this environment: plain path lines, so that no .pth
    # of this environment (such as an editable install of the toolkit) runs in the fresh one.
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    before = set(os.listdir(site))
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
          "--no-index", str(wheel)])
    added = set(os.listdir(site)) - before
    (site / "zz_test_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    return py, site, added


def test_wheel_adds_one_top_level_package(fresh_env):
    py, site, added = fresh_env
    assert {a for a in added if not a.endswith(".dist-info")} == {"specdef"}, sorted(added)
    (info,) = [a for a in added if a.endswith(".dist-info")]
    tops = {row[0].split("/")[0] for row in csv.reader(open(site / info / "RECORD"))}
    tops = {t for t in tops if not t.endswith(".dist-info") and t != ".."}  # ../bin/specdef
    assert tops == {"specdef"}, sorted(tops)
    out = _run([str(py), "-c", "import specdef.numerics, sys; "
                "print(sorted({'cupy', 'matplotlib'} & set(sys.modules)), "
                "specdef.numerics.__file__)"])
    light, path = out.stdout.split(" ", 1) if out.stdout.startswith("[]") else ("?", out.stdout)
    assert light == "[]", out.stdout
    assert str(site) in path, "specdef.numerics must come from the installed wheel"


@pytest.mark.parametrize("runner", ["pytest", "python -m pytest"])
def test_user_project_with_generic_names_is_unaffected(fresh_env, tmp_path, runner):
    py, _, _ = fresh_env
    proj = tmp_path / "paper"
    (proj / "validation").mkdir(parents=True)
    (proj / "validation" / "__init__.py").write_text('def check_schema():\n    return "mine"\n')
    (proj / "figures").mkdir()
    (proj / "figures" / "plot.py").write_text("X = 1\n")
    (proj / "theory.py").write_text('def get():\n    return "my theory"\n')
    (proj / "test_user.py").write_text(textwrap.dedent(USER_TEST))
    cmd = ([str(py), "-m", "pytest"] if runner == "python -m pytest"
           else [str(py), "-c", "import sys, pytest; sys.exit(pytest.console_main())"])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    out = subprocess.run([*cmd, "-q", "-p", "no:cacheprovider"], cwd=proj, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 passed" in out.stdout, out.stdout
