"""Which directories are run folders: the RUN_DIR arguments, and the run folders found inside a
sweep folder (``python -m baselines_acktr.sweep``) next to Ray Tune's own files."""
import json
import os
import re

from .errors import CompareError

SEARCH_DEPTH = 3         # a sweep folder is searched this many levels down


def is_run_dir(path):
    """A folder of this project's runs: ``progress.csv`` and a ``config.json`` object with an
    ``env``. Tune's trial folders (its own ``progress.csv``, ``params.json``, ``result.json``)
    have no ``config.json`` and are not run folders."""
    if not os.path.isfile(os.path.join(path, "progress.csv")):
        return False
    try:
        with open(os.path.join(path, "config.json")) as fh:
            cfg = json.load(fh)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(cfg, dict) and bool(cfg.get("env"))


def _natural(name):
    """Sort key: ``seed2`` before ``seed10``."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


def find_run_dirs(root, depth=SEARCH_DEPTH):
    """The run folders at most ``depth`` levels below ``root``, in natural name order; a run
    folder's own subfolders are not searched, symbolic links to folders are not followed."""
    found = []

    def walk(d, level):
        try:
            entries = sorted(os.scandir(d), key=lambda e: _natural(e.name))
        except OSError:
            return
        for e in entries:
            if not e.is_dir(follow_symlinks=False):
                continue
            if is_run_dir(e.path):
                found.append(e.path)
            elif level < depth:
                walk(e.path, level + 1)

    walk(root, 1)
    return found


def _has_rows(progress):
    """False for a ``progress.csv`` with nothing logged yet (empty, or a header only)."""
    try:
        with open(progress, newline="") as fh:
            lines = [line for line in fh if line.strip()]
    except (OSError, UnicodeDecodeError):
        return True  # let the reader report it
    return len(lines) > 1


def expand_run_dirs(paths):
    """``(run dirs, skipped)`` for the RUN_DIR arguments. A path with a ``progress.csv`` is a run
    dir; any other folder is searched for run folders (a sweep). Of the run folders found in a
    sweep, those with no logged row yet (a trial just started, or one that died first) are
    skipped and returned as ``[(path, reason)]``. A folder appearing twice is used once."""
    runs, skipped, seen = [], [], set()
    for path in paths:
        if not os.path.isdir(path):
            raise CompareError(f"{path} is not a directory")
        if os.path.isfile(os.path.join(path, "progress.csv")):
            found, in_sweep = [path], False
        else:
            found, in_sweep = find_run_dirs(path), True
            if not found:
                raise CompareError(
                    f"{path} has no progress.csv, and no run folder (progress.csv and a "
                    f"config.json with 'env') within {SEARCH_DEPTH} levels below it")
        for d in found:
            key = os.path.realpath(d)
            if key in seen:
                continue
            seen.add(key)
            if in_sweep and not _has_rows(os.path.join(d, "progress.csv")):
                skipped.append((d, "no row logged in progress.csv yet"))
            else:
                runs.append(d)
    if not runs:
        raise CompareError("no run folder with a logged row: "
                           + "; ".join(f"{d} ({why})" for d, why in skipped))
    return runs, skipped
