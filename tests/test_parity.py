"""Replays every reference step recorded from baselines' TF1 ACKTR (tests/data/parity)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from baselines_acktr import parity

# BASELINES_ACKTR_PARITY_DIR: replay held-out vectors in the same format instead
PARITY_DIR = Path(os.environ.get("BASELINES_ACKTR_PARITY_DIR",
                                 Path(__file__).resolve().parent / "data" / "parity"))
FILES = sorted(PARITY_DIR.glob("*.npz"))
# the nature CNN's replay decomposes its 3136² fc1 factor every step: minutes, not seconds
SLOW = {"nature_cnn"}


def test_reference_vectors_are_present():
    # the vectors ship with the repository; a missing folder must fail, not skip.
    assert len(FILES) >= 10, f"expected the parity vectors in {PARITY_DIR}"


@pytest.mark.parametrize("path", [pytest.param(f, id=f.stem, marks=[pytest.mark.slow] if f.stem in SLOW else [])
                                  for f in FILES])
def test_replay_matches_baselines(path):
    worst = parity.replay(str(path), log=lambda *_: None)
    assert worst["param"] < 1e-4
    assert worst["stats"] < 1e-4
    assert worst["loss"] < 1e-4
    assert worst["counters"] < 1e-4


def test_cli_exit_status(tmp_path, capsys):
    assert parity.main([str(PARITY_DIR / "mlp_noclip.npz")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("parity: 1 files, worst param rel err")
    # A tolerance no float32 replay can meet must fail the run.
    assert parity.main([str(PARITY_DIR / "mlp_noclip.npz"), "--tol", "1e-12"]) == 1


def test_corrupted_reference_is_detected(tmp_path):
    """A reference whose recorded params were nudged by 1e-3 must not replay."""
    src = np.load(PARITY_DIR / "mlp_cat.npz")
    data = {k: src[k] for k in src.files}
    data["step05/param/pi/w"] = data["step05/param/pi/w"] * (1 + 1e-3)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **data)
    assert parity.replay(str(bad), log=lambda *_: None)["param"] > 1e-4


def test_copy_value_network_shares_input_factor():
    """With value_network='copy', both first layers read the observation, so they
    share one activation factor (baselines' fprop cache), and every file format
    option builds."""
    meta = json.loads(str(np.load(PARITY_DIR / "mlp_gauss.npz")["meta"]))
    meta["copy_vf"] = True
    model = parity.build_model(meta)
    names = [v.name.split(":")[0] for v in model.params]
    assert names == ["mlp_fc0/w", "mlp_fc0/b", "mlp_fc1/w", "mlp_fc1/b", "pi/w", "pi/b",
                     "vf_fc0/w", "vf_fc0/b", "vf_fc1/w", "vf_fc1/b", "vf/w", "vf/b", "pi/logstd"]
    by = dict(zip(names, model.params))
    a_pi, _ = model.optim.factors_of(by["mlp_fc0/w"])
    a_vf, _ = model.optim.factors_of(by["vf_fc0/w"])
    assert a_pi is a_vf
    assert model.optim.factors_of(by["pi/w"])[0] is not model.optim.factors_of(by["vf/w"])[0]
