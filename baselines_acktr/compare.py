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
import csv
import glob
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from .cli import Parser, fail

PROG = "compare"
DEFAULT_OUT = "compare_out"
WITHIN_FRACTION = 0.10   # ``within`` tolerance: 10% of max(|reference|, 1)
LAST_EPISODES = 100      # monitor score: mean of the last 100 episodes (as eprewmean)
HUMAN_WINDOW = 100       # episodes-to-level: first N with mean(r[N..N+99]) >= level
GRID_POINTS = 200        # common timestep grid of the mean curve
# Rows of baselines' benchmark pages shown next to the paper: the paper's three algorithms.
BASELINES_ALGOS = ("acktr", "a2c", "trpo_mpi")
ATARI_TABLE1_METRIC = "mean episode reward over the last 100 training episodes (raw game score)"


class CompareError(Exception):
    """Bad input; ``main`` prints it as one line and exits with status 2."""


# --------------------------------------------------------------------------- #
# Reference numbers
# --------------------------------------------------------------------------- #
@dataclass
class Reference:
    """One published number, with what is needed to compare against it fairly.

    ``kind``: ``'score'`` (an algorithm's reward at a timestep budget), ``'level'`` (a reward
    level without a budget: human level, a reward threshold), ``'ratio'`` or ``'episodes'``
    (reported, not compared).
    """

    ref_id: str
    label: str
    kind: str
    value: float
    units: str
    budget: int = None
    budget_note: str = ""
    confidence: str = ""
    source: str = ""
    same_metric: bool = False  # the same statistic as this project's eprewmean
    note: str = ""


def load_references():
    """The packaged copy of ``paper_numbers.json`` (nothing outside the package is read)."""
    text = resources.files("baselines_acktr").joinpath("data/paper_numbers.json").read_text()
    return json.loads(text)


def canonical_name(env_id):
    """``'ALE/Pong-v5'``, ``'PongNoFrameskip-v4'``, ``'Pong'`` → ``'pong'``; ``'Hopper-v5'`` →
    ``'hopper'``; ``'Q-bert'`` → ``'qbert'``: namespace, version, frame-skip and ``-ram``
    suffixes dropped, then lower case without punctuation."""
    name = str(env_id).split("/")[-1]
    name = re.sub(r"-v\d+$", "", name)
    name = re.sub(r"(NoFrameskip|Deterministic)$", "", name)
    name = re.sub(r"-ram$", "", name)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _kind_of(key):
    if key in ("human_level", "human_table4", "reward_threshold"):
        return "level"
    if "ratio" in key or "claim" in key:
        return "ratio"
    if "episode" in key:
        return "episodes"
    if key.endswith("_reward") or key.endswith("_score"):
        return "score"
    return None


def _algo_label(key):
    head = key.split("_")[0]
    return {"acktr": "ACKTR", "a2c": "A2C", "trpo": "TRPO"}.get(head, head)


def _entry_budget(value_obj, entry):
    """``(timesteps or None, note)``: a value's own ``timestep_budget`` (an int, Atari) or the
    entry's ``timestep_budget`` object (MuJoCo Table 2, with its own confidence)."""
    b = value_obj.get("timestep_budget")
    if isinstance(b, (int, float)):
        return int(b), ""
    eb = entry.get("timestep_budget")
    if isinstance(eb, dict) and isinstance(eb.get("value"), (int, float)):
        note = f"budget confidence {eb.get('confidence', '?')} ({eb.get('source', '?')})"
        if eb.get("note"):
            note += f": {eb['note']}"
        return int(eb["value"]), note
    return None, ""


def _paper_refs(entry, table, skip_ids=()):
    """References from one ``paper.*`` entry (a dict of ``{value, units, ...}`` objects)."""
    out = []
    for key, obj in entry.items():
        if not isinstance(obj, dict) or not isinstance(obj.get("value"), (int, float)):
            continue
        kind = _kind_of(key)
        if kind is None:
            continue
        ref_id = f"paper_{table}_{key}"
        if ref_id in skip_ids:
            continue
        if kind == "score":
            label = f"paper {_algo_label(key)} ({_TABLE_NAMES[table]})"
        elif key == "human_level":
            label = f"human level ({_TABLE_NAMES[table]})"
        elif key == "human_table4":
            label = "human level (appendix table)"
        elif key == "reward_threshold":
            label = f"reward threshold ({_TABLE_NAMES[table]})"
        elif key.endswith("_episode_reaching_human"):
            label = f"paper {_algo_label(key)}: episodes to human level"
        elif key.endswith("_episodes_to_threshold"):
            label = f"paper {_algo_label(key)}: episodes to the reward threshold"
        else:
            label = f"paper: {key.replace('_', ' ')}"
        budget, budget_note = _entry_budget(obj, entry) if kind == "score" else (None, "")
        units = obj.get("units", "")
        out.append(Reference(
            ref_id=ref_id, label=label, kind=kind, value=float(obj["value"]), units=units,
            budget=budget, budget_note=budget_note, confidence=obj.get("confidence", ""),
            source=obj.get("source", ""),
            same_metric=kind == "score" and table == "table1" and units == ATARI_TABLE1_METRIC,
            note=obj.get("note", "")))
    return out


_TABLE_NAMES = {"table1": "Table 1", "allgames": "all-games table", "table2": "Table 2"}


def _find(entries, field_name, key):
    for e in entries:
        if canonical_name(e.get(field_name, "")) == key:
            return e
    return None


def references_for(env_id, data):
    """``(name as the JSON spells it, [Reference, ...])`` for ``env_id``; ``(None, [])`` if the
    JSON has no number for it.

    Atari: ``paper.atari_table1`` (every value), ``paper.atari_all_games`` (its ACKTR score
    when Table 1 has none or a different one; its human score when Table 1 has none) and the
    ``BASELINES_ALGOS`` rows of ``baselines_benchmarks.atari10M``.  MuJoCo: ``paper.mujoco``
    (Table 2) and the ``BASELINES_ALGOS`` rows of ``baselines_benchmarks.mujoco1M``.
    """
    key = canonical_name(env_id)
    paper = data.get("paper", {})
    name, refs = None, []
    t1 = _find(paper.get("atari_table1", []), "game", key)
    if t1 is not None:
        name = t1["game"]
        refs += _paper_refs(t1, "table1")
    ag = _find(paper.get("atari_all_games", []), "game", key)
    if ag is not None:
        name = name or ag["game"]
        t1_acktr = (t1 or {}).get("acktr_reward", {}).get("value")
        skip = set()
        if t1_acktr is not None and ag.get("acktr_score", {}).get("value") == t1_acktr:
            skip.add("paper_allgames_acktr_score")
        if t1 is not None and "human_level" in t1:
            skip.add("paper_allgames_human_table4")
        refs += _paper_refs(ag, "allgames", skip)
    mj = _find(paper.get("mujoco", []), "env", key)
    if mj is not None:
        name = name or mj["env"]
        refs += _paper_refs(mj, "table2")
    bench = data.get("baselines_benchmarks", {})
    for page in ("atari10M", "mujoco1M"):
        meta = bench.get(f"{page}_meta", {})
        for row in bench.get(page, []):
            if row.get("algo") not in BASELINES_ALGOS:
                continue
            for env_name, value in row.get("per_env_score", {}).items():
                if canonical_name(env_name) != key or value is None:
                    continue
                name = name or env_name
                refs.append(Reference(
                    ref_id=f"baselines_{page}_{row['algo']}",
                    label=f"baselines {row['algo']} ({page} page)", kind="score",
                    value=float(value),
                    units="episode reward; the page does not define the statistic (its curves: "
                          + meta.get("learning_curve_caption", "?") + ")",
                    budget=int(row.get("timestep_budget") or meta.get("timestep_budget")),
                    confidence="high",
                    source=f"baselines_repo ({meta.get('page', page)}, code commit "
                           f"{row.get('code_commit_short', '?')})",
                    note=row.get("units", "")))
    return name, refs


# --------------------------------------------------------------------------- #
# Runs
# --------------------------------------------------------------------------- #
@dataclass
class Run:
    """One run directory: its ``progress.csv`` curve, final score and monitor episodes."""

    path: str
    env_id: str
    env_from: str
    seed: object
    alg: object
    variant: object
    timesteps: np.ndarray           # sorted by timesteps (for curves)
    eprewmean: np.ndarray
    final_timesteps: int            # total_timesteps of the last logged row
    final_score: float              # eprewmean of the last logged row (nan: no episode yet)
    monitor_files: list = field(default_factory=list)
    episode_returns: np.ndarray = None  # in the order the episodes ended

    @property
    def monitor_last100(self):
        if self.episode_returns is None or len(self.episode_returns) == 0:
            return math.nan
        return float(np.mean(self.episode_returns[-LAST_EPISODES:]))

    def episodes_to_level(self, level):
        """First episode ``N`` (1-based) whose window ``N..N+99`` has mean return ≥ ``level``
        (the definition of the paper's Table 1 episode column, as transcribed), or None."""
        r = self.episode_returns
        if r is None or len(r) < HUMAN_WINDOW:
            return None
        sums = np.convolve(r, np.ones(HUMAN_WINDOW), mode="valid")
        # a window whose mean equals the level counts (allowing for float rounding)
        hits = np.nonzero(sums >= HUMAN_WINDOW * level - 1e-9 * max(1.0, abs(level)))[0]
        return int(hits[0]) + 1 if len(hits) else None


def _float(text):
    text = (text or "").strip()
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


def read_progress(path):
    """``(timesteps, eprewmean)`` arrays from a baselines-style ``progress.csv``."""
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CompareError(f"cannot read {path}: {exc}") from None
    if "total_timesteps" not in header:
        raise CompareError(f"{path} has no total_timesteps column (columns: {', '.join(header)})")
    score_col = "eprewmean" if "eprewmean" in header else (
        "EpRewMean" if "EpRewMean" in header else None)
    if score_col is None:
        raise CompareError(f"{path} has no eprewmean (or EpRewMean) column")
    ts, score = [], []
    for row in rows:
        t = _float(row.get("total_timesteps"))
        if math.isnan(t):
            continue
        ts.append(t)
        score.append(_float(row.get(score_col)))
    if not ts:
        raise CompareError(f"{path} has no logged rows")
    return np.asarray(ts, dtype=np.float64), np.asarray(score, dtype=np.float64)


def monitor_files(run_dir):
    """``monitor/**/*.monitor.csv`` and ``*.monitor.csv`` of a run dir, sorted."""
    found = set(glob.glob(os.path.join(run_dir, "monitor", "**", "*monitor.csv"), recursive=True))
    found |= set(glob.glob(os.path.join(run_dir, "*monitor.csv")))
    return sorted(found)


def read_monitor(path):
    """``(env_id or None, [(end_time, r), ...])`` of one baselines monitor file."""
    try:
        with open(path, newline="") as fh:
            first = fh.readline()
            if not first.startswith("#"):
                raise CompareError(f"{path} is not a baselines monitor file (no '# {{...}}' line)")
            try:
                head = json.loads(first[1:])
            except json.JSONDecodeError:
                raise CompareError(f"{path}: unreadable monitor header {first.strip()!r}") from None
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "r" not in reader.fieldnames:
                raise CompareError(f"{path}: monitor file without an 'r' column")
            t0 = float(head.get("t_start") or 0.0)
            episodes = []
            for row in reader:
                r = _float(row.get("r"))
                if math.isnan(r):
                    continue
                episodes.append((t0 + _float(row.get("t") or "0"), r))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CompareError(f"cannot read {path}: {exc}") from None
    return head.get("env_id"), episodes


def read_config(run_dir):
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as fh:
            cfg = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise CompareError(f"cannot read {path}: {exc}") from None
    if not isinstance(cfg, dict):
        raise CompareError(f"{path} is not a JSON object")
    return cfg


def load_run(run_dir, env_fallback=None):
    """Read one run dir; the env id from ``config.json``, else a monitor header, else
    ``env_fallback`` (``--env``)."""
    if not os.path.isdir(run_dir):
        raise CompareError(f"{run_dir} is not a directory")
    progress = os.path.join(run_dir, "progress.csv")
    if not os.path.isfile(progress):
        raise CompareError(f"{run_dir} has no progress.csv")
    timesteps, eprewmean = read_progress(progress)
    final = (int(timesteps[-1]), float(eprewmean[-1]))  # the last logged row, as written
    order = np.argsort(timesteps, kind="stable")  # curves need increasing timesteps
    cfg = read_config(run_dir)
    files = monitor_files(run_dir)
    episodes, monitor_env = [], None
    for f in files:
        env_id, eps = read_monitor(f)
        monitor_env = monitor_env or env_id
        episodes += eps
    episodes.sort(key=lambda e: e[0])
    if cfg.get("env"):
        env_id, env_from = str(cfg["env"]), "config.json"
    elif monitor_env:
        env_id, env_from = str(monitor_env), "monitor header"
    elif env_fallback:
        env_id, env_from = env_fallback, "--env"
    else:
        raise CompareError(f"cannot tell the env of {run_dir}: no 'env' in config.json, no env_id "
                           f"in a monitor header; pass --env ENV_ID")
    return Run(path=run_dir, env_id=env_id, env_from=env_from, seed=cfg.get("seed"),
               alg=cfg.get("alg"), variant=cfg.get("variant"), timesteps=timesteps[order], eprewmean=eprewmean[order],
               final_timesteps=final[0], final_score=final[1],
               monitor_files=files,
               episode_returns=np.asarray([r for _, r in episodes]) if files else None)


# --------------------------------------------------------------------------- #
# Aggregation and verdicts
# --------------------------------------------------------------------------- #
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
    """``'below'``, ``'within'`` or ``'above'`` (see the module docstring); ``'n/a'`` if the
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
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 1e6:
        return f"{x:,.0f}"
    return f"{x:.6g}"


def _steps_phrase(lo, hi):
    return f"{lo:,} timesteps" if lo == hi else f"{lo:,}–{hi:,} timesteps"


def verdict_text(word, ref, t_lo, t_hi):
    """One sentence: the verdict, this run's timesteps, the reference's budget."""
    head = f"{ref.label} {fmt_num(ref.value)}: "
    if word == "n/a":
        return head + f"no verdict, no run had a finished episode by {_steps_phrase(t_lo, t_hi)}"
    if ref.kind == "level":
        text = head + (f"{word} this level at {_steps_phrase(t_lo, t_hi)} "
                       f"(a reward level, no timestep budget)")
    else:
        published = f"{ref.budget:,} timesteps" if ref.budget else "an unknown budget"
        text = head + (f"{word} the published value at {_steps_phrase(t_lo, t_hi)} "
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


@dataclass
class EnvResult:
    env_id: str
    name: str
    runs: list
    refs: list

    @property
    def score(self):
        return spread([r.final_score for r in self.runs])

    @property
    def monitor(self):
        return spread([r.monitor_last100 for r in self.runs if r.episode_returns is not None])

    @property
    def steps(self):
        return min(r.final_timesteps for r in self.runs), max(r.final_timesteps for r in self.runs)

    def seeds_text(self):
        return ", ".join("?" if r.seed is None else str(r.seed) for r in self.runs)


def group_runs(runs, data):
    """Group runs by env id (first-seen order) and attach the references."""
    groups = {}
    for run in runs:
        groups.setdefault(run.env_id, []).append(run)
    out = []
    for env_id, members in groups.items():
        kinds = sorted({f"alg={r.alg} variant={r.variant}" for r in members})
        if len(kinds) > 1:
            raise CompareError(
                f"the {env_id} runs were made with different algorithms or variants "
                f"({'; '.join(kinds)}): they are not seeds of one experiment; "
                f"compare them in separate invocations (--out DIR for each)")
        name, refs = references_for(env_id, data)
        if not refs:
            raise CompareError(
                f"no reference numbers for env {env_id!r} (looked up as "
                f"{canonical_name(env_id)!r}; see baselines_acktr/data/paper_numbers.json)")
        out.append(EnvResult(env_id, name, members, refs))
    return out


# --------------------------------------------------------------------------- #
# Outputs
# --------------------------------------------------------------------------- #
CSV_COLUMNS = [
    "env_id", "env_name", "n_runs", "seeds", "run_dirs", "final_timesteps_min",
    "final_timesteps_max", "n_scored", "score_mean", "score_std", "score_min", "score_max",
    "monitor_runs", "monitor_episodes", "monitor_last100_mean", "monitor_last100_min",
    "monitor_last100_max", "ref_id", "ref_label", "ref_kind", "ref_value", "ref_units",
    "ref_budget_timesteps", "ref_budget_note", "ref_confidence", "ref_source",
    "ref_same_metric", "within_tolerance", "verdict", "verdict_text", "episodes_to_level",
]


def rows_for(res):
    """``comparison.csv`` rows of one env: one per reference."""
    s, m = res.score, res.monitor
    t_lo, t_hi = res.steps
    mon_runs = [r for r in res.runs if r.episode_returns is not None]
    common = dict(
        env_id=res.env_id, env_name=res.name, n_runs=len(res.runs), seeds=res.seeds_text(),
        run_dirs=";".join(r.path for r in res.runs), final_timesteps_min=t_lo,
        final_timesteps_max=t_hi, n_scored=s["n"], score_mean=s["mean"], score_std=s["std"],
        score_min=s["min"], score_max=s["max"], monitor_runs=len(mon_runs),
        monitor_episodes=sum(len(r.episode_returns) for r in mon_runs),
        monitor_last100_mean=m["mean"], monitor_last100_min=m["min"],
        monitor_last100_max=m["max"])
    rows = []
    for ref in res.refs:
        row = dict(common, ref_id=ref.ref_id, ref_label=ref.label, ref_kind=ref.kind,
                   ref_value=ref.value, ref_units=ref.units,
                   ref_budget_timesteps="" if ref.budget is None else ref.budget,
                   ref_budget_note=ref.budget_note, ref_confidence=ref.confidence,
                   ref_source=ref.source, ref_same_metric=int(ref.same_metric),
                   within_tolerance="", verdict="", verdict_text="", episodes_to_level="")
        if ref.kind in ("score", "level"):
            word = verdict(s["min"], s["max"], ref.value)
            row.update(within_tolerance=tolerance(ref.value), verdict=word,
                       verdict_text=verdict_text(word, ref, t_lo, t_hi))
        if ref.kind == "level" and mon_runs:
            row["episodes_to_level"] = ";".join(
                str(r.episodes_to_level(ref.value) or f"not reached in {len(r.episode_returns)}")
                for r in mon_runs)
        rows.append(row)
    return rows


def write_csv(path, results):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for res in results:
            w.writerows(rows_for(res))


def curve_filename(env_id):
    return "curve_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", env_id) + ".png"


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
    """Learning-curve PNG of one env (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    try:
        for r in res.runs:
            ok = np.isfinite(r.eprewmean)
            ax.plot(r.timesteps[ok], r.eprewmean[ok], color="tab:blue", alpha=0.35, lw=0.8)
        curve = mean_curve(res.runs)
        n = len(res.runs)
        if curve is not None:
            grid, mean, lo, hi = curve
            ax.plot(grid, mean, color="tab:blue", lw=2,
                    label=f"this project: mean of {n} seed{'s' if n > 1 else ''} (eprewmean)"
                    + (" over their common range" if n > 1 else ""))
            if n > 1:
                ax.fill_between(grid, lo, hi, color="tab:blue", alpha=0.2, label="seeds min–max")
        colors = ["tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink",
                  "tab:olive", "tab:cyan", "tab:gray"]
        lines = [ref for ref in res.refs if ref.kind in ("score", "level")]
        for i, ref in enumerate(lines):
            if ref.kind == "level":
                style, at = "-.", "no budget"
            else:
                style = "--" if ref.ref_id.startswith("paper") else ":"
                at = f"@{fmt_steps(ref.budget)}"
            label = f"{ref.label} {at}: {fmt_num(ref.value)} [{ref.confidence}]"
            ax.axhline(ref.value, color=colors[i % len(colors)], ls=style, lw=1.3, label=label)
        t_lo, t_hi = res.steps
        ax.set_xlabel("timesteps (this project's runs; reference lines are at their own budgets)")
        ax.set_ylabel("episode reward (mean of last 100 episodes)")
        ax.set_title(f"{res.env_id}: {n} run{'s' if n > 1 else ''} to {fmt_steps(t_hi)} "
                     f"timesteps vs published values")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def _md_escape(text):
    return str(text).replace("|", "\\|")


def markdown(results, data, argv):
    """The text of ``comparison.md``."""
    out = ["# This project next to the ACKTR paper and baselines' benchmarks", "",
           f"Generated by `python -m baselines_acktr.compare {' '.join(argv)}`.", "",
           "* **Score**: `eprewmean` (mean return of the last 100 finished training episodes) at "
           "the last row of each run's `progress.csv`, at that row's timesteps. Over seeds: "
           "mean, std (ddof=0), min and max. With monitor files, the mean of each run's last "
           "100 monitored episodes is given too.",
           f"* **Verdict**: with the seeds' final scores in `[lo, hi]` and `tol = "
           f"{WITHIN_FRACTION:g} × max(|reference|, 1)`, *below* if `hi < reference − tol`, "
           "*above* if `lo > reference + tol`, else *within* (the reference lies in the seeds' "
           "range widened by 10% of its magnitude).",
           "* **Budgets differ**: the paper's Table 1 is at 50M timesteps (TRPO 10M), "
           "baselines' Atari page at 10M, the paper's MuJoCo Table 2 at a `low`-confidence 30M "
           "(and it reports the top-10 episodes of the 3 best of 8 seeds), baselines' MuJoCo "
           "page at 1M. Every number below states its budget; a short run compared with a "
           "50M-timestep number says nothing about the algorithm's final performance.",
           "* **Confidence** of the reference numbers (`baselines_acktr/data/README.md`): "
           + "; ".join(f"`{k}` = {v}" for k, v in data.get("confidence_levels", {}).items())
           + ". The paper's tables were not read directly: its numbers come from secondary "
           "transcriptions.", ""]
    used_sources = set()
    for res in results:
        s, m = res.score, res.monitor
        t_lo, t_hi = res.steps
        n = len(res.runs)
        algs = sorted({str(r.alg) for r in res.runs if r.alg is not None}) or ["?"]
        out += [f"## {res.env_id} ({res.name})", ""]
        runs_txt = (f"{n} run{'s' if n > 1 else ''} (seed{'s' if n > 1 else ''} "
                    f"{res.seeds_text()}; alg "
                    f"{', '.join(algs)}), final eprewmean at {_steps_phrase(t_lo, t_hi)}: ")
        if s["n"]:
            runs_txt += (f"**{fmt_num(s['mean'])}** (std {fmt_num(s['std'])}, min "
                         f"{fmt_num(s['min'])}, max {fmt_num(s['max'])}"
                         + (f", {s['n']} of {n} runs with a finished episode" if s["n"] < n
                            else "") + ").")
        else:
            runs_txt += "n/a (no finished episode yet)."
        out.append("This project: " + runs_txt)
        mon_runs = [r for r in res.runs if r.episode_returns is not None]
        if mon_runs:
            eps = sum(len(r.episode_returns) for r in mon_runs)
            out.append(f"Monitor files ({len(mon_runs)} of {n} runs, {eps} episodes): mean of "
                       f"each run's last {LAST_EPISODES} episodes (all, if fewer) "
                       f"{fmt_num(m['mean'])} (min {fmt_num(m['min'])}, max {fmt_num(m['max'])}).")
        out += ["", "| | value @ budget | statistic | confidence (source) | verdict |",
                "|---|---|---|---|---|"]
        at = fmt_steps(t_hi) if t_lo == t_hi else f"{fmt_steps(t_lo)}–{fmt_steps(t_hi)}"
        proj = (f"{fmt_num(s['mean'])} (min {fmt_num(s['min'])}, max {fmt_num(s['max'])}) "
                f"@ {at}")
        out.append(f"| **this project** ({n} seed{'s' if n > 1 else ''}) | {proj} | eprewmean, "
                   "last logged row | measured | |")
        for row, ref in zip(rows_for(res), res.refs):
            if ref.kind == "score":
                at = f"@ {fmt_steps(ref.budget)}" if ref.budget else "@ budget unknown"
                if ref.budget_note:
                    at += f" (budget {ref.budget_note.split(' (')[0].replace('budget ', '')})"
            elif ref.kind == "level":
                at = "(level, no budget)"
            else:
                at = "(not a score)"
            extra = ""
            if row["episodes_to_level"]:
                extra = f"; this project's episodes to reach it: {row['episodes_to_level']}"
            used_sources.add(ref.source.split(" ")[0])
            out.append(f"| {ref.label} | {fmt_num(ref.value)} {at} | {_md_escape(ref.units)} | "
                       f"{ref.confidence} ({_md_escape(ref.source)}) | "
                       f"{row['verdict']}{_md_escape(extra)} |")
        out += ["", "Verdicts:", ""]
        for row in rows_for(res):
            if row["verdict_text"]:
                word = row["verdict"]
                text = row["verdict_text"].replace(f": {word} ", f": **{word}** ", 1)
                out.append(f"* {_md_escape(text)}.")
        out += ["", f"![learning curve of {res.env_id}]({curve_filename(res.env_id)})", ""]
    sources = data.get("sources", {})
    out += ["## Sources of the reference numbers", ""]
    for key in sorted(used_sources):
        src = sources.get(key)
        if not src:
            continue
        url = src.get("url") or ", ".join(src.get("urls", [])) or src.get("repo", "")
        out.append(f"* `{key}`: {src.get('title', '')} {url}".rstrip())
    out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------------- #
def parse(argv):
    p = Parser(prog=PROG, description="Compare training runs with the ACKTR paper's and "
                                      "baselines' published numbers.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="run directory with progress.csv (several of one env = seeds)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--env", default=None,
                   help="env id for run dirs whose config.json and monitor files do not say")
    return p.parse_args(argv)


def main(argv=None):
    """Read the runs, check everything, then write ``comparison.md``, ``comparison.csv`` and
    the PNGs. Returns 0; bad input exits with status 2 and one line on stderr."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    try:
        data = load_references()
        runs = [load_run(d, args.env) for d in args.run_dirs]
        results = group_runs(runs, data)
    except CompareError as exc:
        fail(PROG, str(exc))
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        fail(PROG, f"cannot create --out {args.out}: {exc}")
    write_csv(os.path.join(args.out, "comparison.csv"), results)
    for res in results:
        plot_env(res, os.path.join(args.out, curve_filename(res.env_id)))
    with open(os.path.join(args.out, "comparison.md"), "w") as fh:
        fh.write(markdown(results, data, argv))
    for res in results:
        s = res.score
        print(f"{res.env_id}: {len(res.runs)} run(s), final eprewmean {fmt_num(s['mean'])} at "
              f"{fmt_steps(res.steps[1])} timesteps")
    print(f"wrote {os.path.join(args.out, 'comparison.md')}, comparison.csv and "
          f"{len(results)} PNG(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
