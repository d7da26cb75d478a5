"""Layers of the paper's continuous-control ACKTR (baselines branch ``old_acktr_cont``).

Ports ``acktr/utils.py`` ``dense`` of that branch (``tf.nn.bias_add(x·w, b)``,
weights from ``common/tf_util.normc_initializer``, bias 0, weight-decay entries
``w → 3e-4``, ``b → 0``) and the log-std parameterisation of its
``acktr/policies.py`` (``std = exp(expand_dims(logstd, 0))``, tiled over the
batch), as K-FAC layers that record what :class:`~baselines_acktr.kfac.KfacOptimizer`
needs (see :mod:`baselines_acktr.kfac.layers`).

Blocks K-FAC builds from them, as baselines' op-name search did on that branch:

* ``dense``: the bias is added with ``BiasAdd``, so it is folded into the
  weight's block with homogeneous coordinates (``[x, 1]``);
* ``logstd``: its gradient reaches an ``ExpandDims`` op, which baselines'
  ``searchFactors`` does not know; its "unknown op" branch then takes the
  gradient input of the ``Exp`` gradient, i.e. ``∂L/∂std`` of shape
  ``[1, nact]`` (the ``Tile`` gradient, summed over the batch), as the only
  factor.  Its statistic is therefore the outer product of the batch-level
  gradient with respect to ``std`` (batch size 1), not a per-sample average as
  for master's ``0·μ + logstd``.  :class:`ExpLogStd` records exactly that tensor.
"""
import numpy as np
import tensorflow as tf

from ..common.policies import ortho_init
from ..kfac.layers import Dense

WEIGHT_DECAY_FC = 3e-4  # baselines old_acktr_cont acktr/utils.dense: weight_decay_fc
INITS = ("normc", "ortho")


def normc_init(shape, std, rng):
    """Ports ``tf_util.normc_initializer(std)``: standard normal draws (float64,
    cast to float32), each column scaled to norm ``std``.

    ``rng`` is a ``numpy.random.RandomState``: seeded like baselines'
    ``np.random.seed`` and drawn in the same order, it gives baselines' weights.
    """
    out = rng.randn(*shape).astype(np.float32)
    out *= std / np.sqrt(np.square(out).sum(axis=0, keepdims=True))
    return out


class NormcDense(Dense):
    """``z = bias_add(x·W, b)`` with ``W ~ normc(std)``, ``b = 0``; ports the
    branch's ``acktr/utils.dense`` (variables ``<name>/w`` and ``<name>/b``).

    ``weight_decay_dict``: if given, receives baselines' entries
    ``'<name>/w' → weight_decay`` and ``'<name>/b' → 0.0`` (keyed by variable name,
    which ``KfacOptimizer`` accepts and ``tf.train.Checkpoint`` can track).

    Ablation switches (defaults: the branch): ``weight_decay`` (the branch's
    3e-4; baselines master passes no ``weight_decay_dict``, i.e. 0) and
    ``init='ortho'``: ``W`` orthogonal with gain ``gain`` instead, as baselines
    master's ``a2c.utils.fc`` (:func:`~baselines_acktr.common.policies.ortho_init`, drawn
    from the same ``rng``).
    """

    def __init__(self, name, nin, nout, rng, std=1.0, weight_decay_dict=None,
                 weight_decay=WEIGHT_DECAY_FC, init="normc", gain=1.0):
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        w = normc_init((nin, nout), std, rng) if init == "normc" else \
            ortho_init((nin, nout), gain, rng)
        super().__init__(name, w, np.zeros([nout], np.float32), "bias_add")
        self.weight_decay = weight_decay
        if weight_decay_dict is not None:
            weight_decay_dict[f"{name}/w"] = weight_decay
            weight_decay_dict[f"{name}/b"] = 0.0

    def weight_decay_loss(self):
        """``weight_decay · l2_loss(W)`` (``Σ W² / 2``): the term ``dense`` adds to the
        ``<scope>_losses`` collection."""
        return tf.nn.l2_loss(self.w) * self.weight_decay


class ExpLogStd(tf.Module):
    """State-independent Gaussian std of the branch's ``GaussianMlpPolicy``:
    ``std_1a = exp(expand_dims(logstd, 0))``, ``std_na = tile(std_1a, [B, 1])``.

    ``logstd`` has shape ``[nact]`` and starts at 0.  With a capture, records
    ``std_1a`` as the layer output, so K-FAC's gradient-only block for ``logstd``
    gets the statistic baselines computed (module docstring).
    """

    def __init__(self, name, nact):
        super().__init__(name=name.replace("/", "_"))
        self.layer_name = name
        self.w = tf.Variable(tf.zeros([nact]), name=name)

    @property
    def params(self):
        return [self.w]

    def __call__(self, batch_size, capture=None):
        std_1a = tf.exp(tf.expand_dims(self.w, 0))
        if capture is not None:
            capture.register_logstd(self, std_1a)
        return tf.tile(std_1a, tf.stack([batch_size, 1]))
