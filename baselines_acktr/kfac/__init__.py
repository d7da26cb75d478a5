from .optimizer import KfacOptimizer

__all__ = ["KfacOptimizer"]
