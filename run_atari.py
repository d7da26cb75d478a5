"""Train on Atari — see ``baselines_acktr/run_atari.py`` (also ``python -m baselines_acktr.run_atari``)."""
from baselines_acktr.run_atari import main, script  # noqa: F401 - main: for `import run_atari`

if __name__ == "__main__":
    script()
