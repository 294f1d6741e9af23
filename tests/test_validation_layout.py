"""The layout of ``specdef.validation``: no import cycle, families apart, families discovered.

The import graph is read from the source with :mod:`ast` (relative imports resolved, imports
inside functions included: a lazy import is still an arrow).  Only explicit imports count: the
implicit import of a module's parent packages is not an arrow.  ``from pkg import name`` is an
arrow to ``pkg.name`` when that is a module, else to ``pkg``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import specdef.validation as validation
from specdef.validation import registered
from specdef.validation.engine import registry

ROOT = Path(validation.__file__).parent
PKG = validation.__name__                      # "specdef.validation"
CHECKS = f"{PKG}.checks"


def _modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PKG, *parts])] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The longest known module that ``name`` starts with (``None`` outside the package)."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        cand = ".".join(parts[:k])
        if cand in MODULES:
            return cand
    return None


def _imports(mod: str, path: Path) -> set[str]:
    """The modules of the package that ``mod`` imports (anywhere in its source)."""
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            targets = [f"{base_name}.{a.name}" if f"{base_name}.{a.name}" in MODULES else base_name
                       for a in node.names]
        else:
            continue
        for t in targets:
            r = _resolve(t)
            if r is not None and r != mod:
                out.add(r)
    return out


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _family(mod: str) -> str | None:
    """``"c1"`` for ``specdef.validation.checks.c1.steps``; ``None`` for anything else."""
    if not mod.startswith(CHECKS + "."):
        return None
    head = mod[len(CHECKS) + 1:].split(".")[0]
    return head if (ROOT / "checks" / head / "__init__.py").is_file() else None


def test_graph_is_read():
    # a sanity check of the reader itself: known arrows are found
    assert f"{PKG}.engine.registry" in GRAPH[f"{CHECKS}.c1.steps"]
    assert f"{CHECKS}.common" in GRAPH[f"{CHECKS}.c1.steps"]
    assert f"{PKG}.cli.common" in GRAPH[f"{PKG}.cli.check"]
    assert len(MODULES) > 40


def test_import_graph_is_acyclic():
    state: dict[str, int] = {}   # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(GRAPH[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)


def test_no_family_imports_another_family():
    bad = [f"{m} imports {n}" for m, deps in GRAPH.items() for n in deps
           if _family(m) and _family(n) and _family(n) != _family(m)]
    assert not bad, "\n".join(bad)


def test_shared_helpers_and_engine_import_no_family():
    # registration goes one way: families import the engine, never the reverse; and the shared
    # helpers module belongs to no family
    bad = [f"{m} imports {n}" for m, deps in GRAPH.items() for n in deps
           if _family(n) and not _family(m)]
    assert not bad, "\n".join(bad)


def test_cli_subcommands_import_only_the_shared_part():
    cli = f"{PKG}.cli"
    entry = {cli, f"{cli}.main", f"{cli}.__main__"}
    subcommands = [m for m in MODULES if m.startswith(cli + ".") and m not in entry
                   and m != f"{cli}.common"]
    assert {m.rpartition(".")[2] for m in subcommands} >= {"check", "list", "figures",
                                                           "reproduce", "bench"}
    bad = [f"{m} imports {n}" for m in subcommands for n in GRAPH[m]
           if n.startswith(cli + ".") and n != f"{cli}.common" or n == cli]
    assert not bad, "\n".join(bad)


def test_families_are_discovered_not_listed():
    on_disk = {p.parent.name for p in (ROOT / "checks").glob("*/__init__.py")}
    found = [m.__name__.rpartition(".")[2] for m in registry.families()]
    assert set(found) == on_disk and len(found) == len(on_disk) >= 7
    # ascending ORDER, and the listing is grouped by family in that order
    orders = [m.ORDER for m in registry.families()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    fams = [registry._FAMILY_OF[c.id] for c in registered()]
    assert set(fams) == on_disk
    seen: list[str] = []
    for f in fams:
        if not seen or seen[-1] != f:
            assert f not in seen, f"checks of family {f} are not contiguous"
            seen.append(f)
    assert seen == found
    # nothing names a family by hand: checks/__init__ imports none, the engine imports none
    assert not GRAPH[CHECKS]
    assert not any(_family(n) for m in MODULES if m.startswith(f"{PKG}.engine")
                   for n in GRAPH[m])


def test_a_new_family_is_found_and_placed_by_its_order(tmp_path):
    """A family package added beside the others is discovered without touching the engine, and
    lands where its ``ORDER`` says (here between ``theorem3``, 10, and ``background``, 20)."""
    fam = tmp_path / "zz_planted"
    fam.mkdir()
    (fam / "__init__.py").write_text(textwrap.dedent('''
        """A planted family (test only)."""
        ORDER = 15
        from . import probe  # noqa: E402,F401
        '''))
    (fam / "probe.py").write_text(textwrap.dedent('''
        from specdef.validation.engine.registry import check

        @check("zz.planted", "gd.quadratic.contraction", "planted", claim="test")
        def run(ctx):
            return []
        '''))
    code = textwrap.dedent(f'''
        import specdef.validation.checks as checks
        checks.__path__.append({str(tmp_path)!r})
        from specdef.validation import registered
        ids = [c.id for c in registered()]
        i = ids.index("zz.planted")
        print(ids[i - 1], ids[i], ids[i + 1])
        ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["theorem3.real_hessian_blocks", "zz.planted",
                                  "gd.contraction.worst_case"]
