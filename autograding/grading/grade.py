"""Grade a batch of submissions: parallel, sandboxed, resumable, one gradebook writer.

Flow per submitted/<student>/<assignment>/<notebook>.ipynb:
  parent : read safely + sanitize against the gradebook (autograding.grading.pipeline)
  worker : execute in the sandbox (autograding.engine), in a local process pool or on a Dask
           cluster; only plain data (notebook JSON, limits) crosses over
  parent : pipeline.RECORD (LimitOutput, SaveScores) into nbgrader's gradebook, the
           autograded notebook, the caller's files (feedback), then the done-marker
           (autograding.grading.record).

Resuming: a notebook counts as graded only once its done-marker
(out/.autograding/done/<student>/<assignment>/<notebook>.json) exists, and the marker is
written last, atomically, after the gradebook transaction committed and the autograded
notebook and feedback were atomically replaced. The marker holds the fingerprint of what was
graded (sha256 of the submitted file, the master and PIPELINE_VERSION; see
autograding.grading.tasks). A restarted batch skips notebooks whose marker matches and redoes
everything else; redoing a half-finished notebook overwrites the same gradebook rows with the
same scores, so a SIGKILL at any point loses nothing and counts nothing twice. `force=True`
ignores the markers.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from autograding.grading.files import (
    batch_lock,
    course_root,
    db_url_for,
    remove_stale_temp_files,
)
from autograding.grading.record import BatchHooks, NotebookRecorder
from autograding.grading.results import GradingReport, collect_results
from autograding.grading.settings import BatchPlan, GradingError, GradingSettings
from autograding.grading.tasks import (
    changed_submissions,
    discover,
    fingerprint,
    is_done,
    student_folders,
    submission_folder_count,
)


def grade_batch(submitted_dir, out_dir, settings: GradingSettings,
                hooks: BatchHooks | None = None) -> GradingReport:
    """Grade submitted/<student>/<assignment>/*.ipynb into `out_dir` (see module docstring).

    Every student folder of `submitted_dir` is registered in the gradebook, an empty one too.
    report.results holds a result per graded notebook and a `missing` one (no scores) for each
    student folder and assignment someone handed in that this student did not.
    """
    started = time.monotonic()
    submitted = Path(submitted_dir)
    out_dir = Path(out_dir).resolve()
    if not submitted.is_dir():
        raise GradingError(f"{submitted}: no such submissions folder; pass the folder laid out "
                           "as submitted/<student>/<assignment>/<assignment>.ipynb")
    if out_dir == submitted.resolve() or out_dir.is_relative_to(submitted.resolve()):
        raise GradingError(f"{out_dir}: the output folder must not be inside the submissions "
                           "folder (submissions are never modified); choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), batch_lock(out_dir):
        # nbgrader's add_submission triggers SQLAlchemy autoflush warnings on every new
        # submission (harmless, also under `nbgrader autograde`); keep the terminal readable.
        warnings.filterwarnings("ignore", message=".*not in session.*")
        sandbox, hidden = isolate(submitted, out_dir, settings)
        runner = None
        try:
            jobs = submission_folder_count(submitted, settings)
            if not settings.scheduler and jobs:
                # Local workers start first: their zygote imports torch (seconds) while the
                # parent imports nbgrader, reads the course's config and sets up the gradebook.
                from autograding.grading.master_imports import master_imports
                from autograding.grading.schedule import make_runner

                imports = master_imports(course_root(settings), settings.assignments)
                runner = make_runner(settings, sandbox, hidden, jobs, imports)
            plan = plan_batch(submitted, out_dir, settings, (sandbox, hidden))
            report = _grade_planned(plan, hooks or BatchHooks(), runner)
        finally:
            if runner is not None:
                runner.join()
    report.seconds = time.monotonic() - started
    return report


def isolate(submitted: Path, out_dir: Path, settings: GradingSettings):
    """(sandbox mode, hidden paths): how the batch's kernels are kept apart, decided once."""
    from autograding.engine.workers import RunnerError, check_reachable, resolve_sandbox

    try:
        if settings.scheduler:  # a wrong address should fail before any work is done
            check_reachable(settings.scheduler)
            sandbox = settings.sandbox  # the cluster's (Linux) workers pick; this may be a Mac
        else:
            sandbox = resolve_sandbox(settings.executor, settings.sandbox)
    except RunnerError as err:  # one error type for "the batch cannot start"
        raise GradingError(str(err)) from err
    # The kernels must not see the grader's output, the other submissions or the masters.
    hidden = {str(out_dir), str(submitted.resolve()), str(course_root(settings).resolve())}
    db_url = settings.db_url or db_url_for(out_dir)
    if db_url.startswith("sqlite:///"):
        hidden.add(str(Path(db_url[len("sqlite:///"):]).resolve()))
    return sandbox, tuple(sorted(hidden))


def plan_batch(submitted: Path, out_dir: Path, settings: GradingSettings,
               isolation: tuple | None = None) -> BatchPlan:
    """The batch's gradebook, course and `isolation` (isolate's, decided now when None)."""
    sandbox, hidden = isolation or isolate(submitted, out_dir, settings)
    return BatchPlan(submitted, out_dir, course_root(settings),
                     settings.db_url or db_url_for(out_dir), sandbox, hidden, settings)


def _grade_planned(plan: BatchPlan, hooks: BatchHooks, runner) -> GradingReport:
    """The batch once planned and the local workers (if any) are starting."""
    from nbgrader.api import Gradebook

    from autograding.grading.assignment_files import AssignmentFiles
    from autograding.grading.gradebook import register_masters

    settings = plan.settings
    masters = register_masters(plan.db_url, plan.course, settings.assignments or None)
    tasks, notes = discover(plan.submitted, masters, settings)
    roster = student_folders(plan.submitted, settings)
    report = GradingReport(plan.out_dir, plan.db_url, notes=notes)
    todo = []
    remove_stale_temp_files(plan.out_dir)
    files = AssignmentFiles(plan.course, plan.course_settings)
    with Gradebook(plan.db_url, plan.course_settings.course_id) as gb:
        known = {student.id for student in gb.students}
        for student in roster:  # an empty folder too: its student is then listed as missing
            if student not in known:
                gb.add_student(student)
        for task in tasks:
            # Notebooks that run with the grader's rights could rewrite a classmate's file
            # before it is read: keep every submission's bytes first.
            task.inputs_digest = files.for_task(task).digest()
            task.fingerprint = fingerprint(task, keep_copy=plan.sandbox == "none")
            if not settings.force and is_done(plan.out_dir, task, gb):
                report.skipped += 1
            else:
                todo.append(task)
    if todo:
        _run(plan, hooks, todo, report, runner)
        report.notes += changed_submissions(todo)
    elif runner is not None:
        runner.close(wait=False)
    for write in hooks.batch_writers:
        write(plan, report)
    collect_results(report, tasks, roster, settings)
    return report


def _run(plan: BatchPlan, hooks: BatchHooks, todo, report: GradingReport, runner) -> None:
    """Run `todo` with one shared gradebook; `runner` is a pool started early, else one is
    made here (a Dask cluster)."""
    from autograding.grading.gradebook_session import shared_gradebook
    from autograding.grading.master_check import MasterChecks
    from autograding.grading.schedule import make_runner, run_jobs

    early = runner is not None
    runner = runner or make_runner(plan.settings, plan.sandbox, plan.hidden, len(todo))
    try:
        with shared_gradebook(plan.db_url, plan.course_settings.course_id) as gradebook:
            checks = MasterChecks(plan, report) if plan.settings.check_masters else None
            recorder = NotebookRecorder(plan, gradebook, hooks)
            warming = recorder.warm_in_background()
            run_jobs(recorder, todo, report, runner, checks)
            warming.join()
    finally:
        # Local workers stop (fork-servers and all) while the parent exports; grade_batch
        # joins them before returning.
        if early:
            runner.close(wait=False)
        else:
            runner.close()
