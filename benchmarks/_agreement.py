"""NumPy against CuPy: the same kernels on the same host-drawn data agree within dtype tolerance.

Run by ``benchmarks/gpu.sh`` as ``python -m benchmarks._agreement``; prints one row per kernel
and dtype and exits 0 when every row agrees, 1 otherwise, 2 when the second backend is not
available.  ``--other numpy`` compares NumPy with itself (the plumbing, on a machine without a
GPU).  Tolerance: ``4·sqrt(eps)`` of the dtype for computed quantities (STYLE, "Checks"), exact
equality for integer step counts in float64.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, Callable

import numpy as np

__all__ = ["agreement", "main"]


def _rtol(dtype: str) -> float:
    return 4.0 * math.sqrt(float(np.finfo(np.dtype(dtype)).eps))


def _host(x: Any) -> np.ndarray:
    from specdef.numerics import to_host

    return np.asarray(to_host(x), dtype=np.float64)


def _kernels(d: int) -> dict[str, Callable[[Any, str], Any]]:
    """name -> ``f(xp, dtype)``: each builds its input on the host (same seed) and runs a kernel."""
    from specdef import numerics as nm

    from ._eigen import planted_specdef_instance
    from ._gd_batch import quadratic_batch

    inst = planted_specdef_instance(d)
    qb = quadratic_batch(32, d // 2)
    steps = np.array([0.5, 1.0])

    def put(xp: Any, a: np.ndarray, dt: str) -> Any:
        return xp.asarray(a, dtype=getattr(xp, dt))

    def joint(xp: Any, dt: str) -> Any:
        sp = nm.joint_spectrum_zero_residual(*(put(xp, inst[k], dt)
                                               for k in ("W_inflated", "C", "X")))
        return np.array([sp.lambda_max, sp.lambda_min_nonzero])

    def closed(xp: Any, dt: str) -> Any:
        return nm.gd_closed_form(put(xp, qb["lam"], dt), put(xp, qb["c"], dt), 1.0, 50)

    def batched(xp: Any, dt: str) -> Any:
        r = nm.batched_gradient_descent(put(xp, qb["H"], dt), put(xp, qb["e0"], dt),
                                        put(xp, steps, dt), 50, record_every=50)
        return r.loss[-1]

    def counts(xp: Any, dt: str) -> Any:
        return nm.steps_to_tolerance_quadratic(put(xp, qb["lam"], dt), put(xp, qb["c"], dt),
                                               put(xp, steps, dt)[:, None], 1e-4).steps

    def eigsh(xp: Any, dt: str) -> Any:
        small = planted_specdef_instance(8, xp=None)
        W, C, X = (put(xp, small[k], dt) for k in ("W_inflated", "C", "X"))
        model = nm.SpecDefLayer(W, C, X, C @ (W @ X))
        th = model.theta0
        backend = nm.backend_name(xp)
        r = nm.extreme_eigenvalues(lambda v: model.hvp(th, xp.asarray(v, dtype=model.dtype)),
                                   model.n_params, which="largest", tol=1e-12, rng=0,
                                   backend=backend, dtype=dt)
        return r.values[-1:]

    return {"joint_spectrum_zero_residual": joint, "gd_closed_form": closed,
            "batched_gradient_descent": batched, "steps_to_tolerance_quadratic": counts,
            "extreme_eigenvalues(largest)": eigsh}


def agreement(other: str = "cupy", *, d: int = 32,
              dtypes: tuple[str, ...] = ("float64", "float32")) -> list[dict]:
    """Run every kernel on NumPy and on ``other``; one row per kernel and dtype.

    Rows ``numpy/<other>`` compare the backends at one dtype; rows ``float32/float64`` compare
    the two dtypes on ``other`` (with the float32 tolerance).
    """
    from specdef.numerics import namespace_for

    xps = {"numpy": namespace_for("numpy"), other: namespace_for(other)}
    rows = []

    def row(name: str, what: str, dt: str, f: Callable[[], tuple], tol: float) -> None:
        try:
            a, b = (_host(v) for v in f())
            diff = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-300)))
            rows.append({"kernel": name, "compare": what, "dtype": dt, "max_rel_diff": diff,
                         "rtol": tol, "ok": bool(diff <= tol), "detail": ""})
        except Exception as exc:  # report, do not hide the other kernels
            rows.append({"kernel": name, "compare": what, "dtype": dt, "max_rel_diff": math.nan,
                         "rtol": tol, "ok": False,
                         "detail": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"})

    for name, fn in _kernels(d).items():
        exact = name == "steps_to_tolerance_quadratic"  # integer counts, float64 inside
        for dt in dtypes if not exact else ("float64",):
            row(name, f"numpy/{other}", dt, lambda: (fn(xps["numpy"], dt), fn(xps[other], dt)),
                0.0 if exact else _rtol(dt))
        if not exact and "float32" in dtypes:
            row(name, "float32/float64", f"on {other}",
                lambda: (fn(xps[other], "float64"), fn(xps[other], "float32")), _rtol("float32"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._agreement",
                                description="NumPy vs CuPy agreement of the kernels")
    p.add_argument("--other", default="cupy", choices=("cupy", "numpy"))
    p.add_argument("--d", type=int, default=32)
    args = p.parse_args(argv)
    try:
        rows = agreement(args.other, d=args.d)
    except ValueError as exc:  # BackendUnavailableError: one line, exit 2
        print(f"agreement: {exc}", file=sys.stderr)
        return 2
    print(f"{'kernel':30s} {'compare':16s} {'dtype':9s} {'max rel diff':>12s} {'rtol':>9s}  ok")
    for r in rows:
        print(f"{r['kernel']:30s} {r['compare']:16s} {r['dtype']:9s} {r['max_rel_diff']:12.2e} "
              f"{r['rtol']:9.1e}  {'yes' if r['ok'] else 'NO'} {r['detail']}".rstrip())
    bad = [r for r in rows if not r["ok"]]
    print(f"numpy vs {args.other}: {len(rows) - len(bad)} of {len(rows)} agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
