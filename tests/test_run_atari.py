"""run_atari.py end to end (baselines' Atari protocol) and the shared CLI plumbing."""
import csv
import glob
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from baselines_acktr import cli, compare
from baselines_acktr.acktr import Model
from baselines_acktr.cli import build_model
from baselines_acktr.common.configs import AcktrConfig
from baselines_acktr.envs import make_vec_env
from baselines_acktr.common.policies import Policy
from helpers import rows

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import run_atari  # noqa: E402


PAPER_CNN = ["--network", "cnn_paper"]


@pytest.fixture(scope="module")
def pong_run(tmp_path_factory):
    """A CI-sized run: 10000 timesteps with 4 envs (125 updates), on the paper's CNN (its
    fc1 factor, 1569², decomposes several times faster than the nature CNN's 3137²)."""
    log = tmp_path_factory.mktemp("pong")
    status = run_atari.main(["--num_timesteps", "10000", "--num_env", "4", "--log_path", str(log),
                             "--log_interval", "25", "--save_interval", "50"] + PAPER_CNN)
    assert status == 0
    return log


@pytest.mark.slow
def test_training_leaves_logs_monitor_tensorboard_and_checkpoints(pong_run):
    progress = rows(pong_run / "progress.csv")
    assert [int(r["nupdates"]) for r in progress] == [1, 25, 50, 75, 100, 125]
    assert int(progress[-1]["total_timesteps"]) == 10000
    monitors = sorted(glob.glob(str(pong_run / "monitor" / "*.monitor.csv")))
    assert len(monitors) == 4
    games = [r for m in monitors for r in csv.DictReader(open(m).readlines()[1:])]
    assert games and all(-21 <= float(g["r"]) <= 21 for g in games)  # whole games, unclipped
    assert float(progress[-1]["eprewmean"]) == pytest.approx(
        np.mean([float(g["r"]) for g in games][-100:]), abs=3)  # same games, other order
    config = json.load(open(pong_run / "config.json"))
    assert config["env"] == "PongNoFrameskip-v4" and config["num_env"] == 4
    latest = (pong_run / "checkpoints" / "latest").read_text().strip()
    assert latest == "checkpoint00125"
    assert (pong_run / "checkpoints" / latest / "ckpt.index").exists()

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(pong_run / "tb"))
    acc.Reload()
    tags = set(acc.Tags().get("tensors", [])) | set(acc.Tags().get("scalars", []))
    assert {"eprewmean", "fps", "policy_entropy"} <= tags


@pytest.mark.slow
def test_resume_continues_the_timestep_count(pong_run, tmp_path):
    pong_run = Path(shutil.copytree(pong_run, tmp_path / "run"))  # the shared run stays as it is
    status = run_atari.main(["--num_timesteps", "12000", "--num_env", "4", "--log_path",
                             str(pong_run), "--log_interval", "25",
                             "--load_path", str(pong_run / "checkpoints")] + PAPER_CNN)
    assert status == 0
    progress = rows(pong_run / "progress.csv")
    assert [int(r["nupdates"]) for r in progress][-2:] == [125, 150]
    assert int(progress[-1]["total_timesteps"]) == 12000
    # earlier monitor files are kept; the resumed part writes its own
    assert len(glob.glob(str(pong_run / "monitor" / "*.monitor.csv"))) == 4
    assert len(glob.glob(str(pong_run / "monitor" / "resume-u00125" / "*.monitor.csv"))) == 4
    assert (pong_run / "checkpoints" / "latest").read_text().strip() == "checkpoint00150"


@pytest.mark.slow
def test_play_writes_a_gif_and_prints_returns(pong_run, capsys):
    gif = pong_run / "play.gif"
    assert run_atari.main(["--play", "--load_path", str(pong_run / "checkpoints"),
                           "--log_path", str(pong_run), "--video", str(gif)]) == 0
    out = capsys.readouterr().out
    assert "episode 1: return" in out and "mean return over 1 episodes" in out
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")


@pytest.mark.parametrize("argv, message", [
    (["--env", "CartPole-v1"], "NoFrameskip"),
    (["--env", "NoSuchGameNoFrameskip-v4"], "unknown environment id"),
    (["--num_timesteps", "0"], "positive integer"),
    (["--num_env", "-2"], "num_env must be > 0"),
    (["--save_interval", "1.5"], "positive integer"),
    (["--load_path", "/nonexistent/ckpt"], "no checkpoint"),
    (["--play"], "--play needs --load_path"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, message):
    log = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        run_atari.main(argv + ["--log_path", str(log)])
    assert exc.value.code == 2
    err = [l for l in capsys.readouterr().err.splitlines() if l.startswith("run_atari.py")]
    assert len(err) == 1 and message in err[0]
    assert not log.exists()


@pytest.mark.slow
def test_mismatched_checkpoint_is_refused(pong_run, tmp_path, capsys):
    for argv, word in ((["--alg", "a2c"], "alg"), (["--num_env", "8"], "num_env")):
        with pytest.raises(SystemExit) as exc:
            run_atari.main(argv + ["--num_timesteps", "99999", "--load_path",
                                   str(pong_run / "checkpoints"), "--log_path", str(tmp_path / "x")])
        assert exc.value.code == 2
        assert word in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# --- the shared plumbing on a fast CartPole setup -------------------------------------------

CARTPOLE = AcktrConfig(network="mlp", num_env=4)


def cartpole_train(tmp_path, argv, monkey=None):
    args = cli.base_parser("t", "", "CartPole-v1", 4000).parse_args(
        ["--log_path", str(tmp_path / "run"), "--log_interval", "10"] + argv)
    args.alg = "acktr"
    config = dict(env="CartPole-v1", alg="acktr", seed=0, **CARTPOLE.to_dict())

    def build():
        model = build_model(Policy([4], ("discrete", 2), network="mlp"), CARTPOLE,
                            args.num_timesteps, 0)
        if monkey is not None:
            monkey(model)
        return model

    return cli.train("t", args, config, build,
                     lambda monitor_dir: make_vec_env("CartPole-v1", 4, 0, monitor_dir=monitor_dir))


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    def poison(model):
        real = model.train_on_batch

        def train_on_batch(*a, **k):
            out = real(*a, **k)
            return (float("nan"),) + out[1:] if model.updates_done >= 12 else out
        model.train_on_batch = train_on_batch

    status = cartpole_train(tmp_path, ["--save_interval", "5"], monkey=poison)
    assert status == 1
    err = capsys.readouterr().err
    assert "non-finite loss at update 13" in err and "checkpoint00010" in err
    ckpts = tmp_path / "run" / "checkpoints"
    assert (ckpts / "latest").read_text().strip() == "checkpoint00010"
    restored = build_model(Policy([4], ("discrete", 2), network="mlp"), CARTPOLE, 4000, 0)
    restored.load(str(ckpts / "checkpoint00010"))
    assert restored.updates_done == 10
    assert all(np.all(np.isfinite(p.numpy())) for p in restored.params)


def test_interrupt_saves_a_checkpoint_then_resume_finishes(tmp_path, capsys):
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs in the background

    def interrupt_at_7(model):
        real = model.train_on_batch

        def train_on_batch(*a, **k):
            if model.updates_done == 6:
                os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C during update 7
            return real(*a, **k)
        model.train_on_batch = train_on_batch

    assert cartpole_train(tmp_path, [], monkey=interrupt_at_7) == 0
    out = capsys.readouterr().out
    assert "interrupted at update 7" in out
    assert (tmp_path / "run" / "checkpoints" / "latest").read_text().strip() == "checkpoint00007"
    assert signal.getsignal(signal.SIGINT) is before  # handler restored
    assert cartpole_train(tmp_path, ["--load_path", str(tmp_path / "run" / "checkpoints")]) == 0
    progress = rows(tmp_path / "run" / "progress.csv")
    assert int(progress[-1]["nupdates"]) == 50 and int(progress[-1]["total_timesteps"]) == 4000
    assert isinstance(Model, type)


def test_non_finite_kfac_statistics_stop_the_run_naming_the_last_good_checkpoint(tmp_path, capsys):
    """A NaN in the Fisher noise reaches only the K-FAC statistics (the losses stay finite):
    the run stops at once instead of decomposing NaN factors (baselines' crash)."""
    def poison_noise(model):
        real = model.train_on_batch

        def train_on_batch(obs, actions, advs, rewards, lr, noise=None):
            if model.updates_done >= 12:
                noise = np.full([model.nbatch], np.nan, np.float32)
            return real(obs, actions, advs, rewards, lr, noise=noise)
        model.train_on_batch = train_on_batch

    status = cartpole_train(tmp_path, ["--save_interval", "5"], monkey=poison_noise)
    assert status == 1
    err = capsys.readouterr().err
    assert "non-finite K-FAC factor statistics" in err and "checkpoint00010" in err
    assert json.loads((tmp_path / "run" / "status.json").read_text())["state"] == "failed"


@pytest.mark.slow
def test_eval_plays_whole_games_and_compare_reads_eval_csv(pong_run, tmp_path, capsys):
    log = tmp_path / "eval"
    assert run_atari.main(["--eval", "2", "--load_path", str(pong_run / "checkpoints"),
                           "--log_path", str(log)]) == 0
    out = capsys.readouterr().out
    assert "eval: 2 episodes (stochastic), return" in out
    games = rows(log / "eval.csv")
    assert len(games) == 2
    for g in games:  # whole games of Pong, unclipped: one side reached 21
        assert -21 <= float(g["r"]) <= 21 and int(g["l"]) > 100 and g["deterministic"] == "0"
    # beside the run's progress.csv, compare reports it
    for name in ("progress.csv", "config.json"):
        (log / name).write_bytes((pong_run / name).read_bytes())
    assert compare.main([str(log), "--out", str(tmp_path / "cmp")]) == 0
    table = rows(tmp_path / "cmp" / "comparison.csv")
    assert {r["eval_episodes"] for r in table} == {"2"}
    mean = np.mean([float(g["r"]) for g in games])
    assert float(table[0]["eval_mean"]) == pytest.approx(mean)
    assert "Evaluation (`eval.csv`, stochastic actions" in (tmp_path / "cmp" / "comparison.md").read_text()


def test_predict_samples_or_takes_the_mode():
    model = build_model(Policy([4], ("discrete", 3), network="mlp"), CARTPOLE, 4000, 0)
    model.policy.pi.w.assign(np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32) * 3)
    obs = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    pd, _ = model.policy(obs)
    mode, state = model.predict(obs, deterministic=True)
    assert state is None
    np.testing.assert_array_equal(mode, np.argmax(pd.logits.numpy(), axis=-1))
    draws = np.stack([model.predict(obs)[0] for _ in range(20)])
    assert (draws != mode).any() and draws.min() >= 0 and draws.max() <= 2
