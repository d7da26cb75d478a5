"""OpenAI Baselines' ACKTR (Wu et al. 2017) on TensorFlow 2, step for step.

The public API, loaded on first use (``import baselines_acktr`` itself imports
no TensorFlow, so the comparison tool and env workers stay light)::

    from baselines_acktr import learn, load, Model, KfacOptimizer, make_atari_env
    model = learn("cnn", make_atari_env("PongNoFrameskip-v4", 32, seed=0), seed=0,
                  total_timesteps=int(10e6))
    model, config = load("agents/PongNoFrameskip-v4-a2c")   # a run, checkpoint or agent

Layers, each importing only those below it::

    export                                       a trained policy as a SavedModel
    sweep / agent                                drive the run scripts on Ray Tune; load
                                                 and pack trained agents
    run_atari / run_mujoco / parity / explain    entry points
    cli                                          flags, training with logs and checkpoints, play
    acktr/  a2c/  acktr_cont/                    one folder per algorithm
    common/                                      what the algorithms share
    kfac/   envs/                                the optimizer; environments
    compare/                                     reads run folders (no training code)
"""
from importlib import import_module

_API = {
    # algorithms
    "learn": "baselines_acktr.acktr", "Model": "baselines_acktr.acktr",
    "A2CModel": "baselines_acktr.a2c", "learn_cont": "baselines_acktr.acktr_cont",
    "ContLearner": "baselines_acktr.acktr_cont",
    # the optimizer
    "KfacOptimizer": "baselines_acktr.kfac", "KfacConfig": "baselines_acktr.kfac",
    # shared pieces
    "Policy": "baselines_acktr.common.policies", "build_policy": "baselines_acktr.common.policies",
    "Runner": "baselines_acktr.common.runner", "Logger": "baselines_acktr.common.logger",
    "Checkpointer": "baselines_acktr.common.checkpoints",
    "KfacTrainStep": "baselines_acktr.kfac.train_step",
    "Learner": "baselines_acktr.common.learner",
    # trained agents: a run, checkpoint or shipped agent in one call
    "load": "baselines_acktr.agent",
    # environments
    "make_atari_env": "baselines_acktr.envs", "make_vec_env": "baselines_acktr.envs",
    "Monitor": "baselines_acktr.envs", "VecNormalize": "baselines_acktr.envs.vec_normalize",
}

__all__ = sorted(_API)
__version__ = "0.2.0"


def __getattr__(name):
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'baselines_acktr' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
