"""Train ACKTR on MuJoCo; ports baselines ``run.py`` for MuJoCo (``--variant master``) and
the paper's original continuous ACKTR, branch ``old_acktr_cont`` (``--variant paper``).

    python run_mujoco.py                                   # master variant, Hopper-v5, 1M steps
    python run_mujoco.py --variant paper --env HalfCheetah-v5
    python run_mujoco.py --load_path logs/Hopper-v5-acktr-seed0/checkpoints    # resume
    python run_mujoco.py --play --load_path logs/Hopper-v5-acktr-seed0/checkpoints

``master``: baselines' refactored ACKTR with ``defaults.mujoco`` (nsteps 2500,
``value_network='copy'``: :meth:`~baselines_acktr.common.configs.AcktrConfig.mujoco`), MLP
2×64 tanh, diagonal Gaussian with a
state-independent logstd, one env wrapped in ``VecNormalize`` (observation and
return normalisation; its statistics are checkpointed).  ``paper``: the
algorithm that produced the paper's MuJoCo numbers (see
``baselines_acktr/acktr_cont/``; :class:`~baselines_acktr.common.configs.ContConfig`).
Every hyperparameter of the chosen variant is a flag (``--desired_kl 0.001``; ``--help``).
"""
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering for --play

from . import cli, episodes  # noqa: E402
from .common.configs import ALGORITHMS, MUJOCO_VARIANTS, spec_for  # noqa: E402

PROG = "run_mujoco.py"
SPECS = tuple(spec for spec in ALGORITHMS.values() if spec.script == "run_mujoco")


def parse(argv):
    # 2500-step updates: log every update (as baselines on MuJoCo), save every 50k timesteps
    p = cli.base_parser(PROG, "Train ACKTR on MuJoCo (baselines master or the paper's variant).",
                        "Hopper-v5", int(1e6), save_interval=20, log_interval=1, specs=SPECS)
    p.add_argument("--variant", choices=sorted(MUJOCO_VARIANTS), default="master")
    args = cli.parse_args(PROG, p, argv, lambda args: spec_for(variant=args.variant))
    args.alg = args.spec.name
    return args


def continuous_spaces(env_id, ob_space, ac_space, variant="master"):
    """ValueError unless run_mujoco.py trains these spaces: a 1-D Box action and a Box
    observation (``--variant paper``: a 1-D one, and finite action bounds, onto which it
    maps the policy's [-1, 1])."""
    import gymnasium as gym

    if not isinstance(ac_space, gym.spaces.Box) or len(ac_space.shape) != 1:
        raise ValueError(f"{env_id} is not a continuous-control env (action space {ac_space})")
    if variant == "paper" and not (np.all(np.isfinite(ac_space.low)) and np.all(np.isfinite(ac_space.high))):
        raise ValueError(f"{env_id}: run_mujoco.py --variant paper maps actions onto the action "
                         f"box, which must be finite, got {ac_space}")
    if not isinstance(ob_space, gym.spaces.Box) or (variant == "paper" and len(ob_space.shape) != 1):
        raise ValueError(f"{env_id}: run_mujoco.py --variant {variant} needs a "
                         f"{'1-D ' if variant == 'paper' else ''}Box observation space, got "
                         f"{ob_space} (a Dict or Tuple: gymnasium's FlattenObservation)")


def check_mujoco_env(env_id, variant="master"):
    """ValueError unless ``env_id`` is a registered continuous-control (Box) env."""
    import gymnasium as gym

    from .envs import check_env_id

    check_env_id(env_id)
    env = gym.make(env_id)
    try:
        continuous_spaces(env_id, env.observation_space, env.action_space, variant)
        return env.observation_space.shape, env.action_space.shape[0]
    finally:
        env.close()


def env_check(args, prog=PROG):
    """Before training, a user's env through gymnasium's env checker and ACKTR's own
    checks (:func:`baselines_acktr.cli.check_env`); one line and exit 2 if it fails."""
    cli.check_env(prog, args, lambda env_id, ob, ac: continuous_spaces(env_id, ob, ac, args.variant))


def main(argv=None):
    """Run with ``argv`` (default: the command line); returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    return cli.run_main(PROG, lambda: _main(argv))


def script():
    """This process's entry point: :func:`main` on the command line, then exit with
    its status (a Ctrl-C during shutdown included: :func:`~baselines_acktr.common.signals.run_script`)."""
    cli.run_script(PROG, lambda: _main(sys.argv[1:]))


def spaces(args):
    """``(obs_shape, nact)`` of ``args.env`` (:func:`check_mujoco_env`); one line, exit 2,
    for an env this cannot train."""
    try:
        return check_mujoco_env(args.env, args.variant)
    except ValueError as exc:
        cli.fail(PROG, str(exc))


def _main(argv):
    args = parse(argv)
    env_check(args)
    obs_shape, nact = spaces(args)
    if args.variant == "paper":
        return run_paper(args, obs_shape, nact)
    return run_master(args, obs_shape, nact)


def make_builder(args):
    """``build()``: a fresh, untrained learner of the run ``args`` describes, as
    :func:`run_master` / :func:`run_paper` build it (the spaces read from one probe env;
    one line, exit 2, for an env this cannot train).  The master model's ``VecNormalize``
    statistics are its own (``model.extra_trackables``)."""
    from .envs.vec_normalize import RunningMeanStd

    obs_shape, nact = spaces(args)
    if args.variant == "paper":
        return paper_builder(args, obs_shape, nact)
    return master_builder(args, obs_shape, nact, RunningMeanStd(obs_shape, name="ob_rms"),
                          RunningMeanStd((), name="ret_rms"))


def master_builder(args, obs_shape, nact, ob_rms, ret_rms):
    """``build()`` of the master variant: a box-action ``Policy`` (hidden 64×64) in the
    run's model, ``ob_rms`` / ``ret_rms`` (``VecNormalize``'s statistics) checkpointed
    with it."""
    from .common.policies import Policy

    hp = args.hparams

    def build():
        policy = Policy(obs_shape, ("box", nact), network=hp.network, hidden=(64, 64),
                        value_network=hp.value_network, seed=args.seed)
        model = cli.build_model(policy, hp, args.num_timesteps, args.seed, log_kl=args.log_kl)
        model.extra_trackables = dict(ob_rms=ob_rms, ret_rms=ret_rms)
        return model

    return build


def run_master(args, obs_shape, nact):
    import gymnasium as gym

    from .envs import Monitor, make_vec_env, vector_env
    from .envs.vec_normalize import RunningMeanStd, VecNormalize

    hp = args.hparams
    config = cli.run_record(args)
    # VecNormalize's statistics: built here, checkpointed with the model (its trackables),
    # used by every env this run makes
    ob_rms, ret_rms = RunningMeanStd(obs_shape, name="ob_rms"), RunningMeanStd((), name="ret_rms")
    build = master_builder(args, obs_shape, nact, ob_rms, ret_rms)

    def normalized(env, training=True):
        return VecNormalize(env, ob_rms=ob_rms, ret_rms=ret_rms, training=training)

    if args.play:
        def make_play_env():
            # rendered in a subprocess: MuJoCo's EGL renderer crashes in a process that
            # has loaded TensorFlow
            base = vector_env([lambda: Monitor(gym.make(args.env, render_mode="rgb_array"))],
                              "async")
            return _SingleFromVector(normalized(base, training=False))

        return episodes.play(PROG, args, build, make_play_env, args.play_episodes)

    def make_eval_env():  # normalisation statistics frozen (at the checkpoint's, for --eval)
        base = make_vec_env(args.env, 1, args.seed, vec="sync")
        return _SingleFromVector(normalized(base, training=False))

    if args.eval:
        return episodes.evaluate(PROG, args, build, make_eval_env, args.eval,
                                 args.deterministic)

    def make_env(monitor_dir):
        env = make_vec_env(args.env, hp.num_env, args.seed, monitor_dir=monitor_dir, vec="sync")
        return normalized(env)

    return cli.train(PROG, args, config, build, make_env, make_eval_env)


def paper_builder(args, obs_shape, nact):
    """``build()`` of the paper variant: :class:`~baselines_acktr.acktr_cont.ContLearner`
    with the run's hyperparameters."""
    from .acktr_cont import ContLearner

    hp = args.hparams

    def build():
        # the ablation fields (issue 21); the cold-start ones belong to the policy's K-FAC,
        # and 'linear' decays over --num_timesteps (not --stop_timesteps), as master's lr
        policy_kfac = dict(hp.policy_kfac_options(), cold_lr_ratio=hp.cold_lr_ratio,
                           max_grad_norm=hp.max_grad_norm)
        return ContLearner(obs_shape[0], nact, seed=args.seed, is_async=hp.is_async,
                           wait_first_eigen=hp.wait_first_eigen, eigen_backend=hp.eigen_backend,
                           policy_kfac_options=policy_kfac,
                           vf_kfac_options=hp.vf_kfac_options(), gamma=hp.gamma, lam=hp.lam,
                           timesteps_per_batch=hp.timesteps_per_batch,
                           desired_kl=hp.desired_kl, stepsize=hp.stepsize,
                           vf_fit_iters=hp.vf_fit_iters, stepsize_horizon=args.num_timesteps,
                           **hp.ablation_options())

    return build


def run_paper(args, obs_shape, nact):
    """The paper's continuous ACKTR (:class:`~baselines_acktr.acktr_cont.ContLearner`)
    through the same run directory, checkpoints, resume, Ctrl-C and NaN handling."""
    import gymnasium as gym

    from .acktr_cont import make_cont_env
    from .envs import Monitor, vector_env

    config = cli.run_record(args, network="mlp")
    build = paper_builder(args, obs_shape, nact)

    if args.play:
        def make_play_env():  # rendered in a subprocess, as for the master variant
            return _SingleFromVector(vector_env(
                [lambda: Monitor(gym.make(args.env, render_mode="rgb_array"))], "async"))

        return episodes.play(PROG, args, build, make_play_env, args.play_episodes)
    def make_eval_env():  # the learner's filter acts with its statistics frozen
        return make_cont_env(args.env, args.seed)

    if args.eval:
        return episodes.evaluate(PROG, args, build, make_eval_env, args.eval, args.deterministic)
    return cli.train(PROG, args, config, build,
                     lambda monitor_dir: make_cont_env(args.env, args.seed, monitor_dir),
                     make_eval_env)


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
