"""``specdef bench``: run the side-by-side benchmarks and print (or save) the table.

The benchmark modules are imported inside :func:`cmd_bench` only, so that the other ``specdef``
commands do not pay for them.  Bad options raise ``ValueError`` with one line, which the
``specdef`` entry point prints before exiting with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

__all__ = ["add_commands", "cmd_bench", "run_benchmarks"]


def add_commands(sub) -> None:
    """Register ``bench`` on the ``specdef`` sub-parser."""
    pb = sub.add_parser("bench", help="side-by-side benchmarks: toolkit vs baseline, time ratio "
                        "and accuracy against an independent reference")
    pb.add_argument("--quick", action="store_true",
                    help="smaller sizes and fewer repetitions (under 3 minutes on 2 cores)")
    pb.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    pb.add_argument("--json", action="store_true", help="print the records as JSON on stdout")
    pb.add_argument("--only", nargs="+", default=None, metavar="NAME",
                    help="benchmark families to run (default: all; see --list)")
    pb.add_argument("--list", action="store_true", help="list the benchmark families and exit")
    pb.add_argument("--repeats", type=int, default=None, metavar="N",
                    help="timed repetitions per side (default 3 with --quick, else 5)")
    pb.add_argument("--threads", type=int, default=1, metavar="N",
                    help="BLAS threads (default 1: on a shared, loaded machine 2-thread OpenBLAS "
                         "was 5-14x slower, see benchmarks/RESULTS.md; 0 = library default)")
    pb.add_argument("--out", default=None, metavar="FILE", help="also write the JSON to FILE")
    pb.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    pb.set_defaults(func=cmd_bench)


def run_benchmarks(cfg, only: list[str] | None = None) -> tuple[list, list[str]]:
    """Run the selected families; return ``(results, errors)`` (errors: one line per family)."""
    from . import registry
    from ._harness import BenchResult, progress

    fams = registry()
    names = list(fams) if not only else only
    unknown = [n for n in names if n not in fams]
    if unknown:
        raise ValueError(f"bench: --only must name benchmark families "
                         f"({', '.join(fams)}), got {', '.join(unknown)}")
    results, errors = [], []
    for name in progress(names, cfg, "benchmarks"):
        try:
            results.extend(fams[name](cfg))
        except Exception as exc:  # one family failing must not hide the others' figures
            line = f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            errors.append(line)
            traceback.print_exc(file=sys.stderr)
            results.append(BenchResult(family=name, case="ERROR", size="-", toolkit="-",
                                       baseline=None, t_toolkit=float("nan"), t_baseline=None,
                                       err_toolkit=float("nan"), err_baseline=None,
                                       reference="-", met=False, note=line,
                                       backend=cfg.backend))
    return results, errors


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmarks; exit 0 when they all ran (targets missed are reported, not fatal)."""
    from . import BenchConfig, machine_info, print_table, registry, set_blas_threads, write_json

    if args.list:
        for name, fn in registry().items():
            doc = (fn.__doc__ or "").strip().splitlines()[0]
            print(f"{name:20s} {doc}")
        return 0
    if args.repeats is not None and args.repeats < 1:
        raise ValueError(f"bench: --repeats must be >= 1, got {args.repeats}")
    if args.threads < 0:
        raise ValueError(f"bench: --threads must be >= 0, got {args.threads}")
    if args.backend == "cupy":
        from specdef.numerics import namespace_for

        namespace_for("cupy")  # raises a one-line BackendUnavailableError without a GPU
    only = [n for item in args.only for n in item.split(",") if n] if args.only else None
    unknown = [n for n in only or [] if n not in registry()]
    if unknown:
        raise ValueError(f"bench: --only must name benchmark families "
                         f"({', '.join(registry())}), got {', '.join(unknown)}")
    if args.threads > 0:
        set_blas_threads(args.threads)
    cfg = BenchConfig(quick=args.quick, backend=args.backend, repeats=args.repeats,
                      progress=not args.no_progress)
    meta = machine_info(args.backend)
    t0 = time.perf_counter()
    results, errors = run_benchmarks(cfg, only)
    runtime = time.perf_counter() - t0
    meta.update(runtime_s=round(runtime, 1), quick=args.quick, repeats=cfg.n_repeats,
                load_average_end=_load())
    doc = {"meta": meta, "results": [r.to_dict() for r in results]}
    if args.out:
        write_json(args.out, doc)
    if args.json:
        json.dump(doc, sys.stdout, indent=1, allow_nan=False)
        print()
    else:
        print_table(results)
        met = sum(r.met is True for r in results)
        missed = [f"{r.family}/{r.case}" for r in results if r.met is False]
        print(f"\n{len(results)} rows, targets met {met}, missed {len(missed)}"
              + (f" ({', '.join(missed)})" if missed else "")
              + f"; backend {args.backend}, BLAS threads {meta['blas_threads']}, "
              f"load average {_fmt_load(meta['load_average'])} -> "
              f"{_fmt_load(meta['load_average_end'])}; {runtime:.0f} s")
    for line in errors:
        print(f"specdef bench: {line}", file=sys.stderr)
    return 1 if errors else 0


def _load() -> list[float] | None:
    import os

    try:
        return list(os.getloadavg())
    except OSError:
        return None


def _fmt_load(load: list[float] | None) -> str:
    return "?" if not load else "/".join(f"{x:.1f}" for x in load)
