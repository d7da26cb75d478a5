"""Observation and return normalisation; ports baselines ``common/vec_env/vec_normalize.py``
(``VecNormalize``) and ``common/running_mean_std.py`` (``RunningMeanStd``).

gymnasium's ``NormalizeObservation`` / ``NormalizeReward`` are not used: they do
not clip (baselines clips observations and rewards to ±10) and they discount the
running return as ``ret·γ·(1 − terminated) + r`` where baselines computes
``ret·γ + r``, updates the statistics, and only then zeroes ``ret`` for the envs
that are done.  The statistics are ``tf.Variable`` s (float64) so that
checkpoints carry them (see ``RunningMeanStd``).
"""
import gymnasium as gym
import numpy as np
import tensorflow as tf


class RunningMeanStd(tf.Module):
    """Parallel (Chan et al.) running mean and variance; ``count`` starts at ``epsilon``.

    ``mean``, ``var`` and ``count`` are numpy (float64), updated in numpy: this
    runs once per environment step, where a dozen eager TensorFlow reads and
    assigns cost more than the MuJoCo step itself.  The ``tf.Variable`` s that
    checkpoints carry are written by :meth:`before_save` and read back by
    :meth:`after_restore`, which :class:`~baselines_acktr.common.checkpoints.Checkpointer`
    calls around every write and read.
    """

    def __init__(self, shape=(), epsilon=1e-4, name="rms"):
        super().__init__(name=name)
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = float(epsilon)
        self.saved_mean = tf.Variable(self.mean, trainable=False, name="mean")
        self.saved_var = tf.Variable(self.var, trainable=False, name="var")
        self.saved_count = tf.Variable(self.count, dtype=tf.float64, trainable=False,
                                       name="count")

    def update(self, x):
        x = np.asarray(x, np.float64)
        batch_mean, batch_var, batch_count = x.mean(axis=0), x.var(axis=0), x.shape[0]
        delta = batch_mean - self.mean
        tot = self.count + batch_count
        m2 = (self.var * self.count + batch_var * batch_count
              + np.square(delta) * self.count * batch_count / tot)
        self.mean = self.mean + delta * batch_count / tot
        self.var = m2 / tot
        self.count = tot

    def before_save(self):
        self.saved_mean.assign(self.mean)
        self.saved_var.assign(self.var)
        self.saved_count.assign(self.count)

    def after_restore(self):
        self.mean = self.saved_mean.numpy()
        self.var = self.saved_var.numpy()
        self.count = float(self.saved_count.numpy())


class VecNormalize(gym.vector.VectorWrapper):
    """Baselines' ``VecNormalize`` on a gymnasium vector env.

    ``obs ← clip((obs − μ) / sqrt(σ² + ε), ±clipob)`` with running ``μ, σ²`` of
    the raw observations; ``r ← clip(r / sqrt(Var[ret] + ε), ±cliprew)`` with
    ``ret = γ·ret + r`` the running discounted return, zeroed after a done.
    ``training=False`` freezes the statistics (evaluation, play).
    The Monitor under it still records raw returns.
    """

    def __init__(self, env, ob=True, ret=True, clipob=10.0, cliprew=10.0, gamma=0.99,
                 epsilon=1e-8, training=True, ob_rms=None, ret_rms=None):
        super().__init__(env)
        shape = env.single_observation_space.shape
        # ob_rms / ret_rms may be passed in (e.g. already restored from a checkpoint)
        self.ob_rms = (ob_rms or RunningMeanStd(shape, name="ob_rms")) if ob else None
        self.ret_rms = (ret_rms or RunningMeanStd((), name="ret_rms")) if ret else None
        self.clipob, self.cliprew = clipob, cliprew
        self.gamma, self.epsilon = gamma, epsilon
        self.training = training
        self.ret = np.zeros(self.num_envs)

    def _obfilt(self, obs):
        if self.ob_rms is None:
            return obs
        if self.training:
            self.ob_rms.update(obs)
        mean, var = self.ob_rms.mean, self.ob_rms.var
        out = np.clip((obs - mean) / np.sqrt(var + self.epsilon), -self.clipob, self.clipob)
        return out.astype(np.float32)

    def step(self, actions):
        obs, rews, terminated, truncated, infos = self.env.step(actions)
        news = np.logical_or(terminated, truncated)
        self.ret = self.ret * self.gamma + rews
        obs = self._obfilt(obs)
        if self.ret_rms is not None:
            if self.training:
                self.ret_rms.update(self.ret)
            rews = np.clip(rews / np.sqrt(self.ret_rms.var + self.epsilon),
                           -self.cliprew, self.cliprew)
        self.ret[news] = 0.0
        return obs, np.asarray(rews, np.float32), terminated, truncated, infos

    def reset(self, *, seed=None, options=None):
        self.ret = np.zeros(self.num_envs)
        obs, infos = self.env.reset(seed=seed, options=options)
        return self._obfilt(obs), infos
