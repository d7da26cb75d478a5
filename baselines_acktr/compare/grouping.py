"""Runs pooled as the seeds of one experiment, keyed by (env id, alg, variant) and the
experiment settings that differ between those runs (:mod:`.settings`), with the references of
the env."""
from dataclasses import dataclass

from .errors import CompareError
from .plots import curve_filename
from .references import canonical_name, references_for
from .settings import settings_text, split_by_settings
from .verdicts import spread


def seed_order(seed):
    """Sort key for seeds: integers in order, then other values as text, unknown last."""
    if seed is None:
        return (2, 0, "")
    if isinstance(seed, bool) or not isinstance(seed, (int, float)):
        return (1, 0, str(seed))
    return (0, seed, "")


def seed_scores_text(pairs):
    """``[(seed, score), ...]`` → ``'0:-20.1;1:-19.5'`` (ordered by seed, full precision)."""
    items = sorted(pairs, key=lambda p: seed_order(p[0]))
    return ";".join(f"{'?' if s is None else s}:{float(v)!r}" for s, v in items)


@dataclass
class EnvResult:
    """One experiment: the runs (seeds) of one env id, alg, variant and ``settings`` (the
    ``((key, value), ...)`` of the config fields that differ between the runs of that env id,
    alg and variant; ``()`` when none do), the JSON's name for the env and its references.
    ``split``: the env has other experiments in this comparison. ``unknown``: settings some
    of those runs do not record and the others record with different values (not split on)."""

    env_id: str
    name: str
    runs: list
    refs: list
    alg: object = None
    variant: object = None
    split: bool = False
    curve_file: str = ""
    settings: tuple = ()
    unknown: tuple = ()

    def __post_init__(self):
        self.curve_file = self.curve_file or curve_filename(self.file_stem)

    @property
    def score(self):
        return spread([r.final_score for r in self.runs])

    @property
    def monitor(self):
        return spread([r.monitor_last100 for r in self.runs if r.episode_returns is not None])

    @property
    def steps(self):
        return min(r.final_timesteps for r in self.runs), max(r.final_timesteps for r in self.runs)

    @property
    def kind_text(self):
        """``'alg acktr, variant paper'`` (``'alg ?'`` when config.json does not say), then the
        settings: ``'alg acktr, kfac_clip=0.002'``."""
        text = f"alg {'?' if self.alg is None else self.alg}"
        text += "" if self.variant is None else f", variant {self.variant}"
        return text + (f", {self.settings_text}" if self.settings else "")

    @property
    def settings_text(self):
        """``'kfac_clip=0.002'`` (``''`` without settings)."""
        return settings_text(self.settings)

    @property
    def label(self):
        """The env id, with alg and variant when the env has several experiments here."""
        return f"{self.env_id} ({self.kind_text})" if self.split else self.env_id

    @property
    def file_stem(self):
        if not self.split:
            return self.env_id
        parts = [self.env_id, "noalg" if self.alg is None else str(self.alg)]
        parts += [] if self.variant is None else [str(self.variant)]
        return "-".join(parts + [f"{k}={v}" for k, v in self.settings])

    def seeds_text(self):
        return ", ".join("?" if r.seed is None else str(r.seed) for r in self.runs)

    def by_seed(self):
        """The runs ordered by seed."""
        return sorted(self.runs, key=lambda r: seed_order(r.seed))

    def seed_scores(self):
        """Each seed's final score, ``'0:14.0;1:16.0'``."""
        return seed_scores_text([(r.seed, r.final_score) for r in self.runs])


def group_runs(runs, data):
    """Group runs by (env id, alg, variant), in first-seen order, then by the values of the
    settings that differ between the runs of that key (ordered by value), and attach the
    references. Runs of one group are seeds of one experiment; another alg, variant or
    setting of the same env is another experiment."""
    groups = {}
    for run in runs:
        groups.setdefault((run.env_id, run.alg, run.variant), []).append(run)
    parts = {key: split_by_settings(members) for key, members in groups.items()}
    per_env = {}
    for (env_id, _, _), (split, _) in parts.items():
        per_env[env_id] = per_env.get(env_id, 0) + len(split)
    out, files = [], set()
    for (env_id, alg, variant), (split, unknown) in parts.items():
        name, refs = references_for(env_id, data)
        if not refs:
            raise CompareError(
                f"no reference numbers for env {env_id!r} (looked up as "
                f"{canonical_name(env_id)!r}; "
                f"see baselines_acktr/compare/data/paper_numbers.json)")
        for settings, members in split:
            out.append(EnvResult(env_id, name, members, refs, alg, variant,
                                 per_env[env_id] > 1, settings=settings, unknown=unknown))
    for res in out:
        stem, i = res.file_stem, 1
        while res.curve_file in files:  # two ids the file name spells alike
            i += 1
            res.curve_file = curve_filename(f"{stem}-{i}")
        files.add(res.curve_file)
    return out
