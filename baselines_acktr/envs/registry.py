"""Env ids: one-line errors for ids gymnasium does not know, or that are not Atari."""
import gymnasium as gym


def check_env_id(env_id):
    """ValueError with a one-line message unless ``env_id`` is registered."""
    try:
        gym.spec(env_id)
    except gym.error.Error as exc:
        reason = (str(exc).splitlines() or [""])[0]
        raise ValueError(f"unknown environment id {env_id!r}: {reason}") from exc


def check_atari_id(env_id):
    """ValueError unless ``env_id`` is a registered ``NoFrameskip`` id."""
    if "NoFrameskip" not in env_id:
        raise ValueError(
            f"make_atari needs a NoFrameskip env id (frame skipping is done by MaxAndSkipEnv), got {env_id!r}"
        )
    import ale_py

    gym.register_envs(ale_py)
    check_env_id(env_id)
