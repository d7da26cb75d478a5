"""Side by side with the paper: training runs of this project against the ACKTR paper's
published numbers and OpenAI Baselines' benchmark pages.

    python -m baselines_acktr.compare RUN_DIR [RUN_DIR ...] [--out DIR] [--env ENV_ID]

A run directory is what ``run_atari.py`` / ``run_mujoco.py`` (or baselines' own code) write:

* ``progress.csv`` (required): baselines-style columns, at least ``total_timesteps`` and
  ``eprewmean`` (the mean return of the last 100 finished episodes; ``nan`` before the first).
  ``EpRewMean`` is accepted when ``eprewmean`` is absent.
* ``monitor/**/*.monitor.csv`` or ``*.monitor.csv`` (optional): baselines' monitor format, a
  ``# {"t_start": ..., "env_id": ...}`` line, the header ``r,l,t``, one row per episode.
  Files of one run are merged in the order the episodes ended (``t_start + t``), as baselines'
  ``load_results`` does; resumed runs' ``monitor/resume-uNNNNN/`` files are included.
* ``config.json`` (optional): ``env``, ``seed``, ``alg``.

The env id comes from ``config.json``, else a monitor header, else ``--env``. Run dirs of the
same env id are seeds of one experiment.

**Score.** A run's score is ``eprewmean`` at the last logged row of ``progress.csv``, at that
row's ``total_timesteps``. With monitor files the mean return of the run's last 100 monitored
episodes is reported as well. Over seeds: mean, population standard deviation (``ddof=0``),
min and max of the finite scores.

**Verdict.** For each reference value ``ref`` (from ``data/paper_numbers.json``), with the
seeds' final scores spanning ``[lo, hi]`` and ``tol = 0.10 · max(|ref|, 1)``:
``below`` if ``hi < ref − tol``, ``above`` if ``lo > ref + tol``, otherwise ``within``. In words:
the reference lies inside the seeds' min–max range widened on both sides by 10% of the
reference's magnitude (at least 0.1 reward), so a single seed gets a ±10% band and several
seeds also get their own spread. Every verdict states this run's timesteps and the reference's
budget, and says so when they differ.

Writes to ``--out`` (default ``compare_out/``): ``comparison.md``, ``comparison.csv`` (one row
per env and reference) and ``curve_<env id>.png`` per env (mean of the seeds' ``eprewmean`` on
a common timestep grid with a min–max band, each seed thinly, the references as labelled
horizontal lines).

Bad input (no run dir, a dir without ``progress.csv``, no env id, an env with no reference
numbers, unreadable files) ends with one line ``compare: error: ...`` and exit status 2, before
anything is written.
"""
from .command import main, parse
from .errors import CompareError
from .grouping import EnvResult, group_runs
from .plots import curve_filename, mean_curve, plot_env
from .references import Reference, canonical_name, load_references, references_for
from .report import markdown, rows_for, write_csv
from .runs import Run, load_run, monitor_files, read_config, read_monitor, read_progress
from .verdicts import fmt_num, fmt_steps, spread, tolerance, verdict, verdict_text

__all__ = [
    "CompareError", "EnvResult", "Reference", "Run", "canonical_name", "curve_filename",
    "fmt_num", "fmt_steps", "group_runs", "load_references", "load_run", "main", "markdown",
    "mean_curve", "monitor_files", "parse", "plot_env", "read_config", "read_monitor",
    "read_progress", "references_for", "rows_for", "spread", "tolerance", "verdict",
    "verdict_text", "write_csv",
]
