"""The paper's continuous learner: its networks, optimizers, filter and step size,
and the branch's ``learn`` loop as :meth:`ContLearner.fit`.

Ports baselines branch ``old_acktr_cont``: ``acktr/acktr_cont.learn`` and the
``train`` settings of its ``acktr/run_mujoco.py`` (see the package docstring).
"""
from __future__ import annotations

import time
from collections import deque

import numpy as np
import tensorflow as tf

from ..common.filters import ZFilter
from ..kfac.train_step import KfacTrainStep
from ..common.math_util import safemean
from ..common.train_loop import reached
from ..kfac.optimizer import KfacOptimizer
from .policies import GaussianMlpPolicy
from .layers import WEIGHT_DECAY_FC
from .rollouts import ReturnNormalizer, path_advantages, rollout, standardize
from .value_functions import FIT_ITERS, NeuralNetValueFunction, pathlength

INITIAL_STEPSIZE = 0.03  # the branch's stepsize variable
MIN_STEPSIZE = 1e-8
MAX_STEPSIZE = 1.0
STEPSIZE_FACTOR = 1.5

# The branch's policy K-FAC settings (policy_kfac_options overrides them); the
# learning rate is the adaptive stepsize and cold_lr = stepsize · (1 − 0.9).
POLICY_KFAC_OPTIONS = dict(momentum=0.9, kfac_update=2, epsilon=1e-2, stats_decay=0.99,
                           is_async=True, cold_iter=1, max_grad_norm=None)
COLD_LR_RATIO = 1 - 0.9
STEPSIZE_RULES = ("adaptive", "constant", "linear")


class StepsizeKfacOptimizer(KfacOptimizer):
    """``KfacOptimizer`` whose cold-start SGD rate is ``cold_lr_ratio · lr`` of each step.

    The branch builds its policy optimizer with ``learning_rate=stepsize,
    cold_lr=stepsize*(1-0.9)``: both tensors follow the adaptive ``stepsize``
    variable, where :class:`~baselines_acktr.kfac.KfacConfig` takes ``cold_lr`` as
    a constant; this subclass replaces the cold stage's rate.
    """

    def __init__(self, cold_lr_ratio=COLD_LR_RATIO, **options):
        if options.get("cold_lr") is not None:
            raise ValueError("StepsizeKfacOptimizer sets the cold rate from cold_lr_ratio")
        super().__init__(**options)
        self.cold_lr_ratio = float(cold_lr_ratio)

    def cold_rate(self, lr):
        return lr * np.float32(self.cold_lr_ratio)


def adjust_stepsize(stepsize, kl, desired_kl, min_stepsize=MIN_STEPSIZE,
                    max_stepsize=MAX_STEPSIZE):
    """The branch's step-size rule; returns ``(new_stepsize, message)``.

    ``KL > 2·desired_kl``: ``max(min_stepsize, stepsize / 1.5)`` ("kl too high");
    ``KL < desired_kl / 2``: ``min(max_stepsize, stepsize · 1.5)`` ("kl too low");
    otherwise unchanged ("kl just right!").  In float32, as the TF1 variable.
    """
    stepsize = np.float32(stepsize)
    if kl > desired_kl * 2:
        return float(max(np.float32(min_stepsize), stepsize / np.float32(STEPSIZE_FACTOR))), \
            "kl too high"
    if kl < desired_kl / 2:
        return float(min(np.float32(max_stepsize), stepsize * np.float32(STEPSIZE_FACTOR))), \
            "kl too low"
    return float(stepsize), "kl just right!"


class _Actor:
    """Plays as the branch's ``rollout``: the policy sees ``[ob, prev_ob]`` (filtered,
    statistics frozen; ``prev_ob`` zeros at an episode's start) and its action in
    ``[-1, 1]`` is mapped affinely to the action box and clipped.  ``deterministic``:
    the mean action instead of a sample."""

    def __init__(self, learner, action_space, deterministic=False):
        self.policy, self.obfilter = learner.policy, learner.obfilter
        self.low, self.high = action_space.low, action_space.high
        self.deterministic = deterministic
        self.prev = None

    def reset(self):
        self.prev = None

    def __call__(self, ob):
        ob = self.obfilter(ob, update=False)
        prev = np.zeros(ob.shape, np.float32) if self.prev is None else self.prev
        ac, ac_dist, _ = self.policy.act(np.concatenate([ob, prev], -1))
        if self.deterministic:
            ac = ac_dist[:self.policy.ac_dim]  # the mean
        self.prev = np.copy(ob)
        return np.clip(self.low + (ac + 1.0) * 0.5 * (self.high - self.low), self.low, self.high)


class ContLearner(tf.Module):
    """Policy, value function (with its K-FAC), the policy's K-FAC, the observation
    filter, the adaptive ``stepsize`` and the progress counters ``[iterations,
    timesteps]``: everything :meth:`fit` trains, as tf variables
    (``tf.train.Checkpoint(**learner.trackables())`` saves it all).

    Built like the branch's ``run_mujoco.train``: value function first, then the
    policy, normc weights drawn from ``numpy.random.RandomState(seed)`` in
    baselines' order.  ``is_async`` (baselines: on) runs both optimizers'
    eigen-decompositions in background threads; :meth:`close` stops them.
    ``wait_first_eigen``, ``eigen_backend``, ``eigen_nice``: the threads' options
    (:class:`~baselines_acktr.kfac.KfacConfig`).  ``policy_kfac_options`` /
    ``vf_kfac_options`` override the branch's K-FAC settings.  ``gamma``, ``lam``,
    ``timesteps_per_batch``, ``desired_kl``: the branch's ``learn`` arguments;
    ``stepsize`` the step size's start and ``vf_fit_iters`` the value steps per
    iteration (the branch's constants; :class:`~baselines_acktr.common.configs.ContConfig`).

    Ablation switches toward baselines master's continuous ACKTR (issue 21; the
    defaults replay the branch, and ``ContConfig`` documents each): ``ent_coef``,
    ``policy_prev_obs``, ``logstd_block`` (:class:`.policies.GaussianMlpPolicy`);
    ``vf_features``, ``vf_activation`` (:class:`.value_functions.NeuralNetValueFunction`);
    ``weight_decay`` and ``init`` (both networks); ``standardize_adv``;
    ``reward_norm`` (:class:`.rollouts.ReturnNormalizer`); ``stepsize_rule``:
    ``'adaptive'`` (the branch), ``'constant'`` (``stepsize`` throughout) or
    ``'linear'`` (master's ``Scheduler(lr, total_timesteps, 'linear')`` as its
    ``train`` reads it: ``stepsize·(1 − (t − 1)/stepsize_horizon)`` with ``t`` the
    timesteps collected including this batch, not below 0; ``stepsize_horizon``
    None: ``fit``'s ``total_timesteps``).
    """

    def __init__(self, ob_dim: int, ac_dim: int, seed: int = 0, is_async: bool = True,
                 wait_first_eigen: bool = True, eigen_backend: str = "auto", eigen_nice: int = 0,
                 policy_kfac_options: dict | None = None, vf_kfac_options: dict | None = None,
                 gamma: float = 0.99, lam: float = 0.97, timesteps_per_batch: int = 2500,
                 desired_kl: float = 0.002, stepsize: float = INITIAL_STEPSIZE,
                 vf_fit_iters: int = FIT_ITERS, ent_coef: float = 0.0,
                 standardize_adv: bool = True, policy_prev_obs: bool = True,
                 logstd_block: str = "batch", vf_features: str = "paper",
                 vf_activation: str = "elu", weight_decay: float = WEIGHT_DECAY_FC,
                 init: str = "normc", stepsize_rule: str = "adaptive",
                 stepsize_horizon: int | None = None, reward_norm: bool = False):
        super().__init__(name="acktr_cont")
        if timesteps_per_batch <= 0:
            raise ValueError(f"timesteps_per_batch must be > 0, got {timesteps_per_batch}")
        if stepsize_rule not in STEPSIZE_RULES:
            raise ValueError(f"stepsize_rule must be one of {STEPSIZE_RULES}, got {stepsize_rule!r}")
        self.ob_dim, self.ac_dim = int(ob_dim), int(ac_dim)
        self.ret_norm = ReturnNormalizer(gamma) if reward_norm else None
        self.gamma, self.lam = gamma, lam
        self.timesteps_per_batch, self.desired_kl = int(timesteps_per_batch), desired_kl
        self.standardize_adv, self.stepsize_rule = bool(standardize_adv), stepsize_rule
        self.initial_stepsize, self.stepsize_horizon = float(stepsize), stepsize_horizon
        rng = np.random.RandomState(seed)
        sample_rng, noise_rng = tf.random.Generator.from_seed(seed).split(2)
        self.vf = NeuralNetValueFunction(ob_dim, ac_dim, rng, seed=seed, is_async=is_async,
                                         wait_first_eigen=wait_first_eigen,
                                         eigen_backend=eigen_backend, eigen_nice=eigen_nice,
                                         kfac_options=vf_kfac_options, noise_rng=noise_rng,
                                         fit_iters=vf_fit_iters, activation=vf_activation,
                                         features=vf_features, weight_decay=weight_decay,
                                         init=init)
        self.policy = GaussianMlpPolicy(ob_dim, ac_dim, rng, sample_rng, ent_coef=ent_coef,
                                        prev_obs=policy_prev_obs, weight_decay=weight_decay,
                                        init=init, logstd_block=logstd_block)
        self.obfilter = ZFilter((self.ob_dim,))
        self.stepsize = tf.Variable(np.float32(stepsize), trainable=False, name="stepsize")
        self.progress = tf.Variable([0, 0], dtype=tf.int64, trainable=False, name="progress")
        opts = dict(POLICY_KFAC_OPTIONS, learning_rate=stepsize, is_async=is_async,
                    weight_decay_dict=self.policy.wd_dict, wait_first_eigen=wait_first_eigen,
                    eigen_backend=eigen_backend, eigen_nice=int(eigen_nice))
        opts.update(policy_kfac_options or {})
        self.policy_optim = StepsizeKfacOptimizer(**opts)
        specs = [tf.TensorSpec([None, 2 * self.ob_dim], tf.float32),
                 tf.TensorSpec([None, self.ac_dim], tf.float32), tf.TensorSpec([None], tf.float32)]
        self.policy_step = KfacTrainStep(
            self.policy_optim, self.policy.params, self._policy_losses, specs,
            probe=lambda capture: self.policy.ac_dist(tf.zeros([1, 2 * self.ob_dim]), capture))

    def _policy_losses(self, ob_no, ac_na, adv_n, capture):
        surr, surr_sampled = self.policy.losses(ob_no, ac_na, adv_n, capture)
        return surr, surr_sampled, (surr,)

    def update_policy(self, ob_no, action_na, adv_n):
        """One K-FAC step of the policy at the current ``stepsize`` (the branch's
        ``do_update``); returns ``surr`` before the step."""
        batch = [tf.convert_to_tensor(np.asarray(x, np.float32)) for x in (ob_no, action_na, adv_n)]
        (surr,) = self.policy_step(batch, self.stepsize.read_value())
        return float(surr.numpy())

    # ------------------------------------------------------------ the protocol
    @property
    def iterations_done(self):
        return int(self.progress[0].numpy())

    updates_done = iterations_done

    @property
    def timesteps_done(self):
        return int(self.progress[1].numpy())

    def trackables(self):
        """What a checkpoint holds (the filter's variables are current after every iteration)."""
        out = dict(policy=self.policy, vf=self.vf, policy_optim=self.policy_optim,
                   obfilter=self.obfilter, stepsize=self.stepsize, progress=self.progress)
        if self.ret_norm is not None:  # only with reward_norm: the default's content is 0.1's
            out["ret_rms"] = self.ret_norm.rms
        return out

    def agent_trackables(self):
        """A shipped agent's part of the checkpoint: the policy, the filter and progress
        (no value function, no optimizer state)."""
        return dict(policy=self.policy, obfilter=self.obfilter, progress=self.progress)

    @property
    def gamma(self):
        """The discount of the advantages and, with ``reward_norm``, of the return
        normaliser (setting it sets both)."""
        return self._gamma

    @gamma.setter
    def gamma(self, value):
        self._gamma = value
        if self.ret_norm is not None:
            self.ret_norm.gamma = value

    def restore_progress(self):
        """After a restore: the filter's running statistics from its variables."""
        self.obfilter.load_from_variables()

    def check_budget(self, total_timesteps):
        if self.timesteps_done >= total_timesteps:
            raise ValueError(f"the checkpoint is already at {self.timesteps_done} timesteps; "
                             "raise --num_timesteps to continue")

    def actor(self, action_space, deterministic=False):
        return _Actor(self, action_space, deterministic)

    def close(self):
        """Stop both optimizers' eigen threads (idempotent; they restart on the next update)."""
        self.policy_step.close()
        self.vf.close()

    # ------------------------------------------------------------ training
    def fit(self, env, total_timesteps: int, logger, *, seed: int | None = None,
            log_interval: int = 1, on_update=None, progress=None, callback=None,
            stop_reward: float | None = None) -> int:
        """The branch's ``learn`` loop on ``env`` (a single ``Monitor``-wrapped env with
        1-D Box spaces) until more than ``total_timesteps`` steps were collected,
        continuing from :attr:`iterations_done`; returns the iterations done.

        The first reset is seeded with ``seed``.  After each iteration:
        ``callback(locals())`` (the branch's), then the row is dumped, then
        ``on_update(iterations_done)`` and ``progress(...)``; either callback
        returning False stops training.  Every iteration is logged (as the
        branch; ``log_interval`` is ignored).  Raises ``FloatingPointError`` if a
        loss or the KL is not finite (nothing of that iteration is logged).  ``stop_reward``
        stops it once the last 100 Monitor episodes reach that mean return.
        """
        learner = self  # noqa: F841 - for callback(locals()), as the branch's
        policy, vf, obfilter = self.policy, self.vf, self.obfilter
        max_pathlength = env.spec.max_episode_steps if env.spec is not None else None
        i, timesteps_so_far = self.iterations_done, self.timesteps_done
        start_timesteps, tstart = timesteps_so_far, time.time()
        epinfobuf = deque(maxlen=100)
        reset_seed = seed
        self._horizon = self.stepsize_horizon or total_timesteps
        while timesteps_so_far <= total_timesteps:
            _log(logger, f"********** Iteration {i} ************")
            paths, n = [], 0
            while n <= self.timesteps_per_batch:  # whole paths until more than a batch
                path = rollout(env, policy, max_pathlength, obfilter=obfilter, seed=reset_seed)
                reset_seed = None
                paths.append(path)
                if path["episode"] is not None:
                    epinfobuf.append(path["episode"])
                n += pathlength(path)
            timesteps_so_far += n
            kl, surr, vf_info, stepsize, message = self._iteration(paths, i, timesteps_so_far)
            _log(logger, message)
            self.progress.assign([i + 1, timesteps_so_far])
            obfilter.sync_to_variables()
            fps = int((timesteps_so_far - start_timesteps) / max(time.time() - tstart, 1e-9))
            eprewmean = safemean([e["r"] for e in epinfobuf])
            _record(logger, paths, vf_info, kl, stepsize, surr, i, timesteps_so_far, eprewmean,
                    safemean([e["l"] for e in epinfobuf]), fps)
            failures = self.policy_optim.eigen_failures + self.vf.optim.eigen_failures
            if failures:  # until the first, the rows hold exactly the branch's keys
                logger.record("eigen_failures", failures)
            stop = callback is not None and callback(locals()) is False
            logger.dump(step=timesteps_so_far)
            i += 1
            stop = (on_update is not None and on_update(i) is False) or stop
            if progress is not None:
                progress(timesteps_so_far, total_timesteps, fps, eprewmean)
            if stop or reached(epinfobuf, stop_reward):
                break
        return i

    def _iteration(self, paths, i, timesteps=None):
        """Value fit, one policy step, the step-size rule; ``(kl, surr, vf_info, stepsize,
        message)`` with the step size this update used and the rule's message.
        ``timesteps``: collected so far, this batch included (the ``'linear'`` rule)."""
        if self.stepsize_rule == "linear":
            horizon = getattr(self, "_horizon", None) or self.stepsize_horizon
            self.stepsize.assign(np.float32(self.initial_stepsize * max(
                0.0, 1.0 - (timesteps - 1) / horizon)))
        vtargs, advs = [], []
        for path, vpred in zip(paths, self.vf.predict_paths(paths)):
            rewards = path["reward"] if self.ret_norm is None else self.ret_norm(path["reward"])
            vtarg, adv = path_advantages(rewards, vpred, path["terminated"], self.gamma,
                                         self.lam)
            vtargs.append(vtarg)
            advs.append(adv)
        vf_info = self.vf.fit(paths, vtargs)
        if not np.isfinite(vf_info["vf_loss"]):
            raise FloatingPointError(f"acktr_cont: non-finite value-function loss "
                                     f"{vf_info['vf_loss']} at iteration {i}")
        ob_no = np.concatenate([path["observation"] for path in paths])
        action_na = np.concatenate([path["action"] for path in paths])
        oldac_dist = np.concatenate([path["action_dist"] for path in paths])
        adv_n = np.concatenate(advs)
        standardized_adv_n = standardize(adv_n) if self.standardize_adv else adv_n
        stepsize = float(self.stepsize.numpy())
        surr = self.update_policy(ob_no, action_na, standardized_adv_n)
        kl = self.policy.compute_kl(ob_no, oldac_dist)
        if not (np.isfinite(surr) and np.isfinite(kl)):
            raise FloatingPointError(f"acktr_cont: non-finite policy loss {surr} or KL {kl} at "
                                     f"iteration {i} (stepsize {stepsize})")
        if self.stepsize_rule == "adaptive":
            new_stepsize, message = adjust_stepsize(stepsize, kl, self.desired_kl)
            self.stepsize.assign(new_stepsize)
        else:
            message = f"stepsize {self.stepsize_rule}"
        return kl, surr, vf_info, stepsize, message


def _log(logger, msg):
    if logger.stream is not None:
        logger.stream.write(msg + "\n")


def _record(logger, paths, vf_info, kl, stepsize, surr, i, timesteps_so_far, eprewmean,
            eplenmean, fps):
    """The branch's keys, then the project's (``eprewmean`` over the last 100 Monitor episodes)."""
    returns = [path["reward"].sum() for path in paths]
    for key, value in vf_info.items():
        if key != "vf_loss":
            logger.record(key, value)
    logger.record("EpRewMean", float(np.mean(returns)))
    logger.record("EpRewSEM", float(np.std([r / np.sqrt(len(paths)) for r in returns])))
    logger.record("EpLenMean", float(np.mean([pathlength(path) for path in paths])))
    logger.record("KL", float(kl))
    logger.record("stepsize", stepsize)
    logger.record("policy_loss", float(surr))
    logger.record("vf_loss", float(vf_info["vf_loss"]))
    logger.record("iteration", i)
    logger.record("total_timesteps", timesteps_so_far)
    logger.record("eprewmean", eprewmean)
    logger.record("eplenmean", eplenmean)
    logger.record("fps", fps)
