"""baselines_acktr.compare on synthetic run dirs: numbers, references, verdicts, PNGs, errors."""
import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from baselines_acktr import compare

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REFERENCE_RUN_DIR = Path(__file__).resolve().parents[1] / "docs" / "results" / "baselines_tf1_pong_seed2"
PACKAGED_JSON = Path(compare.__file__).resolve().parent / "data" / "paper_numbers.json"


# --------------------------------------------------------------------------- helpers
def write_progress(path, rows):
    """rows: [(total_timesteps, eprewmean or None)] -> baselines-style progress.csv."""
    cols = ["nupdates", "total_timesteps", "fps", "policy_entropy", "policy_loss", "value_loss",
            "explained_variance", "eprewmean", "eplenmean"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for i, (t, r) in enumerate(rows, 1):
            w.writerow([i, t, 500, 1.7, 0.01, 0.2, 0.5, "nan" if r is None else repr(r),
                        "nan" if r is None else 900.0])


def write_monitor(path, env_id, t_start, episodes):
    """episodes: [(r, t)] with t seconds since t_start (baselines monitor format)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("# " + json.dumps({"t_start": t_start, "env_id": env_id}) + " \n")
        fh.write("r,l,t\n")
        for r, t in episodes:
            fh.write(f"{r!r},900,{t!r}\n")


def make_run(root, name, env, seed, rows, returns=None, config=True, monitor_env=None):
    """A run dir; ``returns`` (in the order the episodes ended) are spread over three monitor
    files whose file order is not their time order (one under monitor/resume-u00010/)."""
    d = root / name
    d.mkdir()
    write_progress(d / "progress.csv", rows)
    if config:
        (d / "config.json").write_text(json.dumps({"env": env, "seed": seed, "alg": "acktr"}))
    if returns is not None:
        menv = env if monitor_env is None else monitor_env
        # episode k ends at 1000 + k seconds; files get different t_start values
        files = {d / "monitor" / "0.monitor.csv": (500.0, []),
                 d / "monitor" / "1.monitor.csv": (300.0, []),
                 d / "monitor" / "resume-u00010" / "0.monitor.csv": (100.0, [])}
        keys = list(files)
        for k, r in enumerate(returns):
            path = keys[(k * 7) % 3]
            t_start, eps = files[path]
            eps.append((r, 1000.0 + k - t_start))
        for path, (t_start, eps) in files.items():
            eps.sort(key=lambda e: e[1])
            write_monitor(str(path), menv, t_start, eps)
    return d


def read_rows(out):
    with open(out / "comparison.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def row_for(rows, env_id, ref_id):
    hits = [r for r in rows if r["env_id"] == env_id and r["ref_id"] == ref_id]
    assert len(hits) == 1, (env_id, ref_id, [r["ref_id"] for r in rows])
    return hits[0]


def packaged():
    return json.loads(PACKAGED_JSON.read_text())


def curve(final_t, final_r, n=40):
    """A learning curve: nan for the first rows, then rising linearly to ``final_r``."""
    ts = np.linspace(final_t / n, final_t, n).round().astype(int)
    rs = np.linspace(-21.0, final_r, n)
    return [(int(t), None if i < 5 else float(r)) for i, (t, r) in enumerate(zip(ts, rs))]


# --------------------------------------------------------------------------- fixture
@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    pong_returns = [rng.uniform(-21, 21, size=150).round(1).tolist(),
                    rng.uniform(-21, 21, size=130).round(1).tolist()]
    # seed 0: ends at 14.0 at 2,000,000; seed 1: ends at 16.0 at 1,920,000
    pong0 = make_run(root, "pong0", "PongNoFrameskip-v4", 0, curve(2_000_000, 14.0),
                     pong_returns[0])
    pong1 = make_run(root, "pong1", "PongNoFrameskip-v4", 1, curve(1_920_000, 16.0),
                     pong_returns[1])
    hopper = make_run(root, "hopper", "Hopper-v5", 0,
                      [(t, r) for t, r in curve(1_000_000, 3900.0)])
    out = root / "out"
    status = compare.main([str(pong0), str(pong1), str(hopper), "--out", str(out)])
    return dict(status=status, out=out, rows=read_rows(out), pong_returns=pong_returns,
                dirs=(pong0, pong1, hopper))


# --------------------------------------------------------------------------- numbers
def test_scores_budgets_and_spread_match_the_generated_csvs(result):
    assert result["status"] == 0
    rows = result["rows"]
    pong = row_for(rows, "PongNoFrameskip-v4", "paper_table1_acktr_reward")
    finals = []
    for d in result["dirs"][:2]:
        with open(d / "progress.csv", newline="") as fh:
            last = list(csv.DictReader(fh))[-1]
        finals.append((int(last["total_timesteps"]), float(last["eprewmean"])))
    scores = [s for _, s in finals]
    assert scores == [14.0, 16.0]
    assert int(pong["n_runs"]) == 2 and int(pong["n_scored"]) == 2
    assert pong["seeds"] == "0, 1"
    assert float(pong["score_mean"]) == pytest.approx(15.0)
    assert float(pong["score_std"]) == pytest.approx(float(np.std(scores)))
    assert float(pong["score_min"]) == 14.0 and float(pong["score_max"]) == 16.0
    assert int(pong["final_timesteps_min"]) == 1_920_000
    assert int(pong["final_timesteps_max"]) == 2_000_000

    hop = row_for(rows, "Hopper-v5", "paper_table2_acktr_reward")
    assert int(hop["n_runs"]) == 1
    assert float(hop["score_mean"]) == 3900.0 and float(hop["score_std"]) == 0.0
    assert int(hop["final_timesteps_max"]) == 1_000_000
    assert int(hop["monitor_runs"]) == 0 and hop["monitor_last100_mean"] == "nan"


def test_monitor_score_is_the_last_100_episodes_in_time_order(result):
    pong = row_for(result["rows"], "PongNoFrameskip-v4", "paper_table1_acktr_reward")
    # returns were generated in the order the episodes ended; the files interleave them
    last100 = [float(np.mean(r[-100:])) for r in result["pong_returns"]]
    assert int(pong["monitor_runs"]) == 2
    assert int(pong["monitor_episodes"]) == 150 + 130
    assert float(pong["monitor_last100_mean"]) == pytest.approx(np.mean(last100))
    assert float(pong["monitor_last100_min"]) == pytest.approx(min(last100))
    assert float(pong["monitor_last100_max"]) == pytest.approx(max(last100))


def test_reference_values_budgets_and_confidence_equal_the_json(result):
    data = packaged()
    rows = result["rows"]
    t1 = next(e for e in data["paper"]["atari_table1"] if e["game"] == "Pong")
    for key in ("acktr_reward", "a2c_reward", "trpo_reward"):
        row = row_for(rows, "PongNoFrameskip-v4", f"paper_table1_{key}")
        assert float(row["ref_value"]) == t1[key]["value"]
        assert int(row["ref_budget_timesteps"]) == t1[key]["timestep_budget"]
        assert row["ref_confidence"] == t1[key]["confidence"]
        assert row["ref_source"] == t1[key]["source"]
    assert int(row_for(rows, "PongNoFrameskip-v4", "paper_table1_acktr_reward")
               ["ref_budget_timesteps"]) == 50_000_000
    assert int(row_for(rows, "PongNoFrameskip-v4", "paper_table1_trpo_reward")
               ["ref_budget_timesteps"]) == 10_000_000
    ratio = row_for(rows, "PongNoFrameskip-v4",
                    "paper_table1_a2c_over_acktr_episodes_to_human_ratio")
    assert float(ratio["ref_value"]) == t1["a2c_over_acktr_episodes_to_human_ratio"]["value"]
    assert ratio["ref_kind"] == "ratio" and ratio["verdict"] == ""
    human = row_for(rows, "PongNoFrameskip-v4", "paper_table1_human_level")
    assert float(human["ref_value"]) == t1["human_level"]["value"]

    bench = {r["algo"]: r for r in data["baselines_benchmarks"]["atari10M"]}
    for algo in ("acktr", "a2c", "trpo_mpi"):
        row = row_for(rows, "PongNoFrameskip-v4", f"baselines_atari10M_{algo}")
        assert float(row["ref_value"]) == bench[algo]["per_env_score"]["Pong"]
        assert int(row["ref_budget_timesteps"]) == 10_000_000
        assert row["ref_confidence"] == "high"
    assert not [r for r in rows if r["ref_id"] == "baselines_atari10M_ppo2"]

    mj = next(e for e in data["paper"]["mujoco"] if e["env"] == "Hopper")
    for key in ("acktr_reward", "a2c_reward", "trpo_reward"):
        row = row_for(rows, "Hopper-v5", f"paper_table2_{key}")
        assert float(row["ref_value"]) == mj[key]["value"]
        assert int(row["ref_budget_timesteps"]) == mj["timestep_budget"]["value"]
        assert row["ref_confidence"] == mj[key]["confidence"]
        assert "budget confidence low" in row["ref_budget_note"]
        assert row["ref_same_metric"] == "0"
    trpo = next(r for r in data["baselines_benchmarks"]["mujoco1M"] if r["algo"] == "trpo_mpi")
    row = row_for(rows, "Hopper-v5", "baselines_mujoco1M_trpo_mpi")
    assert float(row["ref_value"]) == trpo["per_env_score"]["Hopper"]
    assert int(row["ref_budget_timesteps"]) == 1_000_000
    assert not [r for r in rows if r["env_id"] == "Hopper-v5" and "acktr" in r["ref_id"]
                and r["ref_id"].startswith("baselines")]  # the MuJoCo page has no ACKTR row


def test_verdict_words_for_runs_above_within_and_below(result):
    rows = result["rows"]

    def word(env, ref):
        return row_for(rows, env, ref)["verdict"]

    # Pong seeds end at 14 and 16: below ACKTR's 20.9 (16 < 20.9 - 2.09), above TRPO's -1.2
    assert word("PongNoFrameskip-v4", "paper_table1_acktr_reward") == "below"
    assert word("PongNoFrameskip-v4", "paper_table1_a2c_reward") == "below"
    assert word("PongNoFrameskip-v4", "paper_table1_trpo_reward") == "above"
    assert word("PongNoFrameskip-v4", "paper_table1_human_level") == "above"
    assert word("PongNoFrameskip-v4", "baselines_atari10M_acktr") == "above"
    # Hopper ends at 3900: within 10% of Table 2's 3915.9, above baselines' TRPO 1912.9
    assert word("Hopper-v5", "paper_table2_acktr_reward") == "within"
    assert word("Hopper-v5", "baselines_mujoco1M_trpo_mpi") == "above"
    text = row_for(rows, "PongNoFrameskip-v4", "paper_table1_acktr_reward")["verdict_text"]
    assert "below the published value at 1,920,000–2,000,000 timesteps" in text
    assert "(published at 50,000,000 timesteps)" in text and "budgets differ" in text
    hop = row_for(rows, "Hopper-v5", "baselines_mujoco1M_trpo_mpi")["verdict_text"]
    assert "at 1,000,000 timesteps (published at 1,000,000 timesteps)" in hop
    assert "budgets differ" not in hop


@pytest.mark.parametrize("lo,hi,ref,expected", [
    (8.0, 8.99, 10.0, "below"), (8.0, 9.0, 10.0, "within"), (11.0, 12.0, 10.0, "within"),
    (11.01, 12.0, 10.0, "above"), (-0.2, -0.11, 0.0, "below"), (-0.1, 0.1, 0.0, "within"),
    (-25.0, -23.11, -21.0, "below"), (-25.0, -23.09, -21.0, "within"),
    (-18.89, -18.0, -21.0, "above"), (-18.91, -18.0, -21.0, "within"), (1.0, 30.0, 20.9, "within"),
    (math.nan, math.nan, 5.0, "n/a"),
])
def test_within_is_the_seed_range_widened_by_ten_percent(lo, hi, ref, expected):
    assert compare.verdict(lo, hi, ref) == expected


def test_pngs_are_valid_and_markdown_states_budgets(result):
    out = result["out"]
    for env in ("PongNoFrameskip-v4", "Hopper-v5"):
        png = (out / compare.curve_filename(env)).read_bytes()
        assert png[:8] == PNG_MAGIC and png[-8:-4] == b"IEND" and len(png) > 5000
    md = (out / "comparison.md").read_text()
    assert "## PongNoFrameskip-v4 (Pong)" in md and "## Hopper-v5 (Hopper)" in md
    assert "| paper ACKTR (Table 1) | 20.9 @ 50M |" in md
    assert "| paper ACKTR (Table 2) | 3915.9 @ 30M (budget confidence low) |" in md
    assert "**below** the published value" in md and "**within** the published value" in md
    assert "curve_PongNoFrameskip-v4.png" in md
    assert "`rldb`" in md  # the sources of the numbers used are listed


def test_a_long_experiment_name_gives_a_short_distinct_file_name(tmp_path):
    # an ablation row named by many settings (the MuJoCo ablation's S8) made a 300-character
    # name that no file system takes
    stem = "HalfCheetah-v5-acktr_cont-paper-" + "-".join(f"vf_setting_{k}_0.001" for k in range(15))
    names = {compare.curve_filename(stem + end) for end in ("a", "b")}
    assert len(names) == 2 and all(len(n) <= 140 and n.endswith(".png") for n in names)
    assert compare.curve_filename("Hopper-v5") == "curve_Hopper-v5.png"  # short ones unchanged
    for name in names:
        (tmp_path / name).write_bytes(b"")


def test_env_from_monitor_header_and_from_the_env_flag(tmp_path):
    by_monitor = make_run(tmp_path, "m", None, None, curve(10_000, 5.0), [1.0] * 10,
                          config=False, monitor_env="ALE/Breakout-v5")
    by_flag = make_run(tmp_path, "f", None, None, curve(10_000, 5.0), config=False)
    assert compare.load_run(str(by_monitor)).env_id == "ALE/Breakout-v5"
    top = make_run(tmp_path, "top", None, None, curve(10_000, 5.0), config=False)
    write_monitor(str(top / "0.monitor.csv"), "BeamRiderNoFrameskip-v4", 50.0,
                  [(float(r), float(r)) for r in range(120)])  # a *.monitor.csv beside progress
    top_run = compare.load_run(str(top))
    assert (top_run.env_id, top_run.env_from) == ("BeamRiderNoFrameskip-v4", "monitor header")
    assert top_run.monitor_last100 == float(np.mean(np.arange(20, 120)))
    run = compare.load_run(str(by_flag), "SeaquestNoFrameskip-v4")
    assert (run.env_id, run.env_from) == ("SeaquestNoFrameskip-v4", "--env")
    out = tmp_path / "out"
    assert compare.main([str(by_monitor), str(by_flag), "--env", "SeaquestNoFrameskip-v4",
                         "--out", str(out)]) == 0
    rows = read_rows(out)
    assert {r["env_name"] for r in rows} == {"Breakout", "Seaquest"}
    breakout = row_for(rows, "ALE/Breakout-v5", "paper_table1_acktr_reward")
    assert float(breakout["ref_value"]) == 735.7
    assert (out / compare.curve_filename("ALE/Breakout-v5")).read_bytes()[:8] == PNG_MAGIC


def test_canonical_names_map_gym_ids_to_the_json_names():
    data = packaged()
    for env_id, name in [("PongNoFrameskip-v4", "Pong"), ("ALE/Pong-v5", "Pong"),
                         ("QbertNoFrameskip-v4", "Qbert"), ("SpaceInvadersDeterministic-v4",
                                                            "SpaceInvaders"),
                         ("HalfCheetah-v1", "HalfCheetah"), ("HalfCheetah-v4", "HalfCheetah"),
                         ("Walker2d-v5", "Walker2d"), ("InvertedDoublePendulum-v2",
                                                        "InvertedDoublePendulum"),
                         ("Ant-v5", "Ant"), ("AlienNoFrameskip-v4", "Alien")]:
        got, refs = compare.references_for(env_id, data)
        assert got == name and refs, env_id
    assert compare.references_for("CartPole-v1", data) == (None, [])
    # Alien is only in the all-games table: its ACKTR score is used with its 50M budget
    _, refs = compare.references_for("AlienNoFrameskip-v4", data)
    alien = next(r for r in refs if r.ref_id == "paper_allgames_acktr_score")
    assert (alien.value, alien.budget) == (3197.1, 50_000_000)


# --------------------------------------------------------------------------- errors
def one_line_error(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        compare.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("compare: error: ")
    return err


def test_missing_progress_csv_exits_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    err = one_line_error(capsys, [str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert "has no progress.csv" in err
    assert not (tmp_path / "o").exists()  # nothing written on bad input


def test_unknown_env_and_missing_env_exit_2(tmp_path, capsys):
    cart = make_run(tmp_path, "cart", "CartPole-v1", 0, curve(10_000, 100.0))
    err = one_line_error(capsys, [str(cart), "--out", str(tmp_path / "o")])
    assert "no reference numbers for env 'CartPole-v1'" in err
    anon = make_run(tmp_path, "anon", None, None, curve(10_000, 1.0), config=False)
    err = one_line_error(capsys, [str(anon), "--out", str(tmp_path / "o")])
    assert "cannot tell the env" in err and "--env" in err
    err = one_line_error(capsys, ["--out", str(tmp_path / "o")])  # no RUN_DIR at all
    assert not (tmp_path / "o").exists()


def test_runs_of_different_variants_are_not_pooled_as_seeds(tmp_path):
    a = make_run(tmp_path, "a", "Hopper-v5", 0, curve(10_000, 100.0))
    b = make_run(tmp_path, "b", "Hopper-v5", 1, curve(10_000, 200.0))
    (b / "config.json").write_text(json.dumps({"env": "Hopper-v5", "seed": 1,
                                               "alg": "acktr_cont", "variant": "paper"}))
    groups = compare.group_runs([compare.load_run(str(a)), compare.load_run(str(b))], packaged())
    assert [(g.alg, g.variant, len(g.runs)) for g in groups] == [("acktr", None, 1),
                                                                  ("acktr_cont", "paper", 1)]
    out = tmp_path / "o"
    assert compare.main([str(a), str(b), "--out", str(out)]) == 0
    rows = [r for r in read_rows(out) if r["ref_id"] == "paper_table2_acktr_reward"]
    assert [(r["alg"], r["variant"], r["n_runs"], float(r["score_mean"]), r["run_dirs"])
            for r in rows] == [("acktr", "", "1", 100.0, str(a)),
                               ("acktr_cont", "paper", "1", 200.0, str(b))]
    # one curve per experiment, named after env, alg and variant when an env has several
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["curve_Hopper-v5-acktr.png", "curve_Hopper-v5-acktr_cont-paper.png"]
    md = (out / "comparison.md").read_text()
    assert "## Hopper-v5 (Hopper): alg acktr\n" in md
    assert "## Hopper-v5 (Hopper): alg acktr_cont, variant paper" in md
    assert "(curve_Hopper-v5-acktr_cont-paper.png)" in md


def test_runs_of_the_two_atari_backends_are_not_pooled_as_seeds(tmp_path):
    runs = []
    for name, seed, backend in [("g0", 0, None), ("g1", 1, "gym"), ("a0", 0, "ale_vector")]:
        d = make_run(tmp_path, name, "PongNoFrameskip-v4", seed, curve(10_000, 10.0 + seed))
        cfg = {"env": "PongNoFrameskip-v4", "seed": seed, "alg": "acktr"}
        if backend is not None:
            cfg["env_backend"] = backend
        (d / "config.json").write_text(json.dumps(cfg))
        runs.append(compare.load_run(str(d)))
    groups = compare.group_runs(runs, packaged())
    assert [(g.variant, sorted(r.seed for r in g.runs)) for g in groups] == [
        (None, [0, 1]), ("ale_vector", [0])]
    assert groups[1].label == "PongNoFrameskip-v4 (alg acktr, variant ale_vector)"


def test_command_line_error_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "baselines_acktr.compare",
                           str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"compare: error: {tmp_path / 'nope'} is not a directory"]


# --------------------------------------------------------------------------- real data
def test_packaged_json_keeps_sources_and_confidence():
    data = packaged()
    assert set(data["confidence_levels"]) == {"high", "medium", "low"}
    assert {"paper", "rldb", "vault_notes", "baselines_repo"} <= set(data["sources"])


def test_baselines_tf1_reference_run(tmp_path):
    run = REFERENCE_RUN_DIR  # committed: baselines' own TF1 log and a config.json
    with open(run / "progress.csv", newline="") as fh:
        last = list(csv.DictReader(fh))[-1]
    out = tmp_path / "out"
    assert compare.main([str(run), "--out", str(out)]) == 0
    row = row_for(read_rows(out), "PongNoFrameskip-v4", "paper_table1_acktr_reward")
    assert float(row["score_mean"]) == float(last["eprewmean"])
    assert int(row["final_timesteps_max"]) == int(last["total_timesteps"])
    assert row["verdict"] == "below"  # −6.6 at 1.29M timesteps against 20.9 at 50M
    assert (out / "curve_PongNoFrameskip-v4.png").read_bytes()[:8] == PNG_MAGIC


def test_episodes_to_level_uses_a_100_episode_window(tmp_path, result):
    run = compare.load_run(str(make_run(tmp_path, "h", "PongNoFrameskip-v4", 0,
                                        curve(10_000, 5.0), [0.0] * 50 + [10.0] * 200)))
    # window N..N+99 (1-based) holds 49 + N tens for N <= 50: mean >= 9.25 needs 93, first at N = 44
    assert run.episodes_to_level(9.25) == 44
    assert run.episodes_to_level(9.35) == 45
    assert run.episodes_to_level(9.3) == 44  # a window exactly at the level counts
    assert run.episodes_to_level(10.5) is None
    human = row_for(result["rows"], "PongNoFrameskip-v4", "paper_table1_human_level")
    assert human["episodes_to_level"] == "not reached in 150;not reached in 130"


def test_a_run_without_finished_episodes_gets_no_verdict(tmp_path):
    early = make_run(tmp_path, "early", "PongNoFrameskip-v4", 3,
                     [(640, None), (6400, None), (12800, None)])
    out = tmp_path / "out"
    assert compare.main([str(early), "--out", str(out)]) == 0
    row = row_for(read_rows(out), "PongNoFrameskip-v4", "paper_table1_acktr_reward")
    assert row["n_scored"] == "0" and row["score_mean"] == "nan" and row["verdict"] == "n/a"
    assert "no run had a finished episode by 12,800 timesteps" in row["verdict_text"]
    assert "n/a (no finished episode yet)" in (out / "comparison.md").read_text()
    assert (out / "curve_PongNoFrameskip-v4.png").read_bytes()[:8] == PNG_MAGIC


def test_compare_on_the_committed_results(tmp_path):
    """The real runs committed under docs/results/ go through the command, and the
    table's numbers are those of their progress.csv files."""
    results = Path(__file__).resolve().parents[1] / "docs" / "results"
    runs = sorted(p.parent for p in results.glob("*/progress.csv"))
    assert runs, "docs/results/ should hold at least one real run"
    experiments = {}  # one compare invocation per (alg, variant), as the README's commands
    for r in runs:
        cfg = json.loads((r / "config.json").read_text())
        experiments.setdefault((cfg.get("alg"), cfg.get("variant")), []).append(r)
    table = []
    for i, group in enumerate(experiments.values()):
        out = tmp_path / str(i)
        assert compare.main([str(r) for r in group] + ["--out", str(out)]) == 0
        table += list(csv.DictReader(open(out / "comparison.csv")))
        assert list(out.glob("*.png"))
    for i, sweep in enumerate(sorted(results.glob("sweep_*"))):  # committed sweeps, as folders
        out = tmp_path / f"sweep{i}"
        assert compare.main([str(sweep), "--out", str(out)]) == 0
        table += list(csv.DictReader(open(out / "comparison.csv")))
        runs += sorted(p.parent for p in sweep.glob("*/progress.csv"))
    for run in runs:
        progress = list(csv.DictReader(open(run / "progress.csv")))
        mine = [r for r in table if str(run) in r["run_dirs"]]
        assert mine, f"{run} missing from the table"
        last = int(progress[-1]["total_timesteps"])  # within its experiment's seeds' range
        assert all(int(r["final_timesteps_min"]) <= last <= int(r["final_timesteps_max"])
                   for r in mine)
        if all(r["n_runs"] == "1" for r in mine):
            assert max(int(r["final_timesteps_max"]) for r in mine) == last
        if len(set(r["run_dirs"] for r in mine)) == 1 and mine[0]["n_runs"] == "1":
            assert float(mine[0]["score_mean"]) == pytest.approx(float(progress[-1]["eprewmean"]),
                                                                 abs=0.01)


# --------------------------------------------------------------------------- sweeps
TUNE_PROGRESS_COLUMNS = ["timesteps", "eprewmean", "total_timesteps", "fps", "env", "seed",
                         "timestamp", "checkpoint_dir_name", "done", "training_iteration",
                         "trial_id", "date", "time_this_iter_s", "time_total_s", "pid"]


def make_trial(sweep, env, alg, seed, rows, variant=None):
    """A run folder as ``python -m baselines_acktr.sweep`` writes one per trial."""
    tag = alg if variant is None else f"{alg}-{variant}"
    d = sweep / f"{env}-{tag}-seed{seed}"
    (d / "monitor").mkdir(parents=True)
    write_progress(d / "progress.csv", rows)
    cfg = {"env": env, "seed": seed, "alg": alg, "num_timesteps": 10_000_000}
    if variant is not None:
        cfg["variant"] = variant
    (d / "config.json").write_text(json.dumps(cfg))
    write_monitor(str(d / "monitor" / "0.monitor.csv"), env, 100.0, [(1.0, 5.0), (2.0, 9.0)])
    (d / "tb").mkdir()
    (d / "tb" / "events.out.tfevents.1.host").write_bytes(b"\0")
    (d / "checkpoints" / "ckpt-00100").mkdir(parents=True)
    (d / "checkpoints" / "latest").write_text("ckpt-00100")
    (d / "trial.log").write_text("# started\n")
    return d


def make_tune_folder(d):
    """A Ray Tune trial folder: Tune's own progress.csv, params.json, result.json, checkpoints."""
    (d / "checkpoint_000000").mkdir(parents=True)
    with open(d / "progress.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TUNE_PROGRESS_COLUMNS)
        w.writerow([64000, -20.0, 64000, 500, "PongNoFrameskip-v4", 0, 1, "", False, 1,
                    "a1b2c3", "2024-01-01", 1.0, 1.0, 123])
    (d / "params.json").write_text(json.dumps({"trial": {"env": "PongNoFrameskip-v4"}}))
    (d / "result.json").write_text(json.dumps({"eprewmean": -20.0}) + "\n")
    return d


def sweep_rows(rng, final_t, step=64_000):
    """Rows every ``step`` timesteps to ``final_t`` (nan first), random rising rewards."""
    ts = np.arange(step, final_t + 1, step)
    rs = np.cumsum(rng.uniform(0.0, 1.0, size=len(ts))) - 21.0
    return [(int(t), None if i < 3 else float(round(r, 3))) for i, (t, r) in
            enumerate(zip(ts, rs))]


def first_at(rows, budget):
    for t, r in rows:  # rows are in increasing timesteps
        if t >= budget:
            return math.nan if r is None else r
    return None


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweeps") / "atari"
    root.mkdir()
    rng = np.random.default_rng(7)
    rows = {("PongNoFrameskip-v4", 0): sweep_rows(rng, 2_496_000),
            ("PongNoFrameskip-v4", 1): sweep_rows(rng, 2_240_000),
            ("BreakoutNoFrameskip-v4", 0): sweep_rows(rng, 2_048_000),
            ("BreakoutNoFrameskip-v4", 1): sweep_rows(rng, 1_536_000)}  # stops before 2M
    dirs = {k: make_trial(root, k[0], "acktr", k[1], v) for k, v in rows.items()}
    # Ray Tune's files: experiment state, tuner, per-trial folders (one with a run's name)
    (root / "experiment_state-2024-01-01_00-00-00.json").write_text("{}")
    (root / "basic-variant-state-2024-01-01_00-00-00.json").write_text("{}")
    (root / "tuner.pkl").write_bytes(b"\x80\x04N.")
    make_tune_folder(root / "train_trial_a1b2c3_00000")
    make_tune_folder(root / "driver_artifacts" / "PongNoFrameskip-v4-acktr-seed0")
    no_env = make_tune_folder(root / "train_trial_a1b2c3_00001")
    (no_env / "config.json").write_text(json.dumps({"trial": "x"}))  # a json without 'env'
    deep = root / "a" / "b" / "c"  # a run folder 4 levels down is beyond the search
    deep.mkdir(parents=True)
    make_trial(deep, "PongNoFrameskip-v4", "acktr", 9, sweep_rows(rng, 640_000))
    out = root.parent / "out"
    status = compare.main([str(root), str(dirs[("PongNoFrameskip-v4", 1)]), "--out", str(out)])
    with open(out / "budgets.csv", newline="") as fh:
        budgets = list(csv.DictReader(fh))
    return dict(root=root, rows=rows, dirs=dirs, out=out, status=status, budgets=budgets,
                table=read_rows(out), md=(out / "comparison.md").read_text())


def test_sweep_folder_finds_the_run_folders_and_ignores_tune_files(sweep):
    found, skipped = compare.expand_run_dirs([str(sweep["root"])])
    assert sorted(found) == sorted(str(d) for d in sweep["dirs"].values()) and not skipped
    assert sweep["status"] == 0
    runs = [r for r in sweep["table"] if r["ref_id"] == "paper_table1_acktr_reward"]
    assert len(runs) == 2  # 2 experiments: Pong and Breakout, each acktr with 2 seeds
    assert {(r["env_id"], r["alg"], r["variant"], r["n_runs"]) for r in runs} == {
        ("PongNoFrameskip-v4", "acktr", "", "2"), ("BreakoutNoFrameskip-v4", "acktr", "", "2")}
    for r in runs:  # the run folder also named on the command line is used once
        assert sorted(r["run_dirs"].split(";")) == sorted(
            str(sweep["dirs"][(r["env_id"], s)]) for s in (0, 1))
    assert sorted(p.name for p in sweep["out"].glob("*.png")) == [
        "curve_BreakoutNoFrameskip-v4.png", "curve_PongNoFrameskip-v4.png"]


def test_sweep_per_seed_scores_and_pooled_spread_equal_numpy(sweep):
    for env in ("PongNoFrameskip-v4", "BreakoutNoFrameskip-v4"):
        row = row_for(sweep["table"], env, "paper_table1_acktr_reward")
        finals = [sweep["rows"][(env, s)][-1][1] for s in (0, 1)]
        assert row["seed_scores"] == f"0:{finals[0]!r};1:{finals[1]!r}"
        assert float(row["score_mean"]) == pytest.approx(float(np.mean(finals)))
        assert float(row["score_std"]) == pytest.approx(float(np.std(finals)))
        assert float(row["score_min"]) == min(finals) and float(row["score_max"]) == max(finals)
        for s, v in zip((0, 1), finals):
            t = sweep["rows"][(env, s)][-1][0]
            assert f"| seed {s} | {compare.fmt_num(v)} @ {compare.fmt_steps(t)} |" in sweep["md"]


def test_sweep_budgets_csv_is_the_first_row_at_each_budget(sweep):
    got = {(r["env"], int(r["budget"])): r for r in sweep["budgets"]}
    assert set(got) == {(e, b) for e in ("PongNoFrameskip-v4", "BreakoutNoFrameskip-v4")
                        for b in (500_000, 1_000_000, 2_000_000)}
    for (env, budget), row in got.items():
        assert (row["alg"], row["variant"], row["n_runs"]) == ("acktr", "", "2")
        per_seed = [(s, first_at(sweep["rows"][(env, s)], budget)) for s in (0, 1)]
        reached = [(s, v) for s, v in per_seed if v is not None]
        values = [v for _, v in reached]
        assert int(row["n_seeds"]) == len(values)
        assert row["seed_scores"] == ";".join(f"{s}:{v!r}" for s, v in reached)
        assert float(row["mean"]) == pytest.approx(float(np.mean(values)))
        assert float(row["std"]) == pytest.approx(float(np.std(values)))
        assert float(row["min"]) == min(values) and float(row["max"]) == max(values)
    assert got[("BreakoutNoFrameskip-v4", 2_000_000)]["n_seeds"] == "1"  # seed 1 stopped at 1.54M
    assert "| 2M | 1 of 2 (not reached: seed 1 at 1.54M) |" in sweep["md"]
    assert "| 2M | 2 of 2 |" in sweep["md"]


def test_sweep_summary_table_has_the_papers_numbers(sweep):
    data = packaged()
    md = sweep["md"]
    assert "## Summary: Atari games (the paper's Table 1 layout)" in md
    assert "## Summary: MuJoCo" not in md
    summary = md.split("## Summary: Atari games")[1].split("\n## ")[0]
    lines = {ln.split(" | ")[0].lstrip("| "): ln for ln in summary.splitlines()
             if ln.startswith("| ") and not ln.startswith("| game |")}
    assert set(lines) == {"Pong", "Breakout"}
    bench = {r["algo"]: r["per_env_score"] for r in data["baselines_benchmarks"]["atari10M"]}
    for env, game in (("PongNoFrameskip-v4", "Pong"), ("BreakoutNoFrameskip-v4", "Breakout")):
        t1 = next(e for e in data["paper"]["atari_table1"] if e["game"] == game)
        cells = [c.strip() for c in lines[game].strip("| ").split(" | ")]
        finals = [sweep["rows"][(env, s)][-1][1] for s in (0, 1)]
        assert cells[1].startswith(f"{compare.fmt_num(float(np.mean(finals)))} ± "
                                   f"{compare.fmt_num(float(np.std(finals)))} @ ")
        for cell, key in ((cells[2], "acktr_reward"), (cells[3], "a2c_reward")):
            assert cell.startswith(f"{compare.fmt_num(t1[key]['value'])} @ 50M")
        assert cells[4] == f"{compare.fmt_num(bench['acktr'][game])} @ 10M"
        assert cells[5] == f"{compare.fmt_num(bench['a2c'][game])} @ 10M"


def test_mean_curve_of_two_seeds_lies_in_their_band(sweep):
    runs = [compare.load_run(str(sweep["dirs"][("PongNoFrameskip-v4", s)])) for s in (0, 1)]
    grid, mean, lo, hi = compare.mean_curve(runs)
    ys = [np.interp(grid, r.timesteps[np.isfinite(r.eprewmean)],
                    r.eprewmean[np.isfinite(r.eprewmean)]) for r in runs]
    assert grid[-1] == 2_240_000  # the range both seeds cover
    assert np.allclose(mean, (ys[0] + ys[1]) / 2) and np.all(lo <= mean) and np.all(mean <= hi)
    assert np.allclose(lo, np.minimum(*ys)) and np.allclose(hi, np.maximum(*ys))


def test_mujoco_tasks_get_a_table_2_summary(tmp_path):
    hop = make_run(tmp_path, "hop", "Hopper-v5", 0, curve(1_000_000, 2000.0))
    cheetah = make_run(tmp_path, "hc", "HalfCheetah-v5", 0, curve(1_000_000, 1500.0))
    out = tmp_path / "out"
    assert compare.main([str(hop), str(cheetah), "--out", str(out)]) == 0
    md = (out / "comparison.md").read_text()
    assert "## Summary: MuJoCo tasks (the paper's Table 2 layout)" in md
    assert "## Summary: Atari" not in md
    assert ("| Hopper | 2000 ± 0 @ 1M (1 seed) | 3915.9 @ 30M (low) | 3915.3 @ 30M (low) | "
            "3755 @ 30M (low) | 1912.9 @ 1M |") in md


def test_one_game_gets_no_summary_and_unreached_budgets_are_said(result):
    md = (result["out"] / "comparison.md").read_text()
    assert "## Summary" not in md  # one Atari game and one MuJoCo task
    assert "Not reached by any seed (longest run 1M): 2M." in md  # Hopper ran to 1M


def test_sweep_trials_without_rows_are_left_out_and_tune_progress_is_refused(tmp_path, capsys):
    root = tmp_path / "live"
    root.mkdir()
    ok = make_trial(root, "PongNoFrameskip-v4", "acktr", 0, curve(640_000, -19.0))
    fresh = make_trial(root, "PongNoFrameskip-v4", "acktr", 1, [])
    (fresh / "progress.csv").write_text("")  # a trial that has not logged yet
    out = tmp_path / "out"
    assert compare.main([str(root), "--out", str(out)]) == 0
    assert row_for(read_rows(out), "PongNoFrameskip-v4",
                   "paper_table1_acktr_reward")["run_dirs"] == str(ok)
    assert f"`{fresh}` (no row logged in progress.csv yet)" in (out / "comparison.md").read_text()
    assert f"left out {fresh}" in capsys.readouterr().out
    # a run folder whose progress.csv Ray Tune overwrote with its own is an error, not a run
    make_tune_folder(ok)
    err = one_line_error(capsys, [str(root), "--out", str(tmp_path / "o2")])
    assert "is Ray Tune's progress.csv" in err and not (tmp_path / "o2").exists()
    (tmp_path / "nothing" / "deeper").mkdir(parents=True)
    err = one_line_error(capsys, [str(tmp_path / "nothing"), "--out", str(tmp_path / "o3")])
    assert "has no progress.csv, and no run folder" in err
