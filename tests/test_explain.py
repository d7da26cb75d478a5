"""`python -m baselines_acktr.explain`: docs/worked_update.md shows its exact output, and the
checks it prints hold (one run of the command, in process)."""
import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from baselines_acktr.explain import walkthrough as explain  # where main() finds explain()

DOC = Path(__file__).resolve().parents[1] / "docs" / "worked_update.md"
BEGIN, END = "<!-- begin explain output -->", "<!-- end explain output -->"


@pytest.fixture(scope="module")
def run():
    """``(stdout of main([]), Walkthrough)`` from one run of the default command."""
    seen = {}
    real = explain.explain

    def spy(*args, **kwargs):
        seen["result"] = real(*args, **kwargs)
        return seen["result"]

    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(buf):
        mp.setattr(explain, "explain", spy)
        assert explain.main([]) == 0
    text, walk = seen["result"]
    assert buf.getvalue() == text
    return text, walk


def page_block():
    page = DOC.read_text(encoding="utf-8")
    assert page.count(BEGIN) == 1 and page.count(END) == 1, "one pair of output markers"
    block = page.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n").splitlines(keepends=True)
    assert block[0].startswith("```") and block[-1].strip() == "```", "a fenced block between the markers"
    return "".join(block[1:-1])


def test_page_shows_the_exact_output(run):
    text, _ = run
    assert page_block() == text, ("docs/worked_update.md is out of date: paste the output of "
                                  "`python -m baselines_acktr.explain` between the markers")


def test_dense_fisher_check_agrees_within_tolerance(run):
    text, walk = run
    n = walk.check_numbers()
    tol = explain.AGREE_TOL
    # (a) the eigenbasis direction is the dense solve of (A ⊗ S + εI)
    assert n["solve"] < tol
    # (b) with one state repeated, A ⊗ S is the exact Fisher block, and so is its direction
    assert n["repeated"]["fisher"] < tol and n["repeated"]["direction"] < tol
    # ... while on the batch of the update (different states) it is an approximation
    assert n["batch"]["fisher"] > 0.1 and n["batch"]["direction"] > 0.1
    section = text.split("\n7. ", 1)[1]
    assert f"relative difference < {tol:.0e}." in section
    repeated = section.split("s_0 repeated", 1)[1].splitlines()[1]
    assert repeated.count(f"< {tol:.0e}") == 2


def test_the_update_explained_is_a_kfac_step_alone(run):
    text, walk = run
    cfg = walk.cfg
    before, after = walk.before["counters"], walk.after["counters"]
    assert before[0] == after[0] == cfg.cold_iter + 1            # sgd_step frozen: no cold SGD
    assert after[3] == before[3] + 1 and after[4] == before[4] + 1  # a decomposition, an EMA fold
    assert all(np.array_equal(a, b) for a, b in zip(walk.after["cold"], walk.before["cold"]))
    assert any(np.any(m != 0) for m in walk.before["mom"])        # momentum on a non-zero buffer
    assert walk.scale < 1                                          # the trust region binds
    assert walk.after["counters"][5] == pytest.approx(walk.vfv, rel=1e-4)
    assert "clipped to 0" in text                                  # the ≤ 1e-6 clip is shown
    assert text.count(f"relative difference < {explain.AGREE_TOL:.0e}") == 3


def test_hidden_is_limited(capsys):
    with pytest.raises(SystemExit) as exc:
        explain.main(["--hidden", str(explain.MAX_HIDDEN + 1)])
    assert exc.value.code == 2
    assert "--hidden must be at most" in capsys.readouterr().err
