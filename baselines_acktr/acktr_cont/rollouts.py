"""Paths and advantages of the paper's continuous-control ACKTR (branch ``old_acktr_cont``):
the branch's ``rollout``, ``common.discount`` and the GAE / standardisation steps of its ``learn``."""
import itertools

import numpy as np


def discount(x, gamma):
    """``y[t] = Σ_k gamma^k x[t+k]`` along axis 0; ports ``common.discount``
    (which uses ``scipy.signal.lfilter``)."""
    x = np.asarray(x, np.float64)
    out = np.zeros_like(x)
    acc = np.zeros_like(x[0]) if len(x) else 0.0
    for t in range(len(x) - 1, -1, -1):
        acc = x[t] + gamma * acc
        out[t] = acc
    return out


def path_advantages(rewards, vpred, terminated, gamma, lam):
    """``(return_t, adv_t)`` of one path, as the branch's ``learn``:

    ``return_t = discount(r, γ)`` (the value target, no bootstrap);
    ``v`` extended with ``0`` if the path ended by ``done``, else with its last
    prediction ``v[-1]``; ``δ_t = r_t + γ v_{t+1} − v_t``;
    ``adv_t = discount(δ, γλ)``.
    """
    rewards = np.asarray(rewards, np.float64)
    vpred = np.append(np.asarray(vpred, np.float64), 0.0 if terminated else vpred[-1])
    delta = rewards + gamma * vpred[1:] - vpred[:-1]
    return discount(rewards, gamma), discount(delta, gamma * lam)


def standardize(adv):
    """``(adv − mean) / (std + 1e-8)``, as the branch's ``standardized_adv_n``."""
    adv = np.asarray(adv, np.float64)
    return (adv - adv.mean()) / (adv.std() + 1e-8)


def rollout(env, policy, max_pathlength, obfilter=None, seed=None, update_filter=True):
    """One episode (at most ``max_pathlength`` steps); ports the branch's ``rollout``.

    The policy sees ``[ob, prev_ob]`` (filtered; ``prev_ob`` is zeros at the
    first step); the action ``ac`` is mapped to ``low + (ac + 1)·(high − low)/2``
    and clipped to the box.  Every observation, the last one included, goes
    through ``obfilter`` (updating it unless ``update_filter=False``).  As
    baselines, whose gym signalled time limits with ``done``, a path ends on
    ``terminated or truncated`` and then counts as ``terminated`` (no bootstrap).

    Returns a dict of arrays ``observation, action, action_dist, logp, reward``,
    the flag ``terminated``, and ``episode``: the ``Monitor`` record of the
    episode (``{'r', 'l', 't'}``) or None.
    """
    ob, _ = env.reset(seed=seed)
    prev_ob = np.float32(np.zeros(ob.shape))
    if obfilter:
        ob = obfilter(ob, update=update_filter)
    low, high = env.action_space.low, env.action_space.high
    terminated, episode = False, None
    obs, acs, ac_dists, logps, rewards = [], [], [], [], []
    steps = itertools.count() if max_pathlength is None else range(int(max_pathlength))
    for _ in steps:
        state = np.concatenate([ob, prev_ob], -1)
        obs.append(state)
        ac, ac_dist, logp = policy.act(state)
        acs.append(ac)
        ac_dists.append(ac_dist)
        logps.append(logp)
        prev_ob = np.copy(ob)
        scaled_ac = low + (ac + 1.0) * 0.5 * (high - low)
        scaled_ac = np.clip(scaled_ac, low, high)
        ob, rew, term, trunc, info = env.step(scaled_ac)
        if obfilter:
            ob = obfilter(ob, update=update_filter)
        rewards.append(rew)
        if term or trunc:
            terminated = True
            episode = info.get("episode")
            break
    return {"observation": np.array(obs), "terminated": terminated,
            "reward": np.array(rewards), "action": np.array(acs),
            "action_dist": np.array(ac_dists), "logp": np.array(logps), "episode": episode}


class ReturnNormalizer:
    """Ablation switch ``reward_norm`` (issue 21): the return half of baselines master's
    ``common/vec_env/vec_normalize.VecNormalize`` (``ret=True``, one env), which the
    branch does not have, applied to each path's rewards in the order they were collected.

    Per step: ``ret ← γ·ret + r``; the running variance of ``ret`` is updated with it
    (:class:`~baselines_acktr.envs.vec_normalize.RunningMeanStd`, as master's); the
    reward becomes ``clip(r / √(var + 1e-8), ±10)``; ``ret`` restarts at 0 with every
    path (every path is one episode, and master zeroes ``ret`` at ``done``).  Only the
    value targets and advantages see the scaled rewards: the ``Monitor`` and the logged
    returns keep the raw ones, as master's ``Monitor`` sits below ``VecNormalize``.
    ``rms`` is checkpointed (``ret_rms``).
    """

    def __init__(self, gamma, clip=10.0, epsilon=1e-8):
        from ..envs.vec_normalize import RunningMeanStd

        self.rms = RunningMeanStd((), name="ret_rms")
        self.gamma, self.clip, self.epsilon = gamma, clip, epsilon

    def __call__(self, rewards):
        out, ret = np.empty(len(rewards), np.float64), 0.0
        for t, r in enumerate(np.asarray(rewards, np.float64)):
            ret = ret * self.gamma + r
            self.rms.update(np.array([ret]))
            out[t] = np.clip(r / np.sqrt(self.rms.var + self.epsilon), -self.clip, self.clip)
        return out
