"""The K-FAC training step, written once for every learner that uses it.

Ports what one ``sess.run`` of baselines' ACKTR train op does (with, when
``is_async``, its eigen queue runner): one forward pass under a persistent
tape; the gradient of the training loss; the gradients of the sampled Fisher
loss at the registered layer outputs (paper section 3.1: the backward pass of
a loss whose targets are sampled from the model); this batch's factor
statistics; then the optimizer step.  ACKTR's :class:`~baselines_acktr.acktr.Model`,
the paper variant's policy and its value function all train through it.

Synchronous: one ``tf.function`` (statistics, eigen-decompositions when due,
update).  Asynchronous: a ``tf.function`` up to the statistics, the exchange
with the eigen thread on the training thread, then a ``tf.function`` for the
update — the thread is started at the first step (and again after
:meth:`KfacTrainStep.close`).  Both are traced once (fixed input signatures).
The host reads one small vector per step (:func:`_status`): whether the statistics
were finite, ``global_step`` and, synchronous, whether the step decomposed — what
:class:`~.async_eigen.EigenAge` and the finiteness check need.
"""
from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from .layers import Capture
from .optimizer import KfacOptimizer
from .tracing import traced


def _status(finite: tf.Tensor, *counters: tf.Tensor) -> tf.Tensor:
    """``[finite, *counters]`` as one int64 vector, for one host read per step."""
    return tf.stack([tf.cast(x, tf.int64) for x in (finite, *counters)])


class KfacTrainStep:
    """``loss_fn(*inputs, capture) -> (loss, fisher_loss, outputs)``: the training
    loss, the sampled Fisher loss and a tuple of tensors the step returns.
    ``input_signature``: ``tf.TensorSpec`` s of ``inputs``.  ``probe(capture)``
    runs one eager forward pass so that the optimizer can build its blocks.
    """

    def __init__(self, optim: KfacOptimizer, params: list[tf.Variable],
                 loss_fn: Callable[..., tuple[tf.Tensor, tf.Tensor, tuple]],
                 input_signature: list[tf.TensorSpec], probe: Callable[[Capture], object]) -> None:
        self.optim, self.params, self.loss_fn = optim, list(params), loss_fn
        capture = Capture()
        probe(capture)
        optim.build(self.params, capture)
        lr_spec = tf.TensorSpec([], tf.float32)
        if optim.config.is_async:
            grad_sig = [tf.TensorSpec(p.shape, p.dtype) for p in self.params]
            self._stats_step = traced(self._stats_impl, input_signature)
            self._update_step = traced(
                self._update_impl, [grad_sig, lr_spec, tf.TensorSpec([], tf.bool)])
        else:
            self._train_step = traced(self._train_impl, list(input_signature) + [lr_spec])

    def gradients_and_stats(self, *inputs: tf.Tensor) -> tuple[tuple, list[tf.Tensor], list[tf.Tensor]]:
        """``(outputs, g, stats)``: ``g = ∇θ loss`` and this batch's factor statistics,
        from one forward pass (the parameters before the update)."""
        capture = Capture()
        with tf.GradientTape(persistent=True) as tape:
            loss, fisher_loss, outputs = self.loss_fn(*inputs, capture)
        grads = tape.gradient(loss, self.params)
        deltas = tape.gradient(fisher_loss, self.optim.factor_outputs(capture))
        del tape
        return outputs, grads, self.optim.compute_stats(capture, deltas)

    def _train_impl(self, *args: tf.Tensor) -> tuple[tuple, tf.Tensor]:
        """``(outputs, [finite, global_step, decomposed])``."""
        *inputs, lr = args
        optim = self.optim
        factor_step = optim.factor_step.read_value()  # before the step: read in program order
        outputs, grads, new_stats = self.gradients_and_stats(*inputs)
        finite = optim.apply_gradients(grads, new_stats, lr)
        decomposed = tf.not_equal(optim.factor_step.read_value(), factor_step)
        return outputs, _status(finite, optim.global_step.read_value(), decomposed)

    def _stats_impl(self, *inputs: tf.Tensor) -> tuple[tuple, list[tf.Tensor], tf.Tensor]:
        """``(outputs, g, [finite, global_step])``; the update leaves ``global_step``."""
        outputs, grads, new_stats = self.gradients_and_stats(*inputs)
        finite = self.optim.update_stats(new_stats)
        return outputs, grads, _status(finite, self.optim.global_step.read_value())

    def _update_impl(self, grads: list[tf.Tensor], lr: tf.Tensor, eigen_ready: tf.Tensor) -> tf.Tensor:
        self.optim.apply_updates(grads, lr, eigen_ready)
        return tf.constant(True)

    def __call__(self, inputs: tuple | list, lr: tf.Tensor) -> tuple:
        """One update on ``inputs`` (tensors of the signature) at rate ``lr`` (a float32
        scalar tensor); returns ``outputs`` as computed before the update."""
        optim = self.optim
        if not optim.config.is_async:
            outputs, status = self._train_step(*inputs, lr)
            finite, step, decomposed = (int(x) for x in status.numpy())
            self._check(finite, step)
            if decomposed:
                optim.eigen_age.installed(step)
            optim.eigen_age.record(step)
            return outputs
        if not optim.async_running:
            optim.start_async()
        outputs, grads, status = self._stats_step(*inputs)
        finite, step = (int(x) for x in status.numpy())
        self._check(finite, step)
        ready = optim.async_exchange()
        self._update_step(grads, lr, tf.constant(ready))
        optim.eigen_age.record(step)
        return outputs

    @staticmethod
    def _check(finite: int, step: int) -> None:
        if not finite:
            raise FloatingPointError(
                f"non-finite K-FAC factor statistics at optimizer step {step} (a NaN or inf "
                "in the activations or in the sampled Fisher-loss gradients); they were not "
                "folded in")

    def close(self) -> None:
        """Stop the eigen thread, if one runs (idempotent; the next step restarts it)."""
        self.optim.stop_async()
