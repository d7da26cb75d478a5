"""DeepMind-style Atari preprocessing on the gymnasium API.

Ports of ``baselines/common/atari_wrappers.py``, ``baselines/bench/monitor.py``
and the Atari branch of ``baselines/common/cmd_util.py`` (``make_vec_env`` /
``make_env``) from OpenAI Baselines, rewritten for gymnasium >= 1.0:

* ``reset(seed=None, options=None) -> (obs, info)``
* ``step(action) -> (obs, reward, terminated, truncated, info)``

Baselines' single ``done`` flag is ``terminated or truncated`` here.

The wrapper order is the one of baselines' ``make_env`` for Atari::

    gym.make(id) -> NoopResetEnv -> MaxAndSkipEnv [-> TimeLimit]   (make_atari)
        -> Monitor                                                  (raw game stats)
        -> EpisodicLifeEnv -> FireResetEnv -> WarpFrame [-> ScaledFloatFrame]
        -> ClipRewardEnv -> FrameStack                              (wrap_deepmind)

so the Monitor sees whole games and unclipped rewards.

Where gymnasium ships a wrapper whose behaviour is *identical* to the
baselines one it is reused (``MaxAndSkipObservation``, ``TransformReward``,
``TimeLimit``); everywhere else gymnasium's counterpart behaves differently and
the baselines behaviour is ported; each class says why.
"""
from collections import deque

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import MaxAndSkipObservation, TimeLimit, TransformReward

from .cv2_port import resize_area, rgb_to_gray
from .registry import check_atari_id

try:  # OpenCV is optional: WarpFrame falls back to an exact numpy port of what it uses.
    import cv2

    cv2.ocl.setUseOpenCL(False)
except ImportError:  # pragma: no cover - depends on the installation
    cv2 = None

__all__ = [
    "NoopResetEnv",
    "MaxAndSkipEnv",
    "EpisodicLifeEnv",
    "FireResetEnv",
    "WarpFrame",
    "ScaledFloatFrame",
    "ClipRewardEnv",
    "FrameStack",
    "make_atari",
    "wrap_deepmind",
    "rgb_to_gray",
    "resize_area",
]


def _ended(terminated, truncated):
    return bool(terminated) or bool(truncated)


def _keep_episode_record(step_info, reset_info):
    """If a step taken *inside* a reset finished a monitored game, keep its
    ``'episode'`` record in the info that the reset returns (otherwise the
    record would only be in the csv file, not in the infos a learner reads)."""
    if "episode" in step_info and "episode" not in reset_info:
        reset_info = dict(reset_info)
        reset_info["episode"] = step_info["episode"]
    return reset_info


# --------------------------------------------------------------------------- #
# Wrappers of make_atari
# --------------------------------------------------------------------------- #
class NoopResetEnv(gym.Wrapper):
    """Port of baselines ``atari_wrappers.NoopResetEnv``.

    After each reset, plays a random number (uniform in ``[1, noop_max]``,
    drawn from the unwrapped env's ``np_random``) of NOOP actions so that
    episodes start from varied states.  Action 0 must be NOOP.

    gymnasium has no standalone equivalent (it is folded into
    ``AtariPreprocessing``, together with other steps), hence the port.  As in
    baselines, if the game ends during the no-ops the env is reset again
    (without re-applying the seed, which has been used by the first reset).
    """

    def __init__(self, env, noop_max=30):
        super().__init__(env)
        if noop_max < 1:
            raise ValueError(f"noop_max must be >= 1, got {noop_max}")
        meanings = env.unwrapped.get_action_meanings()
        if meanings[0] != "NOOP":
            raise ValueError(f"NoopResetEnv needs action 0 to be NOOP, got {meanings[0]!r}")
        self.noop_max = noop_max
        self.noop_action = 0
        self.override_num_noops = None  # fixed number of no-ops, for tests

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        if self.override_num_noops is not None:
            n = int(self.override_num_noops)
        else:
            n = int(self.env.unwrapped.np_random.integers(1, self.noop_max + 1))
        info = dict(info)
        for _ in range(n):
            obs, _, terminated, truncated, step_info = self.env.step(self.noop_action)
            info.update(step_info)
            if _ended(terminated, truncated):
                obs, info = self.env.reset(options=options)
                info = dict(info)
        return obs, info


class MaxAndSkipEnv(MaxAndSkipObservation):
    """Port of baselines ``atari_wrappers.MaxAndSkipEnv``.

    Repeats the action ``skip`` times, sums the rewards and returns the
    element-wise maximum of the last two raw frames (removes Atari sprite
    flicker); stops early when the episode ends, in which case the returned
    frame may mix in frames of the previous step, exactly as baselines.

    gymnasium's ``MaxAndSkipObservation`` has identical semantics (same
    two-frame buffer kept across steps, same early break, same summed reward,
    info of the last raw step, reset passed through), so it is used as is;
    the only difference is that gymnasium refuses ``skip < 2``.
    """

    def __init__(self, env, skip=4):
        super().__init__(env, skip=skip)


class EpisodicLifeEnv(gym.Wrapper):
    """Port of baselines ``atari_wrappers.EpisodicLifeEnv``.

    A lost life is reported as ``terminated=True``, but the game is really
    reset only when it is over; a reset after a mere life loss plays one NOOP
    step to continue the same game.

    gymnasium's ``AtariPreprocessing(terminal_on_life_loss=True)`` differs: it
    signals termination on life loss but its reset always restarts the game,
    so later lives would never be played; hence the port.

    Two small additions for the gymnasium API:

    * a reset with an explicit ``seed`` always restarts the game (a seed asks
      for a fresh, reproducible game);
    * if the continuation NOOP step itself ends the game, the game is reset
      (baselines ignored that ``done`` and its Monitor would then refuse the
      next step).
    """

    def __init__(self, env):
        super().__init__(env)
        self.lives = 0
        self.was_real_done = True

    def _ale_lives(self):
        return self.env.unwrapped.ale.lives()

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.was_real_done = _ended(terminated, truncated)
        lives = self._ale_lives()
        # lives > 0: some games (Qbert) sit at 0 lives for a few frames before
        # the game-over signal; only the real game over should end that life.
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, *, seed=None, options=None):
        if self.was_real_done or seed is not None:
            obs, info = self.env.reset(seed=seed, options=options)
        else:
            obs, _, terminated, truncated, info = self.env.step(0)
            if _ended(terminated, truncated):
                step_info = info
                obs, info = self.env.reset(options=options)
                info = _keep_episode_record(step_info, info)
        self.lives = self._ale_lives()
        return obs, info


class FireResetEnv(gym.Wrapper):
    """Port of baselines ``atari_wrappers.FireResetEnv``.

    For games that wait for FIRE: after a reset, plays action 1 (FIRE) then
    action 2, resetting again if either ends the episode.  gymnasium has no
    equivalent.  One deviation: if the second step ends the episode, the
    observation of the new reset is returned (baselines returned the terminal
    one).
    """

    def __init__(self, env):
        super().__init__(env)
        meanings = env.unwrapped.get_action_meanings()
        if len(meanings) < 3 or meanings[1] != "FIRE":
            raise ValueError(f"FireResetEnv needs action 1 to be FIRE and >= 3 actions, got {meanings}")

    def reset(self, *, seed=None, options=None):
        self.env.reset(seed=seed, options=options)
        obs = info = None
        for action in (1, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if _ended(terminated, truncated):
                step_info = info
                obs, info = self.env.reset(options=options)
                info = _keep_episode_record(step_info, info)
        return obs, info


# --------------------------------------------------------------------------- #
# Frame warping: cv2 if installed, otherwise the numpy port of the two cv2 calls
# --------------------------------------------------------------------------- #
class WarpFrame(gym.ObservationWrapper):
    """Port of baselines ``atari_wrappers.WarpFrame`` (without its
    ``dict_space_key`` option).

    Converts RGB frames to grayscale (optional) and resizes them to
    ``height x width`` with area interpolation; output is uint8
    ``(height, width, 1)`` (or ``(height, width, 3)`` in colour).

    Uses OpenCV when ``cv2`` can be imported, like baselines; otherwise
    :func:`rgb_to_gray` and :func:`resize_area`, numpy ports that reproduce
    OpenCV's results on Atari frames.  gymnasium's ``GrayscaleObservation`` +
    ``ResizeObservation`` are not used: the former weighs R, G, B with
    0.2125, 0.7154, 0.0721 and truncates, where OpenCV (hence baselines) uses
    0.299, 0.587, 0.114 and rounds; the latter requires OpenCV.
    """

    def __init__(self, env, width=84, height=84, grayscale=True):
        super().__init__(env)
        space = env.observation_space
        if not (isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3):
            raise ValueError(f"WarpFrame needs uint8 (H, W, C) image observations, got {space}")
        self._width = width
        self._height = height
        self._grayscale = grayscale
        channels = 1 if grayscale else 3
        self.observation_space = spaces.Box(low=0, high=255, shape=(height, width, channels), dtype=np.uint8)

    def observation(self, observation):
        frame = observation
        if cv2 is not None:
            if self._grayscale:
                frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            frame = cv2.resize(frame, (self._width, self._height), interpolation=cv2.INTER_AREA)
        else:
            if self._grayscale:
                frame = rgb_to_gray(frame)
            frame = resize_area(frame, self._width, self._height)
        if self._grayscale:
            frame = frame[:, :, None]
        return frame


class ScaledFloatFrame(gym.ObservationWrapper):
    """Port of baselines ``atari_wrappers.ScaledFloatFrame``: observations
    become float32 in [0, 1] (divided by 255).  Written out rather than with
    ``TransformObservation`` so that the observation space is kept in step."""

    def __init__(self, env):
        super().__init__(env)
        self.observation_space = spaces.Box(low=0.0, high=1.0, shape=env.observation_space.shape, dtype=np.float32)

    def observation(self, observation):
        return np.asarray(observation, dtype=np.float32) / 255.0


class ClipRewardEnv(TransformReward):
    """Port of baselines ``atari_wrappers.ClipRewardEnv``: the reward becomes
    its sign, in {-1, 0, +1}.

    Built on gymnasium's ``TransformReward`` with ``np.sign``, which is the
    same operation.  gymnasium's ``ClipReward(env, -1, 1)`` is *not* used: it
    clips (0.5 stays 0.5) instead of taking the sign.
    """

    def __init__(self, env):
        super().__init__(env, np.sign)


class FrameStack(gym.Wrapper):
    """Port of baselines ``atari_wrappers.FrameStack``: the observation is
    the last ``k`` frames concatenated on the last (channel) axis, e.g.
    ``(84, 84, 4)`` uint8; after a reset the first frame is repeated ``k``
    times (``pad='repeat'``, baselines' ``FrameStack``) or the stack is zeros
    but for the newest frame (``pad='zeros'``: what baselines' ``VecFrameStack``
    does at every done, which is how baselines' ``run.py`` stacked ACKTR's
    Atari frames; with SAME_STEP autoreset every done is a reset of this
    wrapper, so the two agree step for step).

    Baselines returned memory-saving ``LazyFrames``; a plain numpy array is
    returned here.  gymnasium's ``FrameStackObservation`` is not used: it
    stacks on a new leading axis (``(4, 84, 84, 1)``), not on the channels.
    """

    def __init__(self, env, k=4, pad="repeat"):
        super().__init__(env)
        if pad not in ("repeat", "zeros"):
            raise ValueError(f"pad must be 'repeat' or 'zeros', got {pad!r}")
        self.k = k
        self.pad = pad
        self.frames = deque([], maxlen=k)
        space = env.observation_space
        self.observation_space = spaces.Box(
            low=np.concatenate([space.low] * k, axis=-1),
            high=np.concatenate([space.high] * k, axis=-1),
            dtype=space.dtype,
        )

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        fill = obs if self.pad == "repeat" else np.zeros_like(obs)
        for _ in range(self.k - 1):
            self.frames.append(fill)
        self.frames.append(obs)
        return self._stacked(), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.frames.append(obs)
        return self._stacked(), reward, terminated, truncated, info

    def _stacked(self):
        return np.concatenate(list(self.frames), axis=-1)


# --------------------------------------------------------------------------- #
# Builders
# --------------------------------------------------------------------------- #
FRAME_CAPS = ("baselines", "ale")


def baselines_frame_cap(env_id):
    """The episode cap of gym's ``*NoFrameskip-v4`` registration that baselines ran on:
    100,000 agent steps of the game's standard frameskip, counted in frames (400,000;
    300,000 for Space Invaders, whose frameskip is 3)."""
    return 300_000 if env_id.startswith("SpaceInvaders") else 400_000


def make_atari(env_id, max_episode_steps=None, render_mode=None, frame_cap="baselines"):
    """Port of baselines ``atari_wrappers.make_atari``.

    ``gym.make(env_id)`` (ALE envs registered through ``ale_py``) capped at
    ``frame_cap`` frames, then ``NoopResetEnv(noop_max=30)`` and
    ``MaxAndSkipEnv(skip=4)``, then, if ``max_episode_steps`` is given,
    gymnasium's ``TimeLimit`` counting agent steps (identical to baselines'
    ``TimeLimit``, which marked the end as a truncation too).

    ``frame_cap``: ``'baselines'`` (default) reproduces gym's registration, a
    ``TimeLimit`` of :func:`baselines_frame_cap` frames on the raw env with no ALE
    limit; ``'ale'`` keeps ale-py's own (108,000 frames, 4× shorter); an int is a
    cap in frames.  Raises ValueError for an id without ``NoFrameskip``, an
    unregistered id or an unknown cap.
    """
    check_atari_id(env_id)
    if frame_cap == "ale":
        env = gym.make(env_id, render_mode=render_mode)
    else:
        if frame_cap == "baselines":
            frame_cap = baselines_frame_cap(env_id)
        if isinstance(frame_cap, bool) or not isinstance(frame_cap, int) or frame_cap < 1:
            raise ValueError(f"frame_cap must be 'baselines', 'ale' or a number of frames, "
                             f"got {frame_cap!r}")
        env = gym.make(env_id, render_mode=render_mode, max_num_frames_per_episode=0)
        env = TimeLimit(env, max_episode_steps=frame_cap)
    env = NoopResetEnv(env, noop_max=30)
    env = MaxAndSkipEnv(env, skip=4)
    if max_episode_steps is not None:
        env = TimeLimit(env, max_episode_steps=max_episode_steps)
    return env


def wrap_deepmind(env, episode_life=True, clip_rewards=True, frame_stack=False, scale=False,
                  frame_stack_pad="repeat"):
    """Port of baselines ``atari_wrappers.wrap_deepmind`` (DeepMind-style
    Atari): EpisodicLifeEnv, FireResetEnv if the game has a FIRE action,
    WarpFrame (84x84 gray), ScaledFloatFrame, ClipRewardEnv, FrameStack(4).

    Defaults as baselines (no stacking).  :func:`~.vec_env.make_atari_env` stacks with
    ``frame_stack_pad='zeros'``, reproducing the ``VecFrameStack(env, 4)`` that
    baselines' ``run.py`` put on ACKTR's Atari envs.
    """
    if episode_life:
        env = EpisodicLifeEnv(env)
    if "FIRE" in env.unwrapped.get_action_meanings():
        env = FireResetEnv(env)
    env = WarpFrame(env)
    if scale:
        env = ScaledFloatFrame(env)
    if clip_rewards:
        env = ClipRewardEnv(env)
    if frame_stack:
        env = FrameStack(env, 4, pad=frame_stack_pad)
    return env
