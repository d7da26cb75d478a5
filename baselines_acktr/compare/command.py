"""The command line: read and check every run first, then write the outputs."""
import os
import sys

from ..common.cmd_util import Parser, fail
from .budgets import write_budgets_csv
from .discover import expand_run_dirs
from .errors import CompareError
from .grouping import group_runs
from .plots import plot_env
from .references import load_references
from .report import markdown, write_csv
from .runs import load_run
from .verdicts import fmt_num, fmt_steps

PROG = "compare"
DEFAULT_OUT = "compare_out"


def parse(argv):
    """The parsed command line; a usage error exits with status 2 and one line."""
    p = Parser(prog=PROG, description="Compare training runs with the ACKTR paper's and "
                                      "baselines' published numbers.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="run directory with progress.csv, or a sweep folder holding run "
                        "directories (runs of one env, alg and variant are seeds)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--env", default=None,
                   help="env id for run dirs whose config.json and monitor files do not say")
    return p.parse_args(argv)


def main(argv=None):
    """Read the runs, check everything, then write ``comparison.md``, ``comparison.csv``,
    ``budgets.csv`` and the PNGs. Returns 0; bad input exits with status 2 and one line on
    stderr."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    try:
        data = load_references()
        run_dirs, skipped = expand_run_dirs(args.run_dirs)
        runs = [load_run(d, args.env) for d in run_dirs]
        results = group_runs(runs, data)
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
    return 0
