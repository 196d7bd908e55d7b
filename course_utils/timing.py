"""Wall-clock timing: d2l's `Timer`, usable as a context manager, and `best_time`."""

import time

import numpy as np


class Timer:
    """Record multiple running times (d2l's API: start, stop, avg, sum, cumsum)."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        """Start the timer."""
        self.tik = time.perf_counter()

    def stop(self):
        """Stop the timer, record the time in the list and return it."""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self):
        """Return the average time."""
        return sum(self.times) / len(self.times)

    def sum(self):
        """Return the sum of the times."""
        return sum(self.times)

    def cumsum(self):
        """Return the accumulated times."""
        return np.array(self.times).cumsum().tolist()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()
        return False


def best_time(fn, repeat=5, number=1):
    """Return the fastest of `repeat` runs of `number` calls to `fn`, in seconds per call."""
    if repeat < 1 or number < 1:
        raise ValueError(f"repeat and number must be >= 1, got repeat={repeat}, number={number}")
    timer = Timer()
    best = float("inf")
    for _ in range(repeat):
        timer.start()
        for _ in range(number):
            fn()
        # The minimum, not the mean: other processes only ever make a run slower.
        best = min(best, timer.stop() / number)
    return best
