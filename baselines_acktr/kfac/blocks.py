"""Curvature blocks: how each trainable variable's gradient is preconditioned.

One class per block kind, built from the layers a forward pass registered
(:func:`build_blocks`), each owning its factors and inverting its part of the
Fisher in their eigenbases (baselines ``getKfacPrecondUpdates``; paper section
2.2: ``(A ⊗ S)⁻¹ vec(∇W) = vec(A⁻¹ ∇W S⁻¹)``, with damping):

* :class:`KroneckerBlock` — a weight with an activation factor ``A`` and a
  gradient factor ``G``; a bias added with ``bias_add`` is folded in through
  homogeneous coordinates (``[∇W; ∇b]``, the last row of the result is the
  bias direction) unless ``blockdiag_bias``;
* :class:`GradientOnlyBlock` — ``G`` alone: a bias added with ``+`` (it shares
  its weight's ``G``, as baselines' ``AddN`` path ends up reusing that
  variable) and ``pi/logstd`` (taken at ``0·μ + logstd``);
* :class:`IdentityBlock` — a variable no layer registered: its raw gradient.

Fully connected layers that read the same input tensor share one ``A``
(baselines' factor cache: ``pi`` and ``vf`` on the shared trunk).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .factors import ConvActivationFactor, DenseActivationFactor, GradientFactor
from .layers import Conv2DRecord, DenseRecord, LogStdRecord


class IdentityBlock:
    """No curvature: the direction is the raw gradient."""

    def __init__(self, index):
        self.indices = (index,)

    def factors_of(self, index):
        return None, None

    def precondition(self, grads, out):
        out[self.indices[0]] = grads[self.indices[0]]


class GradientOnlyBlock:
    """``Γ' = [(Γ·Q_G) ⊘ (ê_Gᵀ + ε)]·Q_Gᵀ`` with ``Γ`` the gradient as one row."""

    def __init__(self, index, var, g, damping):
        self.indices = (index,)
        self.var, self.g, self.damping = var, g, damping

    def factors_of(self, index):
        return None, self.g

    def precondition(self, grads, out):
        i = self.indices[0]
        qg, eg = self.g.eigen()
        t = tf.matmul(tf.reshape(grads[i], [1, -1]), qg) / (eg[None, :] + self.damping)
        out[i] = tf.reshape(tf.matmul(t, qg, transpose_b=True), self.var.shape)


class KroneckerBlock:
    """``Γ' = Q_A·[(Q_Aᵀ·Γ·Q_G) ⊘ (ê_A·ê_Gᵀ + ε)]·Q_Gᵀ`` for a weight (a conv kernel as
    ``[KH·KW·Cin, Cout]``), with an optional folded bias as the last row of ``Γ``.

    ``factored_damping``: the denominator is ``(ê_A + π√ε)(ê_G + √ε/π)ᵀ`` with
    ``π = sqrt(mean|ê_A| / mean|ê_G|)`` (Martens & Grosse 2015, section 6.3).
    """

    def __init__(self, index, var, a, g, damping, bias=None, factored_damping=False):
        self.var, self.a, self.g, self.damping = var, a, g, damping
        self.bias = bias  # (index, variable) of a folded bias, or None
        self.indices = (index,) if bias is None else (index, bias[0])
        self.factored_damping = factored_damping

    def factors_of(self, index):
        if index == self.indices[0]:
            return self.a, self.g
        return None, None  # the folded bias has no factors of its own

    def _denominator(self, ea, eg):
        if not self.factored_damping:
            return ea[:, None] * eg[None, :] + self.damping
        d = tf.pow(tf.constant(self.damping), 0.5)
        ta, tg = tf.reduce_mean(tf.abs(ea)), tf.reduce_mean(tf.abs(eg))
        return (ea[:, None] + tf.sqrt(ta / tg) * d) * (eg[None, :] + tf.sqrt(tg / ta) * d)

    def precondition(self, grads, out):
        i = self.indices[0]
        g2 = tf.reshape(grads[i], [-1, int(self.var.shape[-1])])
        if self.bias is not None:
            g2 = tf.concat([g2, grads[self.bias[0]][None, :]], axis=0)
        qa, ea = self.a.eigen()
        qg, eg = self.g.eigen()
        t = tf.matmul(tf.matmul(qa, g2, transpose_a=True), qg)
        t = t / self._denominator(ea, eg)
        t = tf.matmul(tf.matmul(qa, t), qg, transpose_b=True)
        if self.bias is not None:
            bi, bias = self.bias
            out[bi] = tf.reshape(t[-1:], bias.shape)
            t = t[:-1]
        out[i] = tf.reshape(t, self.var.shape)


# --------------------------------------------------------------------------- building
class _Builder:
    """Walks the registered layers in call order and creates factors and blocks in
    baselines' order (per layer: ``A``, then ``G``)."""

    def __init__(self, var_list, config, damping):
        self.var_list, self.config, self.damping = var_list, config, damping
        self.index = {id(v): i for i, v in enumerate(var_list)}
        self.factors, self.blocks = [], []
        self.shared_inputs = {}  # (id(inputs), homog) -> activation factor (fc only)

    def _index(self, var, layer_name):
        if id(var) not in self.index:
            raise ValueError(f"variable {var.name} of layer {layer_name} is not in var_list")
        return self.index[id(var)]

    def _add(self, factor):
        self.factors.append(factor)
        return factor

    def logstd(self, record):
        layer = record.layer
        i = self._index(layer.w, layer.layer_name)
        g = self._add(GradientFactor(f"{layer.layer_name}/bprop0", record, self.config.approxT2))
        self.blocks.append(GradientOnlyBlock(i, layer.w, g, self.damping[i]))

    def weight(self, record):
        layer, cfg = record.layer, self.config
        homog = layer.bias_mode == "bias_add" and not cfg.blockdiag_bias
        wi = self._index(layer.w, layer.layer_name)
        bi = self._index(layer.b, layer.layer_name)
        key = f"{layer.layer_name}/w/fprop0"
        if isinstance(record, DenseRecord):
            a = self.shared_inputs.get((id(record.inputs), homog))
            if a is None:
                a = self._add(DenseActivationFactor(key, record, homog))
                self.shared_inputs[id(record.inputs), homog] = a
        else:
            a = self._add(ConvActivationFactor(key, record, homog, cfg.approxT2, cfg.conv_stats))
        g = self._add(GradientFactor(f"{layer.layer_name}/w/bprop0", record, cfg.approxT2))
        bias = (bi, layer.b) if homog else None
        self.blocks.append(KroneckerBlock(wi, layer.w, a, g, self.damping[wi], bias,
                                          cfg.factored_damping))
        if not homog:
            self.blocks.append(GradientOnlyBlock(bi, layer.b, g, self.damping[bi]))


def build_blocks(var_list, capture, config, damping):
    """``(factors, blocks)`` for ``var_list`` from the records of one forward pass;
    ``damping[i]`` is variable ``i``'s ``ε`` plus its weight decay.  Every variable
    is covered by exactly one block (an :class:`IdentityBlock` if no layer owns it)."""
    builder = _Builder(var_list, config, damping)
    for record in capture:
        if isinstance(record, LogStdRecord):
            builder.logstd(record)
        elif isinstance(record, (DenseRecord, Conv2DRecord)):
            builder.weight(record)
        else:
            raise TypeError(f"unknown layer record {type(record).__name__}")
    covered = {i for blk in builder.blocks for i in blk.indices}
    blocks = builder.blocks + [IdentityBlock(i) for i in range(len(var_list)) if i not in covered]
    return builder.factors, blocks


def damping_of(var, epsilon, weight_decay_dict):
    """``float32(ε + weight decay of var)``; ``weight_decay_dict`` keys are variable
    names or ``var.ref()`` (baselines keyed it by variable)."""
    name = var.name.split(":")[0]
    coeff = 0.0
    for key, value in weight_decay_dict.items():
        if (isinstance(key, str) and key == name) or key is var or \
                (hasattr(key, "deref") and key.deref() is var):
            coeff = value
            break
    return np.float32(epsilon + coeff)
