"""Neural-network value function of the paper's continuous-control ACKTR.

Ports ``acktr/value_functions.py`` ``NeuralNetValueFunction`` of baselines
branch ``old_acktr_cont``:

* features of a path (``_preproc``): ``[observation (= [obs, prev_obs]),
  action_dist (= [mean, std]), t / 10, 1]``, ``2·ob_dim + 2·ac_dim + 2`` columns;
* network: two ELU layers of 64 units and a linear output, all normc 1.0,
  biases 0, added with ``bias_add``;
* loss ``mean((v − y)²) + Σ 3e-4 · l2_loss(W)`` over the three weights;
  sampled Fisher loss ``mean((v − stopgrad(v + n))²)``, ``n ~ N(0, 1)`` drawn
  afresh for every update;
* its own K-FAC: ``learning_rate=0.001, cold_lr=0.001·(1−0.9), momentum=0.9,
  clip_kl=0.3, epsilon=0.1, stats_decay=0.95, async=1, kfac_update=2,
  cold_iter=50, weight_decay_dict=wd_dict, max_grad_norm=None`` (so the first
  50 updates are cold momentum SGD while the statistics accumulate);
* ``fit``: 25 full-batch updates toward the Monte-Carlo returns, with the
  explained variance before and after (baselines logs them as ``EVBefore``
  and ``EVAfter``).
"""
import numpy as np
import tensorflow as tf

from ..kfac.train_step import KfacTrainStep
from ..common.math_util import explained_variance
from ..kfac.optimizer import KfacOptimizer
from ..kfac.tracing import traced
from .layers import WEIGHT_DECAY_FC, NormcDense

HIDDEN = 64
ACTIVATIONS = {"elu": tf.nn.elu, "tanh": tf.tanh}
VF_FEATURES = ("paper", "obs")
FIT_ITERS = 25  # baselines: for _ in range(25): self.do_update(X, y)

# The branch's NeuralNetValueFunction K-FAC settings (kfac_options overrides them).
VF_KFAC_OPTIONS = dict(learning_rate=0.001, cold_lr=0.001 * (1 - 0.9), momentum=0.9,
                       clip_kl=0.3, epsilon=0.1, stats_decay=0.95, is_async=True,
                       kfac_update=2, cold_iter=50, max_grad_norm=None)


def _f32(x):
    return x if isinstance(x, tf.Tensor) else tf.convert_to_tensor(np.asarray(x, np.float32))


def pathlength(path):
    return path["reward"].shape[0]


class NeuralNetValueFunction(tf.Module):
    """Ports the branch's ``NeuralNetValueFunction(ob_dim, ac_dim)`` (variables ``vf/...``).

    ``rng``: ``numpy.random.RandomState`` for the normc weights (drawn h1, h2,
    hfinal); ``noise_rng`` (default: a ``tf.random.Generator`` seeded with
    ``seed``) draws the Fisher noise.  ``is_async``:
    eigen-decompositions in a background thread (baselines ``async_=1``), started
    at the first update; :meth:`close` stops it.  ``wait_first_eigen``,
    ``eigen_backend``, ``eigen_nice`` (``nice``): see :meth:`KfacOptimizer.start_async`.

    Ablation switches toward baselines master's copy value network (defaults: the
    branch; issue 21): ``features='obs'`` (master's ``Policy`` value trunk reads the
    normalised observation only: no ``prev_obs``, action distribution, ``t/10`` or
    constant); ``activation='tanh'`` (master's copy of the tanh policy trunk);
    ``weight_decay`` (master 0: neither damping entries nor the L2 term, both of
    which the branch's ``dense`` derives from its one ``weight_decay_fc``);
    ``init='ortho'`` (master's ``a2c.utils.fc``: gains √2, √2 and 1.0).
    """

    def __init__(self, ob_dim, ac_dim, rng, seed=0, is_async=True, wait_first_eigen=True,
                 eigen_backend="auto", eigen_nice=0, kfac_options=None, noise_rng=None,
                 name="vf", fit_iters=FIT_ITERS, activation="elu", features="paper",
                 weight_decay=WEIGHT_DECAY_FC, init="normc"):
        super().__init__(name=name)
        self.ob_dim, self.ac_dim = int(ob_dim), int(ac_dim)
        self.fit_iters = int(fit_iters)
        if features not in VF_FEATURES:
            raise ValueError(f"features must be one of {VF_FEATURES}, got {features!r}")
        self.features, self.activation = features, ACTIVATIONS[activation]
        self.nin = 2 * self.ob_dim + 2 * self.ac_dim + 2 if features == "paper" else self.ob_dim
        self.wd_dict = {}
        dense = dict(weight_decay_dict=self.wd_dict, weight_decay=weight_decay, init=init)
        self.h1 = NormcDense(f"{name}/h1", self.nin, HIDDEN, rng, 1.0, gain=np.sqrt(2), **dense)
        self.h2 = NormcDense(f"{name}/h2", HIDDEN, HIDDEN, rng, 1.0, gain=np.sqrt(2), **dense)
        self.hfinal = NormcDense(f"{name}/hfinal", HIDDEN, 1, rng, 1.0, gain=1.0, **dense)
        self.kfac_layers = [self.h1, self.h2, self.hfinal]
        self.params = [v for layer in self.kfac_layers for v in layer.params]
        self.noise_rng = noise_rng if noise_rng is not None else tf.random.Generator.from_seed(seed)
        opts = dict(VF_KFAC_OPTIONS, is_async=is_async, weight_decay_dict=self.wd_dict,
                    wait_first_eigen=wait_first_eigen, eigen_backend=eigen_backend,
                    eigen_nice=int(eigen_nice))
        opts.update(kfac_options or {})
        self.optim = KfacOptimizer(**opts)
        x_spec = tf.TensorSpec([None, self.nin], tf.float32)
        y_spec = tf.TensorSpec([None], tf.float32)
        self._predict = traced(self.forward, [x_spec])
        self.train_step = KfacTrainStep(self.optim, self.params, self._kfac_losses,
                                        [x_spec, y_spec],
                                        probe=lambda capture: self.forward(tf.zeros([1, self.nin]),
                                                                           capture))
        self._lr = tf.constant(np.float32(self.optim.config.learning_rate))

    # ------------------------------------------------------------ network
    def forward(self, X, capture=None):
        """``vpred_n`` (``[B]``) of a feature batch."""
        h1 = self.activation(self.h1(X, capture))
        h2 = self.activation(self.h2(h1, capture))
        return self.hfinal(h2, capture)[:, 0]

    def weight_decay_loss(self):
        """``tf.add_n`` of the ``vf_losses`` collection: ``Σ weight_decay · l2_loss(W)``."""
        return tf.add_n([layer.weight_decay_loss() for layer in self.kfac_layers])

    def losses(self, X, vtarg_n, noise, capture=None):
        """``(loss, loss_sampled, mse)`` of the branch (``mse`` without weight decay)."""
        vpred_n = self.forward(X, capture)
        mse = tf.reduce_mean(tf.square(vpred_n - vtarg_n))
        loss = mse + self.weight_decay_loss()
        sample_vpred_n = vpred_n + noise
        loss_sampled = tf.reduce_mean(tf.square(vpred_n - tf.stop_gradient(sample_vpred_n)))
        return loss, loss_sampled, mse

    def _kfac_losses(self, X, y, capture):
        """Fisher noise ``n ~ N(0, 1)`` drawn afresh in every update (inside the step)."""
        noise = self.noise_rng.normal(tf.shape(y))
        loss, loss_sampled, _ = self.losses(X, y, noise, capture)
        return loss, loss_sampled, (loss,)

    def update(self, X, y):
        """One K-FAC step on ``(X, y)`` (baselines ``do_update``); returns the loss
        (with weight decay) before the step."""
        (loss,) = self.train_step((_f32(X), _f32(y)), self._lr)
        return float(loss.numpy())

    # ---------------------------------------------------------- the branch
    def preproc(self, path):
        """The branch's ``_preproc``: ``[observation, action_dist, t/10, 1]``
        (``features='obs'``: the observation's first ``ob_dim`` columns only)."""
        if self.features == "obs":
            return np.asarray(path["observation"][:, :self.ob_dim], np.float32)
        n = pathlength(path)
        al = np.arange(n).reshape(-1, 1) / 10.0
        act = path["action_dist"].astype("float32")
        return np.concatenate([path["observation"], act, al, np.ones((n, 1))], axis=1)

    def predict_features(self, X):
        return self._predict(_f32(X)).numpy()

    def predict(self, path):
        """``vpred`` of every step of ``path``."""
        return self.predict_features(self.preproc(path))

    def predict_paths(self, paths):
        """``predict`` of every path, in one batch (the same values, one call)."""
        vpred = self.predict_features(np.concatenate([self.preproc(p) for p in paths]))
        return np.split(vpred, np.cumsum([pathlength(p) for p in paths])[:-1])

    def fit(self, paths, targvals):
        """25 updates toward ``targvals`` (one array per path); returns
        ``{'EVBefore', 'EVAfter', 'vf_loss'}`` (``vf_loss``: the loss before the
        last update).  Baselines records the two EVs in ``fit``; here the caller does."""
        X = np.concatenate([self.preproc(p) for p in paths])
        y = np.concatenate(targvals)
        ev_before = explained_variance(self.predict_features(X), y)
        loss = np.nan
        Xt, yt = _f32(X), _f32(y)
        for _ in range(self.fit_iters):
            loss = self.update(Xt, yt)
        ev_after = explained_variance(self.predict_features(X), y)
        return {"EVBefore": float(ev_before), "EVAfter": float(ev_after), "vf_loss": loss}

    def close(self):
        """Stop the asynchronous eigen thread, if one runs (idempotent)."""
        self.train_step.close()
