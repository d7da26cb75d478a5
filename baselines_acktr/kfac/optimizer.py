"""K-FAC optimizer with a KL trust region; ports baselines ``acktr/kfac.py``.

Paper: Wu et al. 2017, section 2.2 (K-FAC: ``F ≈ A ⊗ S``, inverted through the
eigen-decompositions of ``A`` and ``S``) and section 3.2 (the step size
``η = min(η_max, sqrt(2δ / ΔθᵀF̂Δθ))``).  Baselines implements the trust region
as ``u = min(1, sqrt(clip_kl / vFv)) · F̂⁻¹g`` with ``vFv = Σ (F̂⁻¹g)·g·lr²``
and then takes a momentum step of rate ``lr·(1 − momentum)``.

What a step does, in order (``tests/data/parity/SEMANTICS.md`` and
``docs/kfac_semantics.md``): counters read at the start of the step;
``global_step += 1``; factor statistics of this batch folded into the running
averages (superbatch mean for the first ``stats_accum_iter`` steps, then an
EMA with ``stats_decay``); the eigen-decomposition when due (else
``cold_step += 1``); the preconditioned, rescaled direction ``u`` (the raw
gradient while no decomposition exists yet); the K-FAC momentum update once
``sgd_step ≥ cold_iter``; and, while ``sgd_step ≤ cold_iter``, the cold-start
momentum SGD on the globally norm-clipped gradient.

Layers describe themselves (``layers.py``) instead of being found by op-name
matching; the blocks built from them are exactly baselines':

* a weight gets an activation factor ``A`` and a gradient factor ``G``;
* a bias added with ``+`` gets a gradient-only block that shares its weight's
  ``G`` (baselines' ``AddN``/``Add`` path ends up reusing that variable);
* a bias added with ``bias_add`` is folded into its weight through homogeneous
  coordinates (``[x, 1]``), unless ``blockdiag_bias=True``;
* ``pi/logstd`` gets a gradient-only block taken at ``0·μ + logstd``;
* fully connected layers that read the same input tensor share one ``A``.
"""
import numpy as np
import tensorflow as tf

EIGEN_MIN = 1e-6  # baselines kfac_utils.detectMinVal threshold


def _f32(x):
    """Round a Python float to float32 the way TF1 did for ``tensor * python_float``."""
    return np.float32(x)


def _with_homog(gram, colsum, count):
    """``[P, 1]ᵀ[P, 1]`` from ``PᵀP``, the column sums of ``P`` and its row count."""
    top = tf.concat([gram, colsum[:, None]], axis=1)
    bottom = tf.concat([colsum, tf.reshape(count, [1])], axis=0)[None, :]
    return tf.concat([top, bottom], axis=0)


def _pair_sum(a, b):
    """``aᵀb``."""
    return tf.matmul(a, b, transpose_a=True)


def _patch_gram_by_rows(x, kh, kw, s, homog):
    """``PᵀP`` of the ``kh×kw``/stride-``s`` VALID patch matrix ``P`` of ``x`` (rows:
    batch × output positions; columns in ``extract_patches`` order), without
    building ``P``; returns ``(gram, oh, ow)``.  Exact up to float rounding.

    With ``m = kh / s``, a patch is ``m`` "row cells" stacked (cell ``r`` = the
    ``s×kw`` window of input rows ``[r·s, r·s + s)``), and output row ``o`` uses
    cells ``o … o + m − 1``.  Block ``(q, q + Δ)`` of ``PᵀP`` is therefore the sum of
    ``h(p) h(p + Δ)ᵀ`` over cell rows ``p ∈ [q, q + oh)``: one product over all
    cell rows per ``Δ``, minus a few edge rows.  For the nature CNN's convs this
    does about half the multiply-adds of ``PᵀP`` (c1: 9.2 against 16.8 GMAC for
    640 frames) and extracts patches half the size.
    """
    n = tf.shape(x)[0]
    m = kh // s
    oh = (int(x.shape[1]) - kh) // s + 1
    rows = oh + m - 1                      # cell rows used
    h = tf.image.extract_patches(x[:, :rows * s], sizes=[1, s, kw, 1],
                                 strides=[1, s, s, 1], rates=[1, 1, 1, 1], padding="VALID")
    ow, d = int(h.shape[2]), int(h.shape[3])
    flat = tf.reshape(h, [-1, d])          # (image, cell row, column) major
    length = tf.shape(flat)[0]

    def row(p, images=slice(None)):
        return tf.reshape(h[images, p], [-1, d])

    blocks = {}
    for delta in range(m):
        # all pairs (i, i + delta·ow) of the flattened cells: within an image, plus
        # pairs that wrap from image k's last rows into image k + 1's first rows
        off = delta * ow
        full = _pair_sum(flat[:length - off], flat[off:])
        for p in range(rows - delta, rows):
            full -= _pair_sum(row(p, slice(None, -1)), row(p + delta - rows, slice(1, None)))
        edge = {p: _pair_sum(row(p), row(p + delta))
                for p in list(range(0, m - 1 - delta)) + list(range(oh, rows - delta))}
        for q in range(m - delta):
            blk = full
            for p, e in edge.items():
                if p < q or p >= q + oh:
                    blk = blk - e
            blocks[q, q + delta] = blk
    gram = tf.concat([tf.concat([blocks[q, r] if q <= r else tf.transpose(blocks[r, q])
                                 for r in range(m)], axis=1) for q in range(m)], axis=0)
    if homog:
        total = tf.reduce_sum(flat, axis=0)
        row_sums = {p: tf.reduce_sum(row(p), axis=0)
                    for p in list(range(0, m - 1)) + list(range(oh, rows))}
        colsum = []
        for q in range(m):
            c = total
            for p, v in row_sums.items():
                if p < q or p >= q + oh:
                    c = c - v
            colsum.append(c)
        gram = _with_homog(gram, tf.concat(colsum, axis=0), tf.cast(n * oh * ow, tf.float32))
    return gram, oh, ow


class _Stat:
    """One Kronecker factor: its running average and its eigen-decomposition."""

    def __init__(self, key, kind, dim, layer, homog=False):
        self.key, self.kind, self.dim, self.layer, self.homog = key, kind, dim, layer, homog


class _Block:
    """How one trainable variable is preconditioned.

    kind: 'kron' (A and G), 'gonly' (G only), 'folded' (bias in homogeneous
    coordinates, preconditioned with its weight) or 'none' (raw gradient).
    """

    def __init__(self, kind, a=None, g=None, bias_index=None):
        self.kind, self.a, self.g, self.bias_index = kind, a, g, bias_index


class KfacOptimizer(tf.Module):
    """Ports baselines ``KfacOptimizer`` with every constructor argument and default.

    ``learning_rate`` is the default rate; a step may pass its own (baselines fed
    a placeholder).  With ``is_async=True`` the eigen-decompositions run on a
    background thread (:meth:`start_async`, :meth:`async_exchange`, between
    :meth:`update_stats` and :meth:`apply_updates`); ``apply_gradients`` is the
    synchronous step.  ``use_float64`` is accepted and, as in baselines (which
    casts float32 eigen results to float32), changes nothing.
    ``weight_decay_dict`` maps a variable name (or ``var.ref()``) to a
    coefficient added to the damping of its block.  ``channel_fac`` and ``async_stats`` raise
    ``NotImplementedError`` (see docs/differences_from_baselines.md).
    ``conv_stats`` (not in baselines) picks how a conv layer's activation factor
    is computed: ``'rows'`` (default; same sums without building overlapping
    patches, see :func:`_patch_gram_by_rows`) or ``'patches'`` (baselines' way:
    extract every patch, then ``PᵀP``).  ``stats_subsample=k`` (not in baselines;
    default 1 = the whole batch, as baselines) is an opt-in speed option: the
    factor statistics come from every ``k``-th sample of the batch only (the
    gradient still uses all of it); see docs/performance.md.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, clip_kl=0.01, kfac_update=2,
                 stats_accum_iter=60, full_stats_init=False, cold_iter=100, cold_lr=None,
                 is_async=False, async_stats=False, epsilon=1e-2, stats_decay=0.95,
                 blockdiag_bias=False, channel_fac=False, factored_damping=False,
                 approxT2=False, use_float64=False, weight_decay_dict=None, max_grad_norm=0.5,
                 conv_stats="rows", stats_subsample=1):
        super().__init__(name="kfac")
        if int(stats_subsample) != stats_subsample or stats_subsample < 1:
            raise ValueError(f"stats_subsample must be an integer >= 1, got {stats_subsample!r}")
        if conv_stats not in ("rows", "patches"):
            raise ValueError(f"conv_stats must be 'rows' or 'patches', got {conv_stats!r}")
        if channel_fac:
            raise NotImplementedError(
                "channel_fac (rank-1 SVD factorisation of 1x1-output convs) is not ported; "
                "ACKTR never enables it")
        if async_stats:
            # Baselines builds a queue runner around the statistics op, but that op
            # reads the fed batch placeholders, which a queue-runner thread never
            # feeds; ACKTR never enables it.  Refuse rather than pretend.
            raise NotImplementedError(
                "async_stats=True is not ported: in baselines the statistics queue runner "
                "cannot feed the batch placeholders, and ACKTR never enables it")
        if kfac_update < 1:
            raise ValueError(f"kfac_update must be >= 1, got {kfac_update}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if clip_kl <= 0:
            raise ValueError(f"clip_kl must be > 0, got {clip_kl}")
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.clip_kl = clip_kl
        self.kfac_update = int(kfac_update)
        self.full_stats_init = bool(full_stats_init)
        self.cold_iter = int(cold_iter)
        self.cold_lr = cold_lr
        self.is_async = bool(is_async)
        self.async_stats = bool(async_stats)
        self.epsilon = epsilon
        self.stats_decay = stats_decay
        self.blockdiag_bias = bool(blockdiag_bias)
        self.channel_fac = False
        self.factored_damping = bool(factored_damping)
        self.approxT2 = bool(approxT2)
        self.use_float64 = bool(use_float64)
        self.weight_decay_dict = dict(weight_decay_dict or {})
        self.max_grad_norm = max_grad_norm
        self.conv_stats = conv_stats
        self.stats_subsample = int(stats_subsample)
        # baselines: without full_stats_init the statistics accumulate over the cold phase
        self.stats_accum_iter = int(stats_accum_iter) if full_stats_init else self.cold_iter
        if self.stats_accum_iter < 1:
            raise ValueError("stats_accum_iter (or cold_iter without full_stats_init) must be >= 1")

        self.sgd_step = tf.Variable(0, name="KFAC/sgd_step", trainable=False)
        self.global_step = tf.Variable(0, name="KFAC/global_step", trainable=False)
        self.cold_step = tf.Variable(0, name="KFAC/cold_step", trainable=False)
        self.factor_step = tf.Variable(0, name="KFAC/factor_step", trainable=False)
        self.stats_step = tf.Variable(0, name="KFAC/stats_step", trainable=False)
        self.vFv = tf.Variable(0.0, name="KFAC/vFv", trainable=False)
        self.built = False

    # ------------------------------------------------------------------ build
    def build(self, var_list, layers, capture):
        """Create the factor, eigen and momentum variables (ports ``getFactors``,
        ``getStats`` and ``getStatsEigen``).

        ``capture`` is a :class:`~baselines_acktr.layers.Capture` from one eager
        forward pass; layers whose recorded inputs are the same tensor share
        their activation factor.
        """
        if self.built:
            raise RuntimeError("KfacOptimizer.build() called twice")
        self.var_list = list(var_list)
        index = {id(v): i for i, v in enumerate(self.var_list)}
        self._stats = []           # list of _Stat, in creation order
        self._blocks = [_Block("none") for _ in self.var_list]
        shared_inputs = {}         # (id(x), homog) -> _Stat  (fc only, as baselines' cache)
        for layer in layers:
            if layer.layer_name not in capture.records:
                raise ValueError(f"layer {layer.layer_name!r} was not called in the forward pass")
            x, z = capture.records[layer.layer_name]
            for p in layer.params:
                if id(p) not in index:
                    raise ValueError(f"variable {p.name} of layer {layer.layer_name} is not in var_list")
            if layer.kind == "logstd":
                g = self._new_stat(f"{layer.layer_name}/bprop0", "G", int(z.shape[-1]), layer)
                self._blocks[index[id(layer.w)]] = _Block("gonly", g=g)
                continue
            homog = layer.bias_mode == "bias_add" and not self.blockdiag_bias
            if layer.kind == "fc":
                key = (id(x), homog)
                a = shared_inputs.get(key)
                if a is None:
                    a = self._new_stat(f"{layer.layer_name}/w/fprop0", "A_fc",
                                       int(x.shape[-1]) + homog, layer, homog)
                    shared_inputs[key] = a
            else:
                kh, kw = layer.kernel
                a = self._new_stat(f"{layer.layer_name}/w/fprop0", "A_conv",
                                   kh * kw * int(x.shape[-1]) + homog, layer, homog)
            g = self._new_stat(f"{layer.layer_name}/w/bprop0", "G", int(z.shape[-1]), layer)
            wi, bi = index[id(layer.w)], index[id(layer.b)]
            self._blocks[wi] = _Block("kron", a=a, g=g, bias_index=bi if homog else None)
            self._blocks[bi] = _Block("folded") if homog else _Block("gonly", g=g)

        self.stats = [tf.Variable(tf.zeros([s.dim, s.dim]), trainable=False,
                                  name="KFAC_STATS/" + s.key) for s in self._stats]
        self.eig_e = [tf.Variable(tf.ones([s.dim]), trainable=False,
                                  name="KFAC_FAC/" + s.key + "/e") for s in self._stats]
        self.eig_Q = [tf.Variable(tf.eye(s.dim), trainable=False,
                                  name="KFAC_FAC/" + s.key + "/Q") for s in self._stats]
        self.kfac_momentum = [tf.Variable(tf.zeros_like(v), trainable=False,
                                          name="KFAC/momentum") for v in self.var_list]
        self.cold_momentum = [tf.Variable(tf.zeros_like(v), trainable=False,
                                          name="KFAC/cold_momentum") for v in self.var_list]
        self._damping = [_f32(self.epsilon + self._weight_decay(v)) for v in self.var_list]
        self.built = True

    def _new_stat(self, key, kind, dim, layer, homog=False):
        stat = _Stat(key, kind, dim, layer, homog)
        stat.index = len(self._stats)
        self._stats.append(stat)
        return stat

    def _weight_decay(self, var):
        name = var.name.split(":")[0]
        for key, coeff in self.weight_decay_dict.items():
            if (isinstance(key, str) and key == name) or key is var or \
                    (hasattr(key, "deref") and key.deref() is var):
                return coeff
        return 0.0

    def factors_of(self, var):
        """``(A, G)`` statistic variables of ``var``'s block (either may be None)."""
        blk = self._blocks[[id(v) for v in self.var_list].index(id(var))]
        a = self.stats[blk.a.index] if blk.a is not None else None
        g = self.stats[blk.g.index] if blk.g is not None else None
        return a, g

    # --------------------------------------------------------------- statistics
    def factor_outputs(self, capture):
        """The pre-activation tensors whose Fisher-loss gradients give the ``G`` factors."""
        return [capture.records[s.layer.layer_name][1] for s in self._stats if s.kind == "G"]

    def compute_stats(self, capture, deltas):
        """This batch's factor statistics (ports ``compute_stats``).

        ``deltas``: gradients of the sampled Fisher loss w.r.t. ``factor_outputs``.
        Returns one ``[dim, dim]`` tensor per factor, in ``self.stats`` order.
        """
        deltas = iter(deltas)
        k = self.stats_subsample
        out = []
        for s in self._stats:
            if s.kind == "G":
                delta = next(deltas)
                # the Fisher loss is a mean over the whole batch: its size scales δ
                batch = tf.cast(tf.shape(delta)[0], tf.float32)
                out.append(self._grad_cov(delta[::k] if k > 1 else delta, batch))
                continue
            x = capture.records[s.layer.layer_name][0]
            x = x[::k] if k > 1 else x
            if s.kind == "A_fc":
                out.append(self._fc_act_cov(x, s.homog))
            else:
                out.append(self._conv_act_cov(x, s.layer, s.homog))
        return out

    @staticmethod
    def _fc_act_cov(x, homog):
        if homog:
            x = tf.concat([x, tf.ones([tf.shape(x)[0], 1], x.dtype)], axis=1)
        return tf.matmul(x, x, transpose_a=True) / tf.cast(tf.shape(x)[0], tf.float32)

    def _conv_act_cov(self, x, layer, homog):
        """``E[p pᵀ]`` over the batch of ``p = patches / (oh·ow)`` (plus the homogeneous
        coordinate ``1 / (oh·ow)``), as baselines' ``compute_stats`` for a conv weight.

        Without approxT2, the patch products are summed first and scaled once;
        when the kernel height is a multiple of the stride and padding is VALID
        (the nature CNN), they come from :func:`_patch_gram_by_rows`, which
        does not build overlapping patches."""
        kh, kw = layer.kernel
        s = layer.stride
        batch = tf.cast(tf.shape(x)[0], tf.float32)
        if self.approxT2:
            patches = tf.image.extract_patches(x, sizes=[1, kh, kw, 1], strides=[1, s, s, 1],
                                               rates=[1, 1, 1, 1], padding=layer.padding)
            p = tf.reduce_mean(patches, axis=[1, 2])
            if homog:
                p = tf.concat([p, tf.ones([tf.shape(p)[0], 1], p.dtype)], axis=1)
            return tf.matmul(p, p, transpose_a=True) / batch
        if self.conv_stats == "rows" and layer.padding == "VALID" and kh % s == 0:
            gram, oh, ow = _patch_gram_by_rows(x, kh, kw, s, homog)
        else:
            patches = tf.image.extract_patches(x, sizes=[1, kh, kw, 1], strides=[1, s, s, 1],
                                               rates=[1, 1, 1, 1], padding=layer.padding)
            oh, ow = int(patches.shape[1]), int(patches.shape[2])
            p = tf.reshape(patches, [-1, int(patches.shape[-1])])
            gram = tf.matmul(p, p, transpose_a=True)
            if homog:
                gram = _with_homog(gram, tf.reduce_sum(p, axis=0),
                                   tf.cast(tf.shape(p)[0], tf.float32))
        return gram * (_f32(1.0 / (oh * ow) ** 2) / batch)

    def _grad_cov(self, delta, batch):
        if delta.shape.rank == 4:
            oh, ow, c = int(delta.shape[1]), int(delta.shape[2]), int(delta.shape[3])
            if self.approxT2:
                delta = tf.reduce_sum(delta, axis=[1, 2])
            else:
                delta = tf.reshape(delta, [-1, c]) * oh * ow
        delta = delta * batch
        return tf.matmul(delta, delta, transpose_a=True) / tf.cast(tf.shape(delta)[0], tf.float32)

    def apply_stats(self, new_stats, s0):
        """Fold a batch's statistics into the running averages (ports ``apply_stats``).

        Before ``stats_accum_iter`` steps: ``S += Cnew / accum`` (with
        ``full_stats_init`` only once ``sgd_step > cold_iter``); afterwards
        ``S = d·S + (1−d)·Cnew``.  ``stats_step += 1`` whenever ``S`` changed.
        """
        accum = self.stats_accum_iter
        coeff = _f32(1.0 / accum)
        d, one_minus_d = _f32(self.stats_decay), _f32(1.0 - self.stats_decay)

        def running_avg():
            for var, new in zip(self.stats, new_stats):
                var.assign(var * d)
                var.assign_add(one_minus_d * new)
            self.stats_step.assign_add(1)
            return tf.constant(True)

        def accumulate():
            for var, new in zip(self.stats, new_stats):
                var.assign_add(coeff * new)
            self.stats_step.assign_add(1)
            return tf.constant(True)

        def skip():
            return tf.constant(False)

        def accumulate_gated():
            if self.full_stats_init:
                return tf.cond(s0 > self.cold_iter, accumulate, skip)
            return accumulate()

        return tf.cond(self.stats_step >= accum, running_avg, accumulate_gated)

    # ------------------------------------------------------------------ eigen
    def compute_stats_eigen(self):
        """Eigen-decompose every factor (ports ``computeStatsEigen``): ``S = Q·diag(e)·Qᵀ``."""
        out = []
        for var in self.stats:
            e, q = tf.linalg.eigh(var)
            out.append((e, q))
        return out

    def apply_stats_eigen(self, eigens):
        """Install decompositions and count them (ports ``applyStatsEigen``)."""
        for (e, q), ve, vq in zip(eigens, self.eig_e, self.eig_Q):
            ve.assign(e)
            vq.assign(q)
        self.factor_step.assign_add(1)

    def _eigen_due(self):
        ss = self.stats_step
        return tf.logical_and(ss >= self.stats_accum_iter, tf.equal(ss % self.kfac_update, 0))

    def update_factors(self):
        """Decompose when due (incremented stats_step ≥ accum and ≡ 0 mod kfac_update),
        else ``cold_step += 1``."""

        def decompose():
            self.apply_stats_eigen(self.compute_stats_eigen())
            return tf.constant(True)

        def count_cold():
            self.cold_step.assign_add(1)
            return tf.constant(False)

        return tf.cond(self._eigen_due(), decompose, count_cold)

    # ---------------------------------------------------------- precondition
    def _eigen(self, stat):
        e = self.eig_e[stat.index]
        return self.eig_Q[stat.index], e * tf.cast(e > EIGEN_MIN, e.dtype)

    def precondition(self, grads, lr):
        """``u = min(1, sqrt(clip_kl / vFv)) · F̂⁻¹g`` (ports ``getKfacPrecondUpdates``).

        Each block is inverted in the eigenbasis of its factors with damping
        (paper eq. 7; baselines: ``(ê_A ê_Gᵀ + ε)``, or factored damping
        ``(ê_A + π·√ε)(ê_G + √ε/π)ᵀ`` with ``π = sqrt(mean|ê_A| / mean|ê_G|)``).
        Sets ``vFv``; returns ``u``.
        """
        out = list(grads)
        for i, (blk, g, var) in enumerate(zip(self._blocks, grads, self.var_list)):
            if blk.kind == "kron":
                g2 = tf.reshape(g, [-1, int(var.shape[-1])])
                if blk.bias_index is not None:
                    g2 = tf.concat([g2, grads[blk.bias_index][None, :]], axis=0)
                qa, ea = self._eigen(blk.a)
                qg, eg = self._eigen(blk.g)
                t = tf.matmul(tf.matmul(qa, g2, transpose_a=True), qg)
                t = t / self._kron_denominator(ea, eg, self._damping[i])
                t = tf.matmul(tf.matmul(qa, t), qg, transpose_b=True)
                if blk.bias_index is not None:
                    bias = self.var_list[blk.bias_index]
                    out[blk.bias_index] = tf.reshape(t[-1:], bias.shape)
                    t = t[:-1]
                out[i] = tf.reshape(t, var.shape)
            elif blk.kind == "gonly":
                qg, eg = self._eigen(blk.g)
                t = tf.matmul(tf.reshape(g, [1, -1]), qg) / (eg[None, :] + self._damping[i])
                out[i] = tf.reshape(tf.matmul(t, qg, transpose_b=True), var.shape)
        lr2 = lr * lr
        vfv = tf.constant(0.0)
        for u, g in zip(out, grads):
            vfv = vfv + tf.reduce_sum(u * (g * lr2))
        self.vFv.assign(vfv)
        scale = tf.minimum(1.0, tf.sqrt(_f32(self.clip_kl) / vfv))
        return [scale * u for u in out]

    def _kron_denominator(self, ea, eg, damping):
        if not self.factored_damping:
            return ea[:, None] * eg[None, :] + damping
        d = tf.pow(tf.constant(damping), 0.5)
        ta, tg = tf.reduce_mean(tf.abs(ea)), tf.reduce_mean(tf.abs(eg))
        return (ea[:, None] + tf.sqrt(ta / tg) * d) * (eg[None, :] + tf.sqrt(tg / ta) * d)

    # ----------------------------------------------------------------- step
    def apply_gradients(self, grads, new_stats, lr=None):
        """One synchronous ACKTR optimizer step (ports ``apply_gradients`` +
        ``apply_gradients_kfac`` + ``apply_stats``), in the order fixed by the
        parity recording.  Call inside the caller's ``tf.function``; ``new_stats``
        comes from :meth:`compute_stats` on the pre-update parameters.
        """
        self.update_stats(new_stats)
        self.apply_updates(grads, lr)

    def update_stats(self, new_stats):
        """First half of a step: ``global_step += 1`` and the running averages."""
        if not self.built:
            raise RuntimeError("KfacOptimizer.build() must run before a step")
        self.global_step.assign_add(1)
        self.apply_stats(new_stats, self.sgd_step.read_value())

    def apply_updates(self, grads, lr=None, eigen_ready=None):
        """Second half of a step: factors, direction ``u``, K-FAC and cold updates.

        ``eigen_ready=None``: decompose inline when due (synchronous path).
        Otherwise a bool tensor saying whether the asynchronous worker installed
        new eigens for this step (baselines' dequeue): then, once
        ``stats_step ≥ stats_accum_iter``, ``factor_step`` counts installs,
        and before that ``cold_step`` counts steps.
        """
        lr = tf.convert_to_tensor(self.learning_rate if lr is None else lr, tf.float32)
        s0 = tf.identity(self.sgd_step.read_value())  # the cold update comes last
        if eigen_ready is None:
            self.update_factors()
        else:
            def count_install():
                return tf.cond(eigen_ready, lambda: self.factor_step.assign_add(1),
                               lambda: tf.identity(self.factor_step))

            tf.cond(self.stats_step >= self.stats_accum_iter, count_install,
                    lambda: self.cold_step.assign_add(1))

        u = tf.cond(self.factor_step > 0, lambda: self.precondition(grads, lr),
                    lambda: [tf.identity(g) for g in grads])

        kfac_gate = self._kfac_gate(s0, self.stats_step, self.factor_step)
        kfac_rate = lr * _f32(1.0 - self.momentum)
        mom = _f32(self.momentum)

        def kfac_update():
            for var, m, d in zip(self.var_list, self.kfac_momentum, u):
                m.assign(m * mom + d)
                var.assign_sub(kfac_rate * m)
            return tf.constant(True)

        tf.cond(kfac_gate, kfac_update, lambda: tf.constant(False))

        cold_rate = lr if self.cold_lr is None else tf.constant(_f32(self.cold_lr))

        def cold_update():
            c = list(grads)
            if self.max_grad_norm is not None:
                c, _ = tf.clip_by_global_norm(c, self.max_grad_norm)
            for var, m, d in zip(self.var_list, self.cold_momentum, c):
                m.assign(m * mom + d)
                var.assign_sub(cold_rate * m)
            self.sgd_step.assign_add(1)
            return tf.constant(True)

        tf.cond(s0 <= self.cold_iter, cold_update, lambda: tf.constant(False))

    def _kfac_gate(self, s0, stats_step, factor_step):
        """Whether the K-FAC momentum update runs (baselines' ``optimOp`` conditions)."""
        if self.full_stats_init:
            return (stats_step >= self.stats_accum_iter) & (factor_step > 0)
        return s0 >= self.cold_iter

    # --------------------------------------------------------- async eigen
    def start_async(self, deterministic=False, wait_first_eigen=True, backend="auto", nice=0,
                    blas_threads="auto"):
        """Start the background eigen-decomposition thread (``is_async=True``).

        ``wait_first_eigen`` (default): the first step whose K-FAC update runs
        waits for a decomposition of the current statistics, so no K-FAC step
        ever follows the raw gradient and that step equals the synchronous
        path.  ``False`` restores baselines' timing-dependent start.
        ``deterministic``: every due step waits for its own decomposition
        (equal to the synchronous path; for tests).  ``nice``: scheduling
        priority of the thread on Linux (0 = same as training; 19 = only idle
        CPU time: fewer, staler decompositions but cheaper steps).
        ``blas_threads``: BLAS threads of the numpy decompositions
        (``'auto'`` = half the CPUs; None = numpy's own setting).
        """
        from .eigen_worker import EigenWorker

        if self._worker is not None:
            raise RuntimeError("the eigen thread is already running")
        self._worker = EigenWorker(backend=backend, nice=nice, blas_threads=blas_threads)
        self._deterministic = bool(deterministic)
        self._wait_first_eigen = bool(wait_first_eigen)
        self._first_kfac_done = False
        self.raw_gradient_kfac_steps = 0

    def stop_async(self):
        """Stop the eigen thread (idempotent); pending work is discarded."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.close()

    _worker = None

    def wait_async_idle(self, timeout=None):
        """Wait until the eigen thread (if any) has no decomposition in progress."""
        if self._worker is not None:
            self._worker.wait_idle(timeout)

    def async_exchange(self):
        """Between :meth:`update_stats` and :meth:`apply_updates` (training thread).

        Installs a finished decomposition (the dequeue of baselines' queue
        runner) and, when the statistics are due and the worker is idle, hands
        it a copy of them (its enqueue).  Returns whether new eigens were
        installed for this step.
        """
        worker = self._worker
        if worker is None:
            raise RuntimeError("is_async=True needs start_async() (learn() does this)")
        worker.check()
        ss = int(self.stats_step.numpy())
        if ss < self.stats_accum_iter:
            return False
        s0, fs = int(self.sgd_step.numpy()), int(self.factor_step.numpy())
        due = ss % self.kfac_update == 0
        kfac_now = bool(self._kfac_gate(s0, ss, fs + 1))
        first = kfac_now and not self._first_kfac_done
        if kfac_now:
            self._first_kfac_done = True
        if self._deterministic or (first and self._wait_first_eigen):
            if due or (worker.busy and not self._deterministic):
                result = worker.run_now(self._snapshot()) if due else worker.wait()
            elif fs == 0 and not self._deterministic:
                result = worker.run_now(self._snapshot())
            else:
                return False
            self._install(result)
            return True
        installed = False
        result = worker.poll()
        if result is not None:
            self._install(result)
            installed = True
        if due and not worker.busy:
            worker.submit(self._snapshot())
        if kfac_now and fs == 0 and not installed and not self.full_stats_init:
            self.raw_gradient_kfac_steps += 1  # baselines' raw-gradient window
        return installed

    def _snapshot(self):
        return [np.array(v.numpy(), copy=True) for v in self.stats]

    def _install(self, eigens):
        for (e, q), ve, vq in zip(eigens, self.eig_e, self.eig_Q):
            ve.assign(e)
            vq.assign(q)

    def counters(self):
        """``[sgd_step, global_step, cold_step, factor_step, stats_step, vFv]`` as floats."""
        return [float(v.numpy()) for v in (self.sgd_step, self.global_step, self.cold_step,
                                           self.factor_step, self.stats_step, self.vFv)]
