"""How the ``ale_vector`` Atari backend's games compare with the default backend's.

    python benchmarks/backend_agreement.py [--games 64] [--envs PongNoFrameskip-v4 ...]

(1) Whole games under a uniform random policy (seeded): mean ± std of the Monitor's
    returns and lengths per backend, Welch's t between them.
(2) Frames: the first observation after a reset without no-ops, both backends on the
    same emulator state (ALE's fire reset leaves the reset frame alone): how many of
    the 84×84 pixels differ, and by how much (baselines takes the max of two RGB
    frames, then gray; ALE grays each frame, then takes the max).  After the first
    steps the two games drift apart (different start sequences), so later frames are
    compared in distribution only, through (1).
Last lines: ``agreement env=… stat=return ale_vector=… gym=… t=…``.
"""
import argparse

import numpy as np

from baselines_acktr.envs import episode_infos, make_ale_vector_env, make_atari_env
from baselines_acktr.envs.ale_vector import ale_game


def random_games(env, n_games, seed):
    rng = np.random.default_rng(seed)
    env.reset()
    nact = int(env.single_action_space.n)
    returns, lengths = [], []
    while len(returns) < n_games:
        *_, infos = env.step(rng.integers(0, nact, env.num_envs))
        for rec in episode_infos(infos):
            returns.append(rec["r"])
            lengths.append(rec["l"])
    env.close()
    return np.array(returns[:n_games], float), np.array(lengths[:n_games], float)


def welch_t(a, b):
    return (a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))


def reset_frame_difference(env_id, seed=3):
    import ale_py
    import gymnasium as gym

    from baselines_acktr.envs import atari_wrappers as W

    gym.register_envs(ale_py)
    raw = W.MaxAndSkipEnv(gym.make(env_id, repeat_action_probability=0.0), skip=4)
    frame, _ = raw.reset(seed=seed)
    ours = W.WarpFrame(raw).observation(frame).squeeze().astype(int)
    from ale_py.vector_env import AtariVectorEnv

    vec = AtariVectorEnv(ale_game(env_id), 1, noop_max=0, stack_num=1, grayscale=True,
                         repeat_action_probability=0.0)
    obs, _ = vec.reset(seed=seed)
    vec.close()
    raw.close()
    d = np.abs(ours - obs[0, -1].astype(int))
    return int((d > 0).sum()), int(d.max()), d.size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--envs", nargs="+", default=["PongNoFrameskip-v4", "BreakoutNoFrameskip-v4"])
    ap.add_argument("--games", type=int, default=64)
    args = ap.parse_args()
    lines = []
    for env_id in args.envs:
        n, dmax, size = reset_frame_difference(env_id)
        print(f"{env_id}: reset frame, {n} of {size} pixels differ (max |diff| {dmax})")
        ale = random_games(make_ale_vector_env(env_id, 16, seed=0), args.games, 1)
        gym = random_games(make_atari_env(env_id, 8, seed=0, vec="sync"), args.games, 1)
        for stat, a, b in zip(("return", "length"), ale, gym):
            t = welch_t(a, b)
            print(f"{env_id} {stat:6s}: ale_vector {a.mean():8.2f} ± {a.std():7.2f}   "
                  f"gym {b.mean():8.2f} ± {b.std():7.2f}   t = {t:5.2f}  ({args.games} games each)",
                  flush=True)
            lines.append(f"agreement env={env_id} stat={stat} ale_vector={a.mean():.2f} "
                         f"gym={b.mean():.2f} t={t:.2f} games={args.games}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
