"""Action distributions; port baselines ``common/distributions.py`` (the parts ACKTR uses).

The formulas are baselines' own rather than tensorflow-probability's: the
parity vectors fix the float order of the entropy (``Σ p·(log Z − a0)``) and of
the Gaussian log-likelihood, and K-FAC's logstd block sits on baselines'
``0·μ + logstd`` tensor.
"""
import numpy as np
import tensorflow as tf


class CategoricalPd:
    """Ports ``CategoricalPd``: softmax over ``logits``."""

    def __init__(self, logits):
        self.logits = logits

    def neglogp(self, actions):
        labels = tf.one_hot(tf.cast(actions, tf.int32), tf.shape(self.logits)[-1])
        return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=self.logits)

    def entropy(self):
        a0 = self.logits - tf.reduce_max(self.logits, axis=-1, keepdims=True)
        ea0 = tf.exp(a0)
        z0 = tf.reduce_sum(ea0, axis=-1, keepdims=True)
        p0 = ea0 / z0
        return tf.reduce_sum(p0 * (tf.math.log(z0) - a0), axis=-1)

    def sample(self, gen):
        """Gumbel-max sampling, as baselines (``argmax(logits − log(−log u))``)."""
        u = gen.uniform(tf.shape(self.logits), dtype=self.logits.dtype)
        return tf.argmax(self.logits - tf.math.log(-tf.math.log(u)), axis=-1, output_type=tf.int32)

    def mode(self):
        return tf.argmax(self.logits, axis=-1, output_type=tf.int32)


class DiagGaussianPd:
    """Ports ``DiagGaussianPd`` with ``logstd`` the per-sample ``0·μ + logstd`` tensor."""

    def __init__(self, mean, logstd):
        self.mean = mean
        self.logstd = logstd
        self.std = tf.exp(logstd)

    def neglogp(self, x):
        nact = tf.cast(tf.shape(x)[-1], tf.float32)
        return (0.5 * tf.reduce_sum(tf.square((x - self.mean) / self.std), axis=-1)
                + 0.5 * np.log(2.0 * np.pi) * nact
                + tf.reduce_sum(self.logstd, axis=-1))

    def entropy(self):
        return tf.reduce_sum(self.logstd + 0.5 * np.log(2.0 * np.pi * np.e), axis=-1)

    def sample(self, gen):
        return self.mean + self.std * gen.normal(tf.shape(self.mean), dtype=self.mean.dtype)

    def mode(self):
        return self.mean
