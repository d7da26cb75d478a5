"""ACKTR, A2C and the paper's continuous learner through the one training driver
(``cli.train`` → ``Learner.fit``): the same checkpoint cadence, the same resume."""
import csv
import json

import pytest

from baselines_acktr import cli
from baselines_acktr.acktr_cont import ContLearner, make_cont_env
from baselines_acktr.common.configs import A2CConfig, AcktrConfig
from baselines_acktr.common.policies import Policy
from baselines_acktr.envs import make_vec_env


def actor_critic(hparams):
    def build():
        return cli.build_model(Policy([4], ("discrete", 2), network="mlp"), hparams, 200, 0)

    return ("CartPole-v1", 200, 140, "nupdates", build,
            lambda monitor_dir: make_vec_env("CartPole-v1", 4, 0, monitor_dir=monitor_dir))


def continuous():
    def build():
        return ContLearner(4, 1, seed=0, is_async=False, timesteps_per_batch=200)

    # whole episodes until more than 200 steps per iteration
    return ("InvertedPendulum-v5", 3000, 1500, "iteration", build,
            lambda monitor_dir: make_cont_env("InvertedPendulum-v5", 0, monitor_dir))


LEARNERS = {
    "acktr": lambda: actor_critic(AcktrConfig(network="mlp", num_env=4, nsteps=5, cold_iter=2,
                                              is_async=False)),
    "a2c": lambda: actor_critic(A2CConfig(network="mlp", num_env=4, nsteps=5)),
    "acktr_cont": continuous,
}


def train(env, total, argv, build, make_env, tmp_path):
    args = cli.base_parser("t", "", env, total).parse_args(
        ["--log_path", str(tmp_path / "run"), "--save_interval", "2", "--log_interval", "1"]
        + argv)
    args.alg = "test"
    return cli.train("t", args, dict(env=env), build, make_env)


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_the_three_learners_share_cadence_and_resume(name, tmp_path):
    env, total, stop, count_key, build, make_env = LEARNERS[name]()
    run = tmp_path / "run"
    assert train(env, total, ["--stop_timesteps", str(stop)], build, make_env, tmp_path) == 0
    status = json.loads((run / "status.json").read_text())
    n = status["updates"]
    assert status["state"] == "finished" and n >= 5
    # every save_interval-th update and the last one; the newest three kept
    ckpts = run / "checkpoints"
    saved = sorted(set(range(2, n + 1, 2)) | {n})[-3:]
    assert sorted(p.name for p in ckpts.iterdir() if p.name.startswith("checkpoint")) == \
        [f"checkpoint{u:05d}" for u in saved]
    assert (ckpts / "latest").read_text().strip() == f"checkpoint{n:05d}"

    assert train(env, total, ["--load_path", str(ckpts)], build, make_env, tmp_path) == 0
    with open(run / "progress.csv", newline="") as fh:
        counts = [int(float(r[count_key])) for r in csv.DictReader(fh)]
    first = counts[0]
    assert counts == list(range(first, first + len(counts)))  # continued, no duplicate
    assert counts[-1] - first + 1 > n
    assert (run / "monitor" / f"resume-u{n:05d}").is_dir()  # the resume's own monitor files
    assert json.loads((run / "status.json").read_text())["state"] == "finished"
