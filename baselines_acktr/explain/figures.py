"""The teaching figures, drawn from numbers the code computes (``explain --figures DIR``).

Each ``*_data`` function returns the numbers one figure shows; :func:`write_all` draws
them (matplotlib, Agg) and writes all of them to ``DIR/figures.json``, which
``tests/test_teaching.py`` regenerates and compares with the committed
``docs/figures/figures.json``:

* ``toy_natural_gradient.png`` — :mod:`.toy`: plain gradient, exact natural gradient and
  K-FAC on a two-parameter Gaussian policy, in two parameterisations, with the KL trust
  region and each step's KL;
* ``fisher_block.png`` — the exact Fisher block of the explain network's first weight next
  to ``A ⊗ S`` and their difference, on the explained batch and on a batch of one
  repeated state (where the factorisation is exact);
* ``atari_blocks.png`` — the block-diagonal K-FAC layout of ACKTR's Atari network with its
  real sizes, against the size of the exact Fisher;
* ``conv_factors.png`` — a small conv layer's patch matrix and its two factors, as
  ``kfac/optimizer.py: KfacOptimizer.compute_stats`` forms them;
* ``trust_region_pong.png`` — the measured KL and the trust-region scale of the first
  150 updates of ACKTR on Pong (``docs/results/trust_region_pong/progress.csv``).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..common.policies import Policy
from ..kfac.layers import Capture, Conv2D
from ..kfac.optimizer import KfacOptimizer
from ..kfac.patches import extract
from . import toy

ROOT = Path(__file__).resolve().parents[2]
PONG = ROOT / "docs" / "results" / "trust_region_pong" / "progress.csv"
ATARI_OBS, ATARI_ACTIONS = (84, 84, 4), 6          # Pong's action count
BYTES = 4                                          # float32


def fisher_block_data(explain):
    """Section 7 of the explain run as matrices: exact block, ``A ⊗ S``, their ``A`` and ``S``;
    ``explain`` is :func:`.walkthrough.explain` (passed in: the walkthrough imports this module's caller)."""
    _, walk = explain(0, 4)
    out = {}
    for name, case in zip(("batch", "repeated"), walk.fisher):
        out[name] = {k: np.asarray(case[k]).tolist() for k in ("exact", "kfac", "a", "s")}
        out[name]["rel_diff"] = float(case["fisher"])
    out["layer"] = walk.names[walk.check_layer.indices[0]]
    return out


def atari_blocks_data(network="cnn"):
    """Every K-FAC block of ACKTR's Atari policy (the code's own blocks and factors)."""
    policy = Policy(list(ATARI_OBS), ("discrete", ATARI_ACTIONS), network=network, seed=0)
    capture = Capture()
    policy(tf.zeros((1, *ATARI_OBS)), capture)
    optim = KfacOptimizer()
    optim.build(policy.params, capture)
    blocks = []
    for blk in optim.blocks:
        a, g = blk.factors_of(blk.indices[0])
        var = optim.var_list[blk.indices[0]]
        blocks.append(dict(name=var.name.split(":")[0], params=int(np.prod(var.shape)),
                           a=int(a.dim) if a is not None else 0, g=int(g.dim) if g is not None else 0))
    n = sum(b["params"] for b in blocks)
    factor_entries = sum(f.dim ** 2 for f in optim.factors)
    return dict(network=network, blocks=blocks, params=n, exact_entries=float(n) ** 2,
                exact_bytes=float(n) ** 2 * BYTES, block_entries=sum(b["params"] ** 2 for b in blocks),
                factor_entries=int(factor_entries), factor_bytes=int(factor_entries) * BYTES)


def conv_factors_data(batch=2, size=6, kernel=3, filters=2, seed=0):
    """A ``kernel×kernel``, stride-1 conv on ``size×size×1`` inputs: its patch matrix ``P``,
    ``A`` and ``G`` from the optimizer, and ``A`` recomputed from ``P``."""
    rng = np.random.default_rng(seed)
    x = tf.constant(np.round(rng.normal(size=(batch, size, size, 1)), 1), tf.float32)
    layer = Conv2D("conv", rng.normal(size=(kernel, kernel, 1, filters)) * 0.3, np.zeros(filters), 1)
    capture = Capture()
    layer(x, capture)
    optim = KfacOptimizer()
    optim.build(layer.params, capture)
    noise = tf.constant(rng.normal(size=(batch, size - kernel + 1, size - kernel + 1, filters)), tf.float32)
    with tf.GradientTape() as tape:
        capture = Capture()
        z = layer(x, capture)
        outs = optim.factor_outputs(capture)
        tape.watch(outs)
        fisher_loss = tf.reduce_mean(tf.reduce_sum(z * noise, axis=[1, 2, 3]))  # a stand-in score
    a, g = (s.numpy() for s in optim.compute_stats(capture, tape.gradient(fisher_loss, outs)))
    positions = (size - kernel + 1) ** 2
    p = extract(x, (kernel, kernel), 1, "VALID").numpy().reshape(batch * positions, kernel * kernel)
    a_from_p = (p / positions).T @ (p / positions) / batch
    return dict(x=x.numpy()[0, :, :, 0].tolist(), patches=p[:positions].tolist(), a=a.tolist(), g=g.tolist(),
                positions=positions, a_from_patches_diff=float(np.max(np.abs(a - a_from_p))))


def trust_region_data(path=PONG):
    rows = list(csv.DictReader(open(path, encoding="utf-8")))

    def col(name):
        return [float(r[name]) if r[name] not in ("", "nan") else None for r in rows]
    kl, bound, scale = col("kl"), col("kl_bound"), col("trust_scale")
    kfac = [i for i, s in enumerate(scale) if s is not None]
    above = [int(rows[i]["nupdates"]) for i in kfac if kl[i] > bound[i]]
    cold_kl = [kl[i] for i in range(len(rows)) if scale[i] is None]
    return dict(update=[int(r["nupdates"]) for r in rows], kl=kl, bound=bound, scale=scale,
                first_kfac_update=int(rows[kfac[0]]["nupdates"]), kfac_updates=len(kfac),
                kfac_above_bound=above, cold_max_kl=max(cold_kl),
                cold_max_kl_update=int(rows[kl.index(max(cold_kl))]["nupdates"]),
                median_scale=float(np.median([scale[i] for i in kfac])))


# ------------------------------------------------------------------ drawing
def _heat(ax, m, title, lim=None):
    m = np.asarray(m)
    lim = lim or float(np.max(np.abs(m))) or 1.0
    im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def draw_toy(plt, d, out):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    paths, dists = {k: np.array(v) for k, v in d["paths"].items()}, {k: np.array(v) for k, v in d["dists"].items()}
    mu = np.linspace(-2.5, 3.0, 200)
    ax = axes[0]
    ls = np.linspace(-1.6, 1.2, 200)
    M, L = np.meshgrid(mu, ls)
    ax.contour(M, L, toy.objective(M, np.exp(L)), levels=25, cmap="Greys", linewidths=0.6)
    ax.plot(*paths["gd_log"].T, "o-", ms=3, color="tab:red", label="plain gradient")
    ax.plot(*paths["ng_log"].T, "-", lw=2, color="tab:blue", label="exact natural gradient")
    ax.plot(*paths["kfac_log"].T, "x", ms=6, color="black", label="K-FAC (KfacOptimizer)")
    t = np.linspace(0, 2 * np.pi, 100)
    mu0, s0 = toy.START
    r = math.sqrt(d["delta"] * 2)          # ½ΔᵀFΔ = δ with F = diag(1/σ², 2)
    ax.plot(mu0 + r * s0 * np.cos(t), math.log(s0) + r / math.sqrt(2) * np.sin(t), color="tab:green",
            label="KL trust region ½ΔθᵀFΔθ = δ")
    ax.set(xlabel="μ", ylabel="log σ", title="parameters (μ, log σ)")
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[1]
    sg = np.linspace(0.1, 3.0, 200)
    M, S = np.meshgrid(mu, sg)
    ax.contour(M, S, toy.objective(M, S), levels=25, cmap="Greys", linewidths=0.6)
    ax.plot(*dists["gd_std"].T, "o-", ms=3, color="tab:red", label="plain gradient in (μ, σ)")
    ax.plot(*dists["gd_log"].T, "o--", ms=3, color="tab:orange", label="plain gradient in (μ, log σ), mapped")
    ax.plot(*dists["ng_std"].T, "-", lw=2, color="tab:blue", label="natural gradient in (μ, σ)")
    ax.plot(*dists["ng_log"].T, "--", lw=2, color="tab:cyan", label="natural gradient in (μ, log σ), mapped")
    ax.set(xlabel="μ", ylabel="σ", title="the same distributions in (μ, σ)")
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[2]
    ax.semilogy(range(1, len(d["gd_step_kl"]) + 1), d["gd_step_kl"], "o-", ms=3, color="tab:red",
                label="plain gradient")
    ax.semilogy(range(1, len(d["ng_step_kl"]) + 1), d["ng_step_kl"], "o-", ms=3, color="tab:blue",
                label="natural gradient / K-FAC")
    ax.axhline(d["delta"], color="tab:green", label="δ = clip_kl / 2")
    ax.set(xlabel="step", ylabel="KL(π_old ‖ π_new)", title="KL of every step")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def draw_fisher(plt, d, out):
    fig, axes = plt.subplots(2, 3, figsize=(10, 6.6))
    for row, key, label in ((0, "batch", "8 different states"), (1, "repeated", "one state, repeated")):
        c = d[key]
        lim = float(np.max(np.abs(c["exact"])))
        _heat(axes[row, 0], c["exact"], f"exact Fisher block, {label}", lim)
        _heat(axes[row, 1], c["kfac"], "A ⊗ S (K-FAC)", lim)
        _heat(axes[row, 2], np.array(c["kfac"]) - np.array(c["exact"]),
              f"difference (relative {c['rel_diff']:.2g})", lim)
    fig.suptitle(f"{d['layer']} of the explain network (12 parameters): each 4×4 tile of A ⊗ S is A[i, j]·S",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def draw_blocks(plt, d, out):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    ax, start = axes[0], 0
    n = d["params"]
    for b in d["blocks"]:
        ax.add_patch(plt.Rectangle((start, n - start - b["params"]), b["params"], b["params"], alpha=0.6))
        start += b["params"]
    ax.set(xlim=(0, n), ylim=(0, n), aspect="equal", xticks=[], yticks=[],
           title=f"F̂: one block per variable, {n:,} parameters\n(fc1/w is {d['blocks'][6]['params']:,} of them)")
    ax = axes[1]
    names = [b["name"] for b in d["blocks"] if b["a"]]
    exact = [b["params"] ** 2 for b in d["blocks"] if b["a"]]
    kfac = [b["a"] ** 2 + b["g"] ** 2 for b in d["blocks"] if b["a"]]
    y = np.arange(len(names))
    ax.barh(y + 0.2, exact, 0.4, label="entries of the exact block (dim θ_ℓ)²", color="tab:red")
    ax.barh(y - 0.2, kfac, 0.4, label="entries of A and G", color="tab:blue")
    ax.set(xscale="log", yticks=y, yticklabels=[f"{m} (A {b['a']}, G {b['g']})" for m, b in
                                                 zip(names, [b for b in d["blocks"] if b["a"]])],
           title=f"exact Fisher {d['exact_bytes'] / 1e12:.1f} TB vs K-FAC factors "
                 f"{d['factor_bytes'] / 1e6:.0f} MB (float32)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def draw_conv(plt, d, out):
    fig, axes = plt.subplots(1, 4, figsize=(13, 4), gridspec_kw=dict(width_ratios=[1, 0.9, 1, 0.4]))
    _heat(axes[0], d["x"], "input (6×6, one channel, image 0)")
    _heat(axes[1], d["patches"], f"patch matrix P: {d['positions']} positions × 9")
    _heat(axes[2], d["a"], "A = (P/|T|)ᵀ(P/|T|)/B  (9×9)")
    _heat(axes[3], d["g"], "G (2×2)")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def draw_trust(plt, d, out):
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    kl = [k if k is not None else np.nan for k in d["kl"]]
    axes[0].semilogy(d["update"], kl, ".-", lw=0.8, label="measured KL of the update")
    axes[0].semilogy(d["update"], d["bound"], color="tab:green", label="bound clip_kl / 2 = δ")
    axes[0].axvline(d["first_kfac_update"], color="grey", ls=":", label="first K-FAC step (update 11)")
    axes[0].legend(fontsize=8)
    axes[0].set(ylabel="KL", title="ACKTR on Pong, first 150 updates (docs/results/trust_region_pong)")
    axes[1].plot(d["update"], [s if s is not None else np.nan for s in d["scale"]], ".-", lw=0.8)
    axes[1].set(xlabel="update", ylabel="min(1, sqrt(clip_kl / vFv))", ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(out, dpi=90)


FIGURES = (("toy_natural_gradient", toy.summary, draw_toy), ("fisher_block", fisher_block_data, draw_fisher),
           ("atari_blocks", atari_blocks_data, draw_blocks), ("conv_factors", conv_factors_data, draw_conv),
           ("trust_region_pong", trust_region_data, draw_trust))


def all_data(explain):
    return {name: data(explain) if name == "fisher_block" else data() for name, data, _ in FIGURES}


def write_all(folder, explain):
    """Draw every figure into ``folder`` and write ``figures.json``; returns the paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data, paths = all_data(explain), []
    for name, _, draw in FIGURES:
        draw(plt, data[name], folder / f"{name}.png")
        plt.close("all")
        paths.append(folder / f"{name}.png")
    (folder / "figures.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return [*paths, folder / "figures.json"]
