"""A2C in the same code, for the paper's comparisons; ports baselines ``a2c/``."""
from .a2c import A2CModel, RMSPropOptimizer, learn

__all__ = ["A2CModel", "RMSPropOptimizer", "learn"]
