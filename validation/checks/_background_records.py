"""The record builder of the gradient-descent checks, curve subsampling and host transfer.

:func:`rows_record` (one record for many comparison rows) and :func:`log_subsample` serve the
family :mod:`validation.checks.background` and the checks in ``first_order`` and ``newton``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._records import Status, compare
from .._registry import Context

__all__ = ["rows_record", "log_subsample"]


# ------------------------------------------------------------------------------------ helpers
def rows_record(ctx: Context, check_id: str, theorem: str, rows: list[dict], *, kind: str,
                params: dict, detail: str, data: dict | None = None, side: str = "upper"):
    """One record for many comparisons ``rows = [{emp, prv, tol, params}]``.

    The reported row is the one that decides the status: the farthest outside its tolerance,
    else the closest to its edge (``upper``: largest ``(emp − prv)/(tol·|prv|)``; ``lower``: the
    smallest; ``exact``: largest ``|·|``; ``tight``: a violating row first, else largest ``|·|``).
    ``data`` gains ``n_rows``, the count of each row status and the range of ``emp/prv``.
    """
    def score(r: dict) -> float:
        return (r["emp"] - r["prv"]) / (r["tol"] * (abs(r["prv"]) if r["prv"] != 0 else 1.0))

    key = {"upper": lambda s: s, "lower": lambda s: -s, "exact": abs,
           "tight": (lambda s: (s > 1, abs(s))) if side == "upper" else
           (lambda s: (s < -1, abs(s)))}[kind]
    worst = max(rows, key=lambda r: key(score(r)))
    counts: dict[str, int] = {}
    for r in rows:
        st = compare(kind, r["emp"], r["prv"], r["tol"], side=side)
        counts[st] = counts.get(st, 0) + 1
    ratios = [r["emp"] / r["prv"] for r in rows if r["prv"] != 0]
    out = dict(data or {})
    out.update(n_rows=len(rows), row_status=counts,
               ratio_range=[min(ratios), max(ratios)] if ratios else None)
    nbad = counts.get(Status.VIOLATED, 0) + counts.get(Status.LOOSE, 0)
    return ctx.result(check_id, theorem, {**params, **worst["params"]}, worst["emp"],
                      worst["prv"], rtol=worst["tol"], kind=kind, side=side,
                      detail=f"{detail}; {nbad} of {len(rows)} outside tolerance", data=out)


def log_subsample(T: int, n: int = 150) -> np.ndarray:
    """``0`` and about ``n`` log-spaced integers in ``[1, T]`` (always ``T``)."""
    if T <= 0:
        return np.zeros(1, dtype=np.int64)
    pts = np.unique(np.round(np.geomspace(1, T, n)).astype(np.int64))
    return np.concatenate([[0], pts])


def _host(x: Any) -> np.ndarray:
    from specdef.numerics import to_host

    return np.asarray(to_host(x), dtype=np.float64)
