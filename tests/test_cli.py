"""The ``specdef`` command behaves like a Unix tool, and takes the user's own defence as people
type it (a file path or a module in the current directory), refusing bad output in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from specdef.validation.cli import build_parser, main
from specdef.validation.cli.common import UsageError, load_defence, plural

CLI = [sys.executable, "-m", "specdef.validation.cli"]

DEFENCES = '''
import numpy as np

def defend(W, alpha, k):           # SpecDef written by hand: a valid, function-preserving pair
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    t = np.ones_like(s); t[:k] = alpha
    P = U @ U.T
    return (U * (s * t)) @ Vt, (U / t) @ U.T + (np.eye(W.shape[0]) - P)

def returns_none(W, alpha, k):
    return None

def wrong_shape(W, alpha, k):
    return W, np.eye(W.shape[0] + 1)

def non_finite(W, alpha, k):
    return W * np.inf, np.eye(W.shape[0])

def not_preserving(W, alpha, k):   # valid shapes, wrong function: runs, and is reported
    return 2 * W, np.eye(W.shape[0])

def raises(W, alpha, k):
    raise RuntimeError("my bug\\nwith a second line")
'''


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    (tmp_path / "mydef.py").write_text(textwrap.dedent(DEFENCES))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop("mydef", None)


def _one_line_usage_error(spec, needle):
    with pytest.raises(UsageError) as info:
        load_defence(spec)
    msg = str(info.value)
    assert "\n" not in msg and needle in msg, msg
    return msg


@pytest.mark.parametrize("spec", ["./mydef.py:defend", "mydef.py:defend", "mydef:defend"])
def test_defence_as_file_path_or_module_in_the_current_directory(user_dir, spec):
    fn, name = load_defence(spec)
    assert callable(fn) and name == spec


def test_defence_given_by_absolute_path(user_dir):
    fn, _ = load_defence(f"{user_dir / 'mydef.py'}:defend")
    assert fn.__name__ == "defend"


@pytest.mark.parametrize("fn, needle", [
    ("returns_none", "must return a pair (W_inflated, C), got NoneType"),
    ("wrong_shape", "C must have shape (6, 6)"),
    ("non_finite", "W_inflated has non-finite entries"),
    ("raises", "raised RuntimeError: my bug"),
    ("missing", "has no function 'missing'"),
])
def test_bad_defence_output_is_one_line_usage_error(user_dir, fn, needle):
    _one_line_usage_error(f"./mydef.py:{fn}", needle)


@pytest.mark.parametrize("spec, needle", [
    ("nosuch.py:defend", "no such file"), ("nosuchmodule:defend", "cannot be loaded"),
    ("mydef", "must look like"), (":defend", "must look like"),
])
def test_unloadable_defence_is_one_line_usage_error(user_dir, spec, needle):
    _one_line_usage_error(spec, needle)


def test_non_preserving_defence_is_accepted_and_then_reported(user_dir, capsys):
    """Validation checks types and shapes only: preservation is what the check measures."""
    status = main(["check", "specdef.function_preservation", "--defence",
                   "./mydef.py:not_preserving", "--no-progress"])
    out = capsys.readouterr().out
    assert status == 1 and "FAIL" in out


def test_cli_defence_none_exits_2_with_one_line(user_dir):
    out = subprocess.run([*CLI, "check", "c1", "--defence", "./mydef.py:returns_none"],
                         capture_output=True, text=True, timeout=120, cwd=user_dir)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "NoneType" in out.stderr


def test_list_into_a_closed_pipe_is_quiet():
    code = f"{' '.join(CLI)} list --no-prove | head -1; exit ${{PIPESTATUS[0]}}"
    out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert len(out.stdout.splitlines()) == 1 and out.stdout.startswith("theorem")


def test_bare_command_prints_usage(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: specdef") and "check" in out and "reproduce" in out


def test_every_subcommand_help_has_a_description_and_defaults():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():
        assert parser.description, f"specdef {name} --help has no description"
        text = parser.format_help()
        if any(a.default not in (None, False) and a.help for a in parser._actions
               if a.dest != "help"):
            assert "(default:" in text, f"specdef {name} --help shows no defaults"
    check_help = sub.choices["check"].format_help()
    assert "small:" in check_help and "paper:" in check_help and "large:" in check_help


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys):
    assert main(["check", "gd.contraction.random"]) == 0
    err = capsys.readouterr().err
    assert "it/s" not in err and "%|" not in err


def test_check_says_where_results_are_or_how_to_save_them(tmp_path, capsys):
    main(["check", "gd.contraction.random", "--no-progress"])
    assert "add --out DIR" in capsys.readouterr().out
    main(["check", "gd.contraction.random", "--no-progress", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"{tmp_path}/results.json" in out and "specdef figures --results" in out


def test_figures_without_results_says_what_to_run(tmp_path, capsys):
    assert main(["figures", "--results", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "specdef check --out DIR" in err


def test_plural():
    assert (plural(1, "check"), plural(2, "check"), plural(0, "check")) == \
        ("1 check", "2 checks", "0 checks")


def test_failing_rows_show_the_whole_detail(user_dir, capsys):
    main(["check", "specdef.function_preservation", "--defence", "./mydef.py:not_preserving",
          "--no-progress"])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "FAIL" in ln]
    assert lines and all(not ln.rstrip().endswith(("…", "...")) for ln in lines)
    assert os.linesep not in lines[0]
