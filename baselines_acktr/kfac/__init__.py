"""K-FAC (Martens & Grosse 2015; Grosse & Martens 2016) with ACKTR's trust region
(Wu et al. 2017), as baselines' ``acktr/kfac.py``: nothing here is RL-specific.

* :mod:`.config` — :class:`KfacConfig`, every option and its default;
* :mod:`.layers` — layers that register their inputs and outputs in a :class:`Capture`;
* :mod:`.factors`, :mod:`.patches` — curvature factors and their statistics;
* :mod:`.blocks` — the curvature-block contract, its registry and the blocks;
* :mod:`.optimizer` — :class:`KfacOptimizer`, the step as named stages;
* :mod:`.train_step` — :class:`~.train_step.KfacTrainStep`, the optimizer's calling protocol;
* :mod:`.keras` — a ``keras.Sequential`` model's layers registered;
* :mod:`.async_eigen`, :mod:`.eigen_worker`, :mod:`.eigen_process` — the background
  decompositions (a thread, or a process that imports no TensorFlow).

The names below load on first use, so that the eigen process can import its module
without TensorFlow.
"""
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - what the names below are, for type checkers and readers
    from .config import KfacConfig
    from .layers import Capture, Conv2D, Dense, LogStd
    from .optimizer import KfacOptimizer

_API = {"KfacConfig": ".config", "Capture": ".layers", "Conv2D": ".layers", "Dense": ".layers",
        "LogStd": ".layers", "KfacOptimizer": ".optimizer"}

__all__ = ["Capture", "Conv2D", "Dense", "KfacConfig", "KfacOptimizer", "LogStd"]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
