"""A small curated mutation run over numerics, theory and the validation engine.

Not part of the default test run (pytest collects ``test_*.py`` only; this is a script).  Run it
from the repository root, with the project's virtual environment active:

    python tests/mutation/run_mutants.py                 # every target
    python tests/mutation/run_mutants.py --list          # the mutants, without running them
    python tests/mutation/run_mutants.py --only tolerance --jobs 2

How it works.  For each target (a module, the functions in it to mutate, the test files that
should notice) it parses the module, and for each mutable node inside those functions makes one
mutant: a comparison operator swapped (``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``is``
↔ ``is not``), ``and`` ↔ ``or``, ``+`` ↔ ``-``, ``*`` ↔ ``/``, a numeric constant changed
(``n → n + 1`` for integers, ``x → 2x`` for floats, ``0 → 1``), ``True`` ↔ ``False``.  The
mutant module is written into a private copy of the package (``specdef/`` under a temporary
directory, first on ``PYTHONPATH``), never into the working tree, and the target's tests run
against it (``pytest -x -q``, a timeout per mutant).  A mutant is *killed* when the tests fail
(or time out), *survives* when they pass.

Survivors are then read by hand: an *equivalent* mutant (no input can tell it apart, e.g.
``>`` → ``>=`` on a float that is never exactly equal) is listed in :data:`EQUIVALENT` with the
reason; the score is killed / (mutants − equivalent).  Results: ``tests/README.md``, section
"Mutation testing".
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOTS = ("theory", "numerics", "validation", "figures", "benchmarks")


@dataclass(frozen=True)
class Target:
    name: str
    module: str            # path relative to the repository root
    functions: tuple       # qualified names ("f" or "Class.method") whose bodies are mutated
    tests: tuple           # pytest arguments (files or node ids), relative to the root
    keyword: str = ""      # optional ``-k`` expression


TARGETS = (
    Target("records", "validation/engine/records.py", ("compare", "passes", "is_verdict"),
           ("tests/test_engine.py",)),
    Target("tolerance", "validation/engine/tolerance.py",
           ("eps_of", "unit_roundoff", "rtol", "rtol_exact", "accumulated_rtol"),
           ("tests/test_mutation_gaps.py", "tests/test_engine.py")),
    Target("newton_rank", "numerics/_second_order.py", ("_cutoff", "_sym_solve"),
           ("tests/test_mutation_gaps.py", "tests/test_optim.py", "tests/test_portability.py"),
           "newton or scale or pinv or levenberg or damped or indefinite"),
    Target("newton_cg", "numerics/_newton_cg.py", ("_cg",),
           ("tests/test_mutation_gaps.py", "tests/test_optim.py"), "newton_cg or cg"),
    Target("gd_rates", "theory/_gd_rates.py", ("_prove_exact_worst_case", "_exact_worst_case"),
           ("tests/test_theory_exact_worst_case.py",)),
    Target("gd_quadratic", "theory/_gd_quadratic.py", ("contraction_expr", "derive_optimal_step"),
           ("tests/test_theory_theorems.py", "tests/test_theory_core.py"), "contraction"),
)

#: Survivors read by hand and found equivalent: (target, mutant id) -> why no test can kill it.
EQUIVALENT: dict[tuple[str, str], str] = {
    ("newton_rank", "_sym_solve:92:17:cmp"):
        "`>` → `>=` on the loading test |q_iᵀg| vs n·eps·‖g‖: equal only when g = 0, where the "
        "step is 0 either way",
    ("newton_rank", "_sym_solve:70:12:bin"):
        "LU branch with a shift: no caller passes solver='solve' together with a shift",
    ("newton_rank", "_sym_solve:70:16:bin"): "same unreachable branch",
    ("newton_rank", "_sym_solve:82:25:cmp"):
        "`dg > 0` → `>=`: the inner where already maps dg = 0 to 1, so the scale is the same",
    ("newton_rank", "_sym_solve:82:33:num"):
        "numerator 1 → 2: a uniform factor in the diagonal scaling; the decisions are relative "
        "and the step is scaled back, so it is unchanged",
    ("newton_rank", "_sym_solve:82:66:num"):
        "the scale of a zero-diagonal row: for a PSD Hessian that row is zero (a null "
        "direction); any positive diagonal congruence gives the same step",
    ("newton_rank", "_sym_solve:94:49:num"):
        "placeholder for dropped eigenvalues inside where(keep, 1/where(keep, w, 1), 0): masked",
    ("newton_rank", "_sym_solve:102:49:bool_const"):
        "full_matrices=True: the first r left singular vectors are the same",
    ("newton_cg", "_cg:69:11:cmp"):
        "`<=` → `<` between a computed residual norm and rtol·‖g‖ (g ≠ 0): never exactly equal",
    ("gd_rates", "_prove_exact_worst_case:113:25:bin"):
        "a guard (the maximiser lies in the Over range) that holds for this theorem either way",
    ("gd_rates", "_prove_exact_worst_case:114:46:bool"):
        "`or` → `and`: SymPy decides both forms of the guard as True for this theorem",
}


# --------------------------------------------------------------------------------- mutants
_CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
             ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
#: Keyword arguments whose values are not behaviour: search boxes and sample counts of the
#: numeric fallback, texts.  Nodes under them are not mutated.
SKIP_KEYWORDS = {"box", "n_points", "statement", "reference"}


def _functions(tree: ast.Module, names: tuple) -> list:
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            out.append(node)
        if isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and f"{node.name}.{sub.name}" in names:
                    out.append(sub)
    missing = set(names) - {f.name for f in out} - {
        n for n in names if "." in n and any(f.name == n.split(".")[1] for f in out)}
    if missing:
        raise SystemExit(f"run_mutants: functions not found: {sorted(missing)}")
    return out


def _is_docstring(node: ast.AST, parents: dict) -> bool:
    p = parents.get(node)
    return isinstance(p, ast.Expr) and isinstance(node, ast.Constant) and isinstance(node.value,
                                                                                     str)


def mutants(source: str, functions: tuple) -> list[tuple[str, str, str]]:
    """``[(id, description, mutated source)]`` for every mutable node in ``functions``."""
    tree = ast.parse(source)
    sites = []
    for fn in _functions(tree, functions):
        parents = {c: p for p in ast.walk(fn) for c in ast.iter_child_nodes(p)}
        skipped = {id(n) for kw in ast.walk(fn) if isinstance(kw, ast.keyword)
                   and kw.arg in SKIP_KEYWORDS for n in ast.walk(kw)}
        for node in ast.walk(fn):
            if node is fn or id(node) in skipped:
                continue
            if isinstance(node, ast.Compare):
                for i, op in enumerate(node.ops):
                    if type(op) in _CMP_SWAP:
                        sites.append((fn.name, node, ("cmp", i)))
            elif isinstance(node, ast.BoolOp):
                sites.append((fn.name, node, ("bool",)))
            elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAP:
                sites.append((fn.name, node, ("bin",)))
            elif isinstance(node, ast.Constant) and not _is_docstring(node, parents):
                if isinstance(node.value, bool):
                    sites.append((fn.name, node, ("bool_const",)))
                elif isinstance(node.value, (int, float)):
                    sites.append((fn.name, node, ("num",)))
    out = []
    for k, (fname, node, how) in enumerate(sites):
        mutated = copy.deepcopy(tree)
        # find the same node in the copy by position and type
        target = next(n for n in ast.walk(mutated)
                      if type(n) is type(node) and getattr(n, "lineno", None) == node.lineno
                      and getattr(n, "col_offset", None) == node.col_offset
                      and ast.dump(n) == ast.dump(node))
        before = ast.unparse(target)
        if how[0] == "cmp":
            target.ops[how[1]] = _CMP_SWAP[type(target.ops[how[1]])]()
        elif how[0] == "bool":
            target.op = ast.Or() if isinstance(target.op, ast.And) else ast.And()
        elif how[0] == "bin":
            target.op = _BIN_SWAP[type(target.op)]()
        elif how[0] == "bool_const":
            target.value = not target.value
        else:
            v = target.value
            target.value = (v + 1) if isinstance(v, int) else (2.0 * v if v != 0 else 1.0)
        after = ast.unparse(target)
        mid = f"{fname}:{node.lineno}:{node.col_offset}:{how[0]}"
        out.append((mid, f"{fname} line {node.lineno}: {before}  →  {after}",
                    ast.unparse(mutated)))
    return out


# --------------------------------------------------------------------------------- running
def _package_copy(where: Path) -> Path:
    """``where/specdef/<root>`` copies of the package's folders, importable as ``specdef``."""
    pkg = where / "specdef"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for r in ROOTS:
        shutil.copytree(ROOT / r, pkg / r, ignore=shutil.ignore_patterns("__pycache__"))
    return pkg


def run_one(target: Target, mid: str, desc: str, src: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="specdef-mutant-") as tmp:
        tmp = Path(tmp)
        pkg = _package_copy(tmp)
        (pkg / target.module).write_text(src)
        env = dict(os.environ, PYTHONPATH=str(tmp), PYTHONDONTWRITEBYTECODE="1",
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "--no-header", *[str(ROOT / t) for t in target.tests]]
        if target.keyword:
            cmd += ["-k", target.keyword]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                               timeout=timeout)
            # rc 1: a test failed; rc 2: the mutant broke collection (the module's import, e.g.
            # a theorem that no longer registers) — the suite fails either way
            outcome = {0: "survived", 1: "killed", 2: "killed (collection error)"}.get(
                p.returncode, f"error rc={p.returncode}")
            tail = p.stdout.strip().splitlines()[-1:] if p.stdout else []
        except subprocess.TimeoutExpired:
            outcome, tail = "killed (timeout)", []
        return dict(target=target.name, id=mid, mutation=desc, outcome=outcome,
                    seconds=round(time.perf_counter() - t0, 1), tail=tail)


def check_copy_is_used() -> None:
    """The mutant copy must shadow the editable install (else every mutant 'survives')."""
    with tempfile.TemporaryDirectory(prefix="specdef-mutant-") as tmp:
        _package_copy(Path(tmp))
        out = subprocess.run([sys.executable, "-c", "import specdef.theory as t; print(t.__file__)"],
                             cwd=tmp, env=dict(os.environ, PYTHONPATH=tmp), capture_output=True,
                             text=True, check=True).stdout.strip()
        if not out.startswith(str(Path(tmp).resolve())) and not out.startswith(tmp):
            raise SystemExit(f"run_mutants: the copy does not shadow the install ({out})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="target names (default: all)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    ap.add_argument("--out", default=None, help="write the outcomes as JSON")
    ap.add_argument("--rerun", default=None, metavar="JSON",
                    help="run only the mutants that survived in an earlier --out file (after "
                    "adding tests); the others keep their outcome in the summary")
    args = ap.parse_args(argv)
    targets = [t for t in TARGETS if not args.only or t.name in args.only]
    work = []
    for t in targets:
        for mid, desc, src in mutants((ROOT / t.module).read_text(), t.functions):
            work.append((t, mid, desc, src))
    earlier: list = []
    if args.rerun:
        earlier = json.loads(Path(args.rerun).read_text())
        for r in earlier:  # outcomes recorded before rc 2 counted as killed
            if r["outcome"] == "error rc=2":
                r["outcome"] = "killed (collection error)"
        again = {(r["target"], r["id"]) for r in earlier if r["outcome"] == "survived"}
        work = [w for w in work if (w[0].name, w[1]) in again]
        earlier = [r for r in earlier if (r["target"], r["id"]) not in again]
    if args.list:
        for t, mid, desc, _ in work:
            print(f"{t.name:13s} {mid:40s} {desc}")
        print(f"{len(work)} mutants")
        return 0
    check_copy_is_used()
    for t in targets:  # the unmutated sources must pass, else every mutant reads as killed
        base = run_one(t, "baseline", "none", (ROOT / t.module).read_text(), args.timeout)
        if base["outcome"] != "survived":
            raise SystemExit(f"run_mutants: baseline of {t.name} fails: {base}")
    results = list(earlier)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = [pool.submit(run_one, t, mid, desc, src, args.timeout) for t, mid, desc, src in work]
        for f in futs:
            r = f.result()
            key = (r["target"], r["id"])
            if r["outcome"] == "survived" and key in EQUIVALENT:
                r["outcome"] = "equivalent"
                r["why"] = EQUIVALENT[key]
            results.append(r)
            print(f"{r['outcome']:18s} {r['seconds']:6.1f}s  {r['target']:13s} {r['mutation']}",
                  flush=True)
    n = len(results)
    eq = sum(r["outcome"] == "equivalent" for r in results)
    killed = sum(r["outcome"].startswith("killed") for r in results)
    errors = [r for r in results if r["outcome"].startswith("error")]
    score = killed / (n - eq) if n > eq else 1.0
    print(f"\n{killed} killed of {n - eq} non-equivalent mutants ({n} made, {eq} equivalent): "
          f"score {100 * score:.1f} %" + (f"; {len(errors)} errors" if errors else ""))
    for r in results:
        if r["outcome"] == "survived":
            print(f"SURVIVED {r['target']} {r['mutation']}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
