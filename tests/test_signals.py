"""Ctrl-C and SIGTERM as a terminal or a cluster sends them: to the whole process group of
a real run_atari.py / run_mujoco.py process, SIGINT at its default disposition."""
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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


@contextlib.contextmanager
def killed_on_failure(proc):
    """If the block fails, ``proc``'s process group is killed (no run is left behind)."""
    try:
        yield
    except BaseException:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        raise


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


def writing(log, pid):
    """Process ``pid`` is writing a checkpoint: its temporary folder has the first files."""
    try:
        return any(n.startswith(".tmp-") and n.endswith(f"-{pid}")
                   and os.listdir(log / "checkpoints" / n)
                   for n in os.listdir(log / "checkpoints"))
    except FileNotFoundError:  # no checkpoints folder yet, or the folder just renamed
        return False


def latest_update(log):
    path = log / "checkpoints" / "latest"
    return int(path.read_text().strip()[-5:]) if path.exists() else -1


# ACKTR with 4 env worker processes, a checkpoint every update.  cnn_paper (the paper's code:
# third conv 32 filters) halves the fully connected layer's input, so its K-FAC factor is a
# quarter and its eigen-decomposition an eighth of the nature CNN's: a ~38 MB checkpoint
# instead of ~104 MB, and a short wait at the exit for a decomposition in flight (the nature
# CNN's took 15 s on a busy 2-core machine).  The signal handling, the env workers and the
# checkpoint's layout (parameters, K-FAC state, counters) do not depend on the network.
ATARI = ["--num_env", "4", "--save_interval", "1", "--log_interval", "1", "--network", "cnn_paper"]
TIMESTEPS = ["--num_timesteps", "1600"]  # 20 updates of 4 envs x 20 steps (K-FAC from update 11)
NUPDATES = 20
TO_THE_END = ["--save_interval", "25"]  # a last resume: only the final checkpoint


@pytest.mark.slow
def test_atari_ctrl_c_and_sigterm_to_the_group_at_several_moments_then_resume(tmp_path):
    log = tmp_path / "run"
    # 1. Ctrl-C while the env workers start (all spawned, their games still loading):
    #    no traceback, exit 0, workers gone.  A run of its own, in its own folder, started
    #    together with run 2 (independent: run 2 starts afresh), so that the two start-ups
    #    (imports, model build, workers) share the machine's cores instead of queueing
    early = tmp_path / "early"
    first = start("run_atari.py", early, *TIMESTEPS, *ATARI)
    proc = start("run_atari.py", log, *TIMESTEPS, *ATARI)  # run 2
    with killed_on_failure(proc):
        wait_for(lambda: len(workers_of(first.pid)) == 4 and not (early / "progress.csv").exists())
        time.sleep(0.1)
        os.killpg(first.pid, signal.SIGINT)
        code, out, err = finish(first)
        assert code == 0, err[-2000:]
        assert "Traceback" not in err and "Error" not in err
        assert "nothing to save" in out or "interrupted at update" in out
        wait_for(lambda: not alive_in_group(first.pid) and not workers_of(first.pid), timeout=10)

    # 2. SIGTERM (a cluster's preemption) during training, checkpoints written every update
    with killed_on_failure(proc):
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

    # 3 and 3b resume run 2, each from its own copy of the run folder, at the same time (their
    # start-ups share the machine's cores); 4 resumes what 3 (aborted mid-update) left
    forked = tmp_path / "run-3b"
    shutil.copytree(log, forked)
    with ThreadPoolExecutor(1) as pool:
        run_3b = pool.submit(second_ctrl_c_once_the_workers_closed, forked)

        # 3. Ctrl-C twice, the second while the run finishes its update: abort at once,
        #    status 130, one line, no traceback
        proc = start("run_atari.py", log, *TIMESTEPS, *ATARI,
                     "--load_path", str(log / "checkpoints"))
        err_lines, reader = stream_lines(proc.stderr)
        try:
            wait_for(lambda: latest_update(log) > status["updates"])
            os.killpg(proc.pid, signal.SIGINT)
            wait_for(lambda: any("stopping after this update" in line for line in err_lines))
            os.killpg(proc.pid, signal.SIGINT)
            code = proc.wait(timeout=240)
        finally:
            if proc.poll() is None:  # hung: leave no learner behind
                os.killpg(proc.pid, signal.SIGKILL)
        reader.join(timeout=30)
        err = "".join(err_lines)
        assert code == 130 and "aborted" in err and "Traceback" not in err, err[-2000:]
        run_3b.result()

    # 4. resume from whatever checkpoint is latest: finishes, one row per update, in order
    proc = start("run_atari.py", log, *TIMESTEPS, *ATARI, *TO_THE_END,
                 "--load_path", str(log / "checkpoints"))
    code, out, err = finish(proc)
    assert code == 0, err[-2000:]
    updates = [int(r["nupdates"]) for r in rows(log / "progress.csv")]
    assert updates == list(range(1, NUPDATES + 1))  # no duplicate, no gap
    assert json.loads((log / "status.json").read_text())["state"] == "finished"


@pytest.mark.slow
def test_mujoco_ctrl_c_to_the_group_then_resume(tmp_path):
    log = tmp_path / "hopper"
    # iterations of > 1000 steps (the paper's 2500 make each one 2.5 times longer)
    args = ["--variant", "paper", "--num_timesteps", "5000", "--timesteps_per_batch", "1000",
            "--save_interval", "1"]
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
        "total_timesteps"]) > 5000


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_latest_readable(tmp_path):
    """SIGKILL (no handler runs) while the learner trains and writes a checkpoint of its
    K-FAC state every update: once at a seeded moment (in an update or a write), once in
    the middle of a checkpoint's write (its temporary folder there, ``latest`` not yet
    moved), which the resumed run's next save cleans up."""
    import tensorflow as tf

    from baselines_acktr.common.checkpoints import resolve

    log = tmp_path / "run"
    rng = random.Random(0)
    seen = []
    for attempt in range(2):
        resume = ["--load_path", str(log / "checkpoints")] if attempt else []
        proc = start("run_atari.py", log, *TIMESTEPS, *ATARI, *resume)
        before = latest_update(log)
        with killed_on_failure(proc):
            wait_for(lambda b=before: latest_update(log) > b)
            if attempt == 0:
                time.sleep(rng.uniform(0.0, 1.5))  # somewhere in an update or a checkpoint write
            else:  # as this run writes its next checkpoint
                wait_for(lambda p=proc.pid: writing(log, p), poll=0.002)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        ckpt_dir = resolve(str(log / "checkpoints"))  # `latest` names a whole checkpoint
        config = json.loads((Path(ckpt_dir) / "config.json").read_text())
        seen.append(config["update"])
        reader = tf.train.load_checkpoint(str(Path(ckpt_dir) / "ckpt"))
        assert any("optim/stats/" in k for k in reader.get_variable_to_shape_map())
    assert seen == sorted(seen) and seen[0] >= 1
    # and the run resumes from it to the end, one row per update
    code, out, err = finish(start("run_atari.py", log, *TIMESTEPS, *ATARI,
                                  *TO_THE_END, "--load_path", str(log / "checkpoints")))
    assert code == 0, err[-2000:]
    updates = [int(r["nupdates"]) for r in rows(log / "progress.csv")]
    assert updates == list(range(1, NUPDATES + 1))
    assert not [n for n in os.listdir(log / "checkpoints") if n.startswith(".tmp-")]


def second_ctrl_c_once_the_workers_closed(log):
    """3b. Ctrl-C twice (a resume of the interrupted run in ``log``), the second once the run
    has saved and closed its env workers (the process exiting, garbage collecting: a
    finalizer may be what it interrupts): status 130 and one line, or, when the process had
    already ended, its own status 0; never a death by SIGINT (-2) or a traceback."""
    before = latest_update(log)
    proc = start("run_atari.py", log, *TIMESTEPS, *ATARI,
                 "--load_path", str(log / "checkpoints"))
    with killed_on_failure(proc):
        wait_for(lambda: latest_update(log) > before)
        kids = workers_of(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        wait_for(lambda: gone(kids), poll=0.002)
    os.killpg(proc.pid, signal.SIGINT)
    code, out, err = finish(proc)
    assert json.loads((log / "status.json").read_text())["state"] == "interrupted"
    assert "interrupted at update" in out and "Traceback" not in err, err[-2000:]
    assert (code, "aborted" in err) in [(130, True), (0, False)], (code, err[-2000:])


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
