"""Every space baselines' ACKTR takes: Discrete / MultiDiscrete observations (one-hot),
MultiDiscrete and MultiBinary actions (their heads, K-FAC blocks and Fisher losses)."""
import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from baselines_acktr.acktr import learn
from baselines_acktr.common.policies import Policy, build_policy, encode_observation
from baselines_acktr.envs import Monitor, vector_env

HORIZON = 20


class MatchEnv(gym.Env):
    """A contextual bandit: each step shows a random observation and pays, per action
    component, 1 when the action matches what the observation asks for."""

    def __init__(self, observation_space, action_space, wanted):
        self.observation_space, self.action_space, self.wanted = \
            observation_space, action_space, wanted
        self.spec = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(int(self.np_random.integers(2 ** 31)))
        self.t, self.obs = 0, self.observation_space.sample()
        return self.obs, {}

    def step(self, action):
        reward = float(np.sum(np.asarray(action) == self.wanted(self.obs)))
        self.t += 1
        self.obs = self.observation_space.sample()
        return self.obs, reward, False, self.t >= HORIZON, {}


def train(make, total=48_000, seed=0):
    env = vector_env([lambda: Monitor(make())] * 8, "sync", seed=seed)
    env.reset(seed=seed)
    episodes = []
    learn("mlp", env, seed=seed, total_timesteps=total, log_interval=25,
          callback=lambda update, model: None, is_async=False,
          logger=_Quiet(episodes))
    env.close()
    return episodes


class _Quiet:
    """A logger that keeps the eprewmean rows and prints nothing."""

    def __init__(self, rows):
        self.rows, self.row = rows, {}

    def record(self, key, value):
        self.row[key] = value

    def dump(self, step=None):
        self.rows.append(self.row.get("eprewmean"))
        self.row = {}


def discrete_obs_multidiscrete_actions():
    return MatchEnv(gym.spaces.Discrete(4), gym.spaces.MultiDiscrete([4, 3]),
                    lambda s: np.array([s, s % 3]))


def multidiscrete_obs_multibinary_actions():
    return MatchEnv(gym.spaces.MultiDiscrete([2, 2, 2]), gym.spaces.MultiBinary(3),
                    lambda s: s)


@pytest.mark.slow
@pytest.mark.parametrize("make, chance, best", [
    (discrete_obs_multidiscrete_actions, HORIZON * (1 / 4 + 1 / 3), HORIZON * 2),
    (multidiscrete_obs_multibinary_actions, HORIZON * 1.5, HORIZON * 3),
])
def test_learns_well_above_chance(make, chance, best):
    rows = train(make)
    final = rows[-1]
    assert final > chance + 0.4 * (best - chance), (final, chance, best)  # seeds 0, 1: 0.6-0.9


def test_one_hot_encodings_and_heads_follow_baselines():
    x = encode_observation(tf.constant([2, 0]), ("discrete", 3)).numpy()
    np.testing.assert_array_equal(x, [[0, 0, 1], [1, 0, 0]])
    x = encode_observation(tf.constant([[1, 0], [0, 2]]), ("multidiscrete", (2, 3))).numpy()
    np.testing.assert_array_equal(x, [[0, 1, 1, 0, 0], [1, 0, 0, 0, 1]])

    env = vector_env([lambda: MatchEnv(gym.spaces.Discrete(4), gym.spaces.MultiDiscrete(
        [4, 3], start=[1, 0]), lambda s: s)], "sync")
    policy = build_policy(env, "mlp")
    env.close()
    assert policy.obs_encoding == ("discrete", 4) and policy.nact == 7
    pd, _ = policy(tf.constant([1, 3]))
    a = tf.constant([[1, 0], [4, 2]])  # components start at 1 and 0
    logits = pd.logits.numpy()
    logp = lambda l, i: l[i] - np.log(np.sum(np.exp(l)))  # noqa: E731
    want = -np.array([logp(logits[b, :4], a[b, 0] - 1) + logp(logits[b, 4:], a[b, 1])
                      for b in range(2)])
    np.testing.assert_allclose(pd.neglogp(a).numpy(), want, rtol=1e-5)
    samples = pd.sample(tf.random.Generator.from_seed(0)).numpy()
    assert samples.shape == (2, 2) and samples[:, 0].min() >= 1 and samples[:, 0].max() <= 4

    bern = Policy((3,), ("multibinary", 3), network="mlp", hidden=(4,))
    pd, _ = bern(tf.zeros([1, 3]))
    p = 1 / (1 + np.exp(-pd.logits.numpy()[0]))
    x = np.array([[1, 0, 1]])
    want = -np.sum(x[0] * np.log(p) + (1 - x[0]) * np.log(1 - p))
    np.testing.assert_allclose(pd.neglogp(tf.constant(x)).numpy(), [want], rtol=1e-5)


@pytest.mark.parametrize("obs, act, word", [
    (gym.spaces.Box(-1, 1, (3,)), gym.spaces.Tuple([gym.spaces.Discrete(2)] * 2), "action space"),
    (gym.spaces.Dict({"a": gym.spaces.Discrete(2)}), gym.spaces.Discrete(2), "observation space"),
])
def test_other_spaces_are_refused_naming_them(obs, act, word):
    env = vector_env([lambda: MatchEnv(obs, act, lambda s: 0)], "sync")
    with pytest.raises(ValueError, match=f"unsupported {word}"):
        build_policy(env, "mlp")
    env.close()
