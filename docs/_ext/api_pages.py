"""API reference pages generated from each package's ``__all__``, so no public name is missed.

For every documented module (:data:`MODULES`) a page lists its public names, in ``__all__``
order, in an ``autosummary`` table whose stubs Sphinx generates from the docstrings.  The pages
are written into ``docs/api/packages/`` (ignored by git) when a build starts.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

#: Output folder, relative to the docs source directory.
OUT = Path("api") / "packages"

#: module -> (title, text before the table)
MODULES = {
    "specdef.numerics": (
        "Numerics: models, spectra, optimisers, defence, attacks",
        "Array kernels on NumPy (default) or CuPy. A kernel finds the array namespace of its "
        "inputs once and never converts them silently; results come back as small dataclasses. "
        "The package knows nothing of theorems."),
    "specdef.theory": (
        "Theory: theorems as data",
        "SymPy statements of every bound the toolkit checks, their hypotheses and proofs. "
        "``get(id)`` returns a :class:`Theorem`; ``evaluate(**params)`` gives the bound as a "
        "number, ``prove()`` a tri-state :class:`Verdict`. The theorems themselves are listed "
        "in :doc:`/theory/theorems/index`."),
    "specdef.validation": (
        "Validation: checks, result records, tolerances",
        "The engine that runs checks and stores their results: the check registry and its "
        ":class:`Context`, the result records (:class:`Result`, :class:`Status`), the "
        "runner, the atomic store and the dtype-derived tolerances. ``assert_theorem`` is the "
        "comparison behind the pytest fixture of the same name (below)."),
    "specdef.validation.strategies": (
        "Hypothesis strategies",
        "Strategies that *construct* inputs satisfying a theorem's hypotheses (needs "
        "``hypothesis``)."),
    "specdef.figures": (
        "Figures",
        "The figure registry and the shared style. Figures read saved results files only."),
}

PLUGIN = """
The pytest plugin
-----------------

Installing the toolkit registers a pytest plugin (entry point ``pytest11``, module
``specdef.validation.pytest_plugin``) that gives every test session two fixtures:

``assert_theorem``
    :func:`specdef.validation.assert_theorem` itself (session-scoped, so it can be used inside
    ``hypothesis`` tests): ``assert_theorem(theorem_id, empirical, **params)`` evaluates the
    theorem at ``params``, compares ``empirical`` with it according to the theorem's kind
    (upper, lower, exact, tight) and the dtype's tolerance, and raises
    :class:`~specdef.validation.TheoremAssertionError` with the full comparison when it fails.
``specdef_rng``
    ``numpy.random.default_rng(0)``: a seeded generator for reproducible property checks.

See the gallery example :ref:`sphx_glr_auto_examples_plot_6_property_check.py`.
"""


def public_names(module: str) -> list[str]:
    mod = importlib.import_module(module)
    return [n for n in getattr(mod, "__all__", []) if not n.startswith("__")]


def _is_data(obj: Any) -> bool:
    return not (inspect.isclass(obj) or callable(obj) or inspect.ismodule(obj))


def render_pages() -> dict[str, str]:
    """``{relative path: reST}``: one page per module of :data:`MODULES` and an index."""
    pages = {}
    for module, (title, intro) in MODULES.items():
        mod = importlib.import_module(module)
        names = public_names(module)
        funcs = [n for n in names if not _is_data(getattr(mod, n))]
        data = [n for n in names if _is_data(getattr(mod, n))]
        lines = [f".. _api-{module.replace('.', '-')}:", "", title, "=" * len(title), "",
                 ".. Generated from __all__ by docs/_ext/api_pages.py.", "",
                 f".. currentmodule:: {module}", "", intro, "",
                 f"``{module}`` exports {len(names)} public names.", ""]
        if funcs:
            lines += ["Functions and classes", "---------------------", "",
                      ".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
            lines += [f"   {n}" for n in funcs] + [""]
        if data:
            lines += ["Constants", "---------", ""]
            for n in data:
                value = repr(getattr(mod, n))
                value = value if len(value) < 90 else value[:87] + "..."
                lines += [f".. data:: {n}", f"   :value: {value}", "", "   (constant)", ""]
        if module == "specdef.validation":
            lines += PLUGIN.splitlines()
        pages[str(OUT / f"{module.split('.', 1)[1].replace('.', '_')}.rst")] = \
            "\n".join(lines).rstrip() + "\n"
    return pages


def write_pages(srcdir: str | Path) -> None:
    srcdir = Path(srcdir)
    (srcdir / OUT).mkdir(parents=True, exist_ok=True)
    for rel, text in render_pages().items():
        path = srcdir / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def _on_builder_inited(app: Any) -> None:
    write_pages(app.srcdir)


def setup(app: Any) -> dict:
    # before autosummary (priority 500) generates the stubs of these pages
    app.connect("builder-inited", _on_builder_inited, priority=400)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
