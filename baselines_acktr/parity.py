"""Replay reference steps recorded from baselines' TF1 ACKTR and compare.

Usage: ``python -m baselines_acktr.parity FILE.npz [FILE.npz ...] [--tol TOL]``

Each file (format: ``tests/data/parity/SEMANTICS.md`` §1 and §11) describes a
network in its ``meta``, its initial parameters ``init/*`` and, per step, the
inputs and what baselines produced: losses before the update, parameters (or
their sum and norm) after it, factor statistics and counters.  The replay
builds the same network with this package's
:class:`~baselines_acktr.common.policies.Policy`, :class:`~baselines_acktr.acktr.acktr.Model`
and :class:`~baselines_acktr.kfac.KfacOptimizer`, feeds the recorded inputs (the recorded
Fisher noise and learning rate included) and reports the worst relative error per step.
Exit status 1 if any error exceeds ``--tol``.
"""
import argparse
import json
import sys

import numpy as np

ABS_FLOOR = 1e-7  # near-zero tensors: compare against max(|ref|) floored here


def rel_err(ours, ref):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        raise ValueError(f"shape mismatch: ours {ours.shape} vs reference {ref.shape}")
    return float(np.max(np.abs(ours - ref)) / max(np.max(np.abs(ref)), ABS_FLOOR))


def build_model(meta, deterministic_async=False):
    """Policy + Model as the vector file's ``meta`` describes them.

    ``deterministic_async=True`` runs the decompositions on the background
    thread, waiting for each one (must equal the synchronous path)."""
    from .acktr.acktr import Model
    from .common.policies import Policy

    kind = meta["kind"]
    action = ("box", meta["nact"]) if kind == "mlp" else ("discrete", meta["nact"])
    common = dict(value_network="copy" if meta.get("copy_vf") else "shared",
                  biasadd=bool(meta.get("biasadd", False)), seed=int(meta.get("seed", 0)))
    if kind == "cnn":
        policy = Policy(meta["obs"], action, network="cnn", convs=[tuple(c) for c in meta["convs"]],
                        fc=meta["fc"], **common)
    elif kind in ("mlp", "mlpcat"):
        policy = Policy(meta["obs"], action, network="mlp", hidden=meta["hidden"], **common)
    else:
        raise ValueError(f"unknown meta kind {kind!r}")
    kopts = dict(meta.get("kfac_options", {}))
    kfac_clip = kopts.pop("clip_kl", meta.get("kfac_clip", 0.001))
    max_grad_norm = kopts.pop("max_grad_norm", meta.get("max_grad_norm", 0.5))
    model = Model(policy, nenvs=meta["nbatch"], nsteps=1, total_timesteps=10 ** 9,
                  ent_coef=meta.get("ent_coef", 0.01), vf_coef=meta.get("vf_coef", 0.5),
                  vf_fisher_coef=meta.get("vf_fisher_coef", 1.0), lr=meta.get("lr", 0.25),
                  max_grad_norm=max_grad_norm, kfac_clip=kfac_clip,
                  is_async=deterministic_async or bool(meta.get("async_", False)),
                  kfac_options=kopts, seed=int(meta.get("seed", 0)),
                  deterministic_async=deterministic_async)
    return model


def replay(path, log=print, deterministic_async=False):
    """Replay one file; returns a dict of the worst errors (params, stats, losses, counters).

    With ``deterministic_async`` the eigen thread is used (waiting every step);
    ``cold_step`` then follows baselines' async counting and is not compared.
    """
    data = np.load(path, allow_pickle=False)
    meta = json.loads(str(data["meta"]))
    names = [str(n) for n in data["names"]]
    model = build_model(meta, deterministic_async=deterministic_async)
    try:
        return _replay(path, data, meta, names, model, log, deterministic_async)
    finally:
        model.close()


def _replay(path, data, meta, names, model, log, deterministic_async):
    by_name = {v.name.split(":")[0]: v for v in model.params}
    missing = [n for n in names if n not in by_name]
    if missing or len(names) != len(model.params):
        raise ValueError(f"{path}: network variables {sorted(by_name)} do not match names {names}")
    for n in names:
        by_name[n].assign(data[f"init/{n}"])
    optim = model.optim
    worst = dict(param=0.0, stats=0.0, loss=0.0, counters=0.0)
    for t in range(int(meta["steps"])):
        p = f"step{t:02d}/"
        losses = model.train_on_batch(data[p + "obs"], data[p + "act"], data[p + "adv"],
                                      data[p + "ret"], float(data[p + "lr"]),
                                      noise=data[p + "noise"])
        e_loss = rel_err(losses, data[p + "losses"])
        e_param = 0.0
        for n in names:
            ours = by_name[n].numpy()
            if p + "param/" + n in data:
                e_param = max(e_param, rel_err(ours, data[p + "param/" + n]))
            elif p + "paramsum/" + n in data:
                o64 = ours.astype(np.float64)
                summary = [o64.sum(), np.sqrt((o64 ** 2).sum())]
                e_param = max(e_param, rel_err(summary, data[p + "paramsum/" + n]))
        e_stats = 0.0
        for n in names:
            a, g = optim.factors_of(by_name[n])
            for key, var in (("fprop0", a), ("bprop0", g)):
                k = f"{p}stats/{n}/{key}"
                if k in data:
                    if var is None:
                        raise ValueError(f"{path}: reference has {k} but our {n} has no such factor")
                    e_stats = max(e_stats, rel_err(var.numpy(), data[k]))
        ours_c = optim.counters()
        ref_c = data[p + "counters"]
        compared = [0, 1, 3, 4] if deterministic_async else [0, 1, 2, 3, 4]
        if [int(ours_c[i]) for i in compared] != [int(ref_c[i]) for i in compared]:
            raise AssertionError(f"{path} step {t}: counters {ours_c[:5]} != reference {list(ref_c[:5])}")
        e_cnt = rel_err(ours_c[5], ref_c[5])
        log(f"  step {t:2d}: param {e_param:.2e}  stats {e_stats:.2e}  loss {e_loss:.2e}  "
            f"vFv {e_cnt:.2e}  counters {list(map(int, ours_c[:5]))}")
        worst["param"] = max(worst["param"], e_param)
        worst["stats"] = max(worst["stats"], e_stats)
        worst["loss"] = max(worst["loss"], e_loss)
        worst["counters"] = max(worst["counters"], e_cnt)
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m baselines_acktr.parity", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="reference vector files (.npz)")
    ap.add_argument("--tol", type=float, default=1e-4, help="relative tolerance (default 1e-4)")
    ap.add_argument("--async-deterministic", action="store_true",
                    help="decompose on the background eigen thread, waiting every step")
    args = ap.parse_args(argv)
    if args.tol <= 0:
        ap.error("--tol must be > 0")
    total = dict(param=0.0, stats=0.0, loss=0.0, counters=0.0)
    failed = []
    for f in args.files:
        print(f"{f}:")
        try:
            w = replay(f, deterministic_async=args.async_deterministic)
        except (OSError, ValueError, KeyError, AssertionError) as exc:
            print(f"  FAILED: {exc}")
            failed.append(f)
            continue
        print(f"  worst: param {w['param']:.2e}  stats {w['stats']:.2e}  loss {w['loss']:.2e}  "
              f"vFv {w['counters']:.2e}")
        if max(w.values()) > args.tol:
            failed.append(f)
        for k in total:
            total[k] = max(total[k], w[k])
    print(f"parity: {len(args.files)} files, worst param rel err {total['param']:.2e}, "
          f"worst stats rel err {total['stats']:.2e}, worst loss rel err {total['loss']:.2e}"
          + (f" ({len(failed)} failed: {', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
