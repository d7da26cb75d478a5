"""Observation filter of the paper's continuous-control ACKTR.

Ports baselines ``common/running_stat.py`` (``RunningStat``: Welford's running
mean and variance) and ``common/filters.py`` (``ZFilter``:
``y = clip((x − mean) / (std + 1e-8), −10, 10)`` with running estimates), as
used by branch ``old_acktr_cont`` (``acktr_cont.learn`` filters every
observation, the first of an episode and the last one included, and updates
the statistics each time).

The statistics are numpy float64 arrays while the filter runs (it is called once
per environment step, where ``tf.Variable`` reads and writes would cost more
than the step itself).  For checkpoints they are mirrored in ``tf.Variable`` s:
:meth:`ZFilter.sync_to_variables` writes them (``ContLearner.fit`` does it at
the end of every iteration, before its callback), and after a
``tf.train.Checkpoint`` restore :meth:`ZFilter.load_from_variables` reads them
back (``ContLearner.restore_progress`` does it).  :meth:`ZFilter.get_state` /
:meth:`ZFilter.set_state` do the same with a plain dict.
"""
import numpy as np
import tensorflow as tf


class RunningStat:
    """Running mean and variance of pushed arrays; ports baselines ``RunningStat``.

    ``var`` is the unbiased sample variance ``S / (n − 1)``; with a single
    sample it is ``mean²`` (baselines' choice), with none it is 0.
    """

    def __init__(self, shape):
        self._n = 0
        self._M = np.zeros(shape)
        self._S = np.zeros(shape)

    def push(self, x):
        x = np.asarray(x)
        if x.shape != self._M.shape:
            raise ValueError(f"RunningStat of shape {self._M.shape} got an array of shape "
                             f"{x.shape}")
        self._n += 1
        if self._n == 1:
            self._M[...] = x
        else:
            old = self._M.copy()
            self._M[...] = old + (x - old) / self._n
            self._S[...] = self._S + (x - old) * (x - self._M)

    @property
    def n(self):
        return self._n

    @property
    def mean(self):
        return self._M

    @property
    def var(self):
        return self._S / (self._n - 1) if self._n > 1 else np.square(self._M)

    @property
    def std(self):
        return np.sqrt(self.var)

    @property
    def shape(self):
        return self._M.shape


class ZFilter(tf.Module):
    """``y = clip((x − mean) / (std + 1e-8), −clip, clip)``; ports baselines ``ZFilter``.

    ``__call__(x, update=True)`` first pushes ``x`` into the running statistics
    (when ``update``), then normalises it with them.  ``n``, ``mean`` and
    ``sum_sq`` (Welford's ``S``) are the checkpointed ``tf.Variable`` mirrors of
    the running statistics (see the module docstring for when they are synced).
    """

    EPS = 1e-8  # the offset of the std (the export folds the filter in with it)

    def __init__(self, shape, demean=True, destd=True, clip=10.0, name="obfilter"):
        super().__init__(name=name)
        self.demean = demean
        self.destd = destd
        self.clip = clip
        self.rs = RunningStat(shape)
        shape = self.rs.shape
        self.n = tf.Variable(tf.zeros([], tf.int64), trainable=False, name=f"{name}/n")
        self.mean = tf.Variable(tf.zeros(shape, tf.float64), trainable=False, name=f"{name}/mean")
        self.sum_sq = tf.Variable(tf.zeros(shape, tf.float64), trainable=False,
                                  name=f"{name}/sum_sq")

    def __call__(self, x, update=True):
        if update:
            self.rs.push(x)
        if self.demean:
            x = x - self.rs.mean
        if self.destd:
            x = x / (self.rs.std + self.EPS)
        if self.clip:
            x = np.clip(x, -self.clip, self.clip)
        return x

    def output_shape(self, input_space):
        return input_space.shape

    # ------------------------------------------------------------- state
    def get_state(self):
        """``{'n', 'mean', 'sum_sq'}`` (copies) of the running statistics."""
        return {"n": int(self.rs._n), "mean": self.rs._M.copy(), "sum_sq": self.rs._S.copy()}

    def set_state(self, state):
        """Install statistics from :meth:`get_state` (also updates the variables)."""
        mean = np.asarray(state["mean"], np.float64)
        sum_sq = np.asarray(state["sum_sq"], np.float64)
        if mean.shape != self.rs.shape or sum_sq.shape != self.rs.shape:
            raise ValueError(f"ZFilter state of shape {mean.shape}/{sum_sq.shape}, "
                             f"expected {self.rs.shape}")
        self.rs._n = int(state["n"])
        self.rs._M[...] = mean
        self.rs._S[...] = sum_sq
        self.sync_to_variables()

    def sync_to_variables(self):
        """Copy the running statistics into the checkpointed variables."""
        self.n.assign(self.rs._n)
        self.mean.assign(self.rs._M)
        self.sum_sq.assign(self.rs._S)

    def load_from_variables(self):
        """Copy the variables (e.g. just restored from a checkpoint) into the running statistics."""
        self.rs._n = int(self.n.numpy())
        self.rs._M[...] = self.mean.numpy()
        self.rs._S[...] = self.sum_sq.numpy()
