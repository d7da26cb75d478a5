"""Users' envs for tests/test_env_check.py: one well-formed, the others broken as custom envs
are.  Importing the module registers them, so a run script finds them by the id
``custom_envs:<Name>-v0`` when ``tests/`` is on the path (PYTHONPATH for a subprocess).
"""
import gymnasium as gym
import numpy as np


class Good(gym.Env):
    """Steer a point towards 0: obs its position and velocity (1-D Box), action a force."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-1, 1, 3).astype(np.float32)
        return self.x.copy(), {}

    def step(self, action):
        a = np.clip(np.asarray(action, np.float32), -1, 1)
        self.x = (self.x + 0.1 * np.concatenate([a, a[:1]])).astype(np.float32)
        reward = -float(np.square(self.x).sum())
        return self.x.copy(), reward, bool(np.abs(self.x).max() > 5), False, {}


class OutOfSpace(Good):
    """Declares observations in [-1, 1] and returns 5s."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.full(3, 5.0, np.float32), {}


class NoSeed(Good):
    """``reset`` takes no seed (the gym < 0.26 API)."""

    def reset(self):
        self.x = np.zeros(3, np.float32)
        return self.x.copy(), {}


class NanReward(Good):
    """A NaN reward from the 10th step of an episode on (a division by a zero distance)."""

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        self.t += 1
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, (float("nan") if self.t >= 10 else reward), terminated, truncated, info


class DictObs(Good):
    """A Dict observation (ACKTR takes Box, Discrete or 1-D MultiDiscrete ones)."""

    observation_space = gym.spaces.Dict({"x": Good.observation_space})

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return {"x": obs}, info

    def step(self, action):
        obs, *rest = super().step(action)
        return {"x": obs}, *rest


class HugeReward(Good):
    """Rewards in the millions (a cost in the wrong units)."""

    def step(self, action):
        obs, reward, *rest = super().step(action)
        return obs, 1e6 * reward - 1e6, *rest


for _cls in (Good, OutOfSpace, NoSeed, NanReward, DictObs, HugeReward):
    gym.register(f"{_cls.__name__}-v0", entry_point=_cls, max_episode_steps=50)
