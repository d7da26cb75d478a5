"""``python -m baselines_acktr.export``: a trained policy as a TensorFlow SavedModel.

    python -m baselines_acktr.export --load_path logs/PongNoFrameskip-v4-acktr-seed0/checkpoints \\
        --out exported/pong [--deterministic]

Not in baselines (whose models are TF1 graphs saved as variables).  The checkpoint's
``config.json`` says which run made it; the learner is rebuilt as that run script builds it
and the checkpoint read into it (:func:`baselines_acktr.agent.load`: a run folder, a
checkpoint or a shipped agent), and the policy saved with one serving signature,
``serving_default``, whose ``actions`` are the policy's mode with ``--deterministic``, else
samples.  Loading it needs TensorFlow only::

    serve = tf.saved_model.load("exported/pong").signatures["serving_default"]
    actions = serve(obs=tf.constant(frames))["actions"]

What the signature takes depends on the run (:func:`exported_module`):

* Atari (ACKTR, A2C): ``obs``, observations as the policy sees them (the stacked 84×84×4
  uint8 frames) → ``actions``, ``values``.
* MuJoCo ``--variant master``: ``obs``, raw observations (float64, as MuJoCo returns them)
  → ``actions``, ``values``.  ``VecNormalize``'s observation normalisation is folded in,
  its statistics frozen at the checkpoint's and its ``clipob`` / ``epsilon`` the class's
  defaults (the ones ``run_mujoco.py`` trains with).  The actions are not clipped: in
  training and evaluation the env's ``ClipActions`` clips them to the action box.
* MuJoCo ``--variant paper``: raw ``obs`` and ``prev_obs`` (float64 ``[None, ob_dim]``) and
  ``episode_start`` (bool ``[None]``; where True, ``prev_obs`` is ignored and the policy
  sees zeros, as at an episode's first step) → ``actions`` in the env's action box, as the
  learner's actor plays: the ``ZFilter`` (statistics frozen) on both observations, the
  policy's [-1, 1] mapped affinely onto the box (its bounds are constants of the
  SavedModel) and clipped.  No ``values``: the paper's value function reads the step's
  index in its episode and the policy's output, not the policy's input.  A run trained
  with ``--vf_features obs`` (its value function reads the filtered observation only) also
  gets ``values``.

Bad input is one line and exit status 2.
"""
from __future__ import annotations

import os
import sys

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


def vec_normalize_defaults():
    """``(clipob, epsilon)``: the defaults of
    :class:`~baselines_acktr.envs.vec_normalize.VecNormalize`, which ``run_mujoco.py``'s
    master variant trains and evaluates with."""
    import inspect

    from .envs.vec_normalize import VecNormalize

    params = inspect.signature(VecNormalize.__init__).parameters
    return params["clipob"].default, params["epsilon"].default


def vec_normalize_fn(ob_rms):
    """``obs ↦ float32`` of ``VecNormalize._obfilt`` with ``training=False`` (mirrors it, in
    float64 as there): ``clip((obs − mean) / sqrt(var + epsilon), ±clipob)``, the
    statistics of ``ob_rms`` as constants."""
    import numpy as np
    import tensorflow as tf

    clipob, epsilon = vec_normalize_defaults()
    mean = np.array(ob_rms.mean, np.float64)
    scale = np.sqrt(ob_rms.var + epsilon)

    def normalise(obs):
        return tf.cast(tf.clip_by_value((obs - mean) / scale, -clipob, clipob), tf.float32)

    return normalise


def zfilter_fn(obfilter):
    """``x ↦ float64`` of :class:`~baselines_acktr.common.filters.ZFilter` called with
    ``update=False`` (mirrors ``ZFilter.__call__``: its ``demean``, ``destd`` and ``clip``),
    the running statistics of ``obfilter`` as constants."""
    import numpy as np
    import tensorflow as tf

    mean = np.array(obfilter.rs.mean, np.float64)
    denominator = obfilter.rs.std + obfilter.EPS

    def apply(x):
        if obfilter.demean:
            x = x - mean
        if obfilter.destd:
            x = x / denominator
        if obfilter.clip:
            x = tf.clip_by_value(x, -obfilter.clip, obfilter.clip)
        return x

    return apply


def box_fn(action_space):
    """``ac ↦ action`` of the paper's actor (``acktr_cont.learner._Actor``): ``ac`` in
    [-1, 1] mapped to ``low + (ac + 1)·(high − low)/2`` and clipped to the box, in the
    box's dtype (numpy's promotion there), the bounds as constants."""
    import numpy as np
    import tensorflow as tf

    low, high = np.asarray(action_space.low), np.asarray(action_space.high)

    def apply(ac):
        half = tf.cast((ac + 1.0) * 0.5, low.dtype)
        return tf.clip_by_value(low + half * (high - low), low, high)

    return apply


def action_space_of(env_id):
    """The action space of one instance of ``env_id`` (closed again)."""
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        return env.action_space
    finally:
        env.close()


def policy_module(policy, deterministic, obs_spec, preprocess=None):
    """A ``tf.Module`` serving ``policy`` (a :class:`~baselines_acktr.common.policies.Policy`):
    ``obs`` (of ``obs_spec``) through ``preprocess`` (None: as is) to the policy, out come
    ``actions`` (mode or samples) and ``values`` (Atari, MuJoCo master)."""
    import tensorflow as tf

    class Exported(tf.Module):
        def __init__(self):
            super().__init__(name="exported_policy")
            self.policy = policy
            self.rng = tf.random.Generator.from_seed(0)

        @tf.function(input_signature=[obs_spec])
        def serve(self, obs):
            pd, values = self.policy(obs if preprocess is None else preprocess(obs))
            actions = pd.mode() if deterministic else pd.sample(self.rng)
            return {"actions": actions, "values": values}

    return Exported()


def paper_module(learner, action_space, deterministic):
    """A ``tf.Module`` acting as ``_Actor(learner, action_space, deterministic)`` of
    :mod:`baselines_acktr.acktr_cont.learner` on a batch of steps: ``obs``, ``prev_obs``
    and ``episode_start`` to ``actions`` (and ``values`` where the value function reads the
    filtered observation only)."""
    import tensorflow as tf

    from .common.distributions import stateless_seed

    policy, vf = learner.policy, learner.vf
    ob_dim = learner.ob_dim
    filt, to_box = zfilter_fn(learner.obfilter), box_fn(action_space)
    with_values = vf.features == "obs"

    class Exported(tf.Module):
        def __init__(self):
            super().__init__(name="exported_policy")
            self.policy, self.vf = policy, vf
            self.rng = tf.random.Generator.from_seed(0)

        @tf.function(input_signature=[tf.TensorSpec([None, ob_dim], tf.float64, "obs"),
                                      tf.TensorSpec([None, ob_dim], tf.float64, "prev_obs"),
                                      tf.TensorSpec([None], tf.bool, "episode_start")])
        def serve(self, obs, prev_obs, episode_start):
            ob = filt(obs)
            prev = tf.where(episode_start[:, None], tf.zeros_like(ob), filt(prev_obs))
            ac_dist = self.policy.ac_dist(tf.cast(tf.concat([ob, prev], -1), tf.float32))
            ac = ac_dist[:, :policy.ac_dim] if deterministic else \
                self.policy.distribution(ac_dist).sample(seed=stateless_seed(self.rng))
            out = {"actions": to_box(ac)}
            if with_values:
                out["values"] = self.vf.forward(tf.cast(ob, tf.float32))
            return out

    return Exported()


def exported_module(learner, config, deterministic):
    """The ``tf.Module`` to save for the run ``config`` describes (see the module
    docstring); its ``serve`` is the serving function."""
    import tensorflow as tf

    variant = config.get("variant")
    if variant == "paper":
        return paper_module(learner, action_space_of(config["env"]), deterministic)
    policy = learner.policy
    if variant == "master":
        return policy_module(policy, deterministic,
                             tf.TensorSpec([None, *policy.obs_shape], tf.float64, name="obs"),
                             vec_normalize_fn(learner.extra_trackables["ob_rms"]))
    return policy_module(policy, deterministic,
                         tf.TensorSpec([None, *policy.obs_shape], policy.obs_dtype, name="obs"))


def signature_text(module):
    """``'obs -> actions, values'``: the inputs and outputs of ``module.serve``."""
    fn = module.serve.get_concrete_function()
    inputs = ", ".join(spec.name for spec in fn.structured_input_signature[0])
    return f"{inputs} -> {', '.join(sorted(fn.structured_outputs))}"


def export(load_path, out, deterministic=False, prog=PROG):
    """Write the SavedModel of checkpoint ``load_path`` to ``out``; returns its serving
    signature as :func:`signature_text` writes it."""
    import tensorflow as tf

    from .agent import load

    learner, config = load(load_path, prog)
    try:
        module = exported_module(learner, config, deterministic)
        tf.saved_model.save(module, out, signatures={"serving_default": module.serve})
        return signature_text(module)
    finally:
        learner.close()


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    if os.path.exists(args.out) and os.listdir(args.out):
        fail(PROG, f"--out {args.out} exists and is not empty")
    signature = export(args.load_path, args.out, args.deterministic)
    kind = "the mode" if args.deterministic else "samples"
    print(f"exported {args.load_path} to {args.out} (serving_default: {signature}; actions: "
          f"{kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
