"""The table of the paper's empirical claims for ``report.md``: HOLDS / REFUTED / not decided.

One row per claim, from the records of family C4 (``specdef.validation.checks.c4.claims``;
read as plain records, so the report needs no family import): the verdict over the settings
the claim was measured in (``HOLDS`` or ``REFUTED`` where every setting agrees, both with their
settings where they differ, ``not decided`` without a record or where every record is an
``ERROR``) and the measured numbers that decide it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["claims_table", "claim_rows"]


def _get(r: Any, key: str, default: Any = None) -> Any:
    return r.get(key, default) if isinstance(r, dict) else getattr(r, key, default)


def _g(x: Any) -> str:
    if x is None:
        return "–"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{v:.3g}"


def _verdict(recs: list) -> tuple[str, list]:
    decided = [r for r in recs if _get(r, "status") in ("HOLDS", "REFUTED")]
    if not decided:
        return "not decided", decided
    by = {}
    for r in decided:
        by.setdefault(_get(r, "status"), []).append(str(_get(r, "params", {}).get("setting")))
    if len(by) == 1:
        return next(iter(by)), decided
    return "; ".join(f"{k} in {', '.join(v)}" for k, v in sorted(by.items())), decided


def _numbers(key: str, recs: list) -> str:
    out = []
    for r in recs:
        d, s = _get(r, "data", {}) or {}, (_get(r, "params", {}) or {}).get("setting")
        if key == "table1":
            parts = [f"{o}: {_g(v.get('steps_undefended'))}→"
                     + (_g(v.get("steps_defended")) if v.get("steps_defended") is not None
                        else f">{v.get('defended_budget')}") for o, v in d.get("optimisers",
                                                                              {}).items()]
            out.append(f"{s}: steps undefended→α=1e4 " + ", ".join(parts))
        elif key == "diverge":
            out.append(f"{s}: {d.get('diverged_cells')}/{d.get('cells')} cells diverged")
        elif key == "no_bypass":
            ps = ", ".join(f"{k} p={_g(v.get('exponent'))}"
                           for k, v in (d.get("settings") or {}).items())
            out.append(f"{d.get('label', s)}: {ps}")
        elif key in ("alpha_1e4", "alpha_1e3"):
            out.append(f"{s}: α*={_g(d.get('threshold_alpha'))}")
        elif key == "grad_jump":
            out.append(f"{s}: {_g(_get(r, 'empirical'))}×")
        elif key == "clip_spike":
            out.append(f"{s}: peak L/L₀ {_g(_get(r, 'empirical'))}")
        elif key == "lora":
            low = "" if d.get("steps_defended") is not None else "≥"
            out.append(f"{s}: {low}{_g(_get(r, 'empirical'))}×")
    return "; ".join(out) or "–"


#: (key, claim as the paper or the replication states it, check, claim key of its records)
ROWS = (
    ("table1", "SpecDef at α = 10⁴ makes relearning fail at every learning rate over five "
               "decades (Table 1: SGD, Adam)", "c4.lr_sweep", "table1"),
    ("diverge", "… relearning diverges at every learning rate", "c4.lr_sweep", "table1"),
    ("no_bypass", "Sophia, Muon and AdaHessian cannot bypass SpecDef", "c4.curvature_aware",
     "no_bypass"),
    ("alpha_1e4", "α = 10⁴ slows the attacker's best recipe ≥ 10×", "c4.alpha_threshold",
     "alpha_1e4"),
    ("alpha_1e3", "replication: the defence fails at α = 10³", "c4.alpha_threshold",
     "alpha_1e4"),
    ("grad_jump", "replication: the gradient norm jumps (232×) at the first step",
     "c4.clipping", "grad_jump"),
    ("clip_spike", "replication: with clipping at 1.0 the loss spikes, then a new basin",
     "c4.clipping", "clip_spike"),
    ("lora", "SpecDef slows LoRA fine-tuning of the defended layer ≥ 10×", "c4.lora", "lora"),
)


def claim_rows(results: list) -> list[tuple[str, str, str]]:
    """``(claim, verdict, numbers)`` per row of :data:`ROWS`."""
    out = []
    for key, text, check, ckey in ROWS:
        recs = [r for r in results if _get(r, "check") == check
                and ((_get(r, "data", {}) or {}).get("claim") or {}).get("key") == ckey]
        verdict, decided = _verdict(recs)
        if key == "diverge" and decided:
            alls = [bool((_get(r, "data", {}) or {}).get("every_rate_diverged")) for r in decided]
            verdict = "HOLDS" if all(alls) else "REFUTED" if not any(alls) else "mixed"
        if key == "alpha_1e3" and decided:
            fails = [not (_get(r, "data", {}) or {}).get("holds_at_1e3") for r in decided]
            groups: dict = {}
            for f, r in zip(fails, decided):
                groups.setdefault("HOLDS" if f else "REFUTED", []).append(
                    str((_get(r, "params", {}) or {}).get("setting")))
            verdict = (next(iter(groups)) if len(groups) == 1 else
                       "; ".join(f"{k} in {', '.join(v)}" for k, v in sorted(groups.items())))
        out.append((text, verdict, _numbers(key, decided)))
    return out


def claims_table(results: list) -> list[str]:
    """Markdown lines: the section ``The paper's empirical claims`` (empty without C4 records)."""
    if not any(str(_get(r, "check", "")).startswith("c4.") for r in results):
        return []
    lines = ["", "## The paper's empirical claims (family c4)", "",
             "Measured in miniature (regression layer and MLP, C frozen and trained; "
             "`specdef check c4`). Verdict: what the data say about the claim.", "",
             "| claim | verdict | measured |", "|---|---|---|"]
    for text, verdict, numbers in claim_rows(results):
        lines.append(f"| {text} | {verdict} | {numbers.replace('|', '/')} |")
    return lines
