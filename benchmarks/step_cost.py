"""What one policy call of the rollout costs, split into its parts (Atari, nature CNN).

For each number of envs (a batch of random 84×84×4 uint8 observations), in
interleaved rounds, the median milliseconds of:

* ``forward``   — the policy's forward pass alone (logits and value), one ``tf.function``;
* ``step_graph`` — ``Model._step``: the forward pass, a sample and its neglogp
  (baselines' ``step`` outputs), one ``tf.function``, tensors in and out;
* ``step``      — ``Model.step`` as the Runner calls it: numpy observations in,
  numpy actions, values and neglogps out;
* ``to_tensor`` — ``tf.convert_to_tensor`` of the observations alone.

``step − step_graph`` is the host↔tensor cost of a call, ``step_graph − forward``
the cost of sampling.  Each traced function is called with one shape only (no
retracing; checked).  The last lines are ``step_cost num_env=N forward_ms=…
step_graph_ms=… step_ms=… to_tensor_ms=…``.  Prints the device it runs on.

    python benchmarks/step_cost.py [--num_env 16 32 64 128] [--rounds 5] [--calls 40]
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _device import device_line  # noqa: E402  (benchmarks/_device.py)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from baselines_acktr.acktr import Model  # noqa: E402
from baselines_acktr.common.policies import Policy  # noqa: E402


def measure(num_env, rounds, calls):
    policy = Policy((84, 84, 4), ("discrete", 6), network="cnn", seed=0)
    model = Model(policy, num_env, 10 ** 9, nsteps=20, is_async=False)
    try:
        rng = np.random.default_rng(0)
        obs = rng.integers(0, 256, (num_env, 84, 84, 4), dtype=np.uint8)
        obs_t = tf.convert_to_tensor(obs)
        spec = tf.TensorSpec([None, 84, 84, 4], tf.uint8)

        @tf.function(input_signature=[spec])
        def forward(o):
            pd, v = policy(o)
            return pd.logits, v

        parts = {
            "forward": lambda: [t.numpy() for t in forward(obs_t)][0],
            "step_graph": lambda: model._step(obs_t)[0].numpy(),
            "step": lambda: model.step(obs)[0],
            "to_tensor": lambda: tf.convert_to_tensor(obs).numpy(),
        }
        for fn in parts.values():  # trace and warm up
            for _ in range(5):
                fn()
        times = {k: [] for k in parts}
        for _ in range(rounds):
            for k, fn in parts.items():
                for _ in range(calls):
                    t0 = time.perf_counter()
                    fn()
                    times[k].append(time.perf_counter() - t0)
        traces = {"forward": forward.experimental_get_tracing_count(),
                  "step_graph": model._step.experimental_get_tracing_count()}
        assert all(n == 1 for n in traces.values()), f"retraced: {traces}"
        return {k: statistics.median(v) * 1e3 for k, v in times.items()}
    finally:
        model.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num_env", type=int, nargs="+", default=[16, 32, 64, 128])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=40, help="consecutive calls per part and round")
    args = ap.parse_args()
    print(f"{device_line()}, TensorFlow {tf.__version__}", flush=True)
    rows = []
    for n in args.num_env:
        med = measure(n, args.rounds, args.calls)
        rows.append((n, med))
        print(f"{n:4d} envs: " + "  ".join(f"{k} {v:.2f} ms" for k, v in med.items())
              + f"  (step/forward {med['step'] / med['forward']:.2f})", flush=True)
    for n, med in rows:
        print(f"step_cost num_env={n} " + " ".join(f"{k}_ms={v:.2f}" for k, v in med.items()))


if __name__ == "__main__":
    main()
