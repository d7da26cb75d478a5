"""The worked update itself: the stages, printed and recomputed (see the package docstring)."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..acktr.acktr import Model
from ..common.policies import Policy
from ..kfac.blocks import GradientOnlyBlock, KroneckerBlock
from ..kfac.factors import EIGEN_MIN
from . import command
from .printing import (AGREE_TOL, COUNTER_NAMES, DIGITS, LR, MAX_HIDDEN, NACT, NBATCH, NOBS, WARMUP,
                       below, new_batch, num, rel, rows, side_by_side, signed, snapshot, tensors)


class Walkthrough:
    """Builds the model, runs the warm-up and the explained update, and writes the report."""

    def __init__(self, seed=0, hidden=4):
        self.seed, self.hidden = int(seed), int(hidden)
        self.rng = np.random.default_rng(seed)
        self.policy = Policy([NOBS], ("discrete", NACT), network="mlp",
                             hidden=(self.hidden,) if self.hidden else (), seed=seed)
        self.model = Model(self.policy, nenvs=NBATCH, nsteps=1, total_timesteps=10 ** 6, lr=LR,
                           is_async=False, seed=seed)
        self.optim, self.cfg = self.model.optim, self.model.optim.config
        self.names = [v.name.split(":")[0] for v in self.model.params]
        self.fidx = {id(f): k for k, f in enumerate(self.optim.factors)}
        self.kron = [b for b in self.optim.blocks if isinstance(b, KroneckerBlock)]
        self.lines = []

    def out(self, *lines):
        self.lines.extend(lines)

    # ------------------------------------------------------------ running
    def run(self):
        for _ in range(WARMUP):
            obs, act, adv, ret, noise = new_batch(self.model, self.rng)
            self.model.train_on_batch(obs, act, adv, ret, LR, noise=noise)
        self.batch = new_batch(self.model, self.rng)
        self.before = snapshot(self.model)
        self.forward = self._forward(self.batch)
        self.g, self.batch_stats = self._grads_and_stats(self.batch)
        self.check_layer = self.kron[0]
        obs0 = np.repeat(self.batch[0][:1], NBATCH, axis=0)
        self.repeated = (obs0, new_batch(self.model, self.rng, obs=obs0)[1], *self.batch[2:])
        self.fisher = [self._fisher_case(b) for b in (self.batch, self.repeated)]
        obs, act, adv, ret, noise = self.batch
        self.model.train_on_batch(obs, act, adv, ret, LR, noise=noise)    # the update explained
        self.after = snapshot(self.model)
        mu = np.float32(self.cfg.momentum)
        self.u_code = [ma - mu * mb for ma, mb in zip(self.after["mom"], self.before["mom"])]
        self.u0, self.parts = self._direction()
        self.vfv = LR * LR * sum(float(np.sum(u * g)) for u, g in zip(self.u0, self.g))
        self.scale = min(1.0, np.sqrt(self.cfg.clip_kl / self.vfv))
        return self

    def _forward(self, batch):
        obs, act, adv, ret, noise = tensors(batch)
        pd, v = self.model.policy(obs)
        losses = [float(x) for x in self.model.losses(obs, act, adv, ret, noise)]
        return dict(probs=tf.nn.softmax(pd.logits).numpy(), v=v.numpy(),
                    neglogp=pd.neglogp(act).numpy(), losses=losses)

    def _grads_and_stats(self, batch):
        _, grads, stats = self.model.gradients_and_stats(*tensors(batch))
        return [g.numpy() for g in grads], [s.numpy() for s in stats]

    def _fisher_case(self, batch):
        """Exact Fisher block of the check layer's weight on ``batch`` against its K-FAC
        block ``A ⊗ S`` from the same batch's statistics (section 2.2), and the two damped
        directions."""
        blk = self.check_layer
        obs, act, _, _, noise = tensors(batch)
        with tf.GradientTape() as tape:
            pd, v = self.model.policy(obs)
            # per-sample sampled log-likelihood of p(a, v|s): L_F = mean of these
            ll = -pd.neglogp(act) - self.model.vf_fisher_coef * tf.square(v - tf.stop_gradient(v + noise))
        jac = tape.jacobian(ll, blk.var).numpy().reshape(NBATCH, -1).astype(np.float64)
        exact = jac.T @ jac / NBATCH                       # row-major vec of W [in, out]
        g, stats = self._grads_and_stats(batch)
        a = stats[self.fidx[id(blk.a)]].astype(np.float64)
        s = stats[self.fidx[id(blk.g)]].astype(np.float64)
        kfac = np.kron(a, s)
        vec_g = g[blk.indices[0]].reshape(-1).astype(np.float64)
        eye = float(blk.damping) * np.eye(len(vec_g))
        d_exact = np.linalg.solve(exact + eye, vec_g)
        d_kfac = np.linalg.solve(kfac + eye, vec_g)
        shape = blk.var.shape
        return dict(fisher=rel(kfac, exact), direction=rel(d_kfac, d_exact), exact=exact, kfac=kfac,
                    d_exact=d_exact.reshape(shape), d_kfac=d_kfac.reshape(shape), a=a, s=s)

    def eigen(self, factor):
        """``(Q, e, ê)`` of a factor after the step (Q sign-fixed; ê clipped as the code does)."""
        k = self.fidx[id(factor)]
        e = self.after["e"][k]
        return signed(self.after["Q"][k]), e.astype(np.float64), (e * (e > EIGEN_MIN)).astype(np.float64)

    def block_op(self, blk, x, invert=True):
        """``F̂_block⁻¹x`` (or ``F̂_block x``) in the eigenbasis: ``(Γ, rotated, denominator,
        result)`` with ``Γ`` the 2-D form of ``x``."""
        qg, _, eg = self.eigen(blk.g)
        if isinstance(blk, KroneckerBlock):
            qa, _, ea = self.eigen(blk.a)
            gam = np.reshape(x, (-1, qg.shape[0])).astype(np.float64)
            rot = qa.T @ gam @ qg
            den = np.outer(ea, eg) + float(blk.damping)
            res = qa @ (rot / den if invert else rot * den) @ qg.T
        else:
            gam = np.reshape(x, (1, -1)).astype(np.float64)
            rot = gam @ qg
            den = eg[None, :] + float(blk.damping)
            res = (rot / den if invert else rot * den) @ qg.T
        return gam, rot, den, res

    def _direction(self):
        """``u₀ = F̂⁻¹g`` per variable and each block's intermediates (section 2.2)."""
        u0, parts = [None] * len(self.g), {}
        for blk in self.optim.blocks:
            i = blk.indices[0]
            if not isinstance(blk, (KroneckerBlock, GradientOnlyBlock)) or len(blk.indices) > 1:
                raise NotImplementedError("explain covers Kronecker and gradient-only blocks")
            parts[i] = self.block_op(blk, self.g[i])
            u0[i] = parts[i][3].reshape(self.g[i].shape)
        return u0, parts

    def quad(self, x):
        """``xᵀF̂x`` over all blocks (the running factors after the step)."""
        total = 0.0
        for blk in self.optim.blocks:
            xi = x[blk.indices[0]]
            res = self.block_op(blk, xi, invert=False)[3]
            total += float(np.sum(res * np.reshape(xi, res.shape)))
        return total

    # ------------------------------------------------------------ report
    def report(self):
        """The whole printout, sections 0 to 7."""
        for section in (self.s0_setup, self.s1_losses, self.s2_factors, self.s3_eigen,
                        self.s4_precondition, self.s5_trust_region, self.s6_update, self.s7_check):
            section()
            self.out("")
        return "\n".join(self.lines).rstrip() + "\n"

    def layer_desc(self):
        a = "h" if self.hidden else "s"
        trunk = f" -> mlp_fc0: h = tanh(s·W + b) ({self.hidden})" if self.hidden else ""
        return f"s ({NOBS}){trunk} -> pi: logits = {a}·W + b ({NACT}),  vf: V = {a}·W + b (1)"

    def s0_setup(self):
        cfg, m, c = self.cfg, self.model, self.before["counters"]
        params = ", ".join(f"{n} {list(v.shape)}" for n, v in zip(self.names, m.params))
        self.out(f"ACKTR: one update, stage by stage "
                 f"(python -m baselines_acktr.explain --seed {self.seed} --hidden {self.hidden})",
                 "Paper: Wu et al. 2017, arXiv:1708.05144.  Written as: paper symbol [code name].",
                 f"Matrices to {DIGITS} decimals; a weight is printed as stored, [in, out].", "",
                 "0. Setup: network, options, and which update this is",
                 f"  network   {self.layer_desc()}",
                 f"  θ         {params}",
                 "  options   ACKTR's (acktr/acktr.py: Model, KFAC_DEFAULTS), with is_async = False:",
                 f"            η_max = lr = {LR} (held constant here; training decays it linearly), "
                 f"μ = momentum = {cfg.momentum},",
                 f"            2δ = clip_kl [kfac_clip] = {cfg.clip_kl}, ε = epsilon = {cfg.epsilon}, "
                 f"d = stats_decay = {cfg.stats_decay}, cold_iter = {cfg.cold_iter},",
                 f"            kfac_update = {cfg.kfac_update}, ent_coef = {m.ent_coef}, "
                 f"vf_coef = {m.vf_coef}, vf_fisher_coef = {m.vf_fisher_coef}",
                 "  blocks    one per variable (kfac/blocks.py: build_blocks):")
        for blk in self.optim.blocks:
            name = self.names[blk.indices[0]]
            if isinstance(blk, KroneckerBlock):
                self.out(f"            {name:<10} Kronecker      A = {blk.a.key} ({blk.a.dim}×{blk.a.dim}), "
                         f"S = {blk.g.key} ({blk.g.dim}×{blk.g.dim})")
            else:
                self.out(f"            {name:<10} gradient only  S = {blk.g.key} (the weight's S)")
        self.out(f"  update    k = {WARMUP} (counting from 0), after updates k = 0..{WARMUP - 1} on other "
                 "made-up batches.",
                 "            The schedule (tests/data/parity/SEMANTICS.md §8):",
                 f"            k = 0..{cfg.cold_iter - 1}: superbatch mean of the statistics, cold SGD steps; "
                 f"k = {cfg.cold_iter - 1}: first decomposition;",
                 f"            k = {cfg.cold_iter}: first K-FAC step (from a zero buffer) and the last cold step;",
                 f"            k = {WARMUP}: the first update that is K-FAC alone: EMA of the statistics, "
                 "a decomposition,",
                 "            the trust region, momentum on a non-zero buffer, no cold SGD.",
                 f"  counters  {COUNTER_NAMES} before = {[int(x) for x in c[:5]]}")

    def s1_losses(self):
        obs, act, adv, ret, noise = self.batch
        f, m = self.forward, self.model
        pg, vf, ent, train, joint = f["losses"]
        pg_fisher = -float(np.mean(f["neglogp"]))
        self.out("1. Batch and losses (paper §2.1, §3.1; common/actor_critic.py: ActorCriticModel.losses)",
                 "  state s_t [obs], action a_t ~ π(·|s_t) [actions], advantage Â_t [advs], "
                 "return R_t [rewards],",
                 "  critic noise n_t ~ N(0, 1) [noise]; then π(·|s_t) [softmax(logits)], V(s_t) [v] "
                 "and −log π(a_t|s_t) [neglogp]:")
        head = [f"s[{k}]" for k in range(NOBS)] + ["a", "Â", "R", "n"] + \
            [f"π({k}|s)" for k in range(NACT)] + ["V(s)", "neglogp"]
        self.out("    " + " ".join(h.rjust(7) for h in head))
        for b in range(NBATCH):
            vals = [*(f"{x:.2f}" for x in obs[b]), str(int(act[b])), f"{adv[b]:.2f}", f"{ret[b]:.2f}",
                    f"{noise[b]:.2f}", *(f"{p:.4f}" for p in f["probs"][b]), f"{f['v'][b]:.4f}",
                    f"{f['neglogp'][b]:.4f}"]
            self.out("    " + " ".join(v.rjust(7) for v in vals))
        self.out(f"  mean(Â·neglogp) = {num(pg + m.ent_coef * ent)};  "
                 f"entropy H [entropy] = mean_t H(π(·|s_t)) = {num(ent)}",
                 f"  pg_loss = mean(Â·neglogp) − ent_coef·H = {num(pg)}   "
                 "(the code's pg_loss includes the entropy term)",
                 f"  vf_loss = Σ_t (R_t − V(s_t))² / B = {num(vf)}",
                 f"  train_loss = pg_loss + vf_coef·vf_loss = {num(pg)} + {m.vf_coef}·{num(vf)} = {num(train)}",
                 "  Sampled Fisher loss: the log-likelihood of p(a, v|s) = π(a|s)·N(v; V(s), σ²) at the taken a_t",
                 "  and at V + n_t:",
                 f"  pg_fisher_loss = −mean(neglogp) = {num(pg_fisher)}",
                 f"  vf_fisher_loss = −vf_fisher_coef·mean((V − stopgrad(V + n))²) = {num(joint - pg_fisher)}",
                 f"  joint_fisher_loss [L_F] = pg_fisher_loss + vf_fisher_loss = {num(joint)}",
                 "  Per sample the critic's score is B·∂L_F/∂V = 2·vf_fisher_coef·n_t, so its Fisher is that of",
                 "  N(V(s), σ²) with σ = 1/(2·vf_fisher_coef).",
                 "  g = ∇θ train_loss [grads] (kfac/train_step.py: KfacTrainStep.gradients_and_stats):")
        for name, g in zip(self.names, self.g):
            self.out(*side_by_side([(name, rows(g))]))

    def factor_matrices(self, factor):
        k = self.fidx[id(factor)]
        return [("this batch", rows(self.batch_stats[k])), ("running before", rows(self.before["stats"][k])),
                ("running after", rows(self.after["stats"][k]))]

    def s2_factors(self):
        d = self.cfg.stats_decay
        self.out("2. Kronecker factors F_ℓ ≈ A ⊗ S (paper §2.2; kfac/optimizer.py: KfacOptimizer.compute_stats)",
                 "  A = E[a aᵀ] of the layer input a [fprop]; S = E[δ δᵀ] of δ = ∂L_F/∂z, z = a·W + b the",
                 "  layer output (the paper's s).  S is baselines' bprop factor, called G in the code.",
                 "  This batch: A = aᵀa/B (kfac/factors.py: DenseActivationFactor.statistic) and",
                 "  S = (B·δ)ᵀ(B·δ)/B (kfac/factors.py: GradientFactor.statistic; B undoes the mean in L_F).",
                 f"  Running averages: stats_step = {int(self.before['counters'][4])} ≥ {self.cfg.accum_iter}, "
                 f"so the EMA X ← {d}·X + {1 - d:.2f}·X_batch",
                 "  (kfac/factors.py: Factor.running_average).")
        seen = set()
        for blk in self.kron:
            layer = self.names[blk.indices[0]].split("/")[0]
            src = "h" if self.hidden and blk is not self.kron[0] else "s"
            self.out(f"  layer {layer}, input a = {src}{', the observation' if src == 's' else ''}")
            if id(blk.a) in seen:
                self.out(f"    A [{blk.a.key}]: the matrix above (one factor: both heads read {src})")
            else:
                seen.add(id(blk.a))
                self.out(f"    A [{blk.a.key}]", *side_by_side(self.factor_matrices(blk.a)))
            self.out(f"    S [{blk.g.key}]", *side_by_side(self.factor_matrices(blk.g)))
        worst = max(float(np.max(np.abs(a - (np.float32(d) * b + np.float32(1 - d) * c))))
                    for a, b, c in zip(self.after["stats"], self.before["stats"], self.batch_stats))
        self.out(f"  check: after = {d}·before + {1 - d:.2f}·batch for every factor, "
                 f"max |difference| {below(worst, 1e-6)}")

    def s3_eigen(self):
        s, cfg = int(self.after["counters"][4]), self.cfg
        self.out("3. Eigen-decompositions X = Q·diag(e)·Qᵀ (paper §2.2; kfac/optimizer.py: "
                 "KfacOptimizer.update_factors)",
                 f"  Due: the incremented stats_step = {s} ≥ {cfg.accum_iter} and {s} mod kfac_update = 0 "
                 "(KfacOptimizer.eigen_due).",
                 "  tf.linalg.eigh in float32.  Eigenvalues ≤ 1e-6 count as 0 (baselines' detectMinVal;",
                 "  kfac/factors.py: EigenFactor.eigen): ê = e·[e > 1e-6].  eigh fixes no sign of an eigenvector;",
                 "  the columns of Q are printed with their largest entry positive.")
        for factor in self.optim.factors:
            q, e, eh = self.eigen(factor)
            n = int(np.sum(eh == 0))
            note = "none clipped" if n == 0 else f"{n} clipped to 0"
            if n and factor.key.startswith("pi/"):
                note += " (the scores onehot(a) − π sum to 0 over the actions, so S·1 = 0)"
            self.out(f"  {factor.key}: {note}",
                     *side_by_side([("e", rows(e[:, None])), ("ê", rows(eh[:, None])), ("Q", rows(q))]))

    def s4_precondition(self):
        self.out("4. The natural-gradient direction u₀ = F̂⁻¹g, block by block (paper §2.2;",
                 "   kfac/optimizer.py: KfacOptimizer.precondition), from the running factors after this update.",
                 "  weight (kfac/blocks.py: KroneckerBlock.precondition), Γ = g as [in, out]:",
                 "      Γ' = Q_A·[(Q_Aᵀ·Γ·Q_S) ⊘ (ê_A·ê_Sᵀ + ε)]·Q_Sᵀ,  i.e. (A ⊗ S + εI)·vec(Γ') = vec(Γ)",
                 "  bias (kfac/blocks.py: GradientOnlyBlock.precondition), Γ = g as one row, the weight's S:",
                 "      Γ' = [(Γ·Q_S) ⊘ (ê_Sᵀ + ε)]·Q_Sᵀ,  i.e. Γ' = Γ·(S + εI)⁻¹")
        for blk in self.optim.blocks:
            i = blk.indices[0]
            gam, rot, den, res = self.parts[i]
            kron = isinstance(blk, KroneckerBlock)
            self.out(f"  {self.names[i]}",
                     *side_by_side([("Γ = g", rows(gam)), ("Q_Aᵀ·Γ·Q_S" if kron else "Γ·Q_S", rows(rot))]),
                     *side_by_side([("ê_A·ê_Sᵀ + ε" if kron else "ê_Sᵀ + ε", rows(den)),
                                    ("Γ' = u₀", rows(res))]))

    def s5_trust_region(self):
        cfg, ug = self.cfg, self.vfv / (LR * LR)
        bound = np.sqrt(cfg.clip_kl / ug)
        binds = "binds (the step is shortened)" if self.scale < 1 else "does not bind"
        self.out("5. Trust region and step size (paper §3.2; kfac/optimizer.py: KfacOptimizer.precondition)",
                 f"  u₀ᵀF̂u₀ = u₀ᵀg = Σ u₀·g = {num(ug)}   (F̂u₀ = g holds exactly for the damped F̂ inverted above)",
                 f"  vFv [KFAC/vFv] = lr²·Σ u₀·g = {LR}²·{num(ug)} = {num(self.vfv)}   "
                 f"(the code's vFv: {num(self.after['counters'][5])})",
                 f"  scale = min(1, sqrt(clip_kl / vFv)) = min(1, sqrt({cfg.clip_kl} / {num(self.vfv)})) = "
                 f"{num(self.scale)}",
                 f"  The trust region {binds}; u = scale·u₀ is what the momentum step receives.",
                 "  The paper: Δθ = F̂⁻¹∇L = u₀, θ ← θ − η·Δθ, η = min(η_max, sqrt(2δ / ΔθᵀF̂Δθ)).",
                 f"  Baselines' form is the same with η_max = lr = {LR} and 2δ = clip_kl = {cfg.clip_kl} "
                 f"(δ = {cfg.clip_kl / 2:g}):",
                 f"      sqrt(2δ / u₀ᵀF̂u₀) = sqrt({cfg.clip_kl} / {num(ug)}) = {num(bound)},  "
                 f"η = min({LR}, {num(bound)}) = lr·scale = {num(LR * self.scale)}",
                 "  Without momentum the step η·u₀ = lr·u would change the policy by the quadratic KL",
                 f"  ½(η·u₀)ᵀF̂(η·u₀) = ½·scale²·vFv = {num(0.5 * self.scale ** 2 * self.vfv)} ≤ δ.")

    def s6_update(self):
        cfg, c0, c1 = self.cfg, self.before["counters"], self.after["counters"]
        mu, rate, s0 = cfg.momentum, LR * (1 - cfg.momentum), int(c0[0])
        cold = s0 <= cfg.cold_iter
        cold_changed = any(np.any(a != b) for a, b in zip(self.after["cold"], self.before["cold"]))
        self.out("6. Momentum and the parameter update (kfac/optimizer.py: KfacOptimizer._kfac_update)",
                 f"  K-FAC step: runs, sgd_step = {s0} ≥ cold_iter = {cfg.cold_iter}.",
                 f"  Cold SGD (KfacOptimizer._cold_update): {'runs' if cold else 'does not run'}, "
                 f"sgd_step = {s0} {'≤' if cold else '>'} {cfg.cold_iter} "
                 f"(its buffer {'changed' if cold_changed else 'is unchanged'}).",
                 f"  m ← μ·m + u [KFAC/momentum],  θ ← θ − lr·(1 − μ)·m = θ − {rate:g}·m")
        for i, name in enumerate(self.names):
            self.out(f"  {name}",
                     *side_by_side([("m before", rows(self.before["mom"][i])),
                                    ("u", rows(self.scale * self.u0[i])),
                                    ("m after", rows(self.after["mom"][i]))]),
                     *side_by_side([("θ before", rows(self.before["params"][i])),
                                    ("θ after", rows(self.after["params"][i])),
                                    ("Δθ", rows(self.after["params"][i] - self.before["params"][i]))]))
        want = [p - rate * (mu * m + self.scale * u)
                for p, m, u in zip(self.before["params"], self.before["mom"], self.u0)]
        err = max(rel(a, w) for a, w in zip(self.after["params"], want))
        u_err = max(rel(uc, self.scale * u) for uc, u in zip(self.u_code, self.u0))
        dtheta = [a - b for a, b in zip(self.after["params"], self.before["params"])]
        self.out("  The code's u (m after − μ·m before) against u computed here: relative difference "
                 f"{below(u_err, AGREE_TOL)}",
                 "  The code's θ after against θ − lr·(1−μ)·(μ·m + u) computed here: relative difference "
                 f"{below(err, AGREE_TOL)}",
                 f"  The actual change has ½·ΔθᵀF̂Δθ = {num(0.5 * self.quad(dtheta))}, not δ: momentum acts after "
                 "the trust region,",
                 "  so Δθ = lr·(1−μ)·m mixes this u with earlier ones (with a constant u, Δθ would approach lr·u).",
                 f"  counters  {COUNTER_NAMES} after = {[int(x) for x in c1[:5]]}")

    def s7_check(self):
        i = self.check_layer.indices[0]
        numbers, (main, rep), n = self.check_numbers(), self.fisher, self.g[i].size
        self.out(f"7. Check against a dense Fisher block: {self.names[i]} ({n} parameters; paper §2.2)",
                 f"  vec is row-major over W [in, out], so the K-FAC block is np.kron(A, S), {n}×{n}.",
                 "  (a) The code's direction is a dense solve.  u₀ from the code's momentum buffers (u / scale)",
                 "      against (A ⊗ S + εI)⁻¹·vec(g) with the running A, S of section 2: relative difference "
                 f"{below(numbers['solve'], AGREE_TOL)}.",
                 "      They must agree: the eigenbasis formula is this solve, up to float32 rounding and the clip.",
                 "  (b) K-FAC's approximation on one batch.  The exact block F = (1/B)·Σ_t vec(∇W ℓ_t)·vec(∇W ℓ_t)ᵀ,",
                 "      from per-sample gradients (tape.jacobian) of",
                 "      ℓ_t = log π(a_t|s_t) − vf_fisher_coef·(V(s_t) − stopgrad(V(s_t) + n_t))²,",
                 "      against A ⊗ S from the same batch's statistics, and the damped directions",
                 "      (F + εI)⁻¹·vec(g) against (A ⊗ S + εI)⁻¹·vec(g):",
                 f"      this batch, {NBATCH} different states:    ‖A⊗S − F‖/‖F‖ {below(main['fisher'], AGREE_TOL)}, "
                 f"directions: difference {below(main['direction'], AGREE_TOL)}",
                 f"      s_0 repeated {NBATCH} times (new a_t ~ π(·|s_0); same Â, R, n):",
                 f"                                       ‖A⊗S − F‖/‖F‖ {below(rep['fisher'], AGREE_TOL)}, "
                 f"directions: difference {below(rep['direction'], AGREE_TOL)}",
                 "      F = E[a aᵀ ⊗ δδᵀ] equals E[a aᵀ] ⊗ E[δδᵀ] = A ⊗ S when every sample has the same input a",
                 "      (then they must agree, to float32 rounding) or when a and δ are independent.  In a real",
                 "      batch neither holds, and the K-FAC block is an approximation.",
                 "  This batch's two directions:",
                 *side_by_side([("(F + εI)⁻¹·vec(g)", rows(main["d_exact"])),
                                ("(A ⊗ S + εI)⁻¹·vec(g)", rows(main["d_kfac"]))]))

    def check_numbers(self):
        """Section 7's relative differences: ``solve`` (the code's direction against the
        dense solve), and ``batch`` / ``repeated`` (``fisher``: ``A ⊗ S`` against the exact
        block; ``direction``: the two damped directions)."""
        blk = self.check_layer
        i = blk.indices[0]
        a = self.after["stats"][self.fidx[id(blk.a)]].astype(np.float64)
        s = self.after["stats"][self.fidx[id(blk.g)]].astype(np.float64)
        vec_g = self.g[i].reshape(-1).astype(np.float64)
        dense = np.linalg.solve(np.kron(a, s) + float(blk.damping) * np.eye(len(vec_g)), vec_g)
        main, rep = self.fisher
        return dict(solve=rel(self.u_code[i].reshape(-1) / self.scale, dense),
                    batch={k: main[k] for k in ("fisher", "direction")},
                    repeated={k: rep[k] for k in ("fisher", "direction")})


def explain(seed=0, hidden=4):
    """``(report text, Walkthrough)`` of one explained update."""
    walk = Walkthrough(seed, hidden).run()
    return walk.report(), walk


def main(argv=None):
    parser = command.parser()
    args = parser.parse_args(argv)
    if args.hidden > MAX_HIDDEN:
        parser.error(f"--hidden must be at most {MAX_HIDDEN}, got {args.hidden}")
    if args.figures is not None:
        return command.write_figures(args.figures, explain)
    text, _ = explain(args.seed, args.hidden)
    print(text, end="")
    return 0

