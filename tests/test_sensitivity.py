"""compare on runs whose config.json differ in a setting: experiments split by the settings
that differ (not by run-level keys, not by keys some runs lack), labelled by them, drawn on one
figure per env, and the sensitivity table's numbers."""
import csv
import json
import os

import numpy as np
import pytest

from baselines_acktr import compare
from baselines_acktr.common.configs import A2CConfig, AcktrConfig
from baselines_acktr.compare.budgets import BUDGET_COLUMNS
from baselines_acktr.compare.plots import plot_settings
from baselines_acktr.compare.report import CSV_COLUMNS
from baselines_acktr.compare.settings import canonical, settings_text

PONG = "PongNoFrameskip-v4"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# (kfac_clip, seed) -> progress rows [(total_timesteps, eprewmean or None)]
GRID = {
    (0.002, 0): [(250_000, None), (600_000, -3.0), (1_200_000, 1.0), (2_000_000, 5.0)],
    (0.002, 1): [(250_000, None), (500_000, -5.0), (1_000_000, -1.0)],  # stops before 2M
    (0.001, 0): [(250_000, None), (500_000, 2.0), (1_000_000, 6.0), (1_500_000, 10.0)],
    (0.001, 1): [(250_000, None), (500_000, 4.0), (1_000_000, 8.0), (1_500_000, 14.0)],
}


def write_progress(path, rows):
    cols = ["nupdates", "total_timesteps", "fps", "policy_entropy", "eprewmean", "eplenmean"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for i, (t, r) in enumerate(rows, 1):
            w.writerow([i, t, 500, 1.7, "nan" if r is None else repr(r), 900.0])


def write_monitor(path, env_id, returns):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("# " + json.dumps({"t_start": 100.0, "env_id": env_id}) + "\n")
        fh.write("r,l,t\n")
        for k, r in enumerate(returns):
            fh.write(f"{r!r},900,{10.0 + k!r}\n")


def full_config(seed, alg="acktr", **changes):
    """config.json as the run scripts now write it: every field of the algorithm's config,
    the run-level keys (different for every run) and the async-eigen switches."""
    fields = (AcktrConfig if alg == "acktr" else A2CConfig)().to_dict()
    cfg = dict(fields, env=PONG, alg=alg, seed=seed, episode_frames="baselines",
               env_backend="gym", log_path=f"/runs/{alg}-{seed}-{changes}",
               save_path=f"/runs/{alg}-{seed}/ckpt", load_path=None,
               num_timesteps=10_000_000 + seed, stop_timesteps=2_000_000 * (seed + 1),
               stop_reward=None, save_interval=100 + seed, log_interval=100, log_kl=bool(seed),
               versions={"numpy": f"1.{seed}"}, git_commit=f"abc{seed}", update=seed,
               timesteps=seed)
    if "is_async" in cfg:
        cfg.update(is_async=seed == 0, eigen_backend=("numpy", "tf")[seed % 2])
    cfg.update(changes)
    return cfg


def make_run(root, name, rows, cfg):
    d = root / name
    d.mkdir()
    write_progress(d / "progress.csv", rows)
    if cfg is not None:
        (d / "config.json").write_text(json.dumps(cfg, sort_keys=True))
    finite = [r for _, r in rows if r is not None]
    write_monitor(str(d / "monitor" / "0.monitor.csv"), PONG, finite)
    return d


def grid_runs(root, extra=None):
    """The 2 × 2 grid (0.002 first on the command line); ``extra``: ``{(clip, seed): changes}``."""
    return [make_run(root, f"clip{clip}-seed{seed}", rows,
                     full_config(seed, kfac_clip=clip, **(extra or {}).get((clip, seed), {})))
            for (clip, seed), rows in GRID.items()]


def groups_of(dirs):
    return compare.group_runs([compare.load_run(str(d)) for d in dirs], compare.load_references())


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    dirs = grid_runs(root)
    out = root / "out"
    assert compare.main([str(d) for d in dirs] + ["--out", str(out)]) == 0
    return dict(dirs=dirs, out=out, groups=groups_of(dirs))


# --------------------------------------------------------------------------- grouping
def test_a_two_value_grid_is_two_experiments_of_two_seeds_labelled_by_the_setting(grid):
    groups = grid["groups"]
    assert [(g.settings, sorted(r.seed for r in g.runs)) for g in groups] == [
        ((("kfac_clip", 0.001),), [0, 1]), ((("kfac_clip", 0.002),), [0, 1])]
    assert [g.label for g in groups] == [f"{PONG} (alg acktr, kfac_clip=0.001)",
                                         f"{PONG} (alg acktr, kfac_clip=0.002)"]
    assert all(g.split and g.variant is None and g.unknown == () for g in groups)
    for g in groups:  # each experiment holds the runs of its own kfac_clip
        with_clip = {json.loads(open(os.path.join(r.path, "config.json")).read())["kfac_clip"]
                     for r in g.runs}
        assert with_clip == {dict(g.settings)["kfac_clip"]}


def test_run_level_keys_and_async_switches_do_not_split(tmp_path):
    # the two seeds differ in every run-level key, is_async and eigen_backend
    dirs = [make_run(tmp_path, f"s{seed}", GRID[(0.001, seed)], full_config(seed))
            for seed in (0, 1)]
    a, b = (json.loads((d / "config.json").read_text()) for d in dirs)
    differing = sorted(k for k in a if a[k] != b[k])
    assert {"log_path", "num_timesteps", "is_async", "eigen_backend", "versions",
            "git_commit", "seed", "stop_timesteps"} <= set(differing)
    groups = groups_of(dirs)
    assert [(g.settings, len(g.runs), g.label) for g in groups] == [((), 2, PONG)]
    out = tmp_path / "out"
    assert compare.main([str(d) for d in dirs] + ["--out", str(out)]) == 0
    # as before: no sensitivity outputs, the CSVs' columns unchanged, one curve
    assert sorted(p.name for p in out.iterdir()) == [
        "budgets.csv", "comparison.csv", "comparison.md", f"curve_{PONG}.png"]
    with open(out / "comparison.csv", newline="") as fh:
        assert csv.DictReader(fh).fieldnames == CSV_COLUMNS
    with open(out / "budgets.csv", newline="") as fh:
        assert csv.DictReader(fh).fieldnames == BUDGET_COLUMNS
    assert "sensitivity" not in (out / "comparison.md").read_text()


def test_a_key_missing_in_some_runs_does_not_split(tmp_path):
    new = make_run(tmp_path, "new", GRID[(0.001, 0)], full_config(0))  # every key
    old = make_run(tmp_path, "old", GRID[(0.001, 1)],                  # an older config.json
                   {"env": PONG, "alg": "acktr", "seed": 1, "lr": 0.25, "nsteps": 20,
                    "log_path": "/elsewhere"})
    groups = groups_of([new, old])
    assert [(g.settings, len(g.runs)) for g in groups] == [((), 2)]
    # missing in one run, different in the others: unknown, not split, named
    cfgs = [{"epsilon": 0.01, "lr": 0.25}, {"epsilon": 0.02, "lr": 0.25}, {"lr": 0.25}]
    assert compare.config_diff(cfgs) == ((), ("epsilon",))
    assert compare.config_diff(cfgs[:2]) == (("epsilon",), ())
    assert compare.config_diff([{"lr": 1}, {"lr": 1.0}]) == ((), ())


def test_a_third_field_varying_in_one_run_splits_it_off(tmp_path):
    dirs = grid_runs(tmp_path, extra={(0.002, 1): {"epsilon": 0.02}})
    groups = groups_of(dirs)
    assert [(settings_text(g.settings), sorted(r.seed for r in g.runs)) for g in groups] == [
        ("epsilon=0.01, kfac_clip=0.001", [0, 1]),
        ("epsilon=0.01, kfac_clip=0.002", [0]),
        ("epsilon=0.02, kfac_clip=0.002", [1])]
    assert groups[2].label == f"{PONG} (alg acktr, epsilon=0.02, kfac_clip=0.002)"
    out = tmp_path / "out"
    assert compare.main([str(d) for d in dirs] + ["--out", str(out)]) == 0
    rows = read_csv(out / "sensitivity.csv")
    assert [(r["varied"], r["setting"], r["n_runs"]) for r in rows] == [
        ("epsilon;kfac_clip", "epsilon=0.01, kfac_clip=0.001", "2"),
        ("epsilon;kfac_clip", "epsilon=0.01, kfac_clip=0.002", "1"),
        ("epsilon;kfac_clip", "epsilon=0.02, kfac_clip=0.002", "1")]
    md = (out / "sensitivity.md").read_text()
    assert "| epsilon | kfac_clip | seeds |" in md
    assert "| 0.02 | 0.002 | 1 (1) | -1 ± 0 @ 1M | -5 ± 0 (1/1) | -1 ± 0 (1/1) | — |" in md


def test_values_compare_as_json_numbers():
    assert canonical(1) == canonical(1.0) and canonical(True) != canonical(1)
    assert canonical({"a": 1, "b": [2]}) == canonical({"b": [2], "a": 1})
    assert canonical(None) != canonical("null")


# --------------------------------------------------------------------------- outputs
def test_sensitivity_csv_equals_hand_computed_means(grid):
    rows = {r["setting"]: r for r in read_csv(grid["out"] / "sensitivity.csv")}
    assert list(rows) == ["kfac_clip=0.001", "kfac_clip=0.002"]
    # finals: 0.001 -> 10, 14; 0.002 -> 5 (2M), -1 (1M)
    # 500k: 0.001 -> 2, 4; 0.002 -> -3 (first row >= 500k is 600k), -5
    # 1M:   0.001 -> 6, 8; 0.002 -> 1 (1.2M), -1;  2M: 0.001 none; 0.002 -> 5 (seed 1 short)
    expected = {"kfac_clip=0.001": dict(score=(12.0, 2.0), b500=(3.0, 1.0, 2), b1M=(7.0, 1.0, 2),
                                        b2M=None, seeds="0, 1", t=(1_500_000, 1_500_000)),
                "kfac_clip=0.002": dict(score=(2.0, 3.0), b500=(-4.0, 1.0, 2), b1M=(0.0, 1.0, 2),
                                        b2M=(5.0, 0.0, 1), seeds="0, 1", t=(1_000_000, 2_000_000))}
    for setting, e in expected.items():
        r = rows[setting]
        assert (r["env"], r["alg"], r["variant"], r["varied"]) == (PONG, "acktr", "", "kfac_clip")
        assert r["seeds"] == e["seeds"] and r["n_runs"] == "2" and r["n_scored"] == "2"
        assert (float(r["score_mean"]), float(r["score_std"])) == pytest.approx(e["score"])
        assert (int(r["final_timesteps_min"]), int(r["final_timesteps_max"])) == e["t"]
        for key, budget in (("b500", 500_000), ("b1M", 1_000_000), ("b2M", 2_000_000)):
            if e[key] is None:
                assert r[f"n_seeds_at_{budget}"] == "0" and r[f"mean_at_{budget}"] == ""
                continue
            mean, std, n = e[key]
            assert int(r[f"n_seeds_at_{budget}"]) == n
            assert float(r[f"mean_at_{budget}"]) == pytest.approx(mean)
            assert float(r[f"std_at_{budget}"]) == pytest.approx(std)
    # the same numbers by numpy from the progress rows
    finals = [GRID[(0.002, s)][-1][1] for s in (0, 1)]
    assert float(rows["kfac_clip=0.002"]["score_std"]) == pytest.approx(float(np.std(finals)))


def test_sensitivity_markdown_table(grid):
    md = (grid["out"] / "sensitivity.md").read_text()
    assert f"## {PONG} (Pong)" in md and "### alg acktr: `kfac_clip`" in md
    assert ("| kfac_clip | seeds | final eprewmean (mean ± std @ timesteps) | @ 500k | @ 1M "
            "| @ 2M |") in md
    assert "| 0.001 | 2 (0, 1) | 12 ± 2 @ 1.5M | 3 ± 1 (2/2) | 7 ± 1 (2/2) | — |" in md
    assert "| 0.002 | 2 (0, 1) | 2 ± 3 @ 1M–2M | -4 ± 1 (2/2) | 0 ± 1 (2/2) | 5 ± 0 (1/2) |" in md
    assert md.index("| 0.001 |") < md.index("| 0.002 |")  # ordered by value
    assert f"(settings_{PONG}.png)" in md


def test_comparison_and_budget_csvs_name_the_setting(grid):
    out = grid["out"]
    rows = [r for r in read_csv(out / "comparison.csv") if r["ref_id"] == "paper_table1_acktr_reward"]
    assert [(r["setting"], r["n_runs"], float(r["score_mean"])) for r in rows] == [
        ("kfac_clip=0.001", "2", 12.0), ("kfac_clip=0.002", "2", 2.0)]
    budgets = read_csv(out / "budgets.csv")
    assert [(r["setting"], r["budget"], float(r["mean"])) for r in budgets] == [
        ("kfac_clip=0.001", "500000", 3.0), ("kfac_clip=0.001", "1000000", 7.0),
        ("kfac_clip=0.002", "500000", -4.0), ("kfac_clip=0.002", "1000000", 0.0),
        ("kfac_clip=0.002", "2000000", 5.0)]
    md = (out / "comparison.md").read_text()
    assert f"## {PONG} (Pong): alg acktr, kfac_clip=0.002\n" in md


def test_one_figure_per_env_with_every_setting(grid, tmp_path):
    out = grid["out"]
    assert sorted(p.name for p in out.glob("*.png")) == [
        f"curve_{PONG}-acktr-kfac_clip_0.001.png", f"curve_{PONG}-acktr-kfac_clip_0.002.png",
        f"settings_{PONG}.png"]
    assert (out / f"settings_{PONG}.png").read_bytes()[:8] == PNG_MAGIC
    labels = plot_settings(grid["groups"], str(tmp_path / "f.png"))
    assert labels == ["kfac_clip=0.001", "kfac_clip=0.002"]


def test_figure_names_the_alg_when_the_env_has_other_algs(tmp_path):
    dirs = grid_runs(tmp_path) + [make_run(tmp_path, "a2c", GRID[(0.001, 0)],
                                           full_config(0, alg="a2c"))]
    groups = groups_of(dirs)
    assert [g.kind_text for g in groups] == [
        "alg acktr, kfac_clip=0.001", "alg acktr, kfac_clip=0.002", "alg a2c"]
    labels = plot_settings(groups, str(tmp_path / "f.png"))
    assert labels == ["alg acktr, kfac_clip=0.001", "alg acktr, kfac_clip=0.002", "alg a2c"]
    assert [r["setting"] for r in compare.sensitivity_rows(groups)] == [
        "kfac_clip=0.001", "kfac_clip=0.002"]
