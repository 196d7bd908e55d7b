"""grades.csv, the score-distribution plot and the terminal table, from the gradebook alone.

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
- status `missing`: the gradebook holds no submission of that student for that assignment.
  timestamp, raw_score, late_submission_penalty, score and the cell columns stay empty, so
  an LMS import records no grade; max_score is filled.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

# The columns of nbgrader's own CSV export (nbgrader/plugins/export.py), in its order.
NBGRADER_COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score",
]
STATUS_COLUMN = "status"
GRADED, MISSING = "graded", "missing"


@dataclass
class ExportResult:
    """What an export wrote."""

    csv_path: Path
    plot_path: Path | None
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)


def _text(value) -> str:
    """nbgrader's CSV formatting: None as empty, everything else str()."""
    return "" if value is None else str(value)


def cell_column(notebook: str, grade_id: str) -> str:
    """CSV column of one graded cell."""
    return f"{notebook}:{grade_id}"


def grade_rows(db_url: str) -> tuple[list[str], list[dict]]:
    """(columns, rows): nbgrader's export columns, a status column and one column per graded
    cell; rows by the rule of the module docstring."""
    from nbgrader.api import Gradebook

    from autograding.grading.gradebook import COURSE_ID

    rows, cell_columns = [], []
    with Gradebook(db_url, COURSE_ID) as gb:
        handed_in = sorted((a for a in gb.assignments if a.submissions), key=lambda a: a.name)
        students = sorted(gb.students, key=lambda s: s.id)
        for assignment in handed_in:
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                for cell in sorted(notebook.grade_cells + notebook.task_cells,
                                   key=lambda c: c.name):
                    cell_columns.append(cell_column(notebook.name, cell.name))
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
                    penalty = submission.late_submission_penalty
                    row.update(timestamp=submission.timestamp, raw_score=submission.score,
                               late_submission_penalty=penalty,
                               score=max(0.0, submission.score - (penalty or 0.0)))
                    row[STATUS_COLUMN] = GRADED
                    for nb in submission.notebooks:
                        for grade in nb.grades:
                            row[cell_column(nb.name, grade.cell.name)] = float(grade.score)
                rows.append({k: _text(v) for k, v in row.items()})
    return NBGRADER_COLUMNS + [STATUS_COLUMN] + cell_columns, rows


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write grades.csv atomically (columns a row lacks stay empty)."""
    from autograding.grading.grade import atomic_write

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue())


def distribution(db_url: str) -> dict[str, tuple[dict, int, int]]:
    """{assignment: ({cell label: [(score, max score) per submission]}, handed in, missing)}
    for the assignments that have rows (module docstring): a missing row is counted as
    missing, never as a zero."""
    from nbgrader.api import Gradebook

    from autograding.grading.gradebook import COURSE_ID

    data = {}
    with Gradebook(db_url, COURSE_ID) as gb:
        students = len(gb.students)
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            per_cell = {}
            for submission in assignment.submissions:
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        label = f"{grade.cell.name} ({float(grade.max_score):g} pt)"
                        per_cell.setdefault(label, []).append(
                            (float(grade.score), float(grade.max_score)))
            if per_cell:
                handed_in = len(assignment.submissions)
                data[assignment.name] = (dict(sorted(per_cell.items())), handed_in,
                                         students - handed_in)
    return data


def plot_distribution(path: Path, db_url: str) -> Path | None:
    """PNG with, per assignment, how many submissions got full, partial or zero points on each
    graded cell, and how many students handed it in; None when nothing was graded yet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counted = distribution(db_url)
    data = {name: cells for name, (cells, _, _) in counted.items()}
    if not data:
        return None
    fig, axes = plt.subplots(len(data), 1, squeeze=False,
                             figsize=(8, 1.2 + sum(0.35 * len(c) + 0.8 for c in data.values())),
                             gridspec_kw={"height_ratios": [len(c) + 1 for c in data.values()]})
    colors = {"full": "#2e7d32", "partial": "#f9a825", "zero": "#c62828"}
    for ax, (assignment, cells) in zip(axes[:, 0], data.items(), strict=True):
        names = list(cells)
        counts = {k: [] for k in colors}
        for name in names:
            scores = cells[name]
            full = sum(1 for s, m in scores if m > 0 and s >= m)
            zero = sum(1 for s, m in scores if s <= 0)
            counts["full"].append(full)
            counts["zero"].append(zero)
            counts["partial"].append(len(scores) - full - zero)
        left = [0] * len(names)
        for kind, color in colors.items():
            ax.barh(names, counts[kind], left=left, color=color, label=kind)
            left = [a + b for a, b in zip(left, counts[kind], strict=True)]
        ax.invert_yaxis()
        _, handed_in, missing = counted[assignment]
        ax.set_title(f"{assignment}: {handed_in} handed in, {missing} missing", fontsize=10,
                     loc="left")
        ax.set_xlabel("submissions")
        ax.tick_params(axis="y", labelsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Score distribution per graded cell", x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    from autograding.grading.grade import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, buffer.getvalue())
    return path


def export_outputs(out_dir: Path, db_url: str | None = None) -> ExportResult:
    """Write out/grades.csv and out/score_distribution.png from the gradebook."""
    from autograding.grading.gradebook import db_url_for

    out_dir = Path(out_dir)
    db_url = db_url or db_url_for(out_dir)
    columns, rows = grade_rows(db_url)
    csv_path = out_dir / "grades.csv"
    write_csv(csv_path, columns, rows)
    plot = plot_distribution(out_dir / "score_distribution.png", db_url)
    return ExportResult(csv_path, plot, columns, rows)


def summary_table(rows: list[dict], notes: dict | None = None) -> str:
    """Terminal table: one line per student, score/max per assignment (else the row's status:
    `missing`, or `error` where `grade` could not finish it), then the mean of the graded
    rows and how many students handed the assignment in."""
    assignments = sorted({r["assignment"] for r in rows})
    students = sorted({r["student_id"] for r in rows})
    cell = {(r["student_id"], r["assignment"]): r for r in rows}
    width = max([len("handed in")] + [len(s) for s in students])
    cols = [max(len(a), 11) for a in assignments]
    header = "student".ljust(width) + "".join(f"  {a:>{w}}" for a, w in zip(assignments, cols,
                                                                           strict=True))
    lines = [header, "-" * len(header)]
    for student in students:
        line = student.ljust(width)
        for assignment, w in zip(assignments, cols, strict=True):
            row = cell.get((student, assignment))
            status = "-" if row is None else row.get(STATUS_COLUMN) or GRADED
            text = (f"{float(row['score']):g}/{float(row['max_score']):g}" if status == GRADED
                    else status)
            line += f"  {text:>{w}}"
        flag = (notes or {}).get(student)
        lines.append(line + (f"  {flag}" if flag else ""))
    if students:
        mean_line, count_line = "mean".ljust(width), "handed in".ljust(width)
        for assignment, w in zip(assignments, cols, strict=True):
            statuses = [(cell[(s, assignment)].get(STATUS_COLUMN) or GRADED,
                         cell[(s, assignment)]["score"]) for s in students
                        if (s, assignment) in cell]
            graded = [float(score) for status, score in statuses if status == GRADED]
            handed_in = sum(1 for status, _ in statuses if status != MISSING)
            mean = sum(graded) / len(graded) if graded else 0.0
            mean_line += f"  {mean:>{w}.2f}"
            count_line += f"  {f'{handed_in}/{len(statuses)}':>{w}}"
        lines += ["-" * len(header), mean_line, count_line]
    return "\n".join(lines)
