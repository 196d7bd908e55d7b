"""The notebooks of a batch: found in submitted/, fingerprinted, and checked against markers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from autograding.grading.files import autograded_path, marker_path
from autograding.grading.submission import SubmissionError, read_bytes_safely

# Bump when a change to the pipeline can change scores: old markers then stop matching.
# 2: RECORD assigns late penalties; the fingerprint covers the late rule and timestamp.txt.
# 3: the kernel gets the files beside the notebook; the fingerprint covers them.
# 4: the executor checks what a notebook replaced of what tests compare with (a flag).
# 5: a restored test cell goes after the master's plain code cells before it (a training run).
# 6: IPython's transformer lists are put back before each test cell (a notebook's are flagged).
PIPELINE_VERSION = "6"
TIMESTAMP_BYTES = 200  # nbgrader's timestamp.txt holds one date


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
    inputs_digest: str = ""  # the files given to its kernel (assignment_files.FileSet.digest)

    @property
    def notebook(self) -> str:
        """Notebook name (the master's file stem)."""
        return self.master.name

    def resources(self, db_url: str) -> dict:
        """The resources dict nbgrader's preprocessors read."""
        return {"nbgrader": {"notebook": self.notebook, "assignment": self.assignment,
                             "student": self.student, "db_url": db_url}}


def listing(folder: Path, notes: list[str]) -> list[Path]:
    """Entries of a folder in name order; an unreadable folder becomes a note."""
    try:
        return sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as err:
        notes.append(f"{folder}: ignored, cannot be listed ({err.strerror})")
        return []


def student_folders(submitted: Path, settings) -> list[str]:
    """Names of the student folders of submitted/ (not hidden, not links, within the
    settings' students): the students of the batch, whether or not they handed anything in."""
    return [folder.name for folder in listing(submitted, [])
            if not folder.name.startswith(".") and settings.wants_student(folder.name)
            and folder.is_dir() and not folder.is_symlink()]


def submission_folder_count(submitted: Path, settings) -> int:
    """How many <student>/<assignment>/ folders the batch may grade (before any master is
    read): enough to size a worker pool that starts early."""
    count = 0
    for student in student_folders(submitted, settings):
        count += sum(1 for folder in listing(submitted / student, [])
                     if not folder.name.startswith(".") and settings.wants_assignment(folder.name))
    return count


def discover(submitted: Path, masters: dict, settings) -> tuple[list[Task], list[str]]:
    """Tasks for submitted/<student>/<assignment>/, and notes on what was ignored."""
    tasks, notes = [], []
    root = submitted.resolve()
    for student_dir in listing(submitted, notes):
        student = student_dir.name
        if student.startswith(".") or not settings.wants_student(student):
            continue
        if student_dir.is_symlink() or not student_dir.is_dir():
            notes.append(f"{student_dir}: ignored (not a student folder)")
            continue
        for folder in listing(student_dir, notes):
            assignment = folder.name
            if assignment.startswith(".") or not settings.wants_assignment(assignment):
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


def submitted_bytes(task: Task) -> tuple[bytes | None, str]:
    """(bytes, "") of the submitted file, or (None, why it cannot be read)."""
    try:
        return read_bytes_safely(task.path), ""
    except SubmissionError as err:
        return None, str(err)


def fingerprint(task: Task, keep_copy: bool = False) -> str:
    """sha256 over what decides the grade: the submitted bytes, the master, the pipeline, the
    assignment's due date and late policy, the submission's timestamp.txt and the files given
    to the kernel (task.inputs_digest, set before). Also notes the
    file's own digest, and with `keep_copy` keeps its bytes in the task."""
    late_rule = getattr(task.master, "late_rule", "")
    digest = hashlib.sha256(
        f"{PIPELINE_VERSION}\0{task.master.sha256}\0{late_rule}\0".encode())
    digest.update(b"timestamp\0" + _timestamp_bytes(task) + b"\0")
    digest.update(b"inputs\0" + task.inputs_digest.encode() + b"\0")
    if task.refused:
        digest.update(b"refused\0" + task.refused.encode())
    else:
        data, problem = submitted_bytes(task)
        if data is None:
            digest.update(b"unreadable\0" + problem.encode())
        else:
            digest.update(b"file\0" + data)
            task.digest = hashlib.sha256(data).hexdigest()
            task.snapshot = data if keep_copy else None
    return digest.hexdigest()


def _timestamp_bytes(task: Task) -> bytes:
    """The submission folder's timestamp.txt as it decides lateness, or why it cannot be read
    (the grader then treats the hand-in as not late and says why)."""
    if task.refused:
        return b""
    path = task.path.parent / "timestamp.txt"
    if not path.exists() and not path.is_symlink():
        return b""
    try:
        return b"file\0" + read_bytes_safely(path, TIMESTAMP_BYTES)
    except SubmissionError as err:
        return b"unreadable\0" + str(err).encode()


def changed_submissions(tasks) -> list[str]:
    """Notes on submitted files whose bytes differ from when the batch started (in a sandbox
    the notebooks cannot reach them, so this stays empty; with --sandbox none they can)."""
    notes = []
    for task in tasks:
        if task.refused or task.canary or not task.digest:
            continue
        data, _ = submitted_bytes(task)
        if data is None or hashlib.sha256(data).hexdigest() != task.digest:
            what = "was deleted or replaced" if data is None else "was changed"
            notes.append(f"{task.path}: {what} on disk while the batch ran; it was graded "
                         "from the copy read before any notebook ran. Restore it from your "
                         "LMS export or intake zip.")
    return notes


def read_marker(out_dir: Path, task: Task) -> dict | None:
    """The task's done-marker when it matches the task's fingerprint, else None."""
    try:
        marker = json.loads(marker_path(out_dir, task).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if marker.get("fingerprint") == task.fingerprint else None


def is_done(out_dir: Path, task: Task, gb) -> bool:
    """True when a matching done-marker, the autograded notebook and the submission in the
    gradebook all exist (a replaced gradebook makes its notebooks count as not done)."""
    from nbgrader.api import MissingEntry

    if read_marker(out_dir, task) is None:
        return False
    if not autograded_path(out_dir, task.student, task.assignment, task.notebook).is_file():
        return False
    try:
        gb.find_submission_notebook(task.notebook, task.assignment, task.student)
    except MissingEntry:
        return False
    return True
