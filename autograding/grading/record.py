"""Per notebook, in the parent: build the worker's job, then write scores, files and marker.

The parent is the only writer of the gradebook and of out/. For each notebook it writes the
gradebook rows, the autograded notebook, whatever the caller's notebook writers make of it
(feedback pages: autograding.api passes autograding.reports'), then the done-marker, so a batch
killed at any point redoes the notebook and counts nothing twice. The submission's time comes
from nbgrader's timestamp.txt beside the notebook; without a readable one it has no time and
is never late. The kernel gets the files beside the notebook, the course's over the student's,
and what it leaves in its folder is kept beside the autograded notebook
(autograding.grading.assignment_files).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograding.course.links import REFERENCE_MODULE
from autograding.grading.assignment_files import (
    AssignmentFiles,
    kept_files,
    previous_files,
    write_kept,
)
from autograding.grading.files import STATE_DIR, atomic_write, autograded_path, marker_path
from autograding.grading.gradebook import course_late_policy, one_transaction
from autograding.grading.settings import BatchPlan
from autograding.grading.submission import SubmissionError, read_bytes_safely
from autograding.grading.tasks import Task

STAMP_MAX_BYTES = 200  # nbgrader's timestamp.txt holds one line

# A notebook writer: called with the finished notebook and its task; made once per batch by a
# factory that gets the batch plan and the batch's open gradebook.
NotebookWriter = Callable[[object, Task], None]
NotebookWriterFactory = Callable[[BatchPlan, object], NotebookWriter]


@dataclass(frozen=True)
class BatchHooks:
    """What the caller writes besides the gradebook and the autograded notebooks."""

    notebook_writers: Sequence[NotebookWriterFactory] = ()  # per notebook, before its marker
    batch_writers: Sequence[Callable] = ()  # (plan, report) once graded, in the batch lock
    # Called once in a background thread while the first notebooks run (with the `warm`
    # method of each notebook writer that has one): the imports and templates the writers
    # need, made while the parent would only wait for the workers. They touch no gradebook.
    warm_ups: Sequence[Callable[[], None]] = ()


class NotebookRecorder:
    """Prepares each notebook's job and records its result, for one batch."""

    def __init__(self, plan: BatchPlan, gradebook, hooks: BatchHooks):
        self.plan = plan
        self.gb = gradebook
        self.writers = [make(plan, gradebook) for make in hooks.notebook_writers]
        self.warm_ups = [*(w.warm for w in self.writers if hasattr(w, "warm")), *hooks.warm_ups]
        self.sandboxes = set()
        # The course's nbgrader config: nbgrader's steps are made with it (its late policy too).
        self.config = course_late_policy(plan.course).config
        self.files = AssignmentFiles(plan.course, plan.course_settings)
        self.given: dict[tuple, dict[str, bytes]] = {}  # files of the jobs not yet finished

    def warm_in_background(self):
        """Start the warm-ups (BatchHooks.warm_ups) in a thread; join it before the exports.
        A warm-up that fails costs nothing: the writer does the same work when first used."""
        import threading

        def warm() -> None:
            for warm_up in self.warm_ups:
                try:
                    warm_up()
                except Exception:  # noqa: BLE001, S110 (only a head start, see above)
                    pass

        thread = threading.Thread(target=warm, name="warm-writers", daemon=True)
        thread.start()
        return thread

    def prepare(self, task: Task):
        """(job, comments) to execute, or (None, comments) when the notebook gets zero."""
        from autograding.engine.workers import notebook_json
        from autograding.grading.pipeline import prepare_submission

        if task.refused:
            return None, [f"{task.path.name}: {task.refused}."]
        if task.snapshot is None and not task.path.exists() and not task.path.is_symlink():
            return None, [_missing_comment(task)]
        try:
            prepared = prepare_submission(task.path, task.master,
                                          task.resources(self.plan.db_url), data=task.snapshot,
                                          config=self.config)
        except SubmissionError as err:
            return None, [f"{err}. This notebook gets zero."]
        given = self.files.for_task(task)
        if not task.canary:
            self.given[_key(task)] = given.files
        job = {"notebook": notebook_json(prepared.notebook),
               "references": reference_modules(task.master),
               "limits": self.plan.limits, "sandbox": self.plan.sandbox,
               "executor": self.plan.settings.executor, "hidden": self.plan.hidden,
               "files": given.files, "keep_files": not task.canary}
        return job, prepared.comments + given.notes

    def finish(self, task: Task, result: dict | None, comments: list[str]) -> None:
        """Scores into the gradebook, autograded notebook, writers' files, then the marker."""
        import nbformat

        from autograding.engine.workers import notebook_from_json
        from autograding.grading.pipeline import assign_late_penalty, record

        stamp, stamp_notes = _read_timestamp(task.path.parent) if not task.refused else (None, [])
        comments = comments + stamp_notes
        seconds = 0.0
        with one_transaction(self.gb):  # the notebook's scores are stored whole or not at all
            self.gb.update_or_create_student(task.student)
            # Always set (None too): a timestamp.txt removed since the last grading takes its
            # time.
            self.gb.update_or_create_submission(task.assignment, task.student, timestamp=stamp)
            if result is None:
                status = "invalid"
                nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
                    "**No gradable notebook**: every graded cell gets zero (see the comments "
                    "above).")])
                self._zero(task)
                assign_late_penalty(nb, task.resources(self.plan.db_url), self.config)
            else:
                status = "graded"
                nb = notebook_from_json(result["notebook"])
                comments = comments + list(result["messages"])
                seconds = result["seconds"]
                self.sandboxes.add(result["sandbox"])
                _fail_after_dead_kernel(nb, result)
                nb, _ = record(nb, task.resources(self.plan.db_url), self.config)
        kept, notes = self._keep_files(task, result)
        comments = comments + notes
        replaced = self._flag(task, result)
        nb.metadata["autograding"] = {"comments": comments, "status": status,
                                      "fingerprint": task.fingerprint, "seconds": seconds,
                                      "hidden_tests": list(task.master.hidden_tests),
                                      "replaced": replaced}
        out_dir = self.plan.out_dir
        atomic_write(autograded_path(out_dir, task.student, task.assignment, task.notebook),
                     nbformat.writes(nb))
        for write in self.writers:
            write(nb, task)
        marker = {"fingerprint": task.fingerprint, "status": status, "comments": comments,
                  "seconds": seconds, "student": task.student, "assignment": task.assignment,
                  "notebook": task.notebook, "files": kept, "replaced": replaced}
        atomic_write(marker_path(out_dir, task), json.dumps(marker, indent=1))

    def _keep_files(self, task: Task, result: dict | None) -> tuple[list[str], list[str]]:
        """(names, notes): the run's files written beside the autograded notebook, those an
        earlier run of it left and no notebook of the assignment keeps now removed."""
        given = self.given.pop(_key(task), {})
        kept, notes = kept_files(given, result.get("files")) if result else ({}, [])
        marker = marker_path(self.plan.out_dir, task)
        siblings = set()
        for other in marker.parent.glob("*.json"):
            if other != marker:
                siblings.update(previous_files(other))
        stale = set(previous_files(marker)) - set(kept) - siblings
        folder = autograded_path(self.plan.out_dir, task.student, task.assignment,
                                 task.notebook).parent
        notes += write_kept(folder, kept, sorted(stale), atomic_write)
        return sorted(kept), notes

    def _flag(self, task: Task, result: dict | None) -> list[str]:
        """What the notebook's code replaced of what its tests compare with (the executor's
        check, autograding.engine.patch_check), and nbgrader's `flagged` set on its submitted
        notebook for the instructor's review (the formgrader shows it); a new grading without
        a replacement clears only a flag the grader set."""
        replaced = [str(name) for name in (result or {}).get("replaced", [])]
        try:
            before = json.loads(marker_path(self.plan.out_dir, task).read_text("utf-8"))
        except (OSError, ValueError):
            before = {}
        if replaced or before.get("replaced"):
            submitted = self.gb.find_submission_notebook(task.notebook, task.assignment,
                                                         task.student)
            submitted.flagged = bool(replaced)
            self.gb.db.commit()
        return replaced

    def _zero(self, task: Task) -> None:
        """Every graded cell of the task's notebook gets zero, needing no manual grade."""
        submitted = self.gb.find_submission_notebook(task.notebook, task.assignment,
                                                     task.student)
        for grade in submitted.grades:
            grade.auto_score = 0.0
            grade.needs_manual_grade = False
        self.gb.db.commit()


def _key(task: Task) -> tuple:
    """A notebook of the batch."""
    return task.student, task.assignment, task.notebook


def replaced_by_submission(out_dir: Path) -> dict[tuple[str, str], list[str]]:
    """{(student, assignment): what its notebooks' code replaced of what tests compare with},
    read from the done-markers in `out_dir` (each notebook's last grading)."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted((Path(out_dir) / STATE_DIR / "done").glob("*/*/*.json")):
        try:
            names = json.loads(path.read_text("utf-8")).get("replaced")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(names, list) and names:
            seen = found.setdefault((path.parent.parent.name, path.parent.name), [])
            seen += [str(name) for name in names if str(name) not in seen]
    return found


def reference_modules(master) -> list[str]:
    """The course's reference modules that the master's tests import: the kernel imports them
    before the first cell, so they hold the originals (course_utils/reference.py)."""
    tests = [cell.source for cell in master.cells if cell.is_test]
    return [name for name in (REFERENCE_MODULE,) if any(name in source for source in tests)]


def _read_timestamp(folder: Path) -> tuple[object, list[str]]:
    """(naive UTC time or None, comments) from nbgrader's timestamp.txt of a submission folder;
    a time without a zone is UTC, as nbgrader reads it."""
    from autograding.grading.late_policy import TimeFormatError, parse_time

    path = folder / "timestamp.txt"
    if not path.exists() and not path.is_symlink():
        return None, []
    try:
        text = read_bytes_safely(path, STAMP_MAX_BYTES).decode()
        return parse_time(text, naive_is_utc=True), []
    except SubmissionError:
        why = f"not a regular file of at most {STAMP_MAX_BYTES} bytes"
    except UnicodeDecodeError:
        why = "not text"
    except (TimeFormatError, OverflowError) as err:
        why = str(err)
    return None, [f"timestamp.txt could not be read ({why}); the submission time is unknown, "
                  "so it is not counted as late."]


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
