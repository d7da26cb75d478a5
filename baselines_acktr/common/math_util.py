"""Returns and statistics; ports baselines ``a2c/utils.discount_with_dones``,
``common/math_util.explained_variance`` and ``ppo2.safemean``."""
import numpy as np


def discount_with_dones(rewards, dones, gamma):
    """Discounted returns that restart after each done; ports ``a2c.utils.discount_with_dones``."""
    discounted = []
    r = 0
    for reward, done in zip(rewards[::-1], dones[::-1]):
        r = reward + gamma * r * (1.0 - done)
        discounted.append(r)
    return discounted[::-1]


def explained_variance(ypred, y):
    """1 − Var[y − ypred] / Var[y] (nan when Var[y] = 0); ports ``common.math_util``."""
    vary = np.var(y)
    return np.nan if vary == 0 else 1 - np.var(y - ypred) / vary


def safemean(xs):
    """Mean, or nan for an empty list; ports ``ppo2.safemean``."""
    return np.nan if len(xs) == 0 else float(np.mean(xs))
