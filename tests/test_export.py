"""``python -m baselines_acktr.export``: a SavedModel that TensorFlow alone loads and that acts
as the project's own acting path does (Atari: ``Model.predict``; MuJoCo master: ``predict``
on ``VecNormalize``'s observations; MuJoCo paper: the learner's actor)."""
import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from helpers import assert_usage_error

from baselines_acktr import agent, export, run_atari, run_mujoco
from baselines_acktr.acktr_cont import ContLearner
from baselines_acktr.envs import vector_env
from baselines_acktr.envs.vec_normalize import VecNormalize

LOADER = """
import sys
import numpy as np
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
inputs = np.load(sys.argv[2])
out = serve(**{name: tf.constant(inputs[name]) for name in inputs.files})
np.savez(sys.argv[3], **{name: value.numpy() for name, value in out.items()})
assert not [m for m in sys.modules if m.startswith("baselines_acktr")]
"""
ACTIONS = dict(rtol=1e-5, atol=1e-6)


def serve_elsewhere(saved, inputs, tmp_path):
    """The outputs of ``saved``'s ``serving_default`` on ``inputs`` (name → array), computed
    in a fresh process that imports TensorFlow and no ``baselines_acktr``."""
    np.savez(tmp_path / "inputs.npz", **inputs)
    subprocess.run([sys.executable, "-c", LOADER, str(saved), str(tmp_path / "inputs.npz"),
                    str(tmp_path / "outputs.npz")], check=True, timeout=300)
    with np.load(tmp_path / "outputs.npz") as out:
        return dict(out)


def export_deterministic(run, tmp_path):
    """``run``'s latest checkpoint exported with ``--deterministic``; the SavedModel's path."""
    out = tmp_path / "saved"
    assert export.main(["--load_path", str(run / "checkpoints"), "--out", str(out),
                        "--deterministic"]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("alg", ["acktr", "a2c"])
def test_the_saved_model_acts_as_predict_in_a_process_without_the_package(alg, tmp_path):
    run = tmp_path / "run"
    assert run_atari.main(["--alg", alg, "--num_env", "2", "--nsteps", "5",
                           "--num_timesteps", "200", "--log_path", str(run)]
                          # ACKTR: its cold start only (no decomposition of the 3136² factor)
                          + (["--is_async", "false", "--cold_iter", "100"] if alg == "acktr"
                             else [])) == 0
    out = export_deterministic(run, tmp_path)
    learner, config = agent.load(str(run / "checkpoints"))
    assert config["alg"] == alg
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 256, size=(64, 84, 84, 4), dtype=np.uint8)
    expected = learner.predict(obs, deterministic=True)[0]
    values = learner.value(obs)
    learner.close()
    got = serve_elsewhere(out, {"obs": obs}, tmp_path)
    np.testing.assert_array_equal(got["actions"], expected)
    np.testing.assert_allclose(got["values"], values, rtol=1e-5, atol=1e-6)
    # the values show the same network; A2C's head, at init scale 1.0 after a few steps, also
    # reaches different actions (ACKTR's starts at 0.01 and has one mode this early)
    assert alg == "acktr" or len(set(expected.tolist())) > 1


@pytest.mark.slow
def test_master_saved_model_takes_raw_observations(tmp_path):
    """VecNormalize's frozen observation filter is inside the SavedModel."""
    run = tmp_path / "run"
    assert run_mujoco.main(["--num_timesteps", "256", "--nsteps", "128", "--is_async", "false",
                            "--log_path", str(run)]) == 0
    out = export_deterministic(run, tmp_path)
    learner, config = agent.load(str(run / "checkpoints"))
    assert config["variant"] == "master"
    ob_rms = learner.extra_trackables["ob_rms"]
    assert ob_rms.count > 256  # restored, and far from the identity
    assert np.abs(ob_rms.mean).max() > 0.5 and np.abs(np.log(ob_rms.var)).max() > 1
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, size=(64, *ob_rms.mean.shape))
    z[:4] *= 20  # beyond the clip
    raw = ob_rms.mean + np.sqrt(ob_rms.var) * z
    venv = VecNormalize(vector_env([lambda: gym.make("Hopper-v5")], "sync"), training=False,
                        ob_rms=ob_rms)
    normalised = venv._obfilt(raw)
    venv.close()
    assert np.abs(normalised).max() == venv.clipob
    expected = learner.predict(normalised, deterministic=True)[0]
    values = learner.value(normalised)
    unfolded = learner.predict(raw.astype(np.float32), deterministic=True)[0]
    learner.close()
    got = serve_elsewhere(out, {"obs": raw}, tmp_path)
    np.testing.assert_allclose(got["actions"], expected, **ACTIONS)
    np.testing.assert_allclose(got["values"], values, rtol=1e-5, atol=1e-6)
    assert np.abs(unfolded - expected).max() > 1e-2  # the raw policy would act otherwise


def actor_steps(learner, env, n, restart_at):
    """``(inputs, actions)``: ``n`` steps of the deterministic actor on ``env``, a new episode
    at every end and at step ``restart_at``; ``prev_obs`` at an episode's start is the last
    episode's observation (the signature must ignore it)."""
    actor = learner.actor(env.action_space, deterministic=True)
    steps = {"obs": [], "prev_obs": [], "episode_start": []}
    actions = []
    ob, _ = env.reset(seed=0)
    prev, start = np.full(ob.shape, 5.0), True
    for t in range(n):
        if t == restart_at:
            ob, _ = env.reset()
            actor.reset()
            start = True
        for name, value in zip(steps, (ob, prev, start)):
            steps[name].append(value)
        actions.append(actor(ob))
        prev, start = ob, False
        ob, _, terminated, truncated, _ = env.step(actions[-1])
        if terminated or truncated:
            ob, _ = env.reset()
            actor.reset()
            start = True
    return {name: np.array(values) for name, values in steps.items()}, np.array(actions)


@pytest.mark.slow
def test_paper_saved_model_acts_as_the_actor(tmp_path):
    """The ZFilter, the previous observation and the action box are inside the SavedModel."""
    run = tmp_path / "run"
    assert run_mujoco.main(["--variant", "paper", "--num_timesteps", "300",
                            "--timesteps_per_batch", "100", "--is_async", "false",
                            "--log_path", str(run)]) == 0
    out = export_deterministic(run, tmp_path)
    learner, config = agent.load(str(run / "checkpoints"))
    assert config["variant"] == "paper"
    rs = learner.obfilter.rs
    assert rs.n > 300 and np.abs(rs.mean).max() > 0.5 and np.abs(np.log(rs.std)).max() > 1
    env = gym.make("Hopper-v5")
    inputs, expected = actor_steps(learner, env, 60, restart_at=30)
    env.close()
    assert inputs["episode_start"][[0, 30]].all() and inputs["episode_start"].sum() < 60
    prev = np.where(inputs["episode_start"][:, None], 0.0, inputs["prev_obs"])
    mean = learner.policy.ac_dist(np.concatenate([inputs["obs"], prev], 1).astype(np.float32))
    unfolded = np.clip(mean.numpy()[:, :learner.ac_dim], -1, 1)  # Hopper's box is [-1, 1]
    learner.close()
    got = serve_elsewhere(out, inputs, tmp_path)
    assert set(got) == {"actions"}
    np.testing.assert_allclose(got["actions"], expected, **ACTIONS)
    assert np.abs(unfolded - expected).max() > 1e-2  # the unfiltered policy would act otherwise


def test_paper_module_maps_onto_the_box_and_serves_observation_values():
    """An asymmetric box (both clip sides reached), a filter dimension of zero spread (the
    ZFilter's own offset alone divides) and a value function on the filtered observation."""
    learner = ContLearner(3, 3, seed=0, is_async=False, vf_features="obs")
    try:
        learner.obfilter.set_state({"n": 5, "mean": np.array([1.0, -2.0, 0.5]),
                                    "sum_sq": np.array([4.0, 0.0, 40.0])})
        learner.policy.mean.b.assign([2.5, -2.5, 0.0])
        box = gym.spaces.Box(np.array([-2.0, 0.0, -1.0], np.float32),
                             np.array([3.0, 0.5, 4.0], np.float32))
        rng = np.random.default_rng(1)
        obs = np.array([1.0, -2.0, 0.5]) + rng.normal(0.0, 3.0, size=(6, 3))
        obs[:, 1] = -2.0 + rng.uniform(-5e-8, 5e-8, size=6)  # inside the clip only at 1e-8
        starts = np.array([True, False, False, True, False, False])
        prev = np.where(starts[:, None], rng.normal(size=(6, 3)), np.roll(obs, 1, axis=0))
        actor = learner.actor(box, deterministic=True)
        expected = []
        for ob, start in zip(obs, starts):
            if start:
                actor.reset()
            expected.append(actor(ob))
        expected = np.array(expected)
        filtered = learner.obfilter(obs, update=False)
        assert 0.5 < np.abs(filtered[:, 1]).max() < 10
        values = learner.vf.predict_features(filtered)
        args = [tf.constant(obs), tf.constant(prev), tf.constant(starts)]
        # the modules held while they serve (a tf.function method keeps a weak reference)
        modules = [export.paper_module(learner, box, deterministic=d) for d in (True, False)]
        got, sampled = (module.serve(*args) for module in modules)
    finally:
        learner.close()
    assert (expected[:, 0] == 3.0).all() and (expected[:, 1] == 0.0).all()
    assert ((expected[:, 2] > -1.0) & (expected[:, 2] < 4.0)).all()
    np.testing.assert_allclose(got["actions"].numpy(), expected, **ACTIONS)
    np.testing.assert_allclose(got["values"].numpy(), values, rtol=1e-5, atol=1e-6)
    sampled = sampled["actions"].numpy()
    assert sampled.dtype == np.float32 and np.all((sampled >= box.low) & (sampled <= box.high))
    assert np.abs(sampled[:, 2] - expected[:, 2]).max() > 1e-3


@pytest.mark.parametrize("config", [{"alg": "ppo2"}, {"alg": "acktr_cont"},
                                    {"alg": "a2c", "variant": "master"}])
def test_a_run_no_script_trains_is_one_line_exit_2(config, tmp_path, capsys):
    (tmp_path / "ckpt.index").write_text("")
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit) as exc:
        export.main(["--load_path", str(tmp_path), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "names no run" in err[0]


@pytest.mark.parametrize("argv, message", [
    (["--load_path", "/nonexistent", "--out", "x"], "no checkpoint"),
    (["--out", "x"], "--load_path"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    assert_usage_error(export.main, argv, message, capsys)
