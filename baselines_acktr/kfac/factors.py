"""Kronecker factors: a running average of one statistic and its eigen-decomposition.

Paper section 2.2: a layer's Fisher block is approximated as ``A ⊗ S`` with
``A = E[a aᵀ]`` over its input activations and ``S = E[δ δᵀ]`` over the
gradients of the sampled Fisher loss at its output (baselines calls them the
``fprop`` and ``bprop`` factors; the code and docs call them ``A`` and ``G``, so the
paper's ``S`` is ``G`` here).  Each
:class:`Factor` keeps baselines' running average ``cov`` (a superbatch mean for the
first ``accum_iter`` statistics steps, then an EMA; ``apply_stats``) and the
eigen-decomposition ``cov = Q·diag(e)·Qᵀ`` that preconditioning reads
(``computeStatsEigen``).  The three subclasses compute one batch's statistic
with baselines' scalings (``compute_stats``).
"""
from __future__ import annotations

import tensorflow as tf

from .patches import conv_activation_cov

EIGEN_MIN = 1e-6  # baselines kfac_utils.detectMinVal: smaller eigenvalues count as 0


class Factor:
    """One factor's variables: ``cov`` (the running average), ``e`` and ``Q``
    (its last eigen-decomposition; before the first one ``e = 1``, ``Q = I``).

    ``key`` is baselines' name (``<layer>/w/fprop0``, ``<layer>/w/bprop0``);
    ``layer_name`` the registered layer whose record it reads.
    A plain object: the optimizer tracks the variables for checkpoints.
    """

    kind = None  # 'A' (activations) or 'G' (output gradients)

    def __init__(self, key, dim, layer_name):
        self.key, self.dim, self.layer_name = key, int(dim), layer_name
        self.cov = tf.Variable(tf.zeros([self.dim, self.dim]), trainable=False,
                               name="KFAC_STATS/" + key)
        self.e = tf.Variable(tf.ones([self.dim]), trainable=False, name="KFAC_FAC/" + key + "/e")
        self.Q = tf.Variable(tf.eye(self.dim), trainable=False, name="KFAC_FAC/" + key + "/Q")

    def accumulate(self, new, coeff):
        """Superbatch phase: ``cov += coeff·C_batch``."""
        self.cov.assign_add(coeff * new)

    def running_average(self, new, decay, one_minus_decay):
        """EMA phase: ``cov = d·cov + (1 − d)·C_batch`` (two writes, as baselines)."""
        self.cov.assign(self.cov * decay)
        self.cov.assign_add(one_minus_decay * new)

    def decompose(self):
        """``(e, Q)`` of the current average (``tf.linalg.eigh``, float32)."""
        return tf.linalg.eigh(self.cov)

    def install(self, e, q):
        self.e.assign(e)
        self.Q.assign(q)

    def eigen(self):
        """``(Q, ê)`` with eigenvalues ``≤ 1e-6`` (negative ones too) set to 0."""
        e = self.e
        return self.Q, e * tf.cast(e > EIGEN_MIN, e.dtype)


class DenseActivationFactor(Factor):
    """``A = ãᵀã / B`` of a dense layer's input, ``ã = [a, 1]`` with ``homog``."""

    kind = "A"

    def __init__(self, key, record, homog):
        super().__init__(key, int(record.inputs.shape[-1]) + homog, record.layer.layer_name)
        self.homog = bool(homog)

    def statistic(self, x):
        if self.homog:
            x = tf.concat([x, tf.ones([tf.shape(x)[0], 1], x.dtype)], axis=1)
        return tf.matmul(x, x, transpose_a=True) / tf.cast(tf.shape(x)[0], tf.float32)


class ConvActivationFactor(Factor):
    """``A = E[p pᵀ]`` of a conv layer's patches divided by ``Oh·Ow``
    (:func:`.patches.conv_activation_cov`)."""

    kind = "A"

    def __init__(self, key, record, homog, approxT2=False, conv_stats="rows"):
        layer = record.layer
        kh, kw = layer.kernel
        super().__init__(key, kh * kw * int(record.inputs.shape[-1]) + homog, layer.layer_name)
        self.kernel, self.stride, self.padding = layer.kernel, layer.stride, layer.padding
        self.homog, self.approxT2, self.conv_stats = bool(homog), approxT2, conv_stats

    def statistic(self, x):
        return conv_activation_cov(x, self.kernel, self.stride, self.padding, self.homog,
                                   self.approxT2, self.conv_stats)


class GradientFactor(Factor):
    """``G = (B·δ)ᵀ(B·δ) / N`` of the Fisher-loss gradient at a layer's output.

    The Fisher loss is a mean over the batch, so ``δ`` carries a ``1/B`` that the
    factor ``B`` undoes.  For a conv output ``δ`` is reshaped to ``[B·Oh·Ow, F]``
    and scaled by ``Oh·Ow`` first (by its spatial sum with ``approxT2``).
    """

    kind = "G"

    def __init__(self, key, record, approxT2=False):
        super().__init__(key, int(record.outputs.shape[-1]), record.layer.layer_name)
        self.approxT2 = approxT2

    def statistic(self, delta, batch):
        """``batch``: the size of the whole batch the Fisher loss averaged over."""
        if delta.shape.rank == 4:
            oh, ow, c = int(delta.shape[1]), int(delta.shape[2]), int(delta.shape[3])
            if self.approxT2:
                delta = tf.reduce_sum(delta, axis=[1, 2])
            else:
                delta = tf.reshape(delta, [-1, c]) * oh * ow
        delta = delta * batch
        return tf.matmul(delta, delta, transpose_a=True) / tf.cast(tf.shape(delta)[0], tf.float32)
