"""The update loop of baselines ``acktr.learn`` / ``a2c.learn``: collect, train, log."""
import time
from collections import deque

import numpy as np

from .checkpoints import Checkpointer
from .logger import Logger
from .math_util import explained_variance, safemean


def check_total_timesteps(total_timesteps):
    if total_timesteps <= 0:
        raise ValueError(f"total_timesteps must be > 0, got {total_timesteps}")


def seed_everything(seed):
    """numpy's and TensorFlow's global seeds, as baselines' ``set_global_seeds``."""
    import tensorflow as tf

    np.random.seed(seed)
    tf.random.set_seed(seed)


def learn_model(model, env, total_timesteps, seed, log_interval, logger, save_path,
                save_interval, load_path, callback, config):
    """The body of ``learn()`` once the model is built, through the one driver the run
    scripts use (:meth:`~.actor_critic.ActorCriticModel.fit`): optional resume (envs then
    reset with ``seed + updates_done``), checkpoints every ``save_interval`` updates and at
    the end, ``callback(update, model)`` after each update (False stops); the model's
    background threads are stopped on return or error."""
    logger = logger or Logger()
    ckpt = None
    if save_path or load_path:
        ckpt = Checkpointer(save_path, model.trackables(), config)
    if load_path is not None:
        ckpt.restore(load_path)
        model.restore_progress()

    def on_update(update):
        if save_path and save_interval and update % save_interval == 0:
            ckpt.save(update, model.timesteps_done)
        return callback(update, model) if callback is not None else None

    try:
        last = model.fit(env, total_timesteps, logger, seed=seed, log_interval=log_interval,
                         on_update=on_update)
        if save_path and last:
            ckpt.save(last, model.timesteps_done)
    finally:
        model.close()
    return model


def reached(epinfobuf, stop_reward):
    """True once ``stop_reward`` is set and the last 100 episodes (a full window) have a mean
    return at or above it: the paper's Table 1 criterion, checked as the run goes."""
    return (stop_reward is not None and len(epinfobuf) == epinfobuf.maxlen
            and safemean([e["r"] for e in epinfobuf]) >= stop_reward)


def train_loop(model, runner, total_timesteps, log_interval, logger, callback=None, progress=None,
               stop_reward=None):
    """The update loop of baselines ``acktr.learn`` / ``a2c.learn``: collect, train, log.

    Starts after ``model.updates_done`` (so a restored model continues its
    count) and runs to update ``total_timesteps // nbatch``.  ``callback(update,
    model)`` runs after each update (False stops the loop); ``progress(timesteps,
    total_timesteps, fps, eprewmean)`` is told about every update.  Returns the last
    update done.  Raises ``FloatingPointError`` on a non-finite loss, before
    anything of that update is recorded.  With ``stop_reward``, the loop also stops after
    the update at which the mean of the last 100 episodes first reaches it
    (:func:`reached`; after a resume the window fills again first).
    """
    epinfobuf = deque(maxlen=100)
    nbatch = model.nbatch
    nupdates = total_timesteps // nbatch
    start = model.updates_done + 1
    tstart = time.time()
    update = start - 1
    for update in range(start, nupdates + 1):
        obs, states, rewards, masks, actions, values, epinfos = runner.run()
        epinfobuf.extend(epinfos)
        policy_loss, value_loss, policy_entropy = model.train(obs, states, rewards, masks,
                                                              actions, values)
        if not np.all(np.isfinite([policy_loss, value_loss, policy_entropy])):
            raise FloatingPointError(
                f"non-finite loss at update {update}: policy_loss={policy_loss}, "
                f"value_loss={value_loss}, entropy={policy_entropy}")
        model.mark_update(update)
        fps = int((update - start + 1) * nbatch / max(time.time() - tstart, 1e-9))
        eprewmean = safemean([e["r"] for e in epinfobuf])
        if update % log_interval == 0 or update == 1:
            logger.record("nupdates", update)
            logger.record("total_timesteps", update * nbatch)
            logger.record("fps", fps)
            logger.record("policy_entropy", float(policy_entropy))
            logger.record("policy_loss", float(policy_loss))
            logger.record("value_loss", float(value_loss))
            logger.record("explained_variance", float(explained_variance(values, rewards)))
            logger.record("eprewmean", eprewmean)
            logger.record("eplenmean", safemean([e["l"] for e in epinfobuf]))
            for key, value in model.log_extras().items():
                logger.record(key, value)
            record_tb = getattr(logger, "record_tb", None)  # a user's logger may lack it
            for key, value in (model.tb_extras() if record_tb is not None else {}).items():
                record_tb(key, value)
            logger.dump(step=update * nbatch)
        if progress is not None:
            progress(update * nbatch, nupdates * nbatch, fps, eprewmean)
        if callback is not None and callback(update, model) is False:
            break
        if reached(epinfobuf, stop_reward):
            print(f"eprewmean {eprewmean:.2f} over the last {len(epinfobuf)} episodes reached "
                  f"--stop_reward {stop_reward:g} at update {update}")
            break
    return update
