"""Benchmark 6: the price of running an optimiser in a number format (issue 15).

:func:`numerics.train_in_format` runs an optimiser's own code on
:class:`numerics.FormatArray` operands, every operation rounded to the format (``ml_dtypes``
casts on the host).  Each row times a short Adam run on a small MLP through it against the same
run of :func:`numerics.adam` in plain float64, side by side.

Rows:

* ``float64 format``: the rounding machinery with nothing to round (float64 is the format): the
  result must equal plain float64 Adam bit for bit (error 0), so the ratio is the machinery's
  overhead alone;
* ``bfloat16 pure`` and ``float16 mixed``: the real low-precision runs; their error is the
  relative distance of the final loss from float64 Adam's, reported as the effect of the
  format (not a target).
"""

from __future__ import annotations

import math

import numpy as np

from ._harness import BenchConfig, BenchResult, compare, register

__all__ = ["bench_format_training"]

FAMILY = "format_training"


def _mlp(widths: tuple[int, ...], n: int, seed: int = 0):
    from specdef import numerics as nx

    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((o, i)) / math.sqrt(i) for i, o in zip(widths[:-1], widths[1:])]
    bs = [0.1 * rng.standard_normal(o) for o in widths[1:]]
    X = rng.standard_normal((widths[0], n))
    Y = rng.standard_normal((widths[-1], n))
    return nx.MLP(Ws, X, Y, activation="tanh", biases=bs)


@register(FAMILY)
def bench_format_training(cfg: BenchConfig, *, widths: tuple[int, ...] | None = None,
                          n: int | None = None, steps: int | None = None) -> list[BenchResult]:
    """``steps`` Adam updates on an MLP in a format against plain float64 Adam.

    Sizes: widths (8, 16, 4), 64 samples, 20 steps with ``quick``; (32, 64, 8), 256 samples,
    50 steps otherwise.  NumPy only (the formats live in ``ml_dtypes``).
    """
    from specdef import numerics as nx

    widths = widths or ((8, 16, 4) if cfg.quick else (32, 64, 8))
    n = n or (64 if cfg.quick else 256)
    steps = steps or (20 if cfg.quick else 50)
    net = _mlp(widths, n)
    lr, reps = 1e-3, cfg.n_repeats
    kw = dict(max_steps=steps, tol=1e-300)

    def ref():
        return nx.adam(net, net.theta0, lr, **kw)

    base = ref()
    rows = []
    for fmt, model in (("float64", "pure"), ("bfloat16", "pure"), ("float16", "mixed")):
        def run(fmt=fmt, model=model):
            return nx.train_in_format(net, net.theta0, "adam", lr, fmt, arithmetic=model, **kw)

        t_f, t_b = compare(run, ref, repeats=reps)
        res = t_f.value
        if fmt == "float64":
            err = float(np.max(np.abs(res.theta - base.theta)))
            target, met = "bit-identical to float64 Adam", bool(err == 0.0)
            note = "error: max |θ − θ_float64| (0 = bit for bit); ratio = the machinery's cost"
        else:
            err = abs(float(res.loss[-1]) - float(base.loss[-1])) / abs(float(base.loss[-1]))
            target, met = "", None
            note = ("error: |L_format − L_float64|/L_float64 after the run, the format's "
                    "effect (not a target)")
        rows.append(BenchResult(
            family=FAMILY, case=f"{fmt} {model}",
            size=f"MLP {widths}, {n} samples, {net.n_params} parameters, {steps} Adam steps",
            toolkit=f"numerics.train_in_format(..., '{fmt}', arithmetic='{model}')",
            baseline="numerics.adam in float64",
            t_toolkit=t_f.median, t_baseline=t_b.median, err_toolkit=err, err_baseline=0.0,
            reference="numerics.adam in float64 (checked against optax)", target=target,
            met=met, backend="numpy", repeats=reps,
            extra={"status": res.status, "final_loss": float(res.loss[-1])}, note=note))
    return rows
