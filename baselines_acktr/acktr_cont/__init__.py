"""The paper's continuous-control ACKTR: ports baselines branch ``old_acktr_cont``
(``acktr/acktr_cont.py`` and the ``train`` settings of its ``acktr/run_mujoco.py``).

This is the algorithm behind the MuJoCo results of Wu et al. 2017 (section 5.2),
which differs from baselines master's ACKTR on MuJoCo:

* separate networks, each with its own K-FAC optimizer: a Gaussian MLP policy on
  ``[obs, prev_obs]`` (:mod:`.policies`) and a value
  function on ``[obs, prev_obs, action_dist, t/10, 1]``
  (:mod:`.value_functions`), fitted with 25 K-FAC steps per
  iteration toward Monte-Carlo returns;
* whole episodes are collected until more than ``timesteps_per_batch`` (2500)
  steps; observations pass a running ``ZFilter`` (:mod:`baselines_acktr.common.filters`);
  actions in ``[-1, 1]`` are mapped affinely to the action box and clipped;
* GAE(γ = 0.99, λ = 0.97) advantages, standardised over the batch;
* one K-FAC step of the policy per iteration, whose learning rate
  ``stepsize`` (starting at 0.03) is adapted so that the KL divergence between
  the old and new policy stays near ``desired_kl = 0.002``: ÷1.5 (not below
  1e-8) when ``KL > 2·desired_kl``, ×1.5 (not above 1) when ``KL < desired_kl / 2``.

The policy's K-FAC settings are the branch's: ``learning_rate=stepsize,
cold_lr=stepsize·(1 − 0.9), momentum=0.9, kfac_update=2, epsilon=1e-2,
stats_decay=0.99, async_=1, cold_iter=1, weight_decay_dict=policy.wd_dict,
max_grad_norm=None`` and the defaults ``clip_kl=0.01``, ``blockdiag_bias=False``
(biases folded into their weights' blocks).  Because ``cold_lr`` follows the
adaptive ``stepsize`` there, it is handled by :class:`StepsizeKfacOptimizer`.

Modules: :mod:`.layers` (the branch's ``dense`` and log-std), :mod:`.policies`,
:mod:`.value_functions`, :mod:`.rollouts` (paths, GAE), :mod:`.learner`
(:class:`ContLearner`: the networks, optimizers, filter, step size, and the
branch's ``learn`` loop as ``fit``, with the project's logger keys, callback and
non-finite check), :mod:`.acktr_cont` (:func:`learn_cont`: the branch's
``learn`` as a function — the env and its ``Monitor``, a new or restored
learner, thread shutdown).
"""
from .acktr_cont import learn_cont, make_cont_env
from .learner import ContLearner, StepsizeKfacOptimizer, adjust_stepsize
from .rollouts import discount, path_advantages, rollout, standardize

__all__ = ["ContLearner", "StepsizeKfacOptimizer", "adjust_stepsize", "discount", "learn_cont",
           "make_cont_env", "path_advantages", "rollout", "standardize"]
