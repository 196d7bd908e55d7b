"""The terminal summary: one line per student, score or status per assignment, then means."""

from __future__ import annotations

from autograding.reports.grades_csv import GRADED, MISSING, STATUS_COLUMN, grade_rows


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


def batch_summary(report, assignments=()) -> str:
    """The summary table of a grading batch (autograding.grading.results.GradingReport): its
    students' rows of grades.csv, `error` where the grader could not finish a hand-in, and a
    flag for each student whose feedback carries comments."""
    _, rows = grade_rows(report.db_url)
    students = {key[0] for key in report.results}
    counts = {s: sum(len(r.comments) for k, r in report.results.items() if k[0] == s)
              for s in students}
    flags = {s: f"({n} comment{'s' if n > 1 else ''}, see feedback)"
             for s, n in counts.items() if n}
    # The gradebook cannot tell a hand-in the grader failed on from one never handed in.
    failed = {key for key, result in report.results.items() if result.status == "error"}
    rows = [dict(r, status="error") if (r["student_id"], r["assignment"]) in failed else r
            for r in rows if r["student_id"] in students
            and not (assignments and r["assignment"] not in assignments)]
    return summary_table(rows, flags)
