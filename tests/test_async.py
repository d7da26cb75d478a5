"""The background eigen-decomposition thread (is_async=True)."""
import time
from pathlib import Path

import numpy as np
import pytest

from baselines_acktr import parity
from baselines_acktr.kfac import eigen_worker
from baselines_acktr.acktr import Model
from baselines_acktr.kfac.eigen_worker import EigenThreadError
from baselines_acktr.common.policies import Policy
from helpers import eigen_threads

PARITY_DIR = Path(__file__).resolve().parent / "data" / "parity"


@pytest.fixture(autouse=True)
def no_leaked_threads():
    yield
    leaked = eigen_threads()
    for t in leaked:
        t.join(10)
    assert not leaked, "an eigen thread outlived its test"


def small_model(is_async=True, nbatch=16, **kw):
    policy = Policy([4], ("discrete", 3), network="mlp", hidden=(8, 8), seed=3)
    return Model(policy, nenvs=nbatch, nsteps=1, total_timesteps=10 ** 6, is_async=is_async, **kw)


def batches(n, nbatch=16, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield (rng.normal(size=(nbatch, 4)).astype(np.float32), rng.integers(0, 3, nbatch),
               rng.normal(size=nbatch).astype(np.float32), rng.normal(size=nbatch).astype(np.float32),
               rng.normal(size=nbatch).astype(np.float32))


def train(model, n, lr=0.1, seed=0):
    for obs, act, adv, ret, noise in batches(n, model.nbatch, seed):
        model.train_on_batch(obs, act, adv, ret, lr, noise=noise)


@pytest.mark.parametrize("name", ["mlp_cat"] + [pytest.param(n, marks=pytest.mark.slow)
                                               for n in ("cnn_t2", "mlp_fullinit", "nature_cnn")])
def test_deterministic_async_equals_synchronous_path(name):
    # default "auto" backend: small factors in one tf.function call, nature_cnn's 3136²
    # fc1 factor through numpy LAPACK
    worst = parity.replay(str(PARITY_DIR / f"{name}.npz"), log=lambda *_: None,
                          deterministic_async=True)
    assert max(worst.values()) < 1e-4
    assert not eigen_threads()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_stress_hundreds_of_steps_then_clean_shutdown(backend):
    model = small_model(eigen_backend=backend)
    train(model, 300)
    worker = model.optim.eigen_worker
    assert worker.alive and worker.completed > 10
    assert int(model.optim.factor_step.numpy()) == worker.completed - worker.discarded
    assert all(np.all(np.isfinite(p.numpy())) for p in model.params)
    model.close()
    model.close()  # idempotent
    assert not worker.alive and not eigen_threads()


def _slow_eigh(m):
    time.sleep(0.05)
    return eigen_worker._eigh_numpy(m)


def test_exception_in_thread_reaches_the_caller(monkeypatch):
    # a LAPACK failure is retried and survived (next tests); anything else is a bug
    # that must reach the training thread
    def broken(m):
        raise MemoryError("the eigen thread ran out of memory")

    monkeypatch.setitem(eigen_worker.BACKENDS, "numpy", broken)
    model = small_model(wait_first_eigen=False, eigen_backend="numpy")
    try:
        with pytest.raises(EigenThreadError, match="out of memory"):
            train(model, 40)
    finally:
        model.close()
    assert not eigen_threads()


def test_safe_start_never_steps_along_the_raw_gradient(monkeypatch):
    monkeypatch.setitem(eigen_worker.BACKENDS, "numpy", _slow_eigh)
    safe = small_model(eigen_backend="numpy")
    train(safe, 30)
    assert safe.optim.raw_gradient_kfac_steps == 0
    safe.close()
    # baselines' timing-dependent start: K-FAC momentum steps along g until the first result
    racy = small_model(wait_first_eigen=False, eigen_backend="numpy")
    train(racy, 30)
    assert racy.optim.raw_gradient_kfac_steps > 0
    racy.close()


def test_safe_start_step_cold_iter_equals_synchronous_path(monkeypatch):
    monkeypatch.setitem(eigen_worker.BACKENDS, "numpy", _slow_eigh)
    cold_iter = 10
    sync, asyn = small_model(is_async=False), small_model(eigen_backend="numpy")
    for a, b in zip(sync.params, asyn.params):
        b.assign(a)
    train(sync, cold_iter + 1)
    train(asyn, cold_iter + 1)
    assert int(asyn.optim.sgd_step.numpy()) == cold_iter + 1
    for a, b in zip(sync.params, asyn.params):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-7)
    asyn.close()
    assert not eigen_threads()


def test_wait_idle_leaves_the_result_for_poll(monkeypatch):
    def slow(m):
        time.sleep(0.3)
        return np.linalg.eigh(m)

    monkeypatch.setitem(eigen_worker.BACKENDS, "numpy", slow)
    worker = eigen_worker.EigenWorker(backend="numpy")
    try:
        worker.submit([np.eye(3, dtype=np.float32)])
        t0 = time.perf_counter()
        worker.wait_idle()
        assert time.perf_counter() - t0 > 0.2 and worker.busy
        result = worker.poll()
        assert result is not None and not worker.busy
        np.testing.assert_allclose(result[0][0], np.ones(3))
        worker.wait_idle()  # nothing pending: returns at once
    finally:
        worker.close()


def test_blas_threads_are_capped_only_while_decomposing(monkeypatch):
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    seen = []

    def recording(m):
        seen.append(blas_threads())
        return np.linalg.eigh(m)

    monkeypatch.setitem(eigen_worker.BACKENDS, "numpy", recording)
    before = blas_threads()
    worker = eigen_worker.EigenWorker(backend="numpy", blas_threads=1)
    try:
        worker.run_now([np.eye(2, dtype=np.float32)])
    finally:
        worker.close()
    assert seen and all(n == 1 for n in seen[0])
    assert blas_threads() == before
    assert eigen_worker.resolve_blas_threads("auto") >= 1
    assert eigen_worker.resolve_blas_threads(None) is None
    for bad in (0, -1, 1.5, "two", True):
        with pytest.raises(ValueError, match="blas_threads"):
            eigen_worker.resolve_blas_threads(bad)


def test_a_failed_decomposition_is_retried_in_float64(monkeypatch):
    def float32_fails(m):
        raise np.linalg.LinAlgError("Eigenvalues did not converge")
    monkeypatch.setitem(eigen_worker.BACKENDS, "numpy", float32_fails)
    model = small_model(eigen_backend="numpy", deterministic_async=True)
    train(model, 30)
    optim = model.optim
    assert int(optim.factor_step.numpy()) > 0 and optim.eigen_failures == 0
    for f in optim.factors:  # the installed decomposition is the float64 one
        e = np.linalg.eigvalsh(f.cov.numpy().astype(np.float64))
        np.testing.assert_allclose(np.sort(f.e.numpy()), e, rtol=1e-4, atol=1e-6)
    model.close()


def test_a_decomposition_failing_twice_keeps_the_previous_one_warns_once_and_counts():
    model = small_model(eigen_backend="numpy", deterministic_async=True)
    train(model, 20)
    optim = model.optim
    kept = {f.key: (f.e.numpy().copy(), f.Q.numpy().copy()) for f in optim.factors}
    first = optim.factors[0]
    real = dict(eigen_worker.BACKENDS)

    def fail_on_first(m):  # LAPACK fails on one factor, in float32 and in float64
        if m.shape == first.cov.shape and np.allclose(m, first.cov.numpy()):
            raise np.linalg.LinAlgError("Eigenvalues did not converge")
        return real["numpy"](m)

    eigen_worker.BACKENDS.update(numpy=fail_on_first, numpy64=fail_on_first)
    try:
        with pytest.warns(RuntimeWarning, match="failed in float32 and float64") as caught:
            for obs, act, adv, ret, noise in batches(5, model.nbatch, seed=1):
                first.cov.assign(first.cov * 0.0 + np.eye(first.dim, dtype=np.float32))
                model.train_on_batch(obs, act, adv, ret, 0.1, noise=noise)
    finally:
        eigen_worker.BACKENDS.update(real)
    assert len([w for w in caught if "eigen-decomposition" in str(w.message)]) == 1
    assert optim.eigen_failures >= 1
    assert model.log_extras() == {"eigen_failures": optim.eigen_failures}
    np.testing.assert_array_equal(first.e.numpy(), kept[first.key][0])  # the previous one
    np.testing.assert_array_equal(first.Q.numpy(), kept[first.key][1])
    others = [f for f in optim.factors if f is not first]
    assert any(not np.array_equal(f.e.numpy(), kept[f.key][0]) for f in others)  # still updated
    assert all(np.all(np.isfinite(p.numpy())) for p in model.params)
    model.close()


@pytest.mark.parametrize("is_async", [False, True])
def test_non_finite_statistics_raise_and_are_not_folded_in(is_async):
    model = small_model(is_async=is_async)
    train(model, 12)
    before = [f.cov.numpy().copy() for f in model.optim.factors]
    obs, act, adv, ret, noise = next(batches(1, model.nbatch, seed=2))
    with pytest.raises(FloatingPointError, match="non-finite K-FAC factor statistics"):
        model.train_on_batch(obs, act, adv, ret, 0.1, noise=np.full_like(noise, np.nan))
    for f, b in zip(model.optim.factors, before):
        np.testing.assert_array_equal(f.cov.numpy(), b)
    model.close()

