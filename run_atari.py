"""Train on Atari — see ``baselines_acktr/run_atari.py`` (also ``python -m baselines_acktr.run_atari``)."""
import sys

from baselines_acktr.run_atari import main

if __name__ == "__main__":
    sys.exit(main())
