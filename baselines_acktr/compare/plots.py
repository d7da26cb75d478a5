"""The learning-curve PNG of one experiment: the seeds, their mean and the references."""
import hashlib
import re

import numpy as np

from .verdicts import fmt_num, fmt_steps

GRID_POINTS = 200        # common timestep grid of the mean curve
REF_COLORS = ["tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink",
              "tab:olive", "tab:cyan", "tab:gray"]
SETTING_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
                  "tab:pink", "tab:olive", "tab:cyan"]


MAX_STEM = 120
"""Longest stem kept whole in a file name (a file system allows 255 bytes)."""


def curve_filename(stem):
    """The PNG's file name for an env id, or ``<env id>-<alg>-<variant>`` when the env has
    several experiments (unsafe characters become ``_``); a stem longer than
    :data:`MAX_STEM` (an experiment named by many settings) is cut and ends with 8 hex
    digits of its SHA-1, so that two long names stay apart."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    if len(safe) > MAX_STEM:
        safe = f"{safe[:MAX_STEM - 9]}-{hashlib.sha1(safe.encode()).hexdigest()[:8]}"
    return "curve_" + safe + ".png"


def settings_filename(env_id):
    """The PNG of an env's experiments side by side: ``settings_<env id>.png``."""
    return "settings_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", env_id) + ".png"


def mean_curve(runs, points=GRID_POINTS):
    """``(grid, mean, lo, hi)`` of the runs' ``eprewmean`` interpolated on a common timestep
    grid spanning the range every run covers with finite values; None if there is none."""
    spans = []
    for r in runs:
        ok = np.isfinite(r.eprewmean)
        if not ok.any():
            return None
        spans.append((r.timesteps[ok], r.eprewmean[ok]))
    start = max(t[0] for t, _ in spans)
    stop = min(t[-1] for t, _ in spans)
    if stop < start:
        return None
    grid = np.linspace(start, stop, points) if stop > start else np.asarray([start])
    ys = np.stack([np.interp(grid, t, y) for t, y in spans])
    return grid, ys.mean(axis=0), ys.min(axis=0), ys.max(axis=0)


def plot_env(res, path):
    """Learning-curve PNG of one experiment (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    try:
        n = len(res.runs)
        for i, r in enumerate(res.runs):
            ok = np.isfinite(r.eprewmean)
            ax.plot(r.timesteps[ok], r.eprewmean[ok], color="tab:blue", alpha=0.35, lw=0.8,
                    label="each seed" if i == 0 and n > 1 else None)
        curve = mean_curve(res.runs)
        if curve is not None:
            grid, mean, lo, hi = curve
            ax.plot(grid, mean, color="tab:blue", lw=2,
                    label=f"this project: mean of {n} seed{'s' if n > 1 else ''} (eprewmean)"
                    + (" over their common range" if n > 1 else ""))
            if n > 1:
                ax.fill_between(grid, lo, hi, color="tab:blue", alpha=0.2, label="seeds min–max")
        _eval_curves(ax, res.runs)
        _reference_lines(ax, res.refs, REF_COLORS)
        t_lo, t_hi = res.steps
        _finish(fig, ax, path, f"{res.label}: {n} run{'s' if n > 1 else ''} to "
                f"{fmt_steps(t_hi)} timesteps vs published values")
    finally:
        plt.close(fig)


def _eval_curves(ax, runs):
    """Each run's evaluations during training (``eval.csv``: mean return of whole episodes
    in an env of their own) as markers on a dashed line."""
    curves = [r.eval_curve for r in runs if r.eval_curve is not None and len(r.eval_curve[0])]
    for i, (t, mean) in enumerate(curves):
        ax.plot(t, mean, color="tab:green", ls="--", marker="o", ms=3, lw=1,
                label="evaluation during training (eval.csv, mean of whole episodes"
                + (", each seed)" if len(curves) > 1 else ")") if i == 0 else None)


def _finish(fig, ax, path, title):
    """Axis labels of a reward-over-timesteps figure, ``title``, grid and legend; saves."""
    ax.set_xlabel("timesteps (this project's runs; reference lines are at their own budgets)")
    ax.set_ylabel("episode reward (mean of last 100 episodes)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _reference_lines(ax, refs, colors, lw=1.3):
    """The score and level references as labelled horizontal lines."""
    lines = [ref for ref in refs if ref.kind in ("score", "level")]
    for i, ref in enumerate(lines):
        if ref.kind == "level":
            style, at = "-.", "no budget"
        else:
            style = "--" if ref.ref_id.startswith("paper") else ":"
            at = f"@{fmt_steps(ref.budget)}"
        label = f"{ref.label} {at}: {fmt_num(ref.value)} [{ref.confidence}]"
        ax.axhline(ref.value, color=colors[i % len(colors)], ls=style, lw=lw, label=label)


def setting_label(res, results):
    """The experiment's curve label in its env's figure: its settings, after its alg and
    variant when the env's experiments differ in those too."""
    kinds = {(r.alg, r.variant) for r in results}
    if len(kinds) == 1 and res.settings:
        return res.settings_text
    return res.kind_text


def plot_settings(results, path):
    """One PNG of an env's experiments (same env id): per experiment the mean of its seeds'
    ``eprewmean`` and their min–max band, labelled by its settings, and the references.
    Returns the experiments' labels, in the order drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    labels = []
    try:
        for i, res in enumerate(results):
            color, n = SETTING_COLORS[i % len(SETTING_COLORS)], len(res.runs)
            label = setting_label(res, results)
            labels.append(label)
            curve = mean_curve(res.runs)
            if curve is None:  # no finite stretch common to the seeds: each seed alone
                for j, r in enumerate(res.runs):
                    ok = np.isfinite(r.eprewmean)
                    ax.plot(r.timesteps[ok], r.eprewmean[ok], color=color, lw=1,
                            label=f"{label} (each of {n} seeds)" if j == 0 else None)
                continue
            grid, mean, lo, hi = curve
            ax.plot(grid, mean, color=color, lw=2,
                    label=f"{label}: mean of {n} seed{'s' if n > 1 else ''}")
            if n > 1:
                ax.fill_between(grid, lo, hi, color=color, alpha=0.18)
        _reference_lines(ax, results[0].refs, ["dimgray", "black", "darkgray",
                                               "darkslategray"], lw=1.0)
        t_hi = max(res.steps[1] for res in results)
        _finish(fig, ax, path, f"{results[0].env_id}: {len(results)} experiments to "
                f"{fmt_steps(t_hi)} timesteps (mean and seeds' min–max band)")
    finally:
        plt.close(fig)
    return labels
