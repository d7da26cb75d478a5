"""Actor-critic networks as baselines builds them for ACKTR.

Ports ``common/models.py`` (``nature_cnn``, ``mlp``), ``common/policies.py``
(``build_policy``/``PolicyWithValue``: policy head with init scale 0.01, value
head with scale 1.0, ``value_network='shared'|'copy'``) and the
``pdfromlatent`` heads of ``common/distributions.py``.  ``learn()`` passes
``one_dim_bias=True`` for the cnn in baselines; here conv biases are always
one-dimensional and added with ``+``.

Networks (:data:`NETWORKS`): ``'cnn'`` is master's ``nature_cnn`` (the default, the
one the parity vectors were recorded with); ``'cnn_paper'`` is the ``CnnPolicy`` of
``baselines/acktr/policies.py`` at commit 3f676f7 (the code released with the ACKTR
paper), which differs in two places only: the third conv has 32 filters instead of
64 (so fc1 reads 7·7·32 = 1568 features instead of 3136), and its policy head is
initialised with the fc helper's default scale 1.0 instead of master's 0.01;
``'mlp'`` is master's ``mlp``.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .distributions import BernoulliPd, CategoricalPd, DiagGaussianPd, MultiCategoricalPd
from ..kfac.layers import Conv2D, Dense, LogStd

NATURE_CONVS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
"""(filters, kernel, stride) of master's ``common/models.py:nature_cnn``."""
PAPER_CONVS = ((32, 8, 4), (64, 4, 2), (32, 3, 1))
"""(filters, kernel, stride) of the ACKTR ``CnnPolicy`` at baselines commit 3f676f7
(``baselines/acktr/policies.py``): the third conv keeps 32 channels."""

NETWORKS = {
    # master: common/models.py nature_cnn + common/policies.py PolicyWithValue
    # (pdfromlatent with init_scale 0.01)
    "cnn": dict(convs=NATURE_CONVS, fc=512, pi_init_scale=0.01),
    # 3f676f7: baselines/acktr/policies.py CnnPolicy, whose pi head is acktr.utils.fc
    # with its default init_scale 1.0
    "cnn_paper": dict(convs=PAPER_CONVS, fc=512, pi_init_scale=1.0),
    # master: common/models.py mlp (2x64 tanh by default) + PolicyWithValue
    "mlp": dict(hidden=(64, 64), pi_init_scale=0.01),
}
"""Per network name, the defaults :class:`Policy` fills in for arguments left as None.
Both CNNs read uint8 HWC images scaled by 1/255, VALID convs with relu, orthogonal
init (scale √2) and zero biases for convs and fc1, and a value head with scale 1.0."""
CNN_NETWORKS = tuple(k for k, v in NETWORKS.items() if "convs" in v)


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


def fc_layer(name, nin, nout, rng, init_scale=1.0, init_bias=0.0, bias_mode="add"):
    """A K-FAC dense layer as baselines' ``a2c.utils.fc`` builds it (orthogonal weights)."""
    return Dense(name, ortho_init([nin, nout], init_scale, rng),
                 np.full([nout], init_bias, np.float32), bias_mode)


def conv_layer(name, nin, nf, rf, stride, rng, init_scale=1.0):
    """A K-FAC conv layer as baselines' ``a2c.utils.conv`` with ``one_dim_bias`` (bias
    added with ``+``, zeros)."""
    return Conv2D(name, ortho_init([rf, rf, nin, nf], init_scale, rng), np.zeros([nf], np.float32),
                  stride, bias_mode="add")


class _ConvTrunk(tf.Module):
    """``nature_cnn``: x/255, VALID convs + relu, flatten (NHWC order), fc + relu."""

    def __init__(self, prefix, obs_shape, convs, fc, rng, bias_mode):
        super().__init__(name=(prefix or "cnn") + "trunk")
        h, w, c = obs_shape
        self.layers = []
        for i, (nf, rf, stride) in enumerate(convs):
            self.layers.append(conv_layer(f"{prefix}c{i + 1}", c, nf, rf, stride, rng,
                                          init_scale=np.sqrt(2)))
            h, w, c = (h - rf) // stride + 1, (w - rf) // stride + 1, nf
            if h < 1 or w < 1:
                raise ValueError(f"observation {tuple(obs_shape)} too small for convs {convs}")
        self.flat = h * w * c
        self.fc = fc_layer(f"{prefix}fc1", self.flat, fc, rng, init_scale=np.sqrt(2),
                           bias_mode=bias_mode)
        self.layers.append(self.fc)
        self.nout = fc

    @staticmethod
    def preprocess(obs):
        return tf.cast(obs, tf.float32) / 255.0

    def __call__(self, x, capture=None):
        for layer in self.layers[:-1]:
            x = tf.nn.relu(layer(x, capture))
        x = tf.reshape(x, [-1, self.flat])
        return tf.nn.relu(self.fc(x, capture))


class _MlpTrunk(tf.Module):
    """``mlp``: fully connected tanh layers ``mlp_fc{i}`` (init scale sqrt 2)."""

    def __init__(self, prefix, nin, hidden, rng, bias_mode, activation=tf.tanh):
        super().__init__(name=(prefix or "mlp") + "trunk")
        self.layers = []
        for i, nh in enumerate(hidden):
            self.layers.append(fc_layer(f"{prefix}fc{i}", nin, nh, rng, init_scale=np.sqrt(2),
                                        bias_mode=bias_mode))
            nin = nh
        self.nout = nin
        self.activation = activation

    def __call__(self, x, capture=None):
        for layer in self.layers:
            x = self.activation(layer(x, capture))
        return x


ACTION_KINDS = ("discrete", "box", "multidiscrete", "multibinary")


def encode_observation(obs, encoding):
    """Ports baselines ``encode_observation`` for the mlp: ``None`` (a Box: floats,
    flattened), ``('discrete', n)`` (one-hot) or ``('multidiscrete', nvec)`` (one
    one-hot per component, concatenated)."""
    if encoding is None:
        return tf.reshape(tf.cast(obs, tf.float32), [tf.shape(obs)[0], -1])
    kind, n = encoding
    if kind == "discrete":
        return tf.one_hot(tf.cast(obs, tf.int32), int(n), dtype=tf.float32)
    obs = tf.cast(obs, tf.int32)
    return tf.concat([tf.one_hot(obs[:, i], int(k), dtype=tf.float32) for i, k in enumerate(n)],
                     axis=-1)


def _encoded_width(obs_shape, encoding):
    if encoding is None:
        return int(np.prod(obs_shape))
    kind, n = encoding
    return int(n) if kind == "discrete" else int(sum(n))


class Policy(tf.Module):
    """Policy and value function with K-FAC capture.

    ``network``: ``'cnn'`` (master's nature CNN), ``'cnn_paper'`` (the ACKTR paper's
    CNN of baselines 3f676f7: third conv 32 filters, policy head init scale 1.0) —
    ``convs``/``fc`` override either's sizes — or ``'mlp'`` (``hidden`` widths,
    default 2×64 tanh); see :data:`NETWORKS`.  ``pi_init_scale`` overrides the
    orthogonal init scale of the policy head (default: the network's, 0.01 except
    for ``cnn_paper``).  ``action``: ``('discrete', n)``,
    ``('box', nact)``, ``('multidiscrete', (nvec, start))`` or ``('multibinary', n)``
    (baselines' Categorical, DiagGaussian, MultiCategorical and Bernoulli heads).
    ``obs_encoding`` (mlp): None for Box observations, ``('discrete', n)`` or
    ``('multidiscrete', nvec)`` for one-hot encoded ones.  ``biasadd=True`` makes
    fully connected layers use ``tf.nn.bias_add`` (for studying baselines'
    homogeneous-coordinate path).

    ``params`` lists trainable variables in baselines' creation order: trunk,
    ``pi``, value trunk (``copy``), ``vf``, then ``pi/logstd``.
    """

    def __init__(self, obs_shape: tuple[int, ...], action: tuple, network: str = "cnn",
                 value_network: str = "shared", hidden: tuple[int, ...] | None = None,
                 convs=None, fc: int | None = None, biasadd: bool = False, seed: int = 0,
                 obs_encoding: tuple | None = None, pi_init_scale: float | None = None):
        super().__init__(name="policy")
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r} (expected one of {sorted(NETWORKS)})")
        spec = NETWORKS[network]
        convs = spec.get("convs") if convs is None else convs
        fc = spec.get("fc") if fc is None else fc
        hidden = spec.get("hidden") if hidden is None else hidden
        pi_init_scale = spec["pi_init_scale"] if pi_init_scale is None else float(pi_init_scale)
        self.network = network
        kind, nact = action
        if kind not in ACTION_KINDS:
            raise ValueError(f"action kind must be one of {ACTION_KINDS}, got {kind!r}")
        if value_network not in ("shared", "copy"):
            raise ValueError(f"value_network must be 'shared' or 'copy', got {value_network!r}")
        rng = np.random.default_rng(seed)
        bias_mode = "bias_add" if biasadd else "add"
        self.obs_shape = tuple(int(s) for s in obs_shape)
        self.obs_encoding = obs_encoding
        self.obs_dtype = tf.uint8 if network in CNN_NETWORKS else \
            (tf.float32 if obs_encoding is None else tf.int32)
        self.action_kind = kind
        if kind == "multidiscrete":
            nvec, start = nact
            self.nvec, self.start = tuple(int(n) for n in nvec), tuple(int(s) for s in start)
            self.nact, self.action_shape = sum(self.nvec), (len(self.nvec),)
        else:
            self.nact = int(nact)
            self.action_shape = () if kind == "discrete" else (self.nact,)
        self.act_dtype = tf.float32 if kind == "box" else tf.int32

        def trunk(prefix):
            if network in CNN_NETWORKS:
                if len(self.obs_shape) != 3:
                    raise ValueError(f"{network} needs HWC image observations, got shape "
                                     f"{self.obs_shape}")
                return _ConvTrunk(prefix, self.obs_shape, convs, fc, rng, bias_mode)
            return _MlpTrunk(prefix + "mlp_" if prefix == "" else prefix,
                             _encoded_width(self.obs_shape, obs_encoding), hidden, rng,
                             bias_mode)

        self.trunk = trunk("")
        self.pi = fc_layer("pi", self.trunk.nout, self.nact, rng, init_scale=pi_init_scale,
                           bias_mode=bias_mode)
        self.vf_trunk = trunk("vf_") if value_network == "copy" else None
        vf_in = self.vf_trunk.nout if self.vf_trunk is not None else self.trunk.nout
        self.vf = fc_layer("vf", vf_in, 1, rng, init_scale=1.0, bias_mode=bias_mode)
        self.logstd = LogStd("pi/logstd", self.nact) if kind == "box" else None

        self.kfac_layers = list(self.trunk.layers) + [self.pi]
        if self.vf_trunk is not None:
            self.kfac_layers += self.vf_trunk.layers
        self.kfac_layers.append(self.vf)
        if self.logstd is not None:
            self.kfac_layers.append(self.logstd)
        self.params = [p for layer in self.kfac_layers for p in layer.params]

    def __call__(self, obs, capture=None):
        """Returns ``(pd, v)``: the action distribution and the value ``[B]``."""
        # One preprocessed tensor feeds both trunks, so K-FAC sees that their first
        # layers read the same input and shares one activation factor (as baselines).
        x = self.preprocess(obs)
        h = self.trunk(x, capture)
        pi_out = self.pi(h, capture)
        hv = self.vf_trunk(x, capture) if self.vf_trunk is not None else h
        v = self.vf(hv, capture)[:, 0]
        logstd = self.logstd(pi_out, capture) if self.action_kind == "box" else None
        return self.distribution(pi_out, logstd), v

    def distribution(self, pi_out, logstd=None):
        """The action distribution of the policy head's output (and, for a Box, the
        per-sample log-std)."""
        if self.action_kind == "box":
            return DiagGaussianPd(pi_out, logstd)
        if self.action_kind == "multidiscrete":
            return MultiCategoricalPd(self.nvec, self.start, pi_out)
        if self.action_kind == "multibinary":
            return BernoulliPd(pi_out)
        return CategoricalPd(pi_out)

    def preprocess(self, obs):
        if isinstance(self.trunk, _ConvTrunk):
            return self.trunk.preprocess(obs)
        return encode_observation(obs, self.obs_encoding)

    def action_spec(self, nbatch):
        """The ``tf.TensorSpec`` of a batch of ``nbatch`` actions."""
        return tf.TensorSpec([nbatch, *self.action_shape], self.act_dtype)


def spaces_of(ob_space, ac_space):
    """``(obs_shape, action, obs_encoding)`` of :class:`Policy` for gymnasium spaces
    (ports the dispatch of baselines' ``make_pdtype`` and ``observation_placeholder``);
    ValueError naming any other space."""
    import gymnasium as gym

    sp = gym.spaces
    if isinstance(ac_space, sp.Discrete) and int(ac_space.start) == 0:
        action = ("discrete", int(ac_space.n))
    elif isinstance(ac_space, sp.Box) and len(ac_space.shape) == 1:
        action = ("box", int(ac_space.shape[0]))
    elif isinstance(ac_space, sp.MultiDiscrete) and len(ac_space.shape) == 1:
        action = ("multidiscrete", (tuple(ac_space.nvec.tolist()), tuple(ac_space.start.tolist())))
    elif isinstance(ac_space, sp.MultiBinary) and np.ndim(ac_space.n) == 0:
        action = ("multibinary", int(ac_space.n))
    else:
        raise ValueError(f"unsupported action space {ac_space} (baselines' ACKTR takes Discrete, "
                         "1-D Box, 1-D MultiDiscrete and 1-D MultiBinary)")
    if isinstance(ob_space, sp.Discrete) and int(ob_space.start) == 0:
        return (), action, ("discrete", int(ob_space.n))
    if isinstance(ob_space, sp.MultiDiscrete) and len(ob_space.shape) == 1 and \
            not np.any(ob_space.start):
        return ob_space.shape, action, ("multidiscrete", tuple(ob_space.nvec.tolist()))
    if isinstance(ob_space, sp.Box):
        return ob_space.shape, action, None
    raise ValueError(f"unsupported observation space {ob_space} (Box, Discrete or 1-D "
                     "MultiDiscrete)")


def build_policy(env, network: str, seed: int = 0, **network_kwargs) -> Policy:
    """Build a :class:`Policy` for a gymnasium vector env's spaces (ports ``build_policy``).

    ``network``: a key of :data:`NETWORKS` (``'cnn'``, ``'cnn_paper'``, ``'mlp'``).
    ``network_kwargs``: ``value_network`` ('shared'|'copy'), for mlp
    ``num_layers``/``num_hidden`` (baselines' names, default 2×64), for the cnns
    ``convs``/``fc``; ``one_dim_bias`` is accepted and ignored (always on).
    """
    obs_shape, action, encoding = spaces_of(env.single_observation_space, env.single_action_space)
    if encoding is not None and network != "mlp":
        raise ValueError(f"{network} needs image observations; a one-hot encoded "
                         f"{encoding[0]} observation needs network='mlp'")
    kw = dict(network_kwargs)
    kw.pop("one_dim_bias", None)
    if network == "mlp":
        kw["hidden"] = (int(kw.pop("num_hidden", 64)),) * int(kw.pop("num_layers", 2))
    return Policy(obs_shape, action, network=network, seed=seed, obs_encoding=encoding, **kw)
