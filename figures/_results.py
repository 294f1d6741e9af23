"""Reading results files: the only input a figure has.

A results file (``DIR/results.json``, written by ``specdef check``) is
``{"meta": {...}, "completed": [...], "results": [record, ...]}``; each record carries a
``check`` id, a ``status`` and a ``data`` dict with the series a figure plots, proven values
included.  Nothing here imports another package of the toolkit: figures render what was saved
and never recompute an experiment.

Non-finite floats are saved as ``null`` (NaN) or ``"inf"``/``"-inf"``; :func:`num` and
:func:`series` turn them back into floats.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable

__all__ = ["MissingDataError", "load_results", "records", "field", "optional", "num", "series",
           "sweep", "first"]

RESULTS_NAME = "results.json"


class MissingDataError(ValueError):
    """A results file lacks a check or a field a figure needs (one-line message)."""


def load_results(path: str | os.PathLike) -> dict:
    """Load ``path`` (a ``results.json`` or a directory holding one) and check its shape.

    Raises
    ------
    ValueError
        One line naming the file: missing, unreadable, not JSON, or without a ``meta`` object
        and a ``results`` list of records with ``check`` and ``data``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_NAME
    try:
        with open(p, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise ValueError(f"figures: no results file at {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"figures: cannot read {p}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"figures: {p} is not valid JSON ({exc.msg} at line {exc.lineno})") \
            from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list) \
            or not isinstance(doc.get("meta"), dict):
        raise ValueError(f"figures: {p} lacks a 'meta' object and a 'results' list")
    for i, r in enumerate(doc["results"]):
        if not isinstance(r, dict) or not isinstance(r.get("check"), str):
            raise ValueError(f"figures: {p}: record {i} is not an object with a 'check' id")
        if not isinstance(r.get("data", {}), dict):
            raise ValueError(f"figures: {p}: record {i} ({r['check']}) has a non-object 'data'")
    return doc


def records(results: dict, check: str, figure: str, *, required: bool = True) -> list[dict]:
    """The records of check ``check`` (exact id), in file order.

    With ``required`` (the default) an absent check raises :class:`MissingDataError` naming
    ``figure`` and ``check``; otherwise an empty list is returned.
    """
    out = [r for r in results.get("results", []) if r.get("check") == check]
    if not out and required:
        raise MissingDataError(f"figure {figure!r}: the results have no record of check "
                               f"{check!r}")
    return out


def field(record: dict, key: str, figure: str) -> Any:
    """``record["data"][key]``, or :class:`MissingDataError` naming figure, check and field.

    A record whose check crashed (status ``ERROR``) has no data; the message says so.
    """
    data = record.get("data") or {}
    if key not in data:
        why = f" (status {record.get('status')}: {str(record.get('detail', ''))[:80]})" \
            if record.get("status") == "ERROR" else ""
        raise MissingDataError(f"figure {figure!r}: check {record.get('check')!r} lacks data "
                               f"field {key!r}{why}")
    return data[key]


def optional(record: dict, key: str, default: Any = None) -> Any:
    """``record["data"].get(key, default)``."""
    return (record.get("data") or {}).get(key, default)


def num(x: Any) -> float:
    """A saved number as a float: ``None`` is NaN, ``"inf"``/``"-inf"`` are infinities."""
    if x is None:
        return math.nan
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _flat(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def series(recs: Iterable[dict], keys: Iterable[str], figure: str, *,
           sort: bool = True) -> dict[str, list[float]]:
    """Columns ``keys`` gathered over ``recs`` as float lists, sorted by the first key.

    A record may hold one point (scalar fields) or a sweep (equal-length list fields); both
    conventions are accepted and concatenated.  A scalar field next to list fields is
    broadcast.  Missing fields raise :class:`MissingDataError`.
    """
    keys = list(keys)
    cols: dict[str, list[float]] = {k: [] for k in keys}
    for r in recs:
        raw = {k: field(r, k, figure) for k in keys}
        n = max(len(v) if isinstance(v, (list, tuple)) else 1 for v in raw.values())
        for k, v in raw.items():
            vals = _flat(v)
            if len(vals) == 1 and n > 1:
                vals = vals * n
            if len(vals) != n:
                raise MissingDataError(f"figure {figure!r}: check {r.get('check')!r} has "
                                       f"{len(vals)} values of {k!r}, expected {n}")
            cols[k].extend(num(x) for x in vals)
    if sort and keys and cols[keys[0]]:
        order = sorted(range(len(cols[keys[0]])), key=lambda i: (math.isnan(cols[keys[0]][i]),
                                                                 cols[keys[0]][i]))
        cols = {k: [v[i] for i in order] for k, v in cols.items()}
    return cols


def first(recs: Iterable[dict], key: str, default: Any = None) -> Any:
    """The first non-null ``data[key]`` among ``recs`` (a scalar shared by a sweep)."""
    for r in recs:
        v = optional(r, key)
        if v is not None:
            return v
    return default


def sweep(recs: list[dict], keys: Iterable[str], figure: str,
          optional_keys: Iterable[str] = ()) -> dict[str, list[float]]:
    """A sweep (columns ``keys``) from whichever records of one check carry it.

    A check may emit several records with the same id: the same sweep repeated on records
    that report different comparisons, or other records with other fields (a solver
    cross-check).  The records holding every key are used, their points are merged and
    duplicates dropped, sorted by the first key.  ``optional_keys`` are added (NaN where
    absent) but select nothing.  No record with all keys raises :class:`MissingDataError`
    naming the field the closest record lacks.
    """
    keys, opt = list(keys), list(optional_keys)
    have = [r for r in recs if all(k in (r.get("data") or {}) for k in keys)]
    if not have:
        best = max(recs, key=lambda r: sum(k in (r.get("data") or {}) for k in keys))
        for k in keys:
            field(best, k, figure)  # raises, naming the first missing field
    cols = {k: [] for k in keys + opt}
    seen: set[tuple] = set()
    for r in have:
        present = [k for k in opt if k in (r.get("data") or {})]
        part = series([r], keys + present, figure, sort=False)
        n = len(part[keys[0]])
        for i in range(n):
            point = tuple(part[k][i] if k in part else math.nan for k in keys + opt)
            tag = tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in point)
            if tag in seen:
                continue
            seen.add(tag)
            for k, v in zip(keys + opt, point):
                cols[k].append(v)
    order = sorted(range(len(cols[keys[0]])), key=lambda i: (math.isnan(cols[keys[0]][i]),
                                                             cols[keys[0]][i]))
    return {k: [v[i] for i in order] for k, v in cols.items()}
