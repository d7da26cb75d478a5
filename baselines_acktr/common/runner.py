"""n-step experience collection; ports baselines ``a2c/runner.py`` (``Runner``).

Works on a gymnasium vector env created with
``autoreset_mode=AutoresetMode.SAME_STEP`` (baselines' VecEnv semantics: the
observation returned on a done step is already the next episode's first).
"""
from __future__ import annotations

import numpy as np

from ..envs.vec_env import episode_infos
from .math_util import discount_with_dones


class Runner:
    """Collects ``nsteps`` steps from each of ``env.num_envs`` envs per call.

    Returns, as baselines, ``(obs, states, returns, masks, actions, values,
    epinfos)`` flattened env-major (``[nenv·nsteps, ...]``); ``returns`` are the
    discounted n-step returns, bootstrapped with the value of the last
    observation unless the env's last step ended an episode.  ``done`` is
    ``terminated or truncated``, as baselines' single ``done`` flag.
    """

    def __init__(self, env, model, nsteps: int = 5, gamma: float = 0.99, seed: int | None = None):
        self.env, self.model = env, model
        self.nsteps, self.gamma = int(nsteps), gamma
        self.nenv = env.num_envs
        self.obs, _ = env.reset(seed=seed)
        self.states = model.initial_state
        self.dones = np.zeros(self.nenv, dtype=bool)
        self.ob_dtype = model.policy.obs_dtype.as_numpy_dtype
        self.batch_ob_shape = (self.nenv * self.nsteps, *model.policy.obs_shape)

    def run(self):
        mb_obs, mb_rewards, mb_actions, mb_values, mb_dones = [], [], [], [], []
        mb_states = self.states
        epinfos = []
        for _ in range(self.nsteps):
            actions, values, states, _ = self.model.step(self.obs, S=self.states, M=self.dones)
            mb_obs.append(np.copy(self.obs))
            mb_actions.append(actions)
            mb_values.append(values)
            mb_dones.append(self.dones)
            obs, rewards, terminated, truncated, infos = self.env.step(actions)
            epinfos.extend(episode_infos(infos))
            self.states = states
            self.dones = np.logical_or(terminated, truncated)
            self.obs = obs
            mb_rewards.append(rewards)
        mb_dones.append(self.dones)

        mb_obs = np.asarray(mb_obs, dtype=self.ob_dtype).swapaxes(1, 0).reshape(self.batch_ob_shape)
        mb_rewards = np.asarray(mb_rewards, dtype=np.float32).swapaxes(1, 0)
        mb_actions = np.asarray(mb_actions).swapaxes(1, 0)
        mb_values = np.asarray(mb_values, dtype=np.float32).swapaxes(1, 0)
        mb_dones = np.asarray(mb_dones, dtype=bool).swapaxes(1, 0)
        mb_masks = mb_dones[:, :-1]
        mb_dones = mb_dones[:, 1:]

        if self.gamma > 0.0:
            last_values = self.model.value(self.obs, S=self.states, M=self.dones).tolist()
            for n, (rewards, dones, value) in enumerate(zip(mb_rewards, mb_dones, last_values)):
                rewards, dones = rewards.tolist(), dones.tolist()
                if dones[-1] == 0:
                    rewards = discount_with_dones(rewards + [value], dones + [0], self.gamma)[:-1]
                else:
                    rewards = discount_with_dones(rewards, dones, self.gamma)
                mb_rewards[n] = rewards

        mb_actions = mb_actions.reshape((self.nenv * self.nsteps, *mb_actions.shape[2:]))
        return (mb_obs, mb_states, mb_rewards.flatten(), mb_masks.flatten(), mb_actions,
                mb_values.flatten(), epinfos)
