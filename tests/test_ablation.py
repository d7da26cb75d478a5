"""Issue 21's ablation switches on the paper's continuous learner: each changes what its
``ContConfig`` help says, and the defaults are the branch's (the parity of the default
learner itself is ``test_acktr_cont.py``'s and ``test_checkpoint_compat.py``'s)."""
import inspect

import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr import run_mujoco
from baselines_acktr.acktr_cont import ContLearner, path_advantages, standardize
from baselines_acktr.acktr_cont.learner import COLD_LR_RATIO
from baselines_acktr.acktr_cont.rollouts import ReturnNormalizer
from baselines_acktr.common.configs import ContConfig
from baselines_acktr.kfac import Capture
from baselines_acktr.kfac.blocks import damping_of

OB, AC = 3, 2


def build(**kw):
    kw.setdefault("vf_fit_iters", 1)
    return ContLearner(OB, AC, seed=0, is_async=False, **kw)


@pytest.fixture
def learners():
    made = []

    def make(**kw):
        made.append(build(**kw))
        return made[-1]

    yield make
    for learner in made:
        learner.close()


def fake_paths(seed=0, lengths=(7, 5)):
    rng = np.random.default_rng(seed)
    return [dict(observation=rng.normal(size=(n, 2 * OB)).astype(np.float32),
                 action=rng.normal(size=(n, AC)).astype(np.float32),
                 action_dist=np.concatenate([rng.normal(size=(n, AC)), np.ones((n, AC))],
                                            1).astype(np.float32),
                 reward=rng.normal(size=n) * 5 + 3, terminated=True) for n in lengths]


def iterate(learner, paths, timesteps=100):
    """One ``_iteration`` with the two K-FAC steps stubbed out (their tracing takes seconds;
    ``test_acktr_cont.py`` runs them): returns what it handed to the value fit
    (``targets``) and the policy step (``adv``, ``stepsize`` in the variable at that
    moment), and ``_iteration``'s result.  The KL is then 0 ("kl too low")."""
    seen = {}

    def update_policy(ob_no, action_na, adv_n):
        seen.update(adv=np.asarray(adv_n), stepsize=float(learner.stepsize.numpy()))
        return 0.0

    def fit(paths, targets):
        seen["targets"] = targets
        return {"EVBefore": 0.0, "EVAfter": 0.0, "vf_loss": 0.0}

    learner.update_policy, learner.vf.fit = update_policy, fit
    return seen, learner._iteration(paths, 0, timesteps)


# --------------------------------------------------------------------------- defaults
def test_config_defaults_are_the_learner_defaults_and_the_branch():
    cfg, params = ContConfig(), inspect.signature(ContLearner.__init__).parameters
    options = cfg.ablation_options()
    assert set(options) == {"ent_coef", "standardize_adv", "policy_prev_obs", "logstd_block",
                            "vf_features", "vf_activation", "weight_decay", "init",
                            "stepsize_rule", "reward_norm"}
    assert options == {k: params[k].default for k in options}
    assert (cfg.cold_lr_ratio, cfg.max_grad_norm) == (0.1, None)
    assert np.float32(cfg.cold_lr_ratio) == np.float32(COLD_LR_RATIO)  # cold_rate is float32
    # the value fit's cold start: the branch's 0.001·(1 − 0.9), unclipped
    assert (cfg.vf_cold_lr_ratio, cfg.vf_max_grad_norm) == (0.1, None)
    vf = cfg.vf_kfac_options()
    assert np.float32(vf["cold_lr"]) == np.float32(0.001 * (1 - 0.9)) and vf["max_grad_norm"] is None
    ContConfig(lam=1.0)  # master's λ is allowed


def test_flags_reach_the_learner(monkeypatch, tmp_path):
    """``run_paper`` passes every ablation field (and the cold-start ones) to ``ContLearner``."""
    import baselines_acktr.acktr_cont as pkg

    seen = {}
    monkeypatch.setattr(pkg, "ContLearner", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(run_mujoco.cli, "train", lambda prog, args, config, b, *envs: b())
    master = ["--ent_coef", "0.01", "--standardize_adv", "false", "--policy_prev_obs", "false",
              "--logstd_block", "per_sample", "--vf_features", "obs", "--vf_activation", "tanh",
              "--weight_decay", "0", "--init", "ortho", "--stepsize_rule", "linear",
              "--reward_norm", "true", "--cold_lr_ratio", "1", "--max_grad_norm", "0.5",
              "--vf_cold_lr_ratio", "1", "--vf_max_grad_norm", "0.5", "--vf_lr", "0.25",
              "--lam", "1", "--num_timesteps", "4000"]
    run_mujoco._main(["--variant", "paper", "--log_path", str(tmp_path)] + master)
    assert {k: seen[k] for k in ContConfig().ablation_options()} == dict(
        ent_coef=0.01, standardize_adv=False, policy_prev_obs=False, logstd_block="per_sample",
        vf_features="obs", vf_activation="tanh", weight_decay=0.0, init="ortho",
        stepsize_rule="linear", reward_norm=True)
    assert seen["policy_kfac_options"]["cold_lr_ratio"] == 1.0
    assert seen["policy_kfac_options"]["max_grad_norm"] == 0.5
    assert (seen["vf_kfac_options"]["cold_lr"], seen["vf_kfac_options"]["max_grad_norm"]) == (
        0.25, 0.5)
    assert (seen["lam"], seen["stepsize_horizon"]) == (1.0, 4000)


# --------------------------------------------------------------------------- switches
def test_ent_coef_subtracts_the_entropy_from_the_policy_loss_only(learners):
    plain, bonus = learners(), learners(ent_coef=0.01)
    rng = np.random.default_rng(1)
    ob = tf.constant(rng.normal(size=(16, 2 * OB)), tf.float32)
    ac = tf.constant(rng.normal(size=(16, AC)), tf.float32)
    adv = tf.constant(rng.normal(size=16), tf.float32)
    surr0, fisher0 = plain.policy.losses(ob, ac, adv)
    surr1, fisher1 = bonus.policy.losses(ob, ac, adv)
    entropy = AC * 0.5 * np.log(2 * np.pi * np.e)  # σ = 1 at the start
    np.testing.assert_allclose(surr1.numpy(), surr0.numpy() - 0.01 * entropy, rtol=1e-5)
    assert fisher1.numpy() == fisher0.numpy()


def test_standardize_adv_false_hands_the_raw_gae_to_the_policy(learners):
    paths = fake_paths()
    raw, std = learners(standardize_adv=False), learners()
    expected = [path_advantages(p["reward"], v, True, 0.99, 0.97)[1]
                for p, v in zip(paths, raw.vf.predict_paths(paths))]
    adv = iterate(raw, paths)[0]["adv"]
    np.testing.assert_allclose(adv, np.concatenate(expected), rtol=1e-5, atol=1e-5)
    adv = iterate(std, paths)[0]["adv"]
    np.testing.assert_allclose(adv, standardize(np.concatenate(expected)), rtol=1e-4, atol=1e-5)
    assert abs(adv.mean()) < 1e-5 and abs(np.abs(np.concatenate(expected)).mean()) > 1


def test_lam_1_is_the_monte_carlo_return_minus_v():
    rew, v = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.1, -0.3])
    ret, adv = path_advantages(rew, v, True, 0.99, 1.0)
    np.testing.assert_allclose(adv, ret - v)


def test_policy_prev_obs_false_reads_the_observation_only(learners):
    both, obs_only = learners(), learners(policy_prev_obs=False)
    assert both.policy.h1.w.shape == (2 * OB, 64) and obs_only.policy.h1.w.shape == (OB, 64)
    assert obs_only.vf.nin == both.vf.nin  # the value features keep prev_obs
    x = np.random.default_rng(2).normal(size=(4, 2 * OB)).astype(np.float32)
    y = x.copy()
    y[:, OB:] += 1.0
    f = obs_only.policy.ac_dist
    np.testing.assert_array_equal(f(tf.constant(x)).numpy(), f(tf.constant(y)).numpy())
    assert not np.array_equal(both.policy.ac_dist(tf.constant(x)).numpy(),
                              both.policy.ac_dist(tf.constant(y)).numpy())
    obs_only.policy.act(x[0])  # the rollout's [obs, prev_obs] still fits


def test_logstd_block_per_sample_registers_master_s_per_sample_tensor(learners):
    batch, per_sample = learners(), learners(logstd_block="per_sample")
    x = tf.zeros([5, 2 * OB])
    for learner, rows, shape in ((batch, 1, (AC,)), (per_sample, 5, (1, AC))):
        capture = Capture()
        dist = learner.policy.ac_dist(x, capture)
        assert capture["pi/logstd"].outputs.shape[0] == rows
        assert tuple(learner.policy.logstd.w.shape) == shape
        np.testing.assert_allclose(dist.numpy()[:, AC:], 1.0)  # σ = 1 at the start


def test_vf_features_obs_and_vf_activation_tanh(learners):
    paper, master = learners(), learners(vf_features="obs", vf_activation="tanh")
    path = fake_paths()[0]
    assert paper.vf.preproc(path).shape[1] == 2 * OB + 2 * AC + 2
    X = master.vf.preproc(path)
    np.testing.assert_array_equal(X, path["observation"][:, :OB])
    vf = master.vf
    h = np.tanh(np.tanh(X @ vf.h1.w.numpy() + vf.h1.b.numpy()) @ vf.h2.w.numpy() + vf.h2.b.numpy())
    np.testing.assert_allclose(vf.predict(path), (h @ vf.hfinal.w.numpy())[:, 0]
                               + vf.hfinal.b.numpy(), rtol=1e-4, atol=1e-5)


def test_weight_decay_0_removes_the_damping_terms_and_the_l2_loss(learners):
    paper, master = learners(), learners(weight_decay=0.0)
    for learner, wd in ((paper, 3e-4), (master, 0.0)):
        for optim, net in ((learner.policy_optim, learner.policy), (learner.vf.optim, learner.vf)):
            eps = optim.config.epsilon
            assert damping_of(net.h1.w, eps, optim.config.weight_decay_dict) == np.float32(eps + wd)
            assert damping_of(net.h1.b, eps, optim.config.weight_decay_dict) == np.float32(eps)
        l2 = sum(float(tf.nn.l2_loss(layer.w)) for layer in learner.vf.kfac_layers)
        np.testing.assert_allclose(float(learner.vf.weight_decay_loss()), wd * l2, rtol=1e-5)


def test_init_ortho_gives_orthogonal_weights_with_master_s_gains(learners):
    ortho = learners(init="ortho")
    for w, gain in ((ortho.policy.h2.w, np.sqrt(2)), (ortho.vf.h2.w, np.sqrt(2))):
        np.testing.assert_allclose(w.numpy().T @ w.numpy(), gain ** 2 * np.eye(64), atol=1e-4)
    for w, gain in ((ortho.policy.mean.w, 0.01), (ortho.vf.hfinal.w, 1.0)):
        np.testing.assert_allclose(np.linalg.norm(w.numpy(), axis=0), gain, rtol=1e-4)
    h1 = ortho.policy.h1.w.numpy()  # [2·ob, 64]: orthonormal rows
    np.testing.assert_allclose(h1 @ h1.T, 2 * np.eye(2 * OB), atol=1e-4)
    normc = learners().policy.mean.w.numpy()
    np.testing.assert_allclose(np.linalg.norm(normc, axis=0), 0.1, rtol=1e-4)


@pytest.mark.parametrize("rule", ["adaptive", "constant", "linear"])
def test_stepsize_rule(rule, learners):
    learner = learners(stepsize_rule=rule, stepsize=0.25, stepsize_horizon=10_000,
                       desired_kl=1e-12)
    seen, (kl, _, _, used, message) = iterate(learner, fake_paths(), timesteps=2501)
    after = float(learner.stepsize.numpy())
    assert kl > 2e-12 and seen["stepsize"] == pytest.approx(used)
    if rule == "adaptive":  # KL far above 2·desired_kl: ÷1.5
        assert used == pytest.approx(0.25) and after == pytest.approx(0.25 / 1.5)
    elif rule == "constant":
        assert used == pytest.approx(0.25) and after == pytest.approx(0.25)
        assert message == "stepsize constant"
    else:  # master's Scheduler after this batch: lr·(1 − (t − 1)/T)
        assert used == pytest.approx(0.25 * (1 - 2500 / 10_000)) and after == pytest.approx(used)


def test_cold_start_options_reach_the_policy_optimizer(learners):
    learner = learners(policy_kfac_options=dict(cold_lr_ratio=1.0, max_grad_norm=0.5,
                                                cold_iter=10))
    assert learner.policy_optim.cold_lr_ratio == 1.0
    assert learner.policy_optim.config.max_grad_norm == 0.5
    assert float(learner.policy_optim.cold_rate(tf.constant(0.25))) == pytest.approx(0.25)
    default = learners().policy_optim
    assert default.config.max_grad_norm is None
    assert float(default.cold_rate(tf.constant(0.25))) == pytest.approx(0.025)


def test_value_cold_start_options_reach_the_value_optimizer(learners):
    cfg = ContConfig(vf_lr=0.25, vf_cold_lr_ratio=1.0, vf_max_grad_norm=0.5)
    vf = learners(vf_kfac_options=cfg.vf_kfac_options()).vf.optim.config
    assert (vf.cold_lr, vf.max_grad_norm, vf.learning_rate) == (0.25, 0.5, 0.25)
    default = learners(vf_kfac_options=ContConfig().vf_kfac_options()).vf.optim.config
    assert default.max_grad_norm is None
    assert np.float32(default.cold_lr) == np.float32(0.001 * (1 - 0.9))


def test_return_normalizer_is_vecnormalize_s_return_half():
    gamma, norm = 0.9, ReturnNormalizer(0.9)
    first, second = np.linspace(-1.0, 1.0, 200), np.array([3.0, 200.0])
    out = np.concatenate([norm(first), norm(second)])
    rets = []
    for path in (first, second):  # ret restarts with every path (an episode)
        ret = 0.0
        for r in path:
            ret = gamma * ret + r
            rets.append(ret)
    expected = []
    for t, r in enumerate(np.concatenate([first, second])):
        # Chan's running variance from count 1e-4 is the population variance up to ~1e-4
        expected.append(np.clip(r / np.sqrt(np.var(rets[:t + 1]) + 1e-8), -10, 10))
    np.testing.assert_allclose(out[1:], expected[1:], rtol=2e-3)
    assert out[-1] == 10.0  # clipped


def test_reward_norm_scales_the_targets_and_is_checkpointed(learners):
    paths = fake_paths()
    plain, scaled = learners(), learners(reward_norm=True)
    assert "ret_rms" not in plain.trackables() and "ret_rms" in scaled.trackables()
    targets = {name: iterate(learner, paths)[0]["targets"]
               for name, learner in (("plain", plain), ("scaled", scaled))}
    np.testing.assert_allclose(targets["plain"][0], path_advantages(
        paths[0]["reward"], np.zeros(7), True, 0.99, 0.97)[0])
    reference = ReturnNormalizer(0.99)
    for path, target in zip(paths, targets["scaled"]):
        np.testing.assert_allclose(target, path_advantages(
            reference(path["reward"]), np.zeros(len(target)), True, 0.99, 0.97)[0], rtol=1e-6)
    assert scaled.ret_norm.rms.count == pytest.approx(12 + 1e-4)
    assert np.abs(targets["scaled"][0]).max() < np.abs(targets["plain"][0]).max()


@pytest.mark.slow
def test_every_switch_at_master_s_value_trains_on_a_real_env(tmp_path):
    """The anchor run's configuration: two real iterations (both K-FAC steps, their
    statistics and eigen-decompositions) on InvertedPendulum-v5 with every ablation field
    at master's value stay finite."""
    import gymnasium as gym

    from baselines_acktr.acktr_cont import make_cont_env
    from baselines_acktr.common.logger import Logger

    cfg = ContConfig(lam=1.0, stepsize=0.25, kfac_clip=0.001, cold_iter=1, kfac_update=1,
                     ent_coef=0.01, standardize_adv=False, policy_prev_obs=False,
                     logstd_block="per_sample", vf_features="obs", vf_activation="tanh",
                     weight_decay=0.0, init="ortho", stepsize_rule="linear", reward_norm=True,
                     cold_lr_ratio=1.0, max_grad_norm=0.5)
    env = make_cont_env("InvertedPendulum-v5", 0)
    assert isinstance(env.action_space, gym.spaces.Box)
    learner = ContLearner(4, 1, seed=0, is_async=False, lam=cfg.lam, stepsize=cfg.stepsize,
                          timesteps_per_batch=200, vf_fit_iters=2,
                          policy_kfac_options=dict(cfg.policy_kfac_options(),
                                                   cold_lr_ratio=1.0, max_grad_norm=0.5),
                          stepsize_horizon=10_000, **cfg.ablation_options())
    try:
        rows = []
        learner.fit(env, 300, Logger(), seed=0, callback=lambda loc: rows.append(loc["kl"]))
    finally:
        learner.close()
        env.close()
    assert len(rows) == 2 and np.isfinite(rows).all()
    assert learner.stepsize.numpy() < 0.25 and learner.ret_norm.rms.count > 300
