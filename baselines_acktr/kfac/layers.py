"""Layers that record what K-FAC needs during the forward pass.

Baselines' TF1 ``KfacOptimizer.getFactors`` found the Kronecker factors by
searching the graph for ops named ``gradientsSampled/.../MatMul_grad``.  TF2 has
no such graph, so here each layer says what it is: during a forward pass run
with a :class:`Capture`, a layer stores its input activations ``x`` and its
pre-activation output ``z`` (after the bias).  The gradient of the sampled
Fisher loss with respect to ``z`` is the backprop factor ``δ`` of the paper
(section 3.1: ``F ≈ A ⊗ S`` with ``A = E[a aᵀ]`` and ``S = E[δ δᵀ]``).

``bias_mode``:
  ``'add'``       the bias is added with a plain broadcast ``+``, as baselines'
                  ``fc``/``conv`` helpers do; it gets a gradient-only block that
                  shares the weight's gradient factor.
  ``'bias_add'``  the bias is added with ``tf.nn.bias_add``; baselines then uses
                  homogeneous coordinates (``[x, 1]``) unless ``blockdiag_bias``.
"""
import numpy as np
import tensorflow as tf


def ortho_init(shape, scale, rng):
    """Orthogonal initialiser, as baselines' ``a2c.utils.ortho_init`` (lasagne's).

    A 4-D (HWIO) kernel is treated as a [H·W·I, O] matrix.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        flat = shape
    elif len(shape) == 4:
        flat = (int(np.prod(shape[:-1])), shape[-1])
    else:
        raise NotImplementedError(f"ortho_init supports 2-D and 4-D shapes, got {shape}")
    a = rng.normal(0.0, 1.0, flat)
    u, _, v = np.linalg.svd(a, full_matrices=False)
    q = u if u.shape == flat else v
    return (scale * q.reshape(shape)).astype(np.float32)


class Capture:
    """Collects ``(layer, x, z)`` records during one forward pass (kfac factors)."""

    def __init__(self):
        self.records = {}

    def record(self, layer, x, z):
        self.records[layer.name] = (x, z)


class _KfacLayer(tf.Module):
    kind = None

    def __init__(self, name, bias_mode):
        super().__init__(name=name.replace("/", "_"))
        if bias_mode not in ("add", "bias_add"):
            raise ValueError(f"bias_mode must be 'add' or 'bias_add', got {bias_mode!r}")
        self.layer_name = name
        self.bias_mode = bias_mode

    def _add_bias(self, z):
        if self.bias_mode == "bias_add":
            return tf.nn.bias_add(z, self.b)
        return z + self.b

    @property
    def params(self):
        return [self.w, self.b]


class Dense(_KfacLayer):
    """``z = x·W + b``; ports baselines ``a2c.utils.fc``."""

    kind = "fc"

    def __init__(self, name, nin, nout, rng, init_scale=1.0, init_bias=0.0, bias_mode="add"):
        super().__init__(name, bias_mode)
        self.w = tf.Variable(ortho_init([nin, nout], init_scale, rng), name=f"{name}/w")
        self.b = tf.Variable(tf.fill([nout], float(init_bias)), name=f"{name}/b")

    def __call__(self, x, capture=None):
        z = self._add_bias(tf.matmul(x, self.w))
        if capture is not None:
            capture.records[self.layer_name] = (x, z)
        return z


class Conv2D(_KfacLayer):
    """VALID NHWC convolution plus a one-dimensional bias; ports baselines
    ``a2c.utils.conv`` with ``one_dim_bias=True`` (what ACKTR's cnn uses)."""

    kind = "conv"

    def __init__(self, name, nin, nf, rf, stride, rng, init_scale=1.0, bias_mode="add",
                 padding="VALID"):
        super().__init__(name, bias_mode)
        self.kernel = (int(rf), int(rf))
        self.stride = int(stride)
        self.padding = padding
        self.w = tf.Variable(ortho_init([rf, rf, nin, nf], init_scale, rng), name=f"{name}/w")
        self.b = tf.Variable(tf.zeros([nf]), name=f"{name}/b")

    def __call__(self, x, capture=None):
        z = tf.nn.conv2d(x, self.w, strides=[1, self.stride, self.stride, 1],
                         padding=self.padding)
        z = self._add_bias(z)
        if capture is not None:
            capture.records[self.layer_name] = (x, z)
        return z


class LogStd(tf.Module):
    """State-independent log standard deviation of a diagonal Gaussian.

    Baselines builds the per-sample log-std as ``0·μ + logstd``; K-FAC takes
    logstd's (gradient-only) Fisher block at that broadcast add, so the capture
    stores it as ``z``.
    """

    kind = "logstd"

    def __init__(self, name, nact, init=0.0):
        super().__init__(name=name.replace("/", "_"))
        self.layer_name = name
        self.w = tf.Variable(tf.fill([1, nact], float(init)), name=name)

    @property
    def params(self):
        return [self.w]

    def __call__(self, mean, capture=None):
        z = mean * 0.0 + self.w
        if capture is not None:
            capture.records[self.layer_name] = (None, z)
        return z
