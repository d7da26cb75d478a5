"""Train on MuJoCo — see ``baselines_acktr/run_mujoco.py`` (also ``python -m baselines_acktr.run_mujoco``)."""
import sys

from baselines_acktr.run_mujoco import main

if __name__ == "__main__":
    sys.exit(main())
