"""Documentation: the generated pages match the code, and docstring examples run.

No Sphinx here (the site is built by ``.ci/run``): the page generators in ``docs/_ext`` are plain
functions, so these tests check what the site would list — exactly the registered theorems,
every public name — in a second or two, and run every docstring example of the package with
:mod:`doctest`.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import re
import sys
from pathlib import Path

import pytest

from specdef import theory

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"
PACKAGES = ("specdef.numerics", "specdef.theory", "specdef.validation", "specdef.figures")


def load_ext(name: str):
    """A module of ``docs/_ext`` (not a package: loaded from its path)."""
    spec = importlib.util.spec_from_file_location(f"_docs_ext_{name}", EXT / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------------------ theorem pages
def test_theorem_pages_list_exactly_the_registered_ids():
    pages = load_ext("theorem_pages").render_pages(prove=False)
    ids = load_ext("theorem_pages").page_ids(pages)
    assert ids == theory.ids() or sorted(ids) == sorted(theory.ids())
    assert len(ids) == len(set(ids)) == len(theory.ids())


def test_theorem_pages_match_specdef_list(capsys):
    from specdef.validation.cli import main

    assert main(["list", "--no-prove"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:]
              if line.strip()]
    tp = load_ext("theorem_pages")
    assert sorted(tp.page_ids(tp.render_pages(prove=False))) == sorted(listed)


def test_theorem_index_links_every_theorem():
    tp = load_ext("theorem_pages")
    index = tp.render_pages(prove=False)[str(tp.OUT / "index.rst")]
    for tid in theory.ids():
        assert f"<{tp.anchor(tid)}>`" in index


def test_hand_written_pages_named_by_the_generator_exist():
    tp = load_ext("theorem_pages")
    for _, page in tp.FAMILIES.values():
        assert (ROOT / "docs" / f"{page}.rst").is_file(), page


# ------------------------------------------------------------------------------ API pages
@pytest.mark.parametrize("module", ["specdef.numerics", "specdef.theory", "specdef.validation",
                                    "specdef.validation.strategies"])
def test_api_pages_document_every_public_name(module):
    ap = load_ext("api_pages")
    pages = ap.render_pages()
    page = pages[str(ap.OUT / f"{module.split('.', 1)[1].replace('.', '_')}.rst")]
    listed = set(re.findall(r"^   ([A-Za-z_][A-Za-z0-9_]*)$", page, flags=re.M))
    listed |= set(re.findall(r"^\.\. data:: (\w+)$", page, flags=re.M))
    assert set(ap.public_names(module)) <= listed


# ------------------------------------------------------------------------------ doctests
def package_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


MODULES = [m for p in PACKAGES for m in package_modules(p)]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failed = []
    for test in finder.find(mod, module):  # globals: the module's, as --doctest-modules
        if test.examples and _defined_here(test.name, module):
            result = runner.run(test, out=lambda s: failed.append(s))
            assert result.failed == 0, "".join(failed)


def _defined_here(name: str, module: str) -> bool:
    """Docstrings of objects re-exported from another module are run in that module only."""
    obj = sys.modules[module]
    for part in name[len(module):].strip(".").split(".") if name != module else []:
        obj = getattr(obj, part, None)
        if obj is None:
            return True
    owner = getattr(obj, "__module__", module)
    return owner in (None, module) or name == module


def test_there_are_docstring_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    n = sum(len(t.examples) for m in MODULES
            for t in finder.find(importlib.import_module(m), m))
    assert n >= 5


# ------------------------------------------------------------------------------ references
def test_code_cites_the_docs_not_a_private_brief():
    """References to the mathematics point at pages of docs/ that exist."""
    hits, missing = [], set()
    for d in ("theory", "numerics", "validation", "figures", "benchmarks"):
        for p in sorted((ROOT / d).rglob("*.py")):
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"THEORY(\.md|\b ?§| B\d|'s|:)", line):
                    hits.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()}")
                for page in re.findall(r"docs/(theory/\w+)\.rst", line):
                    if not (ROOT / "docs" / f"{page}.rst").is_file():
                        missing.add(page)
    assert not hits, "\n".join(hits)
    assert not missing


GENERATED = ("auto_examples", "api", "figures", "theorems", "_build")
DOC_PAGES = sorted(p for p in (ROOT / "docs").rglob("*.rst")
                   if not set(p.relative_to(ROOT / "docs").parts) & set(GENERATED)
                   and ">>>" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.name)
def test_examples_in_the_docs_pages_run(page):
    """The ``>>>`` examples of the hand-written pages give the output they show."""
    result = doctest.testfile(str(page), module_relative=False, verbose=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
