"""Command-line plumbing shared by ``run_atari.py`` and ``run_mujoco.py``.

In the spirit of baselines' ``run.py``: flags ``--env --num_timesteps --seed
--alg --log_path --save_path --save_interval --load_path --play``.  A run
directory (``--log_path``, default ``logs/<env>-<alg>-seed<seed>``) gets
``config.json``, ``progress.csv``, ``monitor/*.monitor.csv``, TensorBoard
events under ``tb/``, checkpoints under ``checkpoints/`` (``--save_path``) and,
when the run ends, ``status.json`` (``finished``, ``interrupted`` or ``failed``,
with the updates and timesteps done).

Bad input (unknown or wrong kind of env, non-positive numbers, a missing or
mismatched checkpoint) ends with one line ``<prog>: error: ...`` and exit
status 2, before anything is written.  Ctrl-C stops at the end of the current
update and saves a checkpoint (a second Ctrl-C aborts at once).  A non-finite
loss stops the run (exit status 1) without saving over the last good checkpoint.
"""
import argparse
import atexit
import json
import os
import signal
import sys

from .common.cmd_util import Parser, fail, non_negative_int, positive_int


def base_parser(prog, description, default_env, default_timesteps, save_interval=100,
                log_interval=100):
    p = Parser(prog=prog, description=description)
    p.add_argument("--env", default=default_env, help=f"environment id (default {default_env})")
    p.add_argument("--num_timesteps", type=positive_int, default=default_timesteps,
                   help=f"total timesteps (default {default_timesteps:g})")
    p.add_argument("--stop_timesteps", type=positive_int, default=None,
                   help="stop (with a checkpoint) after this many timesteps, keeping the "
                        "learning-rate schedule of --num_timesteps; resume later to continue")
    p.add_argument("--stop_reward", type=stop_reward, default=None, metavar="R|human",
                   help="also stop (with a checkpoint) once the mean return of the last 100 "
                        "episodes reaches R; 'human': the paper's Table 1 human level of the game")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--log_path", default=None,
                   help="run directory (default logs/<env>-<alg>-seed<seed>)")
    p.add_argument("--save_path", default=None,
                   help="checkpoint directory (default <log_path>/checkpoints)")
    p.add_argument("--save_interval", type=positive_int, default=save_interval,
                   help=f"checkpoint every N updates (default {save_interval})")
    p.add_argument("--log_interval", type=positive_int, default=log_interval,
                   help=f"log table every N updates (default {log_interval})")
    p.add_argument("--load_path", default=None,
                   help="checkpoint (or checkpoint directory) to resume from / to play")
    p.add_argument("--play", action="store_true",
                   help="load --load_path, play episodes, write a GIF and print the returns")
    p.add_argument("--play_episodes", type=positive_int, default=1)
    p.add_argument("--eval", type=positive_int, default=None, metavar="N",
                   help="load --load_path, play N whole episodes, print mean ± std, write "
                        "<log_path>/eval.csv")
    p.add_argument("--log_kl", action="store_true",
                   help="ACKTR: log the measured KL(pi_old || pi_new) of every update beside the "
                        "trust-region bound and scale (two extra forward passes per update)")
    p.add_argument("--deterministic", action="store_true",
                   help="--eval/--play: the policy's mode instead of samples")
    p.add_argument("--video", default=None, help="GIF path for --play (default <log_path>/play.gif)")
    return p


def stop_reward(text):
    """``--stop_reward``: a number, or ``'human'`` (resolved per env by :func:`resolve_stop_reward`)."""
    if text == "human":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'human', got {text!r}") from None


def resolve_stop_reward(prog, args):
    """``args.stop_reward`` as a number: ``'human'`` is the paper's Table 1 human level of
    ``args.env`` (one line, exit 2, for a game the table does not list)."""
    if args.stop_reward != "human":
        return args.stop_reward
    from .compare.references import human_level

    level = human_level(args.env)
    if level is None:
        fail(prog, f"--stop_reward human: the paper's Table 1 has no human level for {args.env}")
    return level


def build_model(alg, policy, nenvs, total_timesteps, nsteps, ent_coef, vf_coef, lr, max_grad_norm,
                lrschedule, seed, vf_fisher_coef=1.0, kfac_clip=0.001, is_async=True,
                kfac_options=None, log_kl=False):
    """``Model`` (ACKTR) or ``A2CModel`` with the given hyperparameters."""
    from .a2c.a2c import A2CModel
    from .acktr.acktr import Model

    if alg == "acktr":
        return Model(policy, nenvs, total_timesteps, nsteps=nsteps, ent_coef=ent_coef,
                     vf_coef=vf_coef, vf_fisher_coef=vf_fisher_coef, lr=lr,
                     max_grad_norm=max_grad_norm, kfac_clip=kfac_clip, lrschedule=lrschedule,
                     is_async=is_async, kfac_options=kfac_options, seed=seed, log_kl=log_kl)
    if alg == "a2c":
        return A2CModel(policy, nenvs, total_timesteps, nsteps=nsteps, ent_coef=ent_coef,
                        vf_coef=vf_coef, max_grad_norm=max_grad_norm, lr=lr,
                        lrschedule=lrschedule, seed=seed)
    raise ValueError(f"alg must be 'acktr' or 'a2c', got {alg!r}")


STATUS = "status.json"  # a run folder's state: finished, interrupted or failed, with counts


def read_status(log_path):
    """A run folder's ``status.json`` (None while it runs or if it never ended cleanly)."""
    try:
        with open(os.path.join(log_path, STATUS)) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def default_log_path(args):
    return os.path.join("logs", f"{args.env}-{args.alg}-seed{args.seed}")


def write_json_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def monitor_dir_for(log_path, start_update):
    """``monitor/`` for a new run; ``monitor/resume-uNNNNN/`` when resuming, so that
    no earlier monitor file is overwritten."""
    base = os.path.join(log_path, "monitor")
    return base if start_update == 0 else os.path.join(base, f"resume-u{start_update:05d}")


EXIT_ABORTED = 130


class StopOnSignal:
    """First SIGINT/SIGTERM: ask the run to stop after the current update (it saves a
    checkpoint and exits 0).  Second: raise KeyboardInterrupt at once.

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

    def __init__(self, prog="baselines_acktr"):
        self.prog = prog
        self.requested = False
        self.aborting = False
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
        if self.requested:
            self.aborting = True
            raise KeyboardInterrupt
        self.requested = True
        sys.stderr.write("\nstopping after this update and saving a checkpoint "
                         "(press Ctrl-C again to abort at once)\n")

    def _unraisable(self, unraisable):
        if self.aborting and issubclass(unraisable.exc_type, KeyboardInterrupt):
            abort_process(self.prog)
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


def abort_process(prog):
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
    os.write(2, f"{prog}: aborted\n".encode())
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
    Only for a script's own process, never in-process (tests call ``main``)."""
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


def restore_learner(prog, learner, ckpt_or_trackables, path):
    """Read checkpoint ``path`` into the learner; a bad one is a one-line exit 2."""
    from .common.checkpoints import CheckpointError, Checkpointer

    ckpt = ckpt_or_trackables
    if not isinstance(ckpt, Checkpointer):
        ckpt = Checkpointer(None, ckpt, {})
    try:
        saved = ckpt.restore(path)
    except (CheckpointError, OSError, json.JSONDecodeError) as exc:
        learner.close()
        fail(prog, str(exc))
    learner.restore_progress()
    return saved


def train(prog, args, config, build, make_env):
    """Build, optionally resume, train with logs and checkpoints; returns the exit status.

    ``build()`` returns a fresh, untrained :class:`~baselines_acktr.common.learner.Learner`
    (ACKTR, A2C or the paper's continuous learner); ``make_env(monitor_dir)`` returns
    the env its ``fit`` trains on.  On resume, rows of ``progress.csv`` logged after
    the checkpoint (an interrupted or killed run's last updates) are dropped, so the
    file continues from the checkpoint without duplicates.
    """
    from .common.checkpoints import Checkpointer
    from .common.logger import Logger, ProgressLine
    from .common.memory import MemoryLog

    learner = build()
    log_path = args.log_path or default_log_path(args)
    save_path = args.save_path or os.path.join(log_path, "checkpoints")
    ckpt = Checkpointer(save_path, learner.trackables(), dict(config, log_path=log_path))
    if args.load_path is not None:
        saved = restore_learner(prog, learner, ckpt, args.load_path)
        print(f"resumed from {args.load_path} at update {learner.updates_done} "
              f"({learner.timesteps_done} timesteps; saved config: "
              f"env={saved.get('env')}, alg={saved.get('alg')})")
    stop = min(args.num_timesteps, args.stop_timesteps or args.num_timesteps)
    target = resolve_stop_reward(prog, args)
    try:
        learner.check_budget(stop)
    except ValueError as exc:
        learner.close()
        fail(prog, str(exc))

    os.makedirs(log_path, exist_ok=True)
    if os.path.exists(os.path.join(log_path, STATUS)):
        os.remove(os.path.join(log_path, STATUS))  # running again
    write_json_atomic(os.path.join(log_path, "config.json"),
                      dict(config, log_path=log_path, save_path=save_path,
                           num_timesteps=args.num_timesteps, stop_timesteps=args.stop_timesteps,
                           load_path=args.load_path, stop_reward=target))
    progress = ProgressLine()
    memory = None  # the MemoryLog, once the run folder is in use
    guard = RunGuard(prog)
    opened = []  # the env and the logger, closed whatever happens

    def on_update(update):
        memory(update, learner.timesteps_done)
        if update % args.save_interval == 0:
            guard.last_saved = ckpt.save(update, learner.timesteps_done)
        return not guard.stop.requested

    def status(state):
        write_json_atomic(os.path.join(log_path, STATUS), dict(
            state=state, updates=learner.updates_done, timesteps=learner.timesteps_done,
            stop_timesteps=stop, stop_reward=target, checkpoint=guard.last_saved))

    def body():
        env = make_env(monitor_dir_for(log_path, learner.updates_done))
        opened.append(env)
        logger = Logger(log_path, tensorboard=True,
                        keep_until=learner.timesteps_done if args.load_path is not None else None)
        opened.append(logger)
        nonlocal memory
        memory = MemoryLog(log_path)
        print(f"logging to {log_path}; checkpoints in {save_path}")
        if guard.stop.requested:
            print("interrupted before the first update; nothing to save")
            return
        try:
            last = learner.fit(env, stop, logger, seed=args.seed, log_interval=args.log_interval,
                               on_update=on_update, progress=progress, stop_reward=target)
        except FloatingPointError:
            status("failed")
            raise
        guard.last_saved = ckpt.save(last, learner.timesteps_done)
        memory(last, learner.timesteps_done, force=True)
        status("interrupted" if guard.stop.requested else "finished")
        if guard.stop.requested:
            print(f"interrupted at update {last} ({learner.timesteps_done} timesteps); "
                  f"checkpoint {guard.last_saved}\nresume with: --load_path {save_path}")
        else:
            print(f"done: {last} updates ({learner.timesteps_done} timesteps); "
                  f"checkpoint {guard.last_saved}")

    def close_opened():
        while opened:
            opened.pop().close()

    return guard.run(body, learner.close, close_opened)
