"""Checkpoints written by release 0.1 (tests/data/checkpoints_v0_1) load into today's learners."""
import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr.a2c import A2CModel
from baselines_acktr.acktr import Model
from baselines_acktr.acktr_cont import ContLearner
from baselines_acktr.common.checkpoints import Checkpointer, resolve
from baselines_acktr.common.policies import Policy
from baselines_acktr.envs.vec_normalize import RunningMeanStd

OLD = Path(__file__).resolve().parent / "data" / "checkpoints_v0_1"


def acktr_cnn():
    policy = Policy((12, 12, 2), ("discrete", 3), network="cnn", convs=[(4, 4, 2), (4, 3, 1)],
                    fc=8, seed=0)
    model = Model(policy, nenvs=8, nsteps=1, total_timesteps=10000, is_async=False,
                  kfac_options=dict(cold_iter=3))
    return model, model.trackables()


def acktr_mlp_vecnorm():
    policy = Policy((3,), ("box", 2), network="mlp", hidden=(5, 5), value_network="copy", seed=1)
    model = Model(policy, nenvs=6, nsteps=1, total_timesteps=10000, is_async=False,
                  kfac_options=dict(cold_iter=2))
    extra = dict(ob_rms=RunningMeanStd((3,), name="ob_rms"), ret_rms=RunningMeanStd((), name="ret_rms"))
    return model, dict(model.trackables(), **extra)


def a2c_mlp():
    policy = Policy((4,), ("discrete", 2), network="mlp", hidden=(6,), seed=2)
    model = A2CModel(policy, nenvs=5, total_timesteps=10000, nsteps=1)
    return model, model.trackables()


def acktr_cont():
    learner = ContLearner(3, 2, seed=3, is_async=False)
    return learner, learner.trackables()


def saved_values(prefix):
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


@pytest.mark.parametrize("build", [acktr_cnn, acktr_mlp_vecnorm, a2c_mlp, acktr_cont],
                         ids=lambda f: f.__name__)
def test_release_0_1_checkpoint_restores_and_saves_the_same_content(build, tmp_path):
    old_dir = resolve(str(OLD / build.__name__))
    learner, trackables = build()
    try:
        # every value in the old file finds its object, and every object its value
        tf.train.Checkpoint(**trackables).read(str(Path(old_dir) / "ckpt")).assert_consumed()
        for obj in trackables.values():  # as Checkpointer.restore does
            if hasattr(obj, "after_restore"):
                obj.after_restore()
        config = json.loads((Path(old_dir) / "config.json").read_text())
        saved = Checkpointer(str(tmp_path), trackables, config).save(config["update"])
    finally:
        learner.close()
    old, new = saved_values(str(Path(old_dir) / "ckpt")), saved_values(str(Path(saved) / "ckpt"))
    assert sorted(new) == sorted(old)
    for name, value in old.items():
        np.testing.assert_array_equal(new[name], value, err_msg=name)
    # the K-FAC state is really in there: statistics, eigens, momenta and counters
    if build is acktr_cnn:
        assert any("optim/stats/" in n for n in old) and any("optim/eig_Q/" in n for n in old)
        assert any("optim/kfac_momentum/" in n for n in old)
        # cold_iter 3, 6 steps: sgd_step froze at 4, eigens from t = 2 (SEMANTICS.md §8)
        assert learner.optim.counters()[:5] == [4.0, 6.0, 2.0, 4.0, 6.0]
