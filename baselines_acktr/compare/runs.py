"""Reading one run directory: ``progress.csv``, monitor files and ``config.json``."""
import csv
import glob
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..common.run_folder import EVAL
from .errors import CompareError

LAST_EPISODES = 100      # monitor score: mean of the last 100 episodes (as eprewmean)
HUMAN_WINDOW = 100       # episodes-to-level: first N with mean(r[N..N+99]) >= level
TUNE_COLUMNS = {"trial_id", "training_iteration"}  # in Ray Tune's own progress.csv only
# the policy's KL between before and after each update, on that update's batch: master's
# ``--log_kl`` column and the paper variant's (the branch's) own key
KL_COLUMNS = ("kl", "KL")


def experiment_variant(cfg):
    """What sets apart experiments of one env and alg besides the alg: the MuJoCo
    ``variant`` and, for Atari, an env backend other than the default (``ale_vector``'s
    games differ from baselines' in detail, docs/differences_from_baselines.md), so that
    runs of the two backends are never pooled as seeds of one experiment."""
    variant, backend = cfg.get("variant"), cfg.get("env_backend")
    if backend in (None, "gym"):
        return variant
    return str(backend) if variant is None else f"{variant}-{backend}"


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
    eval_returns: np.ndarray = None     # eval.csv: whole episodes of its latest evaluation
    eval_deterministic: bool = False
    eval_curve: tuple = None            # eval.csv: (timesteps, mean return) per evaluation
    implementation: object = None       # config.json's: another implementation's run
    config: dict = field(default_factory=dict)  # config.json as read ({} without one)
    policy_kl: tuple = None             # (timesteps, KL) of the updates that logged it

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


def _read_table(path):
    """``(header, rows)`` of a csv file; :class:`CompareError` when it cannot be read."""
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            return reader.fieldnames or [], list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CompareError(f"cannot read {path}: {exc}") from None


def read_progress(path):
    """``(timesteps, eprewmean)`` arrays from a baselines-style ``progress.csv``."""
    return _progress_arrays(path, *_read_table(path))


def _progress_arrays(path, header, rows):
    if TUNE_COLUMNS <= set(header):
        raise CompareError(f"{path} is Ray Tune's progress.csv (columns "
                           f"{', '.join(sorted(TUNE_COLUMNS))}), not the training run's")
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


def _policy_kl(header, rows):
    """``(timesteps, kl)`` of the ``progress.csv`` rows with a finite policy KL per update (a
    column of :data:`KL_COLUMNS`), sorted by timesteps; None without such a column."""
    column = next((c for c in KL_COLUMNS if c in header), None)
    if column is None:
        return None
    pairs = sorted((t, k) for t, k in ((_float(r.get("total_timesteps")), _float(r.get(column)))
                                       for r in rows) if math.isfinite(t) and math.isfinite(k))
    return np.asarray([t for t, _ in pairs]), np.asarray([k for _, k in pairs])


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


def read_eval(run_dir):
    """``(returns, deterministic, curve)`` of the run dir's ``eval.csv``, or ``(None, False,
    None)`` without one: the returns and action kind of its latest evaluation (the rows of
    the largest ``total_timesteps``; every row in a file of an older version, which lacks
    that column) and ``curve``, ``(timesteps, mean return)`` per evaluation in timestep
    order (None without the column)."""
    path = os.path.join(run_dir, EVAL)
    if not os.path.exists(path):
        return None, False, None
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CompareError(f"cannot read {path}: {exc}") from None
    if rows and "r" not in rows[0]:
        raise CompareError(f"{path} has no 'r' column")
    rows = [r for r in rows if not math.isnan(_float(r["r"]))]
    curve = None
    if rows and "total_timesteps" in rows[0]:
        by_time = {}
        for r in rows:
            by_time.setdefault(_float(r["total_timesteps"]), []).append(_float(r["r"]))
        times = sorted(by_time)
        curve = (np.asarray(times), np.asarray([np.mean(by_time[t]) for t in times]))
        rows = [r for r in rows if _float(r["total_timesteps"]) == times[-1]]
    returns = np.asarray([_float(r["r"]) for r in rows])
    return returns, any(str(r.get("deterministic", "0")).strip() == "1" for r in rows), curve


def read_config(run_dir):
    """The run dir's ``config.json`` as a dict; ``{}`` if there is none."""
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
    header, rows = _read_table(progress)
    timesteps, eprewmean = _progress_arrays(progress, header, rows)
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
    eval_returns, deterministic, eval_curve = read_eval(run_dir)
    return Run(path=run_dir, env_id=env_id, env_from=env_from, seed=cfg.get("seed"),
               eval_returns=eval_returns, eval_deterministic=deterministic, eval_curve=eval_curve,
               alg=cfg.get("alg"), variant=experiment_variant(cfg), timesteps=timesteps[order],
               eprewmean=eprewmean[order], final_timesteps=final[0], final_score=final[1],
               monitor_files=files, implementation=cfg.get("implementation"), config=cfg,
               policy_kl=_policy_kl(header, rows),
               episode_returns=np.asarray([r for _, r in episodes]) if files else None)
