"""``specdef certify``: the paper's certification process as a command.

Sweeps the attacker's recipes (optimisers × C frozen/trained × learning rates × α × seeds, and
LoRA ranks) against a defence, writes ``DIR/certificate.json`` and Figure 9, prints the
attacker's best recipe per optimiser and exits 0 when every recipe is slowed at least
``--min-slowdown``, 1 when some recipe breaks the defence (named on stdout), 2 on usage errors.
The grid and the certificate are :mod:`specdef.validation.certify`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from .common import (UsageError, add_placement_options, fmt, load_defence, run_options,
                     table)

__all__ = ["add_parser", "cmd_certify"]

#: ``--quick``: every optimiser, one rate per decade over five decades, a budget of 300.
QUICK = dict(per_decade=1, budget=300)


def _floats(name: str):
    def parse(text: str) -> list[float]:
        try:
            vals = [float(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} takes comma-separated numbers, got "
                                             f"{text!r}") from None
        if not vals or not all(math.isfinite(v) and v > 0 for v in vals):
            raise argparse.ArgumentTypeError(f"{name} takes numbers > 0, got {text!r}")
        return vals
    return parse


def _ints(name: str, low: int):
    def parse(text: str) -> list[int]:
        try:
            vals = [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} takes comma-separated integers, got "
                                             f"{text!r}") from None
        if not vals or any(v < low for v in vals):
            raise argparse.ArgumentTypeError(f"{name} takes integers >= {low}, got {text!r}")
        return vals
    return parse


def _lrs(text: str) -> list[float]:
    """``a,b,c`` or ``START:STOP:N`` (N rates, geometric)."""
    if text.count(":") == 2:
        try:
            a, b, n = text.split(":")
            a, b, n = float(a), float(b), int(n)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--lrs START:STOP:N, got {text!r}") from None
        if not (0 < a < b and math.isfinite(b) and n >= 2):
            raise argparse.ArgumentTypeError(f"--lrs START:STOP:N needs 0 < START < STOP and "
                                             f"N >= 2, got {text!r}")
        return [a * (b / a) ** (i / (n - 1)) for i in range(n)]
    return _floats("--lrs")(text)


def _positive(name: str, kind=float):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} takes a number, got {text!r}") from None
        if not (math.isfinite(v) and v > 0):
            raise argparse.ArgumentTypeError(f"{name} must be > 0, got {text!r}")
        return v
    return parse


def add_parser(sub) -> None:
    """Register ``certify`` on the ``specdef`` sub-parser."""
    from ..certify.instances import MODELS, OPTIMISERS

    p = sub.add_parser("certify", help="sweep the attacker's recipes against a defence and "
                       "write a certificate (exit 0: every recipe slowed, 1: broken)")
    p.add_argument("--defence", metavar="MODULE:FUNCTION", default=None,
                   help="a function (W, alpha, k) -> (W_inflated, C); unset: SpecDef")
    p.add_argument("--alpha", type=_floats("--alpha"), default=None, metavar="A[,A]",
                   help="α of the defence, each > 1; every one must hold; unset: 1e4, the paper's")
    p.add_argument("--k", type=_positive("--k", int), default=None,
                   help="number of inflated singular values; unset: 2")
    p.add_argument("--model", choices=MODELS, default="layer",
                   help="the SpecDef regression layer or the tanh MLP")
    p.add_argument("--optimisers", default=",".join(OPTIMISERS), metavar="NAME[,NAME]",
                   help=f"among {', '.join(OPTIMISERS)}")
    p.add_argument("--lrs", type=_lrs, default=None, metavar="LR[,LR]|START:STOP:N",
                   help="learning rates for every optimiser; unset: 11 rates over five "
                        "decades around each optimiser's natural scale (--quick: 6)")
    p.add_argument("--clip", type=_positive("--clip"), default=None,
                   help="clip the global gradient norm; unset: no clipping")
    p.add_argument("--lora-ranks", type=_ints("--lora-ranks", 1), default=[], metavar="R[,R]",
                   help="add LoRA recipes (AdamW, adapters on W̃ and C) of these ranks")
    p.add_argument("--budget", type=_positive("--budget", int), default=None,
                   help="updates for the undefended release; unset: 400 (--quick: 300)")
    p.add_argument("--seeds", type=_positive("--seeds", int), default=1,
                   help="seeds per configuration (0..N-1)")
    p.add_argument("--min-slowdown", type=_positive("--min-slowdown"), default=10.0,
                   help="slowdown every recipe must reach")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write DIR/certificate.json and the figure DIR/certificate.{png,pdf}")
    p.add_argument("--resume", action="store_true", help="keep the recipes finished in DIR")
    p.add_argument("--json", action="store_true", help="print the certificate as JSON")
    p.add_argument("--quick", action="store_true",
                   help="one rate per decade, budget 300 (under 3 minutes on 2 cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    add_placement_options(p, "recipes")
    p.set_defaults(func=cmd_certify)


def _config(args: argparse.Namespace):
    from ..certify.certificate import CertifyConfig
    from ..certify.instances import OPTIMISERS

    names = [n.strip() for n in args.optimisers.split(",") if n.strip()]
    bad = [n for n in names if n not in OPTIMISERS]
    if bad or not names:
        raise UsageError(f"specdef certify: --optimisers takes names among "
                         f"{', '.join(OPTIMISERS)}, got {args.optimisers!r}")
    if args.alpha is not None and any(a <= 1 for a in args.alpha):
        raise UsageError(f"specdef certify: --alpha takes numbers > 1, got "
                         f"{','.join(f'{a:g}' for a in args.alpha)}")
    if args.min_slowdown <= 1:
        raise UsageError(f"specdef certify: --min-slowdown must be > 1, got "
                         f"{args.min_slowdown:g}")
    kw = dict(model=args.model, optimisers=list(dict.fromkeys(names)), clip=args.clip,
              lora_ranks=sorted(set(args.lora_ranks)), seeds=list(range(args.seeds)),
              min_slowdown=args.min_slowdown, k=args.k, lrs=args.lrs)
    if args.quick:
        kw.update(per_decade=QUICK["per_decade"], budget=QUICK["budget"])
    if args.alpha is not None:
        kw["alphas"] = args.alpha
    if args.budget is not None:
        kw["budget"] = args.budget
    try:
        return CertifyConfig(**kw)
    except ValueError as exc:
        raise UsageError(f"specdef {exc}") from None


def _summary(cert: dict) -> str:
    a = max(cert["config"]["alphas"])
    rows = []
    for name, r in cert["recipes"].items():
        for mode, per in r["modes"].items():
            v = per[f"{a:g}"]
            slow = v["slowdown"]
            rows.append([r["label"], "-" if name.startswith("lora") else f"C {mode}",
                         fmt(r["undefended"]["best_lr"]), fmt(r["undefended"]["best_steps"]),
                         fmt(v["best_lr"]), fmt(v["best_steps"]) if v["best_steps"] is not None
                         else f">{r['defended_budget']}",
                         "-" if slow is None else (f"≥{slow:.3g}×" if v["lower_bound"]
                                                   else f"{slow:.3g}×"), v["verdict"]])
    return table(rows, ["recipe", "mode", "lr (undef.)", "steps (undef.)", f"lr (α={a:g})",
                        f"steps (α={a:g})", "slowdown", "verdict"])


def cmd_certify(args: argparse.Namespace) -> int:
    from ..certify.certificate import CertificateFileError, certify

    config = _config(args)
    defence, name = load_defence(args.defence)
    if defence is None:
        from specdef.numerics import specdef

        defence = specdef
    if args.resume and not args.out:
        raise UsageError("specdef certify: --resume needs --out DIR")
    t0 = time.perf_counter()

    def progress(recipe: str) -> None:
        if not args.no_progress:
            print(f"specdef certify: {recipe} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr)

    try:
        cert = certify(config, defence, name, out=args.out, resume=args.resume,
                       progress=progress, **run_options(args))
    except CertificateFileError as exc:
        raise UsageError(f"specdef {exc}") from None
    except OSError as exc:
        raise UsageError(f"specdef certify: --out {args.out!r} cannot be used: "
                         f"{exc.strerror or exc}") from None
    figure = None
    if args.out:
        from specdef import figures

        record = {"check": "certify", "theorem": "certificate", "status": "MEASURED",
                  "params": {}, "data": {"certificate": cert}}
        figure = figures.render("certificate", {"meta": {}, "results": [record]},
                                Path(args.out), formats=("png", "pdf"))
    if args.json:
        slim = {k: v for k, v in cert.items() if k not in ("grids",)}
        json.dump(slim, sys.stdout, indent=1, allow_nan=False)
        print()
    else:
        print(f"defence {name}, model {config.model}, α "
              f"{','.join(f'{a:g}' for a in config.alphas)}; "
              f"{len(cert['recipes'])} recipes × {len(cert['records'])} configurations "
              f"({cert['elapsed_s']:.0f} s)")
        print(_summary(cert))
        if cert["no_reference"]:
            print(f"no reference (undefended not recovered within {config.budget} steps): "
                  f"{', '.join(cert['no_reference'])}")
        if args.out:
            print(f"certificate: {Path(args.out) / 'certificate.json'}; figure: "
                  f"{', '.join(str(p) for p in figure or [])}")
    if cert["holds"]:
        if not args.json:
            print(f"CERTIFIED: every recipe slowed at least {config.min_slowdown:g}×")
        return 0
    worst = {}
    for b in cert["broken"]:
        key = (b["recipe"], b["mode"], b["alpha"])
        if key not in worst or b["slowdown"] < worst[key]["slowdown"]:
            worst[key] = b
    # named on stdout (with --json the certificate's "broken" names them, and the line goes
    # to stderr so that stdout stays one JSON document)
    print("BROKEN by: " + "; ".join(
        f"{cert['recipes'][b['recipe']]['label']} (C {b['mode']}) at α={b['alpha']:g}, "
        f"lr {b['lr']:.3g}: {b['steps']:g} steps ({b['slowdown']:.3g}× undefended)"
        for b in worst.values()), file=sys.stderr if args.json else sys.stdout)
    return 1
