"""Environments with baselines' semantics on gymnasium: Atari preprocessing, Monitor and
vector envs (ports of baselines ``common/atari_wrappers.py``, ``bench/monitor.py`` and
``common/cmd_util.py``), and an opt-in Atari backend on ale-py's C++ vector env
(:mod:`.ale_vector`).  ``VecNormalize`` is in :mod:`.vec_normalize`; the check of a user's
env before a run (gymnasium's env checker and ACKTR's own) in :mod:`.check`.

This package (``vec_normalize`` aside) imports no TensorFlow: env worker subprocesses
import it to unpickle their env builders, and must start fast and stay free of TF
(MuJoCo's EGL renderer crashes in a process that has loaded it).
"""
from .ale_vector import AleVectorAtari, make_ale_vector_env
from .atari_wrappers import make_atari, wrap_deepmind
from .monitor import Monitor
from .registry import check_atari_id, check_env_id
from .vec_env import ClipActions, episode_infos, make_atari_env, make_vec_env, vector_env

__all__ = ["AleVectorAtari", "ClipActions", "Monitor", "check_atari_id", "check_env_id", "episode_infos",
           "make_ale_vector_env", "make_atari", "make_atari_env", "make_vec_env", "vector_env", "wrap_deepmind"]
