"""Runner, Model.train, A2C's update and a short learn() on CartPole."""
import csv
import io

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr.a2c import A2CModel
from baselines_acktr.a2c import learn as a2c_learn
from baselines_acktr.acktr import Model, learn
from baselines_acktr.envs import Monitor, make_vec_env, vector_env
from baselines_acktr.common.logger import Logger
from baselines_acktr.common.policies import Policy
from baselines_acktr.common.runner import Runner
from helpers import eigen_threads


class CountdownEnv(gym.Env):
    """Reward 1 per step; the episode ends after ``length`` steps."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length):
        self.length, self.t = length, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.full(2, self.t / 10, np.float32), 1.0, self.t >= self.length, False, {}


class ConstantModel:
    """Stands in for a Model: action 0, value 10 everywhere."""

    initial_state = None

    def __init__(self):
        self.policy = Policy([2], ("discrete", 2), network="mlp", hidden=(4,))

    def step(self, obs, S=None, M=None):
        n = len(obs)
        return np.zeros(n, np.int32), np.full(n, 10.0, np.float32), None, np.zeros(n)

    def value(self, obs, S=None, M=None):
        return np.full(len(obs), 10.0, np.float32)


def test_runner_batches_masks_and_bootstrapped_returns():
    env = vector_env([lambda: Monitor(CountdownEnv(3)), lambda: Monitor(CountdownEnv(5))], "sync")
    runner = Runner(env, ConstantModel(), nsteps=4, gamma=0.5, seed=0)
    obs, states, returns, masks, actions, values, epinfos = runner.run()
    assert obs.shape == (8, 2) and actions.shape == (8,) and values.shape == (8,)
    # env 0 ends at step 3 (done), then starts again; env 1 runs 4 of its 5 steps
    r0 = [1 + 0.5 * (1 + 0.5), 1 + 0.5, 1.0, 1 + 0.5 * 10]  # bootstrap after the restart
    r1 = [1 + 0.5 * (1 + 0.5 * (1 + 0.5 * (1 + 0.5 * 10)))]
    r1 += [1 + 0.5 * (1 + 0.5 * (1 + 0.5 * 10)), 1 + 0.5 * (1 + 0.5 * 10), 1 + 0.5 * 10]
    np.testing.assert_allclose(returns, r0 + r1, rtol=1e-6)
    np.testing.assert_array_equal(masks, [0, 0, 0, 1, 0, 0, 0, 0])  # done *before* each step
    assert epinfos == [{"r": 3.0, "l": 3, "t": epinfos[0]["t"]}]
    env.close()


def test_train_advances_scheduler_once_per_sample():
    """Baselines calls Scheduler.value() nbatch times per update and uses the last."""
    policy = Policy([2], ("discrete", 2), network="mlp", hidden=(4,))
    model = Model(policy, nenvs=4, nsteps=2, total_timesteps=80, lr=0.25, is_async=False)
    seen = []
    model.train_on_batch = lambda obs, act, adv, ret, lr: seen.append(lr) or (0.0, 0.0, 0.0)
    z = np.zeros(8, np.float32)
    for _ in range(3):
        model.train(np.zeros((8, 2), np.float32), None, z, z, np.zeros(8, np.int32), z)
    assert seen == pytest.approx([0.25 * (1 - 7 / 80), 0.25 * (1 - 15 / 80), 0.25 * (1 - 23 / 80)])


def test_a2c_update_is_tf1_rmsprop_on_clipped_gradient():
    rng = np.random.default_rng(0)
    policy = Policy([3], ("discrete", 2), network="mlp", hidden=(5,), seed=0)
    model = A2CModel(policy, nenvs=6, nsteps=1, total_timesteps=100, max_grad_norm=0.5)
    obs = rng.normal(size=(6, 3)).astype(np.float32)
    act = rng.integers(0, 2, 6).astype(np.int32)
    adv, ret = rng.normal(size=6).astype(np.float32), rng.normal(size=6).astype(np.float32)
    before = [p.numpy().astype(np.float64) for p in model.params]
    with tf.GradientTape() as tape:
        loss = model.losses(obs, act, adv, ret, None)[3]
    grads = [g.numpy().astype(np.float64) for g in tape.gradient(loss, model.params)]
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    grads = [g * min(1.0, 0.5 / norm) for g in grads]
    model.train_on_batch(obs, act, adv, ret, 7e-4)
    for b, g, p in zip(before, grads, model.params):
        ms = 1.0 + (g ** 2 - 1.0) * 0.01  # TF1 RMSProp: mean square starts at 1
        np.testing.assert_allclose(p.numpy(), b - 7e-4 * g / np.sqrt(ms + 1e-5), rtol=1e-5, atol=1e-8)


@pytest.mark.slow
def test_learn_acktr_cartpole_reward_rises_and_threads_stop(tmp_path):
    """Random play scores about 22; over three seeds this reached 114-136 at 56k steps
    (eprewmean over the last 100 episodes, 8 envs x 20 steps, baselines' defaults)."""
    env = make_vec_env("CartPole-v1", 8, seed=0, monitor_dir=str(tmp_path / "monitor"))
    try:
        learn("mlp", env, seed=0, total_timesteps=60000, log_interval=50,
              logger=Logger(str(tmp_path), stream=io.StringIO()))
    finally:
        env.close()
    assert not eigen_threads()
    rows = list(csv.DictReader(open(tmp_path / "progress.csv")))
    assert set(rows[0]) == {"nupdates", "total_timesteps", "fps", "policy_entropy", "policy_loss",
                            "value_loss", "explained_variance", "eprewmean", "eplenmean"}
    assert float(rows[0]["eprewmean"]) < 40 or rows[0]["eprewmean"] in ("", "nan")
    assert float(rows[-1]["eprewmean"]) > 80
    assert [int(r["nupdates"]) for r in rows] == [1, 50, 100, 150, 200, 250, 300, 350]
    assert (tmp_path / "monitor" / "0.monitor.csv").exists()


def test_learn_rejects_bad_arguments():
    env = make_vec_env("CartPole-v1", 2, seed=0)
    with pytest.raises(ValueError, match="total_timesteps"):
        a2c_learn("mlp", env, seed=0, total_timesteps=-5)
    with pytest.raises(ValueError, match="total_timesteps"):
        learn("mlp", env, seed=0, total_timesteps=0)
    with pytest.raises(ValueError, match="network"):
        learn("transformer", env, seed=0, total_timesteps=100)
    env.close()
    with pytest.raises(ValueError, match="unknown environment id"):
        make_vec_env("NoSuchEnv-v0", 2, seed=0)


def test_log_kl_measures_the_step_against_the_trust_region():
    policy = Policy([4], ("discrete", 3), network="mlp", hidden=(8,), seed=0)
    model = Model(policy, nenvs=16, nsteps=1, total_timesteps=10 ** 6, is_async=False,
                  kfac_options=dict(cold_iter=2), log_kl=True)
    rng = np.random.default_rng(0)
    for _ in range(8):
        obs = rng.normal(size=(16, 4)).astype(np.float32)
        model.train_on_batch(obs, rng.integers(0, 3, 16), rng.normal(size=16).astype(np.float32),
                             rng.normal(size=16).astype(np.float32), 0.25)
    logged = model.log_extras()
    assert set(logged) == {"kl", "kl_bound", "vFv", "trust_scale"}
    assert logged["kl_bound"] == pytest.approx(0.001 / 2)
    assert logged["trust_scale"] == pytest.approx(min(1.0, np.sqrt(0.001 / logged["vFv"])))
    assert 0.0 <= logged["kl"] < 10 * logged["kl_bound"]  # the scaled, momentum-damped step
    # the measured KL is the KL of the policies before and after this very update
    before = [v.numpy().copy() for v in model.params]
    pd_old = [t.numpy() for t in model._pd_params(tf.constant(obs))]
    model.train_on_batch(obs, rng.integers(0, 3, 16), rng.normal(size=16).astype(np.float32),
                         rng.normal(size=16).astype(np.float32), 0.25)
    new_logits = model.policy(tf.constant(obs))[0].logits.numpy()
    p, q = tf.nn.softmax(pd_old[0]).numpy(), tf.nn.softmax(new_logits).numpy()
    want = np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=-1))
    assert model.log_extras()["kl"] == pytest.approx(want, rel=1e-2)  # float32 cancellation
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.params))
