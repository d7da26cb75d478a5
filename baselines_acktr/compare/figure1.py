"""The paper's Figure 1 side by side (``--table1``): per game, ``figure1_<game>.png`` with
reward vs timesteps (``progress.csv`` eprewmean) and reward vs episodes (the mean of games
``N..N+99`` drawn at ``N``, so a curve crosses the human level at the Table 1 episode ``N``);
this project's ACKTR and A2C each as the mean and min–max band over seeds (each seed thinly),
the human level, each algorithm's mean ``N`` (when every seed reached it), the paper's ``N``
and the reference logs of other implementations."""
import numpy as np

from .plots import mean_curve
from .runs import HUMAN_WINDOW
from .table1 import ALG_LABEL, ALGS, mean_text, reference_label

COLORS = {"acktr": "tab:red", "a2c": "tab:blue"}
REF_COLORS = ["black", "tab:gray", "tab:olive", "tab:brown"]


def rolling_games(returns, window=HUMAN_WINDOW):
    """``(N, mean of games N..N+window-1)`` for ``N = 1..G-window+1`` (1-based); None with
    fewer than ``window`` games."""
    if returns is None or len(returns) < window:
        return None
    y = np.convolve(np.asarray(returns, dtype=np.float64), np.ones(window), mode="valid") / window
    return np.arange(1, len(y) + 1), y


def episode_band(runs, window=HUMAN_WINDOW):
    """``(N, mean, lo, hi)`` of the runs' rolling means over the episodes every run covers;
    None if a run has fewer than ``window`` games."""
    curves = [rolling_games(r.episode_returns, window) for r in runs]
    if not curves or any(c is None for c in curves):
        return None
    n = min(len(x) for x, _ in curves)
    ys = np.stack([y[:n] for _, y in curves])
    return curves[0][0][:n], ys.mean(axis=0), ys.min(axis=0), ys.max(axis=0)


def _seeds_label(alg, runs):
    n = len(runs)
    return (f"this project {ALG_LABEL[alg]}: mean of {n} seed{'s' if n > 1 else ''}"
            + (" over their common range" if n > 1 else ""))


def _mean_and_band(ax, curve, cell, color):
    """The seeds' mean (``curve = (x, mean, lo, hi)`` or None) and, over 2+ seeds, their
    min–max band."""
    if curve is None:
        return
    x, mean, lo, hi = curve
    ax.plot(x, mean, color=color, lw=2, label=_seeds_label(cell.alg, cell.runs))
    if len(cell.runs) > 1:
        ax.fill_between(x, lo, hi, color=color, alpha=0.2,
                        label=f"{ALG_LABEL[cell.alg]} seeds min–max")


def _time_panel(ax, cell):
    color, runs = COLORS[cell.alg], cell.runs
    for r in runs:
        ok = np.isfinite(r.eprewmean)
        ax.plot(r.timesteps[ok], r.eprewmean[ok], color=color, alpha=0.3, lw=0.7)
    _mean_and_band(ax, mean_curve(runs), cell, color)


def _episode_panel(ax, cell):
    color, runs = COLORS[cell.alg], cell.runs
    for r in runs:
        curve = rolling_games(r.episode_returns)
        if curve is not None:
            ax.plot(*curve, color=color, alpha=0.3, lw=0.7)
    _mean_and_band(ax, episode_band(runs), cell, color)
    mean, lower = cell.mean
    if mean is not None and not lower:
        ax.axvline(mean, color=color, lw=1.5, ls="--",
                   label=f"this project {ALG_LABEL[cell.alg]} N = {mean_text(mean, lower)}")


def _references(ax_t, ax_e, game):
    for i, r in enumerate(game.references):
        color, label = REF_COLORS[i % len(REF_COLORS)], f"{reference_label(r)} (reference log)"
        ok = np.isfinite(r.eprewmean)
        ax_t.plot(r.timesteps[ok], r.eprewmean[ok], color=color, lw=1.3, ls=":", label=label)
        curve = rolling_games(r.episode_returns)
        if curve is not None:
            ax_e.plot(*curve, color=color, lw=1.3, ls=":", label=label)


def plot_figure1(game, path):
    """Write ``game``'s Figure 1 PNG (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(14, 5.5))
    try:
        for alg in ALGS:
            cell = game.cells[alg]
            if cell.runs:
                _time_panel(ax_t, cell)
                _episode_panel(ax_e, cell)
            paper_n = game.paper(f"{alg}_episode_reaching_human")
            if paper_n is not None:
                ax_e.axvline(paper_n[0], color=COLORS[alg], lw=1, ls=":",
                             label=f"paper {ALG_LABEL[alg]} N = {paper_n[0]:,.0f} (2 seeds)")
        _references(ax_t, ax_e, game)
        for ax in (ax_t, ax_e):
            ax.axhline(game.level, color="tab:green", ls="-.", lw=1.3,
                       label=f"human level {game.level:g} (paper's Table 1)")
            ax.set_ylabel("episode reward")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="best")
        ax_t.set_xlabel("timesteps")
        ax_t.set_title("reward vs timesteps (eprewmean: mean of the last 100 games)", fontsize=10)
        ax_e.set_xlabel("episode N (whole games, in the order they ended)")
        ax_e.set_title(f"reward vs episodes (mean of games N..N+{HUMAN_WINDOW - 1}, at N)",
                       fontsize=10)
        fig.suptitle(f"{game.name}: this project's ACKTR and A2C (the paper's Figure 1, "
                     "side by side)")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
