"""The ablation table (``--ablation BASE``, issue 21): in each env, the experiments of a variant
other than ``BASE`` read as knock-outs from that variant's defaults toward ``BASE``.

Per env and variant: the *defaults* experiment (every field of the config at its default), the
*knock-outs* (named by the fields where they differ from the defaults), ``BASE``'s defaults
experiment (*base*) and ``BASE``'s other experiments (*base-changed*: ``BASE`` with some fields
changed, e.g. set to the other variant's values). Each row's score is ``eprewmean`` at the
budget (:func:`.budgets.at_budget`, mean ± std over the seeds there); its **share of the gap**
is (defaults − row) / (defaults − base), of the means: 0 for the defaults, 1 for ``BASE``,
above 1 a row that falls below ``BASE``, below 0 one that beats the defaults. Where the runs
log the policy's KL per update (master's ``--log_kl``, the paper variant always), each row also
gets its median up to the budget (``policy_kl``: each seed's median over its updates, then the
median over the seeds), how far one update moves the policy. Writes ``ablation.md``,
``ablation.csv`` and ``ablation.png`` (the shares as bars, one colour per env)."""
import csv
import math
import os
import statistics

from .budgets import at_budget
from .errors import CompareError
from .grouping import seed_scores_text
from .settings import changes_from_defaults, settings_text
from .verdicts import fmt_num, fmt_steps

CSV_COLUMNS = ["env", "variant", "role", "changes", "budget", "n_seeds", "n_runs", "mean", "std",
               "seed_scores", "share_of_gap", "policy_kl", "n_kl_seeds"]
ENV_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
MISSING = "—"            # no seed got to the budget
LABEL_CHARS = 70         # a knock-out's label in the figure: its changes, cut with "(+N more)"


def changes(res):
    """The fields where an experiment's runs differ from their config's defaults."""
    return changes_from_defaults(res.runs[0].config)


def _defaults_of(members, what):
    at_defaults = [r for r in members if not changes(r)]
    if not at_defaults:
        raise CompareError(f"--ablation: no run of {what} at its config's defaults: the "
                           "ablation reads knock-outs against it")
    return at_defaults[0]


def policy_kl_at(res, budget):
    """``(median, n_seeds)``: the median over the seeds of each seed's median policy KL per
    update over its updates up to ``budget`` timesteps; ``(nan, 0)`` when none logs it."""
    medians = []
    for run in res.by_seed():
        if run.policy_kl is None:
            continue
        ts, kl = run.policy_kl
        kept = kl[ts <= budget]
        if len(kept):
            medians.append(float(statistics.median(kept)))
    return (statistics.median(medians), len(medians)) if medians else (math.nan, 0)


def ablation_rows(results, base, budget):
    """``ablation.csv`` rows, per env (first-seen order) and other variant: the defaults, the
    knock-outs, ``base``'s defaults, then ``base``'s other experiments."""
    rows = []
    for env_id in dict.fromkeys(r.env_id for r in results):
        mine = [r for r in results if r.env_id == env_id]
        others = list(dict.fromkeys(r.variant for r in mine if r.variant != base))
        bases = [r for r in mine if r.variant == base]
        if not others or not bases:  # nothing to read against each other in this env
            continue
        base_res = _defaults_of(bases, f"variant {base} for {env_id}")
        base_at = at_budget(base_res, budget)
        tail = [(base_res, "base")] + [(r, "base-changed") for r in bases if r is not base_res]
        for variant in others:
            members = [r for r in mine if r.variant == variant]
            top = _defaults_of(members, f"variant {variant} for {env_id}")
            top_at = at_budget(top, budget)
            gap = top_at["mean"] - base_at["mean"]
            order = [(top, "defaults")] + [(r, "knock-out") for r in members if r is not top]
            for res, role in order + tail:
                at = top_at if res is top else base_at if res is base_res else \
                    at_budget(res, budget)
                share = (top_at["mean"] - at["mean"]) / gap if gap else math.nan
                kl, n_kl = policy_kl_at(res, budget)
                rows.append(dict(env=env_id, variant=res.variant, role=role,
                                 changes=settings_text(changes(res)), budget=budget,
                                 n_seeds=at["n_seeds"], n_runs=at["n_runs"], mean=at["mean"],
                                 std=at["std"], seed_scores=seed_scores_text(at["reached"]),
                                 share_of_gap=share, policy_kl=kl, n_kl_seeds=n_kl))
    if not rows:
        raise CompareError(f"--ablation {base}: no env has runs of variant {base} and of another "
                           "variant")
    return rows


def _cell(row):
    if not row["seed_scores"]:
        return MISSING, MISSING
    if not row["n_seeds"]:
        return "n/a", "n/a"
    score = f"{fmt_num(row['mean'])} ± {fmt_num(row['std'])} ({row['n_seeds']})"
    share = row["share_of_gap"]
    return score, ("n/a" if not math.isfinite(share) else f"{100 * share:.0f}%")


def _row_key(row):
    return row["role"], row["variant"], row["changes"]


def _row_name(role, variant):
    return f"variant {variant}" + ("" if role in ("knock-out", "base-changed") else f" ({role})")


def _kl_table(rows, envs, keys, by, at):
    """The policy-step table of ``ablation.md`` (empty when no run logs the KL)."""
    if not any(r["n_kl_seeds"] for r in rows):
        return []
    out = ["", f"Policy step: the policy's KL between before and after an update, on that "
           f"update's batch, median over the updates up to {at} (each seed's), then over the "
           "seeds (their count in brackets); — where no run logs it.", "",
           "| " + " | ".join(["experiment", "changes from its defaults"]
                             + [f"{env} KL per update" for env in envs]) + " |",
           "|" + "---|" * (2 + len(envs))]
    for role, variant, text in keys:
        cells = [_row_name(role, variant), text.replace(", ", ",<br>") if text else "—"]
        for env in envs:
            row = by.get((env, role, variant, text))
            cells.append(f"{row['policy_kl']:.1e} ({row['n_kl_seeds']})"
                         if row and row["n_kl_seeds"] else "—")
        out.append("| " + " | ".join(cells) + " |")
    return out


def ablation_markdown(rows, base, budget, argv):
    """``ablation.md``: one table, a row per experiment (defaults, knock-outs, ``base`` and its
    changed experiments) and per env its score at the budget and its share of the gap (``—``
    where no seed got there); then, where runs log it, the policy KL per update of each."""
    envs = list(dict.fromkeys(r["env"] for r in rows))
    keys = list(dict.fromkeys(_row_key(r) for r in rows))
    keys = [k for k in keys if not k[0].startswith("base")] + [
        k for k in keys if k[0].startswith("base")]
    by = {(r["env"],) + _row_key(r): r for r in rows}
    at = fmt_steps(budget)
    heads = ["experiment", "changes from its defaults"]
    for env in envs:
        heads += [f"{env} @ {at} (seeds)", f"{env} share of gap"]
    out = ["# Ablation: knock-outs toward " + f"variant {base}", "",
           f"Generated by `python -m baselines_acktr.compare {' '.join(argv)}`.", "",
           f"Score: `eprewmean` at the first logged row with `total_timesteps` ≥ {at}, mean ± std "
           "(ddof=0) over the seeds that got there (their count in brackets). Share of the gap: "
           f"(defaults − row) / (defaults − variant {base}'s defaults), of the means: 0% the "
           f"defaults, 100% variant {base}; above 100% a row that falls below variant {base}, "
           "below 0% one that beats the defaults. A knock-out (and a changed variant "
           f"{base} experiment) is named by the fields of its config that differ from its "
           "variant's defaults.", "",
           "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for role, variant, text in keys:
        cells = [_row_name(role, variant), text.replace(", ", ",<br>") if text else "—"]
        for env in envs:
            row = by.get((env, role, variant, text))
            cells += list(_cell(row)) if row else ["—", "—"]
        out.append("| " + " | ".join(cells) + " |")
    out += _kl_table(rows, envs, keys, by, at)
    out += ["", "![the shares of the gap](ablation.png)", ""]
    return "\n".join(out)


def _label(text):
    if len(text) <= LABEL_CHARS:
        return text
    parts, kept = text.split(", "), []
    for part in parts:
        if len(", ".join(kept + [part])) > LABEL_CHARS - 14:
            break
        kept.append(part)
    return ", ".join(kept) + f", … (+{len(parts) - len(kept)} more)"


def plot_ablation(rows, path):
    """``ablation.png``: the shares of the gap of the knock-outs and the changed base
    experiments as horizontal bars, one colour per env, with the std over seeds as the error
    bar, and lines at 0% and 100%."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(r["env"] for r in rows))
    kos = list(dict.fromkeys(_row_key(r) for r in rows
                             if r["role"] in ("knock-out", "base-changed")))
    by = {(r["env"],) + _row_key(r): r for r in rows}
    height = 0.8 / max(1, len(envs))
    rows_high = 0.55 * max(1, len(kos)) * max(1, len(envs)) ** 0.5
    fig, ax = plt.subplots(figsize=(10, 1.2 + rows_high))
    try:
        for j, env in enumerate(envs):
            ys, xs, errs = [], [], []
            for i, key in enumerate(kos):
                row = by.get((env,) + key)
                if row is None or not math.isfinite(row["share_of_gap"]):
                    continue
                top = next(r for r in rows if r["env"] == env and r["role"] == "defaults")
                base = next(r for r in rows if r["env"] == env and r["role"] == "base")
                gap = top["mean"] - base["mean"]
                ys.append(i + (j - (len(envs) - 1) / 2) * height)
                xs.append(100 * row["share_of_gap"])
                errs.append(100 * row["std"] / abs(gap) if row["n_seeds"] > 1 and gap else 0.0)
            ax.barh(ys, xs, height=height, xerr=errs, color=ENV_COLORS[j % len(ENV_COLORS)],
                    label=env, capsize=2)
        names = [_label(text) if role == "knock-out" else f"{variant}: {_label(text)}"
                 for role, variant, text in kos]
        ax.set_yticks(range(len(kos)), names, fontsize=8)
        ax.invert_yaxis()
        for x in (0, 100):
            ax.axvline(x, color="black", lw=0.8)
        ax.set_xlabel("share of the gap (%): 0 = defaults, 100 = base variant")
        ax.set_title(f"Knock-outs at {fmt_steps(rows[0]['budget'])} timesteps")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def write_ablation(out_dir, rows, base, budget, argv):
    """Write ``ablation.md``, ``ablation.csv`` and ``ablation.png`` of :func:`ablation_rows`."""
    with open(os.path.join(out_dir, "ablation.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out_dir, "ablation.md"), "w") as fh:
        fh.write(ablation_markdown(rows, base, budget, argv))
    plot_ablation(rows, os.path.join(out_dir, "ablation.png"))
