"""``python -m baselines_acktr.sweep``: games × seeds on Ray Tune.

    python -m baselines_acktr.sweep --envs PongNoFrameskip-v4 BreakoutNoFrameskip-v4 \\
        --seeds 0 1 2 --num_timesteps 10e6 --storage sweeps --name atari
    python -m baselines_acktr.sweep --envs Hopper-v5 HalfCheetah-v5 --variant paper \\
        --seeds 0 1 2 --num_timesteps 1e6 --name mujoco -- --save_interval 10
    python -m baselines_acktr.sweep ... --name atari --resume        # after Ctrl-C or a crash
    python -m baselines_acktr.compare sweeps/atari                   # pooled over seeds

One trial per (env, seed), each an ordinary run folder
``<storage>/<name>/runs/<env>-<alg>-seed<seed>/`` written by ``run_atari.py`` (Atari
ids) or ``<storage>/<name>/runs/<env>-acktr-<variant>-seed<seed>/`` by
``run_mujoco.py`` (other ids); arguments after ``--`` go to every
trial's run script — any hyperparameter flag of it (``-- --kfac_clip 0.002``), checked
before Ray starts, as a user's env is (once per env id: docs/custom_env.md).  The
console shows Tune's live table of trials (timesteps, eprewmean, fps).  A trial whose
process dies restarts from its last checkpoint, up to ``--max_failures`` times;
``--resume`` continues an interrupted sweep and skips the trials that finished.

Ray: with no ``--address`` a local Ray is started with this machine's CPUs;
``--address auto`` joins the cluster this node belongs to, ``--address
ray://HOST:10001`` a remote one (then give ``--storage`` a path every node
shares, e.g. NFS, so that run folders and checkpoints survive a lost node).
Bad input (unknown env, a user's env that fails the env check, a variant for an Atari
env, unreachable address) is one line and exit status 2.
"""
from __future__ import annotations

import os
import socket
import sys

from ..common.cmd_util import Parser, fail, non_negative_int, positive_int
from ..common.configs import ATARI_ALGS, MUJOCO_VARIANTS, spec_for
from ..common.run_folder import read_status

PROG = "sweep"
ALGS = ATARI_ALGS
VARIANTS = tuple(sorted(MUJOCO_VARIANTS))


def parse(argv):
    argv = list(argv)
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = Parser(prog=PROG, description="Games × seeds of run_atari.py / run_mujoco.py on Ray Tune.")
    p.add_argument("--envs", nargs="+", required=True, metavar="ENV_ID")
    p.add_argument("--seeds", nargs="+", type=non_negative_int, required=True, metavar="SEED")
    p.add_argument("--alg", choices=ALGS, default="acktr")
    p.add_argument("--variant", choices=VARIANTS, default=None,
                   help="MuJoCo: baselines master (default) or the paper's old_acktr_cont")
    p.add_argument("--num_timesteps", type=positive_int, required=True)
    p.add_argument("--stop_timesteps", type=positive_int, default=None,
                   help="stop every trial here, keeping the schedule of --num_timesteps")
    p.add_argument("--cpus_per_trial", type=float, default=None,
                   help="CPUs a trial reserves (default: all of a local Ray's, one trial at a time)")
    p.add_argument("--gpus_per_trial", type=float, default=0.0)
    p.add_argument("--address", default=None, help="Ray cluster: 'auto' or 'ray://host:port'")
    p.add_argument("--storage", default="sweeps", help="where sweeps live (default sweeps/)")
    p.add_argument("--name", default="sweep", help="this sweep's folder under --storage")
    p.add_argument("--max_failures", type=non_negative_int, default=3,
                   help="restarts of a trial whose process died (default 3)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted sweep --name (finished trials are skipped)")
    study = p.add_argument_group("studies: hyperparameters varied (config fields of the run script)")
    study.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                       help="every value, crossed with envs, seeds and other grids")
    study.add_argument("--sample", action="append", default=[], metavar="KEY=DIST",
                       help="drawn per trial: loguniform:A:B, uniform:A:B, randint:A:B or "
                            "choice:V1,V2")
    study.add_argument("--num_samples", type=positive_int, default=1,
                       help="draws of the --sample space per env and seed (default 1)")
    study.add_argument("--search", choices=("random", "optuna"), default="random",
                       help="how --sample values are drawn: at random (default) or by Optuna's "
                            "TPE on eprewmean (one env, one seed)")
    study.add_argument("--scheduler", choices=("none", "asha"), default="none",
                       help="asha: stop trials whose eprewmean trails the others' early")
    study.add_argument("--grace_timesteps", type=positive_int, default=None,
                       help="ASHA's grace period: no trial is stopped before this many "
                            "timesteps (default a tenth of the stop budget)")
    args = p.parse_args(argv)
    args.extra_args = extra
    return args


def specs_of(args):
    """The algorithms the sweep's envs train (Atari ids: --alg; others: --variant)."""
    specs = []
    for env_id in args.envs:
        spec = spec_for(alg=args.alg) if "NoFrameskip" in env_id else \
            spec_for(variant=args.variant or "master")
        if spec not in specs:
            specs.append(spec)
    return specs


def check_study(args):
    """``args.grid`` / ``args.sample`` parsed and checked against the trained algorithms'
    configs; ValueError (one line) for a bad or conflicting study."""
    from .space import parse_grid, parse_sample

    specs = specs_of(args)
    args.grid = parse_grid(specs, args.grid)
    args.sample = parse_sample(specs, args.sample)
    both = sorted(set(args.grid) & set(args.sample))
    if both:
        raise ValueError(f"{both[0]} is both in --grid and in --sample")
    given = {a.split("=", 1)[0][2:] for a in args.extra_args if a.startswith("--")}
    twice = sorted((set(args.grid) | set(args.sample)) & given)
    if twice:
        raise ValueError(f"{twice[0]} is varied by the sweep and also given after --")
    if args.num_samples > 1 and not args.sample:
        raise ValueError("--num_samples needs --sample")
    if args.search == "optuna":
        if not args.sample:
            raise ValueError("--search optuna needs --sample")
        if args.grid or len(args.envs) != 1 or len(args.seeds) != 1:
            raise ValueError("--search optuna tunes one env and one seed without --grid")


def trials_of(args, sweep_dir):
    """One trial description per (env, seed); ValueError for an env this cannot train."""
    from ..envs import check_atari_id, check_env_id

    trials = []
    for env_id in args.envs:
        if "NoFrameskip" in env_id:
            check_atari_id(env_id)
            if args.variant is not None:
                raise ValueError(f"--variant is for MuJoCo envs, not {env_id}")
            module, alg, tag = "baselines_acktr.run_atari", args.alg, args.alg
        else:
            check_env_id(env_id)
            if args.alg != "acktr":
                raise ValueError(f"run_mujoco.py trains acktr only, not --alg {args.alg}")
            variant = args.variant or "master"
            module, alg = "baselines_acktr.run_mujoco", spec_for(variant=variant).name
            tag = f"acktr-{variant}"
        extra = list(args.extra_args)
        if module.endswith("run_atari"):
            extra = ["--alg", alg] + extra
        elif args.variant is not None:
            extra = ["--variant", args.variant] + extra
        for seed in args.seeds:
            trials.append(dict(prefix=f"{env_id}-{tag}", env=env_id, seed=seed, alg=alg,
                               module=module, num_timesteps=args.num_timesteps,
                               stop_timesteps=args.stop_timesteps, extra_args=extra,
                               runs_dir=os.path.join(sweep_dir, "runs"),
                               varied=sorted(set(args.grid) | set(args.sample))))
    names = [(t["env"], t["seed"]) for t in trials]
    if len(set(names)) != len(names):
        raise ValueError("an env or seed is listed twice")
    return trials


def check_run_arguments(trials):
    """Parse every trial's run-script arguments as the script will (its hyperparameter
    flags included), so that a bad one is one line and exit 2 before Ray starts.  A user's
    env goes through the script's env check here, once per env id (``run_mujoco.env_check``),
    and its trials get ``--no_env_check``, unless ``-- --env_check`` or ``-- --no_env_check``
    says otherwise."""
    from .. import run_atari, run_mujoco
    from ..envs.check import wanted
    from .trial import command, resolve

    scripts = {"baselines_acktr.run_atari": run_atari, "baselines_acktr.run_mujoco": run_mujoco}
    seen, checked = set(), {}
    for trial in trials:
        argv = command(resolve({"trial": dict(trial, varied=[])}))[3:]  # no `python -m module`
        key = (trial["module"], tuple(argv[argv.index("--log_path") + 2:]))
        env_key = (trial["module"], trial["env"])
        if key in seen and env_key in checked:
            continue
        seen.add(key)
        args = scripts[trial["module"]].parse(argv)
        if env_key not in checked:
            scripts[trial["module"]].env_check(args, prog=PROG)
            checked[env_key] = args.env_check is None and wanted(args.env, None)
    for trial in trials:
        if checked[trial["module"], trial["env"]]:  # checked once here, not in every trial
            trial["extra_args"] = list(trial["extra_args"]) + ["--no_env_check"]


def _tune_can_restore(sweep_dir):
    from ray import tune

    return os.path.isdir(sweep_dir) and tune.Tuner.can_restore(sweep_dir)


def _probe(address):
    """Fail at once (not after Ray's own minutes of retries) when nothing listens at a
    ``host:port`` / ``ray://host:port`` address."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        fail(PROG, f"--address must be 'auto', 'host:port' or 'ray://host:port', got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        fail(PROG, f"cannot reach Ray at --address {address}: {exc.strerror or exc}")


def _init_ray(address):
    import ray

    if address not in (None, "auto"):
        _probe(address)
    try:
        if address is None:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or ["no answer"])[0]
        fail(PROG, f"cannot reach Ray at --address {address}: {first}")


def _scheduler(args):
    """``--scheduler asha``: Tune's ASHA on ``score`` (eprewmean) over timesteps."""
    if args.scheduler != "asha":
        return None
    from ray.tune.schedulers import ASHAScheduler

    stop = min(args.num_timesteps, args.stop_timesteps or args.num_timesteps)
    # max_t past the budget: a trial that reaches its budget ends on its own (writing its last
    # checkpoint and status), never by the scheduler
    return ASHAScheduler(time_attr="timesteps_total", metric="score", mode="max",
                         max_t=2 * stop, grace_period=args.grace_timesteps or max(1, stop // 10))


def _search(args):
    """``--search optuna``: Optuna's TPE over the ``--sample`` space, seeded with the seed."""
    if args.search != "optuna":
        return None
    try:
        from ray.tune.search.optuna import OptunaSearch
        import optuna  # noqa: F401
    except ImportError:
        fail(PROG, "--search optuna needs the optuna package (pip install -e '.[sweep]')")
    return OptunaSearch(metric="score", mode="max", seed=args.seeds[0])


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    storage = os.path.abspath(args.storage)
    sweep_dir = os.path.join(storage, args.name)
    try:
        check_study(args)
        trials = trials_of(args, sweep_dir)
    except ValueError as exc:
        fail(PROG, str(exc))
    check_run_arguments(trials)
    if args.resume and not _tune_can_restore(sweep_dir):
        fail(PROG, f"--resume: no sweep to resume at {sweep_dir}")
    if not args.resume and _tune_can_restore(sweep_dir):
        fail(PROG, f"a sweep already exists at {sweep_dir}; add --resume or choose another --name")

    from ray import tune

    from .space import tune_space
    from .trial import resolve, train_trial

    _init_ray(args.address)
    cpus = args.cpus_per_trial
    if cpus is None:
        import ray

        cpus = max(1.0, float(ray.cluster_resources().get("CPU", 1.0)))
    trainable = tune.with_resources(train_trial, {"cpu": cpus, "gpu": args.gpus_per_trial})
    param_space = dict(tune_space(args.grid, args.sample),
                       trial=trials[0] if len(trials) == 1 else tune.grid_search(trials))
    if args.resume:
        tuner = tune.Tuner.restore(sweep_dir, trainable, resume_unfinished=True,
                                   resume_errored=True, param_space=param_space)
    else:
        varied = {f"{key}": key for key in sorted(set(args.grid) | set(args.sample))}
        reporter = tune.CLIReporter(metric_columns=["timesteps", "eprewmean", "fps"],
                                    parameter_columns={"trial/env": "env", "trial/seed": "seed",
                                                       **varied},
                                    max_report_frequency=30)
        name_of = lambda t: resolve(t.config)["name"]
        tuner = tune.Tuner(
            trainable, param_space=param_space,
            tune_config=tune.TuneConfig(trial_dirname_creator=name_of, trial_name_creator=name_of,
                                        num_samples=args.num_samples,
                                        search_alg=_search(args), scheduler=_scheduler(args)),
            run_config=tune.RunConfig(
                name=args.name, storage_path=storage, progress_reporter=reporter,
                failure_config=tune.FailureConfig(max_failures=args.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=2)))
    results = tuner.fit()
    finished = 0
    stop = min(args.num_timesteps, args.stop_timesteps or args.num_timesteps)
    for r in results:
        trial = resolve(r.config)
        m = r.metrics or {}
        early = args.scheduler == "asha" and r.error is None and \
            int(m.get("timesteps", stop) or 0) < stop
        # a trial the scheduler ended: Ray ends its worker and the worker's child processes, so
        # the run is stopped as by kill -9 (its last checkpoint whole; status.json may be absent)
        status = read_status(trial["run_dir"]) or {}
        state = "error" if r.error is not None else status.get("state", "not finished")
        if early and state in ("interrupted", "not finished"):
            state = "stopped early by ASHA"
        elif state == "not finished" and r.error is None and \
                int(m.get("timesteps", 0) or 0) >= stop:
            state = "finished"  # its budget reached; ended before it wrote status.json
        finished += state in ("finished", "stopped early by ASHA")
        print(f"{trial['name']}: {state}, {int(m.get('timesteps', 0) or 0)} timesteps, "
              f"eprewmean {m.get('eprewmean', float('nan')):.2f}; run folder {trial['run_dir']}")
    print(f"sweep {sweep_dir}: {finished} of {len(results)} trials finished or stopped early"
          if args.scheduler == "asha" else f"sweep {sweep_dir}: {finished} of {len(results)} "
          "trials finished"
          + ("" if finished == len(results) else "; continue with --resume")
          + f"; compare with: python -m baselines_acktr.compare {sweep_dir}")
    return 0 if finished == len(results) else 1
