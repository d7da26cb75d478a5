"""Trained agents: ``baselines_acktr.load`` in one call, packing a run into a shipped agent
(acting state only), and the agents shipped in ``agents/``."""
import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

import baselines_acktr
from helpers import assert_usage_error

from baselines_acktr import agent, run_atari, run_mujoco
from baselines_acktr.common.checkpoints import resolve

AGENTS = Path(__file__).resolve().parents[1] / "agents"


def size(ckpt_dir):
    return sum(f.stat().st_size for f in Path(ckpt_dir).iterdir())


def test_the_shipped_pong_agent_loads_in_one_call_and_plays():
    from baselines_acktr.envs import Monitor, atari_wrappers

    learner, config = baselines_acktr.load(str(AGENTS / "PongNoFrameskip-v4-a2c"))
    try:
        assert config["agent"] is True and learner.updates_done == config["update"] > 0
        env = atari_wrappers.wrap_deepmind(Monitor(atari_wrappers.make_atari(config["env"])),
                                           episode_life=False, frame_stack=True,
                                           frame_stack_pad="zeros")
        actor = learner.actor(env.action_space, deterministic=True)
        obs, _ = env.reset(seed=0)
        actions, rewards = [], []
        for _ in range(300):  # a few points of a game
            a = actor(obs)
            obs, r, terminated, truncated, _ = env.step(a)
            actions.append(int(a))
            rewards.append(r)
            assert not (terminated or truncated)
        env.close()
    finally:
        learner.close()
    # a trained Pong policy moves its paddle both ways and wins points early in a game
    assert len(set(actions)) > 1 and max(rewards) == 1.0


@pytest.mark.parametrize("name", ["Hopper-v5-acktr-master", "HalfCheetah-v5-acktr-paper"])
def test_a_shipped_mujoco_agent_evaluates_well_above_an_untrained_policy(name, tmp_path, capsys):
    # one deterministic episode; an untrained policy scores about 20 on Hopper (it falls at
    # once) and about -300 on HalfCheetah (agents/README.md gives the 10-episode scores)
    assert run_mujoco.main(["--eval", "1", "--deterministic", "--load_path", str(AGENTS / name),
                            "--log_path", str(tmp_path)]) == 0
    assert "eval: 1 episodes (deterministic)" in capsys.readouterr().out
    with open(tmp_path / "eval.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["r"]) > 500 and row["deterministic"] == "1"


@pytest.mark.slow
def test_a_packed_agent_acts_as_its_run_and_only_plays(tmp_path, capsys):
    run = tmp_path / "run"
    assert run_atari.main(["--num_env", "2", "--nsteps", "5", "--num_timesteps", "200",
                           "--log_path", str(run), "--is_async", "false",
                           "--cold_iter", "100"]) == 0
    assert agent.main(["--load_path", str(run), "--out", str(tmp_path / "agent")]) == 0
    assert "packed" in capsys.readouterr().out
    packed = resolve(str(tmp_path / "agent"))
    full = resolve(str(run / "checkpoints"))
    # no K-FAC statistics, eigenbases or momenta: well under half the checkpoint
    assert size(packed) < 0.5 * size(full)
    record = json.loads(Path(packed, "config.json").read_text())
    assert record["agent"] is True and record["packed_from"] == "run"
    assert not {"log_path", "save_path", "load_path"} & record.keys()
    obs = np.random.default_rng(0).integers(0, 256, size=(32, 84, 84, 4), dtype=np.uint8)
    (a, _), (b, _) = [(m.predict(obs, deterministic=True)[0], m.value(obs)) for m in
                      [baselines_acktr.load(p)[0] for p in (str(run), str(tmp_path / "agent"))]]
    np.testing.assert_array_equal(a, b)
    # training does not resume from it
    with pytest.raises(SystemExit) as exc:
        run_atari.main(["--num_env", "2", "--nsteps", "5", "--num_timesteps", "400",
                        "--log_path", str(tmp_path / "again"), "--load_path",
                        str(tmp_path / "agent")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a shipped agent" in err[0]


@pytest.mark.slow
def test_eval_of_a_paper_agent_takes_its_config_from_the_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert run_mujoco.main(["--variant", "paper", "--num_timesteps", "2500", "--log_path",
                            str(run), "--is_async", "false"]) == 0
    assert agent.main(["--load_path", str(run / "checkpoints"), "--out",
                       str(tmp_path / "agent")]) == 0
    # no --variant: the agent's config.json says paper (the master model would not fit it)
    assert run_mujoco.main(["--eval", "2", "--deterministic", "--load_path",
                            str(tmp_path / "agent"), "--log_path", str(tmp_path / "eval")]) == 0
    assert "eval: 2 episodes (deterministic)" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "eval" / "eval.csv")


@pytest.mark.parametrize("argv, message", [
    (["--load_path", "/nonexistent", "--out", "x"], "no checkpoint"),
    (["--out", "x"], "--load_path"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    assert_usage_error(agent.main, argv, message, capsys)


def test_an_existing_agent_folder_is_not_overwritten(capsys):
    with pytest.raises(SystemExit) as exc:
        agent.main(["--load_path", "x", "--out", str(AGENTS / "PongNoFrameskip-v4-a2c")])
    assert exc.value.code == 2
    assert "exists and is not empty" in capsys.readouterr().err
