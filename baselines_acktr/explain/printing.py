"""Constants, number formatting and batch helpers of the worked update."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..acktr.acktr import KFAC_DEFAULTS

NBATCH, NOBS, NACT = 8, 3, 3
LR = 0.25                                 # Model's lr, held constant here
MAX_HIDDEN = 5                            # keeps every matrix small enough to print
WARMUP = KFAC_DEFAULTS["cold_iter"] + 1   # updates k = 0..10 before the one explained
DIGITS = 4                                # decimals of printed matrices
AGREE_TOL = 1e-4                          # relative; "must agree" comparisons
COUNTER_NAMES = "[sgd_step, global_step, cold_step, factor_step, stats_step]"


# ------------------------------------------------------------------ formatting
def rows(x, digits=DIGITS):
    """Lines of a matrix (a vector is one row) at fixed precision, without ``-0``."""
    x = np.atleast_2d(np.round(np.asarray(x, np.float64), digits) + 0.0)
    cells = [[f"{v: .{digits}f}" for v in r] for r in x]
    width = max(len(c) for r in cells for c in r)
    return [" ".join(c.rjust(width) for c in r) for r in cells]


def side_by_side(blocks, indent="    ", gap="   "):
    """``[(title, lines), ...]`` printed next to each other."""
    widths = [max(len(t), *(len(r) for r in lines)) for t, lines in blocks]
    height = max(len(lines) for _, lines in blocks)
    out = [indent + gap.join(t.ljust(w) for (t, _), w in zip(blocks, widths)).rstrip()]
    for k in range(height):
        cells = [(lines[k] if k < len(lines) else "").ljust(w) for (_, lines), w in zip(blocks, widths)]
        out.append(indent + gap.join(cells).rstrip())
    return out


def num(x):
    """A scalar to 4 significant digits."""
    return f"{float(x) + 0.0:#.4g}".rstrip(".")


def below(x, tol):
    """``'< tol'`` when ``x`` is below the tolerance (the digits below it depend on
    float rounding only), else ``'= x'`` to 2 digits."""
    return f"< {tol:.0e}" if x < tol else f"= {x:.2g}"


def rel(a, b):
    """``‖a − b‖ / ‖b‖`` (Frobenius)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def signed(q):
    """Eigenvector columns with their largest entry positive: ``eigh`` fixes no sign, and
    ``Q·f(e)·Qᵀ`` does not depend on it."""
    q = np.asarray(q, np.float64)
    top = q[np.argmax(np.abs(q), axis=0), np.arange(q.shape[1])]
    return q * np.where(top < 0, -1.0, 1.0)


# ------------------------------------------------------------------ the run
def new_batch(model, rng, obs=None):
    """``(obs, actions, advs, returns, noise)``: actions drawn from the current policy
    (what makes the Fisher loss a sampled one), the rest made up; values rounded to
    2 decimals so that the printed batch is the batch used."""
    if obs is None:
        obs = np.round(rng.normal(size=(NBATCH, NOBS)), 2).astype(np.float32)
    pd, _ = model.policy(tf.constant(obs))
    cdf = np.cumsum(tf.nn.softmax(pd.logits).numpy().astype(np.float64), axis=1)
    act = np.minimum((rng.random(NBATCH)[:, None] > cdf).sum(axis=1), NACT - 1).astype(np.int32)
    adv, ret, noise = (np.round(rng.normal(size=NBATCH), 2).astype(np.float32) for _ in range(3))
    return obs, act, adv, ret, noise


def tensors(batch):
    obs, act, adv, ret, noise = batch
    return (tf.constant(obs), tf.constant(act), tf.constant(adv), tf.constant(ret),
            tf.constant(noise))


def snapshot(model):
    """Parameters and optimizer state as numpy arrays."""
    o = model.optim
    return dict(params=[p.numpy() for p in model.params],
                stats=[f.cov.numpy() for f in o.factors], e=[f.e.numpy() for f in o.factors],
                Q=[f.Q.numpy() for f in o.factors], mom=[m.numpy() for m in o.kfac_momentum],
                cold=[m.numpy() for m in o.cold_momentum], counters=o.counters())
