"""compare --ablation (issue 21): knock-outs read against their variant's defaults and the base
variant's, each row's score at the budget and its share of the gap; an older config.json that
lacks a field counts as that field's default; bad input exits 2 before anything is written."""
import csv
import json

import pytest

from baselines_acktr import compare
from baselines_acktr.common.configs import AcktrConfig, ContConfig
from baselines_acktr.compare.settings import changes_from_defaults, filled

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def paper(env, seed, **changes):
    return dict(ContConfig().to_dict(), env=env, alg="acktr_cont", variant="paper", seed=seed,
                log_path=f"/runs/{env}-{seed}-{sorted(changes)}", num_timesteps=1_000_000,
                stop_timesteps=500_000, **changes)


def master(env, seed, **changes):
    return dict(AcktrConfig.mujoco().to_dict(), env=env, alg="acktr", variant="master",
                seed=seed, log_path=f"/runs/{env}-master-{seed}", num_timesteps=1_000_000,
                **changes)


def make_run(root, name, at_half, cfg, last=1_000_000, kl=None, kl_key="KL"):
    """A run whose eprewmean is ``at_half`` at 500k (and 0 before, ``at_half + 50`` after);
    ``kl``: its ``kl_key`` column, a value per row ("" for an update that logged none)."""
    d = root / name
    d.mkdir()
    rows = [(250_000, 0.0), (500_000, at_half)] + ([(last, at_half + 50)] if last else [])
    with open(d / "progress.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["nupdates", "total_timesteps", "eprewmean"] + ([kl_key] if kl else []))
        w.writerows([i, t, r] + ([kl[i - 1]] if kl else []) for i, (t, r) in enumerate(rows, 1))
    (d / "config.json").write_text(json.dumps(cfg, sort_keys=True))
    return str(d)


@pytest.fixture
def runs(tmp_path):
    h, c = "Hopper-v5", "HalfCheetah-v5"
    old = {"alg": "acktr_cont", "env": h, "variant": "paper", "seed": 2, "lam": 0.97,
           "timesteps_per_batch": 2500, "network": "mlp"}  # written before the ablation fields
    return [make_run(tmp_path, "h-paper-0", 1000.0, paper(h, 0)),
            make_run(tmp_path, "h-paper-1", 1200.0, paper(h, 1)),
            make_run(tmp_path, "h-paper-2-old", 1100.0, old),
            make_run(tmp_path, "h-master-0", 100.0, master(h, 0)),
            make_run(tmp_path, "h-master-ent0", 1000.0, master(h, 0, ent_coef=0.0)),
            make_run(tmp_path, "h-ent", 600.0, paper(h, 0, ent_coef=0.01), last=0),
            make_run(tmp_path, "h-ent-lam", 300.0, paper(h, 0, ent_coef=0.01, lam=1.0)),
            make_run(tmp_path, "h-better", 1320.0, paper(h, 0, reward_norm=True)),
            make_run(tmp_path, "c-paper-0", 900.0, paper(c, 0)),
            make_run(tmp_path, "c-master-0", -100.0, master(c, 0)),
            make_run(tmp_path, "c-ent", 400.0, paper(c, 0, ent_coef=0.01)),
            make_run(tmp_path, "w-paper-0", 700.0, paper("Walker2d-v5", 0))]  # no master: left out


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_missing_field_is_its_default_and_changes_name_the_knock_out():
    old = {"alg": "acktr_cont", "variant": "paper", "env": "Hopper-v5", "lam": 0.97}
    assert filled(old)["ent_coef"] == ContConfig().ent_coef and changes_from_defaults(old) == ()
    assert changes_from_defaults(dict(old, lam=1, ent_coef=0.01, seed=3, is_async=False)) == (
        ("ent_coef", 0.01), ("lam", 1))
    theirs = {"implementation": "baselines", "alg": "acktr", "env": "PongNoFrameskip-v4"}
    assert filled(theirs) is theirs and changes_from_defaults(theirs) == ()
    assert filled({"alg": "trpo"}) == {"alg": "trpo"}


def test_shares_of_the_gap(runs, tmp_path, capsys):
    out = tmp_path / "out"
    assert compare.main(runs + ["--ablation", "master", "--out", str(out)]) == 0
    assert "ablation.md" in capsys.readouterr().out
    rows = read_csv(out / "ablation.csv")
    got = {(r["env"], r["role"], r["changes"]): r for r in rows}
    assert list(dict.fromkeys(r["env"] for r in rows)) == ["Hopper-v5", "HalfCheetah-v5"]
    # Hopper: defaults 1000/1200/1100 (the old config.json pools with them) → 1100; master 100
    top = got[("Hopper-v5", "defaults", "")]
    assert (top["n_seeds"], float(top["mean"]), float(top["share_of_gap"])) == ("3", 1100.0, 0.0)
    share = {k[2]: float(r["share_of_gap"]) for k, r in got.items()
             if k[:2] == ("Hopper-v5", "knock-out")}
    assert share == pytest.approx({"ent_coef=0.01": 0.5, "ent_coef=0.01, lam=1.0": 0.8,
                                   "reward_norm=true": -0.22})
    assert float(got[("Hopper-v5", "base", "")]["share_of_gap"]) == 1.0
    assert float(got[("Hopper-v5", "base-changed", "ent_coef=0.0")]["share_of_gap"]) == \
        pytest.approx(0.1)
    assert [r["role"] for r in rows if r["env"] == "Hopper-v5"] == [
        "defaults", "knock-out", "knock-out", "knock-out", "base", "base-changed"]
    assert float(got[("HalfCheetah-v5", "knock-out", "ent_coef=0.01")]["share_of_gap"]) == \
        pytest.approx(0.5)
    md = (out / "ablation.md").read_text()
    assert "| variant paper | ent_coef=0.01 | 600 ± 0 (1) | 50% | 400 ± 0 (1) | 50% |" in md
    assert "| variant paper | ent_coef=0.01,<br>lam=1.0 | 300 ± 0 (1) | 80% | — | — |" in md
    assert "| variant master (base) | — | 100 ± 0 (1) | 100% | -100 ± 0 (1) | 100% |" in md
    assert md.endswith("| variant master | ent_coef=0.0 | 1000 ± 0 (1) | 10% | — | — |\n\n"
                       "![the shares of the gap](ablation.png)\n")
    assert (out / "ablation.png").read_bytes()[:8] == PNG_MAGIC


def test_the_budget_moves_the_scores(runs, tmp_path):
    out = tmp_path / "out"
    assert compare.main(runs + ["--ablation", "master", "--budget", "7.5e5", "--out",
                                str(out)]) == 0
    rows = {(r["role"], r["changes"]): r for r in read_csv(out / "ablation.csv")
            if r["env"] == "Hopper-v5"}
    assert rows[("defaults", "")]["budget"] == "750000"
    assert float(rows[("defaults", "")]["mean"]) == 1150.0        # the rows at 1M
    assert float(rows[("base", "")]["mean"]) == 150.0
    assert rows[("knock-out", "ent_coef=0.01")]["seed_scores"] == ""  # stopped at 500k
    assert "| variant paper | ent_coef=0.01 | — | — |" in (out / "ablation.md").read_text()


def test_the_policy_kl_per_update(tmp_path):
    h = "Hopper-v5"
    runs = [make_run(tmp_path, "p0", 1000.0, paper(h, 0), kl=[1e-3, 3e-3, 0.5]),  # 0.5: past 500k
            make_run(tmp_path, "p1", 1200.0, paper(h, 1), kl=[4e-3, 4e-3, 4e-3]),
            make_run(tmp_path, "m0", 100.0, master(h, 0), kl=["", 2e-5, 1e-5], kl_key="kl"),
            make_run(tmp_path, "ko", 600.0, paper(h, 0, ent_coef=0.01))]  # logs no KL
    out = tmp_path / "out"
    assert compare.main(runs + ["--ablation", "master", "--out", str(out)]) == 0
    got = {r["role"]: r for r in read_csv(out / "ablation.csv")}
    # seed medians 2e-3 and 4e-3 → 3e-3; master's cold-start row has none
    assert (float(got["defaults"]["policy_kl"]), got["defaults"]["n_kl_seeds"]) == \
        (pytest.approx(3e-3), "2")
    assert (float(got["base"]["policy_kl"]), got["base"]["n_kl_seeds"]) == (2e-5, "1")
    assert got["knock-out"]["policy_kl"] == "nan" and got["knock-out"]["n_kl_seeds"] == "0"
    md = (out / "ablation.md").read_text()
    assert "| variant paper (defaults) | — | 3.0e-03 (2) |" in md
    assert "| variant paper | ent_coef=0.01 | — |" in md
    assert "| variant master (base) | — | 2.0e-05 (1) |" in md


@pytest.mark.parametrize("drop, flags, message", [
    (("master",), ["--ablation", "master"],
     "--ablation master: no env has runs of variant master and of another variant"),
    (("master-0",), ["--ablation", "master"], "no run of variant master for Hopper-v5 at its"),
    (("paper-",), ["--ablation", "master"], "no run of variant paper for Hopper-v5 at its"),
    (("paper", "-ent", "better"), ["--ablation", "master"],
     "--ablation master: no env has runs of variant master and of another variant"),
    ((), ["--budget", "5e5"], "--budget is where --ablation reads its scores: add --ablation"),
    ((), ["--ablation", "master", "--budget", "0"], "--budget must be > 0, got 0"),
    ((), ["--ablation", "papr"], "argument --ablation: invalid choice: 'papr'"),
])
def test_bad_input_exits_2_with_one_line(runs, tmp_path, capsys, drop, flags, message):
    out = tmp_path / "out"
    kept = [r for r in runs if not any(d in r.rsplit("/", 1)[1] for d in drop)]
    with pytest.raises(SystemExit) as exc:
        compare.main(kept + flags + ["--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and message in err and "\n" not in err.split("usage")[-1].strip()
    assert not out.exists()
