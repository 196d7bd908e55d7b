"""The terminal summary: one line per student, score or status per assignment, then means.

Scores are after the late penalty (grades.csv's `score`); a `*` marks a score that lost points
to it, and a list under the table names every hand-in submitted after its due date: how late,
and its score before and after the penalty. A `!` marks a hand-in flagged for the instructor's
review (grades.csv's flags: its code replaced what tests compare with), listed under the table
with what it replaced.
"""

from __future__ import annotations

import datetime as dt

from autograding.reports.grades_csv import (
    FLAGS_COLUMN,
    GRADED,
    MISSING,
    STATUS_COLUMN,
    grade_rows,
)

LATE_MARK = "*"
FLAG_MARK = "!"


def _number(text) -> float:
    """A number column of a grades.csv row (empty: 0)."""
    return float(text) if text not in (None, "") else 0.0


def _seconds_late(row: dict) -> float:
    """Seconds between a row's due date and its timestamp (0: on time, unknown or no due
    date)."""
    try:
        due = dt.datetime.fromisoformat(row.get("duedate") or "")
        submitted = dt.datetime.fromisoformat(row.get("timestamp") or "")
    except ValueError:
        return 0.0
    return max(0.0, (submitted - due).total_seconds())


def late_lines(rows: list[dict]) -> list[str]:
    """One line per graded row submitted after its due date: how late, the penalty, scores."""
    from autograding.grading.late_policy import describe_delay

    lines = []
    for row in sorted(rows, key=lambda r: (r["student_id"], r["assignment"])):
        seconds = _seconds_late(row)
        if (row.get(STATUS_COLUMN) or GRADED) != GRADED or seconds <= 0:
            continue
        penalty = _number(row.get("late_submission_penalty"))
        cost = (f"{_number(row['raw_score']):g} - {penalty:g} = {_number(row['score']):g}"
                if penalty else "no penalty")
        lines.append(f"  {row['student_id']} {row['assignment']}: late by "
                     f"{describe_delay(seconds)}, {cost}")
    return lines


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
            if status == GRADED and _number(row.get("late_submission_penalty")) > 0:
                text += LATE_MARK
            if status == GRADED and row.get(FLAGS_COLUMN):
                text += FLAG_MARK
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
    late = late_lines(rows)
    if late:
        lines += [f"late hand-ins ({LATE_MARK}: the score lost points to the late penalty):",
                  *late]
    flagged = [f"  {row['student_id']} {row['assignment']}: {row[FLAGS_COLUMN]}"
               for row in sorted(rows, key=lambda r: (r["student_id"], r["assignment"]))
               if (row.get(STATUS_COLUMN) or GRADED) == GRADED and row.get(FLAGS_COLUMN)]
    if flagged:
        lines += [f"flagged for review ({FLAG_MARK}: see grades.csv's flags and the feedback):",
                  *flagged]
    return "\n".join(lines)


def batch_summary(report, assignments=()) -> str:
    """The summary table of a grading batch (autograding.grading.results.GradingReport): its
    students' rows of grades.csv, `error` where the grader could not finish a hand-in, and a
    flag for each student whose feedback carries comments."""
    _, rows = grade_rows(report.db_url, report.out_dir)
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
