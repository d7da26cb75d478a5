"""Side by side with the paper: training runs of this project against the ACKTR paper's
published numbers and OpenAI Baselines' benchmark pages.

    python -m baselines_acktr.compare RUN_DIR [RUN_DIR ...] [--out DIR] [--env ENV_ID]
    python -m baselines_acktr.compare sweeps/atari            # a sweep folder: all its runs
    python -m baselines_acktr.compare sweeps/table1_* --table1 \
        [--reference docs/results/baselines_tf1_pong_seed2]   # + the paper's Table 1, Figure 1

A run directory is what ``run_atari.py`` / ``run_mujoco.py`` (or baselines' own code) write:

* ``progress.csv`` (required): baselines-style columns, at least ``total_timesteps`` and
  ``eprewmean`` (the mean return of the last 100 finished episodes; ``nan`` before the first).
  ``EpRewMean`` is accepted when ``eprewmean`` is absent. Ray Tune's own ``progress.csv``
  (columns ``trial_id``, ``training_iteration``) is refused.
* ``monitor/**/*.monitor.csv`` or ``*.monitor.csv`` (optional): baselines' monitor format, a
  ``# {"t_start": ..., "env_id": ...}`` line, the header ``r,l,t``, one row per episode.
  Files of one run are merged in the order the episodes ended (``t_start + t``), as baselines'
  ``load_results`` does; resumed runs' ``monitor/resume-uNNNNN/`` files are included.
* ``config.json`` (optional): ``env``, ``seed``, ``alg``, ``variant``, ``env_backend`` (an
  Atari backend other than the default ``gym`` counts as a variant: ``variant ale_vector``).

The env id comes from ``config.json``, else a monitor header, else ``--env``.

**Sweeps.** A RUN_DIR without a ``progress.csv`` of its own is searched up to 3 levels down for
run folders, as ``python -m baselines_acktr.sweep`` writes them (``<env>-<alg>[-variant]-seed<n>/``
next to Ray Tune's files). A run folder there is one with a ``progress.csv`` *and* a
``config.json`` naming the ``env``; anything else (Tune's trial folders, state files,
checkpoints) is ignored, and a run folder's own subfolders are not searched. Run folders found
this way with no logged row yet are left out and listed. A folder reached twice is used once.

**Experiments.** Runs with the same ``(env id, alg, variant)`` are the seeds of one experiment.
Other algs or variants of the same env are separate experiments, each with its own section,
CSV rows and curve. So are runs of one ``(env id, alg, variant)`` whose ``config.json`` record
different values of an experiment setting (``kfac_clip``, ``lr``, ``nsteps``, ...): a key that
every run of that env id, alg and variant records and not all with one value. The experiment
is labelled by those keys (``alg acktr, kfac_clip=0.002``). Run-level keys never split: paths
(``log_path``, ``save_path``, ``load_path``), budgets (``num_timesteps``, ``stop_timesteps``,
``stop_reward``, ``update``, ``timesteps``), ``seed``, logging intervals, ``log_kl``,
``versions``, ``git_commit`` and the asynchronous-eigen switches (``is_async``,
``wait_first_eigen``, ``deterministic_async``, ``eigen_backend``); A field of the run's algorithm's
config that an older ``config.json`` does not record counts as its default (the run predates
the field, and defaults replay baselines); any other key that some runs do not record does
not split either (unknown, maybe the default), and such keys with differing values are named
in ``sensitivity.md``.

**Score.** A run's score is ``eprewmean`` at the last logged row of ``progress.csv``, at that
row's ``total_timesteps``. With monitor files the mean return of the run's last 100 monitored
episodes is reported as well. Over seeds: mean, population standard deviation (``ddof=0``),
min and max of the finite scores, and each seed's score.

**Budgets.** At 0.5M, 1M and 2M timesteps each seed's score is ``eprewmean`` at its first row
(in timestep order) with ``total_timesteps`` ≥ the budget. Seeds that never got there are left
out of that budget's mean/std/min/max, and the seed count shows it. Budgets no seed reached are
named, not tabled.

**Verdict.** For each reference value ``ref`` (from ``data/paper_numbers.json``), with the
seeds' final scores spanning ``[lo, hi]`` and ``tol = 0.10 · max(|ref|, 1)``:
``below`` if ``hi < ref − tol``, ``above`` if ``lo > ref + tol``, otherwise ``within``. In words:
the reference lies inside the seeds' min–max range widened on both sides by 10% of the
reference's magnitude (at least 0.1 reward), so a single seed gets a ±10% band and several
seeds also get their own spread. Every verdict states this run's timesteps and the reference's
budget, and says so when they differ.

Writes to ``--out`` (default ``compare_out/``):

* ``comparison.md``: when the runs cover two or more Atari games, a summary table in the layout
  of the paper's Table 1 (per game: this project's mean ± std over seeds at its timesteps, paper
  ACKTR and A2C, baselines' acktr and a2c, each ``value @ budget``, ``—`` where the JSON has
  none); likewise for two or more MuJoCo tasks in the layout of Table 2 (paper ACKTR, A2C, TRPO,
  baselines' trpo_mpi). Then one section per experiment: the reference table with a row per
  seed, the verdicts, the budget table and the curve.
* ``comparison.csv``: one row per experiment and reference, with ``alg``, ``variant`` and
  ``seed_scores`` (``seed:score`` pairs ordered by seed, ``;``-separated).
* ``budgets.csv``: one row per experiment and reached budget: ``env, alg, variant, budget,
  n_seeds`` (seeds with a score there), ``n_runs`` (all seeds), ``mean, std, min, max,
  seed_scores``.
* ``sensitivity.md``, ``sensitivity.csv`` and ``settings_<env id>.png``, only when a setting
  varies: per env, alg and variant a row per setting (a column per varied key), its seeds,
  final score mean ± std and the mean ± std at each budget (over the seeds that reached it);
  the figure draws every experiment of the env (mean and seeds' min–max band, labelled by its
  settings) with the references. ``comparison.csv`` and ``budgets.csv`` then end with a
  ``setting`` column (``kfac_clip=0.002``).
* ``curve_<env id>.png`` per experiment (``curve_<env id>-<alg>[-<variant>].png`` when the env
  has several; a name longer than 120 characters is cut and ends with a hash): the mean of
  the seeds' ``eprewmean`` on a common timestep grid with a min–max band, each seed thinly,
  the references as labelled horizontal lines.

**Table 1 and Figure 1** (``--table1``; a flag, since not every comparison of Atari runs
wants the per-game figures). For each game of the paper's Table 1 with an ``acktr`` or ``a2c``
run, per algorithm: the episode ``N`` of each seed (the first whole game ``N``, in the order the
monitor's games ended, whose games ``N..N+99`` have a mean return ≥ the paper's human level), or
"not reached in G games" (then ``N ≥ G − 98``, a lower bound); the mean ``N`` over seeds
(``>=`` when it includes a bound); games, final timesteps and final ``eprewmean`` per seed; the
backends. The runs of one game and alg are pooled in its row whatever their env backend (the
row names them: ``gym``, ``ale_vector``, ``gym+ale_vector``); the other outputs keep backends
apart. Next to it the paper's ``N``, 50M-timestep reward and human level, and the A2C/ACKTR
ratio of mean ``N`` (``>=``/``<=`` when one side is a bound, ``n/a`` when both are) against
the paper's. A run whose ``config.json`` names an ``implementation`` (another code base, as
``docs/results/baselines_tf1_pong_seed2``) and each ``--reference RUN_DIR`` are reference logs:
listed and drawn, never pooled. Writes ``table1.md``, ``table1.csv`` (a row per game and alg,
then one per reference log) and ``figure1_<game>.png`` (reward vs timesteps and reward vs
episodes, the mean of games ``N..N+99`` drawn at ``N``; mean and min–max band over seeds, the
human level, each algorithm's mean ``N`` when every seed reached it, the paper's ``N``, the
reference logs), and prints the tables. ``--table1`` with no such run is bad input.

**Ablation** (``--ablation BASE_VARIANT [--budget T]``, issue 21). In each env, the runs of a
variant other than ``BASE_VARIANT`` are read against that variant's *defaults* experiment (every
field of its config at the default, as :func:`.settings.changes_from_defaults` tells): each other
experiment is a *knock-out*, named by the fields where it differs from the defaults. Per row,
``eprewmean`` at the budget ``T`` (default 0.5M; as the budgets above) and its share of the gap,
(defaults − row) / (defaults − ``BASE_VARIANT``'s defaults) of the means. Writes
``ablation.md`` (a row per experiment, two columns per env; then, where runs log the policy's
KL per update, its median per experiment and env), ``ablation.csv`` (a row per env and
experiment: ``role`` defaults/knock-out/base, ``changes``, seeds, mean, std,
``share_of_gap``, ``policy_kl``) and ``ablation.png`` (the knock-outs' shares as bars). An
env with such runs but no defaults experiment of either side is bad input.

Bad input (no run dir, a dir with neither a ``progress.csv`` nor a run folder below it, no env
id, an env with no reference numbers, unreadable files) ends with one line
``compare: error: ...`` and exit status 2, before anything is written.
"""
from .command import main, parse
from .budgets import BUDGETS, at_budget, budget_rows, score_at, write_budgets_csv
from .discover import expand_run_dirs, find_run_dirs, is_run_dir
from .errors import CompareError
from .figure1 import episode_band, plot_figure1, rolling_games
from .grouping import EnvResult, group_runs, seed_scores_text
from .plots import curve_filename, mean_curve, plot_env
from .references import Reference, canonical_name, load_references, references_for
from .report import markdown, rows_for, write_csv
from .summary import summary_markdown, summary_rows
from .table1 import Cell, Game, SeedN, table1_games, table1_markdown, table1_rows, write_table1_csv
from .runs import Run, load_run, monitor_files, read_config, read_monitor, read_progress
from .sensitivity import sensitivity_markdown, sensitivity_rows, write_sensitivity
from .settings import RUN_LEVEL, config_diff, split_by_settings
from .verdicts import fmt_num, fmt_steps, spread, tolerance, verdict, verdict_text

__all__ = [
    "BUDGETS", "at_budget", "budget_rows", "expand_run_dirs", "find_run_dirs", "is_run_dir",
    "score_at", "seed_scores_text", "summary_markdown", "summary_rows", "write_budgets_csv",
    "CompareError", "EnvResult", "Reference", "Run", "canonical_name", "curve_filename",
    "fmt_num", "fmt_steps", "group_runs", "load_references", "load_run", "main", "markdown",
    "mean_curve", "monitor_files", "parse", "plot_env", "read_config", "read_monitor",
    "read_progress", "references_for", "rows_for", "spread", "tolerance", "verdict",
    "verdict_text", "write_csv", "Cell", "Game", "SeedN", "episode_band", "plot_figure1",
    "rolling_games", "table1_games", "table1_markdown", "table1_rows", "write_table1_csv",
    "RUN_LEVEL", "config_diff", "sensitivity_markdown", "sensitivity_rows", "split_by_settings",
    "write_sensitivity",
]
