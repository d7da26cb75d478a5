"""The one interface every algorithm here offers (stable-baselines3's idea of one
protocol all algorithms share): ACKTR's and A2C's models
(:class:`~baselines_acktr.common.actor_critic.ActorCriticModel`) and the paper's
continuous learner (:class:`~baselines_acktr.acktr_cont.ContLearner`).

``cli.train`` and ``episodes.play`` (and a sweep's trials) use only this, so a run
folder, its checkpoints, resume, Ctrl-C and NaN handling and ``--play`` work the
same for all three.
"""
from __future__ import annotations

from typing import Any, Protocol
from collections.abc import Callable

import numpy as np

# on_update(updates_done) after every update; returning False stops training
OnUpdate = Callable[[int], bool | None]
# progress(timesteps_done, total_timesteps, fps, eprewmean) after every update
Progress = Callable[[int, int, float, float], None]


class Actor(Protocol):
    """Acts in one (non-vector) env: ``reset()`` at every episode start, then
    ``actor(obs)`` gives the env action for ``obs``."""

    def reset(self) -> None: ...

    def __call__(self, obs: np.ndarray) -> Any: ...


class Learner(Protocol):
    def trackables(self) -> dict[str, Any]:
        """What a checkpoint holds (``tf.train.Checkpoint(**learner.trackables())``)."""

    def agent_trackables(self) -> dict[str, Any]:
        """What a shipped agent holds: what acting needs (parameters, observation
        statistics, progress), no optimizer state (:mod:`baselines_acktr.agent`)."""

    def restore_progress(self) -> None:
        """After a checkpoint was read into the trackables: resume counters and
        schedules from them."""

    @property
    def updates_done(self) -> int:
        """Updates (iterations) finished so far."""

    @property
    def timesteps_done(self) -> int:
        """Environment steps trained on so far."""

    def check_budget(self, total_timesteps: int) -> None:
        """ValueError (one line) if training to ``total_timesteps`` would do nothing."""

    def fit(self, env, total_timesteps: int, logger, *, seed: int | None = None,
            log_interval: int = 1, on_update: OnUpdate | None = None,
            progress: Progress | None = None, stop_reward: float | None = None) -> int:
        """Train on ``env`` (the learner's kind of env) up to ``total_timesteps``,
        continuing from :attr:`updates_done`, or until the mean return of the last 100
        episodes reaches ``stop_reward``; returns the updates done."""

    def actor(self, action_space, deterministic: bool = False) -> Actor:
        """A policy to play with in a single env of ``action_space`` (samples, or with
        ``deterministic`` the mode / mean action)."""

    def close(self) -> None:
        """Stop background threads (idempotent)."""
