"""python -m baselines_acktr.sweep on a real local Ray: trials are real run_mujoco.py
processes, killed and interrupted for real."""
import json
import os
import signal
import subprocess
import sys

import pytest

from baselines_acktr import compare
from helpers import processes, rows, wait_for

# two iterations of > 1000 steps (the paper's batch of 2500 makes each 2.5 times longer); the
# `--` part goes to every trial's run_mujoco.py, so SMALL comes last
SMALL = ["--variant", "paper", "--num_timesteps", "2000", "--", "--timesteps_per_batch", "1000"]


def sweep_cmd(storage, name, *args):
    return [sys.executable, "-m", "baselines_acktr.sweep", "--storage", str(storage),
            "--name", name, *args]


def run_sweep(storage, name, *args, timeout=600):
    return subprocess.run(sweep_cmd(storage, name, *args), capture_output=True, text=True,
                          timeout=timeout)


def launches(run_dir):
    return [line for line in (run_dir / "trial.log").read_text().splitlines()
            if line.startswith("# ")]


def run_pid(run_dir):
    """PID of the run_mujoco process training into ``run_dir``."""
    for pid, _, _, _, cmdline in processes():
        cmd = cmdline.split(b"\0")
        if b"baselines_acktr.run_mujoco" in cmd and str(run_dir).encode() in cmd:
            return pid
    return None


@pytest.mark.slow
def test_two_envs_two_seeds_then_a_pooled_comparison(tmp_path):
    out = run_sweep(tmp_path, "s", "--envs", "InvertedPendulum-v5", "InvertedDoublePendulum-v5",
                    "--seeds", "0", "1", "--cpus_per_trial", "1", *SMALL)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    runs = sorted((tmp_path / "s" / "runs").iterdir())
    assert [r.name for r in runs] == [f"{e}-acktr-paper-seed{s}" for e in
                                      ("InvertedDoublePendulum-v5", "InvertedPendulum-v5")
                                      for s in (0, 1)]
    for run in runs:  # ordinary run folders
        assert json.loads((run / "status.json").read_text())["state"] == "finished"
        assert {"config.json", "progress.csv", "monitor", "tb", "checkpoints"} <= \
            {p.name for p in run.iterdir()}
        progress = rows(run / "progress.csv")
        assert len(progress) == 2 and int(progress[-1]["total_timesteps"]) > 2000
    assert "4 of 4 trials finished" in out.stdout
    assert "eprewmean" in out.stdout and "timesteps" in out.stdout  # Tune's live table

    assert compare.main([str(tmp_path / "s"), "--out", str(tmp_path / "cmp")]) == 0
    table = rows(tmp_path / "cmp" / "comparison.csv")
    pooled = {(r["env_id"], r["n_runs"]) for r in table}
    assert pooled == {("InvertedPendulum-v5", "2"), ("InvertedDoublePendulum-v5", "2")}


def latest(run_dir):
    path = run_dir / "checkpoints" / "latest"
    return path.read_text().strip() if path.exists() else None


@pytest.mark.slow
def test_interrupted_sweep_resumes_skips_finished_and_a_killed_trial_restarts(tmp_path):
    storage, name = tmp_path, "f"
    run0 = tmp_path / name / "runs" / "InvertedPendulum-v5-acktr-paper-seed0"
    run1 = tmp_path / name / "runs" / "InvertedPendulum-v5-acktr-paper-seed1"
    # about 8 iterations of > 1000 steps (the paper's 2500 make each one 2.5 times longer)
    args = ["--envs", "InvertedPendulum-v5", "--seeds", "0", "1", "--variant", "paper",
            "--num_timesteps", "8000", "--cpus_per_trial", str(os.cpu_count()),  # one at a time
            "--", "--save_interval", "1", "--timesteps_per_batch", "1000"]
    # 1. Ctrl-C to the sweep's process group (SIGINT at its default disposition, as in a
    #    terminal) once seed 1 has a checkpoint: seed 0 has finished by then
    proc = subprocess.Popen(sweep_cmd(storage, name, *args), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for(lambda: latest(run1) is not None, timeout=300, poll=0.5)
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1 and "continue with --resume" in output
    assert json.loads((run0 / "status.json").read_text())["state"] == "finished"
    assert not (run1 / "status.json").exists() or \
        json.loads((run1 / "status.json").read_text())["state"] == "interrupted"
    assert run_pid(run1) is None  # no training process outlives the sweep

    # 2. --resume: seed 0 is not run again; seed 1 continues from its checkpoint, and when
    #    its process is killed (kill -9) Tune restarts it from the last checkpoint
    resumed = subprocess.Popen(sweep_cmd(storage, name, "--resume", *args),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: len(launches(run1)) == 2 and run_pid(run1) is not None, timeout=300, poll=0.5)
        before = latest(run1)
        wait_for(lambda: latest(run1) != before, timeout=300, poll=0.5)
        os.kill(run_pid(run1), signal.SIGKILL)
        output, _ = resumed.communicate(timeout=300)
    finally:
        if resumed.poll() is None:
            resumed.kill()
    assert resumed.returncode == 0, output[-3000:]
    assert "2 of 2 trials finished" in output
    assert len(launches(run0)) == 1
    assert len(launches(run1)) == 3 and all("--load_path" in l for l in launches(run1)[1:])
    progress = rows(run1 / "progress.csv")
    its = [int(r["iteration"]) for r in progress]
    assert its == list(range(len(its)))  # no duplicated or missing row after two restarts
    assert int(progress[-1]["total_timesteps"]) > 8000
    assert json.loads((run1 / "status.json").read_text())["state"] == "finished"


@pytest.mark.parametrize("argv, message", [
    (["--envs", "NoSuchEnv-v0", "--seeds", "0"], "unknown environment id"),
    (["--envs", "Hopper-v5", "--seeds"], "expected at least one argument"),
    (["--envs", "PongNoFrameskip-v4", "--seeds", "0", "--variant", "paper"], "--variant"),
    pytest.param(["--envs", "Hopper-v5", "--seeds", "0", "--address", "127.0.0.1:9"], "cannot reach Ray",
                 marks=pytest.mark.slow),  # imports Ray and tries to connect
])
def test_bad_input_is_one_line_exit_2(tmp_path, argv, message):
    out = run_sweep(tmp_path, "b", *argv, "--num_timesteps", "3000", timeout=120)
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("sweep: error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in out.stderr
    assert not (tmp_path / "b").exists()
