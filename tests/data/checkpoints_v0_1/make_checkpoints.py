"""Checkpoints written by release 0.1 (commit 6a138c1), to test that later layouts still load them.

Run once against that commit as ``python make_checkpoints.py OUT_DIR``; the imports are that
release's module paths, which the package no longer has.
"""
import json, os, sys
import numpy as np
import tensorflow as tf
from baselines_acktr.acktr import Model
from baselines_acktr.a2c import A2CModel
from baselines_acktr.policies import Policy
from baselines_acktr.acktr_cont import ContLearner
from baselines_acktr.checkpoints import Checkpointer
from baselines_acktr.vec_normalize import RunningMeanStd

out = sys.argv[1]
rng = np.random.default_rng(0)

def batch(policy, n):
    if policy.obs_dtype == tf.uint8:
        obs = rng.integers(0, 255, (n, *policy.obs_shape)).astype(np.uint8)
    else:
        obs = rng.normal(size=(n, *policy.obs_shape)).astype(np.float32)
    if policy.action_kind == "discrete":
        act = rng.integers(0, policy.nact, n).astype(np.int32)
    else:
        act = rng.normal(size=(n, policy.nact)).astype(np.float32)
    return obs, act, rng.normal(size=n).astype(np.float32), rng.normal(size=n).astype(np.float32)

def save(name, trackables, config, update):
    Checkpointer(os.path.join(out, name), trackables, config).save(update)

# ACKTR, small cnn (conv + fc blocks), synchronous K-FAC, past the cold phase
policy = Policy((12, 12, 2), ("discrete", 3), network="cnn", convs=[(4, 4, 2), (4, 3, 1)], fc=8, seed=0)
model = Model(policy, nenvs=8, nsteps=1, total_timesteps=10000, is_async=False, kfac_options=dict(cold_iter=3))
for t in range(6):
    model.train_on_batch(*batch(policy, 8), lr=0.25)
model.mark_update(6)
save("acktr_cnn", model.trackables(), dict(env="Fake-v0", alg="acktr", network="cnn", num_env=8, nsteps=1), 6)

# ACKTR, mlp with Gaussian head, copy value network, plus VecNormalize statistics (master MuJoCo)
policy = Policy((3,), ("box", 2), network="mlp", hidden=(5, 5), value_network="copy", seed=1)
model = Model(policy, nenvs=6, nsteps=1, total_timesteps=10000, is_async=False, kfac_options=dict(cold_iter=2))
for t in range(4):
    model.train_on_batch(*batch(policy, 6), lr=0.1)
model.mark_update(4)
ob_rms, ret_rms = RunningMeanStd((3,), name="ob_rms"), RunningMeanStd((), name="ret_rms")
ob_rms.update(rng.normal(size=(10, 3))); ret_rms.update(rng.normal(size=10))
save("acktr_mlp_vecnorm", dict(model.trackables(), ob_rms=ob_rms, ret_rms=ret_rms),
     dict(env="Fake-v0", alg="acktr", variant="master", network="mlp", num_env=6, nsteps=1), 4)

# A2C
policy = Policy((4,), ("discrete", 2), network="mlp", hidden=(6,), seed=2)
model = A2CModel(policy, nenvs=5, total_timesteps=10000, nsteps=1)
for t in range(3):
    model.train_on_batch(*batch(policy, 5), lr=7e-4)
model.mark_update(3)
save("a2c_mlp", model.trackables(), dict(env="Fake-v0", alg="a2c", network="mlp", num_env=5, nsteps=1), 3)

# the paper's continuous ACKTR learner, synchronous
learner = ContLearner(3, 2, seed=3, is_async=False)
paths = []
for k in range(2):
    n = 7 + k
    paths.append({"observation": rng.normal(size=(n, 6)).astype(np.float32),
                  "action_dist": np.abs(rng.normal(size=(n, 4))).astype(np.float32),
                  "reward": rng.normal(size=n), "action": rng.normal(size=(n, 2)).astype(np.float32)})
learner.vf.fit(paths, [p["reward"] for p in paths])
ob = np.concatenate([p["observation"] for p in paths]); ac = np.concatenate([p["action"] for p in paths])
for t in range(3):
    learner.update_policy(ob, ac, rng.normal(size=len(ob)))
learner.stepsize.assign(0.02)
for x in rng.normal(size=(5, 3)):
    learner.obfilter(x)
learner.obfilter.sync_to_variables()
learner.progress.assign([3, 45])
save("acktr_cont", learner.trackables(), dict(env="Fake-v0", alg="acktr_cont", variant="paper", network="mlp"), 3)
learner.close()
print("written", sorted(os.listdir(out)))
