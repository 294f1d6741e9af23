"""The README's Python example runs and its quick start names the test command CI runs."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_example_runs():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert len(code.strip().splitlines()) <= 20
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    steps = [int(line.rsplit(" ", 1)[1]) for line in out.stdout.splitlines() if "steps" in line]
    assert len(steps) == 2 and steps[1] > 100 * steps[0]  # the defence costs ~alpha^2 more steps


def test_quick_start_matches_ci():
    block = re.search(r"## Quick start\n\n```bash\n(.*?)```", README, re.S).group(1)
    lines = [ln for ln in block.strip().splitlines() if ln.strip()]
    assert len(lines) == 2
    ci = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    # CI runs exactly the README's test command, after installing at least the README's extras
    assert lines[1].strip() in ci
    readme_extras = set(re.search(r'pip install -e "\.\[([^\]]*)\]"', lines[0]).group(1).split(","))
    install = next(ln for ln in ci if "pip install" in ln and "-e" in ln)
    ci_extras = set(re.search(r'"\.\[([^\]]*)\]"', install).group(1).split(","))
    assert readme_extras <= ci_extras and ci.index(lines[1].strip()) > ci.index(install)
