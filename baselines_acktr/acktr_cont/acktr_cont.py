"""``learn_cont``: the branch's ``learn`` with ``run_mujoco.train``'s settings, on a
``Monitor``-wrapped gymnasium env (see the package docstring)."""
from __future__ import annotations

import os

import gymnasium as gym

from ..common.train_loop import seed_everything
from ..envs.monitor import Monitor
from ..envs.registry import check_env_id
from .learner import ContLearner


def make_cont_env(env_id, seed, monitor_dir=None, env_kwargs=None):
    """``Monitor(gym.make(env_id))`` as the branch's ``make_mujoco_env`` (rank 0):
    monitor file ``<monitor_dir>/0.monitor.csv``.  The env is seeded with ``seed``
    at the first reset (``learn_cont`` does that)."""
    check_env_id(env_id)
    env = gym.make(env_id, **(env_kwargs or {}))
    if not isinstance(env.action_space, gym.spaces.Box) or len(env.action_space.shape) != 1 \
            or len(env.observation_space.shape) != 1:
        env.close()
        raise ValueError(f"{env_id}: acktr_cont needs 1-D Box observations and actions, got "
                         f"{env.observation_space} and {env.action_space}")
    filename = None
    if monitor_dir is not None:
        os.makedirs(monitor_dir, exist_ok=True)
        filename = os.path.join(monitor_dir, "0")
    return Monitor(env, filename)


def learn_cont(env_id: str, seed: int, num_timesteps: int = 1_000_000, logger=None,
               monitor_dir: str | None = None, gamma: float | None = None,
               lam: float | None = None, timesteps_per_batch: int | None = None,
               desired_kl: float | None = None, is_async: bool = True,
               wait_first_eigen: bool = True, eigen_backend: str = "auto", eigen_nice: int = 0,
               learner: ContLearner | None = None, env_kwargs: dict | None = None,
               callback=None) -> ContLearner:
    """Train the paper's continuous-control ACKTR; ports the branch's ``learn``
    with ``run_mujoco.train``'s settings (defaults above).

    Builds ``Monitor(gym.make(env_id))`` (``monitor_dir``: its csv) and, unless
    ``learner`` (a :class:`ContLearner`, e.g. restored from a checkpoint) is
    given, a new ``ContLearner`` (``seed``, ``is_async``, ``wait_first_eigen``,
    ``eigen_backend``, ``eigen_nice`` are its arguments; a given learner keeps
    its own).  ``gamma``, ``lam``, ``timesteps_per_batch``, ``desired_kl`` (the
    branch's ``learn`` arguments) set the learner's when given; None keeps the
    learner's own, which for a new one are the branch's 0.99, 0.97, 2500 and
    0.002 (with ``reward_norm``, ``gamma`` is the return normaliser's too).
    Iterates as the branch does (it stops once
    more than ``num_timesteps`` steps were collected, counting a resumed
    learner's earlier steps) and returns the learner.

    Per iteration the ``logger`` (:class:`~baselines_acktr.common.logger.Logger`,
    stdout only if None) gets the branch's keys ``EVBefore, EVAfter, EpRewMean,
    EpRewSEM, EpLenMean, KL``, then ``stepsize`` (the one this update used),
    ``policy_loss`` (``surr``), ``vf_loss`` (before the last value step),
    ``iteration`` and the project's ``total_timesteps, eprewmean, eplenmean,
    fps`` (``eprewmean``/``eplenmean`` over the last 100 ``Monitor`` episodes);
    the branch's "Iteration" and "kl too high/low" lines go to the logger's stream.

    ``callback(locals_dict)`` runs once per iteration, after the update and
    before the row is dumped (as baselines' ``callback()``), with the locals of
    the loop (:meth:`~.learner.ContLearner.fit`): ``learner`` (its filter variables
    synced), ``i`` (the iteration just done), ``timesteps_so_far``, ``kl``, ``paths``...; returning
    ``False`` stops training after the row is written.  Raises
    ``FloatingPointError`` if a loss or the KL is not finite (nothing of that
    iteration is logged).  The eigen threads are stopped and the env is closed
    on return and on any exception.
    """
    from ..common.logger import Logger

    if num_timesteps <= 0 or (timesteps_per_batch is not None and timesteps_per_batch <= 0):
        raise ValueError(f"num_timesteps and timesteps_per_batch must be > 0, got "
                         f"{num_timesteps} and {timesteps_per_batch}")
    seed_everything(seed)
    logger = logger or Logger()
    env = make_cont_env(env_id, seed, monitor_dir, env_kwargs)
    try:
        ob_dim, ac_dim = env.observation_space.shape[0], env.action_space.shape[0]
        if learner is None:
            learner = ContLearner(ob_dim, ac_dim, seed=seed, is_async=is_async,
                                  wait_first_eigen=wait_first_eigen, eigen_backend=eigen_backend,
                                  eigen_nice=eigen_nice)
        else:
            if (learner.ob_dim, learner.ac_dim) != (ob_dim, ac_dim):
                raise ValueError(f"learner built for ob_dim={learner.ob_dim}, "
                                 f"ac_dim={learner.ac_dim}; {env_id} has {ob_dim}, {ac_dim}")
            learner.restore_progress()
        if gamma is not None:
            learner.gamma = gamma  # the return normaliser's too
        if lam is not None:
            learner.lam = lam
        if desired_kl is not None:
            learner.desired_kl = desired_kl
        if timesteps_per_batch is not None:
            learner.timesteps_per_batch = int(timesteps_per_batch)
        learner.fit(env, num_timesteps, logger, seed=seed, callback=callback)
    finally:
        if learner is not None:
            learner.close()
        env.close()
    return learner
