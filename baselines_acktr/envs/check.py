"""A user's env checked before a run starts: gymnasium's own env checker
(``gymnasium.utils.env_checker.check_env``) and ACKTR's checks on one instance of the env.

:func:`check_env` builds one instance by id (``gymnasium.make``, no vector env), then

1. the spaces: the caller's requirement (a run script trains only some spaces), by default
   :func:`supported_spaces`, the ones ``learn()`` takes;
2. gymnasium's checker on the unwrapped env: the spaces are gymnasium spaces, ``reset`` takes
   ``seed`` and ``options``, returns ``(obs, info)`` with ``obs`` inside the observation
   space, seeding is deterministic, ``step`` returns five values, returned data are not
   reused.  Its render and close checks are skipped (training never renders, and they make
   more instances);
3. a random rollout of :data:`ROLLOUT_STEPS` steps through the wrappers ``gymnasium.make``
   adds (its time limit included): every observation has the declared shape and is
   finite, every reward is a finite number.  gymnasium only warns about a NaN reward or
   an observation outside its space after ``step``; for ACKTR a NaN reaches the
   losses, and the K-FAC statistics then the eigen-decompositions fail (the
   "value loss of 1e14" reports of stable-baselines' ACKTR).

A failure is :class:`EnvCheckError`, one line: ``env <id> fails gymnasium's env checker:
<reason>`` or ``env <id> fails the env check: <reason>`` (the rollout's); the space
requirement's ValueError goes through as it is.  gymnasium's warnings, deduplicated and one
line each, are returned with ACKTR's own (rewards above :data:`LARGE_REWARD`, no time
limit on a user's env); the infinite-bounds warnings are dropped: observation bounds are never read here
(observations are normalised by running statistics).

:func:`is_stock` tells the envs the checker is skipped for by default: those gymnasium and
ale-py register themselves.  No baselines counterpart (baselines checked nothing).
"""
from __future__ import annotations

import contextlib
import re
import warnings

import gymnasium as gym
import numpy as np

from .registry import check_env_id

ROLLOUT_STEPS = 200
"""Random steps of the rollout (~0.1 s on a MuJoCo env)."""
LARGE_REWARD = 1e4
"""A reward of a larger magnitude is warned about (not an error)."""
STOCK_PACKAGES = ("gymnasium", "ale_py")
"""Packages whose registered envs are known good: not checked unless asked."""
# gymnasium warnings that say nothing to ACKTR: Box bounds of observations are never read
QUIET = ("A Box observation space minimum value is -infinity",
         "A Box observation space maximum value is infinity")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class EnvCheckError(ValueError):
    """The env fails the check (one-line message)."""


def is_stock(env_id: str) -> bool:
    """True for an id registered by gymnasium itself or by ale-py (:data:`STOCK_PACKAGES`),
    whose entry point is a string in one of them; False for any other (a ``module:Env-v0``
    id, a callable entry point, an unknown id)."""
    if ":" in env_id:
        return False
    try:
        entry = gym.spec(env_id).entry_point
    except gym.error.Error:
        return False
    return isinstance(entry, str) and entry.split(":")[0].split(".")[0] in STOCK_PACKAGES


def wanted(env_id: str, flag: bool | None) -> bool:
    """Whether to check ``env_id``: ``flag`` (``--env_check`` True, ``--no_env_check``
    False) or, if None, unless :func:`is_stock`."""
    return (not is_stock(env_id)) if flag is None else bool(flag)


def supported_spaces(env_id: str, ob_space, ac_space) -> None:
    """ValueError unless ``learn()`` takes the spaces (the rules of
    :func:`baselines_acktr.common.policies.spaces_of`, without TensorFlow)."""
    sp = gym.spaces
    ok_action = (isinstance(ac_space, sp.Discrete) and int(ac_space.start) == 0) or (
        isinstance(ac_space, (sp.Box, sp.MultiDiscrete)) and len(ac_space.shape) == 1) or (
        isinstance(ac_space, sp.MultiBinary) and np.ndim(ac_space.n) == 0)
    if not ok_action:
        raise ValueError(f"env {env_id}: unsupported action space {ac_space} (Discrete, 1-D Box, "
                         "1-D MultiDiscrete or 1-D MultiBinary)")
    ok_obs = isinstance(ob_space, sp.Box) or (
        isinstance(ob_space, sp.Discrete) and int(ob_space.start) == 0) or (
        isinstance(ob_space, sp.MultiDiscrete) and len(ob_space.shape) == 1
        and not np.any(ob_space.start))
    if not ok_obs:
        raise ValueError(f"env {env_id}: unsupported observation space {ob_space} (Box, "
                         "Discrete or 1-D MultiDiscrete; a Dict or Tuple: FlattenObservation)")


def check_env(env_id: str, spaces=supported_spaces, steps: int = ROLLOUT_STEPS,
              seed: int = 0) -> list[str]:
    """Check ``env_id`` (the module docstring says how); returns the warnings, one line
    each.  ``spaces(env_id, observation_space, action_space)`` raises ValueError for spaces
    the caller cannot train.  :class:`EnvCheckError` (one line) for a broken env,
    ValueError for an unknown id or unsupported spaces."""
    check_env_id(env_id)
    found = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            env = gym.make(env_id, disable_env_checker=True)
        except Exception as exc:  # the user's constructor: anything
            raise EnvCheckError(f"env {env_id} cannot be made: {_reason(exc)}") from exc
        try:
            _spaces(env_id, env, spaces)
            _gymnasium(env_id, env.unwrapped)
            found += _rollout(env_id, env, steps, seed)
        finally:
            with contextlib.suppress(Exception):  # gymnasium's close check is left out too
                env.close()
    return list(dict.fromkeys(_gymnasium_warnings(caught) + found))


def _spaces(env_id, env, spaces):
    ob, ac = getattr(env, "observation_space", None), getattr(env, "action_space", None)
    if spaces is not None and isinstance(ob, gym.spaces.Space) and isinstance(ac, gym.spaces.Space):
        spaces(env_id, ob, ac)  # a missing or non-gymnasium space: gymnasium's checker says so


def _gymnasium(env_id, env):
    from gymnasium.utils.env_checker import check_env as gymnasium_check_env

    try:
        gymnasium_check_env(env, skip_render_check=True, skip_close_check=True)
    except Exception as exc:  # AssertionError, gym.error.Error, or the env's own code
        raise EnvCheckError(f"env {env_id} fails gymnasium's env checker: {_reason(exc)}") from exc


def _rollout(env_id, env, steps, seed):
    """Random actions through ``env`` for ``steps`` steps; EnvCheckError at the first
    non-finite observation or reward, the warnings of ACKTR's own."""
    fail = lambda what: EnvCheckError(f"env {env_id} fails the env check: {what}")
    shape = env.observation_space.shape
    env.action_space.seed(seed)
    largest, ends, where = 0.0, 0, "reset"
    try:
        obs, _ = env.reset(seed=seed)
        for t in range(1, steps + 1):
            _observation(obs, shape, where, fail)
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            where = f"step {t}"
            try:
                reward = float(reward)
            except (TypeError, ValueError):
                raise fail(f"the reward of {where} is not a number: {reward!r}") from None
            if not np.isfinite(reward):
                raise fail(f"the reward of {where} is {reward} (random actions, seed {seed})")
            largest = max(largest, abs(reward))
            if terminated or truncated:
                _observation(obs, shape, where, fail)
                ends += 1
                obs, _ = env.reset()
                where = f"the reset after step {t}"
        _observation(obs, shape, where, fail)
    except EnvCheckError:
        raise
    except Exception as exc:  # the env's own code
        raise fail(f"{where} raised {_reason(exc)}") from exc
    found = []
    if largest > LARGE_REWARD:
        found.append(f"rewards up to {largest:.3g} per step: the value loss grows with their square "
                     "(docs/custom_env.md, normalisation)")
    spec = env.spec  # (ale-py caps its episodes itself)
    if ends == 0 and (spec is None or spec.max_episode_steps is None) and not is_stock(env_id):
        found.append(f"no episode ended in {steps} random steps and there is no time limit "
                     "(gymnasium.register(..., max_episode_steps=N)): returns are logged "
                     "only when an episode ends")
    return found


def _observation(obs, shape, where, fail):
    try:
        arr = np.asarray(obs, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(f"the observation of {where} is not numeric: {type(obs).__name__}") from None
    if arr.shape != tuple(shape):
        raise fail(f"the observation of {where} has shape {arr.shape}, its space {tuple(shape)}")
    if not np.all(np.isfinite(arr)):
        raise fail(f"the observation of {where} is not finite: {np.array2string(arr, threshold=6)}")


def _reason(exc) -> str:
    """The first line of an exception's message (with its type, but for gymnasium's own)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, (AssertionError, gym.error.Error)) and first:
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _gymnasium_warnings(caught) -> list[str]:
    """gymnasium's warnings (``WARN: ...``) as one line each; others are shown as usual."""
    out = []
    for w in caught:
        text = _ANSI.sub("", str(w.message)).strip()
        if not text.startswith("WARN: "):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
            continue
        first = text[len("WARN: "):].splitlines()[0].split(" See https://")[0]
        if not first.startswith(QUIET):
            out.append(first)
    return out


__all__ = ["EnvCheckError", "check_env", "is_stock", "supported_spaces", "wanted"]
