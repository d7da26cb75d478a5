"""The eigen-decompositions in a worker process (kfac/eigen_process.py,
``eigen_backend='process'``): results, failures, a killed worker, Ctrl-C and kill -9
of the learner, all with real processes."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from baselines_acktr.kfac.eigen_process import EigenProcess
from baselines_acktr.kfac.eigen_worker import EigenThreadError
from helpers import processes, wait_for


def spd(rng, n):
    m = rng.normal(size=(n, n)).astype(np.float32)
    return m @ m.T / n + 0.1 * np.eye(n, dtype=np.float32)


def eigen_processes():
    return [pid for pid, state, *_, cmd in processes()
            if b"baselines_acktr.kfac.eigen_process" in cmd and state != "Z"]


@pytest.fixture
def worker():
    w = EigenProcess()
    yield w
    w.close()
    assert not w.alive


def test_decompositions_come_back_through_shared_memory(worker):
    rng = np.random.default_rng(0)
    mats = [spd(rng, n) for n in (40, 7, 1)]
    out = worker.run_now(mats)
    for m, (e, q) in zip(mats, out):
        assert e.dtype == np.float32 and q.shape == m.shape
        np.testing.assert_allclose(q @ np.diag(e) @ q.T, m, atol=1e-5)
        np.testing.assert_allclose(e, np.linalg.eigvalsh(m.astype(np.float64)), rtol=1e-4)
    worker.submit([2 * m for m in mats])  # the same layout again: no new blocks
    assert worker.busy
    out2 = worker.wait(timeout=60)
    np.testing.assert_allclose(out2[0][0], 2 * out[0][0], rtol=1e-4)
    assert worker.completed == 2 and not worker.busy and worker.poll() is None
    mats3 = [spd(rng, 5)]  # another layout: new blocks
    (e, q), = worker.run_now(mats3)
    np.testing.assert_allclose(q @ np.diag(e) @ q.T, mats3[0], atol=1e-5)


def test_the_worker_imports_no_tensorflow_and_leaves_the_process_group(worker):
    worker.run_now([np.eye(3, dtype=np.float32)])
    maps = open(f"/proc/{worker.pid}/maps").read()
    assert "tensorflow" not in maps and "scipy" in maps
    assert os.getpgid(worker.pid) == worker.pid != os.getpgid(0)
    assert os.getsid(worker.pid) == os.getsid(0)  # the learner's session: its CPU share


def test_the_worker_runs_every_blas_library_at_its_thread_count():
    # scipy's LAPACK brings an OpenBLAS of its own besides numpy's: left at one thread
    # per CPU, its threads spun while training ran (docs/performance.md)
    w = EigenProcess(blas_threads=1)
    try:
        w.run_now([spd(np.random.default_rng(0), 300)])
        maps = open(f"/proc/{w.pid}/maps").read()
        assert "openblas" in maps and "scipy" in maps
        assert len(os.listdir(f"/proc/{w.pid}/task")) == 1  # no BLAS thread beside its own
    finally:
        w.close()


def test_a_matrix_that_fails_twice_comes_back_as_none(worker):
    bad = np.full((4, 4), np.nan, np.float32)
    good = np.eye(3, dtype=np.float32) * 2
    out = worker.run_now([bad, good])
    assert out[0] is None
    np.testing.assert_allclose(out[1][0], [2, 2, 2])
    assert worker.alive


def test_a_killed_worker_is_reported_to_the_training_thread(worker):
    worker.run_now([np.eye(2, dtype=np.float32)])
    os.kill(worker.pid, signal.SIGKILL)
    wait_for(lambda: not worker.alive, timeout=10)
    with pytest.raises(EigenThreadError, match=r"process died \(exit code -9\)"):
        worker.poll()
    with pytest.raises(EigenThreadError, match="process died"):
        worker.submit([np.eye(2, dtype=np.float32)])


def test_a_worker_killed_mid_job_is_reported_by_wait(worker):
    worker.submit([spd(np.random.default_rng(1), 1500)])
    os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(EigenThreadError, match="process died"):
        worker.wait(timeout=30)


def test_close_while_busy_does_not_wait_for_the_job():
    w = EigenProcess()
    w.submit([spd(np.random.default_rng(2), 2000)])
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 5 and not w.alive
    w.close()  # idempotent


LEARNER = textwrap.dedent("""
    import signal, sys, time, numpy as np
    from baselines_acktr.kfac.eigen_process import EigenProcess
    # Ctrl-C raises KeyboardInterrupt even if SIGINT came in ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    w = EigenProcess()
    try:
        w.run_now([np.eye(3, dtype=np.float32)])
        print(w.pid, flush=True)
        m = np.random.default_rng(0).normal(size=(1200, 1200)).astype(np.float32)
        while True:
            w.submit([m @ m.T])
            w.wait()
    except KeyboardInterrupt:
        print("interrupted", w.alive, flush=True)
    finally:
        w.close()
        print("closed", w.alive, flush=True)
""")


def start_learner():
    proc = subprocess.Popen([sys.executable, "-c", LEARNER], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    child = int(proc.stdout.readline())
    return proc, child


def test_ctrl_c_to_the_learner_s_group_reaches_only_the_learner_which_closes_the_worker():
    proc, child = start_learner()
    time.sleep(0.3)  # inside a decomposition
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    out, _ = proc.communicate(timeout=180)  # generous: CI machines may be loaded
    assert out.split() == ["interrupted", "True", "closed", "False"]  # alive until closed
    assert proc.returncode == 0
    assert child not in eigen_processes()


def test_kill_9_of_the_learner_takes_the_worker_with_it():
    proc, child = start_learner()
    assert child in eigen_processes()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    wait_for(lambda: child not in eigen_processes(), timeout=10)


def test_the_process_backend_trains_as_the_thread_does_and_reports_eigen_age():
    """``eigen_backend='process'`` with ``deterministic_async``: the same parameters as the
    synchronous path; the eigen age is 0 or 1 (kfac_update=2) in both; the process is
    closed with the model."""
    from test_async import small_model, train

    models = {name: small_model(kfac_options=dict(kfac_update=2), **kw) for name, kw in (
        ("sync", dict(is_async=False)),
        ("process", dict(eigen_backend="process", deterministic_async=True)))}
    for model in models.values():
        train(model, 30)
    for a, b in zip(models["sync"].params, models["process"].params):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    for model in models.values():
        assert set(model.optim.eigen_age.ages) == {0, 1}  # decomposed every other update
        age = model.tb_extras()
        assert age["kfac/eigen_age_median"] in (0.0, 0.5) and age["kfac/eigen_age_max"] == 1.0
        assert age["kfac/decompositions"] == int(model.optim.factor_step.numpy()) > 5
        assert model.tb_extras() == {"kfac/decompositions": 0.0}  # since the last row: none
    worker = models["process"].optim.eigen_worker
    assert isinstance(worker, EigenProcess) and worker.alive
    models["process"].close()
    assert not worker.alive and worker.pid not in eigen_processes()
