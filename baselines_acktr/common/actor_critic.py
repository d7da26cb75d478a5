"""What ACKTR's and A2C's models share; ports the common part of baselines
``acktr.Model`` and ``a2c.Model``: the policy, the losses, acting, the
learning-rate ``Scheduler`` and what a checkpoint holds.
"""
from __future__ import annotations

import tensorflow as tf

from ..kfac.tracing import traced
from .schedules import Scheduler


class _StepActor:
    """Acts on one observation: a sample of the policy (``step``, as baselines' play loop)
    or, ``deterministic``, its mode."""

    def __init__(self, model, deterministic=False):
        self.model, self.deterministic = model, deterministic

    def reset(self):
        pass

    def __call__(self, obs):
        return self.model.predict(obs[None], deterministic=self.deterministic)[0][0]


class ActorCriticModel(tf.Module):
    """What ACKTR's and A2C's models share (baselines ``acktr.Model`` / ``a2c.Model``):
    the policy, the losses, acting, the learning-rate ``Scheduler``, checkpoints and
    the :class:`~baselines_acktr.common.learner.Learner` protocol (``fit`` runs
    baselines' update loop on a vector env).  Subclasses set ``self.optim`` and
    implement ``train_on_batch``.  ``extra_trackables`` (a dict) is checkpointed
    too (the master MuJoCo run's normalisation statistics)."""

    def __init__(self, policy, nenvs, nsteps, total_timesteps, ent_coef, vf_coef, lr, lrschedule,
                 seed, name, gamma=0.99):
        super().__init__(name=name)
        if nenvs < 1 or nsteps < 1:
            raise ValueError(f"nenvs and nsteps must be >= 1, got {nenvs} and {nsteps}")
        self.policy = policy
        self.nenvs, self.nsteps = int(nenvs), int(nsteps)
        self.nbatch = self.nenvs * self.nsteps
        self.gamma = gamma  # the Runner's discount (baselines passes it to learn())
        self.ent_coef, self.vf_coef = ent_coef, vf_coef
        self.vf_fisher_coef = 1.0
        self.lr = Scheduler(v=lr, nvalues=total_timesteps, schedule=lrschedule)
        self.rng = tf.random.Generator.from_seed(seed)
        self.progress = tf.Variable([0, 0], dtype=tf.int64, trainable=False, name="progress")
        self.params = policy.params
        self.extra_trackables = {}
        step_obs = tf.TensorSpec([None, *policy.obs_shape], policy.obs_dtype)
        self._step = traced(self._step_impl, [step_obs])
        self._value = traced(lambda obs: self.policy(obs)[1], [step_obs])
        self._predict = traced(self._predict_impl, [step_obs, tf.TensorSpec([], tf.bool)])

    def batch_signature(self):
        """TensorSpecs of (obs, actions, advs, returns, noise) for one training batch."""
        p = self.policy
        obs_spec = tf.TensorSpec([self.nbatch, *p.obs_shape], p.obs_dtype)
        act_spec = p.action_spec(self.nbatch)
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
        return self.policy.act_dtype

    # -------------------------------------------------------------- acting
    def _step_impl(self, obs):
        pd, v = self.policy(obs)
        a = pd.sample(self.rng)
        return a, v, pd.neglogp(a)

    def _predict_impl(self, obs, deterministic):
        pd, _ = self.policy(obs)
        return tf.cond(deterministic, pd.mode, lambda: pd.sample(self.rng))

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        """``(actions, None)`` for a batch of observations, as stable-baselines3's
        ``predict``: samples of the policy, or its mode with ``deterministic``."""
        a = self._predict(tf.convert_to_tensor(obs, self.policy.obs_dtype),
                          tf.constant(bool(deterministic)))
        return a.numpy(), None

    def step(self, obs, S=None, M=None):
        """``(actions, values, states, neglogp)`` as baselines' ``PolicyWithValue.step``."""
        a, v, nlp = self._step(tf.convert_to_tensor(obs, self.policy.obs_dtype))
        return a.numpy(), v.numpy(), None, nlp.numpy()

    def value(self, obs, S=None, M=None):
        return self._value(tf.convert_to_tensor(obs, self.policy.obs_dtype)).numpy()

    initial_state = None

    # --------------------------------------------------------- checkpoints
    def trackables(self):
        """What a checkpoint holds: parameters, optimizer state, RNG, progress (and
        ``extra_trackables``)."""
        return dict(policy=self.policy, optim=self.optim, rng=self.rng, progress=self.progress,
                    **self.extra_trackables)

    def agent_trackables(self):
        """A shipped agent's part of the checkpoint: parameters, progress and
        ``extra_trackables`` (no optimizer state, no RNG)."""
        return dict(policy=self.policy, progress=self.progress, **self.extra_trackables)

    @property
    def updates_done(self):
        return int(self.progress[0].numpy())

    @property
    def timesteps_done(self):
        return self.updates_done * self.nbatch

    def check_budget(self, total_timesteps):
        nupdates = total_timesteps // self.nbatch
        if nupdates < 1:
            raise ValueError(f"--num_timesteps {total_timesteps} is smaller than one batch "
                             f"({self.nbatch} timesteps)")
        if self.updates_done >= nupdates:
            raise ValueError(f"the checkpoint is already at update {self.updates_done} of "
                             f"{nupdates}; raise --num_timesteps to continue")

    def fit(self, env, total_timesteps: int, logger, *, seed: int | None = None,
            log_interval: int = 100, on_update=None, progress=None,
            stop_reward: float | None = None) -> int:
        """Baselines' update loop (:func:`~.train_loop.train_loop`) on the vector env
        ``env`` up to update ``total_timesteps // nbatch``; a resumed model continues its
        count, and its envs are reset with ``seed + updates_done``; ``stop_reward`` stops it
        early (:func:`~.train_loop.reached`)."""
        from .runner import Runner
        from .train_loop import train_loop

        runner = Runner(env, self, nsteps=self.nsteps, gamma=self.gamma,
                        seed=None if seed is None else seed + self.updates_done)
        callback = None if on_update is None else (lambda update, model: on_update(update))
        return train_loop(self, runner, total_timesteps, log_interval, logger, callback, progress,
                          stop_reward)

    def actor(self, action_space, deterministic=False):
        return _StepActor(self, deterministic)

    def log_extras(self):
        """Keys logged after baselines' own (none here)."""
        return {}

    def tb_extras(self):
        """Scalars for TensorBoard alone, at each logged row (none here)."""
        return {}

    def mark_update(self, update):
        """Record that ``update`` updates are done (and the scheduler position)."""
        self.progress.assign([int(update), int(self.lr.n)])

    def restore_progress(self):
        """After loading a checkpoint: put the scheduler back where it was."""
        self.lr.n = float(self.progress[1].numpy())

    def save(self, save_path):
        """Write a checkpoint of parameters, optimizer state (K-FAC: statistics, eigens,
        momenta, counters), the sampling RNG, progress and ``extra_trackables`` into the
        folder ``save_path``, through :class:`~.checkpoints.Checkpointer` (atomic, with its
        hooks); returns the checkpoint's directory."""
        from .checkpoints import Checkpointer

        return Checkpointer(save_path, self.trackables(), {}).save(self.updates_done,
                                                                   self.timesteps_done)

    def load(self, path):
        """Read a checkpoint directory (or a ``save_path`` with ``latest``) through
        :class:`~.checkpoints.Checkpointer` and resume the schedule from it."""
        from .checkpoints import Checkpointer

        Checkpointer(None, self.trackables(), {}).restore(path)
        self.restore_progress()

    def close(self):
        """Release background resources (none here)."""
