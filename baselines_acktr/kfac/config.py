"""Every option of the K-FAC optimizer, with baselines' defaults, documented once.

:class:`KfacConfig` lists the arguments of baselines ``KfacOptimizer.__init__``
(``acktr/kfac.py``) in its order and with its defaults, then the options this
project adds (none of which changes a default step).  ACKTR's ``Model``
overrides five of them the way baselines' ``Model`` does
(:data:`baselines_acktr.acktr.acktr.KFAC_DEFAULTS`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

CONV_STATS = ("rows", "patches")
EIGEN_BACKENDS = ("auto", "numpy", "tf", "process")


def _is_whole(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and float(x).is_integer()


@dataclass(frozen=True)
class KfacConfig:
    # ---- baselines' KfacOptimizer arguments (paper section 3; Martens & Grosse 2015) ----
    learning_rate: float = 0.01
    """η_max: the default rate; a step may pass its own (baselines fed a placeholder)."""
    momentum: float = 0.9
    """μ of the K-FAC and cold-start momentum; the K-FAC step moves by ``lr·(1 − μ)·m``."""
    clip_kl: float = 0.01
    """The trust region: ``u = min(1, sqrt(clip_kl / vFv))·F̂⁻¹g`` (ACKTR's ``kfac_clip``)."""
    kfac_update: int = 2
    """Decompose the factors every ``kfac_update`` statistics updates."""
    stats_accum_iter: int = 60
    """Superbatch length before the EMA starts; used only with ``full_stats_init``."""
    full_stats_init: bool = False
    """Accumulate statistics only after the cold phase (baselines' option)."""
    cold_iter: int = 100
    """Steps of momentum SGD on the clipped gradient before K-FAC takes over."""
    cold_lr: float | None = None
    """Rate of the cold-start SGD (None: the step's learning rate)."""
    is_async: bool = False
    """Eigen-decompositions on a background thread (the paper's asynchronous inverses)."""
    async_stats: bool = False
    """Not ported: raises (baselines' queue runner cannot feed the batch)."""
    epsilon: float = 1e-2
    """Damping ε added to every eigenvalue product (plus any weight decay of the block)."""
    stats_decay: float = 0.95
    """EMA decay ``d`` of each factor's running average: ``cov ← d·cov + (1 − d)·cov_batch``."""
    blockdiag_bias: bool = False
    """With ``bias_add`` biases: own gradient-only blocks instead of homogeneous coordinates."""
    channel_fac: bool = False
    """Not ported: raises (ACKTR never enables it)."""
    factored_damping: bool = False
    """Damping split between the two factors, ``(ê_A + π√ε)(ê_G + √ε/π)``."""
    approxT2: bool = False
    """Conv statistics from spatially averaged patches (KFC's approximation)."""
    use_float64: bool = False
    """Accepted and, as in baselines, without effect."""
    weight_decay_dict: dict[Any, float] = field(default_factory=dict)
    """Variable name (or ``var.ref()``) → coefficient added to its block's damping."""
    max_grad_norm: float | None = 0.5
    """Global-norm clip of the cold-start gradient (None: no clip)."""

    # ---- project options (not in baselines; defaults keep baselines' step) ----
    conv_stats: str = "rows"
    """Conv activation factors by row cells (``'rows'``, same sums, fewer multiply-adds) or
    by building every patch (``'patches'``, baselines' route); :mod:`.patches`."""
    stats_subsample: int = 1
    """Factor statistics from every k-th sample (1 = the whole batch, as baselines)."""
    diagonal_fallback: bool = False
    """A variable no registered layer owns gets a diagonal Fisher block (False: its raw
    gradient, as baselines); :class:`~.blocks.DiagonalBlock`."""
    wait_first_eigen: bool = True
    """Async: the first K-FAC step waits for a decomposition (False: baselines' timing)."""
    deterministic_async: bool = False
    """Async: every due step waits for its own decomposition (equals the synchronous path)."""
    eigen_backend: str = "auto"
    """The eigen thread's ``'numpy'`` (LAPACK), ``'tf'`` (``tf.linalg.eigh``) or ``'auto'`` (numpy
    for large factors), or ``'process'``: scipy's LAPACK in a worker process (:mod:`.eigen_process`)."""
    eigen_nice: int = 0
    """Scheduling priority of the eigen thread on Linux (19: idle CPU time only)."""
    eigen_blas_threads: Any = "auto"
    """BLAS threads of the numpy decompositions (``'auto'``: half the CPUs; None: numpy's)."""

    def __post_init__(self) -> None:
        if self.channel_fac:
            raise NotImplementedError(
                "channel_fac (rank-1 SVD factorisation of 1x1-output convs) is not ported; "
                "ACKTR never enables it")
        if self.async_stats:
            raise NotImplementedError(
                "async_stats=True is not ported: in baselines the statistics queue runner "
                "cannot feed the batch placeholders, and ACKTR never enables it")
        if not _is_whole(self.kfac_update) or self.kfac_update < 1:
            raise ValueError(f"kfac_update must be >= 1, got {self.kfac_update}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.clip_kl <= 0:
            raise ValueError(f"clip_kl must be > 0, got {self.clip_kl}")
        if self.conv_stats not in CONV_STATS:
            raise ValueError(f"conv_stats must be 'rows' or 'patches', got {self.conv_stats!r}")
        if not _is_whole(self.stats_subsample) or self.stats_subsample < 1:
            raise ValueError(f"stats_subsample must be an integer >= 1, got "
                             f"{self.stats_subsample!r}")
        for name in ("kfac_update", "stats_accum_iter", "cold_iter", "stats_subsample",
                     "eigen_nice"):
            object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "weight_decay_dict", dict(self.weight_decay_dict or {}))
        if self.eigen_backend not in EIGEN_BACKENDS:
            raise ValueError(f"unknown eigen backend {self.eigen_backend!r}; choose from "
                             f"{EIGEN_BACKENDS}")
        if self.accum_iter < 1:
            raise ValueError("stats_accum_iter (or cold_iter without full_stats_init) must be >= 1")

    @property
    def accum_iter(self) -> int:
        """Statistics steps averaged as a superbatch before the EMA: baselines uses
        ``stats_accum_iter`` with ``full_stats_init`` and ``cold_iter`` otherwise."""
        return int(self.stats_accum_iter if self.full_stats_init else self.cold_iter)

    def replace(self, **changes: Any) -> KfacConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))
