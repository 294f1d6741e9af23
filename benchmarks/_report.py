"""Reporting: the aligned results table with its notes, and results files (JSON, atomic).

A results file is ``{"meta": machine_info(...), "results": [BenchResult.to_dict(), ...]}``;
:func:`load_results` reads one back (``benchmarks/gpu.sh`` renders its table this way).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

from ._harness import BenchResult

__all__ = ["print_table", "write_json", "load_results"]


def _fmt_t(t: float | None) -> str:
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.3g} µs"
    if t < 1:
        return f"{t * 1e3:.3g} ms"
    return f"{t:.3g} s"


def _fmt_e(e: float | None) -> str:
    if e is None:
        return "-"
    if e == 0:
        return "0"
    return f"{e:.1e}"


def _fmt_r(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:,.0f}x" if r >= 10 else f"{r:.2g}x"


def print_table(results: list[BenchResult], *, file: Any = None) -> None:
    """The results as an aligned text table, then the numbered notes under it."""
    file = sys.stdout if file is None else file
    header = ["benchmark", "case", "size", "toolkit", "baseline", "ratio", "err toolkit",
              "err baseline", "target", "met"]
    rows, notes = [], []
    for r in results:
        mark = {True: "yes", False: "NO", None: "-"}[r.met]
        if r.note:
            if r.note not in notes:
                notes.append(r.note)
            mark += f" [{notes.index(r.note) + 1}]"
        rows.append([r.family, r.case, r.size, _fmt_t(r.t_toolkit), _fmt_t(r.t_baseline),
                     _fmt_r(r.ratio), _fmt_e(r.err_toolkit), _fmt_e(r.err_baseline),
                     r.target or "-", mark])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa
    print(line(header), file=file)
    print(line(["-" * w for w in widths]), file=file)
    for row in rows:
        print(line(row), file=file)
    methods = dict.fromkeys((r.family, r.toolkit, r.baseline, r.reference) for r in results)
    if methods:
        print("\nmethods (times are medians per call; errors against the reference):", file=file)
        for fam, tk, bl, ref in methods:
            print(f"  {fam}: toolkit = {tk}; baseline = {bl or '-'}; reference = {ref}",
                  file=file)
    if notes:
        print(file=file)
        for i, n in enumerate(notes, 1):
            print(f"[{i}] {n}", file=file)


def write_json(path: str, obj: Any) -> None:
    """Write ``obj`` as JSON atomically (temporary file in the same folder, then rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bench-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=1, allow_nan=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_results(path: str) -> tuple[dict, list[BenchResult]]:
    """``(meta, results)`` of a file written by ``specdef bench --out`` or ``--json``."""
    with open(path) as fh:
        doc = json.load(fh)
    return doc.get("meta", {}), [BenchResult.from_dict(r) for r in doc.get("results", [])]
