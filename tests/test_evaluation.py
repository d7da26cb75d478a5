"""Evaluation during training (``--eval_interval``): whole episodes in an env of their own,
``eval.csv``, TensorBoard and ``best/``, with the training run's numbers unchanged."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_usage_error, rows

from baselines_acktr import compare, run_atari, run_mujoco
from baselines_acktr.common.checkpoints import PREFIX, resolve

TIMING = {"fps"}  # the only logged column an evaluation may change (wall time)


def checkpoint_tensors(path):
    prefix = os.path.join(resolve(str(path)), PREFIX)
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
            if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}


def best_config(log):
    with open(f"{resolve(str(log / 'best'))}/config.json") as fh:
        return json.load(fh)


def assert_same_training(plain, evaluated):
    a, b = rows(plain / "progress.csv"), rows(evaluated / "progress.csv")
    assert len(a) == len(b) > 1
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k not in TIMING} == \
            {k: v for k, v in rb.items() if k not in TIMING}
    ta, tb = checkpoint_tensors(plain / "checkpoints"), checkpoint_tensors(evaluated / "checkpoints")
    assert ta.keys() == tb.keys()
    for name in ta:  # parameters, optimizer state, RNG states, normalisation statistics
        np.testing.assert_array_equal(ta[name], tb[name], err_msg=name)


def assert_evaluations(log, updates, episodes):
    """eval.csv has ``episodes`` rows for each update of ``updates``, tagged with the
    timesteps progress.csv logs at that update; best/ holds the best one."""
    evals = rows(log / "eval.csv")
    assert [int(r["update"]) for r in evals] == [u for u in updates for _ in range(episodes)]
    logged = {int(r["nupdates"]) if "nupdates" in r else int(r["iteration"]) + 1:
              int(r["total_timesteps"]) for r in rows(log / "progress.csv")}
    assert all(int(r["total_timesteps"]) == logged[int(r["update"])] and int(r["l"]) > 0
               for r in evals)
    means = {u: np.mean([float(r["r"]) for r in evals if int(r["update"]) == u]) for u in updates}
    best = best_config(log)
    assert best["eval_return_mean"] == pytest.approx(max(means.values()))
    assert best["update"] == max(means, key=lambda u: (means[u], -u))
    return evals


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["master", "paper"])
def test_evaluation_leaves_the_mujoco_training_run_unchanged(variant, tmp_path):
    # the eigen thread's timing is not reproducible: both runs decompose in step
    base = ["--variant", variant, "--num_timesteps", "5000", "--log_interval", "1",
            "--save_interval", "100", "--is_async", "false"]
    assert run_mujoco.main(base + ["--log_path", str(tmp_path / "plain")]) == 0
    assert run_mujoco.main(base + ["--log_path", str(tmp_path / "eval"), "--eval_interval", "1",
                                   "--eval_episodes", "2"]) == 0
    assert_same_training(tmp_path / "plain", tmp_path / "eval")
    assert_evaluations(tmp_path / "eval", [1, 2], 2)
    assert not (tmp_path / "plain" / "best").exists() and not (tmp_path / "plain" / "eval.csv").exists()
    config = json.loads((tmp_path / "eval" / "config.json").read_text())
    assert (config["eval_interval"], config["eval_episodes"]) == (1, 2)
    events = list((tmp_path / "eval" / "tb").glob("events.*"))
    tags = {v.tag for f in events for e in tf.compat.v1.train.summary_iterator(str(f))
            for v in e.summary.value}
    assert {"eval/return_mean", "eval/return_std"} <= tags
    # the best checkpoint plays as any checkpoint does
    assert run_mujoco.main(["--variant", variant, "--eval", "1", "--load_path",
                            str(tmp_path / "eval" / "best"), "--log_path",
                            str(tmp_path / "replay")]) == 0


@pytest.mark.slow
def test_evaluation_plays_whole_atari_games_and_compare_draws_the_curve(tmp_path, capsys):
    base = ["--alg", "a2c", "--num_env", "2", "--nsteps", "5", "--num_timesteps", "40",
            "--log_interval", "1"]
    assert run_atari.main(base + ["--log_path", str(tmp_path / "plain")]) == 0
    assert run_atari.main(base + ["--log_path", str(tmp_path / "eval"), "--eval_interval", "2",
                                  "--eval_episodes", "1", "--deterministic"]) == 0
    assert "eval at update 4 (40 timesteps): return" in capsys.readouterr().out
    assert_same_training(tmp_path / "plain", tmp_path / "eval")
    evals = assert_evaluations(tmp_path / "eval", [2, 4], 1)
    for g in evals:  # whole games of Pong, unclipped (no life ends): one side reached 21
        assert -21 <= float(g["r"]) <= 21 and int(g["l"]) > 100 and g["deterministic"] == "1"
    assert compare.main([str(tmp_path / "eval"), "--out", str(tmp_path / "cmp")]) == 0
    table = rows(tmp_path / "cmp" / "comparison.csv")
    # the report's evaluation is the latest one; the curve has one point per evaluation
    assert float(table[0]["eval_mean"]) == float(evals[-1]["r"])
    assert table[0]["eval_episodes"] == "1"
    from baselines_acktr.compare.runs import load_run

    t, mean = load_run(str(tmp_path / "eval")).eval_curve
    assert t.tolist() == [20, 40] and mean.tolist() == [float(g["r"]) for g in evals]


def test_a_resume_drops_the_evaluations_of_the_abandoned_continuation(tmp_path):
    log = tmp_path / "run"
    base = ["--num_timesteps", "7500", "--log_path", str(log), "--is_async", "false",
            "--eval_interval", "1", "--eval_episodes", "1", "--save_interval", "2"]
    assert run_mujoco.main(base) == 0
    first = rows(log / "eval.csv")
    assert [r["update"] for r in first] == ["1", "2", "3"]
    # as after a crash at update 3: back to the checkpoint of update 2, update 3 again
    assert run_mujoco.main(base + ["--load_path", str(log / "checkpoints" / "checkpoint00002")]) == 0
    again = rows(log / "eval.csv")
    assert [r["update"] for r in again] == ["1", "2", "3"] and again[:2] == first[:2]
    best = best_config(log)
    evals = rows(log / "eval.csv")
    assert best["eval_return_mean"] == pytest.approx(max(float(r["r"]) for r in evals))


@pytest.mark.parametrize("argv, message", [
    (["--eval_interval", "2", "--eval", "1", "--load_path", "x"], "--eval_interval evaluates "
     "during training"),
    (["--eval_interval", "0"], "--eval_interval"),
    (["--eval_episodes", "-1"], "--eval_episodes"),
])
def test_bad_evaluation_flags_are_one_line_exit_2(argv, message, capsys):
    assert_usage_error(run_mujoco.main, argv, message, capsys)
