"""Whole episodes with a trained learner: ``--play`` (a GIF) and ``--eval`` (returns).

Both load ``--load_path`` into a fresh learner and play whole episodes in one env
with the learner's :meth:`~baselines_acktr.common.learner.Learner.actor`
(:func:`~baselines_acktr.common.evaluation.run_episodes`, which evaluation during
training, ``--eval_interval``, plays too); an
episode is a ``Monitor`` record, i.e. a whole game with its unclipped score
(the env builders give Atari no episodic-life ends for evaluation).  Ctrl-C stops
at once and keeps what was played.
"""
from __future__ import annotations

import os

import numpy as np

from .cli import default_log_path, fail, restore_learner
from .common.evaluation import eval_rows, run_episodes
from .common.run_folder import append_eval_rows


def _loaded(prog, args, build, what):
    if args.load_path is None:
        fail(prog, f"{what} needs --load_path (a checkpoint or a checkpoint directory)")
    learner = build()
    restore_learner(prog, learner, learner.trackables(), args.load_path)
    return learner


def play(prog, args, build, make_play_env, episodes):
    """``--play``: ``episodes`` episodes in ``make_play_env()`` (a single env that renders
    RGB frames), their returns printed and a GIF written."""
    learner = _loaded(prog, args, build, "--play")
    env = make_play_env()
    frames = []

    def grab(e):
        if len(frames) < 5000:
            frames.append(e.render())

    try:
        records = run_episodes(learner, env, episodes, args.seed, args.deterministic, grab)
    finally:
        env.close()
        learner.close()
    video = args.video or os.path.join(args.log_path or default_log_path(args), "play.gif")
    write_gif(video, frames)
    returns = [r["r"] for r in records]
    mean = f"{sum(returns) / len(returns):g}" if returns else "n/a (no episode finished)"
    print(f"mean return over {len(returns)} episodes: {mean}; video: {video}")
    return 0


def evaluate(prog, args, build, make_eval_env, episodes, deterministic=False):
    """``--eval N``: N whole episodes (stochastic actions unless ``deterministic``, as the
    paper's training scores), ``mean ± std`` printed and the episodes added to
    ``<log_path>/eval.csv`` (:data:`~baselines_acktr.common.run_folder.EVAL_COLUMNS`, tagged
    with the checkpoint's update and timesteps)."""
    learner = _loaded(prog, args, build, "--eval")
    env = make_eval_env()
    try:
        records = run_episodes(learner, env, episodes, args.seed, deterministic)
        update, timesteps = learner.updates_done, learner.timesteps_done
    finally:
        env.close()
        learner.close()
    log_path = args.log_path or default_log_path(args)
    os.makedirs(log_path, exist_ok=True)
    path = append_eval_rows(log_path, eval_rows(records, deterministic, update, timesteps,
                                                args.load_path))
    returns = [r["r"] for r in records]
    if not returns:
        print(f"eval: no whole episode finished; nothing added to {path}")
        return 0
    mean, std = float(np.mean(returns)), float(np.std(returns))
    kind = "deterministic" if deterministic else "stochastic"
    print(f"eval: {len(returns)} episodes ({kind}), return {mean:g} ± {std:g} "
          f"(min {min(returns):g}, max {max(returns):g}); {path}")
    return 0


def write_gif(path, frames, every=2, fps=30):
    """Write RGB frames as an animated GIF (every ``every``-th frame)."""
    from PIL import Image

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    images = [Image.fromarray(f) for f in frames[::every] if f is not None]
    if not images:
        raise RuntimeError("the environment rendered no frames")
    tmp = f"{path}.tmp-{os.getpid()}.gif"
    images[0].save(tmp, save_all=True, append_images=images[1:], duration=int(1000 * every / fps),
                   loop=0)
    os.replace(tmp, path)
