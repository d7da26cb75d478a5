"""Studies on Ray Tune: a grid and a random search with ASHA over config fields, and a trial
that survives the loss of its node in a real two-node local Ray cluster."""
import json
import os
import signal
import subprocess
import sys

import pytest

from baselines_acktr.sweep.command import check_study, parse
from helpers import processes, rows, wait_for

# the paper's learner on a small pendulum: iterations of > 500 steps, a few seconds each
FAST = ["--variant", "paper", "--cpus_per_trial", "1"]
RUN = ["--", "--timesteps_per_batch", "500", "--is_async", "false"]


def sweep(storage, name, *args, timeout=900, **kw):
    return subprocess.run([sys.executable, "-m", "baselines_acktr.sweep", "--storage",
                           str(storage), "--name", name, *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


@pytest.mark.parametrize("argv, message", [
    (["--grid", "kfac_clp=0.1,0.2"], "unknown hyperparameter 'kfac_clp' (did you mean kfac_clip?)"),
    (["--grid", "lr=0.1,0.2"], "lr does not apply to --variant paper"),
    (["--grid", "desired_kl=0.001,abc"], "expected a number"),
    (["--grid", "desired_kl=-1,0.1"], "desired_kl must be > 0"),
    (["--grid", "desired_kl"], "--grid expects KEY=VALUES"),
    (["--sample", "desired_kl=normal:0:1"], "distribution must be one of"),
    (["--sample", "desired_kl=loguniform:0.01:0.001"], "needs A < B"),
    (["--grid", "lam=0.9,0.95", "--sample", "lam=uniform:0.9:0.99"], "both in --grid and"),
    (["--grid", "lam=0.9,0.95", "--", "--lam", "0.9"], "also given after --"),
    (["--search", "optuna"], "--search optuna needs --sample"),
])
def test_a_bad_study_is_one_line(argv, message):
    head, _, tail = " ".join(argv).partition(" -- ")
    args = parse(["--envs", "Hopper-v5", "--seeds", "0", "--num_timesteps", "1000",
                  "--variant", "paper", *head.split()] + (["--", *tail.split()] if tail else []))
    with pytest.raises(ValueError) as exc:
        check_study(args)
    assert message in str(exc.value)


def test_grid_values_are_typed_and_checked_as_the_config_does():
    args = parse(["--envs", "PongNoFrameskip-v4", "--seeds", "0", "--num_timesteps", "1000",
                  "--grid", "kfac_clip=0.0005,0.001,0.002", "--grid", "is_async=true,false",
                  "--sample", "lr=loguniform:0.05:0.5", "--num_samples", "2"])
    check_study(args)
    assert args.grid == {"kfac_clip": [0.0005, 0.001, 0.002], "is_async": [True, False]}
    assert args.sample == {"lr": ("loguniform", [0.05, 0.5])}


def test_a_trial_s_name_flags_and_folder_carry_its_values():
    from baselines_acktr.sweep.trial import resolve

    base = dict(prefix="Hopper-v5-acktr-paper", seed=1, runs_dir="/s/runs", extra_args=["--x"],
                varied=["desired_kl", "lam"])
    trial = resolve({"trial": base, "desired_kl": 0.001, "lam": 0.95, "other": 3})
    assert trial["name"] == "Hopper-v5-acktr-paper-desired_kl0.001-lam0.95-seed1"
    assert trial["run_dir"] == "/s/runs/Hopper-v5-acktr-paper-desired_kl0.001-lam0.95-seed1"
    assert trial["extra_args"] == ["--x", "--desired_kl", "0.001", "--lam", "0.95"]
    # a sweep written before studies existed resumes with its own names
    old = dict(name="Pong-a2c-seed0", run_dir="/s/runs/Pong-a2c-seed0", extra_args=[])
    assert resolve({"trial": old})["run_dir"] == "/s/runs/Pong-a2c-seed0"


@pytest.mark.slow
def test_a_grid_crossed_with_seeds_gives_one_run_folder_each(tmp_path):
    from baselines_acktr import compare

    out = sweep(tmp_path, "g", "--envs", "InvertedPendulum-v5", "--seeds", "0", "1",
                "--num_timesteps", "1000", "--grid", "desired_kl=0.001,0.004", *FAST, *RUN)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    runs = sorted(p.name for p in (tmp_path / "g" / "runs").iterdir())
    assert runs == [f"InvertedPendulum-v5-acktr-paper-desired_kl{v}-seed{s}"
                    for v in ("0.001", "0.004") for s in (0, 1)]
    for name in runs:
        config = json.loads((tmp_path / "g" / "runs" / name / "config.json").read_text())
        assert config["desired_kl"] == float(name.split("desired_kl")[1].split("-")[0])
        assert config["timesteps_per_batch"] == 500
    assert "4 of 4 trials finished" in out.stdout
    assert compare.main([str(tmp_path / "g"), "--out", str(tmp_path / "cmp")]) == 0
    table = rows(tmp_path / "cmp" / "sensitivity.csv")  # two settings, two seeds each
    assert [(r["setting"], r["n_runs"], r["seeds"]) for r in table] == [
        ("desired_kl=0.001", "2", "0, 1"), ("desired_kl=0.004", "2", "0, 1")]


@pytest.mark.slow
def test_random_search_with_asha_finishes_and_says_what_it_stopped(tmp_path):
    out = sweep(tmp_path, "a", "--envs", "InvertedPendulum-v5", "--seeds", "0",
                "--num_timesteps", "3000", "--sample", "desired_kl=loguniform:0.0002:0.02",
                "--num_samples", "3", "--scheduler", "asha", "--grace_timesteps", "1000",
                *FAST, *RUN)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    runs = sorted((tmp_path / "a" / "runs").iterdir())
    assert len(runs) == 3 and all("desired_kl" in r.name for r in runs)
    lines = [line for line in out.stdout.splitlines() if line.startswith("InvertedPendulum")]
    assert len(lines) == 3
    for line, run in zip(sorted(lines), runs):
        status = json.loads((run / "status.json").read_text()) if (
            run / "status.json").exists() else {}
        if "stopped early by ASHA" in line:  # Ray ended its worker and the worker's run
            assert status.get("state") in (None, "interrupted")
            assert int(rows(run / "progress.csv")[-1]["total_timesteps"]) < 3000
            wait_for(lambda: not run_process(run), timeout=60)  # noqa: B023 - waited on here
        else:
            assert ": finished," in line
            assert int(rows(run / "progress.csv")[-1]["total_timesteps"]) >= 3000
    assert "3 of 3 trials finished or stopped early" in out.stdout


def run_process(run_dir):
    for pid, state, _, _, cmdline in processes():
        if state != "Z" and b"baselines_acktr.run_mujoco" in cmdline and \
                str(run_dir).encode() in cmdline:
            return pid
    return None


@pytest.mark.slow
def test_a_trial_survives_the_loss_of_its_node(tmp_path):
    """Head (no CPU) + node A: the trial starts on A; node B joins; A's raylet, workers and
    the run process are killed; the trial restarts on B from its last checkpoint in the
    shared storage and finishes with every row exactly once."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=0))
    try:
        node_a = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        run_dir = tmp_path / "n" / "runs" / "InvertedPendulum-v5-acktr-paper-seed0"
        proc = subprocess.Popen(
            [sys.executable, "-m", "baselines_acktr.sweep", "--storage", str(tmp_path), "--name",
             "n", "--envs", "InvertedPendulum-v5", "--seeds", "0", "--num_timesteps", "8000",
             "--address", cluster.address, *FAST, "--", "--timesteps_per_batch", "500",
             "--is_async", "false", "--save_interval", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        try:
            wait_for(lambda: (run_dir / "checkpoints" / "latest").exists(), timeout=300, poll=0.5)
            wait_for(lambda: len(rows(run_dir / "progress.csv")) >= 5, timeout=300, poll=0.2)
            cluster.add_node(num_cpus=1)  # node B, the survivor
            cluster.wait_for_nodes()
            died_at = len(rows(run_dir / "progress.csv"))
            pid = run_process(run_dir)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)  # the machine goes: its processes die with it
            cluster.remove_node(node_a, allow_graceful=False)
            out, _ = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode == 0, out[-4000:]
        launches = [line for line in (run_dir / "trial.log").read_text().splitlines()
                    if line.startswith("# ")]
        assert len(launches) == 2 and "--load_path" in launches[1]
        iterations = [int(r["iteration"]) for r in rows(run_dir / "progress.csv")]
        assert iterations == list(range(len(iterations)))  # every row exactly once
        assert json.loads((run_dir / "status.json").read_text())["state"] == "finished"
        resumed = launches[1].split("--load_path ")[1].split()[0]
        print(f"node lost after {died_at} rows; resumed from {resumed}; "
              f"{len(iterations)} rows at the end")
    finally:
        cluster.shutdown()


@pytest.mark.slow
def test_optuna_search_draws_its_samples_and_finishes(tmp_path):
    out = sweep(tmp_path, "o", "--envs", "InvertedPendulum-v5", "--seeds", "0",
                "--num_timesteps", "1000", "--sample", "desired_kl=loguniform:0.0005:0.01",
                "--num_samples", "2", "--search", "optuna", *FAST, *RUN)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    runs = sorted((tmp_path / "o" / "runs").iterdir())
    values = [json.loads((r / "config.json").read_text())["desired_kl"] for r in runs]
    assert len(values) == 2 and len(set(values)) == 2
    assert all(0.0005 <= v <= 0.01 for v in values)
    assert "2 of 2 trials finished" in out.stdout
