"""Command-line plumbing shared by ``run_atari.py`` and ``run_mujoco.py``.

In the spirit of baselines' ``run.py``: flags ``--env --num_timesteps --seed
--alg --log_path --save_path --save_interval --load_path --play``, and every field of
the algorithm's config (:mod:`baselines_acktr.common.configs`) as ``--key value`` or
``--key=value``.  ``--config RUN/config.json`` reruns a recorded run (flags on top).
The run folder's files are :mod:`baselines_acktr.common.run_folder`'s; ``config.json``
is the whole record (resolved config, versions, git commit).

Bad input (an unknown option — named with the nearest one —, a flag of another
algorithm, a wrong type or out-of-range value, an unknown or wrong kind of env, a user's
env that fails the env check (:func:`check_env`), a missing or mismatched checkpoint)
ends with one line ``<prog>: error: ...`` and exit status 2, before anything is written.
Ctrl-C stops at the end of the current update and saves a checkpoint (a second Ctrl-C
aborts at once: :mod:`baselines_acktr.common.signals`).  A non-finite loss stops the run
(exit status 1) without saving over the last good checkpoint.
"""
import argparse
import json
import os
import sys

from .common import run_folder
from .common.cmd_util import Parser, fail, non_negative_int, positive_int
from .common.config_flags import add_config_flags, resolve_config, unknown_option_message
from .common.run_folder import STATUS, monitor_dir_for, write_json_atomic
from .common.signals import RunGuard, run_main, run_script  # noqa: F401 - the scripts' entries

# what --config takes from a run's config.json besides the hyperparameters: not its paths,
# nor what a --play / --eval asked for
NOT_RERUN = {"log_path", "save_path", "load_path", "config", "allow_config_change", "play",
             "play_episodes", "eval", "deterministic", "video"}


def base_parser(prog, description, default_env, default_timesteps, save_interval=100,
                log_interval=100, specs=()):
    """The flags every run script has, plus one per config field of ``specs``' algorithms."""
    p = Parser(prog=prog, description=description, allow_abbrev=False)
    p.add_argument("--env", default=default_env, help=f"environment id (default {default_env}); "
                   "a user's env as my_package.envs:MyEnv-v0 (docs/custom_env.md)")
    check = p.add_mutually_exclusive_group()
    check.add_argument("--env_check", dest="env_check", action="store_const", const=True,
                       default=None, help="run gymnasium's env checker and a 200-step random "
                       "rollout on the env before training even for gymnasium's and ale-py's "
                       "own envs (default: for any other env only)")
    check.add_argument("--no_env_check", dest="env_check", action="store_const", const=False,
                       help="skip that check")
    p.add_argument("--config", default=None, metavar="RUN/config.json",
                   help="rerun the run this config.json records (flags given here on top)")
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
    p.add_argument("--eval_interval", type=positive_int, default=None, metavar="N",
                   help="during training, every N updates play --eval_episodes whole episodes "
                        "in an env of their own (training numbers unchanged), add them to "
                        "<log_path>/eval.csv and TensorBoard (eval/return_mean) and keep the best "
                        "checkpoint in <log_path>/best/")
    p.add_argument("--eval_episodes", type=positive_int, default=5, metavar="K",
                   help="--eval_interval: whole episodes per evaluation (default 5)")
    p.add_argument("--log_kl", action="store_true",
                   help="ACKTR: log the measured KL(pi_old || pi_new) of every update beside the "
                        "trust-region bound and scale (two extra forward passes per update)")
    p.add_argument("--deterministic", action="store_true",
                   help="--eval/--play/--eval_interval: the policy's mode instead of samples")
    p.add_argument("--video", default=None, help="GIF path for --play (default <log_path>/play.gif)")
    p.add_argument("--allow_config_change", action="store_true",
                   help="--load_path: resume even if the checkpoint's config differs in a field "
                        "that changes the model or the algorithm")
    add_config_flags(p, specs)
    p.set_defaults(_configs=list(dict.fromkeys(spec.config for spec in specs)))
    return p


def checkpoint_config_argv(argv):
    """``argv``, for ``--play`` / ``--eval`` with ``--load_path`` and no ``--config``, with
    ``--config`` the checkpoint's ``config.json`` in front: a run or shipped agent plays as
    it was trained (its env, algorithm and network) unless flags say otherwise."""
    from .common.checkpoints import CheckpointError, resolve

    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for flag in ("--load_path", "--config", "--eval"):
        pre.add_argument(flag)
    pre.add_argument("--play", action="store_true")
    known, _ = pre.parse_known_args(argv)
    if known.config is not None or known.load_path is None or not (known.play or known.eval):
        return list(argv)
    try:
        config = os.path.join(resolve(known.load_path), run_folder.CONFIG)
    except CheckpointError:
        return list(argv)  # restore_learner says what is wrong, in one line
    return ["--config", config] + list(argv) if os.path.exists(config) else list(argv)


def parse_args(prog, parser, argv, choose_spec):
    """``argv`` parsed, with ``--config``'s record under the flags (for ``--play`` /
    ``--eval``, the checkpoint's by default: :func:`checkpoint_config_argv`); ``args.spec``
    is the chosen algorithm (``choose_spec(args)``) and ``args.hparams`` its resolved config."""
    argv = checkpoint_config_argv(argv)
    record = None
    for i, word in enumerate(argv):
        if word == "--config" or word.startswith("--config="):
            path = word.split("=", 1)[1] if "=" in word else (argv[i + 1] if i + 1 < len(argv)
                                                                else None)
            record = run_folder.read_json(path) if path else None
            if record is None:
                fail(prog, f"--config: cannot read a JSON object from {path!r}")
            dests = {a.dest for a in parser._actions}
            parser.set_defaults(**{k: v for k, v in record.items()
                                   if k in dests and k not in NOT_RERUN
                                   and not any(k in c.field_names() for c in parser.get_default(
                                       "_configs"))})
            break
    args, extras = parser.parse_known_args(argv)
    if extras:
        fail(prog, unknown_option_message(parser, extras))
    if args.eval_interval and (args.play or args.eval):
        if any(w.split("=", 1)[0] == "--eval_interval" for w in argv):
            fail(prog, "--eval_interval evaluates during training; --play and --eval do not train")
        args.eval_interval = None  # a recorded run's (--config): its training evaluated
    args.spec = choose_spec(args)
    args.hparams = resolve_config(prog, args.spec, args, parser.get_default("_configs"), record)
    return args


def check_env(prog, args, spaces=None):
    """Before training: gymnasium's env checker and ACKTR's own checks on one instance of
    ``args.env`` (:func:`baselines_acktr.envs.check.check_env`; ``spaces`` the script's
    space requirement) unless ``--no_env_check``, for an env that gymnasium or ale-py do not
    register themselves unless ``--env_check``; not for ``--play`` / ``--eval``.  A failure
    is one line and exit status 2; the warnings are printed once, one line each."""
    import time

    from .envs import check

    if getattr(args, "play", False) or getattr(args, "eval", None) or \
            not check.wanted(args.env, getattr(args, "env_check", None)):
        return
    start = time.perf_counter()
    try:
        found = check.check_env(args.env, **({} if spaces is None else dict(spaces=spaces)),
                                seed=args.seed)
    except ValueError as exc:
        fail(prog, str(exc))
    for line in found:
        sys.stderr.write(f"{prog}: warning: env {args.env}: {line}\n")
    print(f"env {args.env}: passed gymnasium's env checker and a {check.ROLLOUT_STEPS}-step "
          f"random rollout ({time.perf_counter() - start:.2f} s; --no_env_check skips this)",
          flush=True)


def run_record(args, **extra):
    """``config.json``'s content: what was trained where, the resolved hyperparameters,
    the software (:func:`~baselines_acktr.common.run_folder.software_record`)."""
    spec = args.spec
    head = dict(env=args.env, alg=spec.name, seed=args.seed, **extra)
    if spec.variant is not None:
        head["variant"] = spec.variant
    evaluation = {} if not getattr(args, "eval_interval", None) else dict(
        eval_interval=args.eval_interval, eval_episodes=args.eval_episodes,
        eval_deterministic=args.deterministic)
    return dict(head, **args.hparams.to_dict(), save_interval=args.save_interval,
                log_interval=args.log_interval, log_kl=args.log_kl, **evaluation,
                **run_folder.software_record())


def default_log_path(args):
    return run_folder.default_log_path(args.env, args.alg, args.seed)



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


def build_model(policy, hparams, total_timesteps, seed, log_kl=False):
    """ACKTR's ``Model`` for an :class:`~baselines_acktr.common.configs.AcktrConfig`,
    ``A2CModel`` for an :class:`~baselines_acktr.common.configs.A2CConfig`."""
    from .a2c.a2c import A2CModel
    from .acktr.acktr import Model
    from .common.configs import A2CConfig, AcktrConfig

    h = hparams
    if isinstance(h, AcktrConfig):
        return Model(policy, h.num_env, total_timesteps, nsteps=h.nsteps, ent_coef=h.ent_coef,
                     vf_coef=h.vf_coef, vf_fisher_coef=h.vf_fisher_coef, lr=h.lr,
                     max_grad_norm=h.max_grad_norm, kfac_clip=h.kfac_clip,
                     lrschedule=h.lrschedule, is_async=h.is_async, kfac_options=h.kfac_options(),
                     seed=seed, gamma=h.gamma, log_kl=log_kl)
    if isinstance(h, A2CConfig):
        return A2CModel(policy, h.num_env, total_timesteps, nsteps=h.nsteps, ent_coef=h.ent_coef,
                        vf_coef=h.vf_coef, max_grad_norm=h.max_grad_norm, lr=h.lr, alpha=h.alpha,
                        epsilon=h.epsilon, lrschedule=h.lrschedule, seed=seed, gamma=h.gamma)
    raise TypeError(f"no Atari model for {type(h).__name__}")


def restore_learner(prog, learner, ckpt_or_trackables, path, check_keys=None):
    """Read checkpoint ``path`` into the learner; a bad one (or one whose config differs in
    ``check_keys``) is a one-line exit 2.  A shipped agent (acting state only) is read into
    ``learner.agent_trackables()`` to play, evaluate or export; resuming training from one
    (a :class:`~.common.checkpoints.Checkpointer` given) is a one-line exit 2."""
    from .common.checkpoints import CheckpointError, Checkpointer, is_agent

    ckpt = ckpt_or_trackables
    agent = is_agent(path)
    if isinstance(ckpt, Checkpointer) and agent:
        learner.close()
        fail(prog, f"{path} is a shipped agent (parameters only, no optimizer state): it plays, "
                   "evaluates and exports, but training does not resume from it")
    if not isinstance(ckpt, Checkpointer):
        ckpt = Checkpointer(None, learner.agent_trackables() if agent else ckpt, {})
    try:
        saved = ckpt.restore(path) if check_keys is None else ckpt.restore(path, check_keys)
    except (CheckpointError, OSError, json.JSONDecodeError) as exc:
        learner.close()
        fail(prog, str(exc))
    learner.restore_progress()
    return saved


def resume_check_keys(args):
    """Config fields a resumed checkpoint must agree on: the env, algorithm and variant, and
    (unless ``--allow_config_change``) every field that changes the model or algorithm."""
    keys = ("env", "alg", "variant", "network", "num_env", "nsteps")
    spec = getattr(args, "spec", None)
    if spec is not None and not getattr(args, "allow_config_change", False):
        keys += tuple(k for k in spec.config.model_fields() if k not in keys)
    return keys


def train(prog, args, config, build, make_env, make_eval_env=None):
    """Build, optionally resume, train with logs and checkpoints; returns the exit status.

    ``build()`` returns a fresh, untrained :class:`~baselines_acktr.common.learner.Learner`
    (ACKTR, A2C or the paper's continuous learner); ``make_env(monitor_dir)`` returns
    the env its ``fit`` trains on; ``make_eval_env()`` the single env of ``--eval_interval``
    (:class:`~baselines_acktr.common.evaluation.EvalDuringTraining`, before the update's
    checkpoint).  On resume, rows of ``progress.csv`` and ``eval.csv`` logged after
    the checkpoint (an interrupted or killed run's last updates) are dropped, so the
    files continue from the checkpoint without duplicates.
    """
    from .common.checkpoints import Checkpointer
    from .common.logger import Logger, ProgressLine
    from .common.memory import MemoryLog

    learner = build()
    log_path = args.log_path or default_log_path(args)
    save_path = args.save_path or os.path.join(log_path, "checkpoints")
    ckpt = Checkpointer(save_path, learner.trackables(), dict(config, log_path=log_path))
    if args.load_path is not None:
        saved = restore_learner(prog, learner, ckpt, args.load_path, resume_check_keys(args))
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
    run_folder.clear_status(log_path)  # running (again)
    write_json_atomic(os.path.join(log_path, run_folder.CONFIG),
                      dict(config, log_path=log_path, save_path=save_path,
                           num_timesteps=args.num_timesteps, stop_timesteps=args.stop_timesteps,
                           load_path=args.load_path, stop_reward=target))
    progress = ProgressLine()
    memory = None  # the MemoryLog, once the run folder is in use
    evaluator = None  # --eval_interval's, once the logger is open
    guard = RunGuard(prog)
    opened = []  # the env and the logger, closed whatever happens

    def on_update(update):
        memory(update, learner.timesteps_done)
        if evaluator is not None:
            evaluator(update)
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
                        keep_until=learner.timesteps_done)  # a fresh run (0) starts anew
        opened.append(logger)
        nonlocal memory, evaluator
        memory = MemoryLog(log_path)
        if args.eval_interval:
            from .common.evaluation import EvalDuringTraining

            evaluator = EvalDuringTraining(
                learner, make_eval_env, log_path, dict(config, save_path=save_path),
                args.eval_interval, args.eval_episodes, args.seed, args.deterministic,
                tensorboard=logger.scalars,
                resumed_at=learner.timesteps_done)
            opened.append(evaluator)
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
