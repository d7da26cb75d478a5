"""Scores at fixed timestep budgets: each seed's ``eprewmean`` when it first reached the budget,
pooled over the seeds of an experiment; ``budgets.csv`` and its tables in ``comparison.md``."""
import csv

import numpy as np

from .grouping import seed_order, seed_scores_text
from .verdicts import fmt_num, fmt_steps, spread

BUDGETS = (500_000, 1_000_000, 2_000_000)
BUDGET_COLUMNS = ["env", "alg", "variant", "budget", "n_seeds", "n_runs", "mean", "std", "min",
                  "max", "seed_scores"]


def score_at(run, budget):
    """``eprewmean`` at the first row (in timestep order) with ``total_timesteps >= budget``;
    None if the run never got there (nan if it had no finished episode by then)."""
    hits = np.nonzero(run.timesteps >= budget)[0]
    return None if len(hits) == 0 else float(run.eprewmean[hits[0]])


def at_budget(res, budget):
    """``dict(budget, n_runs, reached=[(seed, score)], missing=[run], spread...)`` for one
    experiment; ``n_seeds`` counts the seeds with a finite score at the budget."""
    reached, missing = [], []
    for run in res.by_seed():
        value = score_at(run, budget)
        if value is None:
            missing.append(run)
        else:
            reached.append((run.seed, value))
    s = spread([v for _, v in reached])
    return dict(budget=budget, n_runs=len(res.runs), reached=reached, missing=missing,
                n_seeds=s["n"], mean=s["mean"], std=s["std"], min=s["min"], max=s["max"])


def budget_table(res, budgets=BUDGETS):
    """The budgets at least one seed of ``res`` reached, each as :func:`at_budget`."""
    return [b for b in (at_budget(res, x) for x in budgets) if b["reached"]]


def budget_rows(res, budgets=BUDGETS):
    """``budgets.csv`` rows of one experiment (``setting`` too when it has settings)."""
    extra = {"setting": res.settings_text} if res.settings else {}
    return [dict(env=res.env_id, alg="" if res.alg is None else res.alg,
                 variant="" if res.variant is None else res.variant, budget=b["budget"],
                 n_seeds=b["n_seeds"], n_runs=b["n_runs"], mean=b["mean"], std=b["std"],
                 min=b["min"], max=b["max"], seed_scores=seed_scores_text(b["reached"]), **extra)
            for b in budget_table(res, budgets)]


def write_budgets_csv(path, results, budgets=BUDGETS):
    columns = BUDGET_COLUMNS + (["setting"] if any(res.settings for res in results) else [])
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        for res in results:
            w.writerows(budget_rows(res, budgets))


def _seed(s):
    return "?" if s is None else str(s)


def budget_markdown(res, budgets=BUDGETS):
    """Lines of the experiment's 'scores at fixed budgets' table."""
    table = budget_table(res, budgets)
    t_hi = res.steps[1]
    out = ["Scores at fixed budgets (`eprewmean` at the first logged row with "
           "`total_timesteps` ≥ the budget; seeds that did not get there are left out):", ""]
    if table:
        out += ["| budget | seeds | mean ± std | min | max | per seed |",
                "|---|---|---|---|---|---|"]
    for b in table:
        n = b["n_runs"]
        count = f"{b['n_seeds']} of {n}"
        if b["missing"]:
            count += " (not reached: seed " + ", ".join(
                f"{_seed(r.seed)} at {fmt_steps(r.final_timesteps)}"
                for r in sorted(b["missing"], key=lambda r: seed_order(r.seed))) + ")"
        per_seed = ", ".join(f"{_seed(s)}: {fmt_num(v)}" for s, v in b["reached"])
        out.append(f"| {fmt_steps(b['budget'])} | {count} | {fmt_num(b['mean'])} ± "
                   f"{fmt_num(b['std'])} | {fmt_num(b['min'])} | {fmt_num(b['max'])} | "
                   f"{per_seed} |")
    unreached = [x for x in budgets if x not in {b["budget"] for b in table}]
    if unreached:
        out += [""] if table else []
        out.append(f"Not reached by any seed (longest run {fmt_steps(t_hi)}): "
                   f"{', '.join(fmt_steps(x) for x in unreached)}.")
    return out + [""]
