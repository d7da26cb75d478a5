"""A2C in the same code, for the paper's comparisons; ports baselines ``a2c/a2c.py``.

Same policy, losses, ``Runner`` and ``Scheduler`` as ACKTR; the update is
RMSProp (``alpha=0.99``, ``epsilon=1e-5``, lr 7e-4 linear) on the gradient
clipped to global norm ``max_grad_norm``.
"""
from __future__ import annotations

import tensorflow as tf

from ..common.actor_critic import ActorCriticModel
from ..common.policies import build_policy
from ..common.train_loop import check_total_timesteps, learn_model, seed_everything
from ..kfac.tracing import traced


class RMSPropOptimizer(tf.Module):
    """TF1 ``tf.train.RMSPropOptimizer`` (non-centered, momentum 0), as baselines used it.

    Keras' RMSprop differs (mean square starts at 0 and ε is added outside the
    square root), so TF1's update is written out:
    ``ms ← ms + (g² − ms)(1 − decay)`` with ``ms`` starting at **1**,
    ``θ ← θ − lr·g / sqrt(ms + ε)``.
    """

    def __init__(self, var_list, decay=0.99, epsilon=1e-5):
        super().__init__(name="rmsprop")
        self.var_list = list(var_list)
        self.decay, self.epsilon = decay, epsilon
        self.ms = [tf.Variable(tf.ones_like(v), trainable=False, name="rms") for v in var_list]

    def apply_gradients(self, grads, lr):
        one_minus_decay = tf.constant(1.0 - self.decay, tf.float32)
        for var, ms, g in zip(self.var_list, self.ms, grads):
            ms.assign_add((tf.square(g) - ms) * one_minus_decay)
            var.assign_sub(lr * g / tf.sqrt(ms + self.epsilon))


class A2CModel(ActorCriticModel):
    """Ports baselines ``a2c.Model`` (defaults: lr 7e-4, alpha 0.99, epsilon 1e-5,
    max_grad_norm 0.5, ent_coef 0.01, vf_coef 0.5, linear schedule)."""

    def __init__(self, policy, nenvs: int, total_timesteps: int, nsteps: int = 5,
                 ent_coef: float = 0.01, vf_coef: float = 0.5, max_grad_norm: float | None = 0.5,
                 lr: float = 7e-4, alpha: float = 0.99, epsilon: float = 1e-5,
                 lrschedule: str = "linear", seed: int = 0, gamma: float = 0.99):
        super().__init__(policy, nenvs, nsteps, total_timesteps, ent_coef, vf_coef, lr,
                         lrschedule, seed, name="a2c_model", gamma=gamma)
        self.max_grad_norm = max_grad_norm
        self.optim = RMSPropOptimizer(self.params, decay=alpha, epsilon=epsilon)
        self._train_step = traced(
            self._train_step_impl, self.batch_signature()[:4] + [tf.TensorSpec([], tf.float32)])

    def _train_step_impl(self, obs, actions, advs, rewards, lr):
        with tf.GradientTape() as tape:
            pg_loss, vf_loss, entropy, loss, _ = self.losses(obs, actions, advs, rewards, None)
        grads = tape.gradient(loss, self.params)
        if self.max_grad_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, self.max_grad_norm)
        self.optim.apply_gradients(grads, lr)
        return pg_loss, vf_loss, entropy

    def train_on_batch(self, obs, actions, advs, rewards, lr, noise=None):
        batch = self.to_batch(obs, actions, advs, rewards)
        out = self._train_step(*batch, tf.constant(lr, tf.float32))
        return tuple(float(x) for x in out)


def learn(network: str, env, seed: int | None = None, nsteps: int = 5,
          total_timesteps: int = int(80e6), vf_coef: float = 0.5, ent_coef: float = 0.01,
          max_grad_norm: float | None = 0.5, lr: float = 7e-4, lrschedule: str = "linear",
          epsilon: float = 1e-5, alpha: float = 0.99, gamma: float = 0.99, log_interval: int = 100,
          load_path: str | None = None, logger=None, save_path: str | None = None,
          save_interval: int | None = None, callback=None, **network_kwargs) -> A2CModel:
    """Train A2C; ports baselines ``a2c.learn`` (same signature, defaults and log keys).
    ``env``, ``logger``, checkpoints and ``callback`` as :func:`baselines_acktr.acktr.learn`."""
    check_total_timesteps(total_timesteps)
    seed = 0 if seed is None else seed
    seed_everything(seed)
    policy = build_policy(env, network, seed=seed, **network_kwargs)
    model = A2CModel(policy, env.num_envs, total_timesteps, nsteps=nsteps, ent_coef=ent_coef,
                     vf_coef=vf_coef, max_grad_norm=max_grad_norm, lr=lr, alpha=alpha,
                     epsilon=epsilon, lrschedule=lrschedule, seed=seed, gamma=gamma)
    return learn_model(model, env, total_timesteps, seed, log_interval, logger, save_path,
                       save_interval, load_path, callback, dict(alg="a2c", network=network))
