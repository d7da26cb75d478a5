"""``python -m baselines_acktr.export``: a trained policy as a TensorFlow SavedModel.

    python -m baselines_acktr.export --load_path logs/PongNoFrameskip-v4-acktr-seed0/checkpoints \\
        --out exported/pong [--deterministic]

Not in baselines (whose models are TF1 graphs saved as variables).  The checkpoint's
``config.json`` says which run made it; the learner is rebuilt as that run script builds it
(:func:`load_learner`), the checkpoint read through the project's checkpointer, and the
policy saved with one serving signature, ``serving_default``: a batch of observations as the
policy sees them (Atari: the stacked 84×84×4 uint8 frames) to ``actions`` (the policy's mode
with ``--deterministic``, else samples) and ``values``.  Loading it needs TensorFlow only::

    serve = tf.saved_model.load("exported/pong").signatures["serving_default"]
    actions = serve(obs=tf.constant(frames))["actions"]

Atari runs (ACKTR and A2C) are exported today; MuJoCo runs are refused in one line (their
observation normalisation is not folded in yet).  Bad input is one line and exit status 2.
"""
from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .common.cmd_util import Parser, fail  # noqa: E402

PROG = "export"


def parse(argv):
    p = Parser(prog=PROG, description="Export a trained policy as a TensorFlow SavedModel.")
    p.add_argument("--load_path", required=True,
                   help="a checkpoint directory, or a run's checkpoints/ (its latest)")
    p.add_argument("--out", required=True, help="the SavedModel directory to write")
    p.add_argument("--deterministic", action="store_true",
                   help="actions are the policy's mode (default: samples, as in training)")
    return p.parse_args(argv)


def load_learner(load_path, prog=PROG):
    """``(learner, config)``: the learner of the run that wrote checkpoint ``load_path``,
    built as its run script builds it, with the checkpoint read into it."""
    from . import run_atari
    from .common.checkpoints import CheckpointError, Checkpointer, resolve
    from .common.configs import ATARI_ALGS
    from .common.run_folder import CONFIG, read_json

    try:
        ckpt_dir = resolve(load_path)
    except CheckpointError as exc:
        fail(prog, str(exc))
    config_path = os.path.join(ckpt_dir, CONFIG)
    config = read_json(config_path) or {}
    if config.get("alg") not in ATARI_ALGS or "variant" in config:
        fail(prog, f"{load_path}: only Atari runs (acktr, a2c) can be exported yet; this one is "
                   f"alg={config.get('alg')!r}, variant={config.get('variant')!r}")
    with tempfile.TemporaryDirectory() as scratch:  # parse needs a log path it never writes
        args = run_atari.parse(["--config", config_path, "--log_path", scratch])
    learner = run_atari.make_builder(args)()
    try:
        Checkpointer(None, learner.trackables(), {}).restore(ckpt_dir)
    except CheckpointError as exc:
        learner.close()
        fail(prog, str(exc))
    learner.restore_progress()
    return learner, config


def exported_module(model, deterministic):
    """A ``tf.Module`` holding the policy's variables and the serving function."""
    import tensorflow as tf

    policy = model.policy

    class Exported(tf.Module):
        def __init__(self):
            super().__init__(name="exported_policy")
            self.policy = policy
            self.rng = tf.random.Generator.from_seed(0)

        @tf.function(input_signature=[tf.TensorSpec([None, *policy.obs_shape], policy.obs_dtype,
                                                    name="obs")])
        def serve(self, obs):
            pd, values = self.policy(obs)
            actions = pd.mode() if deterministic else pd.sample(self.rng)
            return {"actions": actions, "values": values}

    return Exported()


def export(load_path, out, deterministic=False, prog=PROG):
    """Write the SavedModel of checkpoint ``load_path`` to ``out``; returns ``out``."""
    import tensorflow as tf

    learner, _ = load_learner(load_path, prog)
    try:
        module = exported_module(learner, deterministic)
        tf.saved_model.save(module, out, signatures={"serving_default": module.serve})
    finally:
        learner.close()
    return out


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if os.path.exists(args.out) and os.listdir(args.out):
        fail(PROG, f"--out {args.out} exists and is not empty")
    export(args.load_path, args.out, args.deterministic)
    kind = "the mode" if args.deterministic else "samples"
    print(f"exported {args.load_path} to {args.out} (serving_default: obs -> actions ({kind}), "
          f"values)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
