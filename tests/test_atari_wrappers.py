"""Tests of the DeepMind Atari wrappers, Monitor and vector env builder
(baselines_acktr/atari_wrappers.py), on real ALE games and tiny fake envs."""
import csv
import hashlib
import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from baselines_acktr.envs import Monitor, episode_infos, make_atari_env
from baselines_acktr.envs.atari_wrappers import (
    ClipRewardEnv,
    FireResetEnv,
    FrameStack,
    MaxAndSkipEnv,
    NoopResetEnv,
    WarpFrame,
    make_atari,
    resize_area,
    rgb_to_gray,
    wrap_deepmind,
)


# --------------------------------------------------------------------------- #
# Fake envs
# --------------------------------------------------------------------------- #
class ScriptedEnv(gym.Env):
    """Plays back a fixed list of frames / rewards; terminates after the last
    scripted step (or at ``terminate_at``, counted in raw steps)."""

    def __init__(self, frames, rewards=None, terminate_at=None):
        self.frames = [np.asarray(f, dtype=np.uint8) for f in frames]
        self.rewards = list(rewards) if rewards is not None else [0.0] * len(frames)
        self.terminate_at = terminate_at if terminate_at is not None else len(frames) - 1
        self.observation_space = spaces.Box(0, 255, self.frames[0].shape, np.uint8)
        self.action_space = spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.frames[0], {}

    def step(self, action):
        self.t += 1
        terminated = self.t >= self.terminate_at
        return self.frames[self.t], self.rewards[self.t], terminated, False, {"t": self.t}


class RewardEnv(gym.Env):
    """Emits the given rewards, one per step."""

    def __init__(self, rewards):
        self._rewards = list(rewards)
        self.observation_space = spaces.Box(0, 255, (1,), np.uint8)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        self.i = 0
        return np.zeros(1, np.uint8), {}

    def step(self, action):
        r = self._rewards[self.i]
        self.i += 1
        return np.zeros(1, np.uint8), r, self.i == len(self._rewards), False, {}


class StepRecorder(gym.Wrapper):
    """Records the raw (unclipped) reward of every step going through it."""

    def __init__(self, env):
        super().__init__(env)
        self.rewards = []

    def step(self, action):
        out = self.env.step(action)
        self.rewards.append(float(out[1]))
        return out


class ActionLogEnv(gym.Env):
    """Logs resets and actions; terminates when ``ends_at`` steps have been
    taken since the last reset."""

    def __init__(self, ends_at=10**9):
        self.observation_space = spaces.Box(0, 255, (1,), np.uint8)
        self.action_space = spaces.Discrete(4)
        self.ends_at = ends_at
        self.log = []

    def get_action_meanings(self):
        return ["NOOP", "FIRE", "RIGHT", "LEFT"]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.n = 0
        self.log.append("reset")
        return np.zeros(1, np.uint8), {}

    def step(self, action):
        self.n += 1
        self.log.append(int(action))
        return np.zeros(1, np.uint8), 0.0, self.n >= self.ends_at, False, {}


def test_noop_reset_plays_1_to_noop_max_noops_and_restarts_a_finished_game():
    counts = set()
    env = NoopResetEnv(ActionLogEnv(), noop_max=3)
    env.reset(seed=0)
    for _ in range(40):
        env.unwrapped.log.clear()
        env.reset()
        assert env.unwrapped.log[0] == "reset" and set(env.unwrapped.log[1:]) == {0}
        counts.add(len(env.unwrapped.log) - 1)
    assert counts == {1, 2, 3}
    env = NoopResetEnv(ActionLogEnv(ends_at=2), noop_max=30)
    env.override_num_noops = 5
    env.reset()
    assert env.unwrapped.log == ["reset", 0, 0, "reset", 0, 0, "reset", 0]


def test_fire_reset_plays_fire_then_action_2():
    env = FireResetEnv(ActionLogEnv())
    env.reset()
    assert env.unwrapped.log == ["reset", 1, 2]


# --------------------------------------------------------------------------- #
# MaxAndSkip, FrameStack, ClipReward, WarpFrame on fake data
# --------------------------------------------------------------------------- #
def test_max_and_skip_is_max_of_last_two_frames_and_sum_of_rewards():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(10, 4, 5, 3), dtype=np.uint8)
    rewards = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    env = MaxAndSkipEnv(ScriptedEnv(frames, rewards), skip=4)
    obs, _ = env.reset(seed=0)
    assert np.array_equal(obs, frames[0])

    obs, reward, terminated, truncated, info = env.step(0)  # raw steps 1..4
    expected = np.maximum(frames[3], frames[4])
    assert np.array_equal(obs, expected)
    assert not np.array_equal(obs, frames[4]) and not np.array_equal(obs, frames[3])
    assert reward == 1.0 + 2.0 + 3.0 + 4.0
    assert info["t"] == 4 and not terminated and not truncated

    obs, reward, *_ = env.step(0)  # raw steps 5..8
    assert np.array_equal(obs, np.maximum(frames[7], frames[8]))
    assert reward == 5.0 + 6.0 + 7.0 + 8.0


def test_max_and_skip_stops_on_termination_like_baselines():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, size=(10, 3, 3), dtype=np.uint8)
    env = MaxAndSkipEnv(ScriptedEnv(frames, np.arange(10.0), terminate_at=6), skip=4)
    env.reset()
    env.step(0)  # raw 1..4
    obs, reward, terminated, _, info = env.step(0)  # raw 5, 6 -> terminated
    assert terminated and info["t"] == 6
    assert reward == 5.0 + 6.0
    # baselines keeps the two-frame buffer across steps: an early end returns
    # the max of the frames buffered by the previous step
    assert np.array_equal(obs, np.maximum(frames[3], frames[4]))


def test_frame_stack_repeats_first_frame_after_reset_then_rolls():
    frames = [np.full((2, 3, 1), v, np.uint8) for v in (10, 20, 30, 40, 50, 60)]
    env = FrameStack(ScriptedEnv(frames), k=4)
    assert env.observation_space.shape == (2, 3, 4)
    obs, _ = env.reset()
    assert obs.shape == (2, 3, 4) and obs.dtype == np.uint8
    assert [int(obs[0, 0, c]) for c in range(4)] == [10, 10, 10, 10]
    env.step(0)
    obs, *_ = env.step(0)
    assert [int(obs[0, 0, c]) for c in range(4)] == [10, 10, 20, 30]
    obs, *_ = env.step(0)
    obs, *_ = env.step(0)
    assert [int(obs[1, 2, c]) for c in range(4)] == [20, 30, 40, 50]
    obs, _ = env.reset()  # a new episode starts from a fresh stack
    assert [int(obs[0, 0, c]) for c in range(4)] == [10, 10, 10, 10]


def test_frame_stack_zero_padding_matches_vec_frame_stack():
    """pad='zeros' is baselines' VecFrameStack: zeros but the newest frame after a reset."""
    frames = [np.full((2, 3, 1), v, np.uint8) for v in (10, 20, 30, 40, 50, 60)]
    env = FrameStack(ScriptedEnv(frames), k=4, pad="zeros")
    obs, _ = env.reset()
    assert [int(obs[0, 0, c]) for c in range(4)] == [0, 0, 0, 10]
    obs, *_ = env.step(0)
    assert [int(obs[0, 0, c]) for c in range(4)] == [0, 0, 10, 20]
    obs, _ = env.reset()
    assert [int(obs[0, 0, c]) for c in range(4)] == [0, 0, 0, 10]
    with pytest.raises(ValueError, match="pad"):
        FrameStack(ScriptedEnv(frames), k=4, pad="edge")


def test_clip_reward_takes_the_sign():
    env = ClipRewardEnv(RewardEnv([3.5, -0.2, 0.0, 7.0, 0.5]))
    env.reset()
    got = [env.step(0)[1] for _ in range(5)]
    assert got == [1.0, -1.0, 0.0, 1.0, 1.0]


def test_rgb_to_gray_matches_opencv_values():
    # values produced by cv2.cvtColor(..., COLOR_RGB2GRAY) (OpenCV 4.12)
    cases = {(255, 0, 0): 76, (0, 255, 0): 150, (0, 0, 255): 29, (100, 0, 0): 30, (0, 100, 0): 59,
             (0, 0, 100): 11, (0, 3, 0): 2, (3, 0, 0): 1, (255, 255, 255): 255, (0, 0, 0): 0,
             # pixels where 14-bit fixed point (OpenCV 3) or float rounding give another value
             (227, 146, 166): 172, (12, 145, 7): 90, (208, 73, 4): 106, (150, 35, 229): 91}
    pixels = np.array([[list(k) for k in cases]], dtype=np.uint8)
    assert rgb_to_gray(pixels)[0].tolist() == list(cases.values())


def test_resize_area_weights():
    row = np.array([[10, 20, 30, 40, 50]], dtype=np.uint8)
    # 5 -> 2 samples: each output averages 2.5 inputs, the middle one split in half
    assert resize_area(row, 2, 1).tolist() == [[18, 42]]
    # exact integer factors, ties as OpenCV 4.12 rounds them: 2x2 blocks half
    # up, larger blocks half to even (both blocks below have mean 2.5)
    block2 = np.tile(np.array([[2, 3], [2, 3]], np.uint8), (2, 2))
    assert resize_area(block2, 2, 2).tolist() == [[3, 3], [3, 3]]
    block10 = np.zeros((20, 20), np.uint8)
    block10[:10, :10] = np.tile([[2, 3]], (10, 5))
    block10[:10, 10:] = np.tile([[1, 2]], (10, 5))
    assert resize_area(block10, 2, 2).tolist() == [[2, 2], [0, 0]]
    flat = np.full((210, 160), 77, np.uint8)
    assert np.all(resize_area(flat, 84, 84) == 77)
    with pytest.raises(ValueError):
        resize_area(flat, 320, 84)


def test_warp_frame_matches_opencv_on_a_synthetic_frame():
    i, j, c = np.meshgrid(np.arange(210), np.arange(160), np.arange(3), indexing="ij")
    frame = ((3 * i * i + 7 * j + 50 * c + (i * j) % 17) % 256).astype(np.uint8)
    env = WarpFrame(ScriptedEnv([frame, frame]))
    assert env.observation_space.shape == (84, 84, 1)
    obs, _ = env.reset()
    assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8
    # digest of cv2.resize(cv2.cvtColor(frame, RGB2GRAY), (84, 84), INTER_AREA), OpenCV 4.12
    digest = hashlib.sha256(np.ascontiguousarray(obs[:, :, 0]).tobytes()).hexdigest()
    assert digest == "29ed3321a0bf6297bbe279814c8be32eecfb277c91ad6ee0e28430cae92a002f"
    assert obs[0, :6, 0].tolist() == [48, 63, 78, 93, 107, 119]


# --------------------------------------------------------------------------- #
# Real games
# --------------------------------------------------------------------------- #
def test_pong_deepmind_observations_and_clipped_rewards():
    env = wrap_deepmind(Monitor(make_atari("PongNoFrameskip-v4")), frame_stack=True)
    env.action_space.seed(0)
    assert env.observation_space.shape == (84, 84, 4)
    assert env.observation_space.dtype == np.uint8
    obs, _ = env.reset(seed=0)
    assert obs.shape == (84, 84, 4) and obs.dtype == np.uint8
    assert all(np.array_equal(obs[..., c], obs[..., 0]) for c in range(4))
    assert obs.std() > 0  # a real picture, not a blank frame
    rewards = set()
    for _ in range(250):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert obs.shape == (84, 84, 4) and obs.dtype == np.uint8
        rewards.add(float(reward))
        if terminated or truncated:
            obs, _ = env.reset()
    assert rewards <= {-1.0, 0.0, 1.0}
    assert -1.0 in rewards  # the opponent scores against random play
    env.close()


def test_breakout_episodic_life_and_monitor_covers_the_whole_game():
    monitor = Monitor(make_atari("BreakoutNoFrameskip-v4"))
    recorder = StepRecorder(monitor)
    env = wrap_deepmind(recorder, frame_stack=True)
    env.action_space.seed(1)
    assert "FIRE" in env.unwrapped.get_action_meanings()
    obs, _ = env.reset(seed=1)
    assert obs.shape == (84, 84, 4)

    life_lengths, steps, clipped, game_record = [], 0, [], None
    for _ in range(5000):
        before = len(recorder.rewards)
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert len(recorder.rewards) == before + 1
        assert reward == np.sign(recorder.rewards[-1])  # clipped = sign(raw)
        clipped.append(reward)
        steps += 1
        if terminated or truncated:
            life_lengths.append(steps)
            steps = 0
            if "episode" in info:
                game_record = info["episode"]
                break
            assert env.unwrapped.ale.lives() > 0
            env.reset()  # continues the same game (no-op step + FIRE reset)
    assert game_record is not None, "the game did not end"

    assert len(life_lengths) == 5  # Breakout has 5 lives: each loss ended an episode
    assert env.unwrapped.ale.lives() == 0
    # the Monitor counts every step of the game: the agent's steps in all
    # lives plus those taken inside resets: 2 for the first FIRE reset, then
    # 1 no-op + 2 FIRE-reset steps after each of the 4 life losses
    assert game_record["l"] == sum(life_lengths) + 2 + 4 * 3
    assert game_record["l"] == len(recorder.rewards)
    assert game_record["r"] == pytest.approx(sum(recorder.rewards))  # unclipped
    assert monitor.get_episode_lengths() == [game_record["l"]]
    assert set(clipped) <= {-1.0, 0.0, 1.0}
    env.close()


def test_make_atari_rejects_bad_ids():
    with pytest.raises(ValueError, match="NoFrameskip") as err:
        make_atari("PongDeterministic-v4")
    assert "PongDeterministic-v4" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="NoFrameskip"):
        make_atari("ALE/Pong-v5")
    with pytest.raises(ValueError, match="unknown environment id") as err:
        make_atari("NotAGameNoFrameskip-v4")
    assert "NotAGameNoFrameskip-v4" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="unknown environment id"):
        make_atari("PongNoFrameskip-v9")
    with pytest.raises(ValueError, match="unknown environment id"):
        make_atari_env("NotAGameNoFrameskip-v4", 2, seed=0, vec="sync")
    with pytest.raises(ValueError, match="vec"):
        make_atari_env("PongNoFrameskip-v4", 2, seed=0, vec="threads")


# --------------------------------------------------------------------------- #
# Vector env
# --------------------------------------------------------------------------- #
def test_make_atari_env_sync_seeds_monitors_and_episode_infos(tmp_path):
    envs = make_atari_env("PongNoFrameskip-v4", 2, seed=7, start_index=1, monitor_dir=str(tmp_path),
                          vec="sync", max_episode_steps=20)
    try:
        assert isinstance(envs, gym.vector.SyncVectorEnv)
        assert envs.autoreset_mode == gym.vector.AutoresetMode.SAME_STEP
        obs, _ = envs.reset()
        assert obs.shape == (2, 84, 84, 4) and obs.dtype == np.uint8
        # rank r = start_index + i is seeded with seed + r on its first reset
        assert [e.unwrapped.np_random_seed for e in envs.envs] == [8, 9]

        ended_at = None
        for t in range(1, 30):
            obs, reward, terminated, truncated, infos = envs.step(envs.action_space.sample())
            assert obs.shape == (2, 84, 84, 4)
            records = episode_infos(infos)
            if truncated.any() or terminated.any():
                ended_at = t
                break
            assert records == []
        # TimeLimit(20) counts the 2 FIRE-reset steps too: the agent sees 18
        assert ended_at == 18 and truncated.all()
        assert len(records) == 2
        assert [rec["l"] for rec in records] == [20, 20]
        assert all(set(rec) == {"r", "l", "t"} for rec in records)
        # SAME_STEP: the gymnasium layout puts the ending step's info in final_info
        assert infos["_final_info"].all()
        assert infos["final_info"]["_episode"].all()
        # ... and the returned observation already starts the next episode, stacked as
        # baselines' VecFrameStack does after a done: zeros, then the newest frame
        for k in range(2):
            assert not obs[k][..., :3].any() and obs[k][..., 3].any()
            assert infos["final_obs"][k].shape == (84, 84, 4)

        # monitor files, written and flushed as each episode ends
        for rank, rec in zip((1, 2), records):
            lines = (tmp_path / f"{rank}.monitor.csv").read_text().splitlines()
            assert lines[0].startswith("#")
            header = json.loads(lines[0][1:])
            assert header["env_id"] == "PongNoFrameskip-v4" and header["t_start"] > 0
            rows = list(csv.DictReader(lines[1:]))
            assert len(rows) == 1
            assert int(rows[0]["l"]) == 20 and float(rows[0]["r"]) == rec["r"]
    finally:
        envs.close()


def test_episode_infos_other_layouts():
    rec = {"r": 3.0, "l": 10, "t": 1.5}
    # NEXT_STEP / DISABLED vector layout: the record is at the top level
    vec = {"episode": {"r": np.array([0.0, 3.0]), "l": np.array([0, 10]), "t": np.array([0.0, 1.5]),
                       "_r": np.array([False, True]), "_l": np.array([False, True]),
                       "_t": np.array([False, True])},
           "_episode": np.array([False, True])}
    assert episode_infos(vec) == [rec]
    assert episode_infos([{}, {"episode": rec}]) == [rec]  # baselines' list of infos
    assert episode_infos({"episode": rec}) == [rec]
    assert episode_infos({"lives": np.array([1, 2]), "_lives": np.array([True, True])}) == []


def test_make_atari_env_async_in_subprocesses():
    envs = make_atari_env("PongNoFrameskip-v4", 2, seed=0, max_episode_steps=5)
    try:
        assert isinstance(envs, gym.vector.AsyncVectorEnv)
        obs, _ = envs.reset()
        assert obs.shape == (2, 84, 84, 4) and obs.dtype == np.uint8
        found = []
        for _ in range(3):  # 5 steps, 2 of them taken by the FIRE reset
            obs, _, terminated, truncated, infos = envs.step(envs.action_space.sample())
            found.extend(episode_infos(infos))
        assert truncated.all()
        assert [rec["l"] for rec in found] == [5, 5]
    finally:
        envs.close()


def _frame_cap_layers(env):
    """(the TimeLimit under NoopResetEnv, in frames, or None; ALE's own frame limit)."""
    cap, below_noop = None, False
    while hasattr(env, "env"):
        if below_noop and isinstance(env, gym.wrappers.TimeLimit):
            cap = env._max_episode_steps
        below_noop = below_noop or isinstance(env, NoopResetEnv)
        env = env.env
    return cap, env.unwrapped.ale.getInt("max_num_frames_per_episode")


def test_episode_cap_is_gyms_400k_frames_as_baselines_ran_on():
    for env_id, frames in (("PongNoFrameskip-v4", 400_000), ("SpaceInvadersNoFrameskip-v4", 300_000)):
        env = make_atari(env_id)
        assert _frame_cap_layers(env) == (frames, 0)  # gym's TimeLimit, no ALE limit
        env.close()
    env = make_atari("PongNoFrameskip-v4", frame_cap="ale")
    assert _frame_cap_layers(env) == (None, 108_000)  # ale-py's registration, kept on request
    env.close()
    with pytest.raises(ValueError, match="frame_cap"):
        make_atari("PongNoFrameskip-v4", frame_cap="forever")


def test_a_capped_game_ends_truncated_and_the_monitor_records_it():
    env = Monitor(make_atari("PongNoFrameskip-v4", frame_cap=200))  # 200 frames
    env.reset(seed=0)
    steps, truncated, info = 0, False, {}
    while not truncated:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        assert not terminated
    # frames: up to 30 no-ops at reset, then 4 per agent step
    assert 200 // 4 - 30 // 4 - 1 <= steps <= 200 // 4 and info["episode"]["l"] == steps
    env.close()
