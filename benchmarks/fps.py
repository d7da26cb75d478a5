"""Atari throughput: end-to-end ACKTR training timesteps/s against the env-only limit.

    python benchmarks/fps.py [--env PongNoFrameskip-v4] [--num_env 32] [--updates 30]

(1) env only: the same subprocess vector env (baselines' Atari wrappers,
    SAME_STEP autoreset) stepped with random actions, 20 steps per "update";
(2) acting: (1) plus the policy's forward pass choosing the actions;
(3) end to end: runner + ACKTR update (async eigen thread), as run_atari.py.
Each reports timesteps/s (median over updates after a warm-up).
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default="PongNoFrameskip-v4")
    ap.add_argument("--num_env", type=int, default=32)
    ap.add_argument("--nsteps", type=int, default=20)
    ap.add_argument("--updates", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=12)
    ap.add_argument("--only", choices=["env", "acting", "train"])
    ap.add_argument("--eigen_nice", type=int, default=0,
                    help="nice value of the eigen thread (Linux; 0 = as training)")
    args = ap.parse_args()

    from baselines_acktr.acktr import Model
    from baselines_acktr.envs import make_atari_env
    from baselines_acktr.common.policies import Policy
    from baselines_acktr.common.runner import Runner

    env = make_atari_env(args.env, args.num_env, seed=0)
    nbatch = args.num_env * args.nsteps
    results = {}
    try:
        env.reset(seed=0)
        policy = Policy(env.single_observation_space.shape,
                        ("discrete", int(env.single_action_space.n)), network="cnn")
        model = Model(policy, args.num_env, 10 ** 9, nsteps=args.nsteps,
                      eigen_nice=args.eigen_nice)

        def env_only():
            for _ in range(args.nsteps):
                env.step(env.action_space.sample())

        def acting():
            obs = env_only.obs
            for _ in range(args.nsteps):
                a = model.step(obs)[0]
                obs = env.step(a)[0]
            env_only.obs = obs

        env_only.obs = env.reset(seed=0)[0]
        runner = Runner(env, model, nsteps=args.nsteps, gamma=0.99, seed=0)

        def train():
            obs, states, rewards, masks, actions, values, _ = runner.run()
            model.train(obs, states, rewards, masks, actions, values)

        kinds = {"env": env_only, "acting": acting, "train": train}
        for name, fn in kinds.items():
            if args.only and name != args.only:
                continue
            n = args.updates + (args.warmup if name == "train" else 2)
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            skip = args.warmup if name == "train" else 2
            results[name] = nbatch / statistics.median(times[skip:])
            print(f"{name:7s} {results[name]:8.0f} timesteps/s  (median of {n - skip} batches "
                  f"of {nbatch})")
        if "train" in results:
            print(f"eigen decompositions installed: {int(model.optim.factor_step.numpy())} "
                  f"over {n} updates")
    finally:
        model.close()
        env.close()
    if "env" in results and "train" in results:
        print(f"end-to-end / env-only = {results['train'] / results['env']:.2f}")


if __name__ == "__main__":
    main()
