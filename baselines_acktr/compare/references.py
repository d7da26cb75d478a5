"""The published numbers: the packaged ``paper_numbers.json`` and the references it
holds for one env id."""
import json
import re
from dataclasses import dataclass
from importlib import resources

# Rows of baselines' benchmark pages shown next to the paper: the paper's three algorithms.
BASELINES_ALGOS = ("acktr", "a2c", "trpo_mpi")
ATARI_TABLE1_METRIC = "mean episode reward over the last 100 training episodes (raw game score)"
_TABLE_NAMES = {"table1": "Table 1", "allgames": "all-games table", "table2": "Table 2"}


@dataclass
class Reference:
    """One published number, with what is needed to compare against it fairly.

    ``kind``: ``'score'`` (an algorithm's reward at a timestep budget), ``'level'`` (a reward
    level without a budget: human level, a reward threshold), ``'ratio'`` or ``'episodes'``
    (reported, not compared).
    """

    ref_id: str
    label: str
    kind: str
    value: float
    units: str
    budget: int = None
    budget_note: str = ""
    confidence: str = ""
    source: str = ""
    same_metric: bool = False  # the same statistic as this project's eprewmean
    note: str = ""


def load_references():
    """The packaged copy of ``paper_numbers.json`` (nothing outside the package is read)."""
    text = (resources.files(__package__) / "data" / "paper_numbers.json").read_text()
    return json.loads(text)


def canonical_name(env_id):
    """``'ALE/Pong-v5'``, ``'PongNoFrameskip-v4'``, ``'Pong'`` → ``'pong'``; ``'Hopper-v5'`` →
    ``'hopper'``; ``'Q-bert'`` → ``'qbert'``: namespace, version, frame-skip and ``-ram``
    suffixes dropped, then lower case without punctuation."""
    name = str(env_id).split("/")[-1]
    name = re.sub(r"-v\d+$", "", name)
    name = re.sub(r"(NoFrameskip|Deterministic)$", "", name)
    name = re.sub(r"-ram$", "", name)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _kind_of(key):
    if key in ("human_level", "human_table4", "reward_threshold"):
        return "level"
    if "ratio" in key or "claim" in key:
        return "ratio"
    if "episode" in key:
        return "episodes"
    if key.endswith("_reward") or key.endswith("_score"):
        return "score"
    return None


def _algo_label(key):
    head = key.split("_")[0]
    return {"acktr": "ACKTR", "a2c": "A2C", "trpo": "TRPO"}.get(head, head)


def _entry_budget(value_obj, entry):
    """``(timesteps or None, note)``: a value's own ``timestep_budget`` (an int, Atari) or the
    entry's ``timestep_budget`` object (MuJoCo Table 2, with its own confidence)."""
    b = value_obj.get("timestep_budget")
    if isinstance(b, (int, float)):
        return int(b), ""
    eb = entry.get("timestep_budget")
    if isinstance(eb, dict) and isinstance(eb.get("value"), (int, float)):
        note = f"budget confidence {eb.get('confidence', '?')} ({eb.get('source', '?')})"
        if eb.get("note"):
            note += f": {eb['note']}"
        return int(eb["value"]), note
    return None, ""


def _paper_refs(entry, table, skip_ids=()):
    """References from one ``paper.*`` entry (a dict of ``{value, units, ...}`` objects)."""
    out = []
    for key, obj in entry.items():
        if not isinstance(obj, dict) or not isinstance(obj.get("value"), (int, float)):
            continue
        kind = _kind_of(key)
        if kind is None:
            continue
        ref_id = f"paper_{table}_{key}"
        if ref_id in skip_ids:
            continue
        if kind == "score":
            label = f"paper {_algo_label(key)} ({_TABLE_NAMES[table]})"
        elif key == "human_level":
            label = f"human level ({_TABLE_NAMES[table]})"
        elif key == "human_table4":
            label = "human level (appendix table)"
        elif key == "reward_threshold":
            label = f"reward threshold ({_TABLE_NAMES[table]})"
        elif key.endswith("_episode_reaching_human"):
            label = f"paper {_algo_label(key)}: episodes to human level"
        elif key.endswith("_episodes_to_threshold"):
            label = f"paper {_algo_label(key)}: episodes to the reward threshold"
        else:
            label = f"paper: {key.replace('_', ' ')}"
        budget, budget_note = _entry_budget(obj, entry) if kind == "score" else (None, "")
        units = obj.get("units", "")
        out.append(Reference(
            ref_id=ref_id, label=label, kind=kind, value=float(obj["value"]), units=units,
            budget=budget, budget_note=budget_note, confidence=obj.get("confidence", ""),
            source=obj.get("source", ""),
            same_metric=kind == "score" and table == "table1" and units == ATARI_TABLE1_METRIC,
            note=obj.get("note", "")))
    return out



def _find(entries, field_name, key):
    for e in entries:
        if canonical_name(e.get(field_name, "")) == key:
            return e
    return None


def references_for(env_id, data):
    """``(name as the JSON spells it, [Reference, ...])`` for ``env_id``; ``(None, [])`` if the
    JSON has no number for it.

    Atari: ``paper.atari_table1`` (every value), ``paper.atari_all_games`` (its ACKTR score
    when Table 1 has none or a different one; its human score when Table 1 has none) and the
    ``BASELINES_ALGOS`` rows of ``baselines_benchmarks.atari10M``.  MuJoCo: ``paper.mujoco``
    (Table 2) and the ``BASELINES_ALGOS`` rows of ``baselines_benchmarks.mujoco1M``.
    """
    key = canonical_name(env_id)
    paper = data.get("paper", {})
    name, refs = None, []
    t1 = _find(paper.get("atari_table1", []), "game", key)
    if t1 is not None:
        name = t1["game"]
        refs += _paper_refs(t1, "table1")
    ag = _find(paper.get("atari_all_games", []), "game", key)
    if ag is not None:
        name = name or ag["game"]
        t1_acktr = (t1 or {}).get("acktr_reward", {}).get("value")
        skip = set()
        if t1_acktr is not None and ag.get("acktr_score", {}).get("value") == t1_acktr:
            skip.add("paper_allgames_acktr_score")
        if t1 is not None and "human_level" in t1:
            skip.add("paper_allgames_human_table4")
        refs += _paper_refs(ag, "allgames", skip)
    mj = _find(paper.get("mujoco", []), "env", key)
    if mj is not None:
        name = name or mj["env"]
        refs += _paper_refs(mj, "table2")
    bench = data.get("baselines_benchmarks", {})
    for page in ("atari10M", "mujoco1M"):
        meta = bench.get(f"{page}_meta", {})
        for row in bench.get(page, []):
            if row.get("algo") not in BASELINES_ALGOS:
                continue
            for env_name, value in row.get("per_env_score", {}).items():
                if canonical_name(env_name) != key or value is None:
                    continue
                name = name or env_name
                refs.append(Reference(
                    ref_id=f"baselines_{page}_{row['algo']}",
                    label=f"baselines {row['algo']} ({page} page)", kind="score",
                    value=float(value),
                    units="episode reward; the page does not define the statistic (its curves: "
                          + meta.get("learning_curve_caption", "?") + ")",
                    budget=int(row.get("timestep_budget") or meta.get("timestep_budget")),
                    confidence="high",
                    source=f"baselines_repo ({meta.get('page', page)}, code commit "
                           f"{row.get('code_commit_short', '?')})",
                    note=row.get("units", "")))
    return name, refs


def human_level(env_id):
    """The paper's Table 1 human level for ``env_id``'s game (``'PongNoFrameskip-v4'`` →
    9.3), or None for a game the table does not list."""
    name = canonical_name(env_id)
    for entry in load_references()["paper"].get("atari_table1", []):
        level = entry.get("human_level")
        if canonical_name(entry.get("game", "")) == name and isinstance(level, dict):
            return float(level["value"])
    return None
