"""Train ACKTR on MuJoCo; ports baselines ``run.py`` for MuJoCo (``--variant master``) and
the paper's original continuous ACKTR, branch ``old_acktr_cont`` (``--variant paper``).

    python run_mujoco.py                                   # master variant, Hopper-v5, 1M steps
    python run_mujoco.py --variant paper --env HalfCheetah-v5
    python run_mujoco.py --load_path logs/Hopper-v5-acktr-seed0/checkpoints    # resume
    python run_mujoco.py --play --load_path logs/Hopper-v5-acktr-seed0/checkpoints

``master``: baselines' refactored ACKTR with ``defaults.mujoco`` (nsteps 2500,
``value_network='copy'``), MLP 2×64 tanh, diagonal Gaussian with a
state-independent logstd, one env wrapped in ``VecNormalize`` (observation and
return normalisation; its statistics are checkpointed).  ``paper``: the
algorithm that produced the paper's MuJoCo numbers (see
``baselines_acktr/acktr_cont.py``).
"""
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering for --play

from . import cli, episodes  # noqa: E402

PROG = "run_mujoco.py"
VARIANTS = {"master", "paper"}
MASTER = dict(lr=0.25, nsteps=2500, num_env=1)


def parse(argv):
    # 2500-step updates: log every update (as baselines on MuJoCo), save every 50k timesteps
    p = cli.base_parser(PROG, "Train ACKTR on MuJoCo (baselines master or the paper's variant).",
                        "Hopper-v5", int(1e6), save_interval=20, log_interval=1)
    p.add_argument("--variant", choices=sorted(VARIANTS), default="master")
    args = p.parse_args(argv)
    args.alg = "acktr" if args.variant == "master" else "acktr_cont"
    return args


def check_mujoco_env(env_id):
    """ValueError unless ``env_id`` is a registered continuous-control (Box) env."""
    import gymnasium as gym

    from .envs import check_env_id

    check_env_id(env_id)
    env = gym.make(env_id)
    try:
        if not isinstance(env.action_space, gym.spaces.Box) or len(env.action_space.shape) != 1:
            raise ValueError(f"{env_id} is not a continuous-control env "
                             f"(action space {env.action_space})")
        return env.observation_space.shape, env.action_space.shape[0]
    finally:
        env.close()


def main(argv=None):
    """Run with ``argv`` (default: the command line); returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    return cli.run_main(PROG, lambda: _main(argv))


def script():
    """This process's entry point: :func:`main` on the command line, then exit with
    its status (a Ctrl-C during shutdown included: :func:`~baselines_acktr.cli.run_script`)."""
    cli.run_script(PROG, lambda: _main(sys.argv[1:]))


def _main(argv):
    args = parse(argv)
    try:
        obs_shape, nact = check_mujoco_env(args.env)
    except ValueError as exc:
        cli.fail(PROG, str(exc))
    if args.variant == "paper":
        return run_paper(args, obs_shape, nact)
    return run_master(args, obs_shape, nact)


def run_master(args, obs_shape, nact):
    import gymnasium as gym

    from .envs import Monitor, make_vec_env, vector_env
    from .common.policies import Policy
    from .envs.vec_normalize import RunningMeanStd, VecNormalize

    config = dict(env=args.env, alg="acktr", variant="master", network="mlp", seed=args.seed,
                  num_env=MASTER["num_env"], nsteps=MASTER["nsteps"], lr=MASTER["lr"], gamma=0.99)

    def build():
        policy = Policy(obs_shape, ("box", nact), network="mlp", hidden=(64, 64),
                        value_network="copy", seed=args.seed)
        model = cli.build_model("acktr", policy, MASTER["num_env"], args.num_timesteps,
                            MASTER["nsteps"], ent_coef=0.01, vf_coef=0.5, lr=MASTER["lr"],
                            max_grad_norm=0.5, lrschedule="linear", seed=args.seed,
                                log_kl=args.log_kl)
        # VecNormalize's statistics live with the model so that checkpoints carry them
        model.extra_trackables = dict(ob_rms=RunningMeanStd(obs_shape, name="ob_rms"),
                                      ret_rms=RunningMeanStd((), name="ret_rms"))
        return model

    def normalized(env, model, training=True):
        return VecNormalize(env, ob_rms=model.extra_trackables["ob_rms"],
                            ret_rms=model.extra_trackables["ret_rms"], training=training)

    holder = {}

    def build_and_keep():
        holder["model"] = build()
        return holder["model"]

    if args.play:
        def make_play_env():
            # rendered in a subprocess: MuJoCo's EGL renderer crashes in a process that
            # has loaded TensorFlow
            base = vector_env([lambda: Monitor(gym.make(args.env, render_mode="rgb_array"))],
                              "async")
            return _SingleFromVector(normalized(base, holder["model"], training=False))

        return episodes.play(PROG, args, build_and_keep, make_play_env, args.play_episodes)
    if args.eval:
        def make_eval_env():  # normalisation statistics frozen at the checkpoint's
            base = make_vec_env(args.env, 1, args.seed, vec="sync")
            return _SingleFromVector(normalized(base, holder["model"], training=False))

        return episodes.evaluate(PROG, args, build_and_keep, make_eval_env, args.eval,
                                 args.deterministic)

    def make_env(monitor_dir):
        env = make_vec_env(args.env, MASTER["num_env"], args.seed, monitor_dir=monitor_dir,
                           vec="sync")
        return normalized(env, holder["model"])

    return cli.train(PROG, args, config, build_and_keep, make_env)


def run_paper(args, obs_shape, nact):
    """The paper's continuous ACKTR (:class:`~baselines_acktr.acktr_cont.ContLearner`)
    through the same run directory, checkpoints, resume, Ctrl-C and NaN handling."""
    import gymnasium as gym

    from .acktr_cont import ContLearner, make_cont_env
    from .envs import Monitor, vector_env

    config = dict(env=args.env, alg="acktr_cont", variant="paper", network="mlp",
                  seed=args.seed, timesteps_per_batch=2500, gamma=0.99, lam=0.97)

    def build():
        return ContLearner(obs_shape[0], nact, seed=args.seed)

    if args.play:
        def make_play_env():  # rendered in a subprocess, as for the master variant
            return _SingleFromVector(vector_env(
                [lambda: Monitor(gym.make(args.env, render_mode="rgb_array"))], "async"))

        return episodes.play(PROG, args, build, make_play_env, args.play_episodes)
    if args.eval:  # the filter's statistics frozen at the checkpoint's
        return episodes.evaluate(PROG, args, build, lambda: make_cont_env(args.env, args.seed),
                                 args.eval, args.deterministic)
    return cli.train(PROG, args, config, build,
                     lambda monitor_dir: make_cont_env(args.env, args.seed, monitor_dir))


class _SingleFromVector:
    """A one-env vector env seen as a single env (for ``--play`` and ``--eval``)."""

    def __init__(self, venv):
        self.venv = venv
        self.action_space = venv.single_action_space

    def reset(self, seed=None):
        obs, info = self.venv.reset(seed=seed)
        return obs[0], info

    def step(self, action):
        from .envs import episode_infos

        obs, r, term, trunc, infos = self.venv.step(np.asarray(action)[None])
        eps = episode_infos(infos)
        info = {"episode": eps[0]} if eps else {}
        # SAME_STEP: at an end, obs already starts the next episode
        return obs[0], float(r[0]), bool(term[0]), bool(trunc[0]), info

    def render(self):
        return self.venv.unwrapped.call("render")[0]

    def close(self):
        self.venv.close()


if __name__ == "__main__":
    script()
