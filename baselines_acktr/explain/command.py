"""The command line of ``python -m baselines_acktr.explain`` (its parser and the figures switch)."""
from __future__ import annotations

import argparse

from ..common.cmd_util import Parser, non_negative_int
from .printing import MAX_HIDDEN

EPILOG = """\
The printout is explained section by section in docs/worked_update.md. New to ACKTR?
Read docs/start_here.md first: it gives the order in which to read the pages and run this
command. --figures DIR redraws the figures of docs/natural_gradient.md (the toy natural
gradient, the Fisher block against A ⊗ S, the Atari network's block layout, a conv layer's
patches and the trust region of a real run) into DIR, with the numbers they show in
DIR/figures.json."""


def parser() -> Parser:
    out = Parser(prog="python -m baselines_acktr.explain",
                 description="Print one ACKTR update of a tiny actor-critic stage by stage.",
                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    out.add_argument("--seed", type=non_negative_int, default=0,
                     help="seed of the network, the batches and the noise (default 0)")
    out.add_argument("--hidden", type=non_negative_int, default=4,
                     help=f"width of the one tanh layer, 0 for none, at most {MAX_HIDDEN} (default 4)")
    out.add_argument("--figures", metavar="DIR", default=None,
                     help="instead of printing, write the teaching figures and figures.json to DIR "
                          "(docs/figures/ holds the committed ones)")
    return out


def write_figures(folder, explain) -> int:
    """Draw every figure into ``folder`` (see :mod:`.figures`); 0 on success.  ``explain``:
    :func:`.walkthrough.explain`."""
    from .figures import write_all
    for path in write_all(folder, explain):
        print(path)
    return 0
