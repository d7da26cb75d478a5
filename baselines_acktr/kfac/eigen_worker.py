"""Background eigen-decomposition of the K-FAC factors (the paper computes the
inverses asynchronously, as distributed K-FAC does).

Ports the role of baselines' ``KfacOptimizer`` queue runner (``is_async=True``):
a thread decomposes copies of the factor statistics while training goes on, and
hands results over through a slot of capacity one.  The thread works only on
copies it is given, so it never sees a half-written statistic, and it never
writes the optimizer's variables: the training thread installs results between
steps.  An exception in the thread is re-raised in the training thread.

Backends (``docs/performance.md`` has the timings):

* ``'numpy'``: LAPACK ``syevd`` through ``numpy.linalg.eigh`` in float32, one
  factor at a time: fastest for large factors (3136² fc1: ~2.6 s against ~7 s).
  Between factors the thread needs the GIL, which a busy training thread hands
  over only every switch interval (5 ms), so a job of many small factors waits.
* ``'tf'``: all factors in one ``tf.function`` call (``tf.linalg.eigh``), which
  holds no GIL while it runs.
* ``'auto'`` (default): factors of dimension ≥ ``LARGE`` through numpy, all the
  others together in one ``tf.function`` call.

``blas_threads`` caps the BLAS threads of the numpy decompositions while they
run (``threadpoolctl``; OpenBLAS's setting is process-wide, and TensorFlow does
not use it).  ``'auto'`` (default) is half the CPUs, at least one: on this
2-core machine one thread made the async ACKTR update ~20% cheaper (fewer threads
competing with TensorFlow's) and delivered more decompositions, not fewer
(``docs/performance.md``).
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast

import numpy as np


LARGE = 1024

Decomposition = tuple[np.ndarray, np.ndarray]
"""``(e, Q)`` of one factor: its eigenvalues and its eigenvectors as columns (float32)."""
Decompositions = list[Decomposition | None]
"""One job's result, in the order of its matrices; None where a decomposition failed twice."""
BlasLimit = Callable[[], AbstractContextManager[Any]]
"""A context manager factory that caps the BLAS threads while it is entered."""


def _eigh_numpy(m: np.ndarray) -> Decomposition:
    e, q = np.linalg.eigh(m)
    return e.astype(np.float32, copy=False), q.astype(np.float32, copy=False)


def _eigh_numpy64(m: np.ndarray) -> Decomposition:
    """The retry of a failed decomposition: the same matrix in float64."""
    return _eigh_numpy(np.asarray(m, np.float64))


def _decompose_one(m: np.ndarray) -> Decomposition | None:
    """``(e, Q)`` of one matrix, or None when LAPACK fails in float32 and in float64
    (baselines' known crash, openai/baselines#909: "Self-adjoint eigen decomposition was
    not successful"); the optimizer then keeps that factor's previous decomposition."""
    for backend in ("numpy", "numpy64"):
        try:
            e, q = BACKENDS[backend](m)
        except (np.linalg.LinAlgError, ValueError, ArithmeticError):
            continue
        if np.all(np.isfinite(e)) and np.all(np.isfinite(q)):
            return e, q
    return None


class _TfBatch:
    """``tf.linalg.eigh`` of a list of matrices in one ``tf.function`` call (traced
    once per list of shapes)."""

    def __init__(self) -> None:
        import tensorflow as tf

        self._fn = tf.function(lambda ms: [tf.linalg.eigh(m) for m in ms])

    def __call__(self, mats: Iterable[np.ndarray]) -> list[Decomposition]:
        return [(e.numpy(), q.numpy()) for e, q in self._fn(list(mats))]


def resolve_blas_threads(blas_threads: int | str | None) -> int | None:
    """``'auto'`` → half the CPUs (at least 1); None → leave BLAS alone; else an int ≥ 1."""
    if blas_threads is None:
        return None
    if blas_threads == "auto":
        return max(1, (os.cpu_count() or 2) // 2)
    if isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1:
        raise ValueError(f"blas_threads must be 'auto', None or an int >= 1, got {blas_threads!r}")
    return blas_threads


def _decompose_all(mats: Sequence[np.ndarray], backend: str, tf_batch: _TfBatch | None,
                   stop: threading.Event, blas_limit: BlasLimit | None = None) -> Decompositions | None:
    """Eigen-decompose ``mats`` (an entry is None where a decomposition failed twice);
    returns None if ``stop`` was set meanwhile.
    ``blas_limit``: a context manager factory that caps BLAS threads around the
    numpy decompositions (None: no cap)."""
    if backend == "numpy":
        small, large = [], list(range(len(mats)))
    elif backend == "tf":
        small, large = list(range(len(mats))), []
    else:
        small = [i for i, m in enumerate(mats) if m.shape[0] < LARGE]
        large = [i for i, m in enumerate(mats) if m.shape[0] >= LARGE]
    out: Decompositions = [None] * len(mats)
    if small:
        results: Sequence[Decomposition | None]
        try:
            assert tf_batch is not None  # only backend 'numpy' has none, and it puts no matrix here
            results = tf_batch([mats[i] for i in small])
        except Exception:  # noqa: BLE001 - tf's eigh failed on one of them: one by one
            results = [_decompose_one(mats[i]) for i in small]
        for i, r in zip(small, results):
            if r is not None and not (np.all(np.isfinite(r[0])) and np.all(np.isfinite(r[1]))):
                r = _decompose_one(mats[i])
            out[i] = r
    if large and blas_limit is not None:
        with blas_limit():
            return _decompose_large(mats, large, out, stop)
    return _decompose_large(mats, large, out, stop)


def _decompose_large(mats: Sequence[np.ndarray], large: Sequence[int], out: Decompositions,
                     stop: threading.Event) -> Decompositions | None:
    for i in large:
        if stop.is_set():
            return None
        out[i] = _decompose_one(mats[i])
    return out


# the per-matrix LAPACK paths, float32 then the float64 retry (tests may replace them)
BACKENDS: dict[str, Callable[[np.ndarray], Decomposition]] = {"numpy": _eigh_numpy,
                                                               "numpy64": _eigh_numpy64}
CHOICES = ("auto", "numpy", "tf")


class EigenThreadError(RuntimeError):
    """The background eigen-decomposition failed; the cause is chained."""


class EigenWorker:
    """One daemon thread, one job at a time (capacity-one hand-over)."""

    def __init__(self, backend: str = "auto", nice: int = 0,
                 blas_threads: int | str | None = "auto") -> None:
        if backend not in CHOICES:
            raise ValueError(f"unknown eigen backend {backend!r}; choose from {CHOICES}")
        self._nice = int(nice)
        self.blas_threads = resolve_blas_threads(blas_threads)
        self._blas_limit: BlasLimit | None = None
        if self.blas_threads is not None:
            from threadpoolctl import ThreadpoolController

            controller = ThreadpoolController()  # finds the BLAS libraries once
            self._blas_limit = lambda: controller.limit(limits=self.blas_threads,
                                                        user_api="blas")
        self._backend = backend
        self._tf_batch = _TfBatch() if backend != "numpy" else None
        self._jobs: queue.Queue[list[np.ndarray] | None] = queue.Queue(maxsize=1)
        self._results: queue.Queue[Decompositions | BaseException] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.busy = False  # a job was submitted and its result not yet taken
        self.completed = 0  # results taken by the training thread
        self.discarded = 0  # of which superseded by run_now() before use
        self._thread = threading.Thread(target=self._run, name="kfac-eigen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self._nice:
            # Linux: a thread's own nice value, so that the decompositions use the CPU
            # time the training step leaves (as baselines' thread used a spare CPU next
            # to a GPU) instead of slowing every step; elsewhere this is a no-op.
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)
            except (AttributeError, OSError):
                pass
        while not self._stop.is_set():
            job = self._jobs.get()
            if job is None:
                return
            try:
                out = _decompose_all(job, self._backend, self._tf_batch, self._stop,
                                     self._blas_limit)
                if out is None:
                    return
                self._results.put(out)
            except BaseException as exc:  # handed to the training thread
                self._results.put(exc)

    def check(self) -> None:
        """Raise the thread's exception, if it had one."""
        if self._error is not None:
            raise EigenThreadError(f"K-FAC eigen-decomposition thread failed: {self._error!r}") \
                from self._error
        if not self._thread.is_alive() and not self._stop.is_set():
            raise EigenThreadError("K-FAC eigen-decomposition thread died")

    def submit(self, matrices: Iterable[np.ndarray]) -> None:
        self.check()
        if self.busy:
            raise RuntimeError("EigenWorker.submit() while a job is pending")
        self.busy = True
        self._jobs.put(list(matrices))

    def _take(self, result: Decompositions | BaseException) -> Decompositions:
        self.busy = False
        if isinstance(result, BaseException):
            self._error = result
            self.check()  # raises: _error is set
        self.completed += 1
        return cast(Decompositions, result)

    def poll(self) -> Decompositions | None:
        """The finished result, or None if none is ready."""
        self.check()
        try:
            return self._take(self._results.get_nowait())
        except queue.Empty:
            return None

    def wait(self, timeout: float | None = None) -> Decompositions:
        """Block until the pending job's result is ready and return it."""
        if not self.busy:
            raise RuntimeError("EigenWorker.wait() with no pending job")
        while True:
            try:
                return self._take(self._results.get(timeout=0.5 if timeout is None else timeout))
            except queue.Empty:
                self.check()
                if timeout is not None:
                    raise TimeoutError("eigen-decomposition did not finish in time") from None

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until no decomposition is in progress; a finished result stays
        queued for :meth:`poll` (benchmarks use this to time other work alone)."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.busy and self._results.empty():
            self.check()
            if end is not None and time.monotonic() > end:
                raise TimeoutError("eigen-decomposition did not finish in time")
            time.sleep(0.005)

    def run_now(self, matrices: Iterable[np.ndarray]) -> Decompositions:
        """Discard any pending job, decompose ``matrices`` and wait for the result."""
        if self.busy:
            self.wait()
            self.discarded += 1
        self.submit(matrices)
        return self.wait()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread; waits for the matrix in progress (at most ``timeout`` s)."""
        self._stop.set()
        try:
            self._jobs.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
