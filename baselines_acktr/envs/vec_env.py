"""Vector environments with baselines' semantics, on gymnasium.

Ports the generic part of ``baselines/common/cmd_util.py`` (``make_vec_env``: one monitored env per rank,
seeded ``seed + rank``, stepped in subprocesses).  Atari preprocessing is in
:mod:`baselines_acktr.envs.atari_wrappers`.

Vector envs use ``autoreset_mode=AutoresetMode.SAME_STEP``: as in baselines'
VecEnvs, the observation returned on the step that ends an episode is already
the first one of the next episode; baselines' single ``done`` flag is
``terminated or truncated``.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import signal
import threading
import warnings

import gymnasium as gym
import numpy as np
from gymnasium.vector.async_vector_env import AsyncState

from . import atari_wrappers
from .monitor import Monitor
from .registry import check_atari_id, check_env_id


class SeedOnFirstReset(gym.Wrapper):
    """Gymnasium stand-in for the ``env.seed(seed + rank)`` call of baselines
    ``cmd_util.make_env``: seeds the action space at once and the env on its
    first reset when that reset gets no seed of its own."""

    def __init__(self, env, seed):
        super().__init__(env)
        self._rank_seed = int(seed)
        self._first_reset = True
        self.action_space.seed(self._rank_seed)

    def reset(self, *, seed=None, options=None):
        if self._first_reset:
            self._first_reset = False
            if seed is None:
                seed = self._rank_seed
        return self.env.reset(seed=seed, options=options)


class ClipActions(gym.ActionWrapper):
    """Ports baselines ``common/wrappers.ClipActionsWrapper``: NaNs to numbers, then the
    action clipped to the Box bounds.  gymnasium's ``ClipAction`` clips but keeps NaNs.
    The policy's own (unclipped) sample is what the learner stores, as in baselines."""

    def action(self, action):
        space = self.action_space
        return np.clip(np.nan_to_num(action), space.low, space.high).astype(space.dtype)


def check_vec_args(num_env, vec):
    if vec not in ("async", "sync"):
        raise ValueError(f"vec must be 'async' or 'sync', got {vec!r}")
    if num_env < 1:
        raise ValueError(f"num_env must be >= 1, got {num_env}")


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Detached:
    """Runs first in an env worker process, which starts with SIGINT and SIGTERM ignored
    (:class:`_ImmuneSpawnProcess`): it leaves the parent's process group, so that a terminal's
    Ctrl-C or a cluster's SIGTERM to the group reaches only the learner, which stops and
    closes its workers, and takes SIGTERM back so that the learner can still
    ``terminate()`` it."""

    def __init__(self, env_fn):
        self.env_fn = env_fn
        self.parent = os.getpid()  # AsyncVectorEnv also builds one env in the parent

    def __call__(self):
        if os.getpid() != self.parent:
            os.setpgid(0, 0)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return self.env_fn()


class _ImmuneSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker started with SIGINT/SIGTERM ignored for the moment of the spawn:
    SIG_IGN is the one disposition a new interpreter inherits (and Python keeps an
    ignored SIGINT ignored), so the worker is immune from its first instruction, and
    a Ctrl-C to the learner at any other moment of the env start-up is seen."""

    def start(self):
        if threading.current_thread() is not threading.main_thread():
            return super().start()
        old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
        try:
            return super().start()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)


class _AsyncVectorEnv(gym.vector.AsyncVectorEnv):
    """gymnasium's ``AsyncVectorEnv`` with a ``close`` that cannot hang.

    A Ctrl-C inside ``step_wait`` (or ``reset_wait``) leaves the env waiting with
    the replies of some workers already read; gymnasium's ``close`` then waits for
    all of them again, forever (a learner hung after a second Ctrl-C, found by
    tests/test_signals.py).  A Ctrl-C inside ``step_async`` (or ``reset_async``),
    between the sends to the workers, leaves the env in its default state with
    some workers stepping: gymnasium's ``close`` then reads their step results as
    the close replies and closes the pipes before they answer the close, so they
    die of a BrokenPipeError with a traceback (seen in CI).  Closing an env left
    half-way, in either way, terminates its workers instead (they take SIGTERM
    back: :class:`_Detached`), without gymnasium's warning about the pending call."""

    _sent_in_part = False  # an async call's sends did not all complete

    def step_async(self, actions):
        self._sent_in_part = True
        super().step_async(actions)
        self._sent_in_part = False

    def reset_async(self, seed=None, options=None):
        self._sent_in_part = True
        super().reset_async(seed=seed, options=options)
        self._sent_in_part = False

    def close_extras(self, timeout=None, terminate=False):
        if self._state == AsyncState.DEFAULT and not self._sent_in_part:
            return super().close_extras(timeout, terminate)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return super().close_extras(timeout, terminate=True)


@contextlib.contextmanager
def _immune_workers(context):
    """Workers that ``AsyncVectorEnv`` starts in here are :class:`_ImmuneSpawnProcess` es."""
    ctx = multiprocessing.get_context(context)
    if context != "spawn":
        yield
        return
    ctx.Process = _ImmuneSpawnProcess  # shadows the context's class attribute
    try:
        yield
    finally:
        del ctx.Process


def vector_env(env_fns, vec="async", seed=None, start_index=0, context="spawn"):
    """A SAME_STEP gymnasium vector env over ``env_fns``: ``AsyncVectorEnv``
    (subprocesses, like baselines' ``SubprocVecEnv``) or ``SyncVectorEnv``.

    The subprocesses never die of the process group's SIGINT/SIGTERM
    (:class:`_Detached`): only the learner sees Ctrl-C (baselines' workers died of it,
    and closing them then failed)."""
    mode = gym.vector.AutoresetMode.SAME_STEP
    if vec == "async":
        with _immune_workers(context):
            envs = _AsyncVectorEnv([_Detached(f) for f in env_fns], context=context,
                                   autoreset_mode=mode)
    else:
        envs = gym.vector.SyncVectorEnv(env_fns, autoreset_mode=mode)
    if seed is not None:
        envs.action_space.seed(seed + start_index)
    return envs


def make_vec_env(env_id: str, num_env: int, seed: int | None, start_index: int = 0,
                 monitor_dir: str | None = None, vec: str = "sync", context: str = "spawn",
                 env_kwargs: dict | None = None) -> gym.vector.VectorEnv:
    """Ports ``cmd_util.make_vec_env`` for non-Atari ids (classic control, MuJoCo):
    ``Monitor(gym.make(env_id))`` (then ``ClipActions`` for a Box action space) per
    rank ``r``, monitor file
    ``monitor_dir/<r>.monitor.csv``, seeded ``seed + r`` on its first reset."""
    check_vec_args(num_env, vec)
    check_env_id(env_id)
    if monitor_dir is not None:
        os.makedirs(monitor_dir, exist_ok=True)

    def make_fn(rank):
        def make():
            env = gym.make(env_id, **(env_kwargs or {}))
            filename = os.path.join(monitor_dir, str(rank)) if monitor_dir is not None else None
            env = Monitor(env, filename)
            if isinstance(env.action_space, gym.spaces.Box):  # baselines' make_env
                env = ClipActions(env)
            if seed is not None:
                env = SeedOnFirstReset(env, seed + rank)
            return env
        return make

    return vector_env([make_fn(start_index + i) for i in range(num_env)], vec, seed, start_index,
                      context)


# --------------------------------------------------------------------------- #
# Reading Monitor records out of vector env infos
# --------------------------------------------------------------------------- #
def _records_from(info):
    """Records in one info dict: ``(env_index, record)`` pairs."""
    episode = info.get("episode")
    if not isinstance(episode, dict):
        return []
    mask = info.get("_episode")
    if mask is None:  # a single env's info: the record itself
        return [(0, {"r": float(episode["r"]), "l": int(episode["l"]), "t": float(episode["t"])})]
    found = []
    for i in np.flatnonzero(np.asarray(mask)):
        found.append((int(i), {
            "r": float(episode["r"][i]),
            "l": int(episode["l"][i]),
            "t": float(episode["t"][i]),
        }))
    return found


def episode_infos(infos):
    """Monitor records ``{'r', 'l', 't'}`` of the envs whose (real) episode
    ended at this step, in env order.  (No baselines counterpart: baselines'
    runners read ``info.get('episode')`` from each env's info.)

    Accepts:

    * gymnasium vector infos (a dict of batched arrays with ``_key`` masks).
      With ``AutoresetMode.SAME_STEP`` the info of the ending step is moved
      into ``infos['final_info']`` (batched the same way, with mask
      ``infos['_final_info']``), so the record is
      ``infos['final_info']['episode'][k][i]`` where
      ``infos['final_info']['_episode'][i]``; the top level ``infos`` then
      holds the reset info.  With ``NEXT_STEP``/``DISABLED`` it is
      ``infos['episode']`` / ``infos['_episode']``.  Both places are read.
    * a list/tuple of per-env info dicts (baselines' VecEnv layout);
    * a single env's info dict.
    """
    if isinstance(infos, (list, tuple)):
        out = []
        for info in infos:
            out.extend(episode_infos(info))
        return out
    found = list(_records_from(infos))
    final = infos.get("final_info")
    if isinstance(final, dict):
        found.extend(_records_from(final))
    found.sort(key=lambda pair: pair[0])
    return [record for _, record in found]


# --------------------------------------------------------------------------- #
# Atari (the Atari branch of baselines' cmd_util.make_vec_env)
# --------------------------------------------------------------------------- #
def _make_env_fn(env_id, rank, seed, monitor_dir, max_episode_steps, wrapper_kwargs, frame_cap):
    def make():
        env = atari_wrappers.make_atari(env_id, max_episode_steps=max_episode_steps,
                                        frame_cap=frame_cap)
        filename = os.path.join(monitor_dir, str(rank)) if monitor_dir is not None else None
        env = Monitor(env, filename)
        env = atari_wrappers.wrap_deepmind(env, **wrapper_kwargs)
        if seed is not None:
            env = SeedOnFirstReset(env, seed + rank)
        return env

    return make


def make_atari_env(
    env_id: str,
    num_env: int,
    seed: int | None,
    start_index: int = 0,
    monitor_dir: str | None = None,
    vec: str = "async",
    *,
    max_episode_steps: int | None = None,
    wrapper_kwargs: dict | None = None,
    context: str = "spawn",
    frame_cap: str | int = "baselines",
) -> gym.vector.VectorEnv:
    """Port of baselines ``cmd_util.make_vec_env`` for Atari (``make_env``
    with ``env_type='atari'``).

    Env of rank ``r = start_index + i`` (i = 0..num_env-1) is
    ``wrap_deepmind(Monitor(make_atari(env_id), monitor_dir/<r>.monitor.csv))``
    (no file without ``monitor_dir``).  Returns a gymnasium
    ``AsyncVectorEnv`` (one subprocess per env, ``context`` as multiprocessing
    start method, 'spawn' like baselines' ``SubprocVecEnv``) for
    ``vec='async'`` or a ``SyncVectorEnv`` for ``vec='sync'``, both with
    ``autoreset_mode=AutoresetMode.SAME_STEP``: as in baselines' VecEnvs, the
    observation returned on the step that ends an episode is already the
    first one of the next episode (the last one is in
    ``infos['final_obs']``; use :func:`episode_infos` to read the Monitor
    records).

    Seeding (replaces baselines' ``env.seed(seed + rank)``): each env's
    action space is seeded with ``seed + r`` when it is built, and the env's
    first reset is given ``seed + r`` if the caller passes no seed, so
    ``envs.reset()`` is the same as ``envs.reset(seed=seed + start_index)``
    (gymnasium gives seed ``s + i`` to env ``i``).  The batched
    ``envs.action_space`` is seeded with ``seed + start_index``.
    ``seed=None`` leaves everything unseeded.  Global RNGs (numpy, TF) are
    not touched here.

    Unknown ids and ids without ``NoFrameskip`` raise ValueError.
    ``max_episode_steps``, ``frame_cap`` and ``wrapper_kwargs`` are passed to
    :func:`~.atari_wrappers.make_atari` and :func:`~.atari_wrappers.wrap_deepmind`.
    """
    check_vec_args(num_env, vec)
    check_atari_id(env_id)
    if monitor_dir is not None:
        os.makedirs(monitor_dir, exist_ok=True)
    # baselines run.py: wrap_deepmind without stacking, then VecFrameStack(env, 4)
    wrapper_kwargs = dict(dict(frame_stack=True, frame_stack_pad="zeros"), **(wrapper_kwargs or {}))
    env_fns = [
        _make_env_fn(env_id, start_index + i, seed, monitor_dir, max_episode_steps, wrapper_kwargs,
                     frame_cap)
        for i in range(num_env)
    ]
    return vector_env(env_fns, vec, seed, start_index, context)


