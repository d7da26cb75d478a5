"""K-FAC with a KL trust region; ports baselines ``acktr/kfac.py`` ``KfacOptimizer``.

Paper: Wu et al. 2017, section 2.2 (K-FAC: ``F ≈ A ⊗ S``, inverted through the
eigen-decompositions of ``A`` and ``S``; the paper's ``S`` is the code's ``G``) and
section 3.2 (the step size ``η = min(η_max, sqrt(2δ / ΔθᵀF̂Δθ))``).  Baselines
implements the trust region as ``u = min(1, sqrt(clip_kl / vFv)) · F̂⁻¹g`` with
``vFv = Σ (F̂⁻¹g)·g·lr²`` and then takes a momentum step of rate ``lr·(1 − momentum)``.

One step, in the order the parity recording fixed (``tests/data/parity/SEMANTICS.md``,
``docs/kfac_semantics.md``), as named stages:

1. :meth:`~KfacOptimizer.update_stats` — ``global_step += 1``; this batch's
   factor statistics folded into the running averages (:meth:`~KfacOptimizer.apply_stats`);
2. :meth:`~KfacOptimizer.apply_updates`, with the counters read at its start:

   a. ``_refresh_eigens`` — decompose when due (else ``cold_step += 1``), or, with
      the eigen thread, count an install;
   b. ``_direction`` — the preconditioned, rescaled ``u`` (:meth:`~KfacOptimizer.precondition`;
      the raw gradient while no decomposition exists yet);
   c. ``_kfac_update`` — the K-FAC momentum step once ``sgd_step ≥ cold_iter``;
   d. ``_cold_update`` — while ``sgd_step ≤ cold_iter``, momentum SGD on the
      globally norm-clipped gradient.

The blocks (:mod:`.blocks`) come from the layers one forward pass registered
(:mod:`.layers`); the options are :class:`~.config.KfacConfig`'s.  With
``is_async`` the decompositions run on a background thread (:mod:`.async_eigen`)
between the two stages.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from .async_eigen import EigenAge
from .blocks import build_blocks, damping_of
from .config import KfacConfig
from .factors import EigenFactor, StatInputs
from .layers import Capture

if TYPE_CHECKING:  # pragma: no cover
    from .async_eigen import AsyncEigen
    from .eigen_process import EigenProcess
    from .eigen_worker import EigenWorker

_Eigen = tuple[tf.Tensor | np.ndarray, tf.Tensor | np.ndarray]
"""``(e, Q)`` of one factor: tensors (synchronous path) or arrays (from the eigen thread)."""


def _f32(x: float) -> np.float32:
    """Round a Python float to float32 the way TF1 did for ``tensor * python_float``."""
    return np.float32(x)


class KfacOptimizer(tf.Module):
    """Ports baselines ``KfacOptimizer``: every constructor argument and default of
    baselines, plus this project's options, is a field of :class:`KfacConfig`
    (pass them as keywords, or ``config=``); they read as attributes
    (``optim.clip_kl``), except ``stats_accum_iter``: the attribute is the count
    baselines uses (``cold_iter`` unless ``full_stats_init``; the property
    below), which may differ from the field.  ``learning_rate`` is the default
    rate; a step may pass its own (baselines fed a placeholder).

    Use: :meth:`build` once from one forward pass's :class:`~.layers.Capture`, then
    per step :meth:`compute_stats` (from the Fisher-loss gradients at
    :meth:`factor_outputs`) and :meth:`apply_gradients` (synchronous), or
    :meth:`update_stats`, :meth:`async_exchange`, :meth:`apply_updates`
    (``is_async``; :meth:`start_async` first).  :class:`~.train_step.KfacTrainStep`
    does all of it.  A checkpoint of the optimizer holds the factor statistics
    (``stats``), eigen-decompositions (``eig_e``, ``eig_Q``, of the
    :class:`~.factors.EigenFactor` s), both momentum buffers and the six counters.
    """

    def __init__(self, config: KfacConfig | None = None, **options: Any) -> None:
        super().__init__(name="kfac")
        self.config = (config or KfacConfig()).replace(**options)
        self.sgd_step = tf.Variable(0, name="KFAC/sgd_step", trainable=False)
        self.global_step = tf.Variable(0, name="KFAC/global_step", trainable=False)
        self.cold_step = tf.Variable(0, name="KFAC/cold_step", trainable=False)
        self.factor_step = tf.Variable(0, name="KFAC/factor_step", trainable=False)
        self.stats_step = tf.Variable(0, name="KFAC/stats_step", trainable=False)
        self.vFv = tf.Variable(0.0, name="KFAC/vFv", trainable=False)
        self.built = False
        self._async: AsyncEigen | None = None
        self.eigen_failures = 0  # factors whose decomposition failed (float32 and float64)
        self.eigen_age = EigenAge()  # how old the applied eigens are (TensorBoard)

    def __getattr__(self, name: str) -> Any:
        config = self.__dict__.get("config")
        if config is not None and name in KfacConfig.fields():
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def stats_accum_iter(self) -> int:
        """Statistics steps averaged before the EMA (``cold_iter`` unless ``full_stats_init``)."""
        return self.config.accum_iter

    # ------------------------------------------------------------------ build
    def build(self, var_list: list[tf.Variable], capture: Capture) -> None:
        """Create the factors, blocks and momentum buffers (ports ``getFactors``,
        ``getStats`` and ``getStatsEigen``) from one eager forward pass's records."""
        if self.built:
            raise RuntimeError("KfacOptimizer.build() called twice")
        cfg = self.config
        self.var_list = list(var_list)
        damping = [damping_of(v, cfg.epsilon, cfg.weight_decay_dict) for v in self.var_list]
        self.factors, self.blocks = build_blocks(self.var_list, capture, cfg, damping)
        self.eigen_factors = [f for f in self.factors if isinstance(f, EigenFactor)]
        # Checkpoint layout of release 0.1 (optim/stats/i, optim/eig_e/i, ...): the
        # factors' variables, tracked here so that older checkpoints still load.
        self.stats = [f.cov for f in self.factors]
        self.eig_e = [f.e for f in self.eigen_factors]
        self.eig_Q = [f.Q for f in self.eigen_factors]
        self.kfac_momentum = [tf.Variable(tf.zeros_like(v), trainable=False,
                                          name="KFAC/momentum") for v in self.var_list]
        self.cold_momentum = [tf.Variable(tf.zeros_like(v), trainable=False,
                                          name="KFAC/cold_momentum") for v in self.var_list]
        self.built = True

    def factors_of(self, var: tf.Variable) -> tuple[tf.Variable | None, tf.Variable | None]:
        """``(A, G)`` statistic variables of ``var``'s block (either may be None)."""
        i = [id(v) for v in self.var_list].index(id(var))
        a, g = next(blk for blk in self.blocks if i in blk.indices).factors_of(i)
        return (a.cov if a is not None else None), (g.cov if g is not None else None)

    # --------------------------------------------------------------- statistics
    def factor_outputs(self, capture: Capture) -> list[tf.Tensor | tf.Variable]:
        """What the sampled Fisher loss is differentiated with respect to, in factor
        order: the sources of the factors that read a gradient (the layer outputs
        ``G`` factors read; the variables of diagonal fallback blocks)."""
        return [f.source(capture) for f in self.factors if f.reads_gradient]

    def compute_stats(self, capture: Capture, deltas: list[tf.Tensor]) -> list[tf.Tensor]:
        """This batch's factor statistics (ports ``compute_stats``), one tensor per
        factor in ``stats`` order.  ``deltas``: gradients of the sampled Fisher loss
        with respect to :meth:`factor_outputs`."""
        grads = iter(deltas)
        batch = capture.batch()  # the Fisher loss is a mean over the whole batch
        k = self.config.stats_subsample
        return [f.statistic(StatInputs(capture, next(grads) if f.reads_gradient else None, batch, k))
                for f in self.factors]

    def apply_stats(self, new_stats: Sequence[tf.Tensor], s0: tf.Tensor) -> tf.Tensor:
        """Fold a batch's statistics into the running averages (ports ``apply_stats``).

        Before ``stats_accum_iter`` steps: ``cov += C_batch / accum`` (with
        ``full_stats_init`` only once ``sgd_step > cold_iter``); afterwards
        ``cov = d·cov + (1−d)·C_batch``.  ``stats_step += 1`` whenever ``cov`` changed.
        """
        cfg = self.config
        accum = self.stats_accum_iter
        coeff = _f32(1.0 / accum)
        d, one_minus_d = _f32(cfg.stats_decay), _f32(1.0 - cfg.stats_decay)

        def running_avg() -> tf.Tensor:
            for f, new in zip(self.factors, new_stats):
                f.running_average(new, d, one_minus_d)
            self.stats_step.assign_add(1)
            return tf.constant(True)

        def accumulate() -> tf.Tensor:
            for f, new in zip(self.factors, new_stats):
                f.accumulate(new, coeff)
            self.stats_step.assign_add(1)
            return tf.constant(True)

        def accumulate_gated() -> tf.Tensor:
            if cfg.full_stats_init:
                return tf.cond(s0 > cfg.cold_iter, accumulate, lambda: tf.constant(False))
            return accumulate()

        return tf.cond(self.stats_step >= accum, running_avg, accumulate_gated)

    # ------------------------------------------------------------------ eigen
    def compute_stats_eigen(self) -> list[tuple[tf.Tensor, tf.Tensor]]:
        """Eigen-decompose every eigen factor (ports ``computeStatsEigen``): ``cov = Q·diag(e)·Qᵀ``."""
        return [f.decompose() for f in self.eigen_factors]

    def install_eigens(self, eigens: Sequence[_Eigen | None]) -> None:
        """Put decompositions ``[(e, Q), ...]`` (``eigen_factors`` order) in place; a None
        entry keeps that factor's previous decomposition."""
        for f, eq in zip(self.eigen_factors, eigens):
            if eq is not None:
                f.install(*eq)

    def count_eigen_failures(self, keys: Sequence[str]) -> None:
        """Decompositions that failed twice; the first time, one warning."""
        if not self.eigen_failures:
            warnings.warn(f"K-FAC: eigen-decomposition of {', '.join(keys)} failed in float32 "
                          "and float64; keeping the previous decomposition (counted as "
                          "eigen_failures in the logs)", RuntimeWarning, stacklevel=2)
        self.eigen_failures += len(keys)

    def apply_stats_eigen(self, eigens: Sequence[_Eigen | None]) -> None:
        """Install decompositions and count them (ports ``applyStatsEigen``)."""
        self.install_eigens(eigens)
        self.factor_step.assign_add(1)

    def eigen_due(self, stats_step: int | tf.Tensor) -> bool | tf.Tensor:
        """Whether the (incremented) ``stats_step`` calls for a decomposition."""
        return (stats_step >= self.stats_accum_iter) & (stats_step % self.config.kfac_update == 0)

    def update_factors(self) -> tf.Tensor:
        """Decompose when due, else ``cold_step += 1`` (the synchronous stage 2a)."""

        def decompose() -> tf.Tensor:
            self.apply_stats_eigen(self.compute_stats_eigen())
            return tf.constant(True)

        def count_cold() -> tf.Tensor:
            self.cold_step.assign_add(1)
            return tf.constant(False)

        return tf.cond(self.eigen_due(self.stats_step), decompose, count_cold)

    # ---------------------------------------------------------- precondition
    def precondition(self, grads: list[tf.Tensor], lr: tf.Tensor) -> list[tf.Tensor]:
        """``u = min(1, sqrt(clip_kl / vFv)) · F̂⁻¹g`` (ports ``getKfacPrecondUpdates``).

        Each block inverts its part in the eigenbasis of its factors with damping
        (:mod:`.blocks`); ``vFv = Σ (F̂⁻¹g)·g·lr²`` sums over the variables in order.
        Sets ``vFv``; returns ``u``.
        """
        pieces: dict[int, tf.Tensor] = {}
        for blk in self.blocks:
            pieces.update(blk.precondition(grads))
        out = [pieces[i] for i in range(len(grads))]
        lr2 = lr * lr
        vfv = tf.constant(0.0)
        for u, g in zip(out, grads):
            vfv = vfv + tf.reduce_sum(u * (g * lr2))
        self.vFv.assign(vfv)
        scale = tf.minimum(1.0, tf.sqrt(_f32(self.config.clip_kl) / vfv))
        return [scale * u for u in out]

    # ----------------------------------------------------------------- step
    def apply_gradients(self, grads: list[tf.Tensor], new_stats: list[tf.Tensor],
                        lr: tf.Tensor | float | None = None) -> tf.Tensor:
        """One synchronous ACKTR optimizer step (ports ``apply_gradients`` +
        ``apply_gradients_kfac`` + ``apply_stats``).  Call inside the caller's
        ``tf.function``; ``new_stats`` comes from :meth:`compute_stats` on the
        pre-update parameters.  Returns whether the statistics were finite."""
        finite = self.update_stats(new_stats)
        self.apply_updates(grads, lr)
        return finite

    def update_stats(self, new_stats: list[tf.Tensor]) -> tf.Tensor:
        """Stage 1: ``global_step += 1`` and the running averages.  Returns whether this
        batch's statistics were finite; non-finite ones are not folded in (the caller
        stops: ``KfacTrainStep`` raises ``FloatingPointError``)."""
        if not self.built:
            raise RuntimeError("KfacOptimizer.build() must run before a step")
        self.global_step.assign_add(1)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(s)) for s in new_stats])
        s0 = self.sgd_step.read_value()
        tf.cond(finite, lambda: self.apply_stats(new_stats, s0), lambda: tf.constant(False))
        return finite

    def apply_updates(self, grads: list[tf.Tensor], lr: tf.Tensor | float | None = None,
                      eigen_ready: tf.Tensor | None = None) -> None:
        """Stage 2: factors, direction ``u``, K-FAC and cold updates.

        ``eigen_ready=None``: decompose inline when due (synchronous path).
        Otherwise a bool tensor saying whether the eigen thread installed new
        eigens for this step (baselines' dequeue).
        """
        lr = tf.convert_to_tensor(self.config.learning_rate if lr is None else lr, tf.float32)
        s0 = tf.identity(self.sgd_step.read_value())  # the cold update comes last
        self._refresh_eigens(eigen_ready)
        u = self._direction(grads, lr)
        self._kfac_update(u, lr, s0)
        self._cold_update(grads, lr, s0)

    def _refresh_eigens(self, eigen_ready: tf.Tensor | None) -> None:
        """Stage 2a.  With the eigen thread: once ``stats_step ≥ stats_accum_iter``,
        ``factor_step`` counts installs; before that ``cold_step`` counts steps."""
        if eigen_ready is None:
            self.update_factors()
            return

        def count_install() -> tf.Tensor:
            return tf.cond(eigen_ready, lambda: self.factor_step.assign_add(1),
                           lambda: tf.identity(self.factor_step))

        tf.cond(self.stats_step >= self.stats_accum_iter, count_install,
                lambda: self.cold_step.assign_add(1))

    def _direction(self, grads: list[tf.Tensor], lr: tf.Tensor) -> list[tf.Tensor]:
        """Stage 2b: ``u``, or the raw gradient while no decomposition exists."""
        return tf.cond(self.factor_step > 0, lambda: self.precondition(grads, lr),
                       lambda: [tf.identity(g) for g in grads])

    def _kfac_update(self, u: list[tf.Tensor], lr: tf.Tensor, s0: tf.Tensor) -> None:
        """Stage 2c: ``m_K ← μ·m_K + u``, ``θ ← θ − lr·(1 − μ)·m_K``."""
        rate = lr * _f32(1.0 - self.config.momentum)
        mom = _f32(self.config.momentum)

        def update() -> tf.Tensor:
            for var, m, d in zip(self.var_list, self.kfac_momentum, u):
                m.assign(m * mom + d)
                var.assign_sub(rate * m)
            return tf.constant(True)

        gate = self.kfac_gate(s0, self.stats_step, self.factor_step)
        tf.cond(gate, update, lambda: tf.constant(False))

    def cold_rate(self, lr: tf.Tensor) -> tf.Tensor:
        """The cold-start SGD's rate: ``cold_lr``, or the step's rate."""
        cold_lr = self.config.cold_lr
        return lr if cold_lr is None else tf.constant(_f32(cold_lr))

    def _cold_update(self, grads: list[tf.Tensor], lr: tf.Tensor, s0: tf.Tensor) -> None:
        """Stage 2d: ``m_C ← μ·m_C + clip(g)``, ``θ ← θ − cold_rate·m_C``, ``sgd_step += 1``."""
        cfg = self.config
        rate = self.cold_rate(lr)
        mom = _f32(cfg.momentum)

        def update() -> tf.Tensor:
            c = list(grads)
            if cfg.max_grad_norm is not None:
                c, _ = tf.clip_by_global_norm(c, cfg.max_grad_norm)
            for var, m, d in zip(self.var_list, self.cold_momentum, c):
                m.assign(m * mom + d)
                var.assign_sub(rate * m)
            self.sgd_step.assign_add(1)
            return tf.constant(True)

        tf.cond(s0 <= cfg.cold_iter, update, lambda: tf.constant(False))

    def kfac_gate(self, s0: int | tf.Tensor, stats_step: int | tf.Tensor,
                  factor_step: int | tf.Tensor) -> bool | tf.Tensor:
        """Whether the K-FAC momentum update runs (baselines' ``optimOp`` conditions);
        works on tensors and on Python ints."""
        if self.config.full_stats_init:
            return (stats_step >= self.stats_accum_iter) & (factor_step > 0)
        return s0 >= self.config.cold_iter

    # --------------------------------------------------------- async eigen
    def start_async(self, **options: Any) -> None:
        """Start the background eigen-decomposition thread (``is_async=True``).

        Options default to the config's (``deterministic_async``,
        ``wait_first_eigen``, ``eigen_backend``, ``eigen_nice``,
        ``eigen_blas_threads``); see :class:`~.async_eigen.AsyncEigen`.
        """
        from .async_eigen import AsyncEigen

        if self._async is not None:
            raise RuntimeError("the eigen thread is already running")
        self._async = AsyncEigen(self, **options)

    def stop_async(self) -> None:
        """Stop the eigen thread (idempotent); pending work is discarded."""
        if self._async is not None:
            scheduler, self._async = self._async, None
            scheduler.close()

    @property
    def async_running(self) -> bool:
        return self._async is not None

    @property
    def eigen_worker(self) -> EigenWorker | EigenProcess | None:
        """The running :class:`~.eigen_worker.EigenWorker` (or
        :class:`~.eigen_process.EigenProcess`), or None."""
        return self._async.worker if self._async is not None else None

    @property
    def raw_gradient_kfac_steps(self) -> int:
        """K-FAC steps taken along the raw gradient (baselines' timing-dependent start)."""
        return self._async.raw_gradient_kfac_steps if self._async is not None else 0

    def wait_async_idle(self, timeout: float | None = None) -> None:
        """Wait until the eigen thread (if any) has no decomposition in progress."""
        if self._async is not None:
            self._async.worker.wait_idle(timeout)

    def async_exchange(self) -> bool:
        """Between the two stages (training thread): install a finished decomposition
        and hand the thread new statistics when due; returns whether new eigens were
        installed for this step."""
        if self._async is None:
            raise RuntimeError("is_async=True needs start_async() (KfacTrainStep does this)")
        return self._async.exchange()

    def snapshot_stats(self) -> list[np.ndarray]:
        """Copies of the eigen factors' statistics (numpy) for the eigen thread."""
        return [np.array(f.cov.numpy(), copy=True) for f in self.eigen_factors]

    def counters(self) -> list[float]:
        """``[sgd_step, global_step, cold_step, factor_step, stats_step, vFv]`` as floats."""
        return [float(v.numpy()) for v in (self.sgd_step, self.global_step, self.cold_step,
                                           self.factor_step, self.stats_step, self.vFv)]
