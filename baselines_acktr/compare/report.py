"""The written outputs: ``comparison.csv`` rows and the text of ``comparison.md``."""
import csv

import numpy as np

from .budgets import budget_markdown
from .runs import LAST_EPISODES
from .summary import summary_markdown
from .verdicts import (WITHIN_FRACTION, fmt_num, fmt_steps, steps_phrase, tolerance, verdict,
                       verdict_text)

CSV_COLUMNS = [
    "env_id", "env_name", "alg", "variant", "n_runs", "seeds", "run_dirs", "final_timesteps_min",
    "final_timesteps_max", "n_scored", "score_mean", "score_std", "score_min", "score_max",
    "seed_scores",
    "monitor_runs", "monitor_episodes", "monitor_last100_mean", "monitor_last100_min",
    "monitor_last100_max", "eval_runs", "eval_episodes", "eval_mean", "eval_std",
    "ref_id", "ref_label", "ref_kind", "ref_value", "ref_units",
    "ref_budget_timesteps", "ref_budget_note", "ref_confidence", "ref_source",
    "ref_same_metric", "within_tolerance", "verdict", "verdict_text", "episodes_to_level",
]


def rows_for(res):
    """``comparison.csv`` rows of one experiment: one per reference."""
    s, m = res.score, res.monitor
    t_lo, t_hi = res.steps
    mon_runs = [r for r in res.runs if r.episode_returns is not None]
    common = dict(
        env_id=res.env_id, env_name=res.name, alg="" if res.alg is None else res.alg,
        variant="" if res.variant is None else res.variant, n_runs=len(res.runs),
        seeds=res.seeds_text(), seed_scores=res.seed_scores(),
        run_dirs=";".join(r.path for r in res.runs), final_timesteps_min=t_lo,
        final_timesteps_max=t_hi, n_scored=s["n"], score_mean=s["mean"], score_std=s["std"],
        score_min=s["min"], score_max=s["max"], monitor_runs=len(mon_runs),
        monitor_episodes=sum(len(r.episode_returns) for r in mon_runs),
        monitor_last100_mean=m["mean"], monitor_last100_min=m["min"],
        monitor_last100_max=m["max"], **_eval_columns(res))
    rows = []
    for ref in res.refs:
        row = dict(common, ref_id=ref.ref_id, ref_label=ref.label, ref_kind=ref.kind,
                   ref_value=ref.value, ref_units=ref.units,
                   ref_budget_timesteps="" if ref.budget is None else ref.budget,
                   ref_budget_note=ref.budget_note, ref_confidence=ref.confidence,
                   ref_source=ref.source, ref_same_metric=int(ref.same_metric),
                   within_tolerance="", verdict="", verdict_text="", episodes_to_level="")
        if ref.kind in ("score", "level"):
            word = verdict(s["min"], s["max"], ref.value)
            row.update(within_tolerance=tolerance(ref.value), verdict=word,
                       verdict_text=verdict_text(word, ref, t_lo, t_hi))
        if ref.kind == "level" and mon_runs:
            row["episodes_to_level"] = ";".join(
                str(r.episodes_to_level(ref.value) or f"not reached in {len(r.episode_returns)}")
                for r in mon_runs)
        if res.settings:
            row["setting"] = res.settings_text
        rows.append(row)
    return rows


def csv_columns(results, columns=CSV_COLUMNS):
    """``columns``, and ``setting`` last when an experiment has settings (runs of one env id,
    alg and variant that differ in a config field)."""
    return columns + (["setting"] if any(res.settings for res in results) else [])


def _eval_columns(res):
    """The episodes of each run's latest evaluation (eval.csv), pooled."""
    runs = [r for r in res.runs if r.eval_returns is not None and len(r.eval_returns)]
    if not runs:
        return dict(eval_runs=0, eval_episodes=0, eval_mean="", eval_std="")
    pooled = np.concatenate([r.eval_returns for r in runs])
    return dict(eval_runs=len(runs), eval_episodes=len(pooled), eval_mean=float(pooled.mean()),
                eval_std=float(pooled.std()))


def _eval_lines(res):
    cols = _eval_columns(res)
    if not cols["eval_runs"]:
        return []
    kinds = {("deterministic" if r.eval_deterministic else "stochastic")
             for r in res.runs if r.eval_returns is not None}
    return [f"Evaluation (`eval.csv`, {'/'.join(sorted(kinds))} actions, whole episodes): "
            f"{fmt_num(cols['eval_mean'])} ± {fmt_num(cols['eval_std'])} over "
            f"{cols['eval_episodes']} episodes of {cols['eval_runs']} run(s).", ""]


def write_csv(path, results):
    """Write ``comparison.csv``: the rows of every experiment, in order."""
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=csv_columns(results))
        w.writeheader()
        for res in results:
            w.writerows(rows_for(res))


def _md_escape(text):
    return str(text).replace("|", "\\|")


def _project_lines(res):
    """The heading, this project's numbers and the first rows of the reference table."""
    s, m = res.score, res.monitor
    t_lo, t_hi = res.steps
    n = len(res.runs)
    out = [f"## {res.env_id} ({res.name})" + (f": {res.kind_text}" if res.split else ""), ""]
    runs_txt = (f"{n} run{'s' if n > 1 else ''} (seed{'s' if n > 1 else ''} "
                f"{res.seeds_text()}; {res.kind_text}), final eprewmean at "
                f"{steps_phrase(t_lo, t_hi)}: ")
    if s["n"]:
        runs_txt += (f"**{fmt_num(s['mean'])}** (std {fmt_num(s['std'])}, min "
                     f"{fmt_num(s['min'])}, max {fmt_num(s['max'])}"
                     + (f", {s['n']} of {n} runs with a finished episode" if s["n"] < n
                        else "") + ").")
    else:
        runs_txt += "n/a (no finished episode yet)."
    out.append("This project: " + runs_txt)
    mon_runs = [r for r in res.runs if r.episode_returns is not None]
    if mon_runs:
        eps = sum(len(r.episode_returns) for r in mon_runs)
        out.append(f"Monitor files ({len(mon_runs)} of {n} runs, {eps} episodes): mean of "
                   f"each run's last {LAST_EPISODES} episodes (all, if fewer) "
                   f"{fmt_num(m['mean'])} (min {fmt_num(m['min'])}, max {fmt_num(m['max'])}).")
    out += ["", "| | value @ budget | statistic | confidence (source) | verdict |",
            "|---|---|---|---|---|"]
    at = fmt_steps(t_hi) if t_lo == t_hi else f"{fmt_steps(t_lo)}–{fmt_steps(t_hi)}"
    proj = (f"{fmt_num(s['mean'])} ± {fmt_num(s['std'])} (min {fmt_num(s['min'])}, max "
            f"{fmt_num(s['max'])}) @ {at}")
    out.append(f"| **this project** ({n} seed{'s' if n > 1 else ''}) | {proj} | eprewmean, "
               "last logged row | measured | |")
    if n > 1:
        for r in res.by_seed():
            out.append(f"| seed {'?' if r.seed is None else r.seed} | "
                       f"{fmt_num(r.final_score)} @ {fmt_steps(r.final_timesteps)} | "
                       "eprewmean, last logged row | measured | |")
    return out


def markdown(results, data, argv, skipped=()):
    """The text of ``comparison.md``; ``skipped``: ``[(run dir, reason)]`` found in a sweep
    folder and left out."""
    out = ["# This project next to the ACKTR paper and baselines' benchmarks", "",
           f"Generated by `python -m baselines_acktr.compare {' '.join(argv)}`.", "",
           "* **Score**: `eprewmean` (mean return of the last 100 finished training episodes) at "
           "the last row of each run's `progress.csv`, at that row's timesteps. Over seeds: "
           "mean, std (ddof=0), min and max. With monitor files, the mean of each run's last "
           "100 monitored episodes is given too.",
           f"* **Verdict**: with the seeds' final scores in `[lo, hi]` and `tol = "
           f"{WITHIN_FRACTION:g} × max(|reference|, 1)`, *below* if `hi < reference − tol`, "
           "*above* if `lo > reference + tol`, else *within* (the reference lies in the seeds' "
           "range widened by 10% of its magnitude).",
           "* **Budgets differ**: the paper's Table 1 is at 50M timesteps (TRPO 10M), "
           "baselines' Atari page at 10M, the paper's MuJoCo Table 2 at a `low`-confidence 30M "
           "(and it reports the top-10 episodes of the 3 best of 8 seeds), baselines' MuJoCo "
           "page at 1M. Every number below states its budget; a short run compared with a "
           "50M-timestep number says nothing about the algorithm's final performance.",
           "* **Confidence** of the reference numbers (`baselines_acktr/compare/data/README.md`): "
           + "; ".join(f"`{k}` = {v}" for k, v in data.get("confidence_levels", {}).items())
           + ". The paper's tables were not read directly: its numbers come from secondary "
           "transcriptions.",
           "* **Experiments**: runs with the same env id, `alg` and `variant` (from "
           "`config.json`) are the seeds of one experiment; each experiment has its own "
           "section."
           + (" Runs of one env id, alg and variant whose `config.json` differ in an experiment "
              "setting are separate experiments, labelled by it (`sensitivity.md`)."
              if any(res.settings for res in results) else ""), ""]
    if skipped:
        out += ["Run folders left out: " + "; ".join(f"`{_md_escape(d)}` ({why})"
                                                    for d, why in skipped) + ".", ""]
    out += summary_markdown(results)
    used_sources = set()
    for res in results:
        out += _project_lines(res)
        for row, ref in zip(rows_for(res), res.refs):
            if ref.kind == "score":
                at = f"@ {fmt_steps(ref.budget)}" if ref.budget else "@ budget unknown"
                if ref.budget_note:
                    at += f" (budget {ref.budget_note.split(' (')[0].replace('budget ', '')})"
            elif ref.kind == "level":
                at = "(level, no budget)"
            else:
                at = "(not a score)"
            extra = ""
            if row["episodes_to_level"]:
                extra = f"; this project's episodes to reach it: {row['episodes_to_level']}"
            used_sources.add(ref.source.split(" ")[0])
            out.append(f"| {ref.label} | {fmt_num(ref.value)} {at} | {_md_escape(ref.units)} | "
                       f"{ref.confidence} ({_md_escape(ref.source)}) | "
                       f"{row['verdict']}{_md_escape(extra)} |")
        out += ["", "Verdicts:", ""]
        for row in rows_for(res):
            if row["verdict_text"]:
                word = row["verdict"]
                text = row["verdict_text"].replace(f": {word} ", f": **{word}** ", 1)
                out.append(f"* {_md_escape(text)}.")
        out += [""] + _eval_lines(res) + budget_markdown(res)
        out += [f"![learning curve of {res.label}]({res.curve_file})", ""]
    sources = data.get("sources", {})
    out += ["## Sources of the reference numbers", ""]
    for key in sorted(used_sources):
        src = sources.get(key)
        if not src:
            continue
        url = src.get("url") or ", ".join(src.get("urls", [])) or src.get("repo", "")
        out.append(f"* `{key}`: {src.get('title', '')} {url}".rstrip())
    out.append("")
    return "\n".join(out)
