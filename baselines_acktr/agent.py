"""Trained agents: :func:`load` any run, checkpoint or shipped agent in one call, and
``python -m baselines_acktr.agent`` to pack a run's checkpoint into a shipped agent.

    import baselines_acktr
    model, config = baselines_acktr.load("agents/PongNoFrameskip-v4-a2c")
    actions, _ = model.predict(frames, deterministic=True)

    python -m baselines_acktr.agent --load_path sweeps/mujoco/runs/Hopper-v5-acktr-master-seed0 \\
        --out agents/Hopper-v5-acktr-master

Not in baselines (whose ``load_path`` needs the model built by hand first).  The learner
is rebuilt as the run script that trained it builds it (``parse`` on the checkpoint's
``config.json``, then the script's ``make_builder``) and the checkpoint read into it.

A shipped agent is a checkpoint of the learner's ``agent_trackables()`` — what acting
needs: parameters, observation statistics, progress; no K-FAC statistics, eigenbases or
momenta, no RMSProp state (A2C on Pong: 6.75 MB of a 13 MB checkpoint) — whose
``config.json`` is the run's minus its paths, with ``agent: true`` and ``packed_from``.
``--play``, ``--eval`` and ``export`` read it as any checkpoint; training refuses to
resume from it (one line).
Bad input is one line and exit status 2.
"""
from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .common.cmd_util import Parser, fail  # noqa: E402

PROG = "agent"
PATH_KEYS = ("log_path", "save_path", "load_path", "config")  # this machine's, not the agent's


def run_script(config):
    """The run script module (``run_atari`` or ``run_mujoco``) that trains the run a
    ``config.json`` describes: its ``alg`` and ``variant`` looked up in the registry
    :data:`~baselines_acktr.common.configs.ALGORITHMS`; None if no entry has both."""
    from . import run_atari, run_mujoco
    from .common.configs import ALGORITHMS

    scripts = {"run_atari": run_atari, "run_mujoco": run_mujoco}
    for spec in ALGORITHMS.values():
        if spec.name == config.get("alg") and spec.variant == config.get("variant"):
            return scripts[spec.script]
    return None


def checkpoint_path(path):
    """A run folder names its ``checkpoints/``; anything else names itself."""
    inner = os.path.join(path, "checkpoints")
    return inner if os.path.isdir(inner) else path


def load(path, prog=PROG):
    """``(learner, config)``: the learner of the run (folder), checkpoint or shipped agent
    ``path``, built as its run script builds it, with the checkpoint read into it; bad
    input is one line and exit 2 (``SystemExit``)."""
    from . import cli
    from .common.checkpoints import CheckpointError, resolve
    from .common.run_folder import CONFIG, read_json

    try:
        ckpt_dir = resolve(checkpoint_path(path))
    except CheckpointError as exc:
        fail(prog, str(exc))
    config_path = os.path.join(ckpt_dir, CONFIG)
    config = read_json(config_path) or {}
    script = run_script(config)
    if script is None:
        fail(prog, f"{path}: config.json names no run this project trains (alg="
                   f"{config.get('alg')!r}, variant={config.get('variant')!r})")
    with tempfile.TemporaryDirectory() as scratch:  # parse needs a log path it never writes
        args = script.parse(["--config", config_path, "--log_path", scratch])
    learner = script.make_builder(args)()
    cli.restore_learner(prog, learner, learner.trackables(), ckpt_dir)
    return learner, config


def pack(load_path, out, prog=PROG):
    """Write the shipped agent of ``load_path`` (a run folder or checkpoint) into ``out``;
    returns ``(checkpoint directory, its size in bytes)``."""
    from .common.checkpoints import AGENT, Checkpointer

    learner, config = load(load_path, prog)
    try:
        record = {k: v for k, v in config.items() if k not in PATH_KEYS}
        record.update({AGENT: True, "packed_from": os.path.basename(
            os.path.normpath(config.get("log_path") or load_path))})
        saved = Checkpointer(out, learner.agent_trackables(), record, keep=1).save(
            learner.updates_done, learner.timesteps_done)
    finally:
        learner.close()
    size = sum(os.path.getsize(os.path.join(saved, f)) for f in os.listdir(saved))
    return saved, size


def parse(argv):
    p = Parser(prog=PROG, description="Pack a run's checkpoint into a shipped agent "
                                      "(acting state only).")
    p.add_argument("--load_path", required=True,
                   help="a run folder, its checkpoints/ (the latest) or one checkpoint")
    p.add_argument("--out", required=True, help="the agent's directory to write")
    return p.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if os.path.exists(args.out) and os.listdir(args.out):
        fail(PROG, f"--out {args.out} exists and is not empty")
    saved, size = pack(args.load_path, args.out)
    print(f"packed {args.load_path} into {saved} ({size / 1e6:.2f} MB); play it with "
          f"--play --load_path {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
