"""The paper's continuous-control ACKTR: ports baselines branch ``old_acktr_cont``
(``acktr/acktr_cont.py`` and the ``train`` settings of its ``acktr/run_mujoco.py``).

This is the algorithm behind the MuJoCo results of Wu et al. 2017 (section 5.2),
which differs from baselines master's ACKTR on MuJoCo:

* separate networks, each with its own K-FAC optimizer: a Gaussian MLP policy on
  ``[obs, prev_obs]`` (:mod:`baselines_acktr.cont_policies`) and a value
  function on ``[obs, prev_obs, action_dist, t/10, 1]``
  (:mod:`baselines_acktr.value_functions`), fitted with 25 K-FAC steps per
  iteration toward Monte-Carlo returns;
* whole episodes are collected until more than ``timesteps_per_batch`` (2500)
  steps; observations pass a running ``ZFilter`` (:mod:`baselines_acktr.filters`);
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

``learn_cont`` is the branch's ``learn`` plus the project's plumbing (logger
keys, callback, non-finite check, thread shutdown, resumable progress).
"""
import itertools
import os
import time
from collections import deque

import gymnasium as gym
import numpy as np
import tensorflow as tf

from ..common.filters import ZFilter
from ..common.math_util import safemean
from ..envs.monitor import Monitor
from ..envs.vec_env import check_env_id
from ..kfac.layers import Capture
from ..kfac.optimizer import KfacOptimizer
from .policies import GaussianMlpPolicy
from .value_functions import NeuralNetValueFunction, pathlength

INITIAL_STEPSIZE = 0.03  # the branch's stepsize variable
MIN_STEPSIZE = 1e-8
MAX_STEPSIZE = 1.0
STEPSIZE_FACTOR = 1.5

# The branch's policy K-FAC settings (kfac_options overrides them); the learning
# rate is the adaptive stepsize and cold_lr = stepsize · (1 − 0.9).
POLICY_KFAC_OPTIONS = dict(momentum=0.9, kfac_update=2, epsilon=1e-2, stats_decay=0.99,
                           is_async=True, cold_iter=1, max_grad_norm=None)
COLD_LR_RATIO = 1 - 0.9


# --------------------------------------------------------------------------- #
# K-FAC with a cold-start rate that follows the step size
# --------------------------------------------------------------------------- #
class StepsizeKfacOptimizer(KfacOptimizer):
    """``KfacOptimizer`` whose cold-start SGD rate is ``cold_lr_ratio · lr`` of
    each step.

    The branch builds its policy optimizer with ``learning_rate=stepsize,
    cold_lr=stepsize*(1-0.9)``: both are tensors that follow the adaptive
    ``stepsize`` variable.  ``KfacOptimizer`` takes ``cold_lr`` as a constant, so
    this subclass gives the parent ``cold_lr=0`` (its cold update then moves the
    parameters by ``0 · m_C`` while it still updates the cold momentum ``m_C``
    and ``sgd_step``) and applies ``θ −= cold_lr_ratio · lr · m_C`` itself right
    after it, under the parent's condition (``sgd_step ≤ cold_iter`` at the start
    of the step).  Everything else is the parent's step.
    """

    def __init__(self, cold_lr_ratio=COLD_LR_RATIO, **kwargs):
        if kwargs.pop("cold_lr", None) is not None:
            raise ValueError("StepsizeKfacOptimizer sets the cold rate from cold_lr_ratio")
        super().__init__(cold_lr=0.0, **kwargs)
        self.cold_lr_ratio = float(cold_lr_ratio)

    def apply_updates(self, grads, lr=None, eigen_ready=None):
        lr = tf.convert_to_tensor(self.learning_rate if lr is None else lr, tf.float32)
        s0 = tf.identity(self.sgd_step.read_value())
        super().apply_updates(grads, lr, eigen_ready)
        rate = lr * np.float32(self.cold_lr_ratio)

        def cold_step():
            for var, m in zip(self.var_list, self.cold_momentum):
                var.assign_sub(rate * m)
            return tf.constant(True)

        tf.cond(s0 <= self.cold_iter, cold_step, lambda: tf.constant(False))


# --------------------------------------------------------------------------- #
# Advantages and the step-size rule
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# Rollouts
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# The learner: what a checkpoint holds
# --------------------------------------------------------------------------- #
class ContLearner(tf.Module):
    """Policy, value function (with its K-FAC), the policy's K-FAC, the
    observation filter, the adaptive ``stepsize`` and the progress counters
    ``[iterations, timesteps]``: everything ``learn_cont`` trains, as tf
    variables (``tf.train.Checkpoint(**learner.trackables())`` saves it all; after
    a restore, ``learn_cont(..., learner=learner)`` continues and reloads the
    filter's statistics from its variables).

    Built like the branch's ``run_mujoco.train``: value function first, then
    the policy, normc weights drawn from ``numpy.random.RandomState(seed)`` in
    baselines' order.  ``is_async`` (baselines: on) runs both optimizers'
    eigen-decompositions in background threads; :meth:`close` stops them.
    ``wait_first_eigen``, ``eigen_backend``, ``eigen_nice`` (``nice``): see
    :meth:`KfacOptimizer.start_async`.  ``policy_kfac_options`` /
    ``vf_kfac_options`` override the branch's K-FAC settings.
    """

    def __init__(self, ob_dim, ac_dim, seed=0, is_async=True, wait_first_eigen=True,
                 eigen_backend="auto", eigen_nice=0, policy_kfac_options=None,
                 vf_kfac_options=None):
        super().__init__(name="acktr_cont")
        self.ob_dim, self.ac_dim = int(ob_dim), int(ac_dim)
        rng = np.random.RandomState(seed)
        sample_rng, noise_rng = tf.random.Generator.from_seed(seed).split(2)
        self.vf = NeuralNetValueFunction(ob_dim, ac_dim, rng, seed=seed, is_async=is_async,
                                         wait_first_eigen=wait_first_eigen,
                                         eigen_backend=eigen_backend, eigen_nice=eigen_nice,
                                         kfac_options=vf_kfac_options, noise_rng=noise_rng)
        self.policy = GaussianMlpPolicy(ob_dim, ac_dim, rng, sample_rng)
        self.obfilter = ZFilter((self.ob_dim,))
        self.stepsize = tf.Variable(np.float32(INITIAL_STEPSIZE), trainable=False, name="stepsize")
        self.progress = tf.Variable([0, 0], dtype=tf.int64, trainable=False, name="progress")
        opts = dict(POLICY_KFAC_OPTIONS, learning_rate=INITIAL_STEPSIZE, is_async=is_async,
                    weight_decay_dict=self.policy.wd_dict)
        opts.update(policy_kfac_options or {})
        self.policy_optim = StepsizeKfacOptimizer(**opts)
        self._async_options = dict(wait_first_eigen=wait_first_eigen, backend=eigen_backend)
        if eigen_nice:
            self._async_options["nice"] = int(eigen_nice)

        ob_spec = tf.TensorSpec([None, 2 * self.ob_dim], tf.float32)
        ac_spec = tf.TensorSpec([None, self.ac_dim], tf.float32)
        adv_spec = tf.TensorSpec([None], tf.float32)
        if self.policy_optim.is_async:
            grad_sig = [tf.TensorSpec(p.shape, tf.float32) for p in self.policy.params]
            self._stats_step = tf.function(self._stats_step_impl,
                                           input_signature=[ob_spec, ac_spec, adv_spec])
            self._update_step = tf.function(
                self._update_step_impl, input_signature=[grad_sig, tf.TensorSpec([], tf.bool)])
        else:
            self._train_step = tf.function(self._train_step_impl,
                                           input_signature=[ob_spec, ac_spec, adv_spec])
        capture = Capture()
        self.policy.ac_dist(tf.zeros([1, 2 * self.ob_dim]), capture)
        self.policy_optim.build(self.policy.params, self.policy.kfac_layers, capture)

    # -------------------------------------------------------- policy step
    def _grads_and_stats(self, ob_no, ac_na, adv_n):
        capture = Capture()
        with tf.GradientTape(persistent=True) as tape:
            surr, surr_sampled = self.policy.losses(ob_no, ac_na, adv_n, capture)
        grads = tape.gradient(surr, self.policy.params)
        deltas = tape.gradient(surr_sampled, self.policy_optim.factor_outputs(capture))
        del tape
        return surr, grads, self.policy_optim.compute_stats(capture, deltas)

    def _train_step_impl(self, ob_no, ac_na, adv_n):
        surr, grads, new_stats = self._grads_and_stats(ob_no, ac_na, adv_n)
        self.policy_optim.apply_gradients(grads, new_stats, self.stepsize.read_value())
        return surr

    def _stats_step_impl(self, ob_no, ac_na, adv_n):
        surr, grads, new_stats = self._grads_and_stats(ob_no, ac_na, adv_n)
        self.policy_optim.update_stats(new_stats)
        return surr, grads

    def _update_step_impl(self, grads, eigen_ready):
        self.policy_optim.apply_updates(grads, self.stepsize.read_value(), eigen_ready)
        return tf.constant(True)

    def update_policy(self, ob_no, action_na, adv_n):
        """One K-FAC step of the policy at the current ``stepsize`` (the branch's
        ``do_update``); returns ``surr`` before the step."""
        batch = [tf.convert_to_tensor(np.asarray(x, np.float32)) for x in (ob_no, action_na, adv_n)]
        if not self.policy_optim.is_async:
            return float(self._train_step(*batch).numpy())
        if self.policy_optim._worker is None:
            self.policy_optim.start_async(**self._async_options)
        surr, grads = self._stats_step(*batch)
        ready = self.policy_optim.async_exchange()
        self._update_step(grads, tf.constant(ready))
        return float(surr.numpy())

    # ------------------------------------------------------------ plumbing
    @property
    def iterations_done(self):
        return int(self.progress[0].numpy())

    @property
    def timesteps_done(self):
        return int(self.progress[1].numpy())

    def trackables(self):
        """What a checkpoint holds (the filter's variables are current after every iteration)."""
        return dict(policy=self.policy, vf=self.vf, policy_optim=self.policy_optim,
                    obfilter=self.obfilter, stepsize=self.stepsize, progress=self.progress)

    def close(self):
        """Stop both optimizers' eigen threads (idempotent; they restart on the next update)."""
        self.policy_optim.stop_async()
        self.vf.close()


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #
def make_cont_env(env_id, seed, monitor_dir=None, env_kwargs=None):
    """``Monitor(gym.make(env_id))`` as the branch's ``make_mujoco_env`` (rank 0):
    monitor file ``<monitor_dir>/0.monitor.csv``.  The env is seeded with ``seed``
    at the first reset (``learn_cont`` does that)."""
    check_env_id(env_id)
    env = gym.make(env_id, **(env_kwargs or {}))
    if not isinstance(env.action_space, gym.spaces.Box) or len(env.action_space.shape) != 1 \
            or len(env.observation_space.shape) != 1:
        env.close()
        raise ValueError(f"{env_id}: acktr_cont needs 1-D Box observations and actions, got "
                         f"{env.observation_space} and {env.action_space}")
    filename = None
    if monitor_dir is not None:
        os.makedirs(monitor_dir, exist_ok=True)
        filename = os.path.join(monitor_dir, "0")
    return Monitor(env, filename)


def learn_cont(env_id, seed, num_timesteps=1_000_000, logger=None, monitor_dir=None,
               gamma=0.99, lam=0.97, timesteps_per_batch=2500, desired_kl=0.002,
               is_async=True, wait_first_eigen=True, eigen_backend="auto", eigen_nice=0,
               learner=None, env_kwargs=None, callback=None):
    """Train the paper's continuous-control ACKTR; ports the branch's ``learn``
    with ``run_mujoco.train``'s settings (defaults above).

    Builds ``Monitor(gym.make(env_id))`` (``monitor_dir``: its csv) and, unless
    ``learner`` (a :class:`ContLearner`, e.g. restored from a checkpoint) is
    given, a new ``ContLearner`` (``seed``, ``is_async``, ``wait_first_eigen``,
    ``eigen_backend``, ``eigen_nice`` are its arguments; a given learner keeps
    its own); iterates as the branch does (it stops once
    more than ``num_timesteps`` steps were collected, counting a resumed
    learner's earlier steps) and returns the learner.

    Per iteration the ``logger`` (:class:`~baselines_acktr.logger.Logger`,
    stdout only if None) gets the branch's keys ``EVBefore, EVAfter, EpRewMean,
    EpRewSEM, EpLenMean, KL``, then ``stepsize`` (the one this update used),
    ``policy_loss`` (``surr``), ``vf_loss`` (before the last value step),
    ``iteration`` and the project's ``total_timesteps, eprewmean, eplenmean,
    fps`` (``eprewmean``/``eplenmean`` over the last 100 ``Monitor`` episodes);
    the branch's "Iteration" and "kl too high/low" lines go to the logger's stream.

    ``callback(locals_dict)`` runs once per iteration, after the update and
    before the row is dumped (as baselines' ``callback()``), with this
    function's locals: ``learner`` (its filter variables synced), ``i`` (the
    iteration just done), ``timesteps_so_far``, ``kl``, ``paths``...; returning
    ``False`` stops training after the row is written.  Raises
    ``FloatingPointError`` if a loss or the KL is not finite (nothing of that
    iteration is logged).  The eigen threads are stopped and the env is closed
    on return and on any exception.
    """
    from ..common.logger import Logger

    if num_timesteps <= 0 or timesteps_per_batch <= 0:
        raise ValueError(f"num_timesteps and timesteps_per_batch must be > 0, got "
                         f"{num_timesteps} and {timesteps_per_batch}")
    np.random.seed(seed)
    tf.random.set_seed(seed)
    logger = logger or Logger()

    def log(msg):
        if logger.stream is not None:
            logger.stream.write(msg + "\n")

    env = make_cont_env(env_id, seed, monitor_dir, env_kwargs)
    try:
        ob_dim, ac_dim = env.observation_space.shape[0], env.action_space.shape[0]
        if learner is None:
            learner = ContLearner(ob_dim, ac_dim, seed=seed, is_async=is_async,
                                  wait_first_eigen=wait_first_eigen, eigen_backend=eigen_backend,
                                  eigen_nice=eigen_nice)
        else:
            if (learner.ob_dim, learner.ac_dim) != (ob_dim, ac_dim):
                raise ValueError(f"learner built for ob_dim={learner.ob_dim}, "
                                 f"ac_dim={learner.ac_dim}; {env_id} has {ob_dim}, {ac_dim}")
            learner.obfilter.load_from_variables()
        _train(env, learner, seed, num_timesteps, logger, log, gamma, lam, timesteps_per_batch,
               desired_kl, callback)
    finally:
        if learner is not None:
            learner.close()
        env.close()
    return learner


def _train(env, learner, seed, num_timesteps, logger, log, gamma, lam, timesteps_per_batch,
           desired_kl, callback):
    """The branch's ``learn`` loop (see ``learn_cont``)."""
    policy, vf, obfilter = learner.policy, learner.vf, learner.obfilter
    max_pathlength = env.spec.max_episode_steps if env.spec is not None else None
    i = learner.iterations_done
    timesteps_so_far = learner.timesteps_done
    start_timesteps, tstart = timesteps_so_far, time.time()
    epinfobuf = deque(maxlen=100)
    reset_seed = seed
    while True:
        if timesteps_so_far > num_timesteps:
            break
        log("********** Iteration %i ************" % i)

        # Collect paths until we have enough timesteps
        timesteps_this_batch = 0
        paths = []
        while True:
            path = rollout(env, policy, max_pathlength, obfilter=obfilter, seed=reset_seed)
            reset_seed = None
            paths.append(path)
            if path["episode"] is not None:
                epinfobuf.append(path["episode"])
            n = pathlength(path)
            timesteps_this_batch += n
            timesteps_so_far += n
            if timesteps_this_batch > timesteps_per_batch:
                break

        # Estimate advantage function
        vtargs, advs = [], []
        for path, vpred in zip(paths, vf.predict_paths(paths)):
            vtarg, adv = path_advantages(path["reward"], vpred, path["terminated"], gamma, lam)
            vtargs.append(vtarg)
            advs.append(adv)
        # Update value function
        vf_info = vf.fit(paths, vtargs)
        if not np.isfinite(vf_info["vf_loss"]):
            raise FloatingPointError(f"acktr_cont: non-finite value-function loss "
                                     f"{vf_info['vf_loss']} at iteration {i}")

        # Build arrays for policy update
        ob_no = np.concatenate([path["observation"] for path in paths])
        action_na = np.concatenate([path["action"] for path in paths])
        oldac_dist = np.concatenate([path["action_dist"] for path in paths])
        adv_n = np.concatenate(advs)
        standardized_adv_n = standardize(adv_n)

        # Policy update
        stepsize = float(learner.stepsize.numpy())
        surr = learner.update_policy(ob_no, action_na, standardized_adv_n)
        kl = policy.compute_kl(ob_no, oldac_dist)
        if not (np.isfinite(surr) and np.isfinite(kl)):
            raise FloatingPointError(f"acktr_cont: non-finite policy loss {surr} or KL {kl} at "
                                     f"iteration {i} (stepsize {stepsize})")

        # Adjust stepsize
        new_stepsize, message = adjust_stepsize(stepsize, kl, desired_kl)
        learner.stepsize.assign(new_stepsize)
        log(message)

        learner.progress.assign([i + 1, timesteps_so_far])
        obfilter.sync_to_variables()
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
        logger.record("eprewmean", safemean([e["r"] for e in epinfobuf]))
        logger.record("eplenmean", safemean([e["l"] for e in epinfobuf]))
        logger.record("fps", int((timesteps_so_far - start_timesteps)
                                 / max(time.time() - tstart, 1e-9)))
        stop = callback is not None and callback(locals()) is False
        logger.dump(step=timesteps_so_far)
        i += 1
        if stop:
            break
