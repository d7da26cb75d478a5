"""The teaching material: the toy natural gradient (K-FAC equals the exact natural gradient
where the factorisation is exact), the exercises' stated answers, and the figures of
docs/natural_gradient.md regenerated from the code (compared as numbers, not pixels)."""
import inspect
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr.acktr.acktr import KFAC_DEFAULTS, Model
from baselines_acktr.common.policies import NATURE_CONVS
from baselines_acktr.explain import toy
from baselines_acktr.kfac.layers import Capture, Dense
from baselines_acktr.kfac.optimizer import KfacOptimizer

DOCS = Path(__file__).resolve().parents[1] / "docs"
FIGURES = DOCS / "figures"


def default(name):
    return inspect.signature(Model.__init__).parameters[name].default


# ------------------------------------------------------------------ toy natural gradient
@pytest.fixture(scope="module")
def kfac_run():
    return toy.kfac_path()


def test_kfac_path_is_the_exact_natural_gradient_path(kfac_run):
    path, stats = kfac_run
    exact = toy.path(toy.natural_step, "log")
    assert np.max(np.abs(path - exact)) < 1e-5
    # the factors the optimizer formed are the exact Fisher: A = 1, S_μ = 1/σ², S_logσ = 2
    sigmas = np.exp(path[:-1, 1])
    np.testing.assert_allclose(stats[:, 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(stats[:, 1], 1 / sigmas ** 2, rtol=1e-5)
    np.testing.assert_allclose(stats[:, 2], 2.0, rtol=1e-5)
    assert np.linalg.norm(path[-1] - [toy.X_STAR, math.log(math.sqrt(toy.BETA / 2))]) < 0.05


def test_kfac_differs_when_the_factorisation_is_not_exact():
    """Control: with inputs that differ between samples, A ⊗ S is not the Fisher block
    (the test above could not pass by accident)."""
    layer = Dense("ctl", np.ones((2, 1), np.float32), [0.0], "add")
    x = tf.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    optim = KfacOptimizer()
    capture = Capture()
    layer(x, capture)
    optim.build(layer.params, capture)
    d = tf.constant([[1.0], [2.0], [-3.0]])
    a, g = (s.numpy() for s in optim.compute_stats(capture, [d / 3.0]))
    exact = np.mean([np.outer(xi, xi) * di ** 2 for xi, di in zip(x.numpy(), d.numpy()[:, 0])], axis=0)
    assert np.max(np.abs(np.kron(a, g) - exact)) > 0.5


def test_natural_gradient_is_invariant_and_plain_gradient_is_not():
    gaps = {}
    for k, (lr, clip) in enumerate([(toy.LR, toy.CLIP_KL), (toy.LR, toy.CLIP_KL / 4)]):
        steps = toy.STEPS * (2 ** k)
        ng = [toy.in_dist_space(toy.path(toy.natural_step, c, steps, lr=lr, clip_kl=clip), c)
              for c in ("log", "std")]
        gaps[k] = np.max(np.linalg.norm(ng[0] - ng[1], axis=1))
    gd = [toy.in_dist_space(toy.path(toy.gd_step, c), c) for c in ("log", "std")]
    gd_gap = np.max(np.linalg.norm(gd[0] - gd[1], axis=1))
    assert gaps[0] < 0.05 < 0.3 < gd_gap
    assert gaps[1] < 0.6 * gaps[0]            # the gap is a finite-step effect: it shrinks


def test_natural_gradient_steps_sit_at_the_trust_region():
    kls = toy.step_kls(toy.path(toy.natural_step, "log"), "log")
    delta = toy.CLIP_KL / 2
    assert np.all(kls < 1.15 * delta) and np.sum(kls > 0.9 * delta) >= 10
    assert toy.step_kls(toy.path(toy.gd_step, "log"), "log")[0] > 10 * delta


# ------------------------------------------------------------------ exercises
def stated_answers():
    text = (DOCS / "exercises.md").read_text(encoding="utf-8")
    return [re.findall(r"`([0-9.e+-]+)`", answer)
            for answer in re.findall(r"^\s*\*\*Answer:\*\*(.*?)</details>", text, re.S | re.M)]


def cold_updates(cold_iter):
    """Updates whose cold-start buffer changes, counted by running the optimizer."""
    layer = Dense("cold", np.ones((1, 1), np.float32), [0.0], "add")
    optim = KfacOptimizer(cold_iter=cold_iter, momentum=0.9, kfac_update=1)
    capture = Capture()
    x = tf.ones([2, 1])
    layer(x, capture)
    optim.build(layer.params, capture)
    count = 0
    for _ in range(cold_iter + 4):
        before = [m.numpy().copy() for m in optim.cold_momentum]
        stats = optim.compute_stats(capture, [tf.constant([[0.5], [-0.5]])])
        optim.apply_gradients([tf.ones([1, 1]), tf.ones([1])], stats, lr=0.1)
        count += any(np.any(m.numpy() != b) for m, b in zip(optim.cold_momentum, before))
    return count


def conv_positions(size=84):
    out = []
    for _, k, s in NATURE_CONVS:
        size = (size - k) // s + 1
        out.append(size * size)
    return out


def test_exercise_answers_are_what_the_code_computes():
    ans = stated_answers()
    assert len(ans) == 8, ans
    assert float(ans[0][0]) == default("kfac_clip") / 2
    assert int(ans[1][0]) == cold_updates(KFAC_DEFAULTS["cold_iter"]) == KFAC_DEFAULTS["cold_iter"] + 1
    assert float(ans[2][0]) == 1 / (2 * default("vf_fisher_coef"))
    worked = (DOCS / "worked_update.md").read_text(encoding="utf-8")
    vfv = float(re.search(r"vFv \[KFAC/vFv\] = .* = ([0-9.]+) ", worked).group(1))
    assert ans[3][0] == f"{min(1.0, math.sqrt(0.01 / vfv)):.3f}"
    blocks = json.loads((FIGURES / "figures.json").read_text(encoding="utf-8"))["atari_blocks"]
    assert int(ans[4][0]) == blocks["params"]
    assert float(ans[4][1]) == float(f"{blocks['exact_bytes']:.2e}")
    assert float(ans[4][2]) == float(f"{blocks['factor_bytes']:.2e}")
    assert int(ans[5][0]) == conv_positions()[2]
    mu = KFAC_DEFAULTS["momentum"]
    assert float(ans[6][0]) == pytest.approx((1 - mu) * sum(mu ** j for j in range(10 ** 4)), abs=1e-9)
    assert ans[6][1] == f"{((1 - mu) * (1 + mu)) ** 2:.4f}"
    assert float(ans[7][0]) == pytest.approx(float(np.squeeze(toy.KfacToy().factors()[1])), rel=1e-6)
    assert float(ans[7][0]) == 1 / toy.START[1] ** 2


# ------------------------------------------------------------------ figures
def same_numbers(a, b, path="", rtol=1e-4, atol=1e-6):
    """Problems where two figures.json trees differ (empty: the same)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [p for k in a for p in same_numbers(a[k], b[k], f"{path}/{k}", rtol, atol)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in same_numbers(x, y, f"{path}[{i}]", rtol, atol)]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return [] if math.isclose(a, b, rel_tol=rtol, abs_tol=atol) else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_comparison_can_fail():
    committed = json.loads((FIGURES / "figures.json").read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(committed))
    changed["trust_region_pong"]["median_scale"] *= 1.01
    changed["fisher_block"]["batch"]["kfac"][0][0] += 1e-3
    assert len(same_numbers(committed, changed)) == 2
    assert not same_numbers(committed, committed)


def test_every_figure_is_committed_and_shown():
    from baselines_acktr.explain.figures import FIGURES as DRAWN
    page = (DOCS / "natural_gradient.md").read_text(encoding="utf-8")
    data = json.loads((FIGURES / "figures.json").read_text(encoding="utf-8"))
    for name, _, _ in DRAWN:
        assert (FIGURES / f"{name}.png").stat().st_size > 10_000, name
        assert f"(figures/{name}.png)" in page, name
        assert name in data, name


@pytest.mark.slow
def test_figures_are_regenerated_by_the_command(tmp_path):
    from baselines_acktr.explain import walkthrough
    assert walkthrough.main(["--figures", str(tmp_path)]) == 0
    fresh = json.loads((tmp_path / "figures.json").read_text(encoding="utf-8"))
    committed = json.loads((FIGURES / "figures.json").read_text(encoding="utf-8"))
    problems = same_numbers(fresh, committed)
    assert not problems, ("docs/figures/ is out of date: run `python -m baselines_acktr.explain "
                          "--figures docs/figures/`\n" + "\n".join(problems[:20]))
    assert {p.name for p in tmp_path.glob("*.png")} == {p.name for p in FIGURES.glob("*.png")}
