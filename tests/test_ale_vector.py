"""The opt-in ``ale_vector`` Atari backend (ale-py's C++ AtariVectorEnv): baselines'
observation, reward, done and Monitor semantics, and games that agree in distribution
with the default backend's under the same random policy."""
import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from baselines_acktr.envs import episode_infos, make_ale_vector_env, make_atari_env
from baselines_acktr.envs.ale_vector import ale_game

ROOT = Path(__file__).resolve().parents[1]


def _load_benchmark(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_game_names():
    assert ale_game("PongNoFrameskip-v4") == "pong"
    assert ale_game("BeamRiderNoFrameskip-v4") == "beam_rider"
    with pytest.raises(ValueError, match="NoFrameskip"):
        ale_game("Pong-v5")


def test_stack_zeroed_at_every_done_clipped_rewards_and_whole_game_monitor(tmp_path):
    env = make_ale_vector_env("BreakoutNoFrameskip-v4", 4, seed=0, monitor_dir=str(tmp_path))
    obs, _ = env.reset()
    assert obs.shape == (4, 84, 84, 4) and obs.dtype == np.uint8
    assert not obs[..., :3].any() and obs[..., 3].any()  # zero padding, as VecFrameStack
    rng = np.random.default_rng(0)
    life_dones = games = 0
    clipped, returns = set(), []
    steps = np.zeros(4, int)
    while games < 4:
        obs, reward, terminated, truncated, infos = env.step(rng.integers(0, 4, 4))
        steps += 1
        clipped |= set(np.unique(reward).tolist())
        done = terminated | truncated
        for i in np.flatnonzero(done):
            assert not obs[i, ..., :3].any() and obs[i, ..., 3].any()  # a fresh stack
        ended = np.flatnonzero(infos.get("_episode", np.zeros(4, bool)))
        assert [r["r"] for r in episode_infos(infos)] == [infos["episode"]["r"][i] for i in ended]
        for i in ended:
            returns.append(infos["episode"]["r"][i])
            assert infos["episode"]["l"][i] == steps[i]  # agent steps of the whole game
            steps[i] = 0
            games += 1
        assert set(ended) <= set(np.flatnonzero(done))
        life_dones += int(done.sum()) - len(ended)
    env.close()
    assert clipped <= {-1.0, 0.0, 1.0}
    # Breakout has 5 lives: a done at every lost life, one Monitor record per whole game
    assert life_dones >= 4 * games - 4
    rows = []
    for f in sorted(tmp_path.glob("*.monitor.csv")):
        lines = f.read_text().splitlines()
        assert json.loads(lines[0][1:])["env_id"] == "BreakoutNoFrameskip-v4"
        rows += list(csv.DictReader(lines[1:]))
    assert len(rows) == games and sorted(float(r["r"]) for r in rows) == sorted(returns)
    assert max(returns) >= 1  # unclipped whole-game scores (random play hits a few bricks)


def test_frame_cap_truncates_the_game():
    env = make_ale_vector_env("PongNoFrameskip-v4", 2, seed=0, frame_cap=2000)
    env.reset()
    t, truncated = 0, np.zeros(2, bool)
    while not truncated.any() and t < 600:
        _, _, terminated, truncated, infos = env.step(np.zeros(2, np.int64))
        t += 1
    env.close()
    assert truncated.all() and not terminated.any()
    assert 480 <= t <= 500  # 2000 raw frames = 500 agent steps, less ALE's reset frames
    with pytest.raises(ValueError, match="frame_cap"):
        make_ale_vector_env("PongNoFrameskip-v4", 1, 0, frame_cap="forever")


@pytest.mark.slow
@pytest.mark.parametrize("env_id,n_games", [("PongNoFrameskip-v4", 16),
                                            ("BreakoutNoFrameskip-v4", 32)])
def test_random_play_agrees_with_the_default_backend(env_id, n_games):
    """Whole-game returns and lengths under a uniform random policy: Welch's t below 3
    (p > 0.003) between the backends, seeds fixed (``benchmarks/backend_agreement.py``,
    whose 64-game numbers docs/differences_from_baselines.md quotes)."""
    agreement = _load_benchmark("backend_agreement")
    ale = agreement.random_games(make_ale_vector_env(env_id, 16, seed=0), n_games, 1)
    gym = agreement.random_games(make_atari_env(env_id, 8, seed=0, vec="sync"), n_games, 1)
    for name, a, b in zip(("return", "length"), ale, gym):
        t = agreement.welch_t(a, b)
        print(f"{env_id} {name}: ale_vector {a.mean():.2f} ± {a.std():.2f}, "
              f"gym {b.mean():.2f} ± {b.std():.2f}, t = {t:.2f}")
        assert abs(t) < 3, (name, t)


@pytest.mark.slow
def test_run_atari_trains_on_ale_vector_and_records_the_backend(tmp_path):
    log = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run_atari.py"), "--env_backend", "ale_vector", "--num_env", "4",
         "--num_timesteps", "800", "--log_interval", "5", "--log_path", str(log)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((log / "config.json").read_text())["env_backend"] == "ale_vector"
    rows = list(csv.DictReader(open(log / "progress.csv")))
    assert [int(r["nupdates"]) for r in rows] == [1, 5, 10]
    assert sorted(p.name for p in (log / "monitor").iterdir()) == [f"{i}.monitor.csv" for i in range(4)]
