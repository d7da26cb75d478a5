"""One documented configuration per algorithm: every hyperparameter once, with baselines'
default, what it does and the paper's symbol (CleanRL's ``Args``, ``KfacConfig``'s style).

* :class:`AcktrConfig` — baselines ``acktr.learn`` / ``acktr.Model`` (paper section 3);
  ``AcktrConfig.atari()`` is what ``run.py`` trains Atari with, ``AcktrConfig.mujoco()``
  baselines' ``acktr/defaults.py: mujoco()`` (nsteps 2500, a copied value network).
* :class:`A2CConfig` — baselines ``a2c.learn`` (the paper's A2C baseline).
* :class:`ContConfig` — the paper's continuous learner, branch ``old_acktr_cont``
  (section 5.2): its ``learn`` arguments and the K-FAC settings of its two optimizers.

:data:`ALGORITHMS` is the one registry of algorithms and variants: each entry names its
config, its run script and its variant.  The run scripts turn every field into a flag
(:mod:`baselines_acktr.common.config_flags`); ``config.json`` records the resolved fields;
``learn()`` keeps baselines' keyword names, and a test checks its defaults against these.
To add a hyperparameter, add one field here and pass it where the learner is built.

Field metadata: ``help``; ``symbol`` (the paper's); ``group`` (``--help`` section);
``check`` (``'>0'``, ``'>=0'``, ``'[0,1)'``, ``'(0,1]'``); ``choices``; ``model=False`` for a
field that does not change the model or the algorithm (a checkpoint may be resumed with
another value).  TF-free, so the sweep and the compare tool can read it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..kfac.config import EIGEN_BACKENDS

LR_SCHEDULES = ("linear", "constant", "double_linear_con", "middle_drop", "double_middle_drop")
NETWORKS = ("cnn", "cnn_paper", "mlp")


def hp(default, help, symbol="", group="algorithm", check=None, choices=None, model=True):
    """A config field with its documentation (see the module docstring)."""
    return dataclasses.field(default=default, metadata=dict(
        help=help, symbol=symbol, group=group, check=check, choices=choices, model=model))


def _check(name, value, check, choices):
    if choices is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    if check is None or value is None:
        return
    bad = {">0": value <= 0, ">=0": value < 0, "[0,1)": not 0 <= value < 1,
           "(0,1]": not 0 < value <= 1, "[0,1]": not 0 <= value <= 1, ">=1": value < 1}[check]
    if bad:
        interval = {">0": "> 0", ">=0": ">= 0", ">=1": ">= 1"}.get(check, f"in {check}")
        raise ValueError(f"{name} must be {interval}, got {value!r}")


class ConfigBase:
    """What every algorithm's config offers: validation, a dict, field documentation."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            _check(f.name, getattr(self, f.name), f.metadata.get("check"),
                   f.metadata.get("choices"))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes):
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no field {unknown[0]!r}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def model_fields(cls) -> tuple[str, ...]:
        """Fields whose change makes another model or algorithm (checked on resume)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("model", True))


@dataclass(frozen=True)
class ActorCriticConfig(ConfigBase):
    """What ACKTR's and A2C's configs share (baselines ``acktr.learn`` / ``a2c.learn``): the
    network, the batch and the actor-critic loss (paper section 3.1)."""

    network: str = hp("cnn", "policy network: cnn (baselines master's nature_cnn), cnn_paper "
                      "(the paper's code: third conv 32 filters), mlp", group="network",
                      choices=NETWORKS)
    value_network: str = hp("shared", "critic: 'shared' trunk or a 'copy' of the trunk",
                            group="network", choices=("shared", "copy"))
    num_env: int = hp(32, "parallel envs", group="batch", check=">0")
    nsteps: int = hp(20, "steps per env per update (n-step returns)", "n", group="batch",
                     check=">0")
    lr: float = hp(0.25, "learning rate η_max (decayed by lrschedule)", "η_max", check=">0")
    lrschedule: str = hp("linear", "learning-rate schedule over num_timesteps",
                         choices=LR_SCHEDULES)
    gamma: float = hp(0.99, "discount", "γ", check="(0,1]")
    ent_coef: float = hp(0.01, "entropy bonus coefficient", check=">=0")
    vf_coef: float = hp(0.5, "value-loss coefficient", check=">=0")
    max_grad_norm: float | None = hp(0.5, "global-norm clip of the gradient ('none': no clip)",
                                     check=">0")


@dataclass(frozen=True)
class AcktrConfig(ActorCriticConfig):
    """ACKTR (baselines ``acktr.learn``): K-FAC natural gradient on the actor-critic loss
    with a trust region (paper sections 3.1–3.2).  Defaults: baselines' for Atari;
    ``max_grad_norm`` clips only the cold-start gradient here (the K-FAC step has the
    trust region)."""

    vf_fisher_coef: float = hp(1.0, "weight of the critic's Gaussian Fisher loss", check=">=0")
    kfac_clip: float = hp(0.001, "trust region: (ηu)ᵀF̂(ηu) ≤ kfac_clip (the KL bound δ is "
                          "kfac_clip/2)", group="K-FAC", check=">0")
    momentum: float = hp(0.9, "momentum of the K-FAC and cold-start steps", group="K-FAC",
                         check="[0,1)")
    kfac_update: int = hp(1, "eigen-decompose the factors every k statistics updates",
                          group="K-FAC", check=">=1")
    epsilon: float = hp(0.01, "K-FAC damping added to every eigenvalue product",
                        group="K-FAC", check=">=0")
    stats_decay: float = hp(0.99, "EMA decay of the factor statistics", group="K-FAC",
                            check="[0,1)")
    cold_iter: int = hp(10, "updates of momentum SGD before K-FAC takes over", group="K-FAC",
                        check=">=1")
    is_async: bool = hp(True, "eigen-decompositions on a background thread (the paper's "
                        "asynchronous inverses)", group="K-FAC", model=False)
    wait_first_eigen: bool = hp(True, "async: the first K-FAC step waits for a decomposition "
                                "(False: baselines' timing)", group="K-FAC", model=False)
    deterministic_async: bool = hp(False, "async: every due step waits for its own "
                                   "decomposition (equals the synchronous path)",
                                   group="K-FAC", model=False)
    eigen_backend: str = hp("auto", "eigen-decomposition: numpy (LAPACK), tf, auto (thread), process",
                            group="K-FAC", choices=EIGEN_BACKENDS, model=False)

    @classmethod
    def atari(cls, **changes) -> AcktrConfig:
        return cls(**changes)

    @classmethod
    def mujoco(cls, **changes) -> AcktrConfig:
        """Baselines' ``acktr/defaults.py: mujoco()`` with ``run.py``'s one env."""
        return cls(**dict(dict(network="mlp", value_network="copy", num_env=1, nsteps=2500),
                          **changes))

    def kfac_options(self) -> dict:
        """The :class:`~baselines_acktr.kfac.KfacConfig` fields this config sets."""
        return dict(momentum=self.momentum, kfac_update=self.kfac_update, epsilon=self.epsilon,
                    stats_decay=self.stats_decay, cold_iter=self.cold_iter,
                    wait_first_eigen=self.wait_first_eigen,
                    deterministic_async=self.deterministic_async,
                    eigen_backend=self.eigen_backend)


@dataclass(frozen=True)
class A2CConfig(ActorCriticConfig):
    """A2C (baselines ``a2c.learn``): the same actor-critic loss with RMSProp, the paper's
    synchronous A3C baseline (section 5)."""

    num_env: int = hp(16, "parallel envs", group="batch", check=">0")
    nsteps: int = hp(5, "steps per env per update (n-step returns)", "n", group="batch",
                     check=">0")
    lr: float = hp(7e-4, "RMSProp learning rate (decayed by lrschedule)", check=">0")
    alpha: float = hp(0.99, "RMSProp decay", group="RMSProp", check="[0,1)")
    epsilon: float = hp(1e-5, "RMSProp ε inside the square root", group="RMSProp", check=">0")

    @classmethod
    def atari(cls, **changes) -> A2CConfig:
        return cls(**changes)


@dataclass(frozen=True)
class ContConfig(ConfigBase):
    """The paper's continuous ACKTR (branch ``old_acktr_cont``): separate policy and value
    networks, each with its own K-FAC, GAE, and a step size adapted to ``desired_kl``.

    Group ``ablation`` (issue 21): each field switches one difference (or one inseparable
    group) toward baselines master's continuous ACKTR (``acktr/acktr.py``,
    ``acktr/defaults.py: mujoco()``, ``a2c/runner.py``, ``VecNormalize``); its help says
    master's value.  The defaults replay the branch exactly, so a knock-out run is
    ``run_mujoco.py --variant paper --<field> <master's value>``.  Existing fields that are
    knock-outs too: ``lam`` (master 1: n-step returns equal GAE(1) within whole episodes),
    ``stepsize`` (master lr 0.25, with ``stepsize_rule``), ``kfac_clip`` (0.001),
    ``cold_iter`` (10), ``kfac_update`` (1)."""

    gamma: float = hp(0.99, "discount", "γ", check="(0,1]")
    lam: float = hp(0.97, "GAE λ (master: 1, its n-step returns minus V inside whole "
                    "episodes)", "λ", check="[0,1]")
    timesteps_per_batch: int = hp(2500, "whole episodes until more than this many steps",
                                  group="batch", check=">0")
    desired_kl: float = hp(0.002, "KL target of the adaptive step size (÷1.5 above 2×, ×1.5 "
                           "below ½×)", check=">0")
    stepsize: float = hp(0.03, "initial policy step size (adapted every iteration)",
                         check=">0")
    momentum: float = hp(0.9, "policy K-FAC momentum", group="K-FAC (policy)",
                         check="[0,1)")
    kfac_update: int = hp(2, "policy: decompose every k statistics updates",
                          group="K-FAC (policy)", check=">=1")
    epsilon: float = hp(0.01, "policy K-FAC damping", group="K-FAC (policy)", check=">=0")
    stats_decay: float = hp(0.99, "policy factor-statistics EMA decay",
                            group="K-FAC (policy)", check="[0,1)")
    cold_iter: int = hp(1, "policy cold-start iterations", group="K-FAC (policy)",
                        check=">=1")
    kfac_clip: float = hp(0.01, "policy trust region clip_kl", group="K-FAC (policy)",
                          check=">0")
    vf_lr: float = hp(0.001, "value-function K-FAC learning rate", group="K-FAC (value)",
                      check=">0")
    vf_kfac_clip: float = hp(0.3, "value-function clip_kl", group="K-FAC (value)", check=">0")
    vf_epsilon: float = hp(0.1, "value-function K-FAC damping", group="K-FAC (value)",
                           check=">=0")
    vf_stats_decay: float = hp(0.95, "value-function statistics EMA decay",
                               group="K-FAC (value)", check="[0,1)")
    vf_cold_iter: int = hp(50, "value-function cold-start iterations", group="K-FAC (value)",
                           check=">=1")
    vf_kfac_update: int = hp(2, "value-function: decompose every k statistics updates",
                             group="K-FAC (value)", check=">=1")
    vf_fit_iters: int = hp(25, "K-FAC steps of the value function per iteration",
                           group="K-FAC (value)", check=">=1")
    is_async: bool = hp(True, "eigen-decompositions on background threads", group="K-FAC",
                        model=False)
    wait_first_eigen: bool = hp(True, "async: the first K-FAC step waits for a decomposition",
                                group="K-FAC", model=False)
    eigen_backend: str = hp("auto", "eigen-decomposition: numpy (LAPACK), tf, auto (thread), process",
                            group="K-FAC", choices=EIGEN_BACKENDS, model=False)
    # --- ablation switches toward baselines master (issue 21); defaults: the branch
    ent_coef: float = hp(0.0, "entropy bonus: policy loss − ent_coef·mean entropy, Fisher loss "
                         "unchanged (master 0.01, acktr.Model)", group="ablation", check=">=0")
    standardize_adv: bool = hp(True, "standardise the advantages over the batch (master "
                               "false: acktr.Model uses R − V as is)", group="ablation")
    policy_prev_obs: bool = hp(True, "policy input [obs, prev_obs] (master false: obs only; "
                               "the value features keep prev_obs)", group="ablation")
    logstd_block: str = hp("batch", "log-std parameter and its K-FAC block, one switch since "
                           "the block is taken where the parameterisation puts it: the branch's "
                           "[nact] std tiled (batch-level statistic) or master's per-sample "
                           "0·μ + logstd [1, nact] (master per_sample)", group="ablation",
                           choices=("batch", "per_sample"))
    vf_features: str = hp("paper", "value-function input: the branch's [obs, prev_obs, mean, "
                          "std, t/10, 1] or the observation only (master obs)",
                          group="ablation", choices=("paper", "obs"))
    vf_activation: str = hp("elu", "value-function hidden nonlinearity (master tanh: a copy "
                            "of the policy trunk)", group="ablation", choices=("elu", "tanh"))
    weight_decay: float = hp(3e-4, "the branch's weight decay of every weight, in the K-FAC "
                             "damping of both networks and as the value loss's L2 term: one "
                             "constant of the branch's dense (master 0)", group="ablation",
                             check=">=0")
    init: str = hp("normc", "weight initialisation: normc (1, 1, 0.1 policy; 1 value) or "
                   "orthogonal (√2, √2, 0.01 policy; √2, √2, 1 value) (master ortho)",
                   group="ablation", choices=("normc", "ortho"))
    stepsize_rule: str = hp("adaptive", "policy step size: adapted to desired_kl, constant "
                            "(= stepsize), or linear from stepsize to 0 over num_timesteps "
                            "(master linear, with --stepsize 0.25 --kfac_clip 0.001)",
                            group="ablation", choices=("adaptive", "constant", "linear"))
    cold_lr_ratio: float = hp(0.1, "policy cold-start SGD rate / step size (master 1: its "
                              "cold_lr defaults to lr; with --cold_iter 10 --max_grad_norm 0.5 "
                              "--kfac_update 1)", group="ablation", check=">0")
    max_grad_norm: float | None = hp(None, "policy cold-start gradient clip ('none': none; "
                                     "master 0.5)", group="ablation", check=">0")
    vf_cold_lr_ratio: float = hp(0.1, "value-function cold-start SGD rate / vf_lr (the branch: "
                                 "1 − momentum 0.9; master 1: its joint optimiser's cold_lr "
                                 "defaults to lr)", group="ablation", check=">0")
    vf_max_grad_norm: float | None = hp(None, "value-function cold-start gradient clip ('none': "
                                        "none; master 0.5: its joint optimiser clips the "
                                        "cold-start gradient)", group="ablation", check=">0")
    reward_norm: bool = hp(False, "scale rewards by the running std of the discounted return, "
                           "clip ±10, for the value targets and advantages (master true: "
                           "VecNormalize's return half)", group="ablation")

    @classmethod
    def mujoco(cls, **changes) -> ContConfig:
        return cls(**changes)

    def policy_kfac_options(self) -> dict:
        return dict(momentum=self.momentum, kfac_update=self.kfac_update, epsilon=self.epsilon,
                    stats_decay=self.stats_decay, cold_iter=self.cold_iter,
                    clip_kl=self.kfac_clip)

    def ablation_options(self) -> dict:
        """The ``ContLearner`` keywords of the ``ablation`` group (``cold_lr_ratio`` and
        ``max_grad_norm`` go into ``policy_kfac_options``, their ``vf_`` twins into
        :meth:`vf_kfac_options`)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.metadata["group"] == "ablation"
                and f.name not in ("cold_lr_ratio", "max_grad_norm", "vf_cold_lr_ratio",
                                   "vf_max_grad_norm")}

    def vf_kfac_options(self) -> dict:
        # the branch: cold_lr = 0.001 * (1 - 0.9); vf_cold_lr_ratio's 0.1 is that (1 - momentum)
        return dict(learning_rate=self.vf_lr, cold_lr=self.vf_lr * self.vf_cold_lr_ratio,
                    clip_kl=self.vf_kfac_clip, epsilon=self.vf_epsilon,
                    stats_decay=self.vf_stats_decay, cold_iter=self.vf_cold_iter,
                    kfac_update=self.vf_kfac_update, max_grad_norm=self.vf_max_grad_norm)


@dataclass(frozen=True)
class AlgSpec:
    """One trainable algorithm: its config, the run script that trains it, the env family
    its defaults are for and the MuJoCo variant name (``--variant``)."""

    name: str
    config: type
    script: str
    family: str
    variant: str | None = None

    def defaults(self, **changes):
        return getattr(self.config, self.family)(**changes)


# The one registry of algorithms and variants: name → AlgSpec (run-folder names use `name`).
ALGORITHMS = {
    "acktr": AlgSpec("acktr", AcktrConfig, "run_atari", "atari"),
    "a2c": AlgSpec("a2c", A2CConfig, "run_atari", "atari"),
    "acktr_master": AlgSpec("acktr", AcktrConfig, "run_mujoco", "mujoco", "master"),
    "acktr_cont": AlgSpec("acktr_cont", ContConfig, "run_mujoco", "mujoco", "paper"),
}
ATARI_ALGS = tuple(k for k, s in ALGORITHMS.items() if s.script == "run_atari")
MUJOCO_VARIANTS = {s.variant: k for k, s in ALGORITHMS.items() if s.variant is not None}


# fields that leave the model and the algorithm as they are (the async-eigen switches)
NON_MODEL_FIELDS = frozenset(f.name for spec in ALGORITHMS.values()
                             for f in dataclasses.fields(spec.config)
                             if not f.metadata.get("model", True))


def spec_for(alg: str | None = None, variant: str | None = None) -> AlgSpec:
    """The registry entry of an Atari ``alg`` or a MuJoCo ``variant``."""
    if variant is not None:
        return ALGORITHMS[MUJOCO_VARIANTS[variant]]
    return ALGORITHMS[alg]
