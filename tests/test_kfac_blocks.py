"""The curvature-block contract (kfac/blocks.py): the registry, and the diagonal
blocks checked against the exact Fisher of their parameters on a small batch."""
import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr.kfac import Capture, Dense, KfacOptimizer
from baselines_acktr.kfac.blocks import (BLOCKS, CurvatureBlock, DiagonalBlock, IdentityBlock,
                                         KroneckerBlock, ScaleAndShiftBlock, build_blocks,
                                         register_block)
from baselines_acktr.kfac.config import KfacConfig
from baselines_acktr.kfac.factors import DiagonalFactor, EigenFactor
from baselines_acktr.kfac.layers import ScaleAndShift
from baselines_acktr.kfac.train_step import KfacTrainStep

B, T, D, K = 6, 3, 4, 5  # batch, positions, features, classes


def normalise(x):
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + 1e-3)


class Net:
    """``x [B, T, D]`` → layer norm (``γ``, ``β``) → sum over positions → Dense → ``+ c``,
    with ``c`` a logit offset no layer registers."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.ln = ScaleAndShift("ln", [D])
        self.ln.w.assign(rng.normal(1.0, 0.3, D).astype(np.float32))
        self.ln.b.assign(rng.normal(0.0, 0.3, D).astype(np.float32))
        self.fc = Dense("fc", rng.normal(0, 0.7, (D, K)), np.zeros(K), bias_mode="bias_add")
        self.c = tf.Variable(rng.normal(0, 0.5, K).astype(np.float32), name="offset")
        self.params = [self.ln.w, self.ln.b, self.fc.w, self.fc.b, self.c]

    def __call__(self, x, capture=None):
        h = tf.reduce_sum(self.ln(normalise(x), capture), axis=1)
        return self.fc(h, capture) + self.c


def data(seed=1, batch=B):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(size=(batch, T, D)).astype(np.float32))


def sampled_labels(net, x, seed=2):
    return tf.random.stateless_categorical(net(x), 1, seed=[seed, 0])[:, 0]


def train_step(net, x, **options):
    """``KfacTrainStep`` with the Fisher loss at given labels (sampled from the model)."""
    optim = KfacOptimizer(**options)

    def loss_fn(x, labels, capture):
        logits = net(x, capture)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return tf.reduce_mean(ce), tf.reduce_mean(ce), ()

    sig = [tf.TensorSpec(x.shape, tf.float32), tf.TensorSpec([x.shape[0]], tf.int64)]
    return KfacTrainStep(optim, net.params, loss_fn, sig, probe=lambda cap: net(x, cap))


def exact_fisher_diagonal(net, x, labels, var):
    """``mean_n (∂ log p(y_n | x_n) / ∂θ)²``: the diagonal of the sampled Fisher."""
    with tf.GradientTape() as tape:
        logp = -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=net(x))
    jac = tape.jacobian(logp, var).numpy().reshape(x.shape[0], -1)
    return np.mean(jac ** 2, axis=0).reshape(var.shape)


def position(params, var):
    return [id(v) for v in params].index(id(var))


def stats_of(step, var, x, labels):
    _, _, stats = step.gradients_and_stats(x, labels)
    pos = position(step.params, var)
    blk = next(b for b in step.optim.blocks if pos in b.indices)
    factor = blk.factors[blk.indices.index(pos)]
    return stats[step.optim.factors.index(factor)].numpy(), factor, blk


def test_registry_maps_every_record_type_to_one_block():
    step = train_step(Net(), data())
    kinds = sorted(type(b).__name__ for b in step.optim.blocks)
    assert kinds == ["IdentityBlock", "KroneckerBlock", "ScaleAndShiftBlock"]
    assert {t.__name__: c.__name__ for t, c in BLOCKS.items()} == {
        "LogStdRecord": "GradientOnlyBlock", "DenseRecord": "KroneckerBlock",
        "Conv2DRecord": "KroneckerBlock", "ScaleAndShiftRecord": "ScaleAndShiftBlock"}
    covered = sorted(i for b in step.optim.blocks for i in b.indices)
    assert covered == list(range(len(step.params)))
    # the eigen thread and the checkpoint's eig_* see only the factors it decomposes
    assert [type(f).__name__ for f in step.optim.eigen_factors] == ["DenseActivationFactor",
                                                                    "GradientFactor"]
    assert len(step.optim.stats) == 4 and len(step.optim.eig_e) == 2


@pytest.mark.parametrize("part", ["scale", "shift"])
def test_scale_and_shift_factor_is_the_exact_fisher_diagonal(part):
    net, x = Net(), data()
    labels = sampled_labels(net, x)
    step = train_step(net, x)
    var = net.ln.w if part == "scale" else net.ln.b
    stat, factor, blk = stats_of(step, var, x, labels)
    assert isinstance(blk, ScaleAndShiftBlock) and isinstance(factor, DiagonalFactor)
    np.testing.assert_allclose(stat, exact_fisher_diagonal(net, x, labels, var), rtol=1e-4, atol=1e-7)


def test_scale_and_shift_block_divides_by_the_damped_diagonal():
    net, x = Net(), data()
    step = train_step(net, x, epsilon=0.05)
    blk = next(b for b in step.optim.blocks if isinstance(b, ScaleAndShiftBlock))
    rng = np.random.default_rng(3)
    for f in blk.factors:
        f.cov.assign(rng.uniform(0.1, 2.0, D).astype(np.float32))
    grads = [tf.constant(rng.normal(size=v.shape).astype(np.float32)) for v in net.params]
    out = blk.precondition(grads)
    assert sorted(out) == [0, 1]
    for i, f in zip(blk.indices, blk.factors):
        np.testing.assert_allclose(out[i].numpy(), grads[i].numpy() / (f.cov.numpy() + 0.05),
                                   rtol=1e-6)


def test_unregistered_variable_keeps_its_raw_gradient_by_default():
    net, x = Net(), data()
    step = train_step(net, x)
    i = position(net.params, net.c)
    blk = next(b for b in step.optim.blocks if i in b.indices)
    assert isinstance(blk, IdentityBlock) and blk.factors == ()
    g = [tf.constant(np.full(v.shape, 0.5, np.float32)) for v in net.params]
    np.testing.assert_array_equal(blk.precondition(g)[i].numpy(), g[i].numpy())


def test_diagonal_fallback_is_exact_for_one_sample():
    net, x = Net(), data(batch=1)
    labels = sampled_labels(net, x)
    step = train_step(net, x, diagonal_fallback=True)
    stat, factor, blk = stats_of(step, net.c, x, labels)
    assert isinstance(blk, DiagonalBlock) and not isinstance(factor, EigenFactor)
    np.testing.assert_allclose(stat, exact_fisher_diagonal(net, x, labels, net.c), rtol=1e-5)


def test_diagonal_fallback_is_unbiased_over_sampled_targets():
    """For the logit offset ``c``, ``E_y[(p − e_y)²] = p(1 − p)`` per example: the mean of
    the fallback statistic over many sampled label sets approaches ``mean_n p_n(1 − p_n)``."""
    net, x = Net(), data()
    step = train_step(net, x, diagonal_fallback=True)
    p = tf.nn.softmax(net(x)).numpy()
    target = np.mean(p * (1 - p), axis=0)
    i = step.optim.factors.index(next(b for b in step.optim.blocks
                                      if isinstance(b, DiagonalBlock)).factors[0])
    stats = tf.function(lambda x, y: step.gradients_and_stats(x, y)[2][i])
    draws = 2000
    labels = tf.random.stateless_categorical(tf.math.log(tf.constant(p)), draws, seed=[7, 0])
    mean = np.mean([stats(x, labels[:, k]).numpy() for k in range(draws)], axis=0)
    np.testing.assert_allclose(mean, target, rtol=0.1)
    assert not np.allclose(mean, np.mean(p, axis=0) ** 2, rtol=0.1)  # not the squared mean


@pytest.mark.parametrize("diagonal_fallback", [False, True])
def test_a_model_with_diagonal_blocks_trains_the_same_sync_and_async(diagonal_fallback):
    x = data()
    labels = sampled_labels(Net(), x)
    finals = []
    for options in (dict(is_async=False), dict(is_async=True, deterministic_async=True)):
        net = Net()
        step = train_step(net, x, kfac_update=2, cold_iter=2, stats_accum_iter=2,
                          diagonal_fallback=diagonal_fallback, **options)
        losses = []
        for _ in range(8):
            step((x, labels), tf.constant(0.05))
            losses.append(float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=net(x)))))
        step.close()
        assert step.optim.factor_step.numpy() > 0
        assert losses[-1] < losses[0]
        finals.append([v.numpy() for v in net.params])
    for a, b in zip(*finals):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_new_block_is_one_class_and_one_registry_entry():
    """A record type of its own, one ``CurvatureBlock`` subclass registered for it:
    ``build_blocks`` uses it, and the optimizer's direction is what it returns."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class TemperatureRecord:
        layer: object
        outputs: tf.Tensor

    try:
        @register_block(TemperatureRecord)
        class HalvingBlock(CurvatureBlock):
            def __init__(self, index):
                self.indices, self.factors = (index,), ()

            @classmethod
            def build(cls, builder, record):
                return [cls(builder.index(record.layer.w, record.layer.layer_name))]

            def precondition(self, grads):
                return {self.indices[0]: 0.5 * grads[self.indices[0]]}

        class Temperature:
            layer_name = "temp"
            w = tf.Variable([2.0])

        capture = Capture()
        capture.register(TemperatureRecord(Temperature, tf.zeros([3, 1])))
        factors, blocks = build_blocks([Temperature.w], capture, KfacConfig(), [0.01])
        assert factors == [] and isinstance(blocks[0], HalvingBlock)
        with pytest.raises(ValueError, match="already has block HalvingBlock"):
            register_block(TemperatureRecord)(KroneckerBlock)
    finally:
        BLOCKS.pop(TemperatureRecord, None)
    with pytest.raises(TypeError, match="no curvature block registered for TemperatureRecord"):
        build_blocks([Temperature.w], capture, KfacConfig(), [0.01])


def test_capture_batch_size_needs_a_record_or_a_value():
    capture = Capture()
    with pytest.raises(ValueError, match="set Capture.batch_size"):
        capture.batch()
    capture.batch_size = 7
    assert float(capture.batch()) == 7.0
