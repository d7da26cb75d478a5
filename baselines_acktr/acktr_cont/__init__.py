"""The paper's continuous-control ACKTR: ports baselines branch ``old_acktr_cont``."""
from .acktr_cont import (ContLearner, StepsizeKfacOptimizer, adjust_stepsize, discount,
                         learn_cont, make_cont_env, path_advantages, rollout, standardize)

__all__ = ["ContLearner", "StepsizeKfacOptimizer", "adjust_stepsize", "discount", "learn_cont",
           "make_cont_env", "path_advantages", "rollout", "standardize"]
