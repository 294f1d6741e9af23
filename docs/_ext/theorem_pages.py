"""Theorem pages generated from the registry (``specdef.theory``), so they cannot drift.

:func:`render_pages` turns every registered theorem into reStructuredText — statement, kind,
expectation, parameters and their SymPy assumptions, hypotheses, the bound, derived quantities,
the proof verdict of :meth:`Theorem.prove`, and the reference — grouped in one page per family
(the first part of the id).  :func:`setup` makes it a Sphinx extension that writes the pages into
``docs/theory/theorems/`` (ignored by git) when a build starts.  Nothing here needs Sphinx, so
the test suite can check the pages list exactly the registered ids without building the docs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

#: Output folder, relative to the docs source directory.
OUT = Path("theory") / "theorems"

#: Family (first part of the id) -> (page title, hand-written page that explains it).
FAMILIES = {
    "gd": ("Gradient descent on quadratics and smooth functions", "theory/background"),
    "first_order": ("First-order lower bound", "theory/background"),
    "newton": ("Newton's method", "theory/background"),
    "specdef": ("SpecDef: weights, function, Hessians", "theory/specdef"),
    "hessian_bound": ("Theorem 3: the cross-block lower bound", "theory/theorem3"),
    "attack": ("Attacks", "theory/attacks"),
    "precision": ("Number formats", "theory/number_formats"),
}

KIND_TEXT = {
    "tight": "tight — the bound is attained (the worst case over the quantified variables "
             "equals it)",
    "upper": "upper bound — the true quantity never exceeds it",
    "lower": "lower bound — the true quantity is never below it",
    "exact": "exact — the true quantity equals it",
}
EXPECT_TEXT = {
    "holds": "holds — the checks expect to confirm it",
    "refuted": "refuted — the checks expect a counterexample (the statement as displayed is "
               "false)",
}
STATUS_TEXT = {
    "proved": "**proved** (decided symbolically)",
    "refuted": "**refuted** (a counterexample was found)",
    "unproven": "**unproven** — SymPy could not decide it; checked numerically in high "
                "precision, not proved",
}

_DOC_REF = re.compile(r"docs/(theory/[a-z0-9_]+)\.rst")


def family(tid: str) -> str:
    """The family of a theorem id: its first dotted part."""
    return tid.split(".", 1)[0]


def anchor(tid: str) -> str:
    """The Sphinx label of a theorem's section."""
    return "theorem-" + tid.replace(".", "-").replace("_", "-")


def _inline(text: str) -> str:
    """Plain text safe inside reST: literal where it holds markup characters."""
    text = " ".join(str(text).split())
    if any(c in text for c in "*`|_\\"):
        return f"``{text.replace('``', '')}``"
    return text


def _reference(text: str) -> str:
    """The theorem's reference, with ``docs/theory/<page>.rst`` turned into links."""
    parts, last = [], 0
    for m in _DOC_REF.finditer(text):
        parts.append(_inline(text[last:m.start()]) if text[last:m.start()].strip() else "")
        parts.append(f":doc:`/{m.group(1)}`")
        last = m.end()
    tail = text[last:]
    parts.append(_inline(tail) if tail.strip() else "")
    return " ".join(p for p in parts if p)


def _math(expr: Any) -> str:
    import sympy as sp

    return sp.latex(expr) if isinstance(expr, sp.Basic) else str(expr)


def _math_block(latex: str, indent: str = "") -> list[str]:
    return [f"{indent}.. math::", "", f"{indent}   {' '.join(latex.split())}", ""]


def theorem_section(th: Any, verdict: Any | None) -> list[str]:
    """reST lines of one theorem (``verdict`` from ``th.prove()``, or ``None`` to skip it)."""
    import sympy as sp

    title = f"``{th.id}``"
    lines = [f".. _{anchor(th.id)}:", "", title, "-" * len(title), ""]
    lines += _math_block(th.statement)
    lines += [f"* **Kind:** {KIND_TEXT.get(th.kind, th.kind)}.",
              f"* **Expectation:** {EXPECT_TEXT.get(th.expectation, th.expectation)}."]
    if verdict is not None:
        lines.append(f"* **Proof status:** {STATUS_TEXT.get(verdict.status, verdict.status)}; "
                     f"method: {_inline(verdict.method)}.")
    lines.append(f"* **Reference:** {_reference(th.reference)}.")
    lines.append("")
    params = []
    for name in th.parameters:
        sym = th.symbols[name]
        facts = [k for k in ("integer", "positive", "nonnegative", "real")
                 if sym.assumptions0.get(k)]
        params.append(f"   * - ``{name}``\n     - :math:`{sp.latex(sym)}`\n"
                      f"     - {', '.join(facts) or 'real'}")
    if params:
        lines += [".. list-table:: Parameters of ``evaluate``", "   :header-rows: 1", "",
                  "   * - name", "     - symbol", "     - SymPy assumptions", *params, ""]
    if th.assumptions:
        lines += ["Hypotheses (checked by ``evaluate``, the first that fails is reported):", ""]
        for a in th.assumptions:
            rel = (f" — :math:`{sp.latex(a.predicate)}`"
                   if isinstance(a.predicate, sp.Basic) else "")
            lines.append(f"* {_inline(a.message)}{rel}")
        lines.append("")
    lines += ["The value ``evaluate`` returns:", ""]
    lines += _math_block(_math(th.bound))
    if th.derived:
        lines += ["Derived quantities (``derived``):", ""]
        for key, expr in th.derived.items():
            lines.append(f"* ``{key}`` = :math:`{_math(expr)}`")
        lines.append("")
    if verdict is not None:
        lines += ["Verdict of ``prove()``:", "", ".. code-block:: text", ""]
        lines += [f"   {ln}" for ln in str(verdict.detail).splitlines() or [""]]
        lines.append("")
        if verdict.counterexample:
            pts = ", ".join(f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}"
                            for k, v in verdict.counterexample.items())
            lines += [f"Counterexample: ``{pts}``", ""]
    return lines


def render_pages(ids: Iterable[str] | None = None, *, prove: bool = True) -> dict[str, str]:
    """``{relative path: reST}`` of the theorem index and one page per family.

    ``ids`` defaults to every registered theorem, in registry order; ``prove=False`` leaves the
    verdicts out (fast: for tests of the page structure).
    """
    from specdef import theory

    ids = list(theory.ids() if ids is None else ids)
    groups: dict[str, list[str]] = {}
    for tid in ids:
        groups.setdefault(family(tid), []).append(tid)
    order = [f for f in FAMILIES if f in groups] + sorted(set(groups) - set(FAMILIES))
    pages: dict[str, str] = {}
    verdicts = {}
    for fam in order:
        title, explained = FAMILIES.get(fam, (f"Family ``{fam}``", None))
        lines = [f".. _theorems-{fam.replace('_', '-')}:", "", title, "=" * len(title), "",
                 ".. This page is generated from specdef.theory by docs/_ext/theorem_pages.py;",
                 "   edit the theorem, not this file.", ""]
        if explained:
            lines += [f"The mathematics behind these statements: :doc:`/{explained}`.", ""]
        for tid in groups[fam]:
            th = theory.get(tid)
            verdicts[tid] = th.prove() if prove else None
            lines += theorem_section(th, verdicts[tid])
        pages[str(OUT / f"{fam}.rst")] = "\n".join(lines).rstrip() + "\n"
    head = "Theorem registry"
    idx = [".. _theorem-registry:", "", head, "=" * len(head), "",
           ".. Generated from specdef.theory by docs/_ext/theorem_pages.py.", "",
           f"The registry holds {len(ids)} theorems — exactly the ids ``specdef list`` prints, "
           "in the same order. Each is a frozen :class:`~specdef.theory.Theorem`: a LaTeX "
           "statement, typed SymPy symbols, hypotheses, the bound as a SymPy expression, its "
           "kind, what the toolkit expects to find, and where it comes from. The proof status "
           "is the verdict of :meth:`~specdef.theory.Theorem.prove` at the time these pages "
           "were built: *proved* means SymPy decided it, *unproven* means it was only checked "
           "numerically in high precision, *refuted* means a counterexample exists.", "",
           ".. list-table::", "   :header-rows: 1", "   :widths: 40 10 12 18", "",
           "   * - theorem", "     - kind", "     - expectation", "     - proof status"]
    for tid in ids:
        th = theory.get(tid)
        v = verdicts.get(tid)
        idx += [f"   * - :ref:`{tid} <{anchor(tid)}>`", f"     - {th.kind}",
                f"     - {th.expectation}", f"     - {v.status if v else '—'}"]
    idx += ["", ".. toctree::", "   :maxdepth: 1", ""]
    idx += [f"   {fam}" for fam in order]
    pages[str(OUT / "index.rst")] = "\n".join(idx) + "\n"
    return pages


def page_ids(pages: dict[str, str]) -> list[str]:
    """The theorem ids the pages document, in page order (from their section labels)."""
    out = []
    for path, text in pages.items():
        if path.endswith("index.rst"):
            continue
        out += re.findall(r"^``([^`]+)``\n-+$", text, flags=re.M)
    return out


def write_pages(srcdir: str | Path, *, prove: bool = True) -> list[Path]:
    """Write the pages under ``srcdir``; files whose text is unchanged are not touched."""
    srcdir = Path(srcdir)
    pages = render_pages(prove=prove)
    out_dir = srcdir / OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.rst"):
        if str(stale.relative_to(srcdir)) not in pages:
            stale.unlink()
    written = []
    for rel, text in pages.items():
        path = srcdir / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _on_builder_inited(app: Any) -> None:
    write_pages(app.srcdir)


def setup(app: Any) -> dict:
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
