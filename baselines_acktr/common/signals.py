"""The process's signal policy: what Ctrl-C and SIGTERM do to a training run.

First SIGINT/SIGTERM: the run stops after its current update, saves a checkpoint and
exits 0.  A second Ctrl-C (SIGINT): the process ends at once with one line and status 130 (the env
workers killed first; checkpoints stay whole because they are written atomically).
In a script's own process (:func:`run_script`) the second signal ends the process
from the handler itself, so there is no moment at which it can raise somewhere
that prints a traceback; in-process callers (``main(argv)``, tests) get a
``KeyboardInterrupt`` instead.  Not in baselines, whose scripts die of the signal.
"""
import atexit
import os
import signal
import sys

EXIT_ABORTED = 130


class StopOnSignal:
    """First SIGINT/SIGTERM: ask the run to stop after the current update (it saves a
    checkpoint and exits 0).  A second SIGINT (Ctrl-C): abort at once (in a script, end
    the process here; in-process, raise KeyboardInterrupt).  A SIGTERM after the first
    request changes nothing: a cluster or a sweep may send it twice while the run saves.

    Entering one while another is active reuses the active one, so a Ctrl-C during
    start-up (imports, model build, env start) is remembered by the training loop.

    The second signal's ``KeyboardInterrupt`` can land in a finalizer (a ``__del__``,
    a weakref callback such as multiprocessing's semaphore clean-up at garbage
    collection), where Python cannot raise: it prints "Exception ignored in ..." with
    a traceback and goes on, losing the abort.  While one is active, such an ignored
    ``KeyboardInterrupt`` (seen by ``sys.unraisablehook``) aborts the process at once
    (:func:`abort_process`) instead.  It cannot be delivered again: the handler would
    run inside the hook, another place Python cannot raise from.
    """

    _active = None
    hard_abort = False  # run_script: the second signal ends the process in the handler

    def __init__(self, prog="baselines_acktr"):
        self.prog = prog
        self.requested = False
        self.aborting = False
        self.abort_detail = lambda: ""  # RunGuard: "; last checkpoint: ..."
        self._old = {}
        self._old_hook = None
        self._outer = None

    def __enter__(self):
        if StopOnSignal._active is not None:
            self._outer = StopOnSignal._active
            return self._outer
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        self._old_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        StopOnSignal._active = self
        return self

    @classmethod
    def active(cls):
        """The stop handler in force (None outside ``run_main`` / ``RunGuard``)."""
        return cls._active

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGTERM:
            return  # a repeated stop request (a sweep's trial and its worker both send one)
        if self.requested:
            self.aborting = True
            if StopOnSignal.hard_abort:
                abort_process(self.prog, self.abort_detail())
            raise KeyboardInterrupt
        self.requested = True
        sys.stderr.write("\nstopping after this update and saving a checkpoint "
                         "(press Ctrl-C again to abort at once)\n")

    def _unraisable(self, unraisable):
        if self.aborting and issubclass(unraisable.exc_type, KeyboardInterrupt):
            abort_process(self.prog, self.abort_detail())
        self._old_hook(unraisable)

    def __exit__(self, *exc):
        if self._outer is not None:
            self._outer = None
            return False
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}
        sys.unraisablehook, self._old_hook = self._old_hook, None
        StopOnSignal._active = None
        return False


def abort_process(prog, detail=""):
    """End the process at once with one line and status 130 (a second Ctrl-C).

    The env workers, immune to the group's signals, are killed first, so none is left
    behind; checkpoints are written atomically (a temporary folder, then ``latest``),
    so an abort, like ``kill -9``, never leaves a half-written one in use."""
    import multiprocessing
    import multiprocessing.util

    for sig in (signal.SIGINT, signal.SIGTERM):  # a third Ctrl-C does not cut the abort short
        signal.signal(sig, signal.SIG_IGN)
    for child in multiprocessing.active_children():
        child.kill()
    try:
        # what multiprocessing runs at a normal exit: unlink the env queues' semaphores
        # (else its resource tracker prints that they leaked)
        multiprocessing.util._run_finalizers(0)
    except BaseException:  # noqa: BLE001 - the abort goes on whatever a finalizer does
        pass
    _flush_stdio()
    os.write(2, f"{prog}: aborted{detail}\n".encode())
    os._exit(EXIT_ABORTED)


def run_main(prog, main_fn):
    """Run an entry point (``main_fn()`` returns its exit status) with the stop rules in
    force from its first line: a second Ctrl-C anywhere ends it with one line and
    status 130, never a traceback."""
    with StopOnSignal(prog):
        try:
            return main_fn()
        except KeyboardInterrupt:
            sys.stderr.write(f"{prog}: aborted\n")
            return EXIT_ABORTED


def run_script(prog, main_fn):
    """A script's whole process (``python -m baselines_acktr.run_atari``, the root
    shims): :func:`run_main`, then the process exits with its status.

    A Ctrl-C or SIGTERM outside :func:`run_main`'s stop rules (once it has returned:
    the exit) ends the process at once with one line and status 130, as a second
    Ctrl-C does during the run.  The exit runs the ``atexit`` clean-ups with that
    handler in force, then ends the process with ``os._exit``: the interpreter's
    own finalization (module and TensorFlow teardown) resets the signals to their
    default first, so a Ctrl-C there killed the process (status -2).  Nothing is
    left to save by then: the run's checkpoint, logs and env workers are closed.
    Only for a script's own process, never in-process (tests call ``main``): there a
    second Ctrl-C during the run also ends the process from the signal handler
    (:attr:`StopOnSignal.hard_abort`)."""
    StopOnSignal.hard_abort = True
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: abort_process(prog))
    try:
        status = run_main(prog, main_fn)
    except SystemExit as exc:  # cli.fail: a usage error
        status = exc.code
    if status is None:
        status = 0
    elif not isinstance(status, int):
        sys.stderr.write(f"{status}\n")
        status = 1
    atexit._run_exitfuncs()  # what sys.exit would run (the stdlib's, TensorFlow's, absl's)
    _flush_stdio()
    os._exit(status)


def _flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


class RunGuard:
    """Runs a training body with the CLI's stop rules: Ctrl-C/SIGTERM set
    ``stop.requested`` (the body stops after its current update and saves); a
    ``FloatingPointError`` ends the run with status 1 naming ``last_saved``, the
    last good checkpoint; a second Ctrl-C aborts with status 130.  The cleanups
    always run (each on its own: one that fails is reported in one line)."""

    def __init__(self, prog):
        self.prog = prog
        self.last_saved = None
        self.stop = None

    def run(self, body, *cleanups):
        status = 0
        with StopOnSignal(self.prog) as self.stop:
            self.stop.abort_detail = lambda: f"; last checkpoint: {self.last_saved or 'none yet'}"
            try:
                body()
            except FloatingPointError as exc:
                sys.stderr.write(f"{self.prog}: {exc}; stopped. Last good checkpoint: "
                                 f"{self.last_saved or 'none yet'}\n")
                status = 1
            except KeyboardInterrupt:
                sys.stderr.write(f"{self.prog}: aborted; last checkpoint: "
                                 f"{self.last_saved or 'none yet'}\n")
                status = EXIT_ABORTED
            finally:
                for cleanup in cleanups:
                    try:
                        cleanup()
                    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
                        sys.stderr.write(f"{self.prog}: while closing: {exc!r}\n")
        return status
