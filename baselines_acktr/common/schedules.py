"""Learning-rate schedules; ports baselines ``a2c/utils.py`` (``Scheduler`` and its schedule functions)."""


def constant(p):
    return 1


def linear(p):
    return 1 - p


def middle_drop(p):
    eps = 0.75
    if 1 - p < eps:
        return eps * 0.1
    return 1 - p


def double_linear_con(p):
    p *= 2
    eps = 0.125
    if 1 - p < eps:
        return eps
    return 1 - p


def double_middle_drop(p):
    eps1, eps2 = 0.75, 0.25
    if 1 - p < eps1:
        if 1 - p < eps2:
            return eps2 * 0.5
        return eps1 * 0.1
    return 1 - p


SCHEDULES = {
    "linear": linear,
    "constant": constant,
    "double_linear_con": double_linear_con,
    "middle_drop": middle_drop,
    "double_middle_drop": double_middle_drop,
}


class Scheduler:
    """Learning-rate schedule; ports ``a2c.utils.Scheduler``.

    ``value()`` returns ``v·schedule(n / nvalues)`` and then advances ``n`` by one.
    ACKTR's ``Model.train`` calls it once per sample of the batch and uses the
    last value, so update ``k`` (from 0) runs at ``schedule((nbatch·(k+1) − 1) / nvalues)``.
    """

    def __init__(self, v, nvalues, schedule):
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown lrschedule {schedule!r}; choose from {sorted(SCHEDULES)}")
        if nvalues <= 0:
            raise ValueError(f"Scheduler needs nvalues > 0, got {nvalues}")
        self.n = 0.0
        self.v = v
        self.nvalues = nvalues
        self.schedule_name = schedule
        self.schedule = SCHEDULES[schedule]

    def value(self):
        current = self.v * self.schedule(self.n / self.nvalues)
        self.n += 1.0
        return current

    def value_steps(self, steps):
        return self.v * self.schedule(steps / self.nvalues)
