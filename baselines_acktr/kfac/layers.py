"""Layers that register what K-FAC needs during a forward pass.

Baselines' TF1 ``KfacOptimizer.getFactors`` found the Kronecker factors by
searching the graph for ops named ``gradientsSampled/.../MatMul_grad``.  TF2
has no such graph, so here each layer says what it is, as kfac-jax's layer
tags and tensorflow/kfac's ``LayerCollection.register_*`` do: run with a
:class:`Capture`, a layer registers a typed record of its input activations
``a`` and its output ``z`` after the bias.  The gradient of the sampled Fisher
loss with respect to ``z`` is the backpropagated factor ``δ`` (paper section
2.2: ``F ≈ A ⊗ S`` with ``A = E[a aᵀ]``, ``S = E[δ δᵀ]``).

A new kind of layer is a record type here, a layer that registers it, and a
curvature block registered for the record type (:mod:`.blocks`).

``bias_mode``:
  ``'add'``       the bias is added with a plain broadcast ``+``, as baselines'
                  ``fc``/``conv`` helpers do; it gets a gradient-only block that
                  shares the weight's gradient factor;
  ``'bias_add'``  the bias is added with ``tf.nn.bias_add``; baselines then uses
                  homogeneous coordinates (``[a, 1]``) unless ``blockdiag_bias``.

Initial values come from the caller (``common.policies.ortho_init``,
``acktr_cont.layers.normc_init``): this package knows nothing of RL.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from numpy.typing import ArrayLike

BIAS_MODES = ("add", "bias_add")


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class DenseRecord:
    """``z = a·W (+ b)``: ``inputs`` is ``a`` ``[B, nin]``, ``outputs`` is ``z``."""
    layer: Dense
    inputs: tf.Tensor
    outputs: tf.Tensor


@dataclass(frozen=True)
class Conv2DRecord:
    """``z = conv2d(a, W) (+ b)``: ``inputs`` ``[B, H, W, C]``, ``outputs`` ``[B, Oh, Ow, F]``."""
    layer: Conv2D
    inputs: tf.Tensor
    outputs: tf.Tensor


@dataclass(frozen=True)
class LogStdRecord:
    """A state-independent log-std (or std) parameter: ``outputs`` is the tensor at which
    its gradient-only Fisher block is taken."""
    layer: LogStd
    outputs: tf.Tensor


@dataclass(frozen=True)
class ScaleAndShiftRecord:
    """``y = x̂ ⊙ γ + β`` elementwise over the trailing axes of ``γ`` (a normalisation
    layer's affine part): ``inputs`` is ``x̂``, ``outputs`` is ``y``."""
    layer: ScaleAndShift
    inputs: tf.Tensor
    outputs: tf.Tensor


Record = DenseRecord | Conv2DRecord | LogStdRecord | ScaleAndShiftRecord


class Capture:
    """The layer records of one forward pass, in call order (tensorflow/kfac's
    ``LayerCollection`` for one pass).  Keys are the layers' names.

    ``batch_size``: the batch the Fisher loss averages over; by default the
    largest leading dimension of the records' outputs (set it when no layer is
    registered, or when none has the batch as its leading dimension).
    """

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.batch_size: int | tf.Tensor | None = None

    def register(self, record: Record) -> None:
        """Add one layer's record (a layer may register once per forward pass)."""
        name = record.layer.layer_name
        if name in self.records:
            raise ValueError(f"layer {name!r} registered twice in one forward pass")
        self.records[name] = record

    def register_dense(self, layer: Dense, inputs: tf.Tensor, outputs: tf.Tensor) -> None:
        self.register(DenseRecord(layer, inputs, outputs))

    def register_conv2d(self, layer: Conv2D, inputs: tf.Tensor, outputs: tf.Tensor) -> None:
        self.register(Conv2DRecord(layer, inputs, outputs))

    def register_logstd(self, layer: LogStd, outputs: tf.Tensor) -> None:
        self.register(LogStdRecord(layer, outputs))

    def register_scale_and_shift(self, layer: ScaleAndShift, inputs: tf.Tensor,
                                 outputs: tf.Tensor) -> None:
        self.register(ScaleAndShiftRecord(layer, inputs, outputs))

    def batch(self) -> tf.Tensor:
        """``batch_size`` as a float32 scalar."""
        if self.batch_size is not None:
            return tf.cast(self.batch_size, tf.float32)
        if not self.records:
            raise ValueError("no layer registered in this forward pass: set Capture.batch_size")
        rows = [tf.shape(r.outputs)[0] for r in self.records.values()]
        return tf.cast(tf.reduce_max(tf.stack(rows)), tf.float32)

    def __getitem__(self, layer_name: str) -> Record:
        return self.records[layer_name]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records.values())


# --------------------------------------------------------------------------- layers
class KfacLayer(tf.Module):
    """A weight and a bias; ``params`` lists them in baselines' creation order."""

    def __init__(self, name: str, w_init: ArrayLike, b_init: ArrayLike, bias_mode: str) -> None:
        super().__init__(name=name.replace("/", "_"))
        if bias_mode not in BIAS_MODES:
            raise ValueError(f"bias_mode must be 'add' or 'bias_add', got {bias_mode!r}")
        self.layer_name = name
        self.bias_mode = bias_mode
        self.w = tf.Variable(np.asarray(w_init, np.float32), name=f"{name}/w")
        self.b = tf.Variable(np.asarray(b_init, np.float32), name=f"{name}/b")

    def _add_bias(self, z: tf.Tensor) -> tf.Tensor:
        if self.bias_mode == "bias_add":
            return tf.nn.bias_add(z, self.b)
        return z + self.b

    @property
    def params(self) -> list[tf.Variable]:
        return [self.w, self.b]


class Dense(KfacLayer):
    """``z = a·W + b`` with ``W`` ``[nin, nout]``; ports baselines ``a2c.utils.fc``."""

    def __call__(self, x: tf.Tensor, capture: Capture | None = None) -> tf.Tensor:
        z = self._add_bias(tf.matmul(x, self.w))
        if capture is not None:
            capture.register_dense(self, x, z)
        return z


class Conv2D(KfacLayer):
    """NHWC convolution (``W`` in HWIO) plus a one-dimensional bias; ports baselines
    ``a2c.utils.conv`` with ``one_dim_bias=True`` (what ACKTR's cnn uses)."""

    def __init__(self, name: str, w_init: ArrayLike, b_init: ArrayLike, stride: int,
                 bias_mode: str = "add", padding: str = "VALID") -> None:
        super().__init__(name, w_init, b_init, bias_mode)
        self.kernel = (int(self.w.shape[0]), int(self.w.shape[1]))
        self.stride = int(stride)
        self.padding = padding

    def __call__(self, x: tf.Tensor, capture: Capture | None = None) -> tf.Tensor:
        z = tf.nn.conv2d(x, self.w, strides=[1, self.stride, self.stride, 1],
                         padding=self.padding)
        z = self._add_bias(z)
        if capture is not None:
            capture.register_conv2d(self, x, z)
        return z


class LogStd(tf.Module):
    """State-independent log standard deviation of a diagonal Gaussian (``[1, nact]``).

    Baselines builds the per-sample log-std as ``0·μ + logstd``; K-FAC takes
    logstd's gradient-only block at that broadcast add, so that is what is
    registered.
    """

    def __init__(self, name: str, nact: int, init: float = 0.0) -> None:
        super().__init__(name=name.replace("/", "_"))
        self.layer_name = name
        self.w = tf.Variable(tf.fill([1, nact], float(init)), name=name)

    @property
    def params(self) -> list[tf.Variable]:
        return [self.w]

    def __call__(self, mean: tf.Tensor, capture: Capture | None = None) -> tf.Tensor:
        z = mean * 0.0 + self.w
        if capture is not None:
            capture.register_logstd(self, z)
        return z


class ScaleAndShift(tf.Module):
    """``y = x̂ ⊙ γ + β`` with ``γ``, ``β`` of shape ``shape`` (the trailing axes of
    ``x̂``): the affine part of a layer normalisation, which registers a diagonal
    block (:class:`~.blocks.ScaleAndShiftBlock`).  ``w`` is ``γ``, ``b`` is ``β``.
    Ports no baselines function: its networks have no normalisation layers.
    """

    def __init__(self, name: str, shape: Sequence[int], scale_init: float = 1.0,
                 shift_init: float = 0.0) -> None:
        super().__init__(name=name.replace("/", "_"))
        self.layer_name = name
        self.w = tf.Variable(tf.fill(list(shape), float(scale_init)), name=f"{name}/gamma")
        self.b = tf.Variable(tf.fill(list(shape), float(shift_init)), name=f"{name}/beta")

    @property
    def params(self) -> list[tf.Variable]:
        return [self.w, self.b]

    def __call__(self, xhat: tf.Tensor, capture: Capture | None = None) -> tf.Tensor:
        y = xhat * self.w + self.b
        if capture is not None:
            capture.register_scale_and_shift(self, xhat, y)
        return y
