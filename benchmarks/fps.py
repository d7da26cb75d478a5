"""Atari throughput per env backend, number of envs and eigen backend: env only,
acting, end to end; and how fresh the preconditioner is.

    python benchmarks/fps.py [--env PongNoFrameskip-v4] [--backend gym ale_vector]
                             [--num_env 16 32 64 128] [--eigen_backend auto process]
                             [--repeat 2] [--updates 30] [--plot fps.png]

For each backend (``gym``: baselines' wrappers in one subprocess per env, the
default; ``ale_vector``: ale-py's C++ AtariVectorEnv), each number of envs and
each eigen backend (``auto``: the eigen thread, the default; ``process``: the
eigen process, ``kfac/eigen_process.py``): (1) env only: the vector env stepped
with random actions, 20 steps per "update"; (2) acting: (1) plus the policy's
forward pass choosing the actions; (3) end to end: runner + ACKTR update (async
eigens), as run_atari.py.  Each reports timesteps/s (median over updates after a
warm-up); (3) also the decompositions installed per update and the median and
maximum eigen age (updates between the statistics the applied eigens came from
and the update applying them; :class:`baselines_acktr.kfac.async_eigen.EigenAge`)
over the timed updates, and the CPU seconds per timed update spent by the eigen worker
(``eigen_cpu_per_update``: the eigen thread's or the eigen process's) and by the rest of
the learner's process (``train_cpu_per_update``: training, acting and, with
``ale_vector``, the envs; ``gym``'s env processes are not counted).  Every configuration
runs in a process of its own, whose peak resident memory (``rss_mb``) is its alone; with
``--repeat R`` the eigen backends alternate (A B A B …) and each figure is the median over the R runs.
The last lines, one per configuration, are ``fps backend=B num_env=N
eigen_backend=E env_only=… acting=… end_to_end=… decompositions_per_update=…
eigen_age_median=… eigen_age_max=… train_cpu_per_update=…
eigen_cpu_per_update=… rss_mb=…``.  Prints the device TensorFlow runs
on; runs unchanged where it sees a GPU.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _device import device_line  # noqa: E402  (benchmarks/_device.py)


def rss_mb():
    """This process's peak resident memory (MB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid="self", tid=None):
    """User + system CPU seconds of a process (or of one of its threads) from /proc."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        with open(path) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def eigen_cpu_seconds(model):
    """CPU seconds of the eigen worker so far: the eigen thread's own, or the eigen
    process's (the thread's ``tf.linalg.eigh`` of the small factors runs on TensorFlow's
    threads and counts as training)."""
    worker = model.optim.eigen_worker
    if worker.kind == "process":
        return cpu_seconds(worker.pid)
    return cpu_seconds("self", worker._thread.native_id)


def make_env(backend, env_id, num_env):
    from baselines_acktr.envs import make_ale_vector_env, make_atari_env

    if backend == "ale_vector":
        return make_ale_vector_env(env_id, num_env, seed=0)
    return make_atari_env(env_id, num_env, seed=0)


def measure(args, backend, num_env, eigen_backend):
    """``{'env_only', 'acting', 'end_to_end', …, 'rss_mb'}`` for one configuration."""
    from baselines_acktr.acktr import Model
    from baselines_acktr.common.policies import Policy
    from baselines_acktr.common.runner import Runner

    env = make_env(backend, args.env, num_env)
    nbatch = num_env * args.nsteps
    results = {}
    model = None
    try:
        obs = env.reset(seed=0)[0]
        policy = Policy(env.single_observation_space.shape,
                        ("discrete", int(env.single_action_space.n)), network="cnn")
        model = Model(policy, num_env, 10 ** 9, nsteps=args.nsteps, eigen_nice=args.eigen_nice,
                      eigen_backend=eigen_backend)
        state = {"obs": obs}

        def env_only():
            for _ in range(args.nsteps):
                env.step(env.action_space.sample())

        def acting():
            obs = state["obs"]
            for _ in range(args.nsteps):
                obs = env.step(model.step(obs)[0])[0]
            state["obs"] = obs

        runner = Runner(env, model, nsteps=args.nsteps, gamma=0.99, seed=0)

        def end_to_end():
            obs, states, rewards, masks, actions, values, _ = runner.run()
            model.train(obs, states, rewards, masks, actions, values)

        kinds = {"env_only": env_only, "acting": acting, "end_to_end": end_to_end}
        for name, fn in kinds.items():
            if args.only and name != args.only:
                continue
            skip = args.warmup if name == "end_to_end" else 2
            times = []
            for k in range(args.updates + skip):
                if k == skip and name == "end_to_end":
                    model.optim.eigen_age.summary()  # count the timed updates only
                    cpu0 = cpu_seconds(), eigen_cpu_seconds(model)
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            results[name] = nbatch / statistics.median(times[skip:])
            print(f"  {backend:10s} {num_env:4d} envs {eigen_backend:8s} {name:10s} "
                  f"{results[name]:8.0f} timesteps/s  (median of {args.updates} batches of "
                  f"{nbatch})", flush=True)
            if name == "end_to_end":
                age = model.optim.eigen_age.summary()
                results["decompositions_per_update"] = age["decompositions"] / args.updates
                results["eigen_age_median"] = age.get("eigen_age_median", float("nan"))
                results["eigen_age_max"] = age.get("eigen_age_max", float("nan"))
                eigen = eigen_cpu_seconds(model) - cpu0[1]
                learner = cpu_seconds() - cpu0[0]
                if model.optim.eigen_worker.kind != "process":
                    learner -= eigen  # the thread is part of the learner's process
                results["train_cpu_per_update"] = learner / args.updates
                results["eigen_cpu_per_update"] = eigen / args.updates
        results["rss_mb"] = rss_mb()
    finally:
        if model is not None:
            model.close()
        env.close()
    return results


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for backend in sorted({b for b, _, _ in rows}):
        for kind, style in (("env_only", "--"), ("end_to_end", "-")):
            pts = [(n, r[kind]) for b, n, r in rows if b == backend and kind in r]
            if pts:
                ax.plot(*zip(*pts), style, marker="o", label=f"{backend} {kind.replace('_', ' ')}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("number of envs (batch = envs × 20 steps)")
    ax.set_ylabel("timesteps / s")
    ax.set_title("Pong, ACKTR, this machine")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


KEYS = ("env_only", "acting", "end_to_end", "decompositions_per_update", "eigen_age_median",
        "eigen_age_max", "train_cpu_per_update", "eigen_cpu_per_update", "rss_mb")


def in_own_process(config):
    """``measure`` of one configuration in a fresh process (its memory is its own)."""
    out = subprocess.run([sys.executable, __file__, "--one", json.dumps(config)],
                         stdout=subprocess.PIPE, text=True, check=True)
    lines = out.stdout.splitlines()
    for line in lines:
        if not line.startswith("RESULT "):
            print(line, flush=True)
    return json.loads(next(ln for ln in lines if ln.startswith("RESULT "))[len("RESULT "):])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default="PongNoFrameskip-v4")
    ap.add_argument("--backend", nargs="+", choices=["gym", "ale_vector"],
                    default=["gym", "ale_vector"])
    ap.add_argument("--num_env", type=int, nargs="+", default=[32])
    ap.add_argument("--eigen_backend", nargs="+", choices=["auto", "numpy", "tf", "process"],
                    default=["auto"])
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per configuration, eigen backends alternating (A B A B ...)")
    ap.add_argument("--nsteps", type=int, default=20)
    ap.add_argument("--updates", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=12)
    ap.add_argument("--only", choices=["env_only", "acting", "end_to_end"])
    ap.add_argument("--eigen_nice", type=int, default=0,
                    help="nice value of the eigen thread (Linux; 0 = as training)")
    ap.add_argument("--plot", help="write a PNG of timesteps/s against the number of envs")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: one configuration, JSON
    args = ap.parse_args()
    if args.one:
        config = json.loads(args.one)
        vars(args).update(config["args"])
        result = measure(args, config["backend"], config["num_env"], config["eigen_backend"])
        print("RESULT " + json.dumps(result), flush=True)
        return
    print(device_line(), flush=True)
    common = {k: getattr(args, k) for k in ("env", "nsteps", "updates", "warmup", "only",
                                            "eigen_nice")}
    runs = {}
    for b in args.backend:
        for n in args.num_env:
            for _ in range(args.repeat):
                for e in args.eigen_backend:
                    config = dict(backend=b, num_env=n, eigen_backend=e, args=common)
                    runs.setdefault((b, n, e), []).append(in_own_process(config))
    rows = [(b, n, e, {k: statistics.median(r[k] for r in results) for k in KEYS
                       if k in results[0]}) for (b, n, e), results in runs.items()]
    if args.plot:
        plot([(f"{b} {e}" if len(args.eigen_backend) > 1 else b, n, r) for b, n, e, r in rows],
             args.plot)
    for backend, n, e, r in rows:
        fields = " ".join(f"{k}={r[k]:.0f}" if k in ("env_only", "acting", "end_to_end", "rss_mb")
                          else f"{k}={r[k]:.3g}"
                          for k in KEYS if k in r)
        print(f"fps backend={backend} num_env={n} eigen_backend={e} {fields}")


if __name__ == "__main__":
    main()
