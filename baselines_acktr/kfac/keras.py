"""K-FAC on a ``keras.Sequential`` model: its Dense, Conv2D and LayerNormalization
layers registered in a :class:`~.layers.Capture`, so that :class:`~.optimizer.KfacOptimizer`
preconditions them (Kronecker blocks for the first two, a diagonal scale-and-shift
block for the third; paper section 2.2).

:class:`KerasKfacModel` runs the model layer by layer with the layers' own
variables: a registered layer computes its pre-activation output itself (to record
it), then applies its activation; any other layer (Flatten, Dropout, pooling, ...)
is called as it is, and a trainable variable of such a layer gets the raw gradient
or, with ``diagonal_fallback``, a diagonal block.  Biases are added with
``bias_add``, so a weight and its bias form one block in homogeneous coordinates,
as in baselines with ``tf.nn.bias_add``.  Ports no baselines function (baselines'
K-FAC found its layers by op names in a TF1 graph).

``docs/kfac_library.md`` trains one on a data set scikit-learn ships.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from .layers import Capture


class _Registered:
    """What the factors and blocks read of a layer: ``layer_name``, ``w``, ``b``,
    ``bias_mode`` (and a conv's ``kernel``, ``stride``, ``padding``)."""

    bias_mode = "bias_add"
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    padding: str = "VALID"

    def __init__(self, layer: Any, w: tf.Variable, b: tf.Variable | None) -> None:
        self.layer, self.layer_name, self.w, self.b = layer, layer.name, w, b


def _variable(v: Any) -> tf.Variable:
    """The ``tf.Variable`` behind a Keras 3 variable (or ``v`` itself)."""
    return getattr(v, "value", v)


def _with_bias(layer: Any, reg: _Registered, x: tf.Tensor, z: tf.Tensor,
               register: Callable[[Any, tf.Tensor, tf.Tensor], None] | None) -> tf.Tensor:
    """``activation(z + b)``, with ``(x, z + b)`` registered."""
    if reg.b is not None:
        z = tf.nn.bias_add(z, reg.b)
    if register is not None:
        register(reg, x, z)
    return layer.activation(z)


def _dense(layer: Any, x: tf.Tensor, capture: Capture | None, reg: _Registered) -> tf.Tensor:
    if x.shape.rank != 2:
        raise ValueError(f"{layer.name}: K-FAC's Dense block needs a [batch, features] input "
                         f"(got rank {x.shape.rank}); put a Flatten before it")
    return _with_bias(layer, reg, x, tf.matmul(x, reg.w),
                      capture.register_dense if capture is not None else None)


def _conv2d(layer: Any, x: tf.Tensor, capture: Capture | None, reg: _Registered) -> tf.Tensor:
    z = tf.nn.conv2d(x, reg.w, strides=[1, reg.stride, reg.stride, 1], padding=reg.padding)
    return _with_bias(layer, reg, x, z, capture.register_conv2d if capture is not None else None)


def _layer_norm(layer: Any, x: tf.Tensor, capture: Capture | None, reg: _Registered) -> tf.Tensor:
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    xhat = (x - mean) * tf.math.rsqrt(var + layer.epsilon)
    y = xhat * reg.w + reg.b
    if capture is not None:
        capture.register_scale_and_shift(reg, xhat, y)  # type: ignore[arg-type]
    return y


def _adapt(layer: Any) -> tuple[Any, _Registered] | None:
    """``(forward, registered)`` for a layer K-FAC registers, None for any other."""
    import keras

    if isinstance(layer, keras.layers.Dense):
        b = _variable(layer.bias) if layer.use_bias else None
        return _dense, _Registered(layer, _variable(layer.kernel), b)
    if isinstance(layer, keras.layers.Conv2D):
        strides, dilation = tuple(layer.strides), tuple(layer.dilation_rate)
        if (strides[0] != strides[1] or dilation != (1, 1) or layer.groups != 1
                or layer.data_format != "channels_last"):
            raise ValueError(f"{layer.name}: K-FAC's Conv2D block takes equal strides, no "
                             "dilation, one group and channels_last")
        reg = _Registered(layer, _variable(layer.kernel),
                          _variable(layer.bias) if layer.use_bias else None)
        kh, kw = (int(k) for k in layer.kernel_size)
        reg.kernel, reg.stride, reg.padding = (kh, kw), int(strides[0]), layer.padding.upper()
        return _conv2d, reg
    if isinstance(layer, keras.layers.LayerNormalization):
        axis = layer.axis if isinstance(layer.axis, int) else tuple(layer.axis)
        if axis not in (-1, (-1,)) or not (layer.center and layer.scale) or \
                getattr(layer, "rms_scaling", False):
            raise ValueError(f"{layer.name}: K-FAC's scale-and-shift block takes a "
                             "LayerNormalization over the last axis with center and scale")
        return _layer_norm, _Registered(layer, _variable(layer.gamma), _variable(layer.beta))
    return None


class KerasKfacModel:
    """A built ``keras.Sequential`` run so that K-FAC sees its layers.

    ``model(x, capture)`` returns the model's output (the same values as
    ``model(x)``) and registers each Dense, Conv2D and LayerNormalization;
    :attr:`params` are the ``tf.Variable`` s of ``model.trainable_variables``, in
    their order, for ``KfacOptimizer``/``KfacTrainStep``.
    """

    def __init__(self, model: Any) -> None:
        import keras

        if not isinstance(model, keras.Sequential):
            raise TypeError(f"KerasKfacModel takes a keras.Sequential, got {type(model).__name__}")
        if not model.built:
            raise ValueError("build the model first (a keras.Input, or model.build(shape))")
        self.model = model
        self.steps = [(layer, _adapt(layer)) for layer in model.layers]

    @property
    def params(self) -> list[tf.Variable]:
        return [_variable(v) for v in self.model.trainable_variables]

    def __call__(self, x: tf.Tensor, capture: Capture | None = None,
                 training: bool = False) -> tf.Tensor:
        for layer, adapted in self.steps:
            if adapted is None:
                x = layer(x, training=training)
            else:
                forward, reg = adapted
                x = forward(layer, x, capture, reg)
        return x
