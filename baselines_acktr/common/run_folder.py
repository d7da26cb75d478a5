"""A run folder's files, written in one place (TF-free, so the sweep can read them).

``--log_path`` (default ``logs/<env>-<alg>-seed<seed>``) holds ``config.json`` (the
whole record of the run: its resolved configuration, versions and commit),
``progress.csv``, ``memory.csv``, ``eval.csv`` (:data:`EVAL_COLUMNS`), ``monitor/``
(``monitor/resume-uNNNNN/`` for each resume, so no monitor file is overwritten), ``tb/``,
``checkpoints/``, ``best/`` (``--eval_interval``) and, once the run ends, ``status.json``
(``finished``, ``interrupted`` or ``failed`` with the counts).
Every JSON file is written atomically (a temporary file, fsync, rename).
"""
from __future__ import annotations

import csv
import io
import json
import os

CONFIG = "config.json"
STATUS = "status.json"
EVAL = "eval.csv"
BEST = "best"
# eval.csv: one row per whole evaluation episode, tagged with the parameters' training time
# (``--eval_interval`` during training, ``--eval`` after it; files of older versions lack the
# first two columns)
EVAL_COLUMNS = ("total_timesteps", "update", "episode", "r", "l", "deterministic", "load_path")
# config.json keys that say how a run was run, not what it trains: where it writes, its
# budget and stopping rule, logging, the seed, the software; never an experiment setting
RUN_LEVEL_KEYS = frozenset({
    "log_path", "save_path", "load_path", "num_timesteps", "stop_timesteps", "stop_reward",
    "save_interval", "log_interval", "log_kl", "eval_interval", "eval_episodes",
    "eval_deterministic", "seed", "versions", "git_commit", "update",
    "timesteps"})


def default_log_path(env: str, alg: str, seed: int) -> str:
    return os.path.join("logs", f"{env}-{alg}-seed{seed}")


def write_text_atomic(path: str, text: str) -> None:
    """Write ``path`` so that a reader (or a crash at any moment) sees the old or the new
    file, never half of one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: str, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def read_json(path: str) -> dict | None:
    """A JSON object file (None if missing or unreadable)."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_status(log_path: str) -> dict | None:
    """A run folder's ``status.json`` (None while it runs or if it never ended cleanly)."""
    return read_json(os.path.join(log_path, STATUS))


def clear_status(log_path: str) -> None:
    """The run is running (again): no ``status.json``."""
    try:
        os.remove(os.path.join(log_path, STATUS))
    except FileNotFoundError:
        pass


def read_eval_rows(log_path: str) -> list[dict]:
    """``eval.csv``'s rows as dicts of strings (``[]`` without the file)."""
    try:
        with open(os.path.join(log_path, EVAL), newline="") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        return []


def _write_eval_rows(log_path: str, rows: list[dict]) -> None:
    out = io.StringIO(newline="")
    w = csv.DictWriter(out, fieldnames=EVAL_COLUMNS, extrasaction="ignore", restval="")
    w.writeheader()
    w.writerows(rows)
    write_text_atomic(os.path.join(log_path, EVAL), out.getvalue())


def append_eval_rows(log_path: str, rows: list[dict]) -> str:
    """Add the episodes of one evaluation to ``eval.csv`` (rewritten atomically, so a crash
    leaves the old file or the new one); returns its path."""
    _write_eval_rows(log_path, read_eval_rows(log_path) + list(rows))
    return os.path.join(log_path, EVAL)


def drop_eval_rows_after(log_path: str, timesteps: int) -> None:
    """On resume: forget the evaluations of parameters trained past the checkpoint."""
    rows = read_eval_rows(log_path)
    kept = [r for r in rows if not r.get("total_timesteps")
            or float(r["total_timesteps"]) <= timesteps]
    if len(kept) != len(rows):
        _write_eval_rows(log_path, kept)


def monitor_dir_for(log_path: str, start_update: int) -> str:
    """``monitor/`` for a new run; ``monitor/resume-uNNNNN/`` when resuming, so that
    no earlier monitor file is overwritten."""
    base = os.path.join(log_path, "monitor")
    return base if start_update == 0 else os.path.join(base, f"resume-u{start_update:05d}")


VERSIONED = ("baselines_acktr", "tensorflow", "tensorflow-probability", "gymnasium", "ale-py",
             "mujoco", "numpy")


def software_record() -> dict:
    """What ``config.json`` says of the software: the Python and package versions and, in a
    git checkout, the commit (with ``-dirty`` when files differ from it)."""
    import platform
    import subprocess
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = None
    try:
        out = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty", "--abbrev=40"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            commit = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return dict(versions=versions, git_commit=commit)
