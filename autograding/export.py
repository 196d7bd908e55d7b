"""grades.csv, the score-distribution plot and the terminal table, from the gradebook alone."""

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
    """(columns, rows): nbgrader's export rows plus one column per graded cell."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograding.gradebook import COURSE_ID

    rows, cell_columns = [], []
    with Gradebook(db_url, COURSE_ID) as gb:
        assignments = sorted(gb.assignments, key=lambda a: a.name)
        for assignment in assignments:
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                for cell in sorted(notebook.grade_cells + notebook.task_cells,
                                   key=lambda c: c.name):
                    cell_columns.append(cell_column(notebook.name, cell.name))
        for assignment in assignments:
            for student in sorted(gb.students, key=lambda s: s.id):
                row = {
                    "assignment": assignment.name, "duedate": assignment.duedate,
                    "student_id": student.id, "last_name": student.last_name,
                    "first_name": student.first_name, "email": student.email,
                    "max_score": assignment.max_score,
                }
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0,
                               score=0.0)
                    for notebook in assignment.notebooks:
                        for cell in notebook.grade_cells + notebook.task_cells:
                            row[cell_column(notebook.name, cell.name)] = 0.0
                else:
                    penalty = submission.late_submission_penalty
                    row.update(timestamp=submission.timestamp, raw_score=submission.score,
                               late_submission_penalty=penalty,
                               score=max(0.0, submission.score - (penalty or 0.0)))
                    for nb in submission.notebooks:
                        for grade in nb.grades:
                            row[cell_column(nb.name, grade.cell.name)] = float(grade.score)
                rows.append({k: _text(v) for k, v in row.items()})
    return NBGRADER_COLUMNS + cell_columns, rows


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write grades.csv atomically (cells missing for a row stay empty)."""
    from autograding.grade import atomic_write

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue())


def plot_distribution(path: Path, db_url: str) -> Path | None:
    """PNG with, per assignment, how many submissions got full, partial or zero points on each
    graded cell; None when nothing was graded yet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nbgrader.api import Gradebook

    from autograding.gradebook import COURSE_ID

    data = {}
    with Gradebook(db_url, COURSE_ID) as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            per_cell = {}
            for submission in assignment.submissions:
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        label = f"{grade.cell.name} ({float(grade.max_score):g} pt)"
                        per_cell.setdefault(label, []).append(
                            (float(grade.score), float(grade.max_score)))
            if per_cell:
                data[assignment.name] = dict(sorted(per_cell.items()))
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
        ax.set_title(assignment, fontsize=10, loc="left")
        ax.set_xlabel("submissions")
        ax.tick_params(axis="y", labelsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Score distribution per graded cell", x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    from autograding.grade import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, buffer.getvalue())
    return path


def export_outputs(out_dir: Path, db_url: str | None = None) -> ExportResult:
    """Write out/grades.csv and out/score_distribution.png from the gradebook."""
    from autograding.gradebook import db_url_for

    out_dir = Path(out_dir)
    db_url = db_url or db_url_for(out_dir)
    columns, rows = grade_rows(db_url)
    csv_path = out_dir / "grades.csv"
    write_csv(csv_path, columns, rows)
    plot = plot_distribution(out_dir / "score_distribution.png", db_url)
    return ExportResult(csv_path, plot, columns, rows)


def summary_table(rows: list[dict], notes: dict | None = None) -> str:
    """Terminal table: one line per student, score/max per assignment, then the class mean."""
    assignments = sorted({r["assignment"] for r in rows})
    students = sorted({r["student_id"] for r in rows})
    cell = {(r["student_id"], r["assignment"]): r for r in rows}
    width = max([len("student")] + [len(s) for s in students])
    cols = [max(len(a), 11) for a in assignments]
    header = "student".ljust(width) + "".join(f"  {a:>{w}}" for a, w in zip(assignments, cols,
                                                                           strict=True))
    lines = [header, "-" * len(header)]
    for student in students:
        line = student.ljust(width)
        for assignment, w in zip(assignments, cols, strict=True):
            row = cell.get((student, assignment))
            text = "-" if row is None else f"{float(row['score']):g}/{float(row['max_score']):g}"
            line += f"  {text:>{w}}"
        flag = (notes or {}).get(student)
        lines.append(line + (f"  {flag}" if flag else ""))
    if students:
        line = "mean".ljust(width)
        for assignment, w in zip(assignments, cols, strict=True):
            scores = [float(cell[(s, assignment)]["score"]) for s in students
                      if (s, assignment) in cell]
            mean = sum(scores) / len(scores) if scores else 0.0
            line += f"  {mean:>{w}.2f}"
        lines += ["-" * len(header), line]
    return "\n".join(lines)
