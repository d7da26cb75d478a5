"""Train on MuJoCo — see ``baselines_acktr/run_mujoco.py`` (also ``python -m baselines_acktr.run_mujoco``)."""
from baselines_acktr.run_mujoco import main, script  # noqa: F401 - main: for `import run_mujoco`

if __name__ == "__main__":
    script()
