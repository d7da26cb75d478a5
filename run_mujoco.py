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

from baselines_acktr import cli  # noqa: E402

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

    from baselines_acktr.envs import check_env_id

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
    argv = sys.argv[1:] if argv is None else argv
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

    from baselines_acktr.cli import build_model
    from baselines_acktr.envs import Monitor, make_vec_env, vector_env
    from baselines_acktr.common.policies import Policy
    from baselines_acktr.envs.vec_normalize import RunningMeanStd, VecNormalize

    config = dict(env=args.env, alg="acktr", variant="master", network="mlp", seed=args.seed,
                  num_env=MASTER["num_env"], nsteps=MASTER["nsteps"], lr=MASTER["lr"], gamma=0.99)

    def build():
        policy = Policy(obs_shape, ("box", nact), network="mlp", hidden=(64, 64),
                        value_network="copy", seed=args.seed)
        model = build_model("acktr", policy, MASTER["num_env"], args.num_timesteps,
                            MASTER["nsteps"], ent_coef=0.01, vf_coef=0.5, lr=MASTER["lr"],
                            max_grad_norm=0.5, lrschedule="linear", seed=args.seed)
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

        return cli.play(PROG, args, build_and_keep, make_play_env, args.play_episodes)

    def make_env(monitor_dir):
        env = make_vec_env(args.env, MASTER["num_env"], args.seed, monitor_dir=monitor_dir,
                           vec="sync")
        return normalized(env, holder["model"])

    return cli.train(PROG, args, config, build_and_keep, make_env)


def run_paper(args, obs_shape, nact):
    """The paper's continuous ACKTR (``acktr_cont.learn_cont``) with this project's
    run directory, checkpoints, resume, Ctrl-C and NaN handling."""
    import json

    import gymnasium as gym

    from baselines_acktr.acktr_cont import ContLearner, learn_cont, rollout
    from baselines_acktr.common.checkpoints import CheckpointError, Checkpointer
    from baselines_acktr.envs import Monitor, vector_env
    from baselines_acktr.common.logger import Logger

    config = dict(env=args.env, alg="acktr_cont", variant="paper", network="mlp",
                  seed=args.seed, timesteps_per_batch=2500, gamma=0.99, lam=0.97)
    learner = ContLearner(obs_shape[0], nact, seed=args.seed)
    log_path = args.log_path or cli.default_log_path(args)
    save_path = args.save_path or os.path.join(log_path, "checkpoints")
    ckpt = Checkpointer(save_path, learner.trackables(), dict(config, log_path=log_path))
    if args.load_path is not None or args.play:
        if args.load_path is None:
            cli.fail(PROG, "--play needs --load_path (a checkpoint or a checkpoint directory)")
        try:
            ckpt.restore(args.load_path)
        except (CheckpointError, OSError, json.JSONDecodeError) as exc:
            learner.close()
            cli.fail(PROG, str(exc))
        learner.obfilter.load_from_variables()
    if args.play:
        env = _SingleFromVector(vector_env(
            [lambda: Monitor(gym.make(args.env, render_mode="rgb_array"))], "async"))
        frames, returns = [], []
        try:
            for k in range(args.play_episodes):
                path = rollout(_Recording(env, frames), learner.policy, None, learner.obfilter,
                               seed=args.seed + k, update_filter=False)
                returns.append(path["episode"]["r"])
                print(f"episode {k + 1}: return {path['episode']['r']:g}, "
                      f"length {path['episode']['l']}")
        finally:
            env.close()
            learner.close()
        video = args.video or os.path.join(log_path, "play.gif")
        cli.write_gif(video, frames)
        print(f"mean return over {len(returns)} episodes: {sum(returns) / len(returns):g}; "
              f"video: {video}")
        return 0
    if learner.timesteps_done >= args.num_timesteps:
        learner.close()
        cli.fail(PROG, f"the checkpoint is already at {learner.timesteps_done} timesteps; "
                       "raise --num_timesteps to continue")
    os.makedirs(log_path, exist_ok=True)
    cli.write_json_atomic(os.path.join(log_path, "config.json"),
                          dict(config, log_path=log_path, save_path=save_path,
                               num_timesteps=args.num_timesteps, load_path=args.load_path))
    logger = Logger(log_path, tensorboard=True)
    print(f"logging to {log_path}; checkpoints in {save_path}")
    guard = cli.RunGuard(PROG)

    def callback(lcl):
        done = lcl["i"] + 1
        if done % args.save_interval == 0:
            guard.last_saved = ckpt.save(done)
        return not guard.stop.requested

    def body():
        learn_cont(args.env, args.seed, num_timesteps=args.num_timesteps, logger=logger,
                   monitor_dir=cli.monitor_dir_for(log_path, learner.iterations_done),
                   learner=learner, callback=callback)
        guard.last_saved = ckpt.save(learner.iterations_done)
        what = "interrupted" if guard.stop.requested else "done"
        print(f"{what} after iteration {learner.iterations_done} "
              f"({learner.timesteps_done} timesteps); checkpoint {guard.last_saved}")

    return guard.run(body, learner.close, logger.close)


class _Recording:
    """Passes a single env through, appending a rendered frame after every step."""

    def __init__(self, env, frames, limit=5000):
        self.env, self.frames, self.limit = env, frames, limit
        self.action_space = env.action_space
        self.spec = None

    def reset(self, seed=None):
        return self.env.reset(seed=seed)

    def step(self, action):
        out = self.env.step(action)
        if len(self.frames) < self.limit:
            self.frames.append(self.env.render())
        return out


class _SingleFromVector:
    """A one-env vector env seen as a single env (for ``cli.play``)."""

    def __init__(self, venv):
        self.venv = venv
        self.action_space = venv.single_action_space

    def reset(self, seed=None):
        obs, info = self.venv.reset(seed=seed)
        return obs[0], info

    def step(self, action):
        from baselines_acktr.envs import episode_infos

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
    sys.exit(main())
