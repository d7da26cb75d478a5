"""ACKTR's model and ``learn()``; ports baselines ``acktr/acktr.py`` (the update loop
itself is :mod:`baselines_acktr.common.train_loop`'s, shared with A2C).

Paper section 3.1: the actor-critic objective
``pg_loss − ent_coef·entropy + vf_coef·vf_loss`` is minimised with K-FAC, whose
Fisher is that of the joint distribution ``p(a, v | s)`` (policy plus a
Gaussian "output" of the critic, i.e. the critic's Gauss-Newton matrix):
``joint_fisher_loss = pg_fisher_loss + vf_fisher_loss`` with
``pg_fisher_loss = −mean(neglogp(a))`` and
``vf_fisher_loss = −vf_fisher_coef·mean((v − stopgrad(v + n))²)``, ``n ~ N(0, 1)``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import tensorflow as tf

from ..common.actor_critic import ActorCriticModel
from ..kfac.train_step import KfacTrainStep
from ..common.policies import build_policy
from ..common.train_loop import check_total_timesteps, learn_model, seed_everything
from ..kfac.optimizer import KfacOptimizer
from ..kfac.tracing import traced

if TYPE_CHECKING:
    from ..common.logger import Logger
    from ..common.policies import Policy

# Baselines' Model hard-codes these K-FAC settings (acktr.py); kfac_options overrides them.
KFAC_DEFAULTS = dict(momentum=0.9, kfac_update=1, epsilon=0.01, stats_decay=0.99, cold_iter=10)


class Model(ActorCriticModel):
    """Ports baselines ``acktr.Model`` (same arguments and defaults).

    ``policy`` is a :class:`~baselines_acktr.common.policies.Policy`.  ``kfac_options``
    overrides any :class:`~baselines_acktr.kfac.KfacConfig` field, among them those
    baselines fixes (:data:`KFAC_DEFAULTS`).

    With ``is_async=True`` (baselines' default) the eigen-decompositions run in a
    background thread, started at the first update; ``wait_first_eigen``,
    ``eigen_backend``, ``deterministic_async``, ``eigen_nice`` and
    ``eigen_blas_threads`` are the thread's options (:class:`~baselines_acktr.kfac.KfacConfig`).
    Call :meth:`close` (``learn()`` does) to stop the thread.  ``log_kl`` (not in
    baselines) logs the trust region at work each update: ``kl``, ``kl_bound``,
    ``vFv``, ``trust_scale`` (:meth:`_measure_trust_region`).
    """

    def __init__(self, policy: Policy, nenvs: int, total_timesteps: int, nprocs: int = 32,
                 nsteps: int = 20, ent_coef: float = 0.01, vf_coef: float = 0.5,
                 vf_fisher_coef: float = 1.0, lr: float = 0.25, max_grad_norm: float | None = 0.5,
                 kfac_clip: float = 0.001, lrschedule: str = "linear", is_async: bool = True,
                 kfac_options: dict | None = None, seed: int = 0, wait_first_eigen: bool = True,
                 eigen_backend: str = "auto", deterministic_async: bool = False,
                 eigen_nice: int = 0, eigen_blas_threads: int | str | None = "auto",
                 gamma: float = 0.99, log_kl: bool = False):
        super().__init__(policy, nenvs, nsteps, total_timesteps, ent_coef, vf_coef, lr,
                         lrschedule, seed, name="acktr_model", gamma=gamma)
        self.vf_fisher_coef = vf_fisher_coef
        opts = dict(KFAC_DEFAULTS, learning_rate=lr, clip_kl=kfac_clip, is_async=is_async,
                    max_grad_norm=max_grad_norm, wait_first_eigen=wait_first_eigen,
                    eigen_backend=eigen_backend, deterministic_async=deterministic_async,
                    eigen_nice=eigen_nice, eigen_blas_threads=eigen_blas_threads)
        opts.update(kfac_options or {})
        self.optim = KfacOptimizer(**opts)
        self.train_step = KfacTrainStep(
            self.optim, self.params, self._kfac_losses, self.batch_signature(),
            probe=lambda capture: policy(tf.zeros([1, *policy.obs_shape], policy.obs_dtype),
                                         capture))
        self.log_kl = bool(log_kl)
        self._trust = {}
        if self.log_kl:
            obs_spec = self.batch_signature()[0]
            self._pd_params = traced(lambda obs: self.policy(obs)[0].params(), [obs_spec])
            self._kl_from = traced(self._kl_from_impl)

    def _kfac_losses(self, obs, actions, advs, rewards, noise, capture):
        pg_loss, vf_loss, entropy, train_loss, joint_fisher_loss = self.losses(
            obs, actions, advs, rewards, noise, capture)
        return train_loss, joint_fisher_loss, (pg_loss, vf_loss, entropy)

    def gradients_and_stats(self, obs, actions, advs, rewards, noise):
        """One forward pass: ``(pg_loss, vf_loss, entropy)``, ``g = ∇θ train_loss`` and
        this batch's K-FAC factor statistics (from ``∇z joint_fisher_loss``)."""
        return self.train_step.gradients_and_stats(obs, actions, advs, rewards, noise)

    def train_on_batch(self, obs, actions, advs, rewards, lr: float,
                       noise=None) -> tuple[float, float, float]:
        """One update with an explicit learning rate (and, for tests, Fisher noise)."""
        if noise is None:
            noise = self.rng.normal([self.nbatch])
        batch = self.to_batch(obs, actions, advs, rewards) + (
            tf.convert_to_tensor(noise, tf.float32),)
        old = self._pd_params(batch[0]) if self.log_kl else None
        out = self.train_step(batch, tf.constant(lr, tf.float32))
        if self.log_kl:
            self._measure_trust_region(batch[0], old, lr)
        return tuple(float(x) for x in out)

    def _kl_from_impl(self, obs, old_params):
        new, _ = self.policy(obs)
        return tf.reduce_mean(self.policy.distribution(*old_params).kl(new))

    def _measure_trust_region(self, obs, old_params, lr):
        """``--log_kl``: the measured ``KL(π_old ‖ π_new)`` on this batch next to the
        bound the step was scaled to (paper section 3.2, in baselines' form: the step
        ``lr·u`` has ``(lr·u)ᵀF̂(lr·u) ≤ clip_kl``, a quadratic-model KL of the joint
        policy-and-critic distribution ≤ ``clip_kl / 2``) and the scale
        ``min(1, sqrt(clip_kl / vFv))``.  Costs two extra forward passes."""
        clip_kl = self.optim.config.clip_kl
        vfv = float(self.optim.vFv.numpy())
        kfac = int(self.optim.factor_step.numpy()) > 0
        self._trust = dict(
            kl=float(self._kl_from(obs, old_params).numpy()), kl_bound=clip_kl / 2,
            vFv=vfv if kfac else float("nan"),
            trust_scale=min(1.0, (clip_kl / vfv) ** 0.5) if kfac and vfv > 0 else float("nan"))

    def log_extras(self):
        """``eigen_failures`` (decompositions kept from before because LAPACK failed), once
        there is one: until then the rows hold exactly baselines' keys."""
        n = self.optim.eigen_failures
        return dict({"eigen_failures": n} if n else {}, **self._trust)

    def tb_extras(self):
        """The freshness of the preconditioner since the last row (TensorBoard only: the
        rows keep baselines' keys): ``kfac/eigen_age_median`` and ``_max``, in updates
        between the statistics the applied eigens came from and the update applying
        them, and ``kfac/decompositions`` installed."""
        return {f"kfac/{k}": v for k, v in self.optim.eigen_age.summary().items()}

    def close(self):
        """Stop the asynchronous eigen thread, if one runs (idempotent)."""
        self.train_step.close()


def learn(network: str, env, seed: int, total_timesteps: int = int(40e6), gamma: float = 0.99,
          log_interval: int = 100, nprocs: int = 32, nsteps: int = 20, ent_coef: float = 0.01,
          vf_coef: float = 0.5, vf_fisher_coef: float = 1.0, lr: float = 0.25,
          max_grad_norm: float | None = 0.5, kfac_clip: float = 0.001,
          save_interval: int | None = None, lrschedule: str = "linear",
          load_path: str | None = None, is_async: bool = True, logger: Logger | None = None,
          save_path: str | None = None, kfac_options: dict | None = None,
          callback: Callable[[int, Model], bool | None] | None = None,
          **network_kwargs) -> Model:
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
