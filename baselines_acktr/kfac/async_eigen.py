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

from collections import deque
from typing import TYPE_CHECKING, Any

from .eigen_worker import EigenWorker

if TYPE_CHECKING:  # pragma: no cover
    from .eigen_process import EigenProcess
    from .eigen_worker import Decompositions


class EigenAge:
    """How fresh the preconditioner is: for each update, its age in updates — the
    ``global_step`` of the update applying the eigens minus that of the statistics they
    were decomposed from (0: decomposed from this update's statistics, as the synchronous
    path does every ``kfac_update`` steps).  Reported per logged row
    (:meth:`summary`); nothing here changes a step."""

    def __init__(self) -> None:
        self.source_step: int | None = None  # global_step of the installed eigens' statistics
        self.ages: deque[int] = deque(maxlen=100_000)  # bounded: a learner that never asks
        self.delivered = 0

    def installed(self, source_step: int) -> None:
        self.source_step = int(source_step)
        self.delivered += 1

    def record(self, step: int) -> None:
        """The update at ``global_step == step`` applied the installed eigens."""
        if self.source_step is not None:
            self.ages.append(int(step) - self.source_step)

    def summary(self) -> dict[str, float]:
        """``eigen_age_median``, ``eigen_age_max`` (over the updates since the last call that
        had eigens) and ``decompositions`` (installed since then); then starts over."""
        out: dict[str, float] = {"decompositions": float(self.delivered)}
        if self.ages:
            ages = sorted(self.ages)
            mid = len(ages) // 2
            out["eigen_age_median"] = float(ages[mid] if len(ages) % 2 else
                                            (ages[mid - 1] + ages[mid]) / 2)
            out["eigen_age_max"] = float(ages[-1])
        self.ages.clear()
        self.delivered = 0
        return out


class AsyncEigen:
    """The eigen thread of one optimizer and its schedule.

    ``deterministic``: every due step waits for its own decomposition (equal to
    the synchronous path; for tests).  ``wait_first_eigen``: see the module
    docstring.  ``backend``, ``nice``, ``blas_threads``: of the
    :class:`~.eigen_worker.EigenWorker` (``backend='process'``: an
    :class:`~.eigen_process.EigenProcess` instead).  Options left out take the optimizer
    config's ``deterministic_async``, ``wait_first_eigen``, ``eigen_backend``,
    ``eigen_nice`` and ``eigen_blas_threads``.
    """

    # ``optim``: a KfacOptimizer; not imported, even for type checking, as the optimizer
    # imports this module (tests/test_layout.py refuses the cycle)
    def __init__(self, optim: Any, deterministic: bool | None = None,
                 wait_first_eigen: bool | None = None, backend: str | None = None,
                 nice: int | None = None, blas_threads: int | str | None = None) -> None:
        cfg = optim.config
        pick = lambda given, default: default if given is None else given  # noqa: E731
        self.optim = optim
        self.deterministic = bool(pick(deterministic, cfg.deterministic_async))
        self.wait_first_eigen = bool(pick(wait_first_eigen, cfg.wait_first_eigen))
        backend = pick(backend, cfg.eigen_backend)
        nice, blas_threads = pick(nice, cfg.eigen_nice), pick(blas_threads, cfg.eigen_blas_threads)
        self.worker: EigenWorker | EigenProcess
        if backend == "process":
            from .eigen_process import EigenProcess

            self.worker = EigenProcess(nice=nice, blas_threads=blas_threads)
        else:
            self.worker = EigenWorker(backend=backend, nice=nice, blas_threads=blas_threads)
        self.pending_step = 0  # global_step of the statistics handed to the worker
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
        installed = self._install(worker.poll(), self.pending_step)
        if due and not worker.busy:
            worker.submit(optim.snapshot_stats())
            self.pending_step = int(optim.global_step.numpy())
        if kfac_now and fs == 0 and not installed and not optim.config.full_stats_init:
            self.raw_gradient_kfac_steps += 1
        return installed

    def _wait_for_eigens(self, due: bool, fs: int) -> bool:
        """Block until this step has eigens: of its own statistics when due, else of the
        decomposition in progress, else (no eigens at all yet) of the current ones."""
        worker, now = self.worker, int(self.optim.global_step.numpy())
        if due:
            result, source = worker.run_now(self.optim.snapshot_stats()), now
        elif self.deterministic:
            return False
        elif worker.busy:
            result, source = worker.wait(), self.pending_step
        elif fs == 0:
            result, source = worker.run_now(self.optim.snapshot_stats()), now
        else:
            return False
        return self._install(result, source)

    def _install(self, result: Decompositions | None, source_step: int) -> bool:
        """Install ``result`` (of the statistics at ``global_step == source_step``)."""
        if result is None:
            return False
        self.optim.eigen_age.installed(source_step)
        failed = [f.key for f, r in zip(self.optim.eigen_factors, result) if r is None]
        if failed:
            self.optim.count_eigen_failures(failed)
        self.optim.install_eigens(result)
        return True

    def close(self) -> None:
        self.worker.close()
