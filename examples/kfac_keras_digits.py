"""K-FAC on a plain Keras model: scikit-learn's bundled digits, next to Adam and SGD.

The classifier (Conv2D → Flatten → Dense → LayerNormalization → Dense) is an
ordinary ``keras.Sequential``; :class:`baselines_acktr.kfac.keras.KerasKfacModel`
registers its layers, and :class:`~baselines_acktr.kfac.KfacOptimizer` trains it
with ACKTR's step (paper section 3.2's trust region included) on the
cross-entropy.  The Fisher loss is the model's own predictive distribution: the
cross-entropy of labels sampled from its softmax (section 3.1).  Every optimizer
starts from the same weights and sees the same batches.

    python examples/kfac_keras_digits.py --out docs/results/kfac_keras_digits

writes ``results.csv`` (optimizer, iteration, seconds, train_loss, test_accuracy),
``loss.png`` (training loss against iterations and against seconds) and
``command.txt``.  Nothing is downloaded: the digits ship with scikit-learn.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from baselines_acktr.kfac import KfacOptimizer  # noqa: E402
from baselines_acktr.kfac.keras import KerasKfacModel  # noqa: E402
from baselines_acktr.kfac.train_step import KfacTrainStep  # noqa: E402

OPTIMIZERS = ("kfac", "adam", "sgd")
GRID = {"kfac": (0.05, 0.1, 0.25), "adam": (1e-3, 3e-3, 1e-2), "sgd": (0.03, 0.1, 0.3)}
LEARNING_RATES = {"kfac": 0.1, "adam": 1e-2, "sgd": 0.3}
"""Each optimizer's rate: the best final training loss of its :data:`GRID` (``--grid``
writes ``grid.csv``; ``docs/kfac_library.md`` gives the losses)."""
KFAC = dict(momentum=0.9, clip_kl=0.001, epsilon=0.01, stats_decay=0.95, kfac_update=10,
            cold_iter=10, max_grad_norm=None)
"""K-FAC's other settings: ACKTR's momentum, damping and statistics decay; a smaller trust
region (``clip_kl``), decompositions every 10 steps, a 10-step cold start and no
gradient clip."""


def load_digits(seed: int, n_test: int = 297):
    """``(x_train, y_train, x_test, y_test)``: 8×8×1 images in [0, 1], split at random."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.images[..., None] / 16.0).astype(np.float32)
    y = d.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def make_model(seed: int) -> keras.Sequential:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.LayerNormalization(),
        keras.layers.Dense(10),
    ])


def cross_entropy(labels, logits):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def kfac_step(net: KerasKfacModel, lr: float, batch: int):
    """One K-FAC update on ``(x, y)``: the training loss is the cross-entropy, the Fisher
    loss the cross-entropy of labels sampled from the model."""
    optim = KfacOptimizer(learning_rate=lr, **KFAC)

    def loss_fn(x, y, capture):
        logits = net(x, capture)
        sampled = tf.stop_gradient(tf.random.categorical(logits, 1)[:, 0])
        return cross_entropy(y, logits), cross_entropy(tf.cast(sampled, tf.int32), logits), ()

    spec = [tf.TensorSpec([batch, 8, 8, 1], tf.float32), tf.TensorSpec([batch], tf.int32)]
    step = KfacTrainStep(optim, net.params, loss_fn, spec,
                         probe=lambda capture: net(tf.zeros([batch, 8, 8, 1]), capture))
    rate = tf.constant(lr, tf.float32)
    return lambda x, y: step((x, y), rate)


def first_order_step(net: KerasKfacModel, name: str, lr: float):
    opt = keras.optimizers.Adam(lr) if name == "adam" else keras.optimizers.SGD(lr)
    variables = net.model.trainable_variables

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = cross_entropy(y, net(x))
        opt.apply_gradients(zip(tape.gradient(loss, net.params), variables))

    return step


def train(name: str, iterations: int, batch: int, seed: int, eval_every: int, data, lr=None):
    """Rows ``(iteration, seconds, train_loss, test_accuracy)``; seconds count the training
    steps after the first (which traces the step's ``tf.function``)."""
    x_tr, y_tr, x_te, y_te = data
    tf.random.set_seed(seed)
    net = KerasKfacModel(make_model(seed))
    lr = LEARNING_RATES[name] if lr is None else lr
    step = kfac_step(net, lr, batch) if name == "kfac" else first_order_step(net, name, lr)
    order = np.random.default_rng(seed + 1)
    rows, seconds = [], 0.0

    def evaluate(it):
        loss = float(cross_entropy(y_tr, net(tf.constant(x_tr))))
        acc = float(np.mean(np.argmax(net(tf.constant(x_te)).numpy(), 1) == y_te))
        rows.append((it, seconds, loss, acc))

    evaluate(0)
    for it in range(1, iterations + 1):
        idx = order.integers(0, len(y_tr), batch)
        x, y = tf.constant(x_tr[idx]), tf.constant(y_tr[idx])
        t0 = time.perf_counter()
        step(x, y)
        if it > 1:
            seconds += time.perf_counter() - t0
        if it % eval_every == 0 or it == iterations:
            evaluate(it)
    return rows


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for name, rows in results.items():
        it, sec, loss = (np.array([r[k] for r in rows]) for k in range(3))
        axes[0].plot(it, loss, label=name)
        axes[1].plot(sec, loss, label=name)
    axes[0].set_xlabel("iteration")
    axes[1].set_xlabel("training seconds")
    axes[0].set_ylabel("training cross-entropy")
    for ax in axes:
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("digits (scikit-learn), batch of the same size for all")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=600)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval_every", type=int, default=10)
    p.add_argument("--optimizers", nargs="+", choices=OPTIMIZERS, default=list(OPTIMIZERS))
    p.add_argument("--grid", action="store_true",
                   help="also train each optimizer at every rate of GRID and write grid.csv")
    p.add_argument("--out", required=True, help="folder for results.csv, loss.png, command.txt")
    args = p.parse_args(argv)
    if args.iterations < 1 or args.batch < 1 or args.eval_every < 1:
        p.error("--iterations, --batch and --eval_every must be >= 1")
    os.makedirs(args.out, exist_ok=True)
    data = load_digits(args.seed)
    if args.grid:
        with open(os.path.join(args.out, "grid.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["optimizer", "learning_rate", "iterations", "train_loss", "test_accuracy"])
            for name in args.optimizers:
                for lr in GRID[name]:
                    it, _, loss, acc = train(name, args.iterations, args.batch, args.seed,
                                             args.iterations, data, lr)[-1]
                    w.writerow([name, lr, it, loss, acc])
                    print(f"grid {name:5s} lr {lr:g}: train loss {loss:.3g}", flush=True)
    results = {}
    for name in args.optimizers:
        results[name] = train(name, args.iterations, args.batch, args.seed, args.eval_every, data)
        it, sec, loss, acc = results[name][-1]
        print(f"{name:5s} lr {LEARNING_RATES[name]:g}: after {it} iterations ({sec:.1f} s) "
              f"train loss {loss:.3g}, test accuracy {acc:.3f}", flush=True)
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["optimizer", "iteration", "seconds", "train_loss", "test_accuracy"])
        for name, rows in results.items():
            w.writerows([name, *r] for r in rows)
    with open(os.path.join(args.out, "command.txt"), "w") as f:
        f.write("python examples/kfac_keras_digits.py " + " ".join(sys.argv[1:] if argv is None else argv) + "\n")
    plot(results, os.path.join(args.out, "loss.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
