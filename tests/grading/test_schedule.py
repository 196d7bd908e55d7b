"""The order in which a batch starts its notebooks (autograding.grading.schedule.LongestFirst)."""

from types import SimpleNamespace

from autograding.grading.schedule import LongestFirst


def task(student, assignment, canary=False):
    return SimpleNamespace(student=student, assignment=assignment, notebook=assignment,
                           canary=canary)


def order(queue):
    popped = []
    while queue:
        popped.append(queue.pop())
    return [(t.student, t.assignment) for t in popped]


def test_masters_first_then_unseen_notebooks_in_the_given_order():
    masters = [task("master", "a", canary=True), task("master", "b", canary=True)]
    tasks = [task("s1", "a"), task("s1", "b"), task("s2", "a")]
    assert order(LongestFirst(masters, tasks)) == [
        ("master", "a"), ("master", "b"), ("s1", "a"), ("s1", "b"), ("s2", "a")]


def test_the_longest_kind_of_notebook_goes_first_once_measured():
    tasks = [task(s, a) for s in ("s1", "s2", "s3") for a in ("short", "long", "middle")]
    queue = LongestFirst([], tasks)
    first = [queue.pop() for _ in range(3)]  # one of each kind, as handed in
    assert [t.assignment for t in first] == ["short", "long", "middle"]
    for t, seconds in zip(first, (1.0, 4.0, 2.5)):
        queue.ran(t, seconds)
    assert order(queue) == [("s2", "long"), ("s3", "long"), ("s2", "middle"),
                            ("s3", "middle"), ("s2", "short"), ("s3", "short")]


def test_the_expected_time_is_the_mean_and_failed_runs_do_not_count():
    a, b = task("s1", "a"), task("s1", "b")
    queue = LongestFirst([], [task("s2", "a"), task("s2", "b")])
    queue.ran(a, 1.0)
    queue.ran(a, 5.0)  # mean 3.0
    queue.ran(b, 2.0)
    queue.ran(b, None)  # the executor failed: no time
    queue.ran(b, 0)
    assert queue.expected(a) == 3.0 and queue.expected(b) == 2.0
    assert order(queue) == [("s2", "a"), ("s2", "b")]
