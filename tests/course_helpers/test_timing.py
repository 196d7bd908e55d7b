import time

import pytest

from course_utils import Timer, best_time


def test_timer_records_and_summarises():
    timer = Timer()
    for delay in (0.01, 0.02):
        timer.start()
        time.sleep(delay)
        timer.stop()
    assert len(timer.times) == 2
    assert timer.times[0] >= 0.01 and timer.times[1] >= 0.02
    assert timer.sum() == pytest.approx(sum(timer.times))
    assert timer.avg() == pytest.approx(timer.sum() / 2)
    assert timer.cumsum() == pytest.approx([timer.times[0], timer.sum()])


def test_timer_as_context_manager():
    with Timer() as timer:
        time.sleep(0.01)
    assert len(timer.times) == 1 and timer.times[0] >= 0.01


def test_timer_api_matches_d2l(d2l):
    for name in ("start", "stop", "avg", "sum", "cumsum"):
        assert callable(getattr(d2l.Timer(), name)), name
        assert callable(getattr(Timer(), name)), name


def test_best_time_takes_the_minimum():
    calls = []

    def slow_then_fast():
        calls.append(1)
        time.sleep(0.03 if len(calls) == 1 else 0.001)

    assert best_time(slow_then_fast, repeat=3) < 0.02
    assert len(calls) == 3


def test_best_time_rejects_bad_counts():
    with pytest.raises(ValueError, match="repeat"):
        best_time(lambda: None, repeat=0)
