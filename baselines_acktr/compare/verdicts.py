"""Numbers over seeds, the within/below/above verdict and the text formatting of both."""
import math

import numpy as np

WITHIN_FRACTION = 0.10   # ``within`` tolerance: 10% of max(|reference|, 1)


def spread(values):
    """``dict(n, mean, std, min, max)`` of the finite values (``std`` with ``ddof=0``)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if len(v) == 0:
        return dict(n=0, mean=math.nan, std=math.nan, min=math.nan, max=math.nan)
    return dict(n=len(v), mean=float(np.mean(v)), std=float(np.std(v)), min=float(np.min(v)),
                max=float(np.max(v)))


def tolerance(ref_value):
    """Half-width added to the seeds' range for ``within``: 10% of max(|ref|, 1)."""
    return WITHIN_FRACTION * max(abs(ref_value), 1.0)


def verdict(lo, hi, ref_value):
    """``'below'``, ``'within'`` or ``'above'`` (see the package docstring); ``'n/a'`` if the
    runs have no finite score."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "n/a"
    tol = tolerance(ref_value)
    if hi < ref_value - tol:
        return "below"
    if lo > ref_value + tol:
        return "above"
    return "within"


def fmt_steps(n):
    """``50000000`` → ``'50M'``, ``1286400`` → ``'1.29M'``, ``640`` → ``'640'``."""
    if n is None:
        return "?"
    if n >= 1e6:
        return f"{n / 1e6:.3g}M"
    if n >= 1e3:
        return f"{n / 1e3:.3g}k"
    return f"{int(n)}"


def fmt_num(x):
    """A number for a table: ``'n/a'`` for None or nan, thousands separators from 1e6."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 1e6:
        return f"{x:,.0f}"
    return f"{x:.6g}"


def steps_phrase(lo, hi):
    """``'1,000 timesteps'``, or ``'1,000–2,000 timesteps'`` for a range."""
    return f"{lo:,} timesteps" if lo == hi else f"{lo:,}–{hi:,} timesteps"


def verdict_text(word, ref, t_lo, t_hi):
    """One sentence: the verdict, this run's timesteps, the reference's budget."""
    head = f"{ref.label} {fmt_num(ref.value)}: "
    if word == "n/a":
        return head + f"no verdict, no run had a finished episode by {steps_phrase(t_lo, t_hi)}"
    if ref.kind == "level":
        text = head + (f"{word} this level at {steps_phrase(t_lo, t_hi)} "
                       f"(a reward level, no timestep budget)")
    else:
        published = f"{ref.budget:,} timesteps" if ref.budget else "an unknown budget"
        text = head + (f"{word} the published value at {steps_phrase(t_lo, t_hi)} "
                       f"(published at {published})")
        if ref.budget and (t_lo != ref.budget or t_hi != ref.budget):
            used = (f"{t_hi / ref.budget:.1%}" if t_lo == t_hi
                    else f"{t_lo / ref.budget:.1%}–{t_hi / ref.budget:.1%}")
            text += f"; budgets differ: the runs used {used} of the published budget"
            if ref.budget_note:
                text += f" ({ref.budget_note.split(':')[0]})"
        if not ref.same_metric:
            text += f"; the published statistic may differ ({ref.units})"
    return text
