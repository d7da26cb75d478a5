"""Where one ACKTR update's time goes (nature CNN, 32×20 = 640 Atari batch).

Times each piece of an update in its own ``tf.function`` (medians over
``--repeat`` calls, one process, nothing else running): A2C's forward and
backward pass, the same plus the sampled-Fisher backward to every layer output
(what ACKTR's ``gradients_and_stats`` differentiates), each factor's statistics,
the running averages, the preconditioning, and each factor's eigen-decomposition
(numpy LAPACK with 2 and 1 BLAS threads, ``tf.linalg.eigh``).  The pieces of
the training thread are summed at the end.

    python benchmarks/update_breakdown.py [--conv_stats rows|patches] [--stats_subsample K]
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from baselines_acktr.acktr import Model  # noqa: E402
from baselines_acktr.kfac.layers import Capture  # noqa: E402
from baselines_acktr.common.policies import Policy  # noqa: E402


def median_ms(fn, repeat):
    fn()  # trace / warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        if isinstance(out, (list, tuple)):
            out = out[0]
        if hasattr(out, "numpy"):
            out.numpy()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--conv_stats", choices=["rows", "patches"], default="rows")
    ap.add_argument("--stats_subsample", type=int, default=1)
    ap.add_argument("--skip_eigen", action="store_true", help="do not time the decompositions")
    args = ap.parse_args()
    nbatch = 640
    model = Model(Policy((84, 84, 4), ("discrete", 6), network="cnn", seed=0), 32, 10 ** 9,
                  nsteps=20, is_async=False,
                  kfac_options=dict(conv_stats=args.conv_stats,
                                    stats_subsample=args.stats_subsample))
    optim = model.optim
    rng = np.random.default_rng(0)
    obs = tf.constant(rng.integers(0, 256, (nbatch, 84, 84, 4), dtype=np.uint8))
    act = tf.constant(rng.integers(0, 6, nbatch).astype(np.int32))
    adv = tf.constant(rng.normal(size=nbatch).astype(np.float32))
    ret = tf.constant(rng.normal(size=nbatch).astype(np.float32))
    noise = tf.constant(rng.normal(size=nbatch).astype(np.float32))
    rows = []

    @tf.function
    def a2c_grads():
        with tf.GradientTape() as tape:
            loss = model.losses(obs, act, adv, ret, None)[3]
        return tape.gradient(loss, model.params)

    @tf.function
    def grads_and_deltas():
        capture = Capture()
        with tf.GradientTape(persistent=True) as tape:
            out = model.losses(obs, act, adv, ret, noise, capture)
        grads = tape.gradient(out[3], model.params)
        deltas = tape.gradient(out[4], optim.factor_outputs(capture))
        return grads + deltas

    rows.append(("forward + backward of the training loss (A2C's part)",
                 median_ms(a2c_grads, args.repeat)))
    rows.append(("  + sampled-Fisher backward to every layer output",
                 median_ms(grads_and_deltas, args.repeat) - rows[-1][1]))

    # eager tensors for the factor pieces
    capture = Capture()
    with tf.GradientTape(persistent=True) as tape:
        out = model.losses(obs, act, adv, ret, noise, capture)
    grads = tape.gradient(out[3], model.params)
    deltas = tape.gradient(out[4], optim.factor_outputs(capture))
    k = optim.stats_subsample
    delta_iter = iter(deltas)
    for f in optim.factors:  # each factor's statistic alone, as compute_stats takes it
        if f.kind == "G":
            d = next(delta_iter)
            fn = tf.function(lambda f=f, d=d, b=float(d.shape[0]): f.statistic(d[::k], b))
        else:
            x = capture[f.layer_name].inputs
            fn = tf.function(lambda f=f, x=x: f.statistic(x[::k]))
        rows.append((f"factor {f.key} ({f.dim}×{f.dim})", median_ms(fn, args.repeat)))
    new_stats = optim.compute_stats(capture, deltas)
    ema = tf.function(lambda: optim.apply_stats(new_stats, tf.constant(100)))
    rows.append(("running averages of all factors", median_ms(ema, args.repeat)))
    optim.factor_step.assign(1)
    lr = tf.constant(0.25)
    precond = tf.function(lambda: optim.precondition(grads, lr))
    rows.append(("preconditioning (eigenbasis, trust region)", median_ms(precond, args.repeat)))
    train_total = sum(ms for _, ms in rows)
    a2c_ms = rows[0][1]

    print(f"TensorFlow {tf.__version__}, numpy {np.__version__}, {os.cpu_count()} cores, "
          f"conv_stats {args.conv_stats}, stats_subsample {args.stats_subsample}")
    for name, ms in rows:
        print(f"{name:60s} {ms:8.1f} ms")
    print(f"{'training-thread pieces, total':60s} {train_total:8.1f} ms"
          f"   ({train_total / a2c_ms:.2f}× the A2C forward + backward)")

    if args.skip_eigen:
        return
    from threadpoolctl import threadpool_limits

    mats = [v.numpy() for v in optim.stats]
    tf_eigh = tf.function(tf.linalg.eigh)
    for f, m in zip(optim.factors, mats):
        m = m + np.eye(len(m), dtype=np.float32)  # well conditioned
        if len(m) < 1024:
            continue
        line = f"eigh {f.key} ({f.dim}×{f.dim}):"
        for threads in (2, 1):
            with threadpool_limits(threads, user_api="blas"):
                ms = median_ms(lambda m=m: np.linalg.eigh(m), 3)
                line += f"  numpy {threads} BLAS threads {ms:.0f} ms"
        line += f"  tf.linalg.eigh {median_ms(lambda m=m: tf_eigh(m), 3):.0f} ms"
        print(line)
    small = [m for m in mats if len(m) < 1024]
    many = tf.function(lambda ms: [tf.linalg.eigh(x) for x in ms])
    print(f"eigh of the {len(small)} smaller factors together (tf.linalg.eigh): "
          f"{median_ms(lambda: many(small), 3):.0f} ms")


if __name__ == "__main__":
    main()
