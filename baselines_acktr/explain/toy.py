"""Natural gradient you can see: a two-parameter Gaussian policy on a one-armed bandit.

The policy plays ``x ~ N(μ, σ²)`` and is paid ``r(x) = −(x − X_STAR)²``; with an entropy
bonus ``β·log σ`` the objective is, in closed form,

    J(μ, σ) = −(μ − X_STAR)² − σ² + β·log σ          (maximum at μ = X_STAR, σ² = β/2)

and the loss is ``−J``.  Three optimisers walk from the same start:

* plain gradient descent, ``θ ← θ − lr_gd·∇loss``;
* the exact natural gradient, ``u₀ = F⁻¹∇loss`` with the Gaussian's Fisher, scaled by
  baselines' trust region ``u = min(1, sqrt(clip_kl / vFv))·u₀``, ``vFv = lr²·u₀ᵀ∇loss``,
  then ``θ ← θ − lr·u``;
* K-FAC: the same step with ``u`` from this project's ``kfac/optimizer.py: KfacOptimizer``
  (its ``update_stats``, ``update_factors`` and ``precondition``; momentum and the cold
  start are left out, so the toy applies ``θ ← θ − lr·u`` itself).

The mean is a ``kfac/layers.py: Dense`` layer on the constant input ``a = 1`` (its bias is
held at 0), the log-std a ``kfac/layers.py: LogStd``.  With one input for every sample,
``A = 1`` and the Kronecker factorisation is exact.  The Fisher statistics are taken on a
fixed batch of noise values ``ε ∈ {−√3, 0, 0, 0, 0, √3}``, whose moments up to the fourth
are the normal distribution's, so the sampled factors equal the exact Fisher
``diag(1/σ², 2)`` of ``(μ, log σ)``: the K-FAC path is the exact natural-gradient path.

The same model written with ``(μ, σ)`` instead of ``(μ, log σ)`` has the Fisher
``diag(1/σ², 2/σ²)``.  Natural-gradient steps there visit nearly the same distributions
(the same to first order in the step); plain gradient steps do not.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ..kfac.layers import Capture, Dense, LogStd
from ..kfac.optimizer import KfacOptimizer

X_STAR, BETA = 2.0, 0.5
START = (-1.5, 2.0)                  # (μ, σ)
LR, CLIP_KL = 0.5, 0.02              # η_max and clip_kl = 2δ of the natural-gradient steps
LR_GD = 0.05                         # plain gradient descent
STEPS = 30
DAMPING = 1e-8                       # ε of both natural-gradient steps (negligible)
NOISE = np.array([-math.sqrt(3.0), 0.0, 0.0, 0.0, 0.0, math.sqrt(3.0)])


def objective(mu, sigma):
    """``J(μ, σ)`` (elementwise)."""
    return -(mu - X_STAR) ** 2 - sigma ** 2 + BETA * np.log(sigma)


def grad_loss(mu, sigma, coords):
    """``∇(−J)`` in ``coords``: ``'log'`` for ``(μ, log σ)``, ``'std'`` for ``(μ, σ)``."""
    g_mu = 2.0 * (mu - X_STAR)
    if coords == "log":
        return np.array([g_mu, 2.0 * sigma ** 2 - BETA])
    return np.array([g_mu, 2.0 * sigma - BETA / sigma])


def fisher(sigma, coords):
    """The Gaussian's exact Fisher in ``coords`` (diagonal)."""
    return np.diag([1.0 / sigma ** 2, 2.0 if coords == "log" else 2.0 / sigma ** 2])


def to_dist(theta, coords):
    """``(μ, σ)`` of a parameter vector."""
    return (theta[0], math.exp(theta[1])) if coords == "log" else (theta[0], theta[1])


def from_dist(mu, sigma, coords):
    return np.array([mu, math.log(sigma) if coords == "log" else sigma])


def kl(p, q):
    """``KL(N(p) ‖ N(q))`` of two ``(μ, σ)``."""
    (m0, s0), (m1, s1) = p, q
    return math.log(s1 / s0) + (s0 ** 2 + (m0 - m1) ** 2) / (2 * s1 ** 2) - 0.5


def trust_region(u0, g, lr=LR, clip_kl=CLIP_KL):
    """Baselines' rule: ``(u, vFv)`` with ``u = min(1, sqrt(clip_kl / vFv))·u₀``."""
    vfv = lr * lr * float(np.dot(u0, g))
    return min(1.0, math.sqrt(clip_kl / vfv)) * u0, vfv


def natural_step(theta, coords, lr=LR, clip_kl=CLIP_KL):
    mu, sigma = to_dist(theta, coords)
    g = grad_loss(mu, sigma, coords)
    u0 = np.linalg.solve(fisher(sigma, coords) + DAMPING * np.eye(2), g)
    u, _ = trust_region(u0, g, lr, clip_kl)
    return theta - lr * u


def gd_step(theta, coords, lr=LR_GD):
    return theta - lr * grad_loss(*to_dist(theta, coords), coords)


def path(step, coords, steps=STEPS, **kw):
    """``[steps + 1, 2]`` parameters visited from :data:`START`."""
    theta = from_dist(*START, coords)
    out = [theta]
    for _ in range(steps):
        theta = step(theta, coords, **kw)
        out.append(theta)
    return np.array(out)


class KfacToy:
    """The toy policy as K-FAC layers, stepped with the project's ``KfacOptimizer``."""

    def __init__(self, lr=LR, clip_kl=CLIP_KL):
        mu, sigma = START
        self.lr = lr
        self.mean = Dense("toy/mu", [[mu]], [0.0], "add")
        self.logstd = LogStd("toy/logstd", 1, init=math.log(sigma))
        self.var_list = [self.mean.w, self.mean.b, self.logstd.w]
        self.optim = KfacOptimizer(learning_rate=lr, clip_kl=clip_kl, epsilon=DAMPING, momentum=0.0,
                                   cold_iter=1, stats_decay=0.0, kfac_update=1)
        capture = Capture()
        self._forward(capture)
        self.optim.build(self.var_list, capture)
        self.a = tf.ones([len(NOISE), 1])

    def _forward(self, capture):
        mu = self.mean(tf.ones([len(NOISE), 1]), capture)
        return mu, self.logstd(mu, capture)

    def theta(self):
        return np.array([float(self.mean.w[0, 0]), float(self.logstd.w[0, 0])])

    def factors(self):
        """This step's Fisher statistics, as the optimizer computes them: ``[A, G_μ, G_logσ]``."""
        capture = Capture()
        with tf.GradientTape() as tape:
            mu, log_std = self._forward(capture)
            outs = self.optim.factor_outputs(capture)
            tape.watch(outs)
            sample = tf.stop_gradient(mu + tf.exp(log_std) * NOISE[:, None].astype(np.float32))
            # the sampled Fisher loss: the mean log-likelihood of x_b ~ N(μ, σ²)
            loglik = -0.5 * tf.square((sample - mu) / tf.exp(log_std)) - log_std
            fisher_loss = tf.reduce_mean(loglik)
        return self.optim.compute_stats(capture, tape.gradient(fisher_loss, outs))

    def step(self):
        """One K-FAC step; returns ``(u, the statistics it used)``."""
        stats = self.factors()
        self.optim.update_stats(stats)
        self.optim.update_factors()
        mu, sigma = to_dist(self.theta(), "log")
        g = grad_loss(mu, sigma, "log")
        grads = [tf.constant([[g[0]]], tf.float32), tf.zeros([1]), tf.constant([[g[1]]], tf.float32)]
        u = self.optim.precondition(grads, tf.constant(self.lr, tf.float32))
        for var, ui in zip(self.var_list, u):
            var.assign_sub(self.lr * ui)
        return np.array([float(u[0][0, 0]), float(u[2][0, 0])]), [s.numpy() for s in stats]


def kfac_path(steps=STEPS, lr=LR, clip_kl=CLIP_KL):
    """``([steps + 1, 2] parameters (μ, log σ), [A, G_μ, G_logσ] of every step)``."""
    toy = KfacToy(lr, clip_kl)
    out, stats = [toy.theta()], []
    for _ in range(steps):
        _, s = toy.step()
        stats.append([float(np.squeeze(x)) for x in s])
        out.append(toy.theta())
    return np.array(out), np.array(stats)


def step_kls(thetas, coords):
    """``KL(π_k ‖ π_k+1)`` of every step of a path."""
    dists = [to_dist(t, coords) for t in thetas]
    return np.array([kl(p, q) for p, q in zip(dists, dists[1:])])


def in_dist_space(thetas, coords):
    """A path as ``[n, 2]`` of ``(μ, σ)``."""
    return np.array([to_dist(t, coords) for t in thetas])


def summary(steps=STEPS):
    """Every path and the numbers the toy figure and the docs state."""
    kf, kstats = kfac_path(steps)
    paths = {"gd_log": path(gd_step, "log", steps), "ng_log": path(natural_step, "log", steps),
             "gd_std": path(gd_step, "std", steps), "ng_std": path(natural_step, "std", steps),
             "kfac_log": kf}
    dist = {k: in_dist_space(v, k.split("_")[1]) for k, v in paths.items()}
    return dict(
        paths={k: v.tolist() for k, v in paths.items()},
        dists={k: v.tolist() for k, v in dist.items()},
        kfac_stats=kstats.tolist(),
        kfac_vs_exact=float(np.max(np.abs(kf - paths["ng_log"]))),
        ng_reparam_gap=float(np.max(np.linalg.norm(dist["ng_log"] - dist["ng_std"], axis=1))),
        gd_reparam_gap=float(np.max(np.linalg.norm(dist["gd_log"] - dist["gd_std"], axis=1))),
        ng_step_kl=step_kls(paths["ng_log"], "log").tolist(),
        gd_step_kl=step_kls(paths["gd_log"], "log").tolist(),
        delta=CLIP_KL / 2)
