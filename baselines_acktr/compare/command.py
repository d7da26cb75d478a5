"""The command line: read and check every run first, then write the outputs."""
import os
import sys

from ..common.cmd_util import Parser, fail
from ..common.configs import MUJOCO_VARIANTS
from .ablation import ablation_rows, write_ablation
from .budgets import write_budgets_csv
from .discover import expand_run_dirs
from .errors import CompareError
from .figure1 import plot_figure1
from .grouping import group_runs
from .plots import plot_env
from .references import load_references
from .report import markdown, write_csv
from .runs import load_run
from .sensitivity import write_sensitivity
from .table1 import (is_reference, table1_games, table1_markdown, tables_markdown,
                     write_table1_csv)
from .verdicts import fmt_num, fmt_steps

PROG = "compare"
DEFAULT_OUT = "compare_out"
ABLATION_BUDGET = 500_000   # issue 21's knock-outs stop at 0.5M


def parse(argv):
    """The parsed command line; a usage error exits with status 2 and one line."""
    p = Parser(prog=PROG, description="Compare training runs with the ACKTR paper's and "
                                      "baselines' published numbers.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="run directory with progress.csv, or a sweep folder holding run "
                        "directories (runs of one env, alg, variant and config settings are seeds)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--env", default=None,
                   help="env id for run dirs whose config.json and monitor files do not say")
    p.add_argument("--table1", action="store_true",
                   help="also the paper's Table 1 and Figure 1 side by side for the acktr and a2c "
                        "runs of its Atari games: table1.md, table1.csv, figure1_<game>.png "
                        "(episode N to the human level per seed and over seeds, the paper's N, "
                        "50M rewards and A2C/ACKTR ratio); the table is printed too. A RUN_DIR "
                        "whose config.json names an 'implementation' counts as a --reference")
    p.add_argument("--reference", action="append", default=[], metavar="RUN_DIR",
                   help="with --table1: another implementation's run (progress.csv, optional "
                        "monitor files), e.g. docs/results/baselines_tf1_pong_seed2, drawn on "
                        "its game's Figure 1 and listed, never pooled with this project's "
                        "seeds; repeatable")
    p.add_argument("--ablation", choices=sorted(MUJOCO_VARIANTS), metavar="BASE_VARIANT",
                   help="also ablation.md, ablation.csv and ablation.png: in each env the runs of "
                        "the other variant read as knock-outs from its defaults toward "
                        "BASE_VARIANT's defaults (e.g. master), each with its score at --budget "
                        "and its share of the gap (defaults - knock-out) / (defaults - base), "
                        "and the median policy KL per update where the runs log it")
    p.add_argument("--budget", type=float, default=None, metavar="TIMESTEPS",
                   help=f"with --ablation: where the scores are read (default {ABLATION_BUDGET:g})")
    args = p.parse_args(argv)
    if args.reference and not args.table1:
        p.error("--reference is drawn on the Table 1 figures: add --table1")
    if args.budget is not None and not args.ablation:
        p.error("--budget is where --ablation reads its scores: add --ablation")
    if args.budget is not None and not args.budget > 0:
        p.error(f"--budget must be > 0, got {args.budget:g}")
    args.budget = ABLATION_BUDGET if args.budget is None else int(args.budget)
    return args


def main(argv=None):
    """Read the runs, check everything, then write ``comparison.md``, ``comparison.csv``,
    ``budgets.csv`` and the PNGs (when a setting varies also ``sensitivity.md``,
    ``sensitivity.csv`` and ``settings_<env>.png``; with ``--table1`` also ``table1.md``,
    ``table1.csv`` and ``figure1_<game>.png``; with ``--ablation`` also ``ablation.md``,
    ``ablation.csv`` and ``ablation.png``). Returns 0; bad input exits with status 2 and one line on
    stderr."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    try:
        data = load_references()
        run_dirs, skipped = expand_run_dirs(args.run_dirs)
        runs = [load_run(d, args.env) for d in run_dirs]
        results = group_runs(runs, data)
        games = None
        if args.table1:
            refs = [load_run(d, args.env) for d in args.reference]
            games = table1_games(runs, data, refs)
        ablation = ablation_rows(results, args.ablation, args.budget) if args.ablation else None
    except CompareError as exc:
        fail(PROG, str(exc))
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        fail(PROG, f"cannot create --out {args.out}: {exc}")
    write_csv(os.path.join(args.out, "comparison.csv"), results)
    write_budgets_csv(os.path.join(args.out, "budgets.csv"), results)
    for res in results:
        plot_env(res, os.path.join(args.out, res.curve_file))
    with open(os.path.join(args.out, "comparison.md"), "w") as fh:
        fh.write(markdown(results, data, argv, skipped))
    for d, why in skipped:
        print(f"left out {d}: {why}")
    for res in results:
        s = res.score
        print(f"{res.label}: {len(res.runs)} run(s), final eprewmean {fmt_num(s['mean'])} "
              f"± {fmt_num(s['std'])} at {fmt_steps(res.steps[1])} timesteps")
    print(f"wrote {os.path.join(args.out, 'comparison.md')}, comparison.csv, budgets.csv and "
          f"{len(results)} PNG(s)")
    sensitivity = write_sensitivity(args.out, results, argv)
    if sensitivity:
        print(f"settings differ between runs of one env, alg and variant: wrote "
              f"{os.path.join(args.out, sensitivity[0])}, {', '.join(sensitivity[1:])}")
    if games is not None:
        write_table1(args.out, games, runs, argv)
    if ablation is not None:
        write_ablation(args.out, ablation, args.ablation, args.budget, argv)
        print(f"wrote {os.path.join(args.out, 'ablation.md')}, ablation.csv and ablation.png")
    return 0


def write_table1(out, games, runs, argv):
    """``--table1``: write ``table1.md``, ``table1.csv`` and the Figure 1 PNGs, print the
    tables."""
    write_table1_csv(os.path.join(out, "table1.csv"), games)
    for game in games:
        plot_figure1(game, os.path.join(out, game.figure_file))
    with open(os.path.join(out, "table1.md"), "w") as fh:
        fh.write(table1_markdown(games, argv))
    for run in runs:
        if is_reference(run):
            print(f"table1: {run.path} is another implementation's run ({run.implementation}): "
                  "a reference log, not one of this project's seeds")
    print("\n".join(tables_markdown(games)))
    print(f"wrote {os.path.join(out, 'table1.md')}, table1.csv and {len(games)} Figure 1 PNG(s)")
