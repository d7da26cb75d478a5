"""When the background eigen thread decomposes, and when training waits for it.

Ports the role of baselines' ``KfacOptimizer`` queue runner (``is_async=True``,
the paper computes the inverses asynchronously): between the two
stages of a step (``update_stats`` … ``apply_updates``), the training thread
installs a finished decomposition (the queue's dequeue) and, when the
statistics are due and the thread is idle, hands it a copy of them (the
enqueue).  :class:`~.eigen_worker.EigenWorker` is the thread itself.

Baselines' timing lets the first K-FAC steps follow the raw gradient until a
decomposition arrives; with ``wait_first_eigen`` (default) the first step
whose K-FAC update runs waits for one instead, so that step equals the
synchronous path (``docs/differences_from_baselines.md``).
"""
from __future__ import annotations

from .eigen_worker import EigenWorker


class AsyncEigen:
    """The eigen thread of one optimizer and its schedule.

    ``deterministic``: every due step waits for its own decomposition (equal to
    the synchronous path; for tests).  ``wait_first_eigen``: see the module
    docstring.  ``backend``, ``nice``, ``blas_threads``: of the
    :class:`~.eigen_worker.EigenWorker`.  Options left out take the optimizer
    config's ``deterministic_async``, ``wait_first_eigen``, ``eigen_backend``,
    ``eigen_nice`` and ``eigen_blas_threads``.
    """

    def __init__(self, optim, deterministic=None, wait_first_eigen=None, backend=None, nice=None,
                 blas_threads=None):
        cfg = optim.config
        pick = lambda given, default: default if given is None else given  # noqa: E731
        self.optim = optim
        self.deterministic = bool(pick(deterministic, cfg.deterministic_async))
        self.wait_first_eigen = bool(pick(wait_first_eigen, cfg.wait_first_eigen))
        self.worker = EigenWorker(backend=pick(backend, cfg.eigen_backend),
                                  nice=pick(nice, cfg.eigen_nice),
                                  blas_threads=pick(blas_threads, cfg.eigen_blas_threads))
        self.first_kfac_done = False
        self.raw_gradient_kfac_steps = 0  # K-FAC steps before any decomposition (baselines)

    def exchange(self) -> bool:
        """Install / hand over decompositions for this step; whether new eigens were installed."""
        optim, worker = self.optim, self.worker
        worker.check()
        ss = int(optim.stats_step.numpy())
        if ss < optim.stats_accum_iter:
            return False
        s0, fs = int(optim.sgd_step.numpy()), int(optim.factor_step.numpy())
        due = bool(optim.eigen_due(ss))
        kfac_now = bool(optim.kfac_gate(s0, ss, fs + 1))
        first = kfac_now and not self.first_kfac_done
        self.first_kfac_done = self.first_kfac_done or kfac_now
        if self.deterministic or (first and self.wait_first_eigen):
            return self._wait_for_eigens(due, fs)
        installed = self._install(worker.poll())
        if due and not worker.busy:
            worker.submit(optim.snapshot_stats())
        if kfac_now and fs == 0 and not installed and not optim.config.full_stats_init:
            self.raw_gradient_kfac_steps += 1
        return installed

    def _wait_for_eigens(self, due, fs):
        """Block until this step has eigens: of its own statistics when due, else of the
        decomposition in progress, else (no eigens at all yet) of the current ones."""
        worker = self.worker
        if due:
            result = worker.run_now(self.optim.snapshot_stats())
        elif self.deterministic:
            return False
        elif worker.busy:
            result = worker.wait()
        elif fs == 0:
            result = worker.run_now(self.optim.snapshot_stats())
        else:
            return False
        return self._install(result)

    def _install(self, result) -> bool:
        if result is None:
            return False
        failed = [f.key for f, r in zip(self.optim.eigen_factors, result) if r is None]
        if failed:
            self.optim.count_eigen_failures(failed)
        self.optim.install_eigens(result)
        return True

    def close(self):
        self.worker.close()
