"""Episode records; ports baselines ``bench/monitor.py`` (``Monitor`` with its ``ResultsWriter``)."""
import csv
import json
import os
import time

import gymnasium as gym


def _ended(terminated, truncated):
    return bool(terminated) or bool(truncated)


class ResultsWriter:
    """baselines' ``bench.monitor.ResultsWriter``: a ``monitor.csv`` file whose first line is
    ``# {"t_start": ..., "env_id": ...}``, then the header ``r,l,t`` and one row per
    episode, flushed at once."""

    def __init__(self, path, t_start, env_id):
        self._file = open(path, "w")
        self._file.write("# {} \n".format(json.dumps({"t_start": t_start, "env_id": env_id})))
        self._writer = csv.DictWriter(self._file, fieldnames=("r", "l", "t"))
        self._writer.writeheader()
        self._file.flush()

    def write_row(self, record):
        self._writer.writerow(record)
        self._file.flush()

    def close(self):
        self._file.close()


class Monitor(gym.Wrapper):
    """Port of baselines ``bench.monitor.Monitor`` (with its ``ResultsWriter``).

    Records each episode of the env it wraps: return ``r`` (sum of the
    rewards it sees, rounded to 6 decimals), length ``l`` (steps) and ``t``
    (seconds since this Monitor was created).  On the step that ends an
    episode (terminated or truncated) ``info['episode'] = {'r', 'l', 't'}``.

    With ``filename`` the records are also written in baselines' monitor
    format: the path gets ``.monitor.csv`` appended unless it already ends with
    ``monitor.csv`` (a directory gets ``monitor.csv`` inside), the first line
    is ``# {"t_start": ..., "env_id": ...}``, then a csv header ``r,l,t`` and
    one row per episode, flushed at once.

    Put it directly on the env returned by :func:`~.atari_wrappers.make_atari` (as baselines'
    ``make_env``) so that it records whole games with unclipped rewards.
    Resetting before the episode ends is allowed (the unfinished episode is
    dropped), as ``make_env``'s ``allow_early_resets=True``; stepping after the
    end without a reset raises ``RuntimeError``.

    gymnasium's ``RecordEpisodeStatistics`` is not used: its ``t`` is the
    duration of the episode, not the time since creation, and it writes no
    file.
    """

    EXT = "monitor.csv"

    def __init__(self, env, filename=None):
        super().__init__(env)
        self.tstart = time.time()
        self._writer = None
        if filename:
            path = str(filename)
            if not path.endswith(self.EXT):
                path = os.path.join(path, self.EXT) if os.path.isdir(path) else path + "." + self.EXT
            self.filename = path
            self._writer = ResultsWriter(path, self.tstart, env.spec.id if env.spec is not None else None)
        else:
            self.filename = None
        self.rewards = []
        self.needs_reset = True
        self.episode_rewards = []
        self.episode_lengths = []
        self.episode_times = []
        self.total_steps = 0

    def reset(self, *, seed=None, options=None):
        self.rewards = []
        self.needs_reset = False
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        if self.needs_reset:
            raise RuntimeError("Monitor: step() called on an episode that has ended; call reset() first")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.rewards.append(float(reward))
        self.total_steps += 1
        if _ended(terminated, truncated):
            self.needs_reset = True
            ep_return = sum(self.rewards)
            ep_length = len(self.rewards)
            elapsed = time.time() - self.tstart
            record = {"r": round(ep_return, 6), "l": ep_length, "t": round(elapsed, 6)}
            self.episode_rewards.append(ep_return)
            self.episode_lengths.append(ep_length)
            self.episode_times.append(elapsed)
            if self._writer is not None:
                self._writer.write_row(record)
            info = dict(info)
            info["episode"] = record
        return obs, reward, terminated, truncated, info

    def close(self):
        super().close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_total_steps(self):
        return self.total_steps

    def get_episode_rewards(self):
        return self.episode_rewards

    def get_episode_lengths(self):
        return self.episode_lengths

    def get_episode_times(self):
        return self.episode_times
