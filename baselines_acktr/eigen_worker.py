"""Background eigen-decomposition of the K-FAC factors (paper section 3.3:
asynchronous computation of the inverses).

Ports the role of baselines' ``KfacOptimizer`` queue runner (``is_async=True``):
a thread decomposes copies of the factor statistics while training goes on, and
hands results over through a slot of capacity one.  The thread works only on
copies it is given, so it never sees a half-written statistic, and it never
writes the optimizer's variables: the training thread installs results between
steps.  An exception in the thread is re-raised in the training thread.

Backends: ``'numpy'`` (LAPACK ``syevd`` through ``numpy.linalg.eigh``, float32;
the fastest here, see docs/performance.md) or ``'tf'`` (``tf.linalg.eigh``).
"""
import queue
import threading

import numpy as np


def _eigh_numpy(m):
    e, q = np.linalg.eigh(m)
    return e.astype(np.float32, copy=False), q.astype(np.float32, copy=False)


def _eigh_tf(m):
    import tensorflow as tf

    e, q = tf.linalg.eigh(tf.constant(m))
    return e.numpy(), q.numpy()


BACKENDS = {"numpy": _eigh_numpy, "tf": _eigh_tf}


class EigenThreadError(RuntimeError):
    """The background eigen-decomposition failed; the cause is chained."""


class EigenWorker:
    """One daemon thread, one job at a time (capacity-one hand-over)."""

    def __init__(self, backend="numpy"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown eigen backend {backend!r}; choose from {sorted(BACKENDS)}")
        self._eigh = BACKENDS[backend]
        self._jobs = queue.Queue(maxsize=1)
        self._results = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._error = None
        self.busy = False  # a job was submitted and its result not yet taken
        self.completed = 0  # results taken by the training thread
        self.discarded = 0  # of which superseded by run_now() before use
        self._thread = threading.Thread(target=self._run, name="kfac-eigen", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            job = self._jobs.get()
            if job is None:
                return
            try:
                out = []
                for m in job:
                    if self._stop.is_set():
                        return
                    out.append(self._eigh(m))
                self._results.put(out)
            except BaseException as exc:  # handed to the training thread
                self._results.put(exc)

    def check(self):
        """Raise the thread's exception, if it had one."""
        if self._error is not None:
            raise EigenThreadError(f"K-FAC eigen-decomposition thread failed: {self._error!r}") \
                from self._error
        if not self._thread.is_alive() and not self._stop.is_set():
            raise EigenThreadError("K-FAC eigen-decomposition thread died")

    def submit(self, matrices):
        self.check()
        if self.busy:
            raise RuntimeError("EigenWorker.submit() while a job is pending")
        self.busy = True
        self._jobs.put(list(matrices))

    def _take(self, result):
        self.busy = False
        if isinstance(result, BaseException):
            self._error = result
            self.check()
        self.completed += 1
        return result

    def poll(self):
        """The finished result, or None if none is ready."""
        self.check()
        try:
            return self._take(self._results.get_nowait())
        except queue.Empty:
            return None

    def wait(self, timeout=None):
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

    def run_now(self, matrices):
        """Discard any pending job, decompose ``matrices`` and wait for the result."""
        if self.busy:
            self.wait()
            self.discarded += 1
        self.submit(matrices)
        return self.wait()

    def close(self, timeout=30.0):
        """Stop the thread; waits for the matrix in progress (at most ``timeout`` s)."""
        self._stop.set()
        try:
            self._jobs.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout)

    @property
    def alive(self):
        return self._thread.is_alive()
