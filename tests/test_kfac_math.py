"""K-FAC maths checked independently of the recorded vectors."""
import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr.acktr import Model
from baselines_acktr.kfac import KfacOptimizer
from baselines_acktr.common.policies import Policy


def linear_model(nin=3, nact=4, nbatch=8, biasadd=False, **kfac_options):
    """pi and vf heads straight on the observation (no hidden layer)."""
    policy = Policy([nin], ("discrete", nact), network="mlp", hidden=(), biasadd=biasadd, seed=1)
    return Model(policy, nenvs=nbatch, nsteps=1, total_timesteps=1000, kfac_options=kfac_options)


def named(model):
    return {v.name.split(":")[0]: v for v in model.params}


def index_of(model, var):
    return [id(v) for v in model.params].index(id(var))


def random_spd(rng, n, floor=0.1):
    m = rng.normal(size=(n, n))
    return (m @ m.T / n + floor * np.eye(n)).astype(np.float32)


def test_kfac_block_equals_exact_fisher_when_activations_are_shared():
    """With the same input row for every sample, E[aaᵀ ⊗ ggᵀ] = E[aaᵀ] ⊗ E[ggᵀ]: the
    K-FAC block of pi/w must equal the exact Fisher of the sampled loss."""
    rng = np.random.default_rng(0)
    nb, nin, nact = 8, 3, 4
    model = linear_model(nin, nact, nb)
    # Give the policy non-trivial logits so that the per-sample gradients differ.
    named(model)["pi/w"].assign(rng.normal(size=(nin, nact)).astype(np.float32))
    x = np.tile(rng.normal(size=(1, nin)).astype(np.float32), (nb, 1))
    acts = rng.integers(0, nact, nb).astype(np.int32)
    zeros = tf.zeros([nb])
    _, _, stats = model.gradients_and_stats(tf.constant(x), tf.constant(acts), zeros, zeros,
                                            tf.constant(rng.normal(size=nb), tf.float32))
    a_var, g_var = model.optim.factors_of(named(model)["pi/w"])
    idx = {id(v): i for i, v in enumerate(model.optim.stats)}
    A, G = stats[idx[id(a_var)]].numpy(), stats[idx[id(g_var)]].numpy()

    # Exact Fisher from per-sample gradients of the sampled log-likelihood.
    w = named(model)["pi/w"]
    with tf.GradientTape() as tape:
        pd, _ = model.policy(tf.constant(x))
        per_sample = -pd.neglogp(tf.constant(acts))
    jac = tape.jacobian(per_sample, w).numpy().reshape(nb, -1)  # row-major vec(W)
    exact = jac.T @ jac / nb
    np.testing.assert_allclose(np.kron(A, G), exact, rtol=1e-4, atol=1e-6)


def _set_factors(model, rng):
    for var in model.optim.stats:
        var.assign(random_spd(rng, var.shape[0]))
    model.optim.apply_stats_eigen(model.optim.compute_stats_eigen())


def test_eigen_path_inverts_the_kronecker_product():
    """(A⊗G + εI)⁻¹ vec(Γ) = vec of the eigen-basis formula, for weights and biases."""
    rng = np.random.default_rng(1)
    eps = 0.01
    model = linear_model(epsilon=eps, clip_kl=1e30)
    _set_factors(model, rng)
    grads = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in model.params]
    u = model.optim.precondition(grads, tf.constant(0.1))
    for i, var in enumerate(model.params):
        a_var, g_var = model.optim.factors_of(var)
        G = g_var.numpy().astype(np.float64)
        gam = grads[i].numpy().astype(np.float64)
        if a_var is not None:
            A = a_var.numpy().astype(np.float64)
            want = np.linalg.solve(np.kron(A, G) + eps * np.eye(A.shape[0] * G.shape[0]),
                                   gam.reshape(-1)).reshape(gam.shape)
        else:  # bias: gradient-only block, (G + εI)⁻¹ on the right
            want = np.linalg.solve(G + eps * np.eye(G.shape[0]), gam.reshape(-1))
        np.testing.assert_allclose(u[i].numpy(), want.reshape(gam.shape), rtol=2e-3, atol=1e-5)
        # and A⁻¹ Γ G⁻¹ form for the weight (kron identity without damping)
        if a_var is not None:
            vec_form = np.linalg.solve(np.kron(A, G), gam.reshape(-1)).reshape(gam.shape)
            mat_form = np.linalg.solve(A, gam) @ np.linalg.inv(G)
            np.testing.assert_allclose(vec_form, mat_form, rtol=1e-8, atol=1e-10)


def test_homogeneous_bias_is_preconditioned_with_its_weight():
    rng = np.random.default_rng(2)
    eps = 0.01
    model = linear_model(biasadd=True, epsilon=eps, clip_kl=1e30)
    by = named(model)
    a_var, g_var = model.optim.factors_of(by["pi/w"])
    assert a_var.shape[0] == 3 + 1  # [x, 1]
    assert model.optim.factors_of(by["pi/b"]) == (None, None)
    _set_factors(model, rng)
    grads = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in model.params]
    u = model.optim.precondition(grads, tf.constant(0.1))
    i_w, i_b = index_of(model, by["pi/w"]), index_of(model, by["pi/b"])
    stacked = np.concatenate([grads[i_w].numpy(), grads[i_b].numpy()[None]], 0).astype(np.float64)
    A, G = a_var.numpy().astype(np.float64), g_var.numpy().astype(np.float64)
    want = np.linalg.solve(np.kron(A, G) + eps * np.eye(A.shape[0] * G.shape[0]),
                           stacked.reshape(-1)).reshape(stacked.shape)
    np.testing.assert_allclose(u[i_w].numpy(), want[:-1], rtol=2e-3, atol=1e-5)
    np.testing.assert_allclose(u[i_b].numpy(), want[-1], rtol=2e-3, atol=1e-5)


@pytest.mark.parametrize("clip_kl", [1e-6, 1e6])
def test_trust_region_scale(clip_kl):
    """u = min(1, sqrt(clip_kl / vFv))·F̂⁻¹g with vFv = Σ F̂⁻¹g·g·lr² (baselines' form)."""
    rng = np.random.default_rng(3)
    model = linear_model(clip_kl=clip_kl)
    _set_factors(model, rng)
    lr = 0.3
    grads = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in model.params]
    # unscaled direction from an identical optimizer whose trust region never binds
    ref = linear_model(clip_kl=1e30)
    for src, dst in zip(model.optim.stats, ref.optim.stats):
        dst.assign(src)
    ref.optim.apply_stats_eigen(ref.optim.compute_stats_eigen())
    raw = [t.numpy() for t in ref.optim.precondition(grads, tf.constant(lr))]
    u = model.optim.precondition(grads, tf.constant(lr))
    vfv = sum(float(np.sum(r * g.numpy())) for r, g in zip(raw, grads)) * lr * lr
    assert model.optim.vFv.numpy() == pytest.approx(vfv, rel=1e-4)
    scale = min(1.0, np.sqrt(clip_kl / vfv))
    assert (scale < 1.0) == (clip_kl == 1e-6)
    for got, r in zip(u, raw):
        np.testing.assert_allclose(got.numpy(), scale * r, rtol=1e-4, atol=1e-9)


def test_small_and_negative_eigenvalues_are_clipped_to_zero():
    """Eigenvalues ≤ 1e-6 count as 0 (baselines' detectMinVal), so that direction
    is divided by the damping alone."""
    model = linear_model(epsilon=0.01, clip_kl=1e30)
    by = named(model)
    _, g_var = model.optim.factors_of(by["pi/b"])
    g_var.assign(np.diag([-1e-3, 1e-7, 1.0, 2.0]).astype(np.float32))
    model.optim.apply_stats_eigen(model.optim.compute_stats_eigen())
    grads = [tf.ones_like(v) for v in model.params]
    u = model.optim.precondition(grads, tf.constant(0.1))[index_of(model, by["pi/b"])].numpy()
    np.testing.assert_allclose(u, [1 / 0.01, 1 / 0.01, 1 / 1.01, 1 / 2.01], rtol=1e-5)


def test_constructor_defaults_match_baselines():
    opt = KfacOptimizer()
    assert (opt.learning_rate, opt.momentum, opt.clip_kl, opt.kfac_update) == (0.01, 0.9, 0.01, 2)
    assert (opt.cold_iter, opt.epsilon, opt.stats_decay, opt.max_grad_norm) == (100, 1e-2, 0.95, 0.5)
    assert opt.stats_accum_iter == 100  # = cold_iter unless full_stats_init
    assert KfacOptimizer(full_stats_init=True).stats_accum_iter == 60
    assert not opt.is_async and not opt.blockdiag_bias and not opt.approxT2
    with pytest.raises(NotImplementedError, match="channel_fac"):
        KfacOptimizer(channel_fac=True)
    with pytest.raises(NotImplementedError, match="async_stats"):
        KfacOptimizer(async_stats=True)
    with pytest.raises(ValueError, match="kfac_update"):
        KfacOptimizer(kfac_update=0)


def test_weight_decay_dict_adds_to_the_damping_of_its_block():
    rng = np.random.default_rng(4)
    policy = Policy([3], ("discrete", 4), network="mlp", hidden=(), seed=1)
    model = Model(policy, nenvs=8, nsteps=1, total_timesteps=1000, is_async=False,
                  kfac_options=dict(epsilon=0.01, clip_kl=1e30,
                                    weight_decay_dict={policy.pi.w.ref(): 0.5, "vf/w": 0.25}))
    _set_factors(model, rng)
    grads = [tf.constant(rng.normal(size=v.shape), tf.float32) for v in model.params]
    u = model.optim.precondition(grads, tf.constant(0.1))
    for name, damping in (("pi/w", 0.51), ("vf/w", 0.26), ("pi/b", 0.01)):
        var = named(model)[name]
        i = index_of(model, var)
        a_var, g_var = model.optim.factors_of(var)
        G = g_var.numpy().astype(np.float64)
        gam = grads[i].numpy().astype(np.float64)
        if a_var is None:
            want = np.linalg.solve(G + damping * np.eye(G.shape[0]), gam.reshape(-1))
        else:
            A = a_var.numpy().astype(np.float64)
            want = np.linalg.solve(np.kron(A, G) + damping * np.eye(A.shape[0] * G.shape[0]),
                                   gam.reshape(-1))
        np.testing.assert_allclose(u[i].numpy(), want.reshape(gam.shape), rtol=2e-3, atol=1e-5)


@pytest.mark.parametrize("shape,kh,kw,stride", [
    ((3, 84, 84, 4), 8, 8, 4),    # nature CNN c1
    ((2, 20, 20, 32), 4, 4, 2),   # c2
    ((2, 9, 9, 64), 3, 3, 1),     # c3
    ((3, 23, 19, 3), 6, 3, 3),    # rows and columns left over
    ((1, 11, 10, 2), 4, 2, 2),    # one image: no wrap-around pairs
])
@pytest.mark.parametrize("homog", [False, True])
def test_conv_factor_by_rows_equals_patch_products(shape, kh, kw, stride, homog):
    """conv_stats='rows' sums the same patch products as building every patch."""
    from baselines_acktr.kfac.patches import patch_gram_by_rows

    x = tf.constant(np.random.default_rng(1).normal(size=shape).astype(np.float32))
    patches = tf.image.extract_patches(x, [1, kh, kw, 1], [1, stride, stride, 1],
                                       [1, 1, 1, 1], "VALID")
    p = patches.numpy().reshape(-1, patches.shape[-1]).astype(np.float64)
    if homog:
        p = np.concatenate([p, np.ones((len(p), 1))], axis=1)
    gram, oh, ow = patch_gram_by_rows(x, kh, kw, stride, homog)
    assert (oh, ow) == tuple(patches.shape[1:3])
    want = p.T @ p
    np.testing.assert_allclose(gram.numpy(), want, rtol=0, atol=2e-6 * np.abs(want).max())


@pytest.mark.slow
def test_conv_stats_option_gives_the_same_factors():
    obs = np.random.default_rng(2).integers(0, 256, (8, 84, 84, 4), dtype=np.uint8)
    act = np.zeros(8, np.int32)
    vec = np.ones(8, np.float32)
    stats = {}
    for mode in ("rows", "patches"):
        model = Model(Policy((84, 84, 4), ("discrete", 6), network="cnn", seed=0), 8, 10 ** 6,
                      nsteps=1, is_async=False, kfac_options=dict(conv_stats=mode))
        model.train_on_batch(obs, act, vec, vec, 0.25, noise=np.zeros(8, np.float32))
        stats[mode] = [s.numpy() for s in model.optim.stats]
    for a, b in zip(stats["rows"], stats["patches"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(b).max())
    with pytest.raises(ValueError, match="conv_stats"):
        KfacOptimizer(conv_stats="fast")


@pytest.mark.parametrize("network,obs_shape", [pytest.param("cnn", (84, 84, 4), marks=pytest.mark.slow),
                                              ("mlp", (5,))])
def test_stats_subsample_uses_every_kth_sample(network, obs_shape):
    """On a batch where every sample appears k times in a row, the statistics of
    every k-th sample are those of the whole batch (the scaling of δ by the full
    batch size included); the parameters after the step agree too."""
    k, unique = 4, 3
    rng = np.random.default_rng(3)
    if network == "cnn":
        obs = rng.integers(0, 256, (unique, *obs_shape), dtype=np.uint8)
    else:
        obs = rng.normal(size=(unique, *obs_shape)).astype(np.float32)
    rep = lambda a: np.repeat(a, k, axis=0)  # noqa: E731
    batch = (rep(obs), rep(np.array([0, 1, 2], np.int32)), rep(rng.normal(size=unique).astype(np.float32)),
             rep(rng.normal(size=unique).astype(np.float32)))
    noise = rep(rng.normal(size=unique).astype(np.float32))
    out = {}
    for sub in (1, k):
        model = Model(Policy(obs_shape, ("discrete", 3), network=network, seed=0), unique * k,
                      10 ** 6, nsteps=1, is_async=False, kfac_options=dict(stats_subsample=sub))
        model.train_on_batch(*batch, 0.25, noise=noise)
        out[sub] = ([s.numpy() for s in model.optim.stats], [p.numpy() for p in model.params])
    for a, b in zip(out[k][0] + out[k][1], out[1][0] + out[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * (np.abs(b).max() + 1e-12))
    assert any(np.abs(s).max() > 0 for s in out[k][0])
    with pytest.raises(ValueError, match="stats_subsample"):
        KfacOptimizer(stats_subsample=0)
