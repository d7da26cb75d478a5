"""ACKTR (Wu et al. 2017); ports baselines ``acktr/``: :class:`Model` and :func:`learn`."""
from .acktr import KFAC_DEFAULTS, Model, learn

__all__ = ["KFAC_DEFAULTS", "Model", "learn"]
