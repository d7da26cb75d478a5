import numpy as np
import pytest

from baselines_acktr.common.math_util import discount_with_dones, explained_variance, safemean
from baselines_acktr.common.schedules import Scheduler


def test_discount_with_dones_restarts_after_done():
    # r3 = 3; r2 = 2 (episode ends there); r1 = 1 + 0.9·2
    assert discount_with_dones([1.0, 2.0, 3.0], [0, 1, 0], 0.9) == pytest.approx([2.8, 2.0, 3.0])
    # bootstrap: the runner appends V(s_T) with done 0 and drops it again
    out = discount_with_dones([1.0, 1.0, 10.0], [0, 0, 0], 0.5)[:-1]
    assert out == pytest.approx([1 + 0.5 * (1 + 0.5 * 10), 1 + 0.5 * 10])


def test_scheduler_linear_and_constant():
    s = Scheduler(v=0.25, nvalues=100, schedule="linear")
    vals = [s.value() for _ in range(4)]
    assert vals == pytest.approx([0.25, 0.25 * 0.99, 0.25 * 0.98, 0.25 * 0.97])
    assert s.value_steps(50) == pytest.approx(0.125)
    c = Scheduler(v=0.5, nvalues=10, schedule="constant")
    assert [c.value() for _ in range(20)] == [0.5] * 20


def test_scheduler_other_schedules_and_errors():
    assert Scheduler(1.0, 100, "middle_drop").value_steps(30) == pytest.approx(0.075)
    assert Scheduler(1.0, 100, "double_linear_con").value_steps(10) == pytest.approx(0.8)
    assert Scheduler(1.0, 100, "double_linear_con").value_steps(60) == pytest.approx(0.125)
    assert Scheduler(1.0, 100, "double_middle_drop").value_steps(90) == pytest.approx(0.125)
    with pytest.raises(ValueError, match="lrschedule"):
        Scheduler(1.0, 100, "cosine")


def test_explained_variance_and_safemean():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(y, y) == 1.0
    assert explained_variance(np.zeros(4), y) == pytest.approx(1 - np.var(y) / np.var(y))
    assert np.isnan(explained_variance(y, np.ones(4)))
    assert np.isnan(safemean([])) and safemean([1, 3]) == 2.0
