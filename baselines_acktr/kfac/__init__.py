"""K-FAC (Martens & Grosse 2015; Grosse & Martens 2016) with ACKTR's trust region
(Wu et al. 2017), as baselines' ``acktr/kfac.py``: nothing here is RL-specific.

* :mod:`.config` — :class:`KfacConfig`, every option and its default;
* :mod:`.layers` — layers that register their inputs and outputs in a :class:`Capture`;
* :mod:`.factors`, :mod:`.patches` — Kronecker factors and their statistics;
* :mod:`.blocks` — one class per curvature block;
* :mod:`.optimizer` — :class:`KfacOptimizer`, the step as named stages;
* :mod:`.async_eigen`, :mod:`.eigen_worker` — the background decompositions.
"""
from .config import KfacConfig
from .layers import Capture, Conv2D, Dense, LogStd
from .optimizer import KfacOptimizer

__all__ = ["Capture", "Conv2D", "Dense", "KfacConfig", "KfacOptimizer", "LogStd"]
