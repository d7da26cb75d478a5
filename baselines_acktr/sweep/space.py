"""What a study varies: ``--grid KEY=V1,V2`` and ``--sample KEY=DIST`` over config fields.

Keys are the fields of the chosen algorithm's config (:mod:`baselines_acktr.common.configs`);
a key that does not exist or does not apply, or a value of the wrong type or range, is a
``ValueError`` with one line (the sweep makes it exit status 2).  A grid is crossed with the
envs and seeds (Tune's ``grid_search``); samples are drawn by Tune (``loguniform:A:B``,
``uniform:A:B``, ``choice:V1,V2``, ``randint:A:B``), ``--num_samples`` times per env and seed.
Each trial's folder name says its values: ``<env>-<alg>-kfac_clip0.002-seed0``.
"""
from __future__ import annotations

import dataclasses
import difflib
import math

from ..common.config_flags import coerce

DISTRIBUTIONS = ("loguniform", "uniform", "choice", "randint")


def _field(spec, key):
    fields = {f.name: f for f in dataclasses.fields(spec.config)}
    if key not in fields:
        from ..common.configs import ALGORITHMS

        known = {f.name for s in ALGORITHMS.values() for f in dataclasses.fields(s.config)}
        what = spec.variant and f"--variant {spec.variant}" or f"--alg {spec.name}"
        if key in known:
            raise ValueError(f"{key} does not apply to {what}")
        near = difflib.get_close_matches(key, sorted(known), n=1)
        raise ValueError(f"unknown hyperparameter {key!r}" + (f" (did you mean {near[0]}?)"
                                                              if near else ""))
    return fields[key]


def _checked(spec, key, value):
    """``value`` as the field's type, validated as the config validates it."""
    f = _field(spec, key)
    v = coerce(key, f, value)
    spec.defaults(**{key: v})  # the config's own range and choice checks
    return v


def _split(text, flag):
    key, sep, rest = text.partition("=")
    if not sep or not key or not rest:
        raise ValueError(f"{flag} expects KEY=VALUES, got {text!r}")
    return key.strip(), rest.strip()


def parse_grid(specs, items):
    """``['kfac_clip=0.0005,0.001']`` → ``{'kfac_clip': [0.0005, 0.001]}``, checked for
    every algorithm in ``specs``."""
    grid = {}
    for text in items or ():
        key, rest = _split(text, "--grid")
        if key in grid:
            raise ValueError(f"--grid {key} given twice")
        values = [v.strip() for v in rest.split(",") if v.strip()]
        for spec in specs:
            checked = [_checked(spec, key, v) for v in values]
        if len(set(map(repr, checked))) != len(checked):
            raise ValueError(f"--grid {key}: a value is listed twice")
        grid[key] = checked
    return grid


def parse_sample(specs, items):
    """``['lr=loguniform:0.05:0.5']`` → ``{'lr': ('loguniform', [0.05, 0.5])}``."""
    sample = {}
    for text in items or ():
        key, rest = _split(text, "--sample")
        kind, _, args = rest.partition(":")
        if kind not in DISTRIBUTIONS:
            raise ValueError(f"--sample {key}: distribution must be one of "
                             f"{', '.join(DISTRIBUTIONS)}, got {kind!r}")
        values = [v for v in (args.split(",") if kind == "choice" else args.split(":")) if v]
        for spec in specs:
            checked = [_checked(spec, key, v) for v in values]
        if kind != "choice":
            if len(checked) != 2 or not checked[0] < checked[1]:
                raise ValueError(f"--sample {key}={kind}:A:B needs A < B, got {args!r}")
            if kind == "loguniform" and checked[0] <= 0:
                raise ValueError(f"--sample {key}: loguniform needs A > 0")
        elif len(checked) < 2:
            raise ValueError(f"--sample {key}=choice:V1,V2 needs two values or more")
        sample[key] = (kind, checked)
    return sample


def tune_space(grid, sample):
    """The Tune search space of the varied fields (``{}`` when nothing varies)."""
    from ray import tune

    space = {key: tune.grid_search(values) for key, values in grid.items()}
    for key, (kind, args) in sample.items():
        if kind == "choice":
            space[key] = tune.choice(args)
        elif kind == "randint":
            space[key] = tune.randint(args[0], args[1] + 1)
        else:
            space[key] = getattr(tune, kind)(*args)
    return space


def _text(value):
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def label(values: dict) -> str:
    """``{'kfac_clip': 0.002, 'lr': 0.1}`` → ``'kfac_clip0.002-lr0.1'`` (sorted keys)."""
    return "-".join(f"{k}{_text(v)}" for k, v in sorted(values.items()))


def flags(values: dict) -> list[str]:
    """The run script's flags for ``values``."""
    out = []
    for key, value in sorted(values.items()):
        out += [f"--{key}", "none" if value is None else repr(value)
                if isinstance(value, float) else _text(value)]
    return out
