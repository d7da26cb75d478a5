"""An opt-in Atari backend on ale-py's C++ ``AtariVectorEnv`` (``--env_backend ale_vector``).

No baselines counterpart: baselines runs one Python process per env
(``SubprocVecEnv`` over ``wrap_deepmind``), which the default backend
(:func:`~baselines_acktr.envs.vec_env.make_atari_env`) reproduces frame for
frame.  Here all games step in ALE's own threads, and the wrappers' work is
split between ALE and this module so that what the learner sees matches
baselines wherever an option allows:

=====================  ==================================================  =========================
baselines wrapper      here                                                matches
=====================  ==================================================  =========================
NoopResetEnv(30)       ALE ``noop_max=30``                                 rule yes, RNG stream no
MaxAndSkipEnv(4)       ALE ``frameskip=4, maxpool=True``                   max after gray, not before
FireResetEnv           ALE ``use_fire_reset`` (game start only)            not after a lost life
EpisodicLifeEnv        here, from ``info['lives']`` (the game goes on)     no no-op/fire steps after
WarpFrame 84×84 gray   ALE ``img_height/width=84, grayscale``              see docs
ClipRewardEnv          here, ``np.sign`` (ALE's clipping off)              yes
FrameStack 4, zeroed   here, zeroed at every done (baselines' VecFrameStack) yes
Monitor                here, whole games, unclipped, baselines' csv files  yes (length: see docs)
TimeLimit 400k frames  ALE ``max_num_frames_per_episode``                  yes
=====================  ==================================================  =========================

ALE's own ``episodic_life`` is not used: it restarts the whole game at a lost
life (measured), where baselines' ``EpisodicLifeEnv`` only signals ``done`` and
plays on, so returns would be per life.  ``docs/differences_from_baselines.md``
has the measured differences.  TF-free, like the rest of ``envs``.
"""
from __future__ import annotations

import os
import re
import time

import gymnasium as gym
import numpy as np

from .atari_wrappers import baselines_frame_cap
from .monitor import ResultsWriter
from .registry import check_atari_id


def ale_game(env_id: str) -> str:
    """``'PongNoFrameskip-v4'`` → ``'pong'``, ``'BeamRiderNoFrameskip-v4'`` → ``'beam_rider'``."""
    check_atari_id(env_id)
    name = env_id.split("NoFrameskip")[0]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _GameRecords:
    """One :class:`~baselines_acktr.envs.monitor.ResultsWriter` (``<rank>.monitor.csv``,
    a row per whole game) per env of the batch; none without ``monitor_dir``."""

    def __init__(self, monitor_dir, env_id, ranks):
        self.tstart = time.time()
        self.writers = []
        if monitor_dir is not None:
            os.makedirs(monitor_dir, exist_ok=True)
            self.writers = [ResultsWriter(os.path.join(monitor_dir, f"{rank}.monitor.csv"),
                                          self.tstart, env_id) for rank in ranks]

    def write(self, i, r, length, t):
        if self.writers:
            self.writers[i].write_row({"r": r, "l": length, "t": t})

    def close(self):
        for writer in self.writers:
            writer.close()
        self.writers = []


class AleVectorAtari(gym.vector.VectorEnv):
    """``num_env`` games of ``env_id`` in one ``AtariVectorEnv``, with baselines'
    observations (``[n, 84, 84, 4]`` uint8, the last frame last), clipped rewards,
    ``done`` at every lost life and the whole-game Monitor records in
    ``infos['episode']`` / ``infos['_episode']`` (and in ``monitor_dir``).

    Same-step autoreset, as the default backend: the observation returned on a
    step that ends a game is already the next game's first.  ``seed`` seeds
    game ``i`` with ``seed + start_index + i`` at the first reset (ALE's reset
    seeding), and the batched action space with ``seed + start_index``.
    """

    def __init__(self, env_id: str, num_env: int, seed: int | None = None, start_index: int = 0,
                 monitor_dir: str | None = None, frame_cap: str | int = "baselines",
                 num_threads: int = 0, noop_max: int = 30):
        from ale_py.vector_env import AtariVectorEnv

        cap = {"baselines": baselines_frame_cap(env_id), "ale": 108_000}.get(frame_cap, frame_cap)
        if isinstance(cap, str) or int(cap) < 1:
            raise ValueError(f"frame_cap must be 'baselines', 'ale' or a positive int, got {frame_cap!r}")
        self.env_id = env_id
        self.num_envs = int(num_env)
        self.seed = seed
        self.start_index = start_index
        self.ale = AtariVectorEnv(
            ale_game(env_id), self.num_envs, num_threads=num_threads,
            max_num_frames_per_episode=int(cap), repeat_action_probability=0.0,
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP, img_height=84, img_width=84,
            grayscale=True, stack_num=1, frameskip=4, maxpool=True, noop_max=noop_max,
            episodic_life=False, reward_clipping=False, use_fire_reset=True)
        self.metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
        self.single_action_space = self.ale.single_action_space
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.single_observation_space = gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space,
                                                              self.num_envs)
        if seed is not None:
            self.action_space.seed(seed + start_index)
        self.records = _GameRecords(monitor_dir, env_id,
                                    range(start_index, start_index + self.num_envs))
        self.stack = np.zeros((self.num_envs, 84, 84, 4), np.uint8)
        self.lives = np.zeros(self.num_envs, np.int64)
        self.game_return = np.zeros(self.num_envs, np.float64)
        self.game_length = np.zeros(self.num_envs, np.int64)

    def reset(self, *, seed=None, options=None):
        if seed is None and self.seed is not None:
            seed = self.seed + self.start_index
        obs, info = self.ale.reset(seed=seed)
        self.stack[:] = 0
        self.stack[..., -1] = obs[:, -1]
        self.lives = np.asarray(info["lives"], np.int64).copy()
        self.game_return[:] = 0.0
        self.game_length[:] = 0
        return self.stack.copy(), {"lives": self.lives.copy()}

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.ale.step(np.asarray(actions, np.int64))
        reward = np.asarray(reward, np.float64)
        game_over = np.logical_or(terminated, truncated)
        lives = np.asarray(info["lives"], np.int64)
        # EpisodicLifeEnv: a lost life (the game going on) is a done for the learner;
        # on a game over, ``lives`` is already the next game's
        lost_life = np.logical_and(lives < self.lives, ~game_over)
        self.lives = lives.copy()
        self.game_return += reward
        self.game_length += 1
        infos = {"lives": lives}
        if game_over.any():
            t = round(time.time() - self.records.tstart, 6)
            ended = np.flatnonzero(game_over)
            r = np.zeros(self.num_envs)
            length = np.zeros(self.num_envs, np.int64)
            for i in ended:
                r[i] = round(float(self.game_return[i]), 6)
                length[i] = self.game_length[i]
                self.records.write(i, r[i], int(length[i]), t)
            infos["episode"] = {"r": r, "l": length, "t": np.full(self.num_envs, t)}
            infos["_episode"] = game_over.copy()
            self.game_return[ended] = 0.0
            self.game_length[ended] = 0
        done = np.logical_or(game_over, lost_life)
        # baselines' VecFrameStack: shift, zero the stacks of done envs, append the frame
        self.stack[..., :-1] = self.stack[..., 1:]  # in place, no new array per step
        self.stack[done] = 0
        self.stack[..., -1] = obs[:, -1]
        terminated = np.logical_or(terminated, lost_life)
        return self.stack.copy(), np.sign(reward).astype(np.float32), terminated, truncated, infos

    def close(self, **kwargs):
        if getattr(self, "ale", None) is not None:
            self.ale.close()
            self.ale = None
        self.records.close()


def make_ale_vector_env(env_id: str, num_env: int, seed: int | None, start_index: int = 0,
                        monitor_dir: str | None = None, frame_cap: str | int = "baselines",
                        num_threads: int = 0) -> AleVectorAtari:
    """The ``ale_vector`` counterpart of :func:`~baselines_acktr.envs.vec_env.make_atari_env`."""
    if int(num_env) < 1:
        raise ValueError(f"num_env must be >= 1, got {num_env}")
    return AleVectorAtari(env_id, num_env, seed, start_index, monitor_dir, frame_cap, num_threads)
