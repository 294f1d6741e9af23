"""The README's property-check example, run as a user would run it."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_readme_property_example(tmp_path):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Your own property check.*?```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 13
    (tmp_path / "test_user.py").write_text(block)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tmp_path / "test_user.py")], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
