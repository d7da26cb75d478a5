"""A user's env checked before a run (baselines_acktr/envs/check.py, cli.check_env): gymnasium's
env checker and ACKTR's own checks on the envs of tests/custom_envs.py, directly and through
real run_mujoco.py and sweep processes (the module is found through PYTHONPATH)."""
import os
import subprocess
import sys
from pathlib import Path

import custom_envs  # noqa: F401 - registers the envs
import gymnasium as gym
import numpy as np
import pytest
from helpers import rows

from baselines_acktr.envs import check_env_id
from baselines_acktr.envs.check import EnvCheckError, check_env, is_stock, supported_spaces, wanted
from baselines_acktr.run_mujoco import continuous_spaces

TESTS = Path(__file__).resolve().parent
TINY = ["--nsteps", "100", "--num_timesteps", "300"]  # three updates of the master variant

BROKEN = [
    ("OutOfSpace", "fails gymnasium's env checker: The first element returned by `env.reset()` is "
                   "not within the observation space."),
    ("NoSeed", "fails gymnasium's env checker: The `reset` method does not provide a `seed` or "
               "`**kwargs` keyword argument."),
    ("NanReward", "fails the env check: the reward of step 10 is nan (random actions, seed 0)"),
]


def run(args, cwd, module="baselines_acktr.run_mujoco", timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------ the check itself
@pytest.mark.parametrize("name, reason", BROKEN, ids=[name for name, _ in BROKEN])
def test_a_broken_env_fails_in_one_line(name, reason):
    with pytest.raises(EnvCheckError) as err:
        check_env(f"custom_envs:{name}-v0")
    assert str(err.value) == f"env custom_envs:{name}-v0 {reason}"


def test_a_good_env_passes_and_large_rewards_are_a_warning():
    assert check_env("custom_envs:Good-v0") == []
    found = check_env("custom_envs:HugeReward-v0")
    assert len(found) == 1 and found[0].startswith("rewards up to ")


def test_gymnasium_warnings_are_one_line_without_the_infinite_bounds_ones():
    assert check_env("Hopper-v5") == []  # unbounded observations: nothing to say to ACKTR
    found = check_env("Pendulum-v1")  # actions in [-2, 2]
    assert found == ["For Box action spaces, we recommend using a symmetric and normalized space "
                     "(range=[-1, 1] or [0, 1])."]


def test_spaces_come_first_and_are_the_callers():
    with pytest.raises(ValueError, match=r"unsupported observation space Dict") as err:
        check_env("custom_envs:DictObs-v0")
    assert not isinstance(err.value, EnvCheckError)
    paper = lambda env_id, ob, ac: continuous_spaces(env_id, ob, ac, "paper")
    with pytest.raises(ValueError, match=r"^CartPole-v1 is not a continuous-control env"):
        check_env("CartPole-v1", spaces=paper)
    with pytest.raises(ValueError, match=r"needs a 1-D Box observation space"):
        check_env("custom_envs:DictObs-v0", spaces=paper)
    assert check_env("custom_envs:Good-v0", spaces=paper) == []


def test_supported_spaces_are_those_of_learn():
    from baselines_acktr.common.policies import spaces_of

    sp = gym.spaces
    box = sp.Box(-1, 1, (3,))
    cases = [(box, sp.Discrete(4)), (box, sp.Discrete(4, start=1)), (box, box),
             (box, sp.Box(-1, 1, (2, 2))), (box, sp.MultiDiscrete([2, 3])),
             (box, sp.MultiDiscrete([[2, 3]])), (box, sp.MultiBinary(3)), (box, sp.MultiBinary([2, 2])),
             (sp.Box(0, 255, (84, 84, 4), np.uint8), sp.Discrete(6)), (sp.Discrete(5), box),
             (sp.Discrete(5, start=2), box), (sp.MultiDiscrete([3, 4]), box),
             (sp.MultiDiscrete([3, 4], start=[1, 0]), box), (sp.Dict({"x": box}), box),
             (sp.Tuple([box]), box), (box, sp.Tuple([sp.Discrete(2)]))]
    for ob, ac in cases:
        try:
            spaces_of(ob, ac)
            learn_takes = True
        except ValueError:
            learn_takes = False
        try:
            supported_spaces("X-v0", ob, ac)
            checked = True
        except ValueError:
            checked = False
        assert checked == learn_takes, (ob, ac)


def test_stock_envs_are_skipped_unless_asked():
    assert is_stock("Hopper-v5") and is_stock("CartPole-v1")
    assert not is_stock("custom_envs:Good-v0") and not is_stock("Good-v0")  # callable entry point
    assert not is_stock("NoSuchEnv-v0")
    assert not wanted("Hopper-v5", None) and wanted("Hopper-v5", True)
    assert wanted("custom_envs:Good-v0", None) and not wanted("custom_envs:Good-v0", False)


def test_module_ids_import_their_module():
    check_env_id("custom_envs:Good-v0")
    with pytest.raises(ValueError, match=r"cannot import 'no_such_module_x' \(ModuleNotFoundError"):
        check_env_id("no_such_module_x:Env-v0")
    with pytest.raises(ValueError, match="unknown environment id 'custom_envs:Nope-v0'"):
        check_env_id("custom_envs:Nope-v0")


# ------------------------------------------------------------------ real processes
@pytest.mark.parametrize("name, reason", BROKEN, ids=[name for name, _ in BROKEN])
def test_run_mujoco_stops_a_broken_env_before_training(tmp_path, name, reason):
    out = run(["--env", f"custom_envs:{name}-v0", *TINY, "--log_path", "run"], tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.splitlines() == [f"run_mujoco.py: error: env custom_envs:{name}-v0 {reason}"]
    assert not (tmp_path / "run").exists()  # no config.json, no progress.csv


def test_run_mujoco_one_line_for_unsupported_spaces_and_exclusive_flags(tmp_path):
    out = run(["--env", "custom_envs:DictObs-v0", "--log_path", "run"], tmp_path)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "run_mujoco.py: error: custom_envs:DictObs-v0: run_mujoco.py --variant master needs a Box "
        "observation space, got Dict('x': Box(-inf, inf, (3,), float32)) (a Dict or Tuple: "
        "gymnasium's FlattenObservation)"]
    out = run(["--env", "custom_envs:Good-v0", "--env_check", "--no_env_check"], tmp_path)
    assert out.returncode == 2 and "not allowed with argument" in out.stderr
    assert not (tmp_path / "run").exists()


def test_sweep_checks_a_user_env_once_before_ray(tmp_path):
    out = run(["--envs", "custom_envs:NanReward-v0", "--seeds", "0", "1", "--num_timesteps", "300",
               "--storage", str(tmp_path), "--name", "s"], tmp_path, module="baselines_acktr.sweep")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "sweep: error: env custom_envs:NanReward-v0 " + dict(BROKEN)["NanReward"]]
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("extra, added", [([], True), (["--env_check"], False),
                                          (["--no_env_check"], False)], ids=["auto", "on", "off"])
def test_sweep_trials_of_a_checked_env_skip_the_check(tmp_path, capsys, extra, added):
    from baselines_acktr.sweep import command

    args = command.parse(["--envs", "custom_envs:Good-v0", "Hopper-v5", "--seeds", "0", "1",
                          "--num_timesteps", "300", "--", *extra])
    command.check_study(args)
    trials = command.trials_of(args, str(tmp_path))
    command.check_run_arguments(trials)
    for trial in trials:
        flags = trial["extra_args"]
        assert flags.count("--no_env_check") == (1 if added and trial["env"] != "Hopper-v5" else
                                                 int("--no_env_check" in extra))
    passed = capsys.readouterr().out.count("custom_envs:Good-v0: passed gymnasium's env checker")
    assert passed == (0 if "--no_env_check" in extra else 1)  # once for its two seeds


@pytest.mark.slow
def test_a_good_env_passes_and_trains(tmp_path):
    out = run(["--env", "custom_envs:Good-v0", *TINY, "--log_path", "run"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "env custom_envs:Good-v0: passed gymnasium's env checker and a 200-step random rollout" \
        in out.stdout
    assert "warning" not in out.stderr
    assert [int(r["nupdates"]) for r in rows(tmp_path / "run" / "progress.csv")] == [1, 2, 3]


@pytest.mark.slow
@pytest.mark.parametrize("name, status, says", [
    ("OutOfSpace", 0, "done: 3 updates"),  # observations outside a declared Box harm nothing here
    ("NanReward", 1, "non-finite loss at update 1"),  # what the check would have said first
])
def test_no_env_check_skips_it(tmp_path, name, status, says):
    out = run(["--env", f"custom_envs:{name}-v0", *TINY, "--log_path", "run", "--no_env_check"],
              tmp_path)
    assert out.returncode == status, out.stderr[-3000:]
    assert "env checker" not in out.stdout + out.stderr
    assert "logging to run" in out.stdout and says in out.stdout + out.stderr
