"""One trial of a sweep: a real ``run_atari`` / ``run_mujoco`` process, watched.

The trial starts the run script as a subprocess writing an ordinary run folder
(``config.json``, ``progress.csv``, ``monitor/``, ``tb/``, ``checkpoints/``),
reports every new ``progress.csv`` row to Tune (``timesteps``, ``eprewmean``,
``fps`` for the live table) and every new checkpoint of the run as a Tune
checkpoint (``tune.Checkpoint.from_directory`` on the project's own checkpoint
directory).  When the trial is started again — Tune's ``FailureConfig`` after
the process died or its node was lost, or ``--resume`` after the sweep was
interrupted — it passes the last checkpoint Tune holds as ``--load_path``, so the
K-FAC statistics, eigens, momenta, counters, schedule and normalisation
statistics continue; the run script drops ``progress.csv`` rows logged after
that checkpoint, so the file has no duplicated updates.

The subprocess gets SIGTERM if the trial's worker dies (Linux
``PR_SET_PDEATHSIG``), which the run script treats as a Ctrl-C: it saves and stops.
"""
from __future__ import annotations

import csv
import ctypes
import os
import signal
import subprocess
import sys
import time

from ..common.run_folder import read_status
from .space import flags, label
from ..common.checkpoints import checkpoint_timesteps
from ..common.logger import drop_rows_after

POLL_SECONDS = 2.0
STOP_GRACE_SECONDS = 120.0  # a checkpoint of a large K-FAC state takes a few seconds


def _die_with_parent():
    """In the child: SIGTERM when the thread that started it dies (Linux only)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _rows(path, skip):
    """Rows of ``progress.csv`` after the first ``skip`` (none if it does not exist yet)."""
    try:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))[skip:]
    except FileNotFoundError:
        return []


def _latest(save_path):
    try:
        with open(os.path.join(save_path, "latest")) as fh:
            name = fh.read().strip()
    except FileNotFoundError:
        return None
    path = os.path.join(save_path, name)
    return path if os.path.exists(os.path.join(path, "ckpt.index")) else None


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def metrics_of(row, trial):
    """What a trial reports: the run's own keys, ``timesteps`` for the table,
    ``timesteps_total`` (Tune's x axis) and ``score``, the ``eprewmean`` that schedulers and
    search algorithms compare (``-inf`` before the first whole episode)."""
    out = {k: _number(v) for k, v in row.items()}
    out["timesteps"] = out["timesteps_total"] = int(out["total_timesteps"])
    score = out.get("eprewmean", out.get("EpRewMean", float("nan")))
    out["score"] = score if score == score else float("-inf")
    out.update(env=trial["env"], seed=trial["seed"])
    return out


def resolve(config):
    """The trial of a Tune config: its base description (``config['trial']``) with the
    values of the varied fields (``config[key]`` for each of ``trial['varied']``) in its
    name, run folder and run-script flags."""
    trial = dict(config["trial"])
    if "prefix" not in trial:  # a sweep started before studies: name and run_dir given
        return dict(trial, values={})
    values = {key: config[key] for key in trial.get("varied", ())}
    middle = f"-{label(values)}" if values else ""
    trial["name"] = f"{trial['prefix']}{middle}-seed{trial['seed']}"
    trial["run_dir"] = os.path.join(trial["runs_dir"], trial["name"])
    trial["extra_args"] = list(trial["extra_args"]) + flags(values)
    trial["values"] = values
    return trial


def _stop(trial):
    return min(trial["num_timesteps"], trial.get("stop_timesteps") or trial["num_timesteps"])


def command(trial, load_path=None):
    """The run script's command line for ``trial`` (a dict of the sweep's param space)."""
    argv = [sys.executable, "-m", trial["module"], "--env", trial["env"], "--seed",
            str(trial["seed"]), "--num_timesteps", str(trial["num_timesteps"]),
            "--log_path", trial["run_dir"], *trial["extra_args"]]
    if trial.get("stop_timesteps"):
        argv += ["--stop_timesteps", str(trial["stop_timesteps"])]
    if load_path is not None:
        argv += ["--load_path", load_path]
    return argv


def train_trial(config):
    """Tune function trainable: run one training process to its end."""
    from ray import tune

    trial = resolve(config)
    run_dir = trial["run_dir"]
    save_path = os.path.join(run_dir, "checkpoints")
    os.makedirs(run_dir, exist_ok=True)
    progress = os.path.join(run_dir, "progress.csv")
    status = read_status(run_dir) or {}
    if status.get("state") == "finished" and status.get("stop_timesteps") == _stop(trial):
        last = _rows(progress, 0)[-1:]  # done in an earlier sweep or attempt: nothing to run
        if last:
            tune.report(metrics_of(last[0], trial))
        return
    checkpoint = tune.get_checkpoint()
    load_path = checkpoint.path if checkpoint is not None else _latest(save_path)
    if os.path.exists(progress):
        # what the run script will do as it starts, done first so that no row logged after
        # the checkpoint (or, with none, by a failed attempt) is reported or counted as seen
        drop_rows_after(progress, 0 if load_path is None else checkpoint_timesteps(load_path))
    seen = len(_rows(progress, 0))
    log = open(os.path.join(run_dir, "trial.log"), "a")
    log.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command(trial, load_path))}\n")
    log.flush()
    proc = subprocess.Popen(command(trial, load_path), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=_die_with_parent)
    reported = load_path
    try:
        while True:
            done = proc.poll() is not None
            rows = _rows(progress, seen)
            latest = _latest(save_path)
            last = rows[-1] if rows else (_rows(progress, 0)[-1:] or [None])[0]
            seen += len(rows)
            if last is not None and (rows or (latest is not None and latest != reported)):
                ckpt = None
                if latest is not None and latest != reported:
                    ckpt, reported = tune.Checkpoint.from_directory(latest), latest
                tune.report(metrics_of(last, trial), checkpoint=ckpt)
            if done:
                break
            time.sleep(POLL_SECONDS)
    finally:
        if proc.poll() is None:  # the trial is being stopped: let the run save, then end it
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{trial['module']} exited with status {proc.returncode}; "
                           f"see {os.path.join(run_dir, 'trial.log')}")
