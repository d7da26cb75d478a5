"""Would overlapping env stepping with the policy's forward pass pay here? A probe.

ale-py's ``AtariVectorEnv`` steps in C++ threads behind ``send``/``recv``, so a
rollout could split the envs in two halves and run the forward pass of one half
while the other half steps (same parameters within a rollout: the algorithm is
unchanged).  This measures acting throughput (agent steps/s, median over
rounds of 20 steps) of

* ``sequential`` — one ``AtariVectorEnv`` of N envs: forward, step, forward, … ;
* ``overlapped`` — two of N/2: ``send`` half A's actions, forward half B while A
  steps, ``send`` B's, ``recv`` A, forward A while B steps, … ;

with the policy's ``Model.step`` and the raw ALE env (no frame stack or Monitor,
the same for both), interleaved round by round.  The last line is
``overlap num_env=N sequential=… overlapped=… ratio=…``.

    python benchmarks/overlap.py [--num_env 32] [--rounds 15]
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _device import device_line  # noqa: E402  (benchmarks/_device.py)

import numpy as np  # noqa: E402


def make(n, seed):
    from ale_py.vector_env import AtariVectorEnv
    import gymnasium as gym

    env = AtariVectorEnv("pong", n, img_height=84, img_width=84, grayscale=True, stack_num=4,
                         frameskip=4, maxpool=True, noop_max=30, repeat_action_probability=0.0,
                         autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = env.reset(seed=seed)
    return env, nhwc(obs)


def nhwc(obs):
    return np.ascontiguousarray(np.moveaxis(obs, 1, -1))  # ALE stacks frames first


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num_env", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--nsteps", type=int, default=20)
    args = ap.parse_args()
    from baselines_acktr.acktr import Model
    from baselines_acktr.common.policies import Policy

    n, half = args.num_env, args.num_env // 2
    print(device_line(), flush=True)
    policy = Policy((84, 84, 4), ("discrete", 6), network="cnn", seed=0)
    model = Model(policy, n, 10 ** 9, nsteps=args.nsteps, is_async=False)
    whole, obs = make(n, 0)
    (env_a, obs_a), (env_b, obs_b) = make(half, 1), make(n - half, 2)
    try:
        def sequential():
            nonlocal obs
            for _ in range(args.nsteps):
                actions = model.step(obs)[0]
                obs = nhwc(whole.step(actions)[0])

        def overlapped():
            nonlocal obs_a, obs_b
            env_a.send(model.step(obs_a)[0])
            for t in range(args.nsteps):
                env_b.send(model.step(obs_b)[0])          # B's forward while A steps
                obs_a = nhwc(env_a.recv()[0])
                if t < args.nsteps - 1:
                    env_a.send(model.step(obs_a)[0])      # A's forward while B steps
                obs_b = nhwc(env_b.recv()[0])

        kinds = {"sequential": sequential, "overlapped": overlapped}
        for fn in kinds.values():
            fn()  # warm up (traces the policy for both batch sizes)
        rates = {k: [] for k in kinds}
        for _ in range(args.rounds):
            for k, fn in kinds.items():
                t0 = time.perf_counter()
                fn()
                rates[k].append(n * args.nsteps / (time.perf_counter() - t0))
        med = {k: statistics.median(v) for k, v in rates.items()}
        for k, v in rates.items():
            print(f"{k:11s} median {med[k]:7.0f} steps/s (min {min(v):.0f}, max {max(v):.0f}, "
                  f"n={len(v)})")
        print(f"overlap num_env={n} sequential={med['sequential']:.0f} "
              f"overlapped={med['overlapped']:.0f} "
              f"ratio={med['overlapped'] / med['sequential']:.2f}")
    finally:
        model.close()
        for env in (whole, env_a, env_b):
            env.close()


if __name__ == "__main__":
    main()
