"""``python -m baselines_acktr.compare``."""
import sys

from .command import main

sys.exit(main())
