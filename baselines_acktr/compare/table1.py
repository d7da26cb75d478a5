"""The paper's Table 1 side by side (``--table1``): per Atari game of the table, this
project's ACKTR and A2C episode ``N`` (first game ``N`` whose games ``N..N+99`` have a mean
return at the human level, :meth:`.runs.Run.episodes_to_level`), per seed and over seeds, next to
the paper's ``N``, its 50M-timestep rewards and its A2C/ACKTR ratio; ``table1.md`` and
``table1.csv``.

A seed that did not reach the level in its ``G`` whole games is a lower bound: every window
that ended by game ``G`` fell short, so ``N ≥ G − 98`` (the first window that could still
reach it starts there). A mean over seeds that includes such a bound is a lower bound too
(``>=``), and the A2C/ACKTR ratio of the means is then bounded from one side (``>=`` when
A2C's mean is a bound, ``<=`` when ACKTR's is) or not at all (``n/a``: both are bounds, or an
algorithm has no run)."""
import csv
import os
from dataclasses import dataclass, field

import numpy as np

from .errors import CompareError
from .grouping import seed_order
from .references import canonical_name
from .runs import HUMAN_WINDOW
from .verdicts import fmt_num, fmt_steps

ALGS = ("acktr", "a2c")
ALG_LABEL = {"acktr": "ACKTR", "a2c": "A2C"}
DEFAULT_BACKEND = "gym"
MISSING = "—"
CSV_COLUMNS = [
    "game", "source", "alg", "env_ids", "backends", "n_seeds", "seeds", "human_level",
    "episode_n_per_seed", "games_per_seed", "final_timesteps_per_seed",
    "final_eprewmean_per_seed", "mean_n", "mean_n_is_lower_bound", "paper_episode_n",
    "paper_reward_50m", "ratio_a2c_over_acktr", "ratio_form", "paper_ratio", "run_dirs",
]


@dataclass
class SeedN:
    """One run's Table 1 episode: ``n`` (None: not reached), its whole ``games`` and
    ``bound`` (``n``, or the lower bound ``max(G − 98, 1)`` when not reached; 1 without
    monitor files). ``with_backend``: its cell mixes backends, the label names its own."""

    run: object
    level: float
    with_backend: bool = False

    def __post_init__(self):
        r = self.run.episode_returns
        self.games = None if r is None else len(r)
        self.n = self.run.episodes_to_level(self.level)

    @property
    def reached(self):
        return self.n is not None

    @property
    def bound(self):
        return self.n if self.reached else max((self.games or 0) - HUMAN_WINDOW + 2, 1)

    @property
    def seed(self):
        """``'0'``, or ``'0/ale_vector'`` in a cell of several backends."""
        seed = "?" if self.run.seed is None else str(self.run.seed)
        return f"{seed}/{backend_of(self.run)}" if self.with_backend else seed

    def text(self):
        """``'904'``, ``'not reached in 850 games'`` or ``'no monitor files'``."""
        if self.reached:
            return f"{self.n:,}"
        if self.games is None:
            return "no monitor files"
        return f"not reached in {self.games:,} game{'' if self.games == 1 else 's'}"


def backend_of(run):
    return DEFAULT_BACKEND if run.variant is None else str(run.variant)


@dataclass
class Cell:
    """The runs of one game and alg, whatever their backend, as seeds (ordered by seed)."""

    alg: str
    level: float
    runs: list = field(default_factory=list)

    @property
    def seeds(self):
        mixed = len({backend_of(r) for r in self.runs}) > 1
        return [SeedN(r, self.level, mixed) for r in self.runs]

    @property
    def mean(self):
        """``(mean N, is a lower bound)`` over the seeds; ``(None, False)`` without runs or
        without monitor files in any of them."""
        seeds = self.seeds
        if all(s.games is None for s in seeds):
            return None, False
        return float(np.mean([s.bound for s in seeds])), not all(s.reached for s in seeds)

    @property
    def backends(self):
        """``'gym'``, ``'ale_vector'``, ``'gym+ale_vector'``: the runs' backends/variants."""
        names = {backend_of(r) for r in self.runs}
        return "+".join(sorted(names, key=lambda b: (b != DEFAULT_BACKEND, b)))


@dataclass
class Game:
    """One game of the paper's Table 1: its JSON entry, this project's two cells and the
    reference logs (another implementation's runs) of the game."""

    name: str
    entry: dict
    level: float
    cells: dict
    references: list = field(default_factory=list)

    def paper(self, key):
        """``(value, confidence)`` of the entry's ``key``, or None."""
        obj = self.entry.get(key)
        if isinstance(obj, dict) and isinstance(obj.get("value"), (int, float)):
            return float(obj["value"]), obj.get("confidence", "")
        return None

    @property
    def ratio(self):
        """``(A2C mean N / ACKTR mean N, form)``, form ``'='``, ``'>='``, ``'<='`` or
        ``'n/a'`` (then the value is None)."""
        (a, a_low), (k, k_low) = self.cells["a2c"].mean, self.cells["acktr"].mean
        if a is None or k is None or (a_low and k_low):
            return None, "n/a"
        return a / k, ">=" if a_low else ("<=" if k_low else "=")

    @property
    def figure_file(self):
        return f"figure1_{self.name}.png"


def is_reference(run):
    """Another implementation's run (``config.json`` names an ``implementation``, as
    ``docs/results/baselines_tf1_pong_seed2`` does): a reference, never a seed here."""
    return run.implementation is not None


def table1_games(runs, data, references=()):
    """The games of the paper's Table 1 (in its order) that ``runs`` hold an acktr or a2c run
    of; other runs are not used. ``references``, and runs that are another implementation's,
    go with their game as reference logs. Raises CompareError if no game qualifies."""
    entries = {canonical_name(e.get("game", "")): e for e in data["paper"].get("atari_table1", [])
               if isinstance(e.get("human_level"), dict)}
    refs, mine, seen = [], {}, set()
    for run in list(references) + [r for r in runs if is_reference(r)]:
        key = os.path.realpath(run.path)
        if key not in seen:
            seen.add(key)
            refs.append(run)
    for run in runs:
        alg = str(run.alg).lower()
        game = canonical_name(run.env_id)
        if game in entries and alg in ALGS and not is_reference(run):
            mine.setdefault(game, {}).setdefault(alg, []).append(run)
    if not mine:
        raise CompareError(
            "--table1: no acktr or a2c run of a game in the paper's Table 1 ("
            + ", ".join(e["game"] for e in entries.values()) + ")")
    games = []
    for key, entry in entries.items():
        if key not in mine:
            continue
        level = float(entry["human_level"]["value"])
        cells = {alg: Cell(alg, level, sorted(mine[key].get(alg, []),
                                              key=lambda r: seed_order(r.seed)))
                 for alg in ALGS}
        games.append(Game(entry["game"], entry, level, cells,
                          [r for r in refs if canonical_name(r.env_id) == key]))
    return games


def reference_label(run):
    """``'openai/baselines TF1 (tf.compat.v1) acktr, seed 2'`` (else the folder's name)."""
    who = run.implementation or os.path.basename(os.path.normpath(run.path))
    alg = "" if run.alg is None else f" {run.alg}"
    seed = "" if run.seed is None else f", seed {run.seed}"
    return f"{who}{alg}{seed}"


# --------------------------------------------------------------------------- text
def _paper_text(game, key, budget=False):
    got = game.paper(key)
    if got is None:
        return MISSING
    value, confidence = got
    text = (f"{value:,.0f}" if key.endswith("episode_reaching_human") else fmt_num(value))
    text += " @ 50M" if budget else ""
    return text + ("" if confidence in ("high", "") else f" ({confidence})")


def mean_text(mean, lower):
    if mean is None:
        return "n/a"
    return (">= " if lower else "") + f"{mean:,.0f}"


def ratio_text(value, form):
    if value is None:
        return "n/a"
    return ("" if form == "=" else f"{form} ") + f"{value:.2f}"


def _per_seed(seeds, fn, sep="; "):
    return sep.join(f"{s.seed}: {fn(s)}" for s in seeds)


def cell_row(game, cell):
    """The markdown cells of one (game, alg) row."""
    alg = ALG_LABEL[cell.alg]
    paper = [_paper_text(game, f"{cell.alg}_episode_reaching_human"),
             _paper_text(game, f"{cell.alg}_reward", budget=True)]
    head = [game.name, _paper_text(game, "human_level"), alg]
    if not cell.runs:
        return head + [MISSING, "0 (no run)", MISSING, "n/a", MISSING, MISSING, MISSING] + paper
    seeds = cell.seeds
    n = len(seeds)
    return head + [
        cell.backends, f"{n} ({', '.join(s.seed for s in seeds)})",
        _per_seed(seeds, SeedN.text), mean_text(*cell.mean),
        _per_seed(seeds, lambda s: MISSING if s.games is None else f"{s.games:,}"),
        _per_seed(seeds, lambda s: fmt_steps(s.run.final_timesteps)),
        _per_seed(seeds, lambda s: fmt_num(s.run.final_score))] + paper


TABLE_HEAD = ["game", "human level", "alg", "backend", "seeds", "episode N per seed",
              "mean N", "games per seed", "timesteps per seed", "final eprewmean per seed",
              "paper N", "paper reward"]
RATIO_HEAD = ["game", "A2C / ACKTR mean N, this project", "paper"]


def _table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"
                  for row in rows]


def tables_markdown(games):
    """Lines of the two tables: a row per game and alg, then the ratio per game."""
    rows = [cell_row(g, g.cells[alg]) for g in games for alg in ALGS]
    ratios = [[g.name, ratio_text(*g.ratio),
               _paper_text(g, "a2c_over_acktr_episodes_to_human_ratio")] for g in games]
    return _table(TABLE_HEAD, rows) + [""] + _table(RATIO_HEAD, ratios)


def _reference_lines(games):
    out = []
    for g in games:
        for r in g.references:
            seed = SeedN(r, g.level)
            n = (f"episode N {seed.text()}" if seed.games is not None
                 else "no monitor files, so no episode N")
            out.append(f"* {g.name}: {reference_label(r)} (`{r.path}`): final eprewmean "
                       f"{fmt_num(r.final_score)} at {fmt_steps(r.final_timesteps)} "
                       f"timesteps; {n}.")
    if not out:
        return []
    return ["## Reference logs (another implementation's runs, not pooled)", ""] + out + [""]


def table1_markdown(games, argv):
    """The text of ``table1.md``."""
    out = ["# The paper's Table 1 side by side", "",
           f"Generated by `python -m baselines_acktr.compare {' '.join(argv)}`.", "",
           f"* **Episode N**: the first game N (1-based, games in the order they ended in the "
           f"monitor files) for which the mean return of games N..N+{HUMAN_WINDOW - 1} reaches "
           "the paper's human level; the paper's column is this, averaged over 2 seeds. A seed "
           "that did not get there is *not reached in G games*: N ≥ G − 98 (a run without monitor "
           "files: N ≥ 1), and a mean over seeds that includes such a bound is a lower bound "
           "(`>=`).",
           "* **Ratio**: A2C's mean N over ACKTR's; `>=` when A2C's mean is a lower bound, `<=` "
           "when ACKTR's is, `n/a` when both are (or an algorithm has no run).",
           "* **This project's runs**: the runs of a game and alg are the seeds of its row "
           "whatever their env backend (the column says which; the main comparison keeps "
           "backends apart). Timesteps and eprewmean are each run's last logged row, not a "
           "common budget. The paper's rewards are at 50M timesteps; its confidence is in "
           "parentheses where it is not `high`.", ""]
    out += tables_markdown(games) + [""] + _reference_lines(games)
    out += [f"![Figure 1, {g.name}]({g.figure_file})" for g in games] + [""]
    return "\n".join(out)


def _csv_seeds(seeds, fn):
    return ";".join(f"{s.seed}:{fn(s)}" for s in seeds)


def _csv_n(seed):
    """``904``, ``>=782`` (not reached: the bound) or empty (no monitor files)."""
    if seed.reached:
        return seed.n
    return "" if seed.games is None else f">={seed.bound}"


def _csv_row(game, cell, source):
    seeds = cell.seeds
    mean, lower = cell.mean
    paper = {k: ("" if game.paper(k) is None else game.paper(k)[0])
             for k in (f"{cell.alg}_episode_reaching_human", f"{cell.alg}_reward",
                       "a2c_over_acktr_episodes_to_human_ratio")}
    ratio, form = game.ratio if source == "this project" else (None, "")
    return dict(
        game=game.name, source=source, alg=cell.alg,
        env_ids=";".join(sorted({r.env_id for r in cell.runs})), backends=cell.backends,
        n_seeds=len(seeds), seeds=";".join(s.seed for s in seeds), human_level=game.level,
        episode_n_per_seed=_csv_seeds(seeds, _csv_n),
        games_per_seed=_csv_seeds(seeds, lambda s: "" if s.games is None else s.games),
        final_timesteps_per_seed=_csv_seeds(seeds, lambda s: s.run.final_timesteps),
        final_eprewmean_per_seed=_csv_seeds(seeds, lambda s: repr(s.run.final_score)),
        mean_n="" if mean is None else mean, mean_n_is_lower_bound="" if mean is None
        else int(lower),
        paper_episode_n=paper[f"{cell.alg}_episode_reaching_human"],
        paper_reward_50m=paper[f"{cell.alg}_reward"],
        ratio_a2c_over_acktr="" if ratio is None else ratio, ratio_form=form,
        paper_ratio=paper["a2c_over_acktr_episodes_to_human_ratio"] if source == "this project"
        else "", run_dirs=";".join(r.path for r in cell.runs))


def table1_rows(games):
    """``table1.csv`` rows: one per game and alg (this project), then one per reference log
    (``source`` ``reference: <label>``; the paper's columns of its alg, no ratio)."""
    rows = []
    for g in games:
        rows += [_csv_row(g, g.cells[alg], "this project") for alg in ALGS]
        rows += [_csv_row(g, Cell(str(r.alg).lower(), g.level, [r]),
                          f"reference: {reference_label(r)}") for r in g.references]
    return rows


def write_table1_csv(path, games):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        w.writerows(table1_rows(games))
