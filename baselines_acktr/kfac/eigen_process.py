"""The eigen-decompositions in a worker process (``eigen_backend='process'``).

The thread of :mod:`.eigen_worker` shares the training thread's interpreter, so a
LAPACK call that keeps the GIL stops training while it runs: ``scipy.linalg.eigh``
(``driver='evd'``, the fastest path on this machine's OpenBLAS, ~2.4× numpy's for the
3136² fc1 factor) does, and numpy's leaves it only between factors.  Here a spawned
process (``python -m baselines_acktr.kfac.eigen_process``, which imports no TensorFlow)
does the same work: the factor statistics go to it, and the ``(e, Q)`` come back,
through two blocks of shared memory; its pipes carry one short JSON line per job.
The hand-over is :class:`~.eigen_worker.EigenHandover`'s, as for the thread
(capacity one, copies in, the training thread installs results;
:mod:`.async_eigen` cannot tell them apart).

Failures: a decomposition that fails in float32 and float64 comes back as None (the
optimizer keeps that factor's previous one and counts it); an exception in the
process, or the process dying, is raised in the training thread as
:class:`~.eigen_worker.EigenThreadError`.  The process starts in a process group of its own
(a Ctrl-C or a sweep's SIGTERM to the learner's process group reaches only the
learner, which closes it), in the learner's session (Linux's autogroup scheduler
then shares the CPU between it and training as between threads) and, on Linux, is killed with the learner
(``PR_SET_PDEATHSIG``); elsewhere it exits when its pipe closes.  Ports the role of
baselines' eigen queue runner; no baselines code does this.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import IO, Any

import numpy as np

from .eigen_worker import Decomposition, Decompositions, EigenHandover, EigenThreadError


def _layout(dims: Sequence[int]) -> tuple[list[int], list[int], int, int]:
    """Float32 offsets of each matrix in the input block and of each ``(e, Q)`` in the
    output block, and the two blocks' sizes in float32s."""
    ins, outs, i, o = [], [], 0, 0
    for n in dims:
        ins.append(i)
        outs.append(o)
        i += n * n
        o += n + n * n
    return ins, outs, i, o


def _eigh(m: np.ndarray) -> Decomposition | None:
    """``(e, Q)`` by LAPACK ``syevd`` (scipy, else numpy), float32 then the float64 retry;
    None when both fail or give non-finite values (openai/baselines#909)."""
    try:
        from scipy.linalg import eigh

        def solve(a):
            return eigh(a, driver="evd", check_finite=False)
    except ImportError:  # pragma: no cover - scipy is a dependency
        solve = np.linalg.eigh
    for dtype in (np.float32, np.float64):
        try:
            e, q = solve(np.asarray(m, dtype))
        except (np.linalg.LinAlgError, ValueError, ArithmeticError):
            continue
        if np.all(np.isfinite(e)) and np.all(np.isfinite(q)):
            return e.astype(np.float32, copy=False), q.astype(np.float32, copy=False)
    return None


def _die_with_parent() -> None:
    """Linux: SIGKILL when the learner dies (kill -9 included)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _attach(name: str) -> SharedMemory:
    """Open the learner's block without adopting it: the learner's resource tracker
    removes it (also after a kill -9), this process's must not (Python < 3.13)."""
    shm = SharedMemory(name)
    with contextlib.suppress(Exception):
        resource_tracker.unregister(getattr(shm, "_name", "/" + name), "shared_memory")
    return shm


def _serve(parent: int, nice: int, blas_threads: int | None) -> None:
    """The worker process: one job per line on stdin, one answer per line on stdout."""
    _die_with_parent()
    if os.getppid() != parent:  # the learner died before the line above
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    if blas_threads is not None:
        from threadpoolctl import threadpool_limits

        # scipy's LAPACK comes with an OpenBLAS of its own, which a limit set before it is
        # loaded does not reach: left at one thread per CPU, its spinning threads took
        # more than twice the CPU of one thread per decomposition while training ran (fps.py)
        with contextlib.suppress(ImportError):
            import scipy.linalg  # noqa: F401
        threadpool_limits(blas_threads, user_api="blas")
    blocks: tuple[SharedMemory, SharedMemory] | None = None
    dims: list[int] = []
    out = sys.stdout
    try:
        for line in sys.stdin:
            msg = json.loads(line)
            if msg[0] == "stop":
                return
            if msg[0] == "setup":
                _, in_name, out_name, dims = msg
                blocks = (_attach(in_name), _attach(out_name))
                continue
            try:
                out.write(json.dumps(["done", msg[1], _decompose(blocks, dims)]) + "\n")
            except Exception as exc:  # noqa: BLE001 - handed to the training thread
                out.write(json.dumps(["error", msg[1], repr(exc)]) + "\n")
            out.flush()
    finally:
        if blocks is not None:
            for b in blocks:
                b.close()


def _decompose(blocks: tuple[SharedMemory, SharedMemory] | None, dims: list[int]) -> list[int]:
    """Decompose every matrix of the input block into the output block; the indices of
    those that failed."""
    assert blocks is not None, "a job before its setup"
    ins, outs, nin, nout = _layout(dims)
    src = np.ndarray((nin,), np.float32, blocks[0].buf)
    dst = np.ndarray((nout,), np.float32, blocks[1].buf)
    failed = []
    for k, n in enumerate(dims):
        r = _eigh(src[ins[k]:ins[k] + n * n].reshape(n, n))
        if r is None:
            failed.append(k)
            continue
        dst[outs[k]:outs[k] + n] = r[0]
        dst[outs[k] + n:outs[k] + n + n * n] = r[1].ravel()
    return failed


class EigenProcess(EigenHandover):
    """A spawned process, one job at a time; the hand-over is shared memory and one JSON
    line each way per job (an answer: ``[kind, job, indices of the failed matrices or the
    error]``).  It adds ``pid``.

    ``nice``: the process's nice value; ``blas_threads``: its BLAS threads
    (``'auto'``: half the CPUs, at least one).
    """

    kind = "process"

    def __init__(self, nice: int = 0, blas_threads: int | str | None = "auto") -> None:
        super().__init__(blas_threads)
        args = [sys.executable, "-m", __name__, str(os.getpid()), str(int(nice)),
                str(self.blas_threads or 0)]
        # a process group of its own, in the learner's session: Linux's autogroup scheduler
        # shares the CPU between sessions, so a session of its own would give the worker
        # as much CPU as the whole learner (measured: training ~20% slower)
        group: dict[str, Any] = (dict(process_group=0) if sys.version_info >= (3, 11)
                                 else dict(preexec_fn=os.setpgrp))
        # numpy's and scipy's OpenBLAS copies each start their threads when loaded: the
        # variable sizes both pools from the start (the worker's limit covers the rest)
        env = (dict(os.environ, OPENBLAS_NUM_THREADS=str(self.blas_threads))
               if self.blas_threads else None)
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1, env=env, **group)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._to: IO[str] = self._proc.stdin
        self._from: IO[str] = self._proc.stdout
        self._blocks: tuple[SharedMemory, SharedMemory] | None = None
        self._dims: list[int] = []
        self._seq = 0
        self._closed = False

    # ------------------------------------------------------------ transport
    def _death(self) -> str | None:
        if self._closed or self._proc.poll() is None:
            return None
        return f"died (exit code {self._proc.returncode})"

    def _send(self, *msg: Any) -> None:
        try:
            self._to.write(json.dumps(msg) + "\n")
            self._to.flush()
        except (BrokenPipeError, OSError):
            self.check()
            raise

    def _setup(self, dims: list[int]) -> None:
        self._release()
        _, _, nin, nout = _layout(dims)
        self._blocks = (SharedMemory(create=True, size=max(4, 4 * nin)),
                        SharedMemory(create=True, size=max(4, 4 * nout)))
        self._dims = dims
        self._send("setup", self._blocks[0].name, self._blocks[1].name, dims)

    def _hand_over(self, matrices: list[np.ndarray]) -> None:
        """Copy ``matrices`` into the input block (a new one for a new layout)."""
        dims = [int(m.shape[0]) for m in matrices]
        if dims != self._dims or self._blocks is None:
            self._setup(dims)
        assert self._blocks is not None
        ins, _, nin, _ = _layout(dims)
        src = np.ndarray((nin,), np.float32, self._blocks[0].buf)
        for k, m in enumerate(matrices):
            src[ins[k]:ins[k] + dims[k] ** 2] = np.asarray(m, np.float32).ravel()
        del src
        self._seq += 1
        self._send("job", self._seq)

    def _unpack(self, answer: list[Any]) -> Decompositions:
        """Copies of the ``(e, Q)`` in the output block; None for the failed matrices."""
        tag, seq, detail = answer
        if seq != self._seq:  # pragma: no cover - one job in flight at a time
            raise EigenThreadError(f"eigen process answered job {seq}, expected {self._seq}")
        if tag == "error":
            self._fail(detail)
        assert self._blocks is not None
        _, outs, _, nout = _layout(self._dims)
        dst = np.ndarray((nout,), np.float32, self._blocks[1].buf)
        out: Decompositions = []
        for k, n in enumerate(self._dims):
            if k in detail:
                out.append(None)
                continue
            e = dst[outs[k]:outs[k] + n].copy()
            q = dst[outs[k] + n:outs[k] + n + n * n].reshape(n, n).copy()
            out.append((e, q))
        del dst
        return out

    def _ready(self, timeout: float) -> bool:
        """The pipe closing counts as ready."""
        return bool(select.select([self._from], [], [], timeout)[0])

    def _receive(self, timeout: float) -> list[Any] | None:
        if self._ready(timeout):
            line = self._from.readline()
            if line:
                return json.loads(line)
        return None

    # ------------------------------------------------------------ shutdown
    def _release(self) -> None:
        if self._blocks is not None:
            for b in self._blocks:
                b.close()
                with contextlib.suppress(FileNotFoundError):
                    b.unlink()
            self._blocks = None

    def close(self, timeout: float = 30.0) -> None:
        """Stop the process (idempotent): at once if a job is in progress (its result
        would be discarded), else when it has read the stop (at most ``timeout`` s)."""
        if self._closed:
            return
        self._closed = True
        if self.busy:
            self._proc.kill()
        with contextlib.suppress(OSError):
            self._send("stop")
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        for pipe in (self._to, self._from):
            with contextlib.suppress(OSError):
                pipe.close()
        self._release()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def pid(self) -> int:
        return self._proc.pid


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) or None)
