"""Whole evaluation episodes, and evaluation during training (``--eval_interval``).

Not in baselines, whose scores are the training episodes' (the paper's Table 1 and
figures too); stable-baselines3's ``EvalCallback`` is the model.  An evaluation plays
``--eval_episodes`` whole episodes in an env of its own (Atari: whole games with unclipped
scores, no episodic-life ends; MuJoCo: normalisation statistics frozen) every
``--eval_interval`` updates, appends them to ``eval.csv``
(:data:`~baselines_acktr.common.run_folder.EVAL_COLUMNS`), writes ``eval/return_mean`` and
``eval/return_std`` to TensorBoard at the update's timesteps and, when the mean is the best
so far, a checkpoint to ``<log_path>/best/``.

It leaves the training run's numbers as they would be without it: the evaluation env is
not a training env, each evaluation's first reset is seeded with ``seed + EVAL_SEED_OFFSET``
(every evaluation starts alike; the training envs' seeds are ``seed + i``), and the
learner's random generators (which the actors draw from, even for the mode of the paper's
policy) are put back as they were (:func:`generators_kept`).  Only the wall time (and so
``fps``) changes.
"""
from __future__ import annotations

import contextlib
import math
import os
import shutil

import numpy as np

from .checkpoints import Checkpointer, checkpoint_config
from .run_folder import BEST, append_eval_rows, drop_eval_rows_after
from .signals import StopOnSignal

EVAL_SEED_OFFSET = 10_000  # the evaluation env's first reset: seed + this (train env i: seed + i)


def run_episodes(learner, env, n, seed, deterministic=False, on_step=None, verbose=True):
    """Play ``n`` whole episodes in ``env``; returns their Monitor records
    (``{'r', 'l', 't'}``).  The first reset is seeded with ``seed``; a stop request
    (Ctrl-C) ends it at once with what was played."""
    stop = StopOnSignal.active()
    records = []
    actor = learner.actor(env.action_space, deterministic=deterministic)
    obs, _ = env.reset(seed=seed)
    actor.reset()
    while len(records) < n and not (stop is not None and stop.requested):
        obs, _, terminated, truncated, info = env.step(actor(obs))
        if on_step is not None:
            on_step(env)
        if "episode" in info:  # a whole game ended (Monitor's record)
            records.append(dict(info["episode"]))
            if verbose:
                print(f"episode {len(records)}: return {info['episode']['r']:g}, "
                      f"length {info['episode']['l']}")
        if terminated or truncated:
            obs, _ = env.reset()
            actor.reset()
    return records


def eval_rows(records, deterministic, update, timesteps, load_path=""):
    """``eval.csv`` rows of one evaluation's episodes."""
    return [dict(total_timesteps=timesteps, update=update, episode=i + 1, r=r["r"], l=r["l"],
                 deterministic=int(deterministic), load_path=load_path or "")
            for i, r in enumerate(records)]


def random_generators(learner):
    """Every ``tf.random.Generator`` the learner holds (found through its modules)."""
    import tensorflow as tf

    found = {}
    for obj in [learner, *learner.trackables().values()]:
        if isinstance(obj, tf.random.Generator):
            found[id(obj)] = obj
        elif isinstance(obj, tf.Module):
            for g in obj._flatten(predicate=lambda x: isinstance(x, tf.random.Generator)):
                found[id(g)] = g
    return list(found.values())


@contextlib.contextmanager
def generators_kept(learner):
    """Run the body, then put the learner's random generators back where they were: the
    samples an evaluation draws are not taken from the training run's stream."""
    generators = random_generators(learner)
    states = [g.state.read_value() for g in generators]
    try:
        yield
    finally:
        for g, state in zip(generators, states):
            g.state.assign(state)


class EvalDuringTraining:
    """``--eval_interval N --eval_episodes K``: called after each update (``on_update``);
    every ``interval`` updates plays ``episodes`` whole episodes in ``make_env()`` (built on
    first use, closed by :meth:`close`).  ``tensorboard(values, step)`` writes scalars.
    ``resumed_at``: the timesteps the run starts from (its checkpoint's; 0 for a fresh run in
    a used folder): evaluations from past it (an abandoned continuation, or an earlier attempt)
    are dropped from ``eval.csv`` and a ``best/`` checkpoint from past it is set aside
    (``best/`` then starts over)."""

    def __init__(self, learner, make_env, log_path, config, interval, episodes, seed,
                 deterministic=False, tensorboard=None, resumed_at=None):
        self.learner, self.make_env, self.env = learner, make_env, None
        self.log_path, self.interval, self.episodes = log_path, interval, episodes
        self.seed, self.deterministic, self.tensorboard = seed, deterministic, tensorboard
        self.best = Checkpointer(os.path.join(log_path, BEST), learner.trackables(),
                                 dict(config, log_path=log_path), keep=1)
        self.best_mean = -math.inf
        if resumed_at is not None:
            drop_eval_rows_after(log_path, resumed_at)
        self._restore_best(resumed_at)

    def _restore_best(self, resumed_at):
        saved = checkpoint_config(self.best.save_path)
        if saved is None or "eval_return_mean" not in saved:
            return
        if resumed_at is not None and saved.get("timesteps", 0) > resumed_at:
            print(f"best/ holds update {saved.get('update')}, past the point this run starts "
                  "from: it starts over")
            shutil.rmtree(self.best.save_path, ignore_errors=True)
            return
        self.best_mean = float(saved["eval_return_mean"])

    def __call__(self, update):
        """Evaluate if ``update`` is on the interval; returns the mean return or None."""
        if update % self.interval:
            return None
        if self.env is None:
            self.env = self.make_env()
        with generators_kept(self.learner):
            records = run_episodes(self.learner, self.env, self.episodes,
                                   self.seed + EVAL_SEED_OFFSET, self.deterministic, verbose=False)
        stop = StopOnSignal.active()
        if len(records) < self.episodes:  # a stop request cut it short: not an evaluation
            if stop is None or not stop.requested:
                raise RuntimeError(f"evaluation at update {update} ended after "
                                   f"{len(records)} of {self.episodes} episodes")
            print(f"evaluation at update {update} interrupted; not recorded")
            return None
        timesteps = self.learner.timesteps_done
        append_eval_rows(self.log_path, eval_rows(records, self.deterministic, update, timesteps))
        returns = np.asarray([r["r"] for r in records], np.float64)
        mean, std = float(returns.mean()), float(returns.std())
        if self.tensorboard is not None:
            self.tensorboard({"eval/return_mean": mean, "eval/return_std": std}, timesteps)
        best = mean > self.best_mean
        if best:
            self.best_mean = mean
            self.best.config["eval_return_mean"] = mean
            self.best.save(update, timesteps)
        print(f"eval at update {update} ({timesteps} timesteps): return {mean:g} ± {std:g} over "
              f"{len(records)} episodes" + (" (best so far: saved to best/)" if best else ""),
              flush=True)
        return mean

    def close(self):
        if self.env is not None:
            self.env.close()
            self.env = None

