"""Train ACKTR (or A2C) on Atari with baselines' protocol; ports baselines ``run.py`` for Atari.

    python run_atari.py                                  # ACKTR on Pong, 10M timesteps
    python run_atari.py --env BreakoutNoFrameskip-v4 --num_env 16 --num_timesteps 2e6
    python run_atari.py --load_path logs/PongNoFrameskip-v4-acktr-seed0/checkpoints   # resume
    python run_atari.py --play --load_path logs/PongNoFrameskip-v4-acktr-seed0/checkpoints

Environments: ``NoFrameskip-v4`` ids, noop reset (30), max-and-skip 4, episodic
life, fire reset, 84×84 gray, reward clipping and a 4-frame stack (zero-padded
after each done, as baselines' ``VecFrameStack``), one subprocess per env, env
``i`` seeded ``seed + i``; ``monitor/*.monitor.csv`` record whole games with
unclipped scores.  Hyperparameters are the paper's / baselines' defaults
(:class:`~baselines_acktr.common.configs.AcktrConfig`: lr 0.25, kfac_clip 0.001, 32 envs
× 20 steps; :class:`~baselines_acktr.common.configs.A2CConfig`: lr 7e-4, 16 envs × 5
steps); every one is a flag (``--kfac_clip 0.002``, ``--lr=0.1``; ``--help`` lists them).
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from . import cli, episodes  # noqa: E402
from .common.configs import ALGORITHMS, ATARI_ALGS, spec_for  # noqa: E402

PROG = "run_atari.py"
SPECS = tuple(ALGORITHMS[name] for name in ATARI_ALGS)


def parse(argv):
    p = cli.base_parser(PROG, "Train ACKTR/A2C on Atari (baselines' protocol).",
                        "PongNoFrameskip-v4", int(10e6), specs=SPECS)
    p.add_argument("--alg", choices=ATARI_ALGS, default="acktr")
    p.add_argument("--episode_frames", choices=["baselines", "ale"], default="baselines",
                   help="episode cap: gym's NoFrameskip-v4 registration that baselines ran on "
                        "(400,000 frames; default) or ale-py's (108,000)")
    p.add_argument("--vec", choices=["async", "sync"], default="async",
                   help="envs in subprocesses (async, default) or in this process")
    p.add_argument("--env_backend", choices=["gym", "ale_vector"], default="gym",
                   help="training envs: baselines' wrappers on gymnasium (gym, default; frame "
                        "for frame as baselines) or ale-py's C++ AtariVectorEnv (ale_vector: "
                        "faster; its differences are in docs/differences_from_baselines.md)")
    return cli.parse_args(PROG, p, argv, lambda args: spec_for(alg=args.alg))


def main(argv=None):
    """Run with ``argv`` (default: the command line); returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    return cli.run_main(PROG, lambda: _main(argv))


def script():
    """This process's entry point: :func:`main` on the command line, then exit with
    its status (a Ctrl-C during shutdown included: :func:`~baselines_acktr.common.signals.run_script`)."""
    cli.run_script(PROG, lambda: _main(sys.argv[1:]))


def env_check(args, prog=PROG):
    """Before training, an env that is not ale-py's through gymnasium's env checker and
    ACKTR's own checks (:func:`baselines_acktr.cli.check_env`); one line and exit 2 if it
    fails (or if the id is not a registered ``NoFrameskip`` one)."""
    from . import envs

    try:
        envs.check_atari_id(args.env)
    except ValueError as exc:
        cli.fail(prog, str(exc))
    cli.check_env(prog, args)


def make_builder(args):
    """``build(total=num_timesteps)``: a fresh model of the run ``args`` describes (its env's
    action count and observation shape read from one probe env); one line, exit 2, for an
    env this cannot train."""
    from . import envs
    from .envs import atari_wrappers
    from .common.policies import Policy

    hp = args.hparams
    try:
        envs.check_atari_id(args.env)
        probe = atari_wrappers.wrap_deepmind(atari_wrappers.make_atari(args.env), frame_stack=True)
    except ValueError as exc:
        cli.fail(PROG, str(exc))
    nact = int(probe.action_space.n)
    obs_shape = probe.observation_space.shape
    probe.close()

    def build(total=args.num_timesteps):
        policy = Policy(obs_shape, ("discrete", nact), network=hp.network,
                        value_network=hp.value_network, seed=args.seed)
        return cli.build_model(policy, hp, total, args.seed,
                               log_kl=args.log_kl and args.alg == "acktr")

    return build


def _main(argv):
    args = parse(argv)
    env_check(args)
    from . import envs
    from .envs import atari_wrappers

    num_env = args.hparams.num_env
    build = make_builder(args)
    config = cli.run_record(args, episode_frames=args.episode_frames,
                            env_backend=args.env_backend)

    if args.play:
        def make_play_env():
            env = atari_wrappers.make_atari(args.env, render_mode="rgb_array",
                                            frame_cap=args.episode_frames)
            env = envs.Monitor(env)
            return atari_wrappers.wrap_deepmind(env, frame_stack=True, frame_stack_pad="zeros")

        return episodes.play(PROG, args, build, make_play_env, args.play_episodes)

    def make_eval_env():  # whole games: no episodic-life ends; Monitor's scores unclipped
        env = envs.Monitor(atari_wrappers.make_atari(args.env, frame_cap=args.episode_frames))
        return atari_wrappers.wrap_deepmind(env, episode_life=False, frame_stack=True,
                                            frame_stack_pad="zeros")

    if args.eval:
        return episodes.evaluate(PROG, args, build, make_eval_env, args.eval, args.deterministic)

    def make_env(monitor_dir):
        if args.env_backend == "ale_vector":
            return envs.make_ale_vector_env(args.env, num_env, args.seed, monitor_dir=monitor_dir,
                                            frame_cap=args.episode_frames)
        return envs.make_atari_env(args.env, num_env, args.seed, monitor_dir=monitor_dir,
                                   vec=args.vec, frame_cap=args.episode_frames)

    return cli.train(PROG, args, config, build, make_env, make_eval_env)


if __name__ == "__main__":
    script()
