"""Checkpoints that are never half-written (replaces baselines' ``save_variables``).

A checkpoint is a directory ``<save_path>/checkpoint<update:05d>/`` holding a
``tf.train.Checkpoint`` (``ckpt.index``, ``ckpt.data-*``: parameters, optimizer
state — K-FAC statistics, eigens, momenta and counters, or RMSProp's mean
squares —, the update count and scheduler position, the sampling RNG, plus
whatever extra trackables a caller adds, e.g. observation-normalisation
statistics: a trackable with ``before_save()`` / ``after_restore()`` methods has
them called around every write / read, to move state it keeps outside its
variables) and ``config.json`` (the run's configuration).  It is written into a
temporary directory and renamed into place; ``<save_path>/latest`` (also
replaced atomically, after the directory is complete) names the newest one, so a
process killed at any moment (``kill -9``) leaves ``latest`` pointing at a whole
checkpoint; half-written temporary directories are removed by the next save.  No
pickle anywhere.
"""
from __future__ import annotations

import json
import os
import shutil

from .run_folder import write_text_atomic

LATEST = "latest"
PREFIX = "ckpt"
AGENT = "agent"  # config.json key of a shipped agent's checkpoint (acting state only)


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or does not match the run."""


class Checkpointer:
    def __init__(self, save_path: str | None, trackables: dict, config: dict, keep: int = 3):
        self.save_path = save_path
        self.trackables = dict(trackables)
        self.config = dict(config)
        self.keep = int(keep)

    def _checkpoint(self):
        import tensorflow as tf

        return tf.train.Checkpoint(**self.trackables)

    def save(self, update: int, timesteps: int | None = None) -> str:
        """Write ``checkpoint<update>`` atomically; returns its directory.  ``timesteps``
        (the learner's ``timesteps_done``) goes into its ``config.json``."""
        os.makedirs(self.save_path, exist_ok=True)
        name = f"checkpoint{int(update):05d}"
        final = os.path.join(self.save_path, name)
        if self._latest_name() == name and os.path.exists(os.path.join(final, PREFIX + ".index")):
            return final  # this very state (the interval save and the end save of one update)
        tmp = os.path.join(self.save_path, f".tmp-{name}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        for obj in self.trackables.values():
            if hasattr(obj, "before_save"):
                obj.before_save()
        self._checkpoint().write(os.path.join(tmp, PREFIX))
        with open(os.path.join(tmp, "config.json"), "w") as fh:
            extra = {} if timesteps is None else dict(timesteps=int(timesteps))
            json.dump(dict(self.config, update=int(update), **extra), fh, indent=1, sort_keys=True)
        if os.path.exists(final):
            # a checkpoint of a continuation that a resume abandoned: `latest` does not
            # point at it (restore() repoints it), so removing it leaves `latest` readable
            shutil.rmtree(final)
        os.replace(tmp, final)
        write_text_atomic(os.path.join(self.save_path, LATEST), name + "\n")
        self._prune(name)
        return final

    def _latest_name(self):
        try:
            with open(os.path.join(self.save_path, LATEST)) as fh:
                return fh.read().strip()
        except OSError:
            return None

    def _prune(self, newest):
        mine = f"-{os.getpid()}"
        for n in os.listdir(self.save_path):  # half-written directories of killed processes
            if n.startswith(".tmp-") and not n.endswith(mine):
                shutil.rmtree(os.path.join(self.save_path, n), ignore_errors=True)
        if self.keep <= 0:
            return
        names = sorted(n for n in os.listdir(self.save_path)
                       if n.startswith("checkpoint") and os.path.isdir(os.path.join(self.save_path, n)))
        for old in names[:-self.keep]:
            if old != newest:
                shutil.rmtree(os.path.join(self.save_path, old), ignore_errors=True)

    def restore(self, path, check_keys=("env", "alg", "network", "variant", "num_env", "nsteps")):
        """Load a checkpoint directory (or a save_path with ``latest``); returns its config.

        Raises :class:`CheckpointError` when it is missing, or when its config
        differs from this run's in any of ``check_keys`` (all of them named in one line)
        or its variables do not fit this model.
        """
        ckpt_dir = resolve(path)
        with open(os.path.join(ckpt_dir, "config.json")) as fh:
            saved = json.load(fh)
        differ = [f"{key}={saved[key]!r} (this run: {self.config[key]!r})" for key in check_keys
                  if key in self.config and key in saved and saved[key] != self.config[key]]
        if differ:
            raise CheckpointError(f"checkpoint {ckpt_dir} was made with {', '.join(differ)}; "
                                  "--allow_config_change resumes anyway where only hyperparameters differ")
        import tensorflow as tf

        try:
            self._checkpoint().read(os.path.join(ckpt_dir, PREFIX)).assert_existing_objects_matched()
        except (ValueError, AssertionError, tf.errors.OpError) as exc:
            first = (str(exc).strip().splitlines() or ["unreadable"])[0]
            raise CheckpointError(f"checkpoint {ckpt_dir} does not match this model: {first}") from exc
        for obj in self.trackables.values():
            if hasattr(obj, "after_restore"):
                obj.after_restore()
        if self.save_path is not None and \
                os.path.abspath(os.path.dirname(ckpt_dir)) == os.path.abspath(self.save_path):
            # this run continues from here: `latest` says so, and newer checkpoints of the
            # abandoned continuation are replaced as the run reaches them
            write_text_atomic(os.path.join(self.save_path, LATEST), os.path.basename(ckpt_dir) + "\n")
        return saved


def checkpoint_config(path):
    """The ``config.json`` of the checkpoint ``path`` names (None without a readable one)."""
    try:
        with open(os.path.join(resolve(path), "config.json")) as fh:
            saved = json.load(fh)
    except (CheckpointError, OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) else None


def is_agent(path):
    """True for a shipped agent's checkpoint (:mod:`baselines_acktr.agent`): the learner's
    ``agent_trackables()`` only, no optimizer state."""
    return bool((checkpoint_config(path) or {}).get(AGENT))


def checkpoint_timesteps(path):
    """The ``timesteps`` a checkpoint's ``config.json`` records (None if it does not)."""
    return (checkpoint_config(path) or {}).get("timesteps")


def resolve(path):
    """The checkpoint directory that ``path`` names (itself, or its ``latest``)."""
    if path is None or not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path!r}")
    if os.path.exists(os.path.join(path, PREFIX + ".index")):
        return path
    latest = os.path.join(path, LATEST)
    if os.path.exists(latest):
        with open(latest) as fh:
            ckpt_dir = os.path.join(path, fh.read().strip())
        if os.path.exists(os.path.join(ckpt_dir, PREFIX + ".index")):
            return ckpt_dir
    raise CheckpointError(f"no checkpoint at {path!r} (expected {PREFIX}.index or a '{LATEST}' file)")

