"""The master check: each master, run in the batch's sandbox, must get full marks there.

A master that loses points in the sandbox means the sandbox or the executor breaks a correct
solution, so every score of that assignment may be too low. Only autograded points count: a
manually graded answer or a task has no score until a person grades it, and is not lost. A
failing master is noted once (a batch note, printed by the CLI). A check that passed is remembered
under a key of everything that could change its outcome (the master's bytes and the files
beside it, sandbox, executor, limits, pipeline, grader code, Python and library versions), in
out/.autograding/master-checks.json and in the user's cache
($XDG_CACHE_HOME/linreg-course/master-checks.json), so no later batch on this account runs it
again, into the same folder or a new one (five masters cost ~12 s of kernel time).
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

from autograding.grading.assignment_files import AssignmentFiles
from autograding.grading.files import STATE_DIR, atomic_write, user_cache_dir
from autograding.grading.tasks import PIPELINE_VERSION, Task

CACHE_NAME = "master-checks.json"
VERSIONED = ("torch", "numpy", "nbgrader", "ipykernel")


def canaries(todo) -> list[Task]:
    """One master-check task per master notebook that this batch grades."""
    seen, tasks = set(), []
    for task in todo:
        key = (task.assignment, task.notebook)
        if key not in seen and task.master.path is not None:
            seen.add(key)
            tasks.append(Task("(master)", task.assignment, task.master, task.master.path,
                              canary=True))
    return tasks


def _grader_code_digest() -> str:
    """sha256 of the grader's engine and grading code: a change there may change scores."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted([*package.glob("engine/*.py"), *package.glob("grading/*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _versions() -> str:
    """Python's and the kernel's main libraries' versions."""
    found = []
    for name in VERSIONED:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=-")
    return f"python={sys.version.split()[0]} " + " ".join(found)


class MasterChecks:
    """The batch's master checks: which to run, and what they found."""

    def __init__(self, plan, report):
        self.plan = plan
        self.report = report
        # The batch's folder first: a cache that cannot be written still leaves a record there.
        self.paths = (plan.out_dir / STATE_DIR / CACHE_NAME, user_cache_dir() / CACHE_NAME)
        settings = plan.settings
        self.context = "\0".join([PIPELINE_VERSION, plan.sandbox, settings.executor,
                                  repr(plan.limits), _grader_code_digest(), _versions()])
        self.files = AssignmentFiles(plan.course, plan.course_settings)
        self.passed = {}
        for path in reversed(self.paths):
            self.passed.update(_read_passed(path))

    def key(self, task: Task) -> str:
        """Cache key of a master check."""
        files = self.files.course_files(task.assignment, everything=True).digest()
        return hashlib.sha256(f"{task.master.sha256}\0{files}\0{self.context}".encode()
                              ).hexdigest()

    def to_run(self, todo) -> list[Task]:
        """Master checks of `todo`'s masters that have not passed under the same conditions
        (all of them with --force); the remembered ones are reported as passed."""
        tasks = []
        for task in canaries(todo):
            remembered = self.passed.get(self.key(task))
            if remembered and not self.plan.settings.force:
                name = f"{task.assignment}/{task.notebook}"
                self.report.master_checks[name] = tuple(remembered)
                self.report.master_checks_remembered.append(name)
            else:
                tasks.append(task)
        return tasks

    def check(self, task: Task, result: dict) -> None:
        """Note a master that does not get full marks (instructor-facing); remember a pass."""
        score, points, failed = _score(result)
        name = f"{task.assignment}/{task.notebook}"
        if failed is None:
            self.report.notes.append(f"master check: {task.path} could not be run "
                                     f"({result['error'].strip().splitlines()[-1]})")
            return
        self.report.master_checks[name] = (score, points)
        if failed:
            note = (f"master check: {task.path} scores {score:g}/{points:g} in this sandbox; "
                    f"failing: {'; '.join(failed)}. The sandbox or executor breaks a correct "
                    f"solution, so scores of {task.assignment} may be too low.")
            self.report.notes.append(note)
            return
        self.passed[self.key(task)] = [score, points]
        for path in self.paths:
            # Others' passes too: two batches into different folders both keep theirs.
            passed = {**_read_passed(path), **self.passed}
            try:
                atomic_write(path, json.dumps(passed, indent=1, sort_keys=True))
            except OSError:  # a read-only home (or out/ gone): the check runs again next time
                pass


def _read_passed(path: Path) -> dict:
    """The remembered passes in `path` ({} when it is missing or unreadable)."""
    try:
        passed = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return passed if isinstance(passed, dict) else {}


def _score(result: dict) -> tuple[float, float, list[str] | None]:
    """(score, points, failing cells) of an executed master's autograded cells (manually graded
    ones have no score yet); failing is None when it did not run at all."""
    import nbformat
    from nbgrader.utils import is_grade, is_solution

    from autograding.grading.scoring import score_cell

    if "error" in result:
        return 0.0, 0.0, None
    nb = nbformat.reads(result["notebook"], as_version=4)
    score = points = 0.0
    failed = []
    for cell in nb.cells:
        if not is_grade(cell) or is_solution(cell):  # a graded answer is graded by hand
            continue
        got, most = score_cell(cell)
        if got is None:  # nbgrader's determine_grade leaves it to a person too
            continue
        score, points = score + float(got), points + float(most)
        if float(got) < float(most):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            why = (f"{errors[0].get('ename')}: {str(errors[0].get('evalue'))[:150]}" if errors
                   else "gave partial credit")
            failed.append(f"{cell.metadata['nbgrader']['grade_id']} ({why})")
    return score, points, failed
