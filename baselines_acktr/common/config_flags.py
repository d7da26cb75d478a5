"""Every config field a command-line flag, as baselines' ``run.py`` passes ``--key=value``
on to ``learn()``.

:func:`add_config_flags` adds one flag per field of the given configs
(:mod:`baselines_acktr.common.configs`), grouped as the fields say, ``--lr 0.1`` and
``--lr=0.1`` alike; booleans take ``true/false``, optional numbers ``none``.
:func:`resolve_config` builds the chosen algorithm's config from its env-family defaults,
the values of a ``--config`` file and the flags on top; a flag of another algorithm, a
wrong type or an out-of-range value is one line and exit status 2.  TF-free.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib

from .cmd_util import fail


def _bool(text):
    low = str(text).strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _int(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return int(value)


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _optional_float(text):
    return None if str(text).strip().lower() == "none" else _float(text)


_TYPES = {"bool": _bool, "int": _int, "float": _float, "str": str, "float | None": _optional_float}


def field_type(f: dataclasses.Field):
    """The flag parser of a config field (its annotation is a string: ``from __future__``)."""
    return _TYPES[str(f.type)]


def coerce(name: str, f: dataclasses.Field, value):
    """A value of a ``--config`` file or a sweep's grid as the field's type (ValueError)."""
    if value is None and str(f.type) == "float | None":
        return None
    try:
        return field_type(f)(value if isinstance(value, str) else
                             (repr(value) if isinstance(value, float) else str(value)))
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{name}: {exc}") from None


def fields_by_name(configs) -> dict[str, list]:
    """Field name → [(config class, field), ...] over ``configs``."""
    out: dict[str, list] = {}
    for cls in configs:
        for f in dataclasses.fields(cls):
            out.setdefault(f.name, []).append((cls, f))
    return out


def add_config_flags(parser: argparse.ArgumentParser, specs) -> None:
    """One flag per field of the configs of ``specs`` (the registry's
    :class:`~baselines_acktr.common.configs.AlgSpec`), grouped; the help gives each
    algorithm's default for its env family.  Flags default to absent, so that given ones
    can be told apart from defaults."""
    configs = list(dict.fromkeys(spec.config for spec in specs))
    groups = {}
    for name, owners in fields_by_name(configs).items():
        first = owners[0][1]
        group = first.metadata.get("group", "algorithm")
        if group not in groups:
            groups[group] = parser.add_argument_group(f"hyperparameters: {group}")
        helps = list(dict.fromkeys(f.metadata["help"] for _, f in owners))
        sym = f" [{first.metadata['symbol']}]" if first.metadata.get("symbol") else ""
        defaults = [(spec.variant or spec.name, getattr(spec.defaults(), name))
                    for spec in specs if name in spec.config.field_names()]
        if len(defaults) < len(specs):  # a flag of some of the algorithms only
            default = f"{'/'.join(label for label, _ in defaults)} only; default " + ", ".join(
                str(v) for _, v in defaults)
        elif len({repr(v) for _, v in defaults}) == 1 and len(helps) == 1:
            default = f"default {defaults[0][1]}"
        else:
            default = "default " + ", ".join(f"{label} {v}" for label, v in defaults)
        labels = {spec.config: spec.variant or spec.name for spec in reversed(specs)}
        text = helps[0] + sym if len(helps) == 1 else "; ".join(
            f"{labels[cls]}: {f.metadata['help']}" for cls, f in owners)
        kw = dict(type=field_type(first), default=argparse.SUPPRESS, help=f"{text} ({default})",
                  metavar=str(first.type).split(" ")[0].upper())
        if first.metadata.get("choices"):
            kw.update(choices=first.metadata["choices"], metavar=None)
        groups[group].add_argument(f"--{name}", **kw)


def unknown_option_message(parser: argparse.ArgumentParser, extras) -> str:
    """One line for arguments the parser does not know, with the nearest option name."""
    word = extras[0]
    if not word.startswith("-"):
        return f"unexpected argument {word!r}"
    name = word.split("=", 1)[0]
    options = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
    near = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"unknown option {name}" + (f" (did you mean {near[0]}?)" if near else "")


def resolve_config(prog: str, spec, args: argparse.Namespace, configs, from_file=None):
    """The config of ``spec`` (:class:`~baselines_acktr.common.configs.AlgSpec`): its
    family's defaults, then ``from_file`` (a ``--config`` record: its fields of this
    algorithm), then the flags given in ``args``.  A given flag that ``spec``'s algorithm
    does not have, or an invalid value, ends with one line and exit status 2."""
    names = set(spec.config.field_names())
    given = {k: getattr(args, k) for k in fields_by_name(configs) if hasattr(args, k)}
    foreign = sorted(set(given) - names)
    if foreign:
        what = spec.variant and f"--variant {spec.variant}" or f"--alg {spec.name}"
        fail(prog, f"--{foreign[0]} does not apply to {what}")
    values = {}
    own = {f.name: f for f in dataclasses.fields(spec.config)}
    for key, value in (from_file or {}).items():
        if key in own:
            try:
                values[key] = coerce(key, own[key], value)
            except ValueError as exc:
                fail(prog, f"--config: {exc}")
    values.update(given)
    try:
        return spec.defaults(**values)
    except (TypeError, ValueError) as exc:
        fail(prog, str(exc))
