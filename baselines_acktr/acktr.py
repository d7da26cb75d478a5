"""ACKTR's model and training loop; ports baselines ``acktr/acktr.py``.

Paper section 3.1: the actor-critic objective
``pg_loss − ent_coef·entropy + vf_coef·vf_loss`` is minimised with K-FAC, whose
Fisher is that of the joint distribution ``p(a, v | s)`` (policy plus a
Gaussian "output" of the critic, i.e. the critic's Gauss-Newton matrix):
``joint_fisher_loss = pg_fisher_loss + vf_fisher_loss`` with
``pg_fisher_loss = −mean(neglogp(a))`` and
``vf_fisher_loss = −vf_fisher_coef·mean((v − stopgrad(v + n))²)``, ``n ~ N(0, 1)``.
"""
import time
from collections import deque

import numpy as np
import tensorflow as tf

from .kfac import KfacOptimizer
from .layers import Capture
from .utils import Scheduler, explained_variance, safemean

# Baselines' Model hard-codes these K-FAC settings (acktr.py); kfac_options overrides them.
ACKTR_KFAC_DEFAULTS = dict(momentum=0.9, kfac_update=1, epsilon=0.01, stats_decay=0.99,
                           cold_iter=10)


class ActorCriticModel(tf.Module):
    """What ACKTR's and A2C's models share (baselines ``acktr.Model`` / ``a2c.Model``):
    the policy, the losses, acting, the learning-rate ``Scheduler`` and checkpoints.
    Subclasses set ``self.optim`` and implement ``train_on_batch``."""

    def __init__(self, policy, nenvs, nsteps, total_timesteps, ent_coef, vf_coef, lr, lrschedule,
                 seed, name):
        super().__init__(name=name)
        if nenvs < 1 or nsteps < 1:
            raise ValueError(f"nenvs and nsteps must be >= 1, got {nenvs} and {nsteps}")
        self.policy = policy
        self.nenvs, self.nsteps = int(nenvs), int(nsteps)
        self.nbatch = self.nenvs * self.nsteps
        self.ent_coef, self.vf_coef = ent_coef, vf_coef
        self.vf_fisher_coef = 1.0
        self.lr = Scheduler(v=lr, nvalues=total_timesteps, schedule=lrschedule)
        self.rng = tf.random.Generator.from_seed(seed)
        self.progress = tf.Variable([0, 0], dtype=tf.int64, trainable=False, name="progress")
        self.params = policy.params
        step_obs = tf.TensorSpec([None, *policy.obs_shape], policy.obs_dtype)
        self._step = tf.function(self._step_impl, input_signature=[step_obs])
        self._value = tf.function(lambda obs: self.policy(obs)[1], input_signature=[step_obs])

    def batch_signature(self):
        """TensorSpecs of (obs, actions, advs, returns, noise) for one training batch."""
        p = self.policy
        obs_spec = tf.TensorSpec([self.nbatch, *p.obs_shape], p.obs_dtype)
        if p.action_kind == "discrete":
            act_spec = tf.TensorSpec([self.nbatch], tf.int32)
        else:
            act_spec = tf.TensorSpec([self.nbatch, p.nact], tf.float32)
        vec = tf.TensorSpec([self.nbatch], tf.float32)
        return [obs_spec, act_spec, vec, vec, vec]

    def to_batch(self, obs, actions, advs, rewards):
        """``(obs, actions, advs, returns)`` as tensors of the signature's dtypes."""
        return (tf.convert_to_tensor(obs, self.policy.obs_dtype),
                tf.convert_to_tensor(actions, self._act_dtype()),
                tf.convert_to_tensor(advs, tf.float32),
                tf.convert_to_tensor(rewards, tf.float32))

    # ------------------------------------------------------------- losses
    def losses(self, obs, actions, advs, rewards, noise, capture=None):
        """``(pg_loss, vf_loss, entropy, train_loss, joint_fisher_loss)`` of a batch."""
        pd, v = self.policy(obs, capture)
        neglogpac = pd.neglogp(actions)
        entropy = tf.reduce_mean(pd.entropy())
        pg_loss = tf.reduce_mean(advs * neglogpac) - self.ent_coef * entropy
        nb = tf.cast(tf.shape(v)[0], tf.float32)
        vf_loss = tf.reduce_sum(tf.square(v - rewards)) / nb
        train_loss = pg_loss + self.vf_coef * vf_loss
        if noise is None:  # A2C: no Fisher loss
            return pg_loss, vf_loss, entropy, train_loss, None
        pg_fisher_loss = -tf.reduce_mean(neglogpac)
        sample_net = v + noise
        vf_fisher_loss = -self.vf_fisher_coef * tf.reduce_mean(
            tf.pow(v - tf.stop_gradient(sample_net), 2))
        joint_fisher_loss = pg_fisher_loss + vf_fisher_loss
        return pg_loss, vf_loss, entropy, train_loss, joint_fisher_loss

    def train(self, obs, states, rewards, masks, actions, values):
        """Ports ``Model.train``: advantages ``R − V``; the scheduler advances once per sample."""
        advs = rewards - values
        for _ in range(len(obs)):
            cur_lr = self.lr.value()
        return self.train_on_batch(obs, actions, advs, rewards, cur_lr)

    def _act_dtype(self):
        return tf.int32 if self.policy.action_kind == "discrete" else tf.float32

    # -------------------------------------------------------------- acting
    def _step_impl(self, obs):
        pd, v = self.policy(obs)
        a = pd.sample(self.rng)
        return a, v, pd.neglogp(a)

    def step(self, obs, S=None, M=None):
        """``(actions, values, states, neglogp)`` as baselines' ``PolicyWithValue.step``."""
        a, v, nlp = self._step(tf.convert_to_tensor(obs, self.policy.obs_dtype))
        return a.numpy(), v.numpy(), None, nlp.numpy()

    def value(self, obs, S=None, M=None):
        return self._value(tf.convert_to_tensor(obs, self.policy.obs_dtype)).numpy()

    initial_state = None

    # --------------------------------------------------------- checkpoints
    def trackables(self):
        """What a checkpoint holds: parameters, optimizer state, RNG, progress."""
        return dict(policy=self.policy, optim=self.optim, rng=self.rng, progress=self.progress)

    @property
    def updates_done(self):
        return int(self.progress[0].numpy())

    def mark_update(self, update):
        """Record that ``update`` updates are done (and the scheduler position)."""
        self.progress.assign([int(update), int(self.lr.n)])

    def restore_progress(self):
        """After loading a checkpoint: put the scheduler back where it was."""
        self.lr.n = float(self.progress[1].numpy())

    def save(self, path):
        """Save parameters, optimizer state (K-FAC: statistics, eigens, momenta,
        counters), the sampling RNG and progress to the checkpoint prefix ``path``.
        ``checkpoints.Checkpointer`` adds atomic directories and configs on top."""
        tf.train.Checkpoint(**self.trackables()).write(path)

    def load(self, path):
        tf.train.Checkpoint(**self.trackables()).read(path).assert_existing_objects_matched()
        self.restore_progress()

    def close(self):
        """Release background resources (none here)."""


class Model(ActorCriticModel):
    """Ports baselines ``acktr.Model`` (same arguments and defaults).

    ``policy`` is a :class:`~baselines_acktr.policies.Policy`.  ``kfac_options``
    overrides the K-FAC constructor arguments that baselines fixes
    (momentum 0.9, kfac_update 1, epsilon 0.01, stats_decay 0.99, cold_iter 10).

    With ``is_async=True`` (baselines' default) the eigen-decompositions run in
    a background thread (:mod:`~baselines_acktr.eigen_worker`), started at the
    first update; ``wait_first_eigen``, ``eigen_backend``, ``deterministic_async``
    ``eigen_nice`` and ``eigen_blas_threads`` are passed to :meth:`KfacOptimizer.start_async`.
    Call :meth:`close` (``learn()`` does) to stop the thread.
    """

    def __init__(self, policy, nenvs, total_timesteps, nprocs=32, nsteps=20, ent_coef=0.01,
                 vf_coef=0.5, vf_fisher_coef=1.0, lr=0.25, max_grad_norm=0.5, kfac_clip=0.001,
                 lrschedule="linear", is_async=True, kfac_options=None, seed=0,
                 wait_first_eigen=True, eigen_backend="auto", deterministic_async=False,
                 eigen_nice=0, eigen_blas_threads="auto"):
        super().__init__(policy, nenvs, nsteps, total_timesteps, ent_coef, vf_coef, lr,
                         lrschedule, seed, name="acktr_model")
        self.vf_fisher_coef = vf_fisher_coef
        opts = dict(ACKTR_KFAC_DEFAULTS, learning_rate=lr, clip_kl=kfac_clip,
                    is_async=is_async, max_grad_norm=max_grad_norm)
        opts.update(kfac_options or {})
        self.optim = KfacOptimizer(**opts)
        scalar = tf.TensorSpec([], tf.float32)
        self._async_options = dict(wait_first_eigen=wait_first_eigen, backend=eigen_backend,
                                   deterministic=deterministic_async, nice=eigen_nice,
                                   blas_threads=eigen_blas_threads)
        batch_sig = self.batch_signature()
        if self.optim.is_async:
            grad_sig = [tf.TensorSpec(p.shape, tf.float32) for p in policy.params]
            self._stats_step = tf.function(self._stats_step_impl, input_signature=batch_sig)
            self._update_step = tf.function(
                self._update_step_impl,
                input_signature=[grad_sig, scalar, tf.TensorSpec([], tf.bool)])
        else:
            self._train_step = tf.function(self._train_step_impl,
                                           input_signature=batch_sig + [scalar])

        # Build the optimizer's variables from one eager forward pass.
        capture = Capture()
        policy(tf.zeros([1, *policy.obs_shape], policy.obs_dtype), capture)
        self.optim.build(self.params, policy.kfac_layers, capture)

    def gradients_and_stats(self, obs, actions, advs, rewards, noise):
        """One forward pass: losses, ``g = ∇θ train_loss`` and this batch's K-FAC
        factor statistics (from ``∇z joint_fisher_loss`` at every captured layer)."""
        capture = Capture()
        with tf.GradientTape(persistent=True) as tape:
            pg_loss, vf_loss, entropy, train_loss, fisher = self.losses(
                obs, actions, advs, rewards, noise, capture)
        grads = tape.gradient(train_loss, self.params)
        deltas = tape.gradient(fisher, self.optim.factor_outputs(capture))
        del tape
        return (pg_loss, vf_loss, entropy), grads, self.optim.compute_stats(capture, deltas)

    def _train_step_impl(self, obs, actions, advs, rewards, noise, lr):
        losses, grads, new_stats = self.gradients_and_stats(obs, actions, advs, rewards, noise)
        self.optim.apply_gradients(grads, new_stats, lr)
        return losses

    def _stats_step_impl(self, obs, actions, advs, rewards, noise):
        losses, grads, new_stats = self.gradients_and_stats(obs, actions, advs, rewards, noise)
        self.optim.update_stats(new_stats)
        return losses, grads

    def _update_step_impl(self, grads, lr, eigen_ready):
        self.optim.apply_updates(grads, lr, eigen_ready)
        return tf.constant(True)

    def train_on_batch(self, obs, actions, advs, rewards, lr, noise=None):
        """One update with an explicit learning rate (and, for tests, Fisher noise)."""
        if noise is None:
            noise = self.rng.normal([self.nbatch])
        batch = self.to_batch(obs, actions, advs, rewards) + (
            tf.convert_to_tensor(noise, tf.float32),)
        lr = tf.constant(lr, tf.float32)
        if not self.optim.is_async:
            out = self._train_step(*batch, lr)
        else:
            if self.optim._worker is None:
                self.optim.start_async(**self._async_options)
            out, grads = self._stats_step(*batch)
            ready = self.optim.async_exchange()
            self._update_step(grads, lr, tf.constant(ready))
        return tuple(float(x) for x in out)

    def close(self):
        """Stop the asynchronous eigen thread, if one runs (idempotent)."""
        self.optim.stop_async()


def policy_for_env(env, network, seed=0, **network_kwargs):
    """Build a :class:`Policy` for a gymnasium vector env's spaces (ports ``build_policy``).

    ``network_kwargs``: ``value_network`` ('shared'|'copy'), for mlp
    ``num_layers``/``num_hidden`` (baselines' names, default 2×64), for cnn
    ``convs``/``fc``; ``one_dim_bias`` is accepted and ignored (always on).
    """
    import gymnasium as gym

    from .policies import Policy

    ob_space = env.single_observation_space
    ac_space = env.single_action_space
    if isinstance(ac_space, gym.spaces.Discrete):
        action = ("discrete", int(ac_space.n))
    elif isinstance(ac_space, gym.spaces.Box) and len(ac_space.shape) == 1:
        action = ("box", int(ac_space.shape[0]))
    else:
        raise ValueError(f"unsupported action space {ac_space} (need Discrete or 1-D Box)")
    kw = dict(network_kwargs)
    kw.pop("one_dim_bias", None)
    if network == "mlp":
        kw["hidden"] = (int(kw.pop("num_hidden", 64)),) * int(kw.pop("num_layers", 2))
    return Policy(ob_space.shape, action, network=network, seed=seed, **kw)


def build_model(alg, policy, nenvs, total_timesteps, nsteps, ent_coef, vf_coef, lr, max_grad_norm,
                lrschedule, seed, vf_fisher_coef=1.0, kfac_clip=0.001, is_async=True,
                kfac_options=None):
    """``Model`` (ACKTR) or ``A2CModel`` with the given hyperparameters."""
    if alg == "acktr":
        return Model(policy, nenvs, total_timesteps, nsteps=nsteps, ent_coef=ent_coef,
                     vf_coef=vf_coef, vf_fisher_coef=vf_fisher_coef, lr=lr,
                     max_grad_norm=max_grad_norm, kfac_clip=kfac_clip, lrschedule=lrschedule,
                     is_async=is_async, kfac_options=kfac_options, seed=seed)
    if alg == "a2c":
        from .a2c import A2CModel

        return A2CModel(policy, nenvs, total_timesteps, nsteps=nsteps, ent_coef=ent_coef,
                        vf_coef=vf_coef, max_grad_norm=max_grad_norm, lr=lr,
                        lrschedule=lrschedule, seed=seed)
    raise ValueError(f"alg must be 'acktr' or 'a2c', got {alg!r}")


def learn(network, env, seed, total_timesteps=int(40e6), gamma=0.99, log_interval=100, nprocs=32,
          nsteps=20, ent_coef=0.01, vf_coef=0.5, vf_fisher_coef=1.0, lr=0.25, max_grad_norm=0.5,
          kfac_clip=0.001, save_interval=None, lrschedule="linear", load_path=None,
          is_async=True, logger=None, save_path=None, kfac_options=None, alg="acktr",
          callback=None, **network_kwargs):
    """Train ACKTR; ports baselines ``acktr.learn`` (same signature, defaults and log keys).

    ``env`` is a gymnasium vector env (SAME_STEP autoreset).  ``logger`` is a
    :class:`~baselines_acktr.logger.Logger` (stdout only if None).  With
    ``save_path``, a checkpoint (``checkpoints.Checkpointer``) is written every
    ``save_interval`` updates and at the end; ``load_path`` resumes from one
    (parameters, optimizer state, update count and scheduler position).
    ``callback(update, model)`` runs after every update; returning False stops.
    ``alg='a2c'`` trains baselines' A2C instead (RMSProp; pass A2C's own ``lr``,
    e.g. 7e-4, and ``nsteps``, e.g. 5; the K-FAC arguments are then unused).
    Raises ``FloatingPointError`` if a loss becomes non-finite.
    """
    from .checkpoints import Checkpointer
    from .logger import Logger
    from .runner import Runner

    if total_timesteps <= 0:
        raise ValueError(f"total_timesteps must be > 0, got {total_timesteps}")
    np.random.seed(seed)
    tf.random.set_seed(seed)
    logger = logger or Logger()
    policy = policy_for_env(env, network, seed=seed, **network_kwargs)
    model = build_model(alg, policy, env.num_envs, total_timesteps, nsteps, ent_coef, vf_coef, lr,
                        max_grad_norm, lrschedule, seed, vf_fisher_coef=vf_fisher_coef,
                        kfac_clip=kfac_clip, is_async=is_async, kfac_options=kfac_options)
    ckpt = None
    if save_path or load_path:
        ckpt = Checkpointer(save_path, model.trackables(), dict(alg=alg, network=network))
    if load_path is not None:
        ckpt.restore(load_path)
        model.restore_progress()

    def on_update(update, m):
        if save_path and save_interval and (update % save_interval == 0 or update == 1):
            ckpt.save(update)
        return callback(update, m) if callback is not None else None

    try:
        runner = Runner(env, model, nsteps=nsteps, gamma=gamma, seed=seed)
        last = train_loop(model, runner, total_timesteps, log_interval, logger, on_update)
        if save_path and last:
            ckpt.save(last)
    finally:
        model.close()
    return model


def train_loop(model, runner, total_timesteps, log_interval, logger, callback=None, progress=None):
    """The update loop of baselines ``acktr.learn``: collect, train, log.

    Starts after ``model.updates_done`` (so a restored model continues its
    count) and runs to update ``total_timesteps // nbatch``.  ``callback(update,
    model)`` runs after each update (False stops the loop); ``progress(update,
    nupdates, fps, eprewmean)`` is told about every update.  Returns the last
    update done.  Raises ``FloatingPointError`` on a non-finite loss, before
    anything of that update is recorded.
    """
    epinfobuf = deque(maxlen=100)
    nbatch = model.nbatch
    nupdates = total_timesteps // nbatch
    start = model.updates_done + 1
    tstart = time.time()
    update = start - 1
    for update in range(start, nupdates + 1):
        obs, states, rewards, masks, actions, values, epinfos = runner.run()
        epinfobuf.extend(epinfos)
        policy_loss, value_loss, policy_entropy = model.train(obs, states, rewards, masks,
                                                              actions, values)
        if not np.all(np.isfinite([policy_loss, value_loss, policy_entropy])):
            raise FloatingPointError(
                f"non-finite loss at update {update}: policy_loss={policy_loss}, "
                f"value_loss={value_loss}, entropy={policy_entropy}")
        model.mark_update(update)
        fps = int((update - start + 1) * nbatch / max(time.time() - tstart, 1e-9))
        eprewmean = safemean([e["r"] for e in epinfobuf])
        if update % log_interval == 0 or update == 1:
            logger.record("nupdates", update)
            logger.record("total_timesteps", update * nbatch)
            logger.record("fps", fps)
            logger.record("policy_entropy", float(policy_entropy))
            logger.record("policy_loss", float(policy_loss))
            logger.record("value_loss", float(value_loss))
            logger.record("explained_variance", float(explained_variance(values, rewards)))
            logger.record("eprewmean", eprewmean)
            logger.record("eplenmean", safemean([e["l"] for e in epinfobuf]))
            logger.dump(step=update * nbatch)
        if progress is not None:
            progress(update, nupdates, fps, eprewmean)
        if callback is not None and callback(update, model) is False:
            break
    return update
