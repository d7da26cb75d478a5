"""``compare --table1``: the paper's Table 1 (episode N to the human level, per seed and over
seeds, the A2C/ACKTR ratio) and Figure 1 on synthetic run folders whose N is known by hand."""
import contextlib
import csv
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from baselines_acktr import compare

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TF1_REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "results" / "baselines_tf1_pong_seed2"
PONG, BREAKOUT = "PongNoFrameskip-v4", "BreakoutNoFrameskip-v4"
PONG_HUMAN, BREAKOUT_HUMAN = 9.3, 31.8  # the paper's Table 1, as the packaged JSON has them


# --------------------------------------------------------------------------- run folders
def write_monitor(path, env_id, t_start, episodes):
    """episodes: [(r, t)] with t seconds since t_start (baselines' monitor format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fh.write("# " + json.dumps({"t_start": t_start, "env_id": env_id}) + "\n")
        fh.write("r,l,t\n")
        for r, t in episodes:
            fh.write(f"{r!r},900,{t!r}\n")


def make_run(root, name, env, alg, seed, returns, final=(2_000_000, 15.0), **cfg):
    """A run folder: config.json, progress.csv ending at ``final`` = (timesteps, eprewmean)
    and ``returns`` (in the order the games ended) dealt to two monitor files the other way
    round (file 0 holds the odd games), so only the end times give the order."""
    d = root / name
    d.mkdir()
    (d / "config.json").write_text(json.dumps(dict(env=env, alg=alg, seed=seed, **cfg)))
    t_end, r_end = final
    with open(d / "progress.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["nupdates", "total_timesteps", "eprewmean", "fps"])
        for i, t in enumerate(np.linspace(t_end / 20, t_end, 20).round().astype(int)):
            r = "nan" if i < 2 else repr(float(np.interp(i, [2, 19], [-20.0, r_end])))
            w.writerow([i + 1, int(t), r, 400])
    files = {0: (500.0, []), 1: (200.0, [])}
    for k, r in enumerate(returns):  # game k ends at 1000 + k seconds
        t_start, eps = files[(k + 1) % 2]
        eps.append((float(r), 1000.0 + k - t_start))
    for i, (t_start, eps) in files.items():
        write_monitor(d / "monitor" / f"{i}.monitor.csv", env, t_start, eps)
    return d


# Pong, human level 9.3; games of -20 then +20. A window N..N+99 holding k games of +20 has
# mean (20k - 20(100 - k)) / 100 = (40k - 2000) / 100 >= 9.3  <=>  k >= 73.25, so k = 74.
PONG_ACKTR_0 = [-20] * 150 + [20] * 200  # k = N + 99 - 150 = N - 51: N = 125
PONG_ACKTR_1 = [-20] * 100 + [20] * 150  # k = N - 1: N = 75
PONG_A2C_0 = [-20] * 300 + [5] * 100     # the best window has mean 5 < 9.3: not reached
# (no A2C seed 1 for Pong: a missing seed)
# Breakout, human level 31.8; games of 0 then 40: mean 40k / 100 >= 31.8 <=> k >= 79.5, k = 80.
BREAKOUT_ACKTR_0 = [0] * 250             # never: not reached in 250 games, N >= 250 - 98
BREAKOUT_A2C_0 = [0] * 100 + [40] * 200  # k = N - 1: N = 81
BREAKOUT_A2C_1 = [0] * 120 + [40] * 200  # k = N - 21: N = 101 (on the ale_vector backend)
OTHER_IMPL = [-20] * 100 + [20] * 100    # N = 75, another implementation's run


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    root = tmp_path_factory.mktemp("table1")
    dirs = dict(
        pong_acktr_0=make_run(root, "pa0", PONG, "acktr", 0, PONG_ACKTR_0, (2_000_000, 19.5)),
        pong_acktr_1=make_run(root, "pa1", PONG, "acktr", 1, PONG_ACKTR_1, (1_600_000, 18.25)),
        pong_a2c_0=make_run(root, "pc0", PONG, "a2c", 0, PONG_A2C_0, (3_000_000, 5.0)),
        breakout_acktr_0=make_run(root, "ba0", BREAKOUT, "acktr", 0, BREAKOUT_ACKTR_0),
        breakout_a2c_0=make_run(root, "bc0", BREAKOUT, "a2c", 0, BREAKOUT_A2C_0),
        breakout_a2c_1=make_run(root, "bc1", BREAKOUT, "a2c", 1, BREAKOUT_A2C_1,
                                env_backend="ale_vector"),
        other=make_run(root, "other", PONG, "acktr", 5, OTHER_IMPL, (1_000_000, 12.0),
                       implementation="some other code base", variant="other"),
    )
    out = root / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = compare.main([str(d) for d in dirs.values()]
                              + ["--table1", "--reference", str(TF1_REFERENCE),
                                 "--out", str(out)])
    rows = read_csv(out / "table1.csv")
    return dict(status=status, out=out, dirs=dirs, printed=printed.getvalue(), rows=rows,
                md=(out / "table1.md").read_text(),
                cell={(r["game"], r["alg"]): r for r in rows if r["source"] == "this project"})


def md_row(md, game, alg):
    hits = [ln for ln in md.splitlines() if ln.startswith(f"| {game} |") and f"| {alg} |" in ln]
    assert len(hits) == 1, hits
    return [c.strip() for c in hits[0].strip("|").split(" | ")]


# --------------------------------------------------------------------------- episode N
def test_a_run_crossing_the_level_gets_its_exact_episode(table):
    assert table["status"] == 0
    acktr = table["cell"][("Pong", "acktr")]
    assert acktr["episode_n_per_seed"] == "0:125;1:75"
    assert acktr["games_per_seed"] == "0:350;1:250"
    assert float(acktr["mean_n"]) == 100.0 and acktr["mean_n_is_lower_bound"] == "0"
    assert float(acktr["human_level"]) == PONG_HUMAN
    cells = md_row(table["md"], "Pong", "ACKTR")
    assert cells[4] == "2 (0, 1)" and cells[5] == "0: 125; 1: 75" and cells[6] == "100"
    # the same N from the Run, and the window at N is the first at the level
    run = compare.load_run(str(table["dirs"]["pong_acktr_0"]))
    assert run.episodes_to_level(PONG_HUMAN) == 125
    x, y = compare.rolling_games(run.episode_returns)
    assert x[124] == 125 and y[124] >= PONG_HUMAN > y[123]


def test_a_run_not_crossing_is_a_lower_bound(table):
    a2c = table["cell"][("Pong", "a2c")]
    assert a2c["episode_n_per_seed"] == "0:>=302"  # 400 games: N >= 400 - 98
    assert a2c["games_per_seed"] == "0:400"
    assert float(a2c["mean_n"]) == 302.0 and a2c["mean_n_is_lower_bound"] == "1"
    cells = md_row(table["md"], "Pong", "A2C")
    assert cells[5] == "0: not reached in 400 games" and cells[6] == ">= 302"
    acktr = table["cell"][("Breakout", "acktr")]
    assert acktr["episode_n_per_seed"] == "0:>=152" and acktr["mean_n_is_lower_bound"] == "1"
    assert md_row(table["md"], "Breakout", "ACKTR")[5] == "0: not reached in 250 games"


def test_a_missing_seed_still_gives_a_row_with_its_seed_count(table):
    a2c = table["cell"][("Pong", "a2c")]
    assert a2c["n_seeds"] == "1" and a2c["seeds"] == "0"
    cells = md_row(table["md"], "Pong", "A2C")
    assert cells[3] == "gym" and cells[4] == "1 (0)"
    assert cells[8] == "0: 3M" and cells[9] == "0: 5"  # its budget and score there


def test_budget_score_and_paper_columns(table):
    acktr = table["cell"][("Pong", "acktr")]
    assert acktr["final_timesteps_per_seed"] == "0:2000000;1:1600000"
    assert acktr["final_eprewmean_per_seed"] == "0:19.5;1:18.25"
    data = json.loads((Path(compare.__file__).parent / "data" / "paper_numbers.json").read_text())
    for game in ("Pong", "Breakout"):
        entry = next(e for e in data["paper"]["atari_table1"] if e["game"] == game)
        for alg in ("acktr", "a2c"):
            row = table["cell"][(game, alg)]
            assert float(row["paper_episode_n"]) == entry[f"{alg}_episode_reaching_human"]["value"]
            assert float(row["paper_reward_50m"]) == entry[f"{alg}_reward"]["value"]
            assert float(row["paper_ratio"]) == (
                entry["a2c_over_acktr_episodes_to_human_ratio"]["value"])
            assert float(row["human_level"]) == entry["human_level"]["value"]
    cells = md_row(table["md"], "Pong", "A2C")
    assert cells[10].startswith("4,768") and cells[11].startswith("19.9 @ 50M")


# --------------------------------------------------------------------------- ratio
def test_ratio_is_bounded_when_one_side_is_a_lower_bound(table):
    pong = table["cell"][("Pong", "acktr")]
    # A2C >= 302 (a bound) over ACKTR 100 (exact): the ratio is at least 3.02
    assert pong["ratio_form"] == ">=" and float(pong["ratio_a2c_over_acktr"]) == pytest.approx(3.02)
    # A2C (81 + 101) / 2 = 91 (exact) over ACKTR >= 152: the ratio is at most 91 / 152
    brk = table["cell"][("Breakout", "a2c")]
    assert brk["ratio_form"] == "<=" and float(brk["ratio_a2c_over_acktr"]) == pytest.approx(
        91 / 152)
    md = table["md"]
    assert "| Pong | >= 3.02 | 5.3 (low) |" in md
    assert f"| Breakout | <= {91 / 152:.2f} | 3.5 (low) |" in md


def test_ratio_exact_and_unbounded(tmp_path):
    data = compare.load_references()
    reach = make_run(tmp_path, "r", PONG, "acktr", 0, PONG_ACKTR_1)       # N = 75
    reach2 = make_run(tmp_path, "r2", PONG, "a2c", 0, PONG_ACKTR_0)       # N = 125
    never = make_run(tmp_path, "n", PONG, "acktr", 1, PONG_A2C_0)
    never2 = make_run(tmp_path, "n2", PONG, "a2c", 1, PONG_A2C_0)
    runs = {k: compare.load_run(str(d)) for k, d in
            dict(reach=reach, reach2=reach2, never=never, never2=never2).items()}
    (game,) = compare.table1_games([runs["reach"], runs["reach2"]], data)
    assert game.ratio == (pytest.approx(125 / 75), "=")
    (game,) = compare.table1_games([runs["never"], runs["never2"]], data)
    assert game.ratio == (None, "n/a")  # both are lower bounds
    (game,) = compare.table1_games([runs["reach"]], data)
    assert game.ratio == (None, "n/a") and game.cells["a2c"].runs == []  # no A2C run
    # a seed that reached and one that did not: the mean is a bound, the ratio too
    (game,) = compare.table1_games([runs["reach"], runs["never"], runs["reach2"]], data)
    assert game.cells["acktr"].mean == (pytest.approx((75 + 302) / 2), True)
    assert game.ratio == (pytest.approx(125 / ((75 + 302) / 2)), "<=")


# --------------------------------------------------------------------------- backends, refs
def test_backends_pool_in_the_table1_cell_but_not_in_the_comparison(table):
    brk = table["cell"][("Breakout", "a2c")]
    assert brk["backends"] == "gym+ale_vector" and brk["n_seeds"] == "2"
    assert brk["episode_n_per_seed"] == "0/gym:81;1/ale_vector:101"
    assert float(brk["mean_n"]) == 91.0 and brk["mean_n_is_lower_bound"] == "0"
    assert md_row(table["md"], "Breakout", "A2C")[3] == "gym+ale_vector"
    comparison = read_csv(table["out"] / "comparison.csv")
    variants = {(r["alg"], r["variant"]) for r in comparison if r["env_id"] == BREAKOUT}
    assert variants == {("acktr", ""), ("a2c", ""), ("a2c", "ale_vector")}


def test_another_implementation_is_a_reference_not_a_seed(table):
    assert table["cell"][("Pong", "acktr")]["seeds"] == "0;1"
    refs = [r for r in table["rows"] if r["source"].startswith("reference: ")]
    assert [(r["game"], r["source"]) for r in refs] == [
        ("Pong", "reference: openai/baselines TF1 (tf.compat.v1) acktr, seed 2"),
        ("Pong", "reference: some other code base acktr, seed 5")]
    tf1, other = refs
    assert other["episode_n_per_seed"] == "5:75" and other["ratio_form"] == ""
    # no monitor files there: no N, no games, no mean
    assert (tf1["episode_n_per_seed"], tf1["games_per_seed"], tf1["mean_n"]) == ("2:", "2:", "")
    assert "no monitor files, so no episode N" in table["md"]
    assert "some other code base acktr, seed 5" in table["md"]
    assert "is another implementation's run (some other code base)" in table["printed"]


# --------------------------------------------------------------------------- outputs
def png_size(data):
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def test_figure1_pngs_are_written_per_game(table):
    figures = sorted(p.name for p in table["out"].glob("figure1_*.png"))
    assert figures == ["figure1_Breakout.png", "figure1_Pong.png"]
    for name in figures:
        data = (table["out"] / name).read_bytes()
        width, height = png_size(data)
        assert width > 2 * height and len(data) > 20_000  # two panels side by side
    assert "![Figure 1, Pong](figure1_Pong.png)" in table["md"]


def test_the_tables_are_printed(table):
    printed = table["printed"]
    assert "| game | human level | alg | backend | seeds | episode N per seed |" in printed
    assert "| Pong | >= 3.02 | 5.3 (low) |" in printed
    assert f"wrote {table['out'] / 'table1.md'}, table1.csv and 2 Figure 1 PNG(s)" in printed


def test_episode_band_is_over_the_games_every_seed_has():
    runs = [compare.Run("a", PONG, "", 0, "acktr", None, np.zeros(1), np.zeros(1), 1, 0.0,
                        episode_returns=np.asarray(r, dtype=float))
            for r in (PONG_ACKTR_0, PONG_ACKTR_1)]
    x, mean, lo, hi = compare.episode_band(runs)
    assert len(x) == 250 - 99 and x[0] == 1  # the shorter seed's windows
    a = np.convolve(PONG_ACKTR_0, np.ones(100), "valid")[:151] / 100
    b = np.convolve(PONG_ACKTR_1, np.ones(100), "valid")[:151] / 100
    assert np.allclose(mean, (a + b) / 2) and np.allclose(lo, np.minimum(a, b))
    assert np.allclose(hi, np.maximum(a, b))
    assert compare.rolling_games(np.zeros(99)) is None


def test_without_the_flag_nothing_of_table1_is_written(tmp_path):
    run = make_run(tmp_path, "p", PONG, "acktr", 0, PONG_ACKTR_1)
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        assert compare.main([str(run), "--out", str(out)]) == 0
    assert (out / "comparison.md").exists()
    assert not list(out.glob("table1.*")) and not list(out.glob("figure1_*"))


@pytest.mark.parametrize("argv,message", [
    (["--reference", str(TF1_REFERENCE)], "--reference is drawn on the Table 1 figures"),
    (["--table1"], "--table1: no acktr or a2c run of a game in the paper's Table 1"),
])
def test_bad_table1_input_exits_2_before_writing(tmp_path, capsys, argv, message):
    hopper = make_run(tmp_path, "h", "Hopper-v5", "acktr", 0, [1.0] * 5)  # not in Table 1
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        compare.main([str(hopper), "--out", str(out)] + argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("compare: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()
