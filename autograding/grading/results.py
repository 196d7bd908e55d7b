"""What a batch did: per (student, assignment) results, read back from the gradebook and markers.

A result per handed-in assignment, and a `missing` one (no scores) for each student of the
batch who did not hand in an assignment that someone in the gradebook did. grades.csv applies
the same rule (autograding.reports.grades_csv) to every student of the gradebook; a batch's
report covers its own student folders and assignment filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograding.grading.tasks import read_marker


@dataclass
class SubmissionResult:
    """Scores and comments of one student's assignment."""

    student: str
    assignment: str
    # Keyed by grade id; by `notebook:grade_id` in an assignment of several notebooks, where
    # nbgrader lets two notebooks use one grade id (cell_key).
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    # graded | invalid (handed in, nothing gradable: zero, the comments say why) | missing (not
    # handed in while others did: no scores) | error (not graded, retried next run)
    status: str = "graded"
    seconds: float = 0.0
    late_penalty: float = 0.0  # points the course's late policy takes off (gradebook)
    # what its notebooks' code replaced of what tests compare with: flagged for review
    replaced: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        """Points earned by the cells, before any late penalty."""
        return float(sum(self.scores.values()))

    @property
    def final_total(self) -> float:
        """Points after the late penalty (never below 0): the grade an LMS should get."""
        return max(0.0, self.total - self.late_penalty)

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
    csv_path: Path | None = None  # set by whoever exports (autograding.api: reports.export)
    plot_path: Path | None = None
    master_checks: dict[str, tuple[float, float]] = field(default_factory=dict)
    # master checks passed by an earlier batch into this folder, under the same conditions
    master_checks_remembered: list[str] = field(default_factory=list)

    def scores(self) -> dict[tuple[str, str], dict[str, float]]:
        """{(student, assignment): {cell key: score}} (cell keys: SubmissionResult.scores)."""
        return {key: dict(r.scores) for key, r in self.results.items()}

    def totals(self) -> dict[tuple[str, str], float]:
        """{(student, assignment): points earned, before any late penalty}."""
        return {key: r.total for key, r in self.results.items()}

    def final_totals(self) -> dict[tuple[str, str], float]:
        """{(student, assignment): points after the late penalty}."""
        return {key: r.final_total for key, r in self.results.items()}

    @property
    def feedback_dir(self) -> Path:
        """Folder of the feedback HTML files (nbgrader's layout)."""
        return self.out_dir / "feedback"


def cell_key(grade_id: str, notebook: str, notebooks: int) -> str:
    """A cell's key in SubmissionResult.scores: its grade id, prefixed by its notebook's name
    when its assignment has several notebooks (grade ids are unique only per notebook)."""
    return f"{notebook}:{grade_id}" if notebooks > 1 else grade_id


def _notebook_count(gb, assignment: str) -> int:
    """How many notebooks the gradebook's assignment has (1 when it is not there)."""
    from nbgrader.api import MissingEntry

    try:
        return max(1, len(gb.find_assignment(assignment).notebooks))
    except MissingEntry:
        return 1


def missing_hand_ins(gb, roster: list[str], settings) -> list[tuple[str, str]]:
    """(student, assignment) for each student of `roster` without a submission of an
    assignment (within the settings' filter) that someone in the gradebook handed in."""
    missing = []
    for assignment in sorted(gb.assignments, key=lambda a: a.name):
        if not assignment.submissions or not settings.wants_assignment(assignment.name):
            continue
        handed_in = {submission.student.id for submission in assignment.submissions}
        missing += [(student, assignment.name) for student in roster
                    if student not in handed_in]
    return missing


def collect_results(report: GradingReport, tasks, roster: list[str], settings) -> None:
    """Fill report.results from the gradebook and the done-markers (same after a resume), and
    a `missing` result, without scores, for each hand-in the roster lacks."""
    from nbgrader.api import Gradebook

    from autograding.grading.gradebook import ANY_COURSE

    with Gradebook(report.db_url, ANY_COURSE) as gb:
        for task in tasks:
            _add_task(report, task, gb)
        for (student, assignment), result in report.results.items():
            if result.status in ("graded", "invalid"):
                result.late_penalty = _late_penalty(gb, assignment, student)
        for key in missing_hand_ins(gb, roster, settings):
            if key in report.results:  # a hand-in the grader could not finish: status error
                continue
            result = report.results[key] = SubmissionResult(*key, status="missing")
            notebooks = gb.find_assignment(key[1]).notebooks
            for notebook in notebooks:
                for cell in notebook.grade_cells + notebook.task_cells:
                    name = cell_key(cell.name, notebook.name, len(notebooks))
                    result.max_scores[name] = float(cell.max_score)


def _late_penalty(gb, assignment: str, student: str) -> float:
    """The late penalty nbgrader's AssignLatePenalties stored for a submission (0 if none)."""
    from nbgrader.api import MissingEntry

    try:
        return float(gb.find_submission(assignment, student).late_submission_penalty or 0.0)
    except MissingEntry:
        return 0.0


def _add_task(report: GradingReport, task, gb) -> None:
    """Add one notebook's scores, comments and status to its assignment's result."""
    from nbgrader.api import MissingEntry

    key = (task.student, task.assignment)
    result = report.results.setdefault(key, SubmissionResult(*key))
    notebooks = _notebook_count(gb, task.assignment)
    marker = read_marker(report.out_dir, task)
    if marker is None:
        result.status = "error"
        result.comments.append(f"{task.notebook}: not graded (see the batch notes)")
        for cell in task.master.graded_cells:
            name = cell_key(cell.grade_id, task.notebook, notebooks)
            result.scores[name] = 0.0
            result.max_scores[name] = cell.points
        return
    if result.status == "graded" or marker["status"] != "graded":
        # Markers written before `missing` meant "not handed in" said `missing` for a
        # folder without its notebook.
        result.status = {"missing": "invalid"}.get(marker["status"], marker["status"])
    result.comments += marker["comments"]
    result.replaced += [name for name in marker.get("replaced", []) if name not in result.replaced]
    result.seconds += marker.get("seconds", 0.0)
    try:
        notebook = gb.find_submission_notebook(task.notebook, task.assignment, task.student)
    except MissingEntry:
        return
    for grade in notebook.grades:
        name = cell_key(grade.cell.name, task.notebook, notebooks)
        result.scores[name] = float(grade.score)
        result.max_scores[name] = float(grade.max_score)
