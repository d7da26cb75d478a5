"""Which ``config.json`` fields set experiments of one env, alg and variant apart: the
experiment settings that differ between their runs (``kfac_clip=0.002``), not the run-level
keys (paths, budgets, seeds, versions) nor the asynchronous-eigen switches, which leave the
model and the algorithm as they are.

A ``config.json`` written before a field of its algorithm's config existed ran at that field's
default (defaults replay baselines and never change), so :func:`filled` reads a missing field
of the algorithm's config as its default."""
import functools
import json
import math

from ..common.configs import NON_MODEL_FIELDS, spec_for
from ..common.run_folder import RUN_LEVEL_KEYS

# keys that name a run, not an experiment, and the fields that leave the model and algorithm
# as they are (the async-eigen switches): never split
RUN_LEVEL = RUN_LEVEL_KEYS | NON_MODEL_FIELDS
# keys already in the experiment key (env id, alg, variant: ``runs.experiment_variant``)
IDENTITY = frozenset({"env", "alg", "variant", "env_backend"})


def canonical(value):
    """A hashable stand-in for a JSON value: ``1`` and ``1.0`` agree, ``True`` and ``1`` do
    not, lists and objects compare by content."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", float(value))
    if isinstance(value, str):
        return ("s", value)
    return ("j", json.dumps(value, sort_keys=True, default=str))


def value_order(value):
    """Sort key of a setting's value: numbers in order, then the rest as text, None last."""
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (1, 0.0, value if isinstance(value, str) else json.dumps(value, sort_keys=True))
    return (0, float(value) if math.isfinite(value) else math.inf, "")


def value_text(value):
    """``0.002`` → ``'0.002'``, ``'cnn'`` → ``'cnn'``, ``None`` → ``'null'``."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


@functools.cache
def _defaults(alg, variant):
    try:
        return spec_for(alg, variant).defaults().to_dict()
    except KeyError:  # an alg or variant this project does not train
        return None


def defaults_of(cfg):
    """The defaults of the config of the algorithm (and MuJoCo ``variant``) ``cfg`` names;
    None for another implementation's run or an unknown alg."""
    if cfg.get("implementation") is not None:
        return None
    alg, variant = cfg.get("alg"), cfg.get("variant")
    if not isinstance(alg, str) or not (variant is None or isinstance(variant, str)):
        return None
    return _defaults(alg, variant)


def filled(cfg):
    """``cfg`` with the fields of its algorithm's config that it does not record at their
    defaults (``cfg`` itself when :func:`defaults_of` knows no config)."""
    defaults = defaults_of(cfg)
    return cfg if defaults is None else {**defaults, **cfg}


def changes_from_defaults(cfg):
    """``((key, value), ...)``: the model fields of the algorithm's config where ``cfg``
    differs from the defaults, in alphabetical order (``()`` without known defaults)."""
    defaults = defaults_of(cfg)
    if defaults is None:
        return ()
    cfg = filled(cfg)
    return tuple((k, cfg[k]) for k in sorted(defaults)
                 if k not in NON_MODEL_FIELDS and canonical(cfg[k]) != canonical(defaults[k]))


def candidate_keys(cfg):
    return {k for k in cfg if k not in RUN_LEVEL and k not in IDENTITY}


def config_diff(configs):
    """``(varied, unknown)`` over the ``config.json`` dicts of the runs of one env, alg and
    variant, keys in alphabetical order. ``varied``: experiment settings every run records
    and not all with one value. ``unknown``: settings some runs do not record and the others
    record with different values (not split on: a missing key may be the default)."""
    keys = set().union(*(candidate_keys(c) for c in configs)) if configs else set()
    varied, unknown = [], []
    for key in sorted(keys):
        present = [c[key] for c in configs if key in c]
        values = {canonical(v) for v in present}
        if len(present) == len(configs) and len(values) > 1:
            varied.append(key)
        elif len(present) < len(configs) and len(values) > 1:
            unknown.append(key)
    return tuple(varied), tuple(unknown)


def split_by_settings(runs):
    """``[(settings, runs)]``: the runs of one env, alg and variant split by the values of
    their varied settings (of the :func:`filled` configs), ``settings`` = ``((key, value),
    ...)``, ordered by value (one part with ``()`` when nothing varies); and the ``unknown``
    keys of :func:`config_diff`."""
    configs = [filled(r.config) for r in runs]
    varied, unknown = config_diff(configs)
    parts = {}
    for run, cfg in zip(runs, configs):
        key = tuple(canonical(cfg[k]) for k in varied)
        parts.setdefault(key, (tuple((k, cfg[k]) for k in varied), []))[1].append(run)
    ordered = sorted(parts.values(), key=lambda p: [value_order(v) for _, v in p[0]])
    return ordered, unknown


def settings_text(settings):
    """``(('epsilon', 0.02), ('kfac_clip', 0.002))`` → ``'epsilon=0.02, kfac_clip=0.002'``."""
    return ", ".join(f"{k}={value_text(v)}" for k, v in settings)
