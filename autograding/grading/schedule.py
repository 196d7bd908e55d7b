"""The scheduling loop: keep the runner's workers busy, finish results as they arrive.

Masters to check run first, then the class, longest notebooks first (LongestFirst). A notebook
whose worker failed is tried again once; a grader bug on one notebook is noted and the batch
goes on.
"""

from __future__ import annotations

import sys

MAX_ATTEMPTS = 2
# Jobs handed to the runner per worker: the parent finishes results (gradebook, feedback) one
# at a time, and a worker must find its next notebook queued meanwhile, not wait for it.
JOBS_PER_WORKER = 3


def make_runner(settings, sandbox: str, hidden: tuple, jobs: int, imports: tuple = ()):
    """A runner for `jobs` notebooks: the Dask cluster of the settings, else a local pool
    whose kernels run in `sandbox` without seeing the `hidden` paths, with the heavy modules
    of `imports` (what the masters import) imported once before forking."""
    from autograding.engine.workers import DaskRunner, PoolRunner

    if settings.scheduler:
        return DaskRunner(settings.scheduler)
    return PoolRunner(settings.worker_count(jobs), (settings.executor, sandbox, hidden),
                      imports)


def run_jobs(recorder, todo, report, runner, master_checks=None) -> None:
    """Grade `todo` on `runner` (and the master checks first); counts go into `report`."""
    from tqdm import tqdm

    checks = master_checks.to_run(todo) if master_checks else []
    queue = LongestFirst(checks, todo)
    running = {}
    bar = tqdm(total=len(todo), unit="nb", desc="grading", file=sys.stderr,
               disable=not recorder.plan.settings.progress, dynamic_ncols=True)
    try:
        while queue or running:
            while queue and len(running) < JOBS_PER_WORKER * runner.capacity:
                _start(queue.pop(), recorder, report, runner, running, bar)
            for future in runner.wait(list(running)) if running else ():
                task, job, comments = running.pop(future)
                try:
                    result = future.result()
                except Exception as err:  # worker process died or cluster lost the task
                    result = {"error": f"{type(err).__name__}: {err}"}
                queue.ran(task, result.get("seconds"))
                if task.canary:
                    master_checks.check(task, result)
                elif "error" in result and task.attempts < MAX_ATTEMPTS:
                    task.attempts += 1
                    running[runner.submit(job)] = (task, job, comments)
                else:
                    _finish(task, result, comments, recorder, report, bar)
    finally:
        bar.close()
    report.sandbox = ", ".join(sorted(recorder.sandboxes))


class LongestFirst:
    """The tasks not yet started: the masters to check first, then the class's notebooks, the
    longest first (LPT scheduling), so that the last to run are short ones and the workers
    finish together instead of one running alone at the end.

    A notebook's expected run time is the mean of the runs of the same assignment's notebook
    so far in the batch; notebooks of which none ran yet go first, in the given order, so that
    every kind is measured early.
    """

    def __init__(self, first, tasks):
        self.first = list(reversed(first))  # popped from the end
        self.tasks = list(tasks)
        self.runs: dict[tuple[str, str], list[float]] = {}

    def __bool__(self) -> bool:
        return bool(self.first or self.tasks)

    def pop(self):
        """The next task to start."""
        if self.first:
            return self.first.pop()
        index = max(range(len(self.tasks)), key=lambda i: (self.expected(self.tasks[i]), -i))
        return self.tasks.pop(index)

    def expected(self, task) -> float:
        """Seconds the task is expected to run (infinite: its notebook has not run yet)."""
        runs = self.runs.get((task.assignment, task.notebook))
        return sum(runs) / len(runs) if runs else float("inf")

    def ran(self, task, seconds) -> None:
        """Note how long a task's notebook ran (nothing when it did not run)."""
        if isinstance(seconds, (int, float)) and seconds > 0:
            self.runs.setdefault((task.assignment, task.notebook), []).append(float(seconds))


def _start(task, recorder, report, runner, running: dict, bar) -> None:
    """Prepare a task and submit its job, or finish it at once when it gets zero."""
    try:
        job, comments = recorder.prepare(task)
    except Exception as err:  # a grader bug must not stop the batch
        if task.canary:
            job, comments = None, [f"{type(err).__name__}: {err}"]
        else:
            _grader_failed(recorder, report, task, bar, err)
            return
    if task.canary and job is None:
        report.notes.append(f"master check: {task.path} could not be prepared "
                            f"({' '.join(comments)[:300]})")
        return
    if job is None:
        _finish(task, None, comments, recorder, report, bar)
        return
    if not task.canary:
        task.attempts += 1
    running[runner.submit(job)] = (task, job, comments)


def _finish(task, result, comments, recorder, report, bar) -> None:
    """Record a result (None: zero without running), or note why it was not graded."""
    if result is not None and "error" in result:
        _not_graded(report, task, "the executor failed: "
                    f"{result['error'].strip().splitlines()[-1]}")
        bar.update(1)
        return
    try:
        recorder.finish(task, result, comments)
    except Exception as err:  # a grader bug must not stop the batch
        _grader_failed(recorder, report, task, bar, err)
        return
    report.graded += 1
    bar.set_postfix_str(f"{task.student}/{task.assignment}", refresh=False)
    bar.update(1)


def _grader_failed(recorder, report, task, bar, err: Exception) -> None:
    """Undo the notebook's half-written gradebook changes and note it as not graded."""
    recorder.gb.db.rollback()
    _not_graded(report, task, f"{type(err).__name__}: {err}")
    bar.update(1)


def _not_graded(report, task, why: str) -> None:
    """Count a notebook the grader could not finish; the next run tries it again."""
    report.errors += 1
    report.notes.append(f"{task.path}: not graded ({why[:300]}); run the same command again "
                        "to retry, and report the problem if it persists")
