"""Env ids: one-line errors for ids gymnasium does not know, or that are not Atari.

An id may name the module that registers it, ``my_package.envs:MyEnv-v0``, as
``gymnasium.make`` accepts: the module is imported first (docs/custom_env.md).
"""
import importlib

import gymnasium as gym


def check_env_id(env_id):
    """ValueError with a one-line message unless ``env_id`` is registered (after importing
    the module of a ``module:EnvId`` id)."""
    module, _, name = env_id.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except Exception as exc:  # the user's module: anything it raises
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ValueError(f"environment id {env_id!r}: cannot import {module!r} "
                             f"({type(exc).__name__}: {first})") from exc
    try:
        gym.spec(name)
    except gym.error.Error as exc:
        reason = (str(exc).splitlines() or [""])[0]
        raise ValueError(f"unknown environment id {env_id!r}: {reason}") from exc


def check_atari_id(env_id):
    """ValueError unless ``env_id`` is a registered ``NoFrameskip`` id."""
    if "NoFrameskip" not in env_id:
        raise ValueError(
            f"make_atari needs a NoFrameskip env id (frame skipping is done by MaxAndSkipEnv), got {env_id!r}"
        )
    import ale_py

    gym.register_envs(ale_py)
    check_env_id(env_id)
