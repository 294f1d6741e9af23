"""The checks ``c4.lr_sweep``, ``c4.curvature_aware`` and ``c4.alpha_threshold``.

All three read the attacker's grid (:func:`.runs.attacker_grid`) of each model; the settings are
``layer/frozen``, ``layer/trained``, ``mlp/frozen``, ``mlp/trained`` (model / C mode).  A
slowdown is the attacker's best defended count over the undefended best count of the same
optimiser; "slowed" means at least :data:`.runs.MIN_SLOWDOWN` (a lower bound when no rate
recovered within the defended budget).
"""

from __future__ import annotations

import math

from ...engine.registry import Context, check
from ..common import fmt_alpha, loglog_slope
from .claims import claim_record, threshold
from ...certify.grid import Grid
from ...certify.instances import MODELS, MODES, OPTIMISERS
from .runs import ALPHAS, MIN_SLOWDOWN, PAPER_ALPHA, attacker_grid

__all__ = ["check_lr_sweep", "check_curvature_aware", "check_alpha_threshold", "SETTINGS",
           "FIRST_ORDER", "CURVATURE_AWARE", "fitted_exponent"]

SETTINGS = tuple((m, c) for m in MODELS for c in MODES)
#: Table 1's attackers (and the replication's AdamW).
FIRST_ORDER = ("sgd", "sgd_momentum", "adam", "adamw")
#: The optimisers the paper says cannot bypass SpecDef.
CURVATURE_AWARE = ("sophia", "muon", "muon_polar", "adahessian")


def _fmt_slow(v: float, lower: bool) -> str:
    if v != v:
        return "n/a"
    return f"≥{v:.3g}×" if lower else f"{v:.3g}×"


def _nan(v: float | None) -> float:
    return math.nan if v is None else v


def _steps(v: float | None, cap: int) -> str:
    return f"{v:g}" if v is not None and math.isfinite(v) else f">{cap}"


def fitted_exponent(g: Grid, name: str, mode: str) -> float | None:
    """Slope of log(slowdown) on log α over the α whose slowdown is resolved (not a lower
    bound); ``None`` with fewer than two such α."""
    xs, ys = [], []
    for a in g.alphas:
        v, lower = g.slowdown(name, mode, a)
        if lower or v != v:
            break
        xs.append(a)
        ys.append(v)
    return loglog_slope(xs, ys)


def _curve(g: Grid, name: str, mode: str) -> dict:
    out = dict(alpha=list(g.alphas), slowdown=[], lower_bound=[], steps=[], lr=[])
    for a in g.alphas:
        v, lower = g.slowdown(name, mode, a)
        lr, s = g.best(name, mode, a)
        out["slowdown"].append(None if v != v else v)
        out["lower_bound"].append(bool(lower))
        out["steps"].append(s if math.isfinite(s) else None)
        out["lr"].append(lr)
    out["exponent"] = fitted_exponent(g, name, mode)
    return out


@check("c4.lr_sweep", "claim.c4.table1",
       "Table 1 in miniature: SGD, SGD+momentum, Adam, AdamW over 5 decades of rates, "
       "undefended vs α = 1e4", claim="C4")
def check_lr_sweep(ctx: Context) -> list:
    cid = "c4.lr_sweep"
    c = threshold(ctx, cid, MIN_SLOWDOWN)
    out = []
    for model, mode in SETTINGS:
        g = attacker_grid(ctx, model)
        setting = f"{model}/{mode}"
        rows, missing, broken = {}, [], []
        for name in FIRST_ORDER:
            lr0, s0 = g.baseline(name)
            lr, s = g.best(name, mode, PAPER_ALPHA)
            slow, lower = g.slowdown(name, mode, PAPER_ALPHA)
            a = g.alphas.index(PAPER_ALPHA)
            cells = g.optimisers[name]["modes"][mode]["status"][a]
            rows[name] = dict(lr_undefended=lr0, steps_undefended=s0 if math.isfinite(s0)
                              else None, lr_defended=lr, steps_defended=s if math.isfinite(s)
                              else None, slowdown=None if slow != slow else slow,
                              lower_bound=lower, diverged=sum(x == "diverged" for x in cells),
                              n_lrs=len(cells), lrs=g.optimisers[name]["lrs"],
                              defended_budget=g.optimisers[name]["defended_budget"])
            if not math.isfinite(s0):
                missing.append(OPTIMISERS[name].label)
            elif slow < c and lower:  # the budget resolves less than the threshold
                broken.append(f"{OPTIMISERS[name].label} (not within its budget, which resolves "
                              f"only {slow:.3g}×)")
            elif slow < c:
                broken.append(f"{OPTIMISERS[name].label} at lr {lr:.3g} in {s:g} steps "
                              f"({slow:.3g}× undefended)")
        slows = [r["slowdown"] for r in rows.values() if r["slowdown"] is not None]
        n_div = sum(r["diverged"] for r in rows.values())
        n_cells = sum(r["n_lrs"] for r in rows.values())
        decades = math.log10(max(g.optimisers["sgd"]["lrs"]) / min(g.optimisers["sgd"]["lrs"]))
        summary = "; ".join(
            f"{OPTIMISERS[n].label} {_steps(r['steps_undefended'], g.budget)} → "
            f"{_steps(r['steps_defended'], r['defended_budget'])} steps "
            f"({_fmt_slow(_nan(r['slowdown']), r['lower_bound'])})"
            for n, r in rows.items())
        detail = (f"{setting}, α={fmt_alpha(PAPER_ALPHA)}, {rows['sgd']['n_lrs']} rates over "
                  f"{decades:.0f} decades each: {summary}; diverged at {n_div} of {n_cells} "
                  f"defended (optimiser, rate) cells (the paper: every rate diverges)")
        if broken:
            detail += f"; recovered: {', '.join(broken)}"
        data = dict(optimisers=rows, alpha=PAPER_ALPHA, min_slowdown=c, budget=g.budget,
                    tol=g.tol, diverged_cells=n_div, cells=n_cells,
                    every_rate_diverged=bool(n_div == n_cells))
        out.append(claim_record(
            ctx, cid, "table1", setting, holds=None if missing else not broken,
            empirical=min(slows) if slows else None, proven=c, detail=detail, data=data,
            params=dict(alpha=PAPER_ALPHA, budget=g.budget, tol=g.tol),
            why_error=f"the undefended release was not recovered by {', '.join(missing)} "
                      f"within {g.budget} steps"))
    return out


@check("c4.curvature_aware", "claim.c4.no_bypass",
       "Sophia, Muon (Newton–Schulz, exact polar), AdaHessian over α: steps ∝ α^p and "
       "bypass", claim="C4")
def check_curvature_aware(ctx: Context) -> list:
    """A bypass: the optimiser's best count stays within ``MIN_SLOWDOWN`` of undefended at every
    α of the grid in a setting where SGD and Adam are slowed (where they are not, the defence is
    absent in that setting and no optimiser can be said to bypass it)."""
    cid = "c4.curvature_aware"
    c = threshold(ctx, cid, MIN_SLOWDOWN)
    grids = {m: attacker_grid(ctx, m) for m in MODELS}

    def held(g: Grid, name: str, mode: str) -> bool:  # the reference, never perturbed
        v, _ = g.slowdown(name, mode, max(g.alphas))
        return v == v and v >= MIN_SLOWDOWN

    out = []
    for name in CURVATURE_AWARE:
        per, bypass, absent, missing, worst = {}, [], [], [], []
        for model, mode in SETTINGS:
            g = grids[model]
            setting = f"{model}/{mode}"
            curve = _curve(g, name, mode)
            curve["gd_exponent"] = fitted_exponent(g, "sgd", mode)
            curve["gd_curve"] = _curve(g, "sgd", mode)["slowdown"]
            per[setting] = curve
            if not math.isfinite(g.baseline(name)[1]):
                missing.append(setting)
                continue
            first_held = all(held(g, f, mode) for f in ("sgd", "adam")
                             if math.isfinite(g.baseline(f)[1]))
            top = max(v for v in curve["slowdown"] if v is not None)
            curve["max_slowdown"] = top
            if not first_held:
                absent.append(setting)
                continue
            worst.append(top)
            if top < c:
                bypass.append(f"{setting} (≤{top:.3g}× up to α={fmt_alpha(max(g.alphas))})")
        label = OPTIMISERS[name].label
        fits = ", ".join(
            f"{s}: p={v['exponent']:.2f}" if v["exponent"] is not None else f"{s}: p n/a"
            for s, v in per.items())
        gd = ", ".join(f"{s}: {v['gd_exponent']:.2f}" if v["gd_exponent"] is not None
                       else f"{s}: n/a" for s, v in per.items())
        detail = (f"{label}: steps ∝ α^p (p over the resolved α, slowdown < "
                  f"{MIN_SLOWDOWN:g}×) {fits}; SGD's p {gd} (GD theory: 2); "
                  + (f"bypasses SpecDef in {', '.join(bypass)}" if bypass else
                     f"slowed ≥{c:g}× at α={fmt_alpha(max(ALPHAS))} wherever SGD and Adam are")
                  + (f"; defence absent for SGD/Adam too in {', '.join(absent)}" if absent
                     else ""))
        ok = worst and not missing
        out.append(claim_record(
            ctx, cid, "no_bypass", name, holds=(not bypass) if ok else None,
            empirical=min(worst) if worst else None, proven=c, detail=detail,
            data=dict(optimiser=name, label=label, settings=per, bypass=bypass,
                      defence_absent=absent, min_slowdown=c),
            params=dict(optimiser=name, alphas=list(ALPHAS)),
            why_error=(f"undefended release not recovered in {', '.join(missing)}" if missing
                       else "no setting where SGD and Adam are slowed")))
    return out


@check("c4.alpha_threshold", "claim.c4.alpha_1e4",
       "smallest α at which the attacker's best recipe in the grid is slowed ≥ 10×", claim="C4")
def check_alpha_threshold(ctx: Context) -> list:
    cid = "c4.alpha_threshold"
    c = threshold(ctx, cid, MIN_SLOWDOWN)
    out = []
    for model, mode in SETTINGS:
        g = attacker_grid(ctx, model)
        setting = f"{model}/{mode}"
        names = [n for n in g.optimisers if math.isfinite(g.baseline(n)[1])]
        missing = [OPTIMISERS[n].label for n in g.optimisers if n not in names]
        rows = []
        for a in g.alphas:
            best = min(names, key=lambda n: g.slowdown(n, mode, a)[0])
            v, lower = g.slowdown(best, mode, a)
            rows.append(dict(alpha=a, slowdown=v, lower_bound=lower,
                             optimiser=None if lower else best,
                             lr=None if lower else g.best(best, mode, a)[0]))
        star = next((r["alpha"] for r in rows if r["slowdown"] >= c), None)
        at = {r["alpha"]: r for r in rows}
        shown = ", ".join(f"{fmt_alpha(r['alpha'])}: {_fmt_slow(r['slowdown'], r['lower_bound'])}"
                          + ("" if r["lower_bound"] else
                             f" ({OPTIMISERS[r['optimiser']].label})") for r in rows)
        detail = (f"{setting}: the best recipe's slowdown per α {shown}; threshold α* = "
                  + (fmt_alpha(star) if star is not None else f"none ≤ {fmt_alpha(max(g.alphas))}")
                  + (f"; at α=1e3 (the replication's failure) slowed "
                     f"{_fmt_slow(at[1e3]['slowdown'], at[1e3]['lower_bound'])}"
                     if 1e3 in at else ""))
        data = dict(alpha=[r["alpha"] for r in rows],
                    slowdown=[r["slowdown"] for r in rows],
                    lower_bound=[r["lower_bound"] for r in rows],
                    optimiser=[r["optimiser"] for r in rows], lr=[r["lr"] for r in rows],
                    threshold_alpha=star, min_slowdown=c, skipped=missing,
                    holds_at_1e3=bool(1e3 in at and at[1e3]["slowdown"] >= c))
        if missing:
            detail += f"; left out (undefended not recovered): {', '.join(missing)}"
        if mode == MODES[0]:  # the model's certificate (both modes), for Figure 9
            from ...certify.certificate import certificate_of_grid

            data["certificate"] = certificate_of_grid(g, ctx.defence_name, size=ctx.size)
        out.append(claim_record(
            ctx, cid, "alpha_1e4", setting,
            holds=(star is not None and star <= PAPER_ALPHA) if names else None,
            empirical=star, proven=PAPER_ALPHA, detail=detail, data=data,
            params=dict(alphas=list(g.alphas), min_slowdown=c),
            why_error="no optimiser recovered the undefended release"))
    return out
