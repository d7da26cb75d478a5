"""The named CNNs of ``common/policies.py``: master's ``nature_cnn`` (``'cnn'``) and
the ACKTR paper's network of baselines commit 3f676f7 (``'cnn_paper'``)."""
import inspect
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr.acktr import Model
from baselines_acktr.common.policies import (CNN_NETWORKS, NATURE_CONVS, NETWORKS, PAPER_CONVS,
                                             Policy, build_policy)

OBS = (84, 84, 4)
NACT = 6


@pytest.fixture(scope="module")
def paper():
    return Policy(OBS, ("discrete", NACT), network="cnn_paper", seed=0)


@pytest.fixture(scope="module")
def nature():
    return Policy(OBS, ("discrete", NACT), network="cnn", seed=0)


def shapes(policy):
    return {v.name.split(":")[0]: tuple(v.shape) for v in policy.params}


def named(params):
    return {v.name.split(":")[0]: v for v in params}


def test_network_table():
    assert NATURE_CONVS == ((32, 8, 4), (64, 4, 2), (64, 3, 1))
    assert PAPER_CONVS == ((32, 8, 4), (64, 4, 2), (32, 3, 1))
    assert NETWORKS["cnn"]["convs"] == NATURE_CONVS and NETWORKS["cnn"]["fc"] == 512
    assert NETWORKS["cnn_paper"]["convs"] == PAPER_CONVS and NETWORKS["cnn_paper"]["fc"] == 512
    assert set(CNN_NETWORKS) == {"cnn", "cnn_paper"}


def test_paper_network_parameter_shapes(paper, nature):
    paper, nature = shapes(paper), shapes(nature)
    assert paper == {
        "c1/w": (8, 8, 4, 32), "c1/b": (32,),
        "c2/w": (4, 4, 32, 64), "c2/b": (64,),
        "c3/w": (3, 3, 64, 32), "c3/b": (32,),   # nature_cnn: 64 filters
        "fc1/w": (7 * 7 * 32, 512), "fc1/b": (512,),  # 1568 inputs (nature_cnn: 3136)
        "pi/w": (512, NACT), "pi/b": (NACT,),
        "vf/w": (512, 1), "vf/b": (1,),
    }
    assert nature["c3/w"] == (3, 3, 64, 64) and nature["fc1/w"] == (3136, 512)
    assert {k for k in paper if paper[k] != nature[k]} == {"c3/w", "c3/b", "fc1/w"}


def test_paper_network_reads_images_like_the_nature_cnn(paper, nature):
    assert paper.obs_dtype == nature.obs_dtype == tf.uint8
    obs = np.random.default_rng(0).integers(0, 256, (3, *OBS), dtype=np.uint8)
    x = paper.preprocess(tf.constant(obs))
    np.testing.assert_array_equal(x.numpy(), nature.preprocess(tf.constant(obs)).numpy())
    np.testing.assert_allclose(x.numpy(), obs.astype(np.float32) / 255.0, rtol=1e-7)
    pd, v = paper(tf.constant(obs))
    assert pd.logits.shape == (3, NACT) and v.shape == (3,)
    assert np.all(np.isfinite(pd.logits.numpy())) and np.all(np.isfinite(v.numpy()))


def test_head_init_scales(paper, nature):
    """3f676f7's pi head uses the fc helper's default scale 1.0, master's 0.01; both
    value heads 1.0.  Orthogonal [512, n] init: wᵀw = scale²·I."""
    for policy, pi_scale in ((paper, 1.0), (nature, 0.01)):
        by = named(policy.params)
        w = by["pi/w"].numpy().astype(np.float64)
        np.testing.assert_allclose(w.T @ w, pi_scale ** 2 * np.eye(NACT), atol=1e-5 * pi_scale ** 2)
        v = by["vf/w"].numpy().astype(np.float64)
        assert float((v.T @ v)[0, 0]) == pytest.approx(1.0, rel=1e-5)
        fc1 = by["fc1/w"].numpy().astype(np.float64)
        np.testing.assert_allclose(fc1.T @ fc1, 2.0 * np.eye(512), atol=1e-4)
        for name in ("c1/b", "c2/b", "c3/b", "fc1/b", "pi/b", "vf/b"):
            assert not np.any(by[name].numpy())
    # an explicit pi_init_scale overrides the network's
    by = named(Policy(OBS, ("discrete", NACT), network="cnn_paper", pi_init_scale=0.01,
                      seed=0).params)
    w = by["pi/w"].numpy().astype(np.float64)
    np.testing.assert_allclose(w.T @ w, 1e-4 * np.eye(NACT), atol=1e-9)


def test_default_is_still_nature_cnn(nature):
    """``network='cnn'`` (or no network) with nothing else given is exactly master's
    nature_cnn with the 0.01 policy head, draw for draw (what the parity vectors
    replay)."""
    assert inspect.signature(Policy).parameters["network"].default == "cnn"
    default = nature
    explicit = Policy(OBS, ("discrete", NACT), network="cnn", convs=NATURE_CONVS, fc=512,
                      pi_init_scale=0.01, seed=0)
    assert [v.name for v in default.params] == [v.name for v in explicit.params]
    for a, b in zip(default.params, explicit.params):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_paper_network_sizes_can_be_overridden():
    p = Policy((36, 36, 2), ("discrete", 3), network="cnn_paper", fc=16, seed=0)
    s = shapes(p)
    # 36 -> 8 -> 3 -> 1 with the paper's convs
    assert s["c3/w"] == (3, 3, 64, 32) and s["fc1/w"] == (32, 16) and s["pi/w"] == (16, 3)


def test_unknown_network_is_refused():
    with pytest.raises(ValueError, match="cnn_paper"):
        Policy(OBS, ("discrete", NACT), network="nature")


def test_build_policy_accepts_cnn_paper():
    env = SimpleNamespace(single_observation_space=gym.spaces.Box(0, 255, OBS, np.uint8),
                          single_action_space=gym.spaces.Discrete(NACT))
    policy = build_policy(env, "cnn_paper", seed=0, one_dim_bias=True)
    assert policy.network == "cnn_paper" and policy.obs_dtype == tf.uint8
    assert shapes(policy)["c3/w"] == (3, 3, 64, 32)
    assert shapes(build_policy(env, "cnn", seed=0))["c3/w"] == (3, 3, 64, 64)


def factor_dims(model):
    out = {}
    for v in model.params:
        a, g = model.optim.factors_of(v)
        out[v.name.split(":")[0]] = (None if a is None else tuple(a.shape),
                                     None if g is None else tuple(g.shape))
    return out


def test_kfac_factor_sizes_of_the_paper_network():
    """Biases added with ``+`` (as in 3f676f7 and master) get gradient-only blocks, so
    fc1's activation factor is 1568² (3136² for nature_cnn); with ``tf.nn.bias_add``
    (``biasadd=True``) the homogeneous bias row makes it 1569² (3137²)."""
    model = Model(Policy(OBS, ("discrete", NACT), network="cnn_paper", seed=0), 2, 10 ** 6,
                  nsteps=1, is_async=False)
    try:
        dims = factor_dims(model)
    finally:
        model.close()
    assert dims == {
        "c1/w": ((256, 256), (32, 32)), "c1/b": (None, (32, 32)),
        "c2/w": ((512, 512), (64, 64)), "c2/b": (None, (64, 64)),
        "c3/w": ((576, 576), (32, 32)), "c3/b": (None, (32, 32)),
        "fc1/w": ((1568, 1568), (512, 512)), "fc1/b": (None, (512, 512)),
        "pi/w": ((512, 512), (NACT, NACT)), "pi/b": (None, (NACT, NACT)),
        "vf/w": ((512, 512), (1, 1)), "vf/b": (None, (1, 1)),
    }
    for network, n_in in (("cnn_paper", 1568), ("cnn", 3136)):
        model = Model(Policy(OBS, ("discrete", NACT), network=network, biasadd=True, seed=0), 2,
                      10 ** 6, nsteps=1, is_async=False)
        try:
            dims = factor_dims(model)
        finally:
            model.close()
        assert dims["fc1/w"] == ((n_in + 1, n_in + 1), (512, 512))
        assert dims["fc1/b"] == (None, None)  # folded into fc1/w's block


def test_acktr_update_on_the_paper_network_is_finite():
    """A few synchronous ACKTR updates past a 1-update cold phase (so that at least
    one preconditions with the eigen-decomposed 1568² factor) stay finite and move
    every parameter."""
    nb = 4
    model = Model(Policy(OBS, ("discrete", NACT), network="cnn_paper", seed=0), nb, 10 ** 6,
                  nsteps=1, is_async=False, kfac_options=dict(cold_iter=1))
    try:
        rng = np.random.default_rng(0)
        before = [p.numpy().copy() for p in model.params]
        for _ in range(3):
            obs = rng.integers(0, 256, (nb, *OBS), dtype=np.uint8)
            act = rng.integers(0, NACT, nb).astype(np.int32)
            adv = rng.normal(size=nb).astype(np.float32)
            ret = rng.normal(size=nb).astype(np.float32)
            out = model.train_on_batch(obs, act, adv, ret, 0.25)
            assert np.all(np.isfinite(np.asarray(out, np.float64)))
        assert int(model.optim.factor_step.numpy()) >= 1  # preconditioned at least once
        for p, b in zip(model.params, before):
            assert np.all(np.isfinite(p.numpy())), p.name
            assert not np.array_equal(p.numpy(), b), f"{p.name} did not move"
        for s in model.optim.stats:
            assert np.all(np.isfinite(s.numpy()))
    finally:
        model.close()
