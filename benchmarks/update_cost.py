"""What one ACKTR update costs next to one A2C update, measured in one process.

Times, interleaved in blocks of consecutive updates per kind and round
(``--block``; ``--async_block`` for the async ACKTR, so that the eigen thread
competes with the training steps that follow it, as in a real run): (a) an A2C
update, (b) an ACKTR update with synchronous eigen-decompositions, (c) an ACKTR
update with the background eigen thread — on the nature CNN with a 32×20 = 640
Atari batch and on the MuJoCo MLP (2×64 tanh, copy value network, Gaussian
head) with a 2500 batch.  ACKTR models are first run past the cold phase
(cold_iter = 10) so that every timed update preconditions.  Before each A2C and
synchronous block the eigen thread is let finish the decomposition it is doing,
so that only the async ACKTR updates pay for sharing the CPU with it (as in
real runs); the decompositions counted as delivered are those that started and
finished inside an async block.  Prints medians and ratios; the last line is
``ratio acktr_async/a2c atari=X mujoco=Y network=N``.

``--network cnn cnn_paper`` picks the Atari network(s): ``cnn`` is master's nature
CNN (the default), ``cnn_paper`` the ACKTR paper's CNN of baselines 3f676f7 (third
conv 32 filters, so fc1's K-FAC input factor is 1568² instead of 3136²).  Given
several, the Atari setup is measured once per network, one after the other in the
same process (MuJoCo, always the MLP, once); every printed result line ends with
``network=…`` (``mlp`` on the MuJoCo lines), and there is one ``ratio`` line per
Atari network.

With ``--num_env 16 32 64 128`` it measures the Atari setup at each batch size
(``num_env`` × 20 steps) instead, one line per size
``update_cost num_env=N batch=B a2c_ms=… acktr_sync_ms=… acktr_async_ms=… network=…``,
and ``--plot`` draws per-update cost against batch size.  Prints the device it runs
on; runs unchanged where TensorFlow sees a GPU.

    python benchmarks/update_cost.py [--rounds N] [--only atari|mujoco] [--network cnn cnn_paper]
    python benchmarks/update_cost.py --num_env 16 32 64 128 [--network ...] [--plot cost.png]
"""
import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _device import device_line  # noqa: E402  (benchmarks/_device.py)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from baselines_acktr.a2c import A2CModel  # noqa: E402
from baselines_acktr.acktr import Model  # noqa: E402
from baselines_acktr.common.policies import CNN_NETWORKS, Policy  # noqa: E402

# policy(network) builds a fresh policy; the Atari setup takes the CNN's name
# (policies.NETWORKS), the MuJoCo one always builds its MLP and reports "mlp".
SETUPS = {
    "atari": dict(policy=lambda network: Policy((84, 84, 4), ("discrete", 6), network=network,
                                                seed=0),
                  nenvs=32, nsteps=20),
    "mujoco": dict(policy=lambda network: Policy((11,), ("box", 3), network="mlp",
                                                 hidden=(64, 64), value_network="copy", seed=0),
                   nenvs=1, nsteps=2500),
}


def network_of(name, network):
    """The network the setup ``name`` actually measures for ``--network network``."""
    return network if name == "atari" else "mlp"


def random_batch(policy, nbatch, rng):
    if policy.obs_dtype == tf.uint8:
        obs = rng.integers(0, 256, (nbatch, *policy.obs_shape), dtype=np.uint8)
    else:
        obs = rng.normal(size=(nbatch, *policy.obs_shape)).astype(np.float32)
    if policy.action_kind == "discrete":
        act = rng.integers(0, policy.nact, nbatch).astype(np.int32)
    else:
        act = rng.normal(size=(nbatch, policy.nact)).astype(np.float32)
    adv = rng.normal(size=nbatch).astype(np.float32)
    ret = rng.normal(size=nbatch).astype(np.float32)
    return obs, act, adv, ret


def timed(model, batch, lr):
    t0 = time.perf_counter()
    model.train_on_batch(*batch, lr)
    return time.perf_counter() - t0


def run(name, rounds, warmup, block, async_block, eigen_nice=0, stats_subsample=1,
        blas_threads="auto", sync=True, nenvs=None, network="cnn", eigen_backend="auto"):
    cfg = dict(SETUPS[name])
    if nenvs is not None:
        cfg["nenvs"] = nenvs
    net = network_of(name, network)
    rng = np.random.default_rng(0)
    kfac = dict(stats_subsample=stats_subsample)
    kinds = {
        "a2c": A2CModel(cfg["policy"](net), cfg["nenvs"], 10 ** 9, nsteps=cfg["nsteps"]),
        "acktr_sync": Model(cfg["policy"](net), cfg["nenvs"], 10 ** 9, nsteps=cfg["nsteps"],
                            is_async=False, kfac_options=kfac),
        "acktr_async": Model(cfg["policy"](net), cfg["nenvs"], 10 ** 9, nsteps=cfg["nsteps"],
                             is_async=True, eigen_nice=eigen_nice, kfac_options=kfac,
                             eigen_blas_threads=blas_threads, eigen_backend=eigen_backend),
    }
    if not sync:
        del kinds["acktr_sync"]
    nbatch = cfg["nenvs"] * cfg["nsteps"]
    batches = [random_batch(kinds["a2c"].policy, nbatch, rng) for _ in range(4)]
    lr = {"a2c": 7e-4, "acktr_sync": 0.25, "acktr_async": 0.25}
    try:
        for kind, model in kinds.items():  # past tracing and the cold phase
            for i in range(warmup):
                model.train_on_batch(*batches[i % 4], lr[kind])
        times = {k: [] for k in kinds}
        fresh = 0  # decompositions submitted and finished inside the timed async blocks
        factor_step = kinds["acktr_async"].optim.factor_step
        for r in range(rounds):
            for kind, model in kinds.items():
                if kind != "acktr_async":
                    kinds["acktr_async"].optim.wait_async_idle()
                n = async_block if kind == "acktr_async" else block
                for i in range(n):
                    before = int(factor_step.numpy())
                    times[kind].append(timed(model, batches[(r + i) % 4], lr[kind]))
                    # the first update of a block may install work finished while the
                    # other kinds ran; later installs were decomposed inside the block
                    if kind == "acktr_async" and i > 0:
                        fresh += int(factor_step.numpy()) - before
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{name:6s} batch {nbatch} ({cfg['nenvs']} envs x {cfg['nsteps']} steps) "
              f"network={net}")
        for k, v in times.items():
            print(f"{name:6s} {k:12s} median {med[k] * 1e3:9.1f} ms   "
                  f"(min {min(v) * 1e3:.1f}, max {max(v) * 1e3:.1f}, n={len(v)}) network={net}")
        steps = rounds * (async_block - 1)
        print(f"{name:6s} async: {fresh} decompositions delivered within {steps} timed updates "
              f"(each block's first update excluded)"
              + (f": one per {steps / fresh:.1f} updates" if fresh else "") + f" network={net}")
        return med
    finally:
        for model in kinds.values():
            model.close()


def plot(rows, path):
    """Per-update cost (ms, median) against the batch size, one line per kind (and
    network, when rows hold more than one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    labels = {"a2c": "A2C", "acktr_sync": "ACKTR, synchronous eigens",
              "acktr_async": "ACKTR, async eigen thread"}
    networks = list(dict.fromkeys(r["network"] for r in rows))
    for network in networks:
        for kind, label in labels.items():
            pts = [(r["batch"], r[kind] * 1e3) for r in rows
                   if kind in r and r["network"] == network]
            if pts:
                ax.plot(*zip(*pts), marker="o",
                        label=label if len(networks) == 1 else f"{label} ({network})")
    batches = sorted({r["batch"] for r in rows})
    ax.set_xscale("log", base=2)
    ax.set_xticks(batches, [str(b) for b in batches])
    ax.set_xlabel(f"batch size (num_env x 20 steps), {', '.join(networks)}")
    ax.set_ylabel("ms per update (median)")
    ax.set_title("benchmarks/update_cost.py")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--block", type=int, default=6)
    ap.add_argument("--async_block", type=int, default=12,
                    help="consecutive async ACKTR updates per round (default 12)")
    ap.add_argument("--warmup", type=int, default=12)
    ap.add_argument("--only", choices=sorted(SETUPS))
    ap.add_argument("--eigen_backend", choices=["auto", "numpy", "tf", "process"], default="auto",
                    help="the async ACKTR's eigen backend (process: kfac/eigen_process.py)")
    ap.add_argument("--eigen_nice", type=int, default=0,
                    help="nice value of the async eigen thread (Linux; default 0)")
    ap.add_argument("--stats_subsample", type=int, default=1,
                    help="K-FAC statistics from every k-th sample (opt-in speed option; "
                         "default 1 = faithful)")
    ap.add_argument("--eigen_blas_threads", default="auto",
                    help="BLAS threads of the thread's numpy decompositions: auto (half the "
                         "CPUs), none (numpy's own setting) or a number")
    ap.add_argument("--no_sync", action="store_true",
                    help="skip the synchronous ACKTR (quicker comparisons of async settings)")
    ap.add_argument("--num_env", type=int, nargs="+",
                    help="Atari batch sizes to scan (num_env x 20 steps each), e.g. 16 32 64 128")
    ap.add_argument("--plot", help="with --num_env: a PNG of ms per update against batch size")
    ap.add_argument("--network", nargs="+", choices=CNN_NETWORKS, default=["cnn"],
                    help="Atari network(s), measured one after the other: cnn (master's "
                         "nature CNN, default) and/or cnn_paper (the ACKTR paper's CNN, "
                         "baselines 3f676f7)")
    args = ap.parse_args()
    args.network = list(dict.fromkeys(args.network))  # each network once
    blas = {"auto": "auto", "none": None}.get(args.eigen_blas_threads)
    if blas is None and args.eigen_blas_threads != "none":
        blas = int(args.eigen_blas_threads)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"TensorFlow {tf.__version__}, numpy {np.__version__}, eigen thread nice "
          f"{args.eigen_nice}, its BLAS threads {args.eigen_blas_threads}, eigen backend "
          f"{args.eigen_backend}, "
          f"stats_subsample {args.stats_subsample}, atari network "
          f"{' '.join(args.network)}")
    print(device_line(), flush=True)
    if args.num_env:
        rows = []
        for network in args.network:
            for n in args.num_env:
                med = run("atari", args.rounds, args.warmup, args.block, args.async_block,
                          args.eigen_nice, args.stats_subsample, blas, sync=not args.no_sync,
                          nenvs=n, network=network, eigen_backend=args.eigen_backend)
                rows.append(dict(med, num_env=n, batch=n * SETUPS["atari"]["nsteps"],
                                 network=network))
        for r in rows:
            print(f"update_cost num_env={r['num_env']} batch={r['batch']} "
                  + " ".join(f"{k}_ms={r[k] * 1e3:.1f}" for k in
                             ("a2c", "acktr_sync", "acktr_async") if k in r)
                  + f" network={r['network']}", flush=True)
        if args.plot:
            plot(rows, args.plot)
        return
    ratios = {}  # (setup, network measured) -> acktr_async / a2c
    for name in ([args.only] if args.only else ["atari", "mujoco"]):
        for net in dict.fromkeys(network_of(name, n) for n in args.network):
            med = run(name, args.rounds, args.warmup, args.block, args.async_block,
                      args.eigen_nice, args.stats_subsample, blas, sync=not args.no_sync,
                      network=net, eigen_backend=args.eigen_backend)
            ratios[name, net] = med["acktr_async"] / med["a2c"]
            sync_ratio = (f"acktr_sync/a2c {med['acktr_sync'] / med['a2c']:.2f}  "
                          if "acktr_sync" in med else "")
            print(f"{name:6s} ratios: {sync_ratio}acktr_async/a2c {ratios[name, net]:.2f} "
                  f"network={net}")
    # one line per Atari network (the MuJoCo MLP's ratio repeated on each)
    for network in (args.network if args.only != "mujoco" else ["mlp"]):
        parts = [f"{name}={r:.2f}" for (name, net), r in ratios.items()
                 if name == "mujoco" or net == network]
        print("ratio acktr_async/a2c " + " ".join(parts) + f" network={network}")


if __name__ == "__main__":
    main()
