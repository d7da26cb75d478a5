"""Games × seeds on Ray Tune (``python -m baselines_acktr.sweep``); see :mod:`.command`."""
