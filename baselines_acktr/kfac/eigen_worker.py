"""Background eigen-decomposition of the K-FAC factors (the paper computes the
inverses asynchronously, as distributed K-FAC does).

Ports the role of baselines' ``KfacOptimizer`` queue runner (``is_async=True``):
a thread decomposes copies of the factor statistics while training goes on, and
hands results over through a slot of capacity one.  The thread works only on
copies it is given, so it never sees a half-written statistic, and it never
writes the optimizer's variables: the training thread installs results between
steps.  An exception in the thread is re-raised in the training thread.  That
hand-over is :class:`EigenHandover`'s, shared with the worker process of
:mod:`.eigen_process`; :class:`EigenWorker` is the thread.

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
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, NoReturn

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

        from .tracing import traced

        self._fn = traced(lambda ms: [tf.linalg.eigh(m) for m in ms])

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


class EigenHandover(ABC):
    """The hand-over between the training thread and a background worker (ports the role
    of the capacity-one queue of baselines' eigen queue runner): one job in flight, its
    result taken by the training thread, the worker's failure or death raised there as
    :class:`EigenThreadError`.  The bookkeeping and the waiting are
    here; a subclass moves jobs and answers (``_hand_over``, ``_receive``, ``_ready``,
    ``_unpack``; an answer is whatever its transport carries for one job) and owns its
    worker's end (``_death``, :meth:`close`, :attr:`alive`).

    ``busy``: a job was submitted and its result not yet taken; ``completed``: results
    taken; ``discarded``: of which superseded by :meth:`run_now` before use.
    """

    kind = "worker"
    """The worker's name in error messages."""

    def __init__(self, blas_threads: int | str | None) -> None:
        self.blas_threads = resolve_blas_threads(blas_threads)
        self.busy = False
        self.completed = 0
        self.discarded = 0
        self._error: str | None = None  # the worker's failure (a repr), once it reported one
        self._cause: BaseException | None = None  # and the exception, if raised in this process

    # ------------------------------------------------------------ transport
    @abstractmethod
    def _hand_over(self, matrices: list[np.ndarray]) -> None:
        """Give the worker a job."""

    @abstractmethod
    def _receive(self, timeout: float) -> Any:
        """The job's answer if one comes within ``timeout`` s, else None."""

    @abstractmethod
    def _ready(self, timeout: float) -> bool:
        """Whether an answer is ready within ``timeout`` s, without taking it."""

    @abstractmethod
    def _unpack(self, answer: Any) -> Decompositions:
        """The result an answer carries; a failure goes to :meth:`_fail`."""

    @abstractmethod
    def _death(self) -> str | None:
        """How the worker ended, if it did without :meth:`close` (for the error message)."""

    @abstractmethod
    def close(self, timeout: float = 30.0) -> None:
        """Stop the worker (at most ``timeout`` s)."""

    @property
    @abstractmethod
    def alive(self) -> bool:
        """Whether the worker still runs."""

    # ------------------------------------------------------------ hand-over
    def check(self) -> None:
        """Raise :class:`EigenThreadError` if the worker failed or died."""
        if self._error is not None:
            raise self._failure()
        death = self._death()
        if death is not None:
            raise EigenThreadError(f"K-FAC eigen-decomposition {self.kind} {death}")

    def _fail(self, error: str, cause: BaseException | None = None) -> NoReturn:
        """Record the worker's failure (``error``: its repr; ``cause``: the exception, if
        raised in this process) and raise it; every later :meth:`check` raises it too."""
        self._error, self._cause = error, cause
        raise self._failure()

    def _failure(self) -> EigenThreadError:
        error = EigenThreadError(f"K-FAC eigen-decomposition {self.kind} failed: {self._error}")
        error.__cause__ = self._cause  # as ``raise ... from cause``
        return error

    def submit(self, matrices: Iterable[np.ndarray]) -> None:
        """Hand over ``matrices`` (square, float32), which the caller no longer changes."""
        self.check()
        if self.busy:
            raise RuntimeError(f"{type(self).__name__}.submit() while a job is pending")
        self._hand_over(list(matrices))
        self.busy = True

    def _next(self, timeout: float) -> Decompositions | None:
        """The pending job's result if it comes within ``timeout`` s, else None; raises
        if the worker failed or died."""
        answer = self._receive(timeout)
        if answer is None:
            self.check()
            return None
        self.busy = False
        result = self._unpack(answer)
        self.completed += 1
        return result

    def poll(self) -> Decompositions | None:
        """The finished result, or None if none is ready."""
        self.check()
        return self._next(0.0) if self.busy else None

    def wait(self, timeout: float | None = None) -> Decompositions:
        """Block until the pending job's result is ready and return it."""
        if not self.busy:
            raise RuntimeError(f"{type(self).__name__}.wait() with no pending job")
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            result = self._next(0.5 if end is None else max(0.0, min(0.5, end - time.monotonic())))
            if result is not None:
                return result
            if end is not None and time.monotonic() >= end:
                raise TimeoutError("eigen-decomposition did not finish in time")

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until no decomposition is in progress; a finished result stays for
        :meth:`poll` (benchmarks use this to time other work alone)."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.busy and not self._ready(0.005):
            self.check()
            if end is not None and time.monotonic() > end:
                raise TimeoutError("eigen-decomposition did not finish in time")

    def run_now(self, matrices: Iterable[np.ndarray]) -> Decompositions:
        """Discard any pending job, decompose ``matrices`` and wait for the result."""
        if self.busy:
            self.wait()
            self.discarded += 1
        self.submit(matrices)
        return self.wait()


class EigenWorker(EigenHandover):
    """One daemon thread, one job at a time; the hand-over is two queues of capacity one."""

    kind = "thread"

    def __init__(self, backend: str = "auto", nice: int = 0,
                 blas_threads: int | str | None = "auto") -> None:
        if backend not in CHOICES:
            raise ValueError(f"unknown eigen backend {backend!r}; choose from {CHOICES}")
        self._nice = int(nice)
        super().__init__(blas_threads)
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

    def _hand_over(self, matrices: list[np.ndarray]) -> None:
        self._jobs.put(matrices)

    def _receive(self, timeout: float) -> Decompositions | BaseException | None:
        try:
            return self._results.get(timeout=timeout)
        except queue.Empty:
            return None

    def _ready(self, timeout: float) -> bool:
        if self._results.empty():  # a queue cannot be waited on without taking: look again
            time.sleep(timeout)
        return not self._results.empty()

    def _unpack(self, answer: Decompositions | BaseException) -> Decompositions:
        if isinstance(answer, BaseException):
            self._fail(repr(answer), answer)
        return answer

    def _death(self) -> str | None:
        return None if self._thread.is_alive() or self._stop.is_set() else "died"

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
