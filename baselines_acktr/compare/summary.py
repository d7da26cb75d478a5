"""Summary tables over games in the layout of the paper's Table 1 (Atari) and Table 2
(MuJoCo): one row per experiment, this project's final score next to the published values."""
from .verdicts import fmt_num, fmt_steps

# (column header, reference ids to use, first found wins)
ATARI = dict(
    title="Atari games (the paper's Table 1 layout)", row_name="game",
    prefixes=("paper_table1_", "paper_allgames_", "baselines_atari10M_"),
    columns=[("paper ACKTR", ("paper_table1_acktr_reward", "paper_allgames_acktr_score")),
             ("paper A2C", ("paper_table1_a2c_reward",)),
             ("baselines acktr", ("baselines_atari10M_acktr",)),
             ("baselines a2c", ("baselines_atari10M_a2c",))],
    note="Paper: Table 1 (50M timesteps; where Table 1 has no ACKTR value, the all-games "
         "table's). Baselines: the atari10M benchmark page (10M timesteps, statistic not "
         "defined there).")
MUJOCO = dict(
    title="MuJoCo tasks (the paper's Table 2 layout)", row_name="task",
    prefixes=("paper_table2_", "baselines_mujoco1M_"),
    columns=[("paper ACKTR", ("paper_table2_acktr_reward",)),
             ("paper A2C", ("paper_table2_a2c_reward",)),
             ("paper TRPO", ("paper_table2_trpo_reward",)),
             ("baselines trpo_mpi", ("baselines_mujoco1M_trpo_mpi",))],
    note="Paper: Table 2 (budget of `low` confidence; the statistic is the top-10 episodes of "
         "the 3 best of 8 seeds, not `eprewmean`). Baselines: the mujoco1M benchmark page "
         "(1M timesteps; it has no ACKTR row).")
MISSING = "—"


def _is(res, spec):
    return any(ref.ref_id.startswith(spec["prefixes"]) for ref in res.refs)


def _project_cell(res):
    s, (t_lo, t_hi) = res.score, res.steps
    n = len(res.runs)
    at = fmt_steps(t_hi) if t_lo == t_hi else f"{fmt_steps(t_lo)}–{fmt_steps(t_hi)}"
    seeds = f"{n} seed{'s' if n > 1 else ''}"
    if s["n"] < n:
        seeds += f", {s['n']} with a finished episode"
    if not s["n"]:
        return f"n/a @ {at} ({seeds})"
    return f"{fmt_num(s['mean'])} ± {fmt_num(s['std'])} @ {at} ({seeds})"


def _ref_cell(res, ids):
    by_id = {ref.ref_id: ref for ref in res.refs}
    for i, ref_id in enumerate(ids):
        ref = by_id.get(ref_id)
        if ref is None:
            continue
        cell = f"{fmt_num(ref.value)} @ {fmt_steps(ref.budget) if ref.budget else '?'}"
        notes = ([] if i == 0 else [ref.label.split("(")[-1].rstrip(")")]) + (
            [] if ref.confidence == "high" else [ref.confidence or "confidence ?"])
        return cell + (f" ({', '.join(notes)})" if notes else "")
    return MISSING


def summary_rows(results, spec):
    """``[(row label, this project, value per column...)]`` of the experiments ``spec``
    (``ATARI`` or ``MUJOCO``) covers; empty when they cover fewer than two games or tasks."""
    mine = [res for res in results if _is(res, spec)]
    if len({res.name for res in mine}) < 2:
        return []
    rows = []
    for res in mine:
        label = res.name + (f" ({res.kind_text})" if res.split else "")
        rows.append([label, _project_cell(res)]
                    + [_ref_cell(res, ids) for _, ids in spec["columns"]])
    return rows


def summary_markdown(results):
    """Lines of the summary sections (none if the runs cover at most one game and one task)."""
    out = []
    for spec in (ATARI, MUJOCO):
        rows = summary_rows(results, spec)
        if not rows:
            continue
        heads = [spec["row_name"], "this project (mean ± std over seeds @ timesteps)"] + [
            h for h, _ in spec["columns"]]
        out += [f"## Summary: {spec['title']}", "",
                "This project: the seeds' final `eprewmean`, mean ± std (ddof=0), at their final "
                f"timesteps. {spec['note']} Values are `value @ budget`; confidence in "
                f"parentheses where it is not `high`; {MISSING} where the reference file has no "
                "value.", "",
                "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"
                for row in rows]
        out.append("")
    return out
