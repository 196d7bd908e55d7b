"""Grade a class of submissions: parallel, sandboxed, resumable, one gradebook writer.

Flow per submitted/<student>/<assignment>/<notebook>.ipynb:
  parent : read safely + sanitize against the gradebook (autograding.grading.submission)
  worker : execute in the sandbox (autograding.engine.executor.execute_notebook), in a local process
           pool or on a Dask cluster; only plain data (notebook JSON, limits) crosses over
  parent : LimitOutput + SaveAutoGrades into nbgrader's gradebook, autograded notebook,
           feedback HTML, then the done-marker.

Resuming: a notebook counts as graded only once its done-marker
(out/.autograding/done/<student>/<assignment>/<notebook>.json) exists, and the marker is
written last, atomically, after the gradebook transaction committed and the autograded
notebook and feedback were atomically replaced. The marker holds the fingerprint of what was
graded (sha256 of the submitted file and of the master). A restarted batch skips notebooks whose
marker matches and redoes everything else; redoing a half-finished notebook overwrites the same
gradebook rows with the same scores, so a SIGKILL at any point loses nothing and counts nothing
twice. `force=True` ignores the markers.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_EXECUTOR = "autograding.engine.executor:execute_notebook"
STATE_DIR = ".autograding"
# Bump when a change to the pipeline can change scores: old markers then stop matching.
PIPELINE_VERSION = "1"
MAX_ATTEMPTS = 2
# Jobs handed to the runner per worker: the parent finishes results (gradebook, feedback) one
# at a time, and a worker must find its next notebook queued meanwhile, not wait for it.
JOBS_PER_WORKER = 3


class GradingError(RuntimeError):
    """The batch cannot start (bad folder, unreachable scheduler); the message says the fix."""


@dataclass
class SubmissionResult:
    """Scores and comments of one student's assignment."""

    student: str
    assignment: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    # graded | invalid (handed in, nothing gradable: zero, the comments say why) | missing (not
    # handed in while others did: no scores, see autograding.reports.export) | error (not graded,
    # retried next run)
    status: str = "graded"
    seconds: float = 0.0

    @property
    def total(self) -> float:
        """Points earned."""
        return float(sum(self.scores.values()))

    @property
    def max_total(self) -> float:
        """Points available."""
        return float(sum(self.max_scores.values()))


@dataclass
class GradingReport:
    """What a batch did: per (student, assignment) results, and where the outputs are."""

    out_dir: Path
    db_url: str
    results: dict[tuple[str, str], SubmissionResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    graded: int = 0
    skipped: int = 0
    errors: int = 0
    seconds: float = 0.0
    sandbox: str = ""
    csv_path: Path | None = None
    plot_path: Path | None = None
    master_checks: dict[str, tuple[float, float]] = field(default_factory=dict)

    def scores(self) -> dict[tuple[str, str], dict[str, float]]:
        """{(student, assignment): {grade_id: score}}."""
        return {key: dict(r.scores) for key, r in self.results.items()}

    def totals(self) -> dict[tuple[str, str], float]:
        """{(student, assignment): total score}."""
        return {key: r.total for key, r in self.results.items()}

    @property
    def feedback_dir(self) -> Path:
        """Folder of the feedback HTML files."""
        return self.out_dir / "feedback"


@dataclass
class Task:
    """One submitted notebook to grade."""

    student: str
    assignment: str
    master: object  # autograding.grading.gradebook.MasterNotebook
    path: Path
    refused: str = ""  # a reason to give zero without reading the file
    fingerprint: str = ""
    attempts: int = 0
    canary: bool = False  # the master itself, run to check the sandbox keeps it at full marks
    digest: str = ""  # sha256 of the submitted file when the batch started ("" if unreadable)
    snapshot: bytes | None = None  # its bytes then, graded instead of the file (--sandbox none)

    @property
    def notebook(self) -> str:
        """Notebook name (the master's file stem)."""
        return self.master.name

    def resources(self, db_url: str) -> dict:
        """The resources dict nbgrader's preprocessors read."""
        return {"nbgrader": {"notebook": self.notebook, "assignment": self.assignment,
                             "student": self.student, "db_url": db_url}}


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write `path` so that readers see the old file or the new one, never a part.

    The file gets the permissions the umask gives a new file (0644 under umask 022, 0640
    under 027), as a plain open() would.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = _new_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _new_temp_file(path: Path) -> tuple[int, str]:
    """(fd, name) of a new empty file next to `path`, named .<name>.<random>.tmp.

    Not tempfile.mkstemp: it creates 0600 whatever the umask, and os.replace keeps that mode,
    so grades.csv, the plot and every feedback page were readable by their owner only.
    O_EXCL with mode 0666 lets the kernel apply the umask.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(100):
        tmp = str(path.parent / f".{path.name[:40]}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: no free temporary file name for {path.name}")


def marker_path(out_dir: Path, task: Task) -> Path:
    """Done-marker of a task."""
    return out_dir / STATE_DIR / "done" / task.student / task.assignment / f"{task.notebook}.json"


def autograded_path(out_dir: Path, student: str, assignment: str, notebook: str) -> Path:
    """Autograded notebook path, nbgrader's layout."""
    return out_dir / "autograded" / student / assignment / f"{notebook}.ipynb"


def feedback_path(out_dir: Path, student: str, assignment: str, notebook: str) -> Path:
    """Feedback HTML path, nbgrader's layout."""
    return out_dir / "feedback" / student / assignment / f"{notebook}.html"


def _submitted_bytes(task: Task) -> tuple[bytes | None, str]:
    """(bytes, "") of the submitted file, or (None, why it cannot be read)."""
    from autograding.grading.submission import SubmissionError, read_bytes_safely

    try:
        return read_bytes_safely(task.path), ""
    except SubmissionError as err:
        return None, str(err)


def _fingerprint(task: Task, keep_copy: bool = False) -> str:
    """sha256 over what decides the grade: the submitted bytes, the master, the pipeline.
    Also notes the file's own digest, and with `keep_copy` keeps its bytes in the task."""
    digest = hashlib.sha256(f"{PIPELINE_VERSION}\0{task.master.sha256}\0".encode())
    if task.refused:
        digest.update(b"refused\0" + task.refused.encode())
    else:
        data, problem = _submitted_bytes(task)
        if data is None:
            digest.update(b"unreadable\0" + problem.encode())
        else:
            digest.update(b"file\0" + data)
            task.digest = hashlib.sha256(data).hexdigest()
            task.snapshot = data if keep_copy else None
    return digest.hexdigest()


def changed_submissions(tasks) -> list[str]:
    """Notes on submitted files whose bytes differ from when the batch started (in a sandbox
    the notebooks cannot reach them, so this stays empty; with --sandbox none they can)."""
    notes = []
    for task in tasks:
        if task.refused or task.canary or not task.digest:
            continue
        data, _ = _submitted_bytes(task)
        if data is None or hashlib.sha256(data).hexdigest() != task.digest:
            what = "was deleted or replaced" if data is None else "was changed"
            notes.append(f"{task.path}: {what} on disk while the batch ran; it was graded "
                         "from the copy read before any notebook ran. Restore it from your "
                         "LMS export or intake zip.")
    return notes


def _is_done(out_dir: Path, task: Task, gb) -> bool:
    """True when a matching done-marker, the autograded notebook and the submission in the
    gradebook all exist (a replaced gradebook makes its notebooks count as not done)."""
    from nbgrader.api import MissingEntry

    try:
        marker = json.loads(marker_path(out_dir, task).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("fingerprint") != task.fingerprint:
        return False
    if not autograded_path(out_dir, task.student, task.assignment, task.notebook).is_file():
        return False
    try:
        gb.find_submission_notebook(task.notebook, task.assignment, task.student)
    except MissingEntry:
        return False
    return True


def remove_stale_temp_files(out_dir: Path) -> None:
    """Delete the temporary files of atomic writes a killed batch left behind."""
    for path in out_dir.rglob(".*.tmp"):
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)


def student_folders(submitted: Path, students=None) -> list[str]:
    """Names of the student folders of submitted/ (not hidden, not links, within `students`):
    the students of the batch, whether or not they handed anything in."""
    return [folder.name for folder in _listing(submitted, [])
            if not folder.name.startswith(".") and not (students and folder.name not in students)
            and folder.is_dir() and not folder.is_symlink()]


def discover(submitted: Path, masters: dict, assignments=None, students=None):
    """Tasks for submitted/<student>/<assignment>/, and notes on what was ignored."""
    tasks, notes = [], []
    root = submitted.resolve()
    for student_dir in _listing(submitted, notes):
        student = student_dir.name
        if student.startswith(".") or (students and student not in students):
            continue
        if student_dir.is_symlink() or not student_dir.is_dir():
            notes.append(f"{student_dir}: ignored (not a student folder)")
            continue
        for folder in _listing(student_dir, notes):
            assignment = folder.name
            if assignment.startswith(".") or (assignments and assignment not in assignments):
                continue
            if assignment not in masters:
                notes.append(f"{folder}: ignored, no master source/{assignment}/ in the course")
                continue
            for master in masters[assignment]:
                task = Task(student, assignment, master, folder / f"{master.name}.ipynb")
                if folder.is_symlink() or not folder.is_dir():
                    task.refused = (f"{assignment} is a link or a file, not a folder; submit "
                                    "the notebook itself")
                elif not folder.resolve().is_relative_to(root):
                    task.refused = f"{assignment} points outside the submissions folder"
                tasks.append(task)
    if not tasks:
        notes.append(f"{submitted}: no submissions found; expected <student>/<assignment>/ "
                     f"folders for the assignments {', '.join(sorted(masters)) or '(none)'}")
    return tasks, notes


def _listing(folder: Path, notes: list[str]) -> list[Path]:
    """Entries of a folder in name order; an unreadable folder becomes a note."""
    try:
        return sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as err:
        notes.append(f"{folder}: ignored, cannot be listed ({err.strerror})")
        return []


def _read_timestamp(folder: Path) -> tuple[dict, list[str]]:
    """nbgrader's timestamp.txt of a submission folder, if present and sane."""
    from nbgrader.utils import parse_utc

    from autograding.grading.submission import SubmissionError, read_bytes_safely

    path = folder / "timestamp.txt"
    if not path.exists() and not path.is_symlink():
        return {}, []
    try:
        return {"timestamp": parse_utc(read_bytes_safely(path, 200).decode().strip())}, []
    except (SubmissionError, ValueError, UnicodeDecodeError, OverflowError):
        return {}, ["timestamp.txt could not be read; the submission time is unknown."]


def _missing_comment(task: Task) -> str:
    """Why a notebook is missing, naming what was found instead."""
    expected = task.path.name
    folder = task.path.parent
    others = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
    text = f"{expected}: no such notebook in your submission; it gets zero."
    if others:
        text += (f" Found {', '.join(others[:5])} instead: name the file {expected} "
                 "and submit again.")
    return text


class _Batch:
    """The parent's side of a batch: the only writer of the gradebook and of out/."""

    def __init__(self, out_dir: Path, db_url: str, limits, sandbox: str, executor: str,
                 hidden: tuple, gradebook):
        from autograding.reports.feedback import FeedbackWriter

        self.gb = gradebook
        self.hidden = hidden
        self.out_dir = out_dir
        self.db_url = db_url
        self.limits = limits
        self.sandbox = sandbox
        self.executor = executor
        self.feedback = FeedbackWriter(db_url, gradebook)
        self.sandboxes = set()

    def prepare(self, task: Task):
        """(job, comments) to execute, or (None, comments) when the notebook gets zero."""
        import nbformat

        from autograding.grading.submission import SubmissionError, prepare_submission

        if task.refused:
            return None, [f"{task.path.name}: {task.refused}."]
        if task.snapshot is None and not task.path.exists() and not task.path.is_symlink():
            return None, [_missing_comment(task)]
        try:
            prepared = prepare_submission(task.path, task.master, task.resources(self.db_url),
                                          data=task.snapshot)
        except SubmissionError as err:
            return None, [f"{err}. This notebook gets zero."]
        job = {"notebook": nbformat.writes(prepared.notebook), "limits": self.limits,
               "sandbox": self.sandbox, "executor": self.executor, "hidden": self.hidden}
        return job, prepared.comments

    def finish(self, task: Task, result: dict | None, comments: list[str]) -> None:
        """Scores into the gradebook, autograded notebook, feedback, then the done-marker."""
        import nbformat
        from nbgrader.preprocessors import LimitOutput

        from autograding.grading.gradebook import quiet_logger
        from autograding.grading.scoring import SaveScores

        stamp, stamp_notes = _read_timestamp(task.path.parent) if not task.refused else ({}, [])
        comments = comments + stamp_notes
        gb = self.gb
        gb.update_or_create_student(task.student)
        gb.update_or_create_submission(task.assignment, task.student, **stamp)
        resources = task.resources(self.db_url)
        seconds = 0.0
        if result is None:
            status = "invalid"
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
                "**No gradable notebook**: every graded cell gets zero (see the comments above).")])
            submitted = gb.find_submission_notebook(task.notebook, task.assignment, task.student)
            for grade in submitted.grades:
                grade.auto_score = 0.0
                grade.needs_manual_grade = False
            gb.db.commit()
        else:
            status = "graded"
            nb = nbformat.reads(result["notebook"], as_version=4)
            comments = comments + list(result["messages"])
            seconds = result["seconds"]
            self.sandboxes.add(result["sandbox"])
            _fail_after_dead_kernel(nb, result)
            log = quiet_logger()
            nb, resources = LimitOutput(log=log).preprocess(nb, resources)
            nb, resources = SaveScores(log=log).preprocess(nb, resources)
        nb.metadata["autograding"] = {"comments": comments, "status": status,
                                      "fingerprint": task.fingerprint, "seconds": seconds}
        atomic_write(autograded_path(self.out_dir, task.student, task.assignment, task.notebook),
                     nbformat.writes(nb))
        html = self.feedback.render(nb, task.student, task.assignment, task.notebook)
        atomic_write(feedback_path(self.out_dir, task.student, task.assignment, task.notebook),
                     html)
        marker = {"fingerprint": task.fingerprint, "status": status, "comments": comments,
                  "seconds": seconds, "student": task.student, "assignment": task.assignment,
                  "notebook": task.notebook}
        atomic_write(marker_path(self.out_dir, task), json.dumps(marker, indent=1))


def _fail_after_dead_kernel(nb, result: dict) -> None:
    """Defence in depth: after a dead kernel every later code cell must carry an error."""
    if not result.get("kernel_died"):
        return
    dead = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if any(o.get("ename") == "DeadKernelError" for o in errors):
            dead = True
        elif dead and not errors:
            cell.setdefault("outputs", []).append({
                "output_type": "error", "ename": "DeadKernelError",
                "evalue": "the kernel died before this cell ran", "traceback": []})


def default_limits():
    """The executor's default limits."""
    from autograding.engine.executor import Limits

    return Limits()


def grade_submissions(
    submitted_dir,
    out_dir,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    limits=None,
    force: bool = False,
    course_root=None,
    progress: bool = True,
    assignments=None,
    students=None,
    sandbox: str = "auto",
    executor: str = DEFAULT_EXECUTOR,
    db_url: str | None = None,
    check_masters: bool = False,
) -> GradingReport:
    """Grade submitted/<student>/<assignment>/*.ipynb into `out_dir` (see module docstring).

    `db_url` picks another nbgrader gradebook (e.g. the course's, for the formgrader); the
    default is sqlite:///<out_dir>/gradebook.db. `check_masters` also runs each master (its
    own solutions) in the same sandbox first and notes any master that loses points there: a
    sandbox or executor problem that would make every score of that assignment too low.

    Every student folder of `submitted_dir` is registered in the gradebook, an empty one too,
    so grades.csv lists its student. report.results holds a result per graded notebook and a
    `missing` one (no scores) for each student folder and assignment someone handed in that
    this student did not, within `assignments`: the rule of autograding.reports.export.
    """

    from autograding.engine.workers import skip_slow_optional_imports

    skip_slow_optional_imports()  # as the CLI does, for callers that import this directly
    with warnings.catch_warnings():
        # nbgrader's add_submission triggers SQLAlchemy autoflush warnings on every new
        # submission (harmless, also under `nbgrader autograde`); keep the terminal readable.
        warnings.filterwarnings("ignore", message=".*not in session.*")
        return _grade(submitted_dir, out_dir, workers=workers, scheduler=scheduler,
                      limits=limits, force=force, course_root=course_root, progress=progress,
                      assignments=assignments, students=students, sandbox=sandbox,
                      executor=executor, db_url=db_url, check_masters=check_masters)


def _grade(submitted_dir, out_dir, *, workers, scheduler, limits, force, course_root, progress,
           assignments, students, sandbox, executor, db_url, check_masters) -> GradingReport:
    """grade_submissions without the warning filter."""
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
    with _batch_lock(out_dir):
        return _grade_locked(submitted, out_dir, workers=workers, scheduler=scheduler,
                             limits=limits, force=force, course_root=course_root,
                             progress=progress, assignments=assignments, students=students,
                             sandbox=sandbox, executor=executor, started=started,
                             db_url=db_url, check_masters=check_masters)


@contextmanager
def _batch_lock(out_dir: Path):
    """One batch per output folder: a second one would write the same gradebook rows."""
    import fcntl

    (out_dir / STATE_DIR).mkdir(exist_ok=True)
    with open(out_dir / STATE_DIR / "batch.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise GradingError(f"{out_dir}: another `grade` is writing to this folder; wait "
                               "for it to finish or choose another --out") from err
        yield  # the lock goes with the process, also when it is killed


def _grade_locked(submitted: Path, out_dir: Path, *, workers, scheduler, limits, force,
                  course_root, progress, assignments, students, sandbox, executor,
                  started, db_url, check_masters) -> GradingReport:
    """_grade once the output folder is locked."""
    from autograding.engine.workers import check_reachable, resolve_sandbox
    from autograding.grading.gradebook import DEFAULT_COURSE_ROOT, db_url_for

    db_url = db_url or db_url_for(out_dir)
    if scheduler:  # a wrong address should fail before any work is done
        check_reachable(scheduler)
    course = Path(course_root or DEFAULT_COURSE_ROOT)
    if not scheduler:  # a Dask cluster's (Linux) workers pick theirs; this may be a Mac
        sandbox = resolve_sandbox(executor, sandbox)
    # The kernels must not see the grader's output, the other submissions or the masters.
    hidden = {str(out_dir), str(submitted.resolve()), str(course.resolve())}
    if db_url.startswith("sqlite:///"):
        hidden.add(str(Path(db_url[len("sqlite:///"):]).resolve()))
    hidden = tuple(sorted(hidden))
    runner = None
    try:
        if not scheduler:  # workers start their fork-servers while the gradebook is set up
            runner = _early_pool(submitted, workers, assignments, students,
                                 (executor, sandbox, hidden))
        return _grade_prepared(submitted, out_dir, workers=workers, scheduler=scheduler,
                               limits=limits, force=force, course=course, progress=progress,
                               assignments=assignments, students=students, sandbox=sandbox,
                               executor=executor, started=started, db_url=db_url,
                               check_masters=check_masters, hidden=hidden, runner=runner)
    finally:
        if runner is not None:
            runner.join()


def _early_pool(submitted: Path, workers, assignments, students, warm_args):
    """A local worker pool sized for the submission folders found, or None when there are
    none (nothing to execute)."""
    from autograding.engine.workers import PoolRunner

    folders = 0
    for student_dir in _listing(submitted, []):
        if student_dir.name.startswith(".") or (students and student_dir.name not in students):
            continue
        if student_dir.is_dir() and not student_dir.is_symlink():
            folders += sum(1 for folder in _listing(student_dir, [])
                           if not folder.name.startswith(".")
                           and not (assignments and folder.name not in assignments))
    if not folders:
        return None
    return PoolRunner(max(1, min(workers or os.cpu_count() or 1, folders)), warm_args)


def _grade_prepared(submitted: Path, out_dir: Path, *, workers, scheduler, limits, force,
                    course, progress, assignments, students, sandbox, executor, started,
                    db_url, check_masters, hidden, runner) -> GradingReport:
    """_grade_locked once the sandbox is decided and the local workers are starting."""
    from nbgrader.api import Gradebook

    from autograding.grading.gradebook import COURSE_ID, register_masters

    masters = register_masters(db_url, course, assignments)
    tasks, notes = discover(submitted, masters, assignments, students)
    roster = student_folders(submitted, students)
    report = GradingReport(out_dir, db_url, notes=notes)
    todo = []
    remove_stale_temp_files(out_dir)
    with Gradebook(db_url, COURSE_ID) as gb:
        known = {student.id for student in gb.students}
        for student in roster:  # an empty folder too: its student is then listed as missing
            if student not in known:
                gb.add_student(student)
        for task in tasks:
            # Notebooks that run with the grader's rights could rewrite a classmate's file
            # before it is read: keep every submission's bytes first.
            task.fingerprint = _fingerprint(task, keep_copy=sandbox == "none")
            if not force and _is_done(out_dir, task, gb):
                report.skipped += 1
            else:
                todo.append(task)
    limits = limits if limits is not None else default_limits()
    if todo:
        _run(todo, out_dir, db_url, limits, workers, scheduler, sandbox, executor, progress,
             report, hidden, check_masters, runner)
        report.notes += changed_submissions(todo)
    elif runner is not None:
        runner.close(wait=False)
    from autograding.reports.export import MISSING, STATUS_COLUMN, export_outputs

    exported = export_outputs(out_dir, db_url)
    report.csv_path, report.plot_path = exported.csv_path, exported.plot_path
    missing = [(row["student_id"], row["assignment"]) for row in exported.rows
               if row[STATUS_COLUMN] == MISSING and row["student_id"] in roster
               and not (assignments and row["assignment"] not in assignments)]
    _collect(report, tasks, out_dir, db_url, missing)
    report.seconds = time.monotonic() - started
    return report


def _run(todo, out_dir, db_url, limits, workers, scheduler, sandbox, executor, progress, report,
         hidden, check_masters=False, runner=None):
    """Keep the runner busy, finish results in the parent as they arrive (`sandbox` is
    resolved already; `runner` is a pool started early, else one is made here)."""
    from autograding.grading.gradebook import shared_gradebook

    with shared_gradebook(db_url) as gradebook:
        canaries = _canaries(todo) if check_masters else []
        _run_batch(_Batch(out_dir, db_url, limits, sandbox, executor, hidden, gradebook), todo,
                   workers, scheduler, progress, report, canaries, runner)


def _canaries(todo) -> list[Task]:
    """One master-check task per master notebook that this batch grades."""
    seen, canaries = set(), []
    for task in todo:
        key = (task.assignment, task.notebook)
        if key not in seen and task.master.path is not None:
            seen.add(key)
            canaries.append(Task("(master)", task.assignment, task.master, task.master.path,
                                 canary=True))
    return canaries


def _check_master(task: Task, result: dict, report: GradingReport, bar) -> None:
    """Note a master that does not get full marks in this sandbox (instructor-facing)."""
    import nbformat
    from nbgrader.utils import is_grade

    from autograding.grading.scoring import score_cell

    if "error" in result:
        report.notes.append(f"master check: {task.path} could not be run "
                            f"({result['error'].strip().splitlines()[-1]})")
        return
    nb = nbformat.reads(result["notebook"], as_version=4)
    score = points = 0.0
    failed = []
    for cell in nb.cells:
        if not is_grade(cell):
            continue
        got, most = score_cell(cell)
        score, points = score + float(got or 0.0), points + float(most)
        if float(got or 0.0) < float(most):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            why = (f"{errors[0].get('ename')}: {str(errors[0].get('evalue'))[:150]}" if errors
                   else "gave partial credit")
            failed.append(f"{cell.metadata['nbgrader']['grade_id']} ({why})")
    report.master_checks[f"{task.assignment}/{task.notebook}"] = (score, points)
    if failed:
        note = (f"master check: {task.path} scores {score:g}/{points:g} in this sandbox; "
                f"failing: {'; '.join(failed)}. The sandbox or executor breaks a correct "
                f"solution, so scores of {task.assignment} may be too low.")
        report.notes.append(note)
        bar.write(f"warning: {note}", file=sys.stderr)


def _run_batch(batch, todo, workers, scheduler, progress, report, canaries=(), runner=None):
    """The scheduling loop of _run."""
    from tqdm import tqdm

    from autograding.engine.workers import DaskRunner, PoolRunner

    early = runner is not None  # a local pool _grade_locked started and joins
    if scheduler and not early:
        runner = DaskRunner(scheduler)
    elif not early:
        runner = PoolRunner(max(1, min(workers or os.cpu_count() or 1, len(todo))),
                            (batch.executor, batch.sandbox, batch.hidden))
    queue = list(reversed(todo)) + list(reversed(canaries))  # masters run first
    running = {}
    bar = tqdm(total=len(todo), unit="nb", desc="grading", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    try:
        while queue or running:
            while queue and len(running) < JOBS_PER_WORKER * runner.capacity:
                task = queue.pop()
                if task.canary:
                    try:
                        job, comments = batch.prepare(task)
                    except Exception as err:  # noted, grading goes on
                        job, comments = None, [f"{type(err).__name__}: {err}"]
                    if job is None:
                        report.notes.append(f"master check: {task.path} could not be "
                                            f"prepared ({' '.join(comments)[:300]})")
                    else:
                        running[runner.submit(job)] = (task, job, comments)
                    continue
                try:
                    job, comments = batch.prepare(task)
                    if job is None:
                        batch.finish(task, None, comments)
                except Exception as err:  # a grader bug must not stop the batch
                    _grader_failed(batch, report, task, bar, err)
                    continue
                if job is None:
                    report.graded += 1
                    bar.update(1)
                    continue
                task.attempts += 1
                running[runner.submit(job)] = (task, job, comments)
            if not running:
                continue
            for future in runner.wait(list(running)):
                task, job, comments = running.pop(future)
                try:
                    result = future.result()
                except Exception as err:  # worker process died or cluster lost the task
                    result = {"error": f"{type(err).__name__}: {err}"}
                if task.canary:
                    _check_master(task, result, report, bar)
                    continue
                if "error" in result:
                    if task.attempts < MAX_ATTEMPTS:
                        task.attempts += 1
                        running[runner.submit(job)] = (task, job, comments)
                        continue
                    _not_graded(report, task, "the executor failed: "
                                f"{result['error'].strip().splitlines()[-1]}")
                    bar.update(1)
                    continue
                try:
                    batch.finish(task, result, comments)
                except Exception as err:  # a grader bug must not stop the batch
                    _grader_failed(batch, report, task, bar, err)
                    continue
                report.graded += 1
                bar.set_postfix_str(f"{task.student}/{task.assignment}", refresh=False)
                bar.update(1)
    finally:
        bar.close()
        # Local workers stop (fork-servers and all) while the parent exports; _grade_locked
        # joins them before returning.
        if early:
            runner.close(wait=False)
        else:
            runner.close()
    report.sandbox = ", ".join(sorted(batch.sandboxes))


def _grader_failed(batch, report: GradingReport, task: Task, bar, err: Exception) -> None:
    """Undo the notebook's half-written gradebook changes and note it as not graded."""
    batch.gb.db.rollback()
    _not_graded(report, task, f"{type(err).__name__}: {err}")
    bar.update(1)


def _not_graded(report: GradingReport, task: Task, why: str) -> None:
    """Count a notebook the grader could not finish; the next run tries it again."""
    report.errors += 1
    report.notes.append(f"{task.path}: not graded ({why[:300]}); run the same command again "
                        "to retry, and report the problem if it persists")


def _collect(report: GradingReport, tasks, out_dir: Path, db_url: str, missing=()) -> None:
    """Fill report.results from the gradebook and the done-markers (same after a resume), and
    add a `missing` result, without scores, for each (student, assignment) of `missing`."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograding.grading.gradebook import COURSE_ID

    with Gradebook(db_url, COURSE_ID) as gb:
        for task in tasks:
            key = (task.student, task.assignment)
            result = report.results.setdefault(key, SubmissionResult(*key))
            try:
                marker = json.loads(marker_path(out_dir, task).read_text(encoding="utf-8"))
                if marker.get("fingerprint") != task.fingerprint:
                    raise ValueError("stale marker")
            except (OSError, ValueError):
                result.status = "error"
                result.comments.append(f"{task.notebook}: not graded (see the batch notes)")
                for cell in task.master.graded_cells:
                    result.scores[cell.grade_id] = 0.0
                    result.max_scores[cell.grade_id] = cell.points
                continue
            if result.status == "graded" or marker["status"] != "graded":
                # Markers written before `missing` meant "not handed in" said `missing` for a
                # folder without its notebook.
                result.status = {"missing": "invalid"}.get(marker["status"], marker["status"])
            result.comments += marker["comments"]
            result.seconds += marker.get("seconds", 0.0)
            try:
                notebook = gb.find_submission_notebook(task.notebook, task.assignment,
                                                       task.student)
            except MissingEntry:
                continue
            for grade in notebook.grades:
                result.scores[grade.cell.name] = float(grade.score)
                result.max_scores[grade.cell.name] = float(grade.max_score)
        for key in missing:
            if key in report.results:  # a hand-in the grader could not finish: status error
                continue
            result = report.results[key] = SubmissionResult(*key, status="missing")
            for notebook in gb.find_assignment(key[1]).notebooks:
                for cell in notebook.grade_cells + notebook.task_cells:
                    result.max_scores[cell.name] = float(cell.max_score)
