"""Ctrl-C and SIGTERM as a terminal or a cluster sends them: to the whole process group of
a real run_atari.py / run_mujoco.py process, SIGINT at its default disposition."""
import random
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import processes, rows, wait_for

ROOT = Path(__file__).resolve().parents[1]


def start(script, log, *args):
    return subprocess.Popen(
        [sys.executable, str(ROOT / script), "--log_path", str(log), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def stream_lines(stream):
    """The lines of ``stream`` as they come (a list a reader thread appends to)."""
    lines = []

    def read():
        for line in stream:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def finish(proc, timeout=240):
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, out, err


def alive_in_group(pgid):
    """Live processes (zombies aside) still in the run's process group."""
    return [p for p, state, _, g, _ in processes() if g == pgid and state != "Z"]


def workers_of(pid):
    """The env worker processes (multiprocessing spawn children) of ``pid``, alive."""
    return [p for p, state, ppid, _, cmd in processes()
            if ppid == pid and state != "Z" and b"--multiprocessing-fork" in cmd]


def gone(pids):
    """None of ``pids`` is alive (zombies aside)."""
    return not [p for p, st, *_ in processes() if p in pids and st != "Z"]


def latest_update(log):
    path = log / "checkpoints" / "latest"
    return int(path.read_text().strip()[-5:]) if path.exists() else -1


ATARI = ["--num_env", "4", "--save_interval", "1", "--log_interval", "1"]
TO_THE_END = ["--save_interval", "25"]  # a last resume: the ~85 MB checkpoint less often


@pytest.mark.slow
def test_atari_ctrl_c_and_sigterm_to_the_group_at_several_moments_then_resume(tmp_path):
    log = tmp_path / "run"
    # 1. Ctrl-C while the env workers start (all spawned, their games still loading):
    #    no traceback, exit 0, workers gone
    proc = start("run_atari.py", log, "--num_timesteps", "4000", *ATARI)
    wait_for(lambda: len(workers_of(proc.pid)) == 4 and not (log / "progress.csv").exists())
    time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 0, err[-2000:]
    assert "Traceback" not in err and "Error" not in err
    assert "nothing to save" in out or "interrupted at update" in out
    wait_for(lambda: not alive_in_group(proc.pid) and not workers_of(proc.pid), timeout=10)

    # 2. SIGTERM (a cluster's preemption) during training, checkpoints written every update
    proc = start("run_atari.py", log, "--num_timesteps", "4000", *ATARI)
    wait_for(lambda: latest_update(log) >= 3)
    kids = workers_of(proc.pid)
    assert len(kids) == 4 and all(os.getpgid(k) != proc.pid for k in kids)  # left the group
    os.killpg(proc.pid, signal.SIGTERM)
    code, out, err = finish(proc)
    assert code == 0 and "Traceback" not in err, err[-2000:]
    assert "interrupted at update" in out
    status = json.loads((log / "status.json").read_text())
    assert status["state"] == "interrupted"
    assert (log / "checkpoints" / "latest").read_text().strip() == Path(status["checkpoint"]).name
    wait_for(lambda: gone(kids), timeout=10)

    # 3. Ctrl-C twice, the second while the run finishes its update: abort at once,
    #    status 130, one line, no traceback
    proc = start("run_atari.py", log, "--num_timesteps", "4000", *ATARI,
                 "--load_path", str(log / "checkpoints"))
    err_lines, reader = stream_lines(proc.stderr)
    wait_for(lambda: latest_update(log) > status["updates"])
    os.killpg(proc.pid, signal.SIGINT)
    wait_for(lambda: any("stopping after this update" in line for line in err_lines))
    os.killpg(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=240)
    finally:
        if proc.poll() is None:  # hung: leave no learner behind
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(timeout=30)
    err = "".join(err_lines)
    assert code == 130 and "aborted" in err and "Traceback" not in err, err[-2000:]

    # 3b. ... the second once the run has saved and closed its env workers (the
    #    process exiting, garbage collecting: a finalizer may be what it interrupts):
    #    status 130 and one line, or, when the process had already ended, its own
    #    status 0; never a death by SIGINT (-2) or a traceback
    before = latest_update(log)
    proc = start("run_atari.py", log, "--num_timesteps", "4000", *ATARI,
                 "--load_path", str(log / "checkpoints"))
    wait_for(lambda: latest_update(log) > before)
    kids = workers_of(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    wait_for(lambda: gone(kids), poll=0.002)
    os.killpg(proc.pid, signal.SIGINT)
    code, out, err = finish(proc)
    assert json.loads((log / "status.json").read_text())["state"] == "interrupted"
    assert "interrupted at update" in out and "Traceback" not in err, err[-2000:]
    assert (code, "aborted" in err) in [(130, True), (0, False)], (code, err[-2000:])

    # 4. resume from whatever checkpoint is latest: finishes, one row per update, in order
    proc = start("run_atari.py", log, "--num_timesteps", "4000", *ATARI, *TO_THE_END,
                 "--load_path", str(log / "checkpoints"))
    code, out, err = finish(proc)
    assert code == 0, err[-2000:]
    updates = [int(r["nupdates"]) for r in rows(log / "progress.csv")]
    assert updates == list(range(1, 51))  # 4000 / (4 envs x 20 steps), no duplicate, no gap
    assert json.loads((log / "status.json").read_text())["state"] == "finished"


@pytest.mark.slow
def test_mujoco_ctrl_c_to_the_group_then_resume(tmp_path):
    log = tmp_path / "hopper"
    args = ["--variant", "paper", "--num_timesteps", "12000", "--save_interval", "1"]
    proc = start("run_mujoco.py", log, *args)
    wait_for(lambda: (log / "checkpoints" / "latest").exists())
    os.killpg(proc.pid, signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 0 and "Traceback" not in err, err[-2000:]
    assert json.loads((log / "status.json").read_text())["state"] == "interrupted"
    proc = start("run_mujoco.py", log, *args, "--load_path", str(log / "checkpoints"))
    code, out, err = finish(proc)
    assert code == 0, err[-2000:]
    its = [int(r["iteration"]) for r in rows(log / "progress.csv")]
    assert its == list(range(len(its))) and int(rows(log / "progress.csv")[-1][
        "total_timesteps"]) > 12000


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_latest_readable(tmp_path):
    """SIGKILL (no handler runs) while the learner trains and writes a checkpoint of the
    nature CNN's K-FAC state every update (~85 MB: most of each cycle is the write)."""
    import tensorflow as tf

    from baselines_acktr.common.checkpoints import resolve

    log = tmp_path / "run"
    rng = random.Random(0)
    seen = []
    for attempt in range(2):
        resume = ["--load_path", str(log / "checkpoints")] if attempt else []
        proc = start("run_atari.py", log, "--num_timesteps", "4000", *ATARI, *resume)
        before = latest_update(log)
        wait_for(lambda b=before: latest_update(log) > b)
        time.sleep(rng.uniform(0.0, 1.5))  # somewhere in an update or a checkpoint write
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        ckpt_dir = resolve(str(log / "checkpoints"))  # `latest` names a whole checkpoint
        config = json.loads((Path(ckpt_dir) / "config.json").read_text())
        seen.append(config["update"])
        reader = tf.train.load_checkpoint(str(Path(ckpt_dir) / "ckpt"))
        assert any("optim/stats/" in k for k in reader.get_variable_to_shape_map())
    assert seen == sorted(seen) and seen[0] >= 1
    # and the run resumes from it to the end, one row per update
    code, out, err = finish(start("run_atari.py", log, "--num_timesteps", "4000", *ATARI,
                                  *TO_THE_END, "--load_path", str(log / "checkpoints")))
    assert code == 0, err[-2000:]
    updates = [int(r["nupdates"]) for r in rows(log / "progress.csv")]
    assert updates == list(range(1, 51))
    assert not [n for n in os.listdir(log / "checkpoints") if n.startswith(".tmp-")]


def test_closing_an_env_interrupted_mid_step_terminates_its_workers():
    """A Ctrl-C inside ``step_wait`` leaves some replies read, the others not: closing
    must not wait for the read ones again (gymnasium's close would hang forever)."""
    import numpy as np

    from baselines_acktr.envs import make_vec_env

    env = make_vec_env("CartPole-v1", 3, seed=0, vec="async")
    env.reset()
    kids = workers_of(os.getpid())
    assert len(kids) == 3
    env.step_async(np.zeros(3, np.int64))
    env.parent_pipes[0].recv()  # what the interrupted step_wait had read
    closer = threading.Thread(target=env.close, daemon=True)
    closer.start()
    closer.join(timeout=30)
    assert not closer.is_alive(), "close() hangs"
    wait_for(lambda: gone(kids), timeout=10)
    # an env closed in the normal state still closes its workers gracefully
    env = make_vec_env("CartPole-v1", 2, seed=0, vec="async")
    env.reset()
    env.step(np.zeros(2, np.int64))
    env.close()
    assert all(not p.is_alive() and p.exitcode == 0 for p in env.processes)


def test_closing_an_env_interrupted_between_the_sends_of_a_step(capfd):
    """A Ctrl-C inside ``step_async`` after the first worker got its action: the env is
    still in its default state; closing it must not leave that worker to die of a
    BrokenPipeError traceback (gymnasium's close reads its step result as the close
    reply and shuts the pipe before the worker answers the close)."""
    import numpy as np

    from baselines_acktr.envs import make_vec_env

    class InterruptedSend:  # the second pipe: the Ctrl-C arrives as it is sent to
        def __init__(self, pipe):
            self.pipe = pipe

        def send(self, obj):
            raise KeyboardInterrupt

    env = make_vec_env("CartPole-v1", 3, seed=0, vec="async")
    env.reset()
    kids = workers_of(os.getpid())
    real = env.parent_pipes[1]
    env.parent_pipes[1] = InterruptedSend(real)
    try:
        env.step_async(np.zeros(3, np.int64))
    except KeyboardInterrupt:
        pass
    env.parent_pipes[1] = real
    closer = threading.Thread(target=env.close, daemon=True)
    closer.start()
    closer.join(timeout=30)
    assert not closer.is_alive(), "close() hangs"
    wait_for(lambda: gone(kids), timeout=10)
    # terminated, not sent gymnasium's close, which the stepping worker would answer late
    assert [p.exitcode for p in env.processes] == [-signal.SIGTERM] * 3
    time.sleep(0.5)  # what a worker would print reaches this process's stderr by now
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err[-2000:]


FINALIZER_SCRIPT = """
import os, signal
from baselines_acktr.common.signals import StopOnSignal
from baselines_acktr.envs import make_vec_env

class Finalized:
    def __del__(self):
        os.killpg(0, signal.SIGINT)  # the second Ctrl-C, while a finalizer runs
        print("the finalizer went on", flush=True)

env = make_vec_env("CartPole-v1", 2, seed=0, vec="async")
env.reset()
print(*(p.pid for p in env.processes), flush=True)
with StopOnSignal("finalizer-test") as stop:
    os.killpg(0, signal.SIGINT)      # the first: stop after this update
    assert stop.requested
    obj = Finalized()
    del obj
    print("the abort was lost", flush=True)
"""


def test_a_second_ctrl_c_that_lands_in_a_finalizer_aborts_at_once(tmp_path):
    """Python cannot raise from a ``__del__`` or a weakref callback (seen in a real run:
    multiprocessing's semaphore clean-up at garbage collection): there the abort was
    lost, after "Exception ignored ... Traceback".  It must end the process: one line,
    status 130, the env workers killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FINALIZER_SCRIPT], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    code, out, err = finish(proc, timeout=120)
    assert code == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == "finalizer-test: aborted", err[-2000:]
    assert "Traceback" not in err and "Exception ignored" not in err, err[-2000:]
    assert "went on" not in out and "lost" not in out, out
    kids = [int(p) for p in out.split()]
    assert len(kids) == 2
    wait_for(lambda: gone(kids), timeout=10)
