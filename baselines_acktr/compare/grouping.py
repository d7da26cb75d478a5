"""Runs of one env id pooled as the seeds of one experiment, with its references."""
from dataclasses import dataclass

from .errors import CompareError
from .references import canonical_name, references_for
from .verdicts import spread


@dataclass
class EnvResult:
    """The runs of one env id (its seeds), the JSON's name for it and its references."""

    env_id: str
    name: str
    runs: list
    refs: list

    @property
    def score(self):
        return spread([r.final_score for r in self.runs])

    @property
    def monitor(self):
        return spread([r.monitor_last100 for r in self.runs if r.episode_returns is not None])

    @property
    def steps(self):
        return min(r.final_timesteps for r in self.runs), max(r.final_timesteps for r in self.runs)

    def seeds_text(self):
        return ", ".join("?" if r.seed is None else str(r.seed) for r in self.runs)


def group_runs(runs, data):
    """Group runs by env id (first-seen order) and attach the references."""
    groups = {}
    for run in runs:
        groups.setdefault(run.env_id, []).append(run)
    out = []
    for env_id, members in groups.items():
        kinds = sorted({f"alg={r.alg} variant={r.variant}" for r in members})
        if len(kinds) > 1:
            raise CompareError(
                f"the {env_id} runs were made with different algorithms or variants "
                f"({'; '.join(kinds)}): they are not seeds of one experiment; "
                f"compare them in separate invocations (--out DIR for each)")
        name, refs = references_for(env_id, data)
        if not refs:
            raise CompareError(
                f"no reference numbers for env {env_id!r} (looked up as "
                f"{canonical_name(env_id)!r}; "
                f"see baselines_acktr/compare/data/paper_numbers.json)")
        out.append(EnvResult(env_id, name, members, refs))
    return out
