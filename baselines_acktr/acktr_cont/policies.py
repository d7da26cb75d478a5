"""Gaussian MLP policy of the paper's continuous-control ACKTR.

Ports ``acktr/policies.py`` ``GaussianMlpPolicy`` of baselines branch
``old_acktr_cont``: input ``[obs, prev_obs]`` (``2·ob_dim``), two tanh layers
of 64 units (normc 1.0), a linear mean (normc 0.1), biases 0, all added with
``bias_add``; a state-independent ``logstd`` (zeros) with
``std = exp(logstd)``; weight-decay entries ``w → 3e-4``, ``b → 0`` for the
three dense layers (``wd_dict``, used only as K-FAC damping: the branch never
adds the policy's weight-decay losses to its objective).

The branch's tensors, as methods:

* ``ac_dist = [mean, std]`` (``[B, 2·nact]``): :meth:`GaussianMlpPolicy.ac_dist`;
* ``logprob_n`` of given actions: :meth:`GaussianMlpPolicy.logprob`;
* ``surr = −mean(adv · logprob_n)``, ``surr_sampled = −mean(logprob_n)`` (the
  sampled Fisher loss, at the actions the rollout took):
  :meth:`GaussianMlpPolicy.losses`;
* ``policy.act`` (one sampled action, its ``ac_dist`` and log-probability):
  :meth:`GaussianMlpPolicy.act`;
* ``policy.compute_kl`` (``mean KL(old ‖ new)`` with the branch's
  ``kl_div``): :meth:`GaussianMlpPolicy.compute_kl`.

The density and sampling are tensorflow-probability's (same law as the
branch's formulas); the KL stays the branch's own: its ``1e-8`` in the
denominator makes it differ from tfp's ``kl_divergence``.
"""
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from ..common.distributions import stateless_seed
from ..kfac.layers import LogStd
from ..kfac.tracing import traced
from .layers import WEIGHT_DECAY_FC, ExpLogStd, NormcDense

tfd = tfp.distributions

HIDDEN = 64


def kl_div(action_dist1, action_dist2, action_size):
    """``KL(N(μ1, σ1) ‖ N(μ2, σ2))`` summed over action dimensions; ports the
    branch's ``acktr/utils.kl_div`` (with its ``1e-8`` in the denominator)."""
    mean1, std1 = action_dist1[:, :action_size], action_dist1[:, action_size:]
    mean2, std2 = action_dist2[:, :action_size], action_dist2[:, action_size:]
    numerator = tf.square(mean1 - mean2) + tf.square(std1) - tf.square(std2)
    denominator = 2 * tf.square(std2) + 1e-8
    return tf.reduce_sum(numerator / denominator + tf.math.log(std2) - tf.math.log(std1), axis=-1)


class GaussianMlpPolicy(tf.Module):
    """Ports the branch's ``GaussianMlpPolicy(ob_dim, ac_dim)`` (variables ``pi/...``).

    ``rng``: a ``numpy.random.RandomState`` for the normc weights (drawn
    h1, h2, mean); ``sample_rng``: the ``tf.random.Generator`` of ``act``.
    ``wd_dict`` maps variable names to baselines' weight-decay coefficients;
    ``kfac_layers`` lists the layers in baselines' creation order (K-FAC's
    blocks come from the records of its probe pass, not from this list);
    ``params`` are their trainable variables in that order.

    Ablation switches toward baselines master (defaults: the branch; issue 21):
    ``ent_coef`` (master 0.01: the entropy bonus of master's ``acktr.Model``);
    ``prev_obs=False`` (master's ``Policy`` reads the observation only: the input
    stays ``[obs, prev_obs]`` for the value function, the first layer reads its
    first half); ``weight_decay`` (master 0: no damping entries); ``init='ortho'``
    (master's ``a2c.utils.fc``: gains √2, √2, 0.01); ``logstd_block='per_sample'``
    (master's ``0·μ + logstd`` from :class:`~baselines_acktr.kfac.layers.LogStd`,
    shape ``[1, nact]``; parameterisation and K-FAC block cannot be separated: the
    block is taken at the tensor the parameterisation creates).
    """

    def __init__(self, ob_dim, ac_dim, rng, sample_rng, name="pi", ent_coef=0.0,
                 prev_obs=True, weight_decay=WEIGHT_DECAY_FC, init="normc",
                 logstd_block="batch"):
        super().__init__(name=name)
        self.ob_dim, self.ac_dim = int(ob_dim), int(ac_dim)
        self.ent_coef, self.prev_obs = float(ent_coef), bool(prev_obs)
        self.in_dim = 2 * self.ob_dim if self.prev_obs else self.ob_dim
        self.wd_dict = {}
        dense = dict(weight_decay_dict=self.wd_dict, weight_decay=weight_decay, init=init)
        self.h1 = NormcDense(f"{name}/h1", self.in_dim, HIDDEN, rng, 1.0, gain=np.sqrt(2), **dense)
        self.h2 = NormcDense(f"{name}/h2", HIDDEN, HIDDEN, rng, 1.0, gain=np.sqrt(2), **dense)
        self.mean = NormcDense(f"{name}/mean", HIDDEN, self.ac_dim, rng, 0.1, gain=0.01, **dense)
        if logstd_block not in ("batch", "per_sample"):
            raise ValueError(f"logstd_block must be 'batch' or 'per_sample', got {logstd_block!r}")
        self.logstd_block = logstd_block
        self.logstd = ExpLogStd(f"{name}/logstd", self.ac_dim) if logstd_block == "batch" \
            else LogStd(f"{name}/logstd", self.ac_dim)
        self.kfac_layers = [self.h1, self.h2, self.mean, self.logstd]
        self.params = [v for layer in self.kfac_layers for v in layer.params]
        self.sample_rng = sample_rng
        ob_spec = tf.TensorSpec([None, 2 * self.ob_dim], tf.float32)
        dist_spec = tf.TensorSpec([None, 2 * self.ac_dim], tf.float32)
        self._act = traced(self._act_impl, [ob_spec])
        self._kl = traced(self._kl_impl, [ob_spec, dist_spec])

    def mean_std(self, ob_no, capture=None):
        """``(mean_na, std_na)``, each ``[B, nact]``; ``ob_no`` is ``[obs, prev_obs]``
        (``prev_obs=False``: only its first ``ob_dim`` columns are read)."""
        if not self.prev_obs:
            ob_no = ob_no[:, :self.ob_dim]
        h1 = tf.tanh(self.h1(ob_no, capture))
        h2 = tf.tanh(self.h2(h1, capture))
        mean_na = self.mean(h2, capture)
        if self.logstd_block == "per_sample":
            return mean_na, tf.exp(self.logstd(mean_na, capture))
        std_na = self.logstd(tf.shape(mean_na)[0], capture)
        return mean_na, std_na

    def ac_dist(self, ob_no, capture=None):
        """``concat([mean, std], 1)``, the branch's ``ac_dist``."""
        mean_na, std_na = self.mean_std(ob_no, capture)
        return tf.concat([mean_na, std_na], 1)

    def distribution(self, ac_dist):
        """The diagonal Gaussian ``ac_dist = [mean, std]`` describes (tfp)."""
        d = self.ac_dim
        return tfd.Independent(tfd.Normal(loc=ac_dist[:, :d], scale=ac_dist[:, d:]),
                               reinterpreted_batch_ndims=1)

    def logprob(self, ac_dist, ac_na):
        """Log-density of ``ac_na`` under ``ac_dist``: the branch's ``logprob_n``
        (``−Σ log σ − ½ d log 2π − ½ Σ (μ − a)²/σ²``), as tfp's ``log_prob``."""
        return self.distribution(ac_dist).log_prob(ac_na)

    def losses(self, ob_no, ac_na, adv_n, capture=None):
        """``(surr, surr_sampled)``: ``−mean(adv · logp(a))`` and the sampled
        Fisher loss ``−mean(logp(a))`` at the actions taken.  With ``ent_coef``
        (ablation; master's ``acktr.Model``): ``surr − ent_coef · mean(entropy)``,
        the Fisher loss unchanged (as master's ``pg_fisher_loss``)."""
        ac_dist = self.ac_dist(ob_no, capture)
        logprob_n = self.logprob(ac_dist, ac_na)
        surr = -tf.reduce_mean(adv_n * logprob_n)
        if self.ent_coef:  # a Python branch: the default graph stays the branch's
            surr = surr - self.ent_coef * tf.reduce_mean(self.distribution(ac_dist).entropy())
        surr_sampled = -tf.reduce_mean(logprob_n)
        return surr, surr_sampled

    def _act_impl(self, ob_no):
        ac_dist = self.ac_dist(ob_no)
        dist = self.distribution(ac_dist)
        sampled = dist.sample(seed=stateless_seed(self.sample_rng))
        return sampled, ac_dist, dist.log_prob(sampled)

    def act(self, ob):
        """One observation (``[2·ob_dim]``) → ``(ac, ac_dist, logp)`` as numpy; ports ``act``."""
        ac, ac_dist, logp = self._act(tf.convert_to_tensor(np.asarray(ob, np.float32)[None]))
        return ac.numpy()[0], ac_dist.numpy()[0], logp.numpy()[0]

    def _kl_impl(self, ob_no, oldac_dist):
        return tf.reduce_mean(kl_div(oldac_dist, self.ac_dist(ob_no), self.ac_dim))

    def compute_kl(self, ob_no, oldac_dist):
        """``mean KL(old ‖ current)`` over a batch; ports ``compute_kl``."""
        return float(self._kl(tf.convert_to_tensor(np.asarray(ob_no, np.float32)),
                              tf.convert_to_tensor(np.asarray(oldac_dist, np.float32))).numpy())
