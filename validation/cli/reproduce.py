"""``specdef reproduce``: the main job — every check, then every figure, then ``DIR/report.md``.

Runs every check into ``DIR/results.json``, renders every figure from that file into
``DIR/figures/`` and writes ``DIR/report.md``: the verdict table and the figures, each a PNG link
(and its PDF).  :mod:`specdef.figures` is imported only inside the functions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .common import (add_run_options, context, fmt as cell_text, print_report, run_options,
                     show_progress)

__all__ = ["add_parser", "cmd_reproduce", "report_markdown"]


def add_parser(sub) -> None:
    """Register ``reproduce`` on the ``specdef`` sub-parser."""
    pr = sub.add_parser("reproduce", help="run every check, then every figure, and write "
                        "DIR/report.md")
    add_run_options(pr)
    pr.add_argument("--out", default="reproduce", metavar="DIR",
                    help="output directory (default: ./reproduce)")
    pr.add_argument("--resume", action="store_true", help="skip checks already in DIR")
    pr.add_argument("--format", default="pdf,png", metavar="FMT[,FMT]",
                    help="figure formats; png is always made for the report")
    pr.set_defaults(func=cmd_reproduce)


def _cell(x) -> str:
    return cell_text(x).replace("|", "\\|").replace("\n", " ")


def report_markdown(report, made: dict, failed: dict, *, out: Path, timings: dict) -> str:
    """The text of ``report.md``: run metadata, verdict table, figures (PNG links)."""
    from specdef import figures

    meta = report.meta
    verdicts = [r for r in report.results if not r.is_data]
    data_records = [r for r in report.results if r.is_data]
    n_pass = sum(r.passed for r in verdicts)
    n_checks = len({r.check for r in report.results})
    lines = ["# specdef-toolkit: reproduction report", "",
             f"specdef-toolkit {meta.get('version')} (git {meta.get('git_commit') or 'unknown'})"
             f"; backend {meta.get('backend')}, dtype {meta.get('dtype')}, size "
             f"{meta.get('size')}, seed {meta.get('seed')}, defence {meta.get('defence')}; "
             f"{meta.get('platform')}, Python {meta.get('python')}.",
             f"Started {meta.get('start_time')}, finished {meta.get('end_time')}; checks "
             f"{timings['checks']:.1f} s, figures {timings['figures']:.1f} s.", "",
             f"**{n_pass} of {len(verdicts)} verdicts match their expectation "
             f"({n_checks} checks" + (f"; {len(data_records)} data records" if data_records
                                      else "") + ")" + (".**" if report.passed else
                                                        ": the run FAILED.**"), ""]
    if failed:
        lines += [f"**{len(failed)} figure(s) missing**: {', '.join(failed)}.", ""]
    lines += ["## Checks", "",
              "| check | theorem | status | verdict | empirical | proven | ratio | rtol | "
              "detail |", "|---|---|---|---|---:|---:|---:|---:|---|"]
    for r in verdicts:
        lines.append("| " + " | ".join([
            f"`{r.check}`", f"`{r.theorem}`", r.status, "pass" if r.passed else "**FAIL**",
            _cell(r.empirical), _cell(r.proven), _cell(r.ratio), _cell(r.rtol),
            _cell(r.detail)]) + " |")
    if data_records:
        lines += ["", "### Data (not verdicts)", "",
                  "Records that are data, not a comparison with a theorem: counts, reference "
                  "values, quantities no theorem predicts (status `MEASURED`).", "",
                  "| check | theorem | status | measured | reference | detail |",
                  "|---|---|---|---:|---:|---|"]
        for r in data_records:
            lines.append("| " + " | ".join([
                f"`{r.check}`", f"`{r.theorem}`", r.status, _cell(r.empirical),
                _cell(r.proven), _cell(r.detail)]) + " |")
    from ..certify.report import claims_table

    lines += claims_table(report.results)  # the paper's empirical claims (family c4)
    lines += ["", "## Figures", ""]
    for k, spec in enumerate(figures.figure_specs().values(), 1):
        lines.append(f"### Figure {k}: `{spec.name}`")
        lines.append("")
        if spec.name in made:
            png = f"figures/{spec.name}.png"
            others = [p for p in made[spec.name] if p.suffix != ".png"]
            lines += [spec.caption, "", f"![{spec.name}]({png})", ""]
            if others:
                lines += [" · ".join(f"[{p.suffix[1:].upper()}]({p.relative_to(out).as_posix()})"
                                     for p in others), ""]
        else:
            lines += [f"**Missing**: {failed.get(spec.name, 'not made')}", ""]
    return "\n".join(lines) + "\n"


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Checks → ``DIR/results.json`` → figures → ``DIR/report.md``; 0 iff all pass and all
    figures are made."""
    from ..engine import registry
    from ..engine.runner import run_checks
    from ..engine.store import RESULTS_NAME, atomic_write_text

    from specdef import figures

    fmts = figures.parse_formats(args.format)
    fmts = fmts + ("png",) if "png" not in fmts else fmts
    out = Path(args.out)
    ctx = context(args)
    t0 = time.perf_counter()
    report = run_checks(registry.select(None), ctx, out=out, resume=args.resume,
                        progress=show_progress(args), **run_options(args))
    t1 = time.perf_counter()
    print_report(report)
    results = figures.load_results(out / RESULTS_NAME)
    made, failed = figures.render_all(results, out / "figures", formats=fmts)
    for name in failed:  # no stale file of an earlier run may pass for this run's figure
        for fmt in figures.FORMATS:
            (out / "figures" / f"{name}.{fmt}").unlink(missing_ok=True)
    t2 = time.perf_counter()
    for name, why in failed.items():
        print(f"specdef reproduce: figure {name} is missing: {why}", file=sys.stderr)
    text = report_markdown(report, made, failed, out=out,
                           timings={"checks": t1 - t0, "figures": t2 - t1})
    atomic_write_text(out / "report.md", text)
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(out / "report.md", 0o666 & ~mask)  # a temporary file is 0600; a report is shared
    print(f"\nfigures: {len(made)} of {len(made) + len(failed)} made in {out / 'figures'}; "
          f"report: {out / 'report.md'} ({t2 - t0:.0f} s)")
    return 0 if report.passed and not failed else 1
