"""grades.csv: nbgrader's export columns, a status column and one column per graded cell.

The cell columns are named `assignment/notebook:grade_id` (e.g. `ps1/problem1:squares`): unique
in the whole gradebook, since nbgrader's grade ids are unique only within one notebook and two
assignments may each have a notebook of the same name. They follow the other columns, sorted by
assignment, notebook and grade id; a row fills only its own assignment's.

Which rows: `grade` and `export` apply the same rule, and read it from the gradebook alone.
- An assignment gets rows only when someone handed it in: the gradebook holds at least one
  submission of it. Every master is registered in the gradebook, and a shared gradebook keeps
  the assignments of earlier batches: one without any submission gets no rows and no columns.
- Such an assignment gets one row per student of the gradebook: whoever handed in anything
  into it (in this batch or an earlier one), every student folder `grade` was given (an
  empty one too), and students registered with nbgrader (a roster).
- status `graded`: the gradebook holds the student's submission; the row has its scores.
  A hand-in with nothing gradable (an empty assignment folder, a misnamed, empty or corrupt
  notebook) is graded: zero, and its feedback page says why.
- duedate (the assignment's), timestamp (the submission's, from timestamp.txt): UTC, as
  nbgrader keeps them; score = raw_score - late_submission_penalty (nbgrader's
  AssignLatePenalties, by the course's policy), never below 0.
- flags: what the instructor should review. `replaced torch.allclose, builtins.abs`: the
  notebook's code replaced what tests compare with (read from the done-markers of the output
  folder; nbgrader's `flagged` is set in the gradebook too); `flagged`: flagged in the
  gradebook (by the grader, or by hand in nbgrader's formgrader); empty otherwise.
- status `missing`: the gradebook holds no submission of that student for that assignment.
  timestamp, raw_score, late_submission_penalty, score and the cell columns stay empty, so
  an LMS import records no grade; max_score is filled.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

# The columns of nbgrader's own CSV export (nbgrader/plugins/export.py), in its order.
NBGRADER_COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score",
]
STATUS_COLUMN = "status"
FLAGS_COLUMN = "flags"
GRADED, MISSING = "graded", "missing"


def _text(value) -> str:
    """nbgrader's CSV formatting: None as empty, everything else str()."""
    return "" if value is None else str(value)


def cell_column(assignment: str, notebook: str, grade_id: str) -> str:
    """CSV column of one graded cell: `assignment/notebook:grade_id`."""
    return f"{assignment}/{notebook}:{grade_id}"


def grade_rows(db_url: str, out_dir: Path | None = None) -> tuple[list[str], list[dict]]:
    """(columns, rows): nbgrader's export columns, a status column, a flags column (its names
    from the done-markers of `out_dir`, when given) and one column per graded cell; rows by
    the rule of the module docstring."""
    from nbgrader.api import Gradebook

    from autograding.grading.gradebook import ANY_COURSE
    from autograding.grading.record import replaced_by_submission

    rows, cell_columns = [], []
    replaced = replaced_by_submission(out_dir) if out_dir is not None else {}
    with Gradebook(db_url, ANY_COURSE) as gb:
        handed_in = sorted((a for a in gb.assignments if a.submissions), key=lambda a: a.name)
        students = sorted(gb.students, key=lambda s: s.id)
        for assignment in handed_in:
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                for cell in sorted(notebook.grade_cells + notebook.task_cells,
                                   key=lambda c: c.name):
                    cell_columns.append(cell_column(assignment.name, notebook.name,
                                                    cell.name))
        for assignment in handed_in:
            submissions = {s.student.id: s for s in assignment.submissions}
            for student in students:
                row = {
                    "assignment": assignment.name, "duedate": assignment.duedate,
                    "student_id": student.id, "last_name": student.last_name,
                    "first_name": student.first_name, "email": student.email,
                    "max_score": assignment.max_score,
                }
                submission = submissions.get(student.id)
                if submission is None:  # no grade: empty, not 0, so an LMS records nothing
                    row.update(timestamp=None, raw_score=None, late_submission_penalty=None,
                               score=None)
                    row[STATUS_COLUMN] = MISSING
                else:
                    # nbgrader's rule; rounded, or 4.8 - 1.2 would print as 3.5999999999999996
                    penalty = submission.late_submission_penalty
                    row.update(timestamp=submission.timestamp, raw_score=submission.score,
                               late_submission_penalty=penalty,
                               score=round(max(0.0, submission.score - (penalty or 0.0)), 6))
                    row[STATUS_COLUMN] = GRADED
                    row[FLAGS_COLUMN] = _flags(submission, replaced.get((student.id,
                                                                         assignment.name)))
                    for nb in submission.notebooks:
                        for grade in nb.grades:
                            row[cell_column(assignment.name, nb.name,
                                            grade.cell.name)] = float(grade.score)
                rows.append({k: _text(v) for k, v in row.items()})
    return NBGRADER_COLUMNS + [STATUS_COLUMN, FLAGS_COLUMN] + cell_columns, rows


def _flags(submission, replaced) -> str:
    """A graded row's flags column (see the module docstring)."""
    if replaced:
        return "replaced " + ", ".join(replaced)
    return "flagged" if any(nb.flagged for nb in submission.notebooks) else ""


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write grades.csv atomically (columns a row lacks stay empty)."""
    from autograding.grading.files import atomic_write

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue())
