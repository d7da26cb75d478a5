"""One documented configuration per algorithm: every field a flag, checked input, a
config.json that reruns, resume refusing another config."""
import csv
import dataclasses
import inspect
import json

import numpy as np
import pytest

from baselines_acktr import run_atari, run_mujoco
from baselines_acktr.common.configs import (ALGORITHMS, A2CConfig, AcktrConfig, ContConfig,
                                            spec_for)


def parsed(module, argv):
    return module.parse(argv + ["--log_path", "/nonexistent/never-written"])


# --- the one list of hyperparameters -----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_field_of_every_algorithm_is_a_flag_of_its_script(name):
    spec = ALGORITHMS[name]
    module = run_atari if spec.script == "run_atari" else run_mujoco
    choose = ["--alg", spec.name] if spec.script == "run_atari" else ["--variant", spec.variant]
    for f in dataclasses.fields(spec.config):
        value = getattr(spec.defaults(), f.name)
        if isinstance(value, float):
            value = value * 0.5 if f.metadata.get("check") != ">=1" else value
        text = "none" if value is None else str(value).lower() if isinstance(value, bool) \
            else str(value)
        args = parsed(module, choose + [f"--{f.name}={text}"])
        assert getattr(args.hparams, f.name) == value, f.name
        assert args.spec is spec


def test_learn_and_the_models_keep_baselines_defaults_which_are_the_configs():
    from baselines_acktr.a2c import a2c
    from baselines_acktr.acktr import acktr
    from baselines_acktr.acktr_cont import learner as cont_learner
    from baselines_acktr.acktr_cont import value_functions

    def defaults(fn):
        return {k: p.default for k, p in inspect.signature(fn).parameters.items()
                if p.default is not inspect.Parameter.empty}

    acktr_cfg, a2c_cfg, cont_cfg = AcktrConfig.atari(), A2CConfig.atari(), ContConfig.mujoco()
    for fn in (acktr.learn, acktr.Model.__init__):
        d = defaults(fn)
        shared = set(d) & set(AcktrConfig.field_names())
        assert {"lr", "nsteps", "kfac_clip", "ent_coef", "vf_coef", "max_grad_norm"} <= shared
        assert {k: d[k] for k in shared} == {k: getattr(acktr_cfg, k) for k in shared}
    assert acktr.KFAC_DEFAULTS == {k: getattr(acktr_cfg, k) for k in acktr.KFAC_DEFAULTS}
    for fn in (a2c.learn, a2c.A2CModel.__init__):
        d = defaults(fn)
        shared = set(d) & set(A2CConfig.field_names())
        assert {"lr", "nsteps", "alpha", "epsilon", "max_grad_norm"} <= shared
        assert {k: d[k] for k in shared} == {k: getattr(a2c_cfg, k) for k in shared}
    d = defaults(cont_learner.ContLearner.__init__)
    shared = set(d) & set(ContConfig.field_names())
    assert {"gamma", "lam", "desired_kl", "stepsize", "timesteps_per_batch"} <= shared
    assert {k: d[k] for k in shared} == {k: getattr(cont_cfg, k) for k in shared}
    policy = cont_learner.POLICY_KFAC_OPTIONS
    assert {k: policy[k] for k in ("momentum", "kfac_update", "epsilon", "stats_decay",
                                   "cold_iter")} == {
        k: v for k, v in cont_cfg.policy_kfac_options().items() if k != "clip_kl"}
    vf, mine = value_functions.VF_KFAC_OPTIONS, cont_cfg.vf_kfac_options()
    # cold_lr is vf_lr · vf_cold_lr_ratio (0.1) here, 0.001·(1 − 0.9) in the branch: one
    # float32, which is what the optimizer uses
    assert np.float32(mine.pop("cold_lr")) == np.float32(vf["cold_lr"])
    assert {k: vf[k] for k in mine} == mine
    assert value_functions.FIT_ITERS == cont_cfg.vf_fit_iters


def test_family_defaults_are_baselines_defaults_py():
    assert AcktrConfig.atari().nsteps == 20 and AcktrConfig.atari().num_env == 32
    master = AcktrConfig.mujoco()
    assert (master.nsteps, master.num_env, master.network, master.value_network) == \
        (2500, 1, "mlp", "copy")
    assert spec_for(variant="paper").config is ContConfig
    assert spec_for(alg="a2c").config is A2CConfig


def test_key_equals_value_and_the_issue_s_examples_parse():
    args = parsed(run_atari, ["--alg", "a2c", "--nsteps", "20", "--lr", "1e-3"])
    assert (args.hparams.nsteps, args.hparams.lr, args.hparams.num_env) == (20, 1e-3, 16)
    args = parsed(run_atari, ["--kfac_clip=0.002", "--epsilon=0.03", "--max_grad_norm=none",
                              "--is_async=false", "--network", "cnn_paper"])
    h = args.hparams
    assert (h.kfac_clip, h.epsilon, h.max_grad_norm, h.is_async, h.network) == \
        (0.002, 0.03, None, False, "cnn_paper")
    assert h.kfac_options()["epsilon"] == 0.03
    args = parsed(run_mujoco, ["--variant", "paper", "--desired_kl", "0.001"])
    assert args.hparams.desired_kl == 0.001 and args.alg == "acktr_cont"


@pytest.mark.parametrize("module, argv, message", [
    (run_atari, ["--kfac_clp", "0.1"], "unknown option --kfac_clp (did you mean --kfac_clip?)"),
    (run_atari, ["--lr", "abc"], "argument --lr: expected a number, got 'abc'"),
    (run_atari, ["--nsteps", "2.5"], "expected an integer"),
    (run_atari, ["--lr", "-1"], "lr must be > 0"),
    (run_atari, ["--momentum", "1"], "momentum must be in [0,1)"),
    (run_atari, ["--is_async", "maybe"], "expected true or false"),
    (run_atari, ["--lrschedule", "cosine"], "invalid choice"),
    (run_atari, ["--alg", "a2c", "--kfac_clip", "0.002"], "--kfac_clip does not apply to --alg a2c"),
    (run_atari, ["--alpha", "0.9"], "--alpha does not apply to --alg acktr"),
    (run_mujoco, ["--desired_kl", "0.001"], "--desired_kl does not apply to --variant master"),
    (run_mujoco, ["--variant", "paper", "--lr", "0.1"], "--lr does not apply to --variant paper"),
    (run_atari, ["--config", "/nonexistent/config.json"], "--config: cannot read"),
    (run_atari, ["stray"], "unexpected argument 'stray'"),
])
def test_bad_configuration_is_one_line_exit_2_and_writes_nothing(module, argv, message, tmp_path,
                                                                  capsys):
    log = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        module.main(argv + ["--log_path", str(log)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not log.exists()


def test_a_config_file_is_read_under_the_flags(tmp_path):
    record = dict(env="BreakoutNoFrameskip-v4", alg="a2c", seed=3, num_timesteps=123456,
                  lr=0.002, nsteps=7, alpha=0.95, log_path="/elsewhere", load_path="/x",
                  versions={"tensorflow": "0"}, git_commit=None)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(record))
    args = parsed(run_atari, ["--config", str(path), "--nsteps", "9"])
    assert (args.env, args.alg, args.seed, args.num_timesteps) == \
        ("BreakoutNoFrameskip-v4", "a2c", 3, 123456)
    assert (args.hparams.lr, args.hparams.nsteps, args.hparams.alpha) == (0.002, 9, 0.95)
    assert args.load_path is None  # paths are not rerun
    # another algorithm on top: the record's fields of that algorithm only
    args = parsed(run_atari, ["--config", str(path), "--alg", "acktr"])
    assert (args.hparams.lr, args.hparams.nsteps) == (0.002, 7)


# --- real runs ---------------------------------------------------------------------------------

def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_a_rerun_from_config_json_logs_the_same_first_20_rows(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    argv = ["--num_env", "4", "--num_timesteps", "1600", "--log_interval", "1", "--is_async",
            "false", "--kfac_update", "50", "--kfac_clip", "0.002", "--network", "cnn_paper"]
    assert run_atari.main(argv + ["--log_path", str(first)]) == 0
    config = json.loads((first / "config.json").read_text())
    assert (config["kfac_clip"], config["network"], config["is_async"]) == (0.002, "cnn_paper",
                                                                          False)
    assert config["versions"]["tensorflow"] and "git_commit" in config
    assert run_atari.main(["--config", str(first / "config.json"), "--log_path",
                           str(second)]) == 0
    a, b = rows(first / "progress.csv"), rows(second / "progress.csv")
    assert len(a) == len(b) == 20
    for x, y in zip(a, b):
        assert {k: v for k, v in x.items() if k != "fps"} == {k: v for k, v in y.items()
                                                               if k != "fps"}


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_of_another_config_unless_told(tmp_path, capsys):
    log = tmp_path / "hopper"
    base = ["--num_timesteps", "1000", "--nsteps", "500", "--log_path", str(log)]
    assert run_mujoco.main(base) == 0
    resume = ["--num_timesteps", "2000", "--nsteps", "500", "--load_path",
              str(log / "checkpoints"), "--log_path", str(tmp_path / "resumed")]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        run_mujoco.main(resume + ["--lr", "0.1", "--kfac_clip", "0.002"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1
    assert "kfac_clip=0.001 (this run: 0.002)" in err[0] and "lr=0.25 (this run: 0.1)" in err[0]
    assert not (tmp_path / "resumed").exists()
    # a field that does not change the algorithm may differ; so may any, when told
    assert run_mujoco.main(resume + ["--is_async", "false"]) == 0
    assert run_mujoco.main(resume + ["--num_timesteps", "3000", "--lr", "0.1",
                                     "--allow_config_change"]) == 0
    assert json.loads((tmp_path / "resumed" / "config.json").read_text())["lr"] == 0.1
