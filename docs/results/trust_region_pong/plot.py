"""Draws trust_region.png from this folder's progress.csv (a run with --log_kl --log_interval 1)."""
import csv
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent


def main():
    rows = list(csv.DictReader(open(HERE / "progress.csv")))
    u = [int(r["nupdates"]) for r in rows]
    col = {k: [float(r[k]) for r in rows] for k in ("kl", "kl_bound", "trust_scale")}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.semilogy(u, col["kl"], lw=1, label="measured KL(π_old ‖ π_new) on the batch")
    top.semilogy(u, col["kl_bound"], "k--", lw=1, label="bound of the scaled step: clip_kl / 2")
    top.set_ylabel("KL")
    top.legend(loc="lower right", fontsize=8)
    scale = [s if not math.isnan(s) else float("nan") for s in col["trust_scale"]]
    bottom.plot(u, scale, lw=1, color="C1")
    bottom.axhline(1.0, color="k", lw=0.5)
    bottom.set_ylabel("min(1, sqrt(clip_kl / vFv))")
    bottom.set_xlabel("update")
    top.set_title("ACKTR on PongNoFrameskip-v4: the trust region at work (first updates)")
    fig.tight_layout()
    fig.savefig(HERE / "trust_region.png", dpi=110)


if __name__ == "__main__":
    main()
