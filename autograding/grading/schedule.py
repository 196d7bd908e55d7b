"""The scheduling loop: keep the runner's workers busy, finish results as they arrive.

Masters to check run first, then the class. A notebook whose worker failed is tried again
once; a grader bug on one notebook is noted and the batch goes on.
"""

from __future__ import annotations

import sys

MAX_ATTEMPTS = 2
# Jobs handed to the runner per worker: the parent finishes results (gradebook, feedback) one
# at a time, and a worker must find its next notebook queued meanwhile, not wait for it.
JOBS_PER_WORKER = 3


def make_runner(plan, jobs: int):
    """A runner for `jobs` notebooks: the Dask cluster of the settings, else a local pool."""
    from autograding.engine.workers import DaskRunner, PoolRunner

    settings = plan.settings
    if settings.scheduler:
        return DaskRunner(settings.scheduler)
    return PoolRunner(settings.worker_count(jobs),
                      (settings.executor, plan.sandbox, plan.hidden))


def run_jobs(recorder, todo, report, runner, master_checks=None) -> None:
    """Grade `todo` on `runner` (and the master checks first); counts go into `report`."""
    from tqdm import tqdm

    checks = master_checks.to_run(todo) if master_checks else []
    queue = list(reversed(todo)) + list(reversed(checks))  # masters run first
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
