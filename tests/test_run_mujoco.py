"""run_mujoco.py (master variant) and baselines' VecNormalize."""
import csv
import glob
import shutil
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from baselines_acktr.envs import vector_env
from baselines_acktr.envs.vec_normalize import RunningMeanStd, VecNormalize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import run_mujoco  # noqa: E402


class RampEnv(gym.Env):
    """obs = [t, -2t], reward = 10·t, episode of 3 steps."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.array([0.0, 0.0]), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t, -2.0 * self.t]), 10.0 * self.t, self.t >= 3, False, {}


def test_running_mean_std_matches_numpy():
    rng = np.random.default_rng(0)
    rms = RunningMeanStd((3,), epsilon=1e-4)
    chunks = [rng.normal(2.0, 3.0, size=(n, 3)) for n in (5, 1, 17, 40)]
    for c in chunks:
        rms.update(c)
    allx = np.concatenate(chunks)
    np.testing.assert_allclose(rms.mean, allx.mean(0), rtol=1e-4)
    np.testing.assert_allclose(rms.var, allx.var(0), rtol=1e-4)
    assert rms.count == pytest.approx(len(allx) + 1e-4)


def test_vec_normalize_follows_baselines():
    """Replays baselines' VecNormalize arithmetic step by step (one env, gamma 0.9)."""
    env = VecNormalize(vector_env([RampEnv], "sync"), gamma=0.9, clipob=1.5, cliprew=10.0)
    ob_rms, ret_rms, ret = RunningMeanStd((2,)), RunningMeanStd(()), np.zeros(1)

    def obfilt(o):
        ob_rms.update(o)
        return np.clip((o - ob_rms.mean) / np.sqrt(ob_rms.var + 1e-8), -1.5, 1.5)

    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs, obfilt(np.zeros((1, 2))), rtol=1e-5)
    raw = RampEnv()
    raw.reset()
    for _ in range(7):  # crosses two episode ends
        o, r, term, trunc, _ = raw.step(None)
        if term:
            o, _ = raw.reset()  # SAME_STEP: the returned obs starts the next episode
        obs, rew, t2, _, _ = env.step(np.zeros((1, 1), np.float32))
        ret = ret * 0.9 + r
        want_obs = obfilt(o[None])
        ret_rms.update(ret)
        want_rew = np.clip(r / np.sqrt(ret_rms.var + 1e-8), -10, 10)
        if term:
            ret[:] = 0.0  # zeroed after the statistics saw it
        assert t2[0] == term
        np.testing.assert_allclose(obs, want_obs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rew, [want_rew], rtol=1e-5)
    assert np.abs(obs).max() <= 1.5
    frozen = VecNormalize(vector_env([RampEnv], "sync"), training=False,
                          ob_rms=env.ob_rms, ret_rms=env.ret_rms)
    count = frozen.ob_rms.count
    frozen.reset(seed=0)
    frozen.step(np.zeros((1, 1), np.float32))
    assert frozen.ob_rms.count == count


def test_box_actions_are_clipped_as_baselines_make_env():
    from baselines_acktr.envs import ClipActions, make_vec_env

    seen = []

    class Recording(RampEnv):
        def step(self, action):
            seen.append(np.array(action))
            return super().step(action)

    env = ClipActions(Recording())
    env.reset()
    for a in ([3.0], [-0.25], [np.nan], [-np.inf]):
        env.step(np.array(a, np.float32))
    np.testing.assert_array_equal(np.concatenate(seen), [1.0, -0.25, 0.0, -1.0])
    vec = make_vec_env("Hopper-v5", 1, seed=0)
    try:
        layer, chain = vec.envs[0], []
        while hasattr(layer, "env"):
            chain.append(type(layer).__name__)
            layer = layer.env
        assert "ClipActions" in chain and chain.index("ClipActions") < chain.index("Monitor")
    finally:
        vec.close()


@pytest.fixture(scope="module")
def hopper_run(tmp_path_factory):
    log = tmp_path_factory.mktemp("hopper")
    assert run_mujoco.main(["--num_timesteps", "5000", "--log_path", str(log)]) == 0
    return log


@pytest.mark.slow
def test_master_variant_run_logs_and_checkpoints(hopper_run):
    rows = list(csv.DictReader(open(hopper_run / "progress.csv")))
    assert [int(r["total_timesteps"]) for r in rows] == [2500, 5000]
    assert float(rows[-1]["eplenmean"]) > 0
    monitor = glob.glob(str(hopper_run / "monitor" / "*.monitor.csv"))
    assert len(monitor) == 1 and len(open(monitor[0]).readlines()) > 10
    assert (hopper_run / "checkpoints" / "latest").read_text().strip() == "checkpoint00002"


def test_a_fresh_run_in_a_used_folder_starts_its_progress_anew(tmp_path):
    # an earlier attempt's rows (a sweep retries a trial that failed before its first
    # checkpoint in the same folder) must not come before the new run's own
    run = tmp_path / "run"
    run.mkdir()
    (run / "progress.csv").write_text("total_timesteps,eprewmean\n2500,1.0\n5000,2.0\n")
    assert run_mujoco.main(["--num_timesteps", "2500", "--log_path", str(run), "--is_async",
                            "false", "--no_env_check"]) == 0
    rows = list(csv.DictReader(open(run / "progress.csv")))
    assert [int(r["total_timesteps"]) for r in rows] == [2500]
    assert rows[0]["eprewmean"] not in ("1.0", "")


@pytest.mark.slow
def test_master_variant_resume_restores_normalisation(hopper_run, tmp_path):
    from baselines_acktr.common.checkpoints import Checkpointer

    hopper_run = Path(shutil.copytree(hopper_run, tmp_path / "run"))  # the shared run stays

    ob_rms = RunningMeanStd((11,), name="ob_rms")
    Checkpointer(None, {"ob_rms": ob_rms}, {}).restore(str(hopper_run / "checkpoints"))
    # 5000 observations seen (plus the first resets)
    assert ob_rms.count > 5000 and np.all(ob_rms.var > 0)
    assert run_mujoco.main(["--num_timesteps", "7500", "--log_path", str(hopper_run),
                            "--load_path", str(hopper_run / "checkpoints")]) == 0
    rows = list(csv.DictReader(open(hopper_run / "progress.csv")))
    assert [int(r["total_timesteps"]) for r in rows] == [2500, 5000, 7500]


@pytest.mark.slow
def test_master_variant_eval(hopper_run, tmp_path, capsys):
    assert run_mujoco.main(["--eval", "2", "--deterministic", "--load_path",
                            str(hopper_run / "checkpoints"), "--log_path", str(tmp_path)]) == 0
    assert "eval: 2 episodes (deterministic), return" in capsys.readouterr().out
    games = list(csv.DictReader(open(tmp_path / "eval.csv")))
    assert len(games) == 2 and all(g["deterministic"] == "1" and int(g["l"]) > 0 for g in games)


@pytest.mark.slow
def test_master_variant_play(hopper_run, capsys):
    gif = hopper_run / "play.gif"
    assert run_mujoco.main(["--play", "--load_path", str(hopper_run / "checkpoints"),
                            "--log_path", str(hopper_run), "--video", str(gif)]) == 0
    assert "episode 1: return" in capsys.readouterr().out
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")


@pytest.mark.parametrize("argv, message", [
    (["--env", "CartPole-v1"], "not a continuous-control env"),
    (["--env", "Nope-v5"], "unknown environment id"),
    (["--num_timesteps", "100"], "smaller than one batch"),
    (["--num_timesteps", "-1"], "positive integer"),
    (["--variant", "v3"], "invalid choice"),
])
def test_bad_input(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        run_mujoco.main(argv + ["--log_path", str(tmp_path / "run")])
    assert exc.value.code == 2
    err = [l for l in capsys.readouterr().err.splitlines() if l.startswith("run_mujoco.py")]
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_paper_variant_run_resume_play_and_mismatch(tmp_path, hopper_run, capsys):
    log = tmp_path / "paper"
    assert run_mujoco.main(["--variant", "paper", "--num_timesteps", "5000",
                            "--log_path", str(log)]) == 0
    rows = list(csv.DictReader(open(log / "progress.csv")))
    assert len(rows) == 2 and {"EVBefore", "EVAfter", "KL", "stepsize", "eprewmean"} <= set(rows[0])
    assert int(rows[-1]["total_timesteps"]) > 5000  # whole paths, > 2500 per batch
    assert (log / "checkpoints" / "latest").read_text().strip() == "checkpoint00002"
    assert run_mujoco.main(["--variant", "paper", "--num_timesteps", "7600", "--log_path",
                            str(log), "--load_path", str(log / "checkpoints")]) == 0
    rows = list(csv.DictReader(open(log / "progress.csv")))
    its = [int(r["iteration"]) for r in rows]
    assert len(its) > 2 and its == list(range(len(its)))  # the count continues from 2
    assert run_mujoco.main(["--variant", "paper", "--play", "--load_path",
                            str(log / "checkpoints"), "--log_path", str(log)]) == 0
    assert "episode 1: return" in capsys.readouterr().out
    assert (log / "play.gif").read_bytes()[:3] == b"GIF"
    assert run_mujoco.main(["--variant", "paper", "--eval", "1", "--load_path",
                            str(log / "checkpoints"), "--log_path", str(log)]) == 0
    assert "eval: 1 episodes (stochastic)" in capsys.readouterr().out
    assert len(list(csv.DictReader(open(log / "eval.csv")))) == 1
    # a master checkpoint is not a paper one
    with pytest.raises(SystemExit) as exc:
        run_mujoco.main(["--variant", "paper", "--load_path", str(hopper_run / "checkpoints"),
                         "--log_path", str(tmp_path / "other")])
    assert exc.value.code == 2 and "alg" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
