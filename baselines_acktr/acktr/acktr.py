"""ACKTR's model and training loop; ports baselines ``acktr/acktr.py``.

Paper section 3.1: the actor-critic objective
``pg_loss − ent_coef·entropy + vf_coef·vf_loss`` is minimised with K-FAC, whose
Fisher is that of the joint distribution ``p(a, v | s)`` (policy plus a
Gaussian "output" of the critic, i.e. the critic's Gauss-Newton matrix):
``joint_fisher_loss = pg_fisher_loss + vf_fisher_loss`` with
``pg_fisher_loss = −mean(neglogp(a))`` and
``vf_fisher_loss = −vf_fisher_coef·mean((v − stopgrad(v + n))²)``, ``n ~ N(0, 1)``.
"""
import numpy as np
import tensorflow as tf

from ..common.actor_critic import ActorCriticModel
from ..common.policies import build_policy
from ..common.train_loop import check_total_timesteps, learn_model, seed_everything
from ..kfac.layers import Capture
from ..kfac.optimizer import KfacOptimizer

# Baselines' Model hard-codes these K-FAC settings (acktr.py); kfac_options overrides them.
KFAC_DEFAULTS = dict(momentum=0.9, kfac_update=1, epsilon=0.01, stats_decay=0.99,
                           cold_iter=10)


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
                 eigen_nice=0, eigen_blas_threads="auto", gamma=0.99):
        super().__init__(policy, nenvs, nsteps, total_timesteps, ent_coef, vf_coef, lr,
                         lrschedule, seed, name="acktr_model", gamma=gamma)
        self.vf_fisher_coef = vf_fisher_coef
        opts = dict(KFAC_DEFAULTS, learning_rate=lr, clip_kl=kfac_clip,
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


def learn(network, env, seed, total_timesteps=int(40e6), gamma=0.99, log_interval=100, nprocs=32,
          nsteps=20, ent_coef=0.01, vf_coef=0.5, vf_fisher_coef=1.0, lr=0.25, max_grad_norm=0.5,
          kfac_clip=0.001, save_interval=None, lrschedule="linear", load_path=None,
          is_async=True, logger=None, save_path=None, kfac_options=None, callback=None,
          **network_kwargs):
    """Train ACKTR; ports baselines ``acktr.learn`` (same signature, defaults and log keys).

    ``env`` is a gymnasium vector env (SAME_STEP autoreset).  ``logger`` is a
    :class:`~baselines_acktr.common.logger.Logger` (stdout only if None).  With
    ``save_path``, a checkpoint is written every ``save_interval`` updates and at
    the end; ``load_path`` resumes from one (parameters, optimizer state, update
    count and scheduler position).  ``callback(update, model)`` runs after every
    update; returning False stops.  Raises ``FloatingPointError`` if a loss
    becomes non-finite.  (``nprocs`` is accepted, as baselines, and unused.)
    """
    check_total_timesteps(total_timesteps)
    seed_everything(seed)
    policy = build_policy(env, network, seed=seed, **network_kwargs)
    model = Model(policy, env.num_envs, total_timesteps, nsteps=nsteps, ent_coef=ent_coef,
                  vf_coef=vf_coef, vf_fisher_coef=vf_fisher_coef, lr=lr,
                  max_grad_norm=max_grad_norm, kfac_clip=kfac_clip, lrschedule=lrschedule,
                  is_async=is_async, kfac_options=kfac_options, seed=seed, gamma=gamma)
    return learn_model(model, env, total_timesteps, seed, log_interval, logger, save_path,
                       save_interval, load_path, callback, dict(alg="acktr", network=network))
