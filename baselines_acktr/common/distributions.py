"""Action distributions; port baselines ``common/distributions.py`` (the parts ACKTR uses)
on tensorflow-probability.

Baselines' ``neglogp``, ``entropy``, ``sample`` and ``mode`` are tfp's
``-log_prob``, ``entropy``, ``sample`` and ``mode`` of the same distribution:

* :class:`CategoricalPd` — ``tfd.Categorical(logits)``.  Baselines samples by
  Gumbel-max (``argmax(logits − log(−log u))``), an exact sampler of this
  distribution, and computes the entropy as ``Σ p·(log Z − a0)``; tfp's sampler
  and ``−Σ p·log_softmax`` agree in law and to float32 rounding (the parity
  vectors pin the losses to 1e-4 and hold at ~1e-7).
* :class:`DiagGaussianPd` — ``tfd.Independent(tfd.Normal(μ, exp(z_ls)), 1)`` with
  ``z_ls = 0·μ + logstd`` the per-sample log-std tensor that K-FAC's logstd
  block is taken at (``kfac.layers.LogStd``);
* :class:`MultiCategoricalPd` — one ``Categorical`` per component of a
  ``MultiDiscrete`` space on its slice of the logits, log-probabilities and
  entropies summed (baselines' ``MultiCategoricalPd``);
* :class:`BernoulliPd` — ``tfd.Independent(tfd.Bernoulli(logits), 1)`` for
  ``MultiBinary`` (baselines' ``BernoulliPd``: summed sigmoid cross-entropies).

Samples draw their stateless seeds from a ``tf.random.Generator`` (checkpointed
with the model), so acting is reproducible and resumable.
"""
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


def stateless_seed(gen):
    """A stateless seed (``int32 [2]``, what tfp's samplers take) drawn from ``gen``."""
    return gen.uniform_full_int([2], tf.int32)


class CategoricalPd:
    """Ports ``CategoricalPd``: softmax over ``logits`` ``[B, n]``."""

    def __init__(self, logits):
        self.logits = logits
        self.dist = tfd.Categorical(logits=logits)

    def neglogp(self, actions):
        return -self.dist.log_prob(tf.cast(actions, tf.int32))

    def entropy(self):
        return self.dist.entropy()

    def sample(self, gen):
        return self.dist.sample(seed=stateless_seed(gen))

    def mode(self):
        return self.dist.mode()

    def params(self):
        return (self.logits,)

    def kl(self, other):
        """``KL(self ‖ other)`` per sample."""
        return self.dist.kl_divergence(other.dist)


class DiagGaussianPd:
    """Ports ``DiagGaussianPd`` with ``logstd`` the per-sample ``0·μ + logstd`` tensor."""

    def __init__(self, mean, logstd):
        self.mean, self.logstd = mean, logstd
        self.std = tf.exp(logstd)
        self.dist = tfd.Independent(tfd.Normal(loc=mean, scale=self.std),
                                    reinterpreted_batch_ndims=1)

    def neglogp(self, x):
        return -self.dist.log_prob(x)

    def entropy(self):
        return self.dist.entropy()

    def sample(self, gen):
        return self.dist.sample(seed=stateless_seed(gen))

    def mode(self):
        return self.mean

    def params(self):
        return (self.mean, self.logstd)

    def kl(self, other):
        return self.dist.kl_divergence(other.dist)


class MultiCategoricalPd:
    """Ports ``MultiCategoricalPd``: components ``x_i ∈ [start_i, start_i + n_i)`` with
    independent softmaxes over consecutive slices of ``logits`` (``[B, Σ n_i]``)."""

    def __init__(self, nvec, start, logits):
        self.logits = logits
        self.start = tf.constant(start, tf.int32)
        self.parts = [CategoricalPd(lg) for lg in tf.split(logits, list(nvec), axis=-1)]

    def neglogp(self, x):
        x = tf.cast(x, tf.int32) - self.start
        return tf.add_n([p.neglogp(x[..., i]) for i, p in enumerate(self.parts)])

    def entropy(self):
        return tf.add_n([p.entropy() for p in self.parts])

    def sample(self, gen):
        return tf.stack([p.sample(gen) for p in self.parts], axis=-1) + self.start

    def mode(self):
        return tf.stack([p.mode() for p in self.parts], axis=-1) + self.start

    def params(self):
        return (self.logits,)

    def kl(self, other):
        return tf.add_n([p.kl(q) for p, q in zip(self.parts, other.parts)])


class BernoulliPd:
    """Ports ``BernoulliPd``: independent bits with ``P(x_i = 1) = sigmoid(logits_i)``."""

    def __init__(self, logits):
        self.logits = logits
        self.dist = tfd.Independent(tfd.Bernoulli(logits=logits), reinterpreted_batch_ndims=1)

    def neglogp(self, x):
        return -self.dist.log_prob(tf.cast(x, tf.int32))

    def entropy(self):
        return self.dist.entropy()

    def sample(self, gen):
        return self.dist.sample(seed=stateless_seed(gen))

    def mode(self):
        return tf.cast(self.logits > 0, tf.int32)

    def params(self):
        return (self.logits,)

    def kl(self, other):
        return self.dist.kl_divergence(other.dist)
