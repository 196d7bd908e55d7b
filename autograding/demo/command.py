"""The `demo` command (`make demo`): release, build and grade the sample class, check it.

The run prints a students x assignments table of got/expected scores and fails if any
submission differs from its expected score (escape attempts excepted when no sandbox ran), or
if the grader flags for review another set of hand-ins than the one that patches the tests.
Scores are after the late penalty: the class is graded against out/course/, the course with
due dates, where three hand-ins are late (autograding.demo.late).
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

from autograding.course.release import COURSE_ROOT
from autograding.demo.assignments import available_assignments
from autograding.demo.builder import SampleClass, make_sample_class, sandboxed
from autograding.demo.late import hand_in_late, late_hand_ins, make_demo_course
from autograding.demo.roster import FULL_STUDENTS, ROSTER_SIZE

DEMO_MARKER = ".linreg-demo"


def grade_table(sample: SampleClass, totals: dict, width: int = 100) -> tuple[str, int]:
    """Students x assignments table of got/expected scores, and the number of mismatches."""
    names = sorted({a for _, a in sample.expected})
    students = sorted({s for s, _ in sample.expected}, key=_student_order(sample))
    # Columns share what the width leaves after the names and the "  ✘ differs" mark.
    col = max(9, min(13, (width - 22 - len("  ✘ differs")) // max(1, len(names))))
    header = f"{'student':<22}" + "".join(f"{n[:col - 1]:>{col}}" for n in names) + "  ok"
    lines = [header, "-" * min(width, len(header))]
    wrong = 0
    for student in students:
        row = f"{student[:21]:<22}"
        fine = True
        for name in names:
            key = (student, name)
            if key not in sample.expected:
                row += " " * col
                continue
            got = totals.get(key)
            want = sample.expected[key]
            ok = got is not None and math.isclose(got, want, abs_tol=1e-6)
            fine &= ok
            shown = "-" if got is None else f"{got:g}"
            row += f"{shown + '/' + format(want, 'g') + ('' if ok else '!'):>{col}}"
        wrong += not fine
        lines.append(row + ("  ✔" if fine else "  ✘ differs"))
    return "\n".join(lines), wrong


def _student_order(sample: SampleClass):
    """Sort key: students in roster order."""
    order = {s.student: i for i, s in enumerate(sample.submissions)}
    return lambda student: order.get(student, 0)


def run_demo(out_dir="demo-out", *, n_students: int = ROSTER_SIZE, workers=None,
             cell_timeout: float = 10.0, course_root=None, echo=print) -> int:
    """`make demo`: run the masters, release, build a sample class, grade it, print the table."""
    from autograding.course.release import release_notebooks

    out = Path(out_dir).resolve()
    if out.exists() and any(out.iterdir()) and not (out / DEMO_MARKER).exists():
        echo(f"{out}: exists and was not made by the demo; pass another folder")
        return 2
    for sub in ("submitted", "graded", "release", "course", "rosters"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / DEMO_MARKER).write_text("made by `python -m autograding demo`\n")
    started = time.monotonic()
    ids = available_assignments(course_root)
    released = release_notebooks(course_root, out / "release", ids)
    course = make_demo_course(out / "course", Path(course_root or COURSE_ROOT), ids)
    late = late_hand_ins(course, ids)
    echo(f"1/5 released {len(released)} student notebooks into {out / 'release'}")
    echo("2/5 running the masters and the reference notebooks (cached after the first run)")
    sample = make_sample_class(out / "submitted", n_students, course_root=course_root,
                               workers=workers or 2, released_dir=out / "release", echo=echo)
    hand_in_late(sample, late)
    for name, points in sample.max_scores.items():
        got = sum(sample.expected_cells[(FULL_STUDENTS[0][0], name)].values())
        echo(f"  master {name}: {got:g}/{points:g} points"
             + ("" if got == points else "  <- the master fails its own tests"))
    students = {s.student for s in sample.submissions}
    echo(f"  sample class: {len(students)} students, {len(sample.submissions)} submissions "
         f"in {out / 'submitted'}")
    from autograding.api import grade_submissions
    from autograding.engine.limits import Limits

    limits = Limits(cell_timeout=cell_timeout, notebook_timeout=max(120.0, 6 * cell_timeout))
    echo(f"3/5 grading in parallel (cell timeout {cell_timeout:g} s)")
    report = grade_submissions(out / "submitted", out / "graded", workers=workers,
                               limits=limits, course_root=course, force=True)
    totals, late_lines = final_totals(report)
    table, wrong = grade_table(sample, totals)
    echo("4/5 grades after late penalties (got/expected; ! marks a difference)")
    echo(table)
    echo(f"late hand-ins (due dates: {course / 'nbgrader_config.py'})")
    echo(f"  policy: {late.policy.description}")
    echo("\n".join(late_lines) or "  none")
    flagged = {key for key, result in report.results.items() if result.replaced}
    echo("flagged for review (the code replaced what tests compare with; expected: "
         f"{', '.join('/'.join(key) for key in sorted(sample.flagged)) or 'none'})")
    echo("\n".join(f"  {student}/{name}: {', '.join(report.results[(student, name)].replaced)}"
                   for student, name in sorted(flagged)) or "  none")
    echo("5/5 the instructor's desk: grade files for the LMS from its class list, and the "
         "similarity report (python -m autograding export / similarity)")
    desk(sample, report, out, course, echo)
    echo(f"\n{len(sample.submissions)} submissions graded in {report.seconds:.0f} s "
         f"(sandbox: {report.sandbox or 'n/a'}); total demo time "
         f"{time.monotonic() - started:.0f} s")
    leaky = set() if sandboxed(report.sandbox) else sample.needs_sandbox
    mismatched = [k for k in sample.expected
                  if not math.isclose(totals.get(k, -1), sample.expected[k])
                  and k not in leaky]
    if leaky:
        echo(f"note: graded without a sandbox, so {len(leaky)} escape attempts may score "
             "points")
    echo(f"grades CSV : {report.csv_path}")
    echo(f"feedback   : {report.feedback_dir}/<student>/<assignment>/")
    echo(f"plot (PNG) : {report.plot_path}")
    echo(f"gradebook  : {report.db_url}")
    if flagged != sample.flagged:
        echo(f"flagged for review but not expected to be: {sorted(flagged - sample.flagged)}; "
             f"expected but not flagged: {sorted(sample.flagged - flagged)}")
    if mismatched:
        echo(f"{len(mismatched)} submissions differ from their expected score:")
        described = sample.describe()
        for key in mismatched:
            result = report.results.get(key)
            cells = report.scores().get(key, {})
            lost = [g for g, v in sample.expected_cells[key].items() if cells.get(g) != v]
            echo(f"  {key[0]}/{key[1]} ({described[key]}): cells {', '.join(lost)}"
                 + (f"; {result.comments[0][:120]}" if result and result.comments else ""))
    if mismatched or flagged != sample.flagged:
        return 1
    echo("every submission got exactly its expected score and flag")
    return 0


def desk(sample: SampleClass, report, out: Path, course: Path, echo=print) -> None:
    """Canvas and Moodle grade files from rosters of the sample class, and its similarity
    report (autograding.demo.desk), as an instructor makes them after grading."""
    from autograding.demo.desk import lms_files, similarity_summary

    students = sorted({s.student for s in sample.submissions})
    lms_files(out / "graded", out / "rosters", students, sample.max_scores, echo)
    similarity_summary(out / "submitted", out / "graded", course, echo)
    echo("  (the sample class's honest students hand in the masters' own solutions, so they "
         "match each other; bench/bench_similarity.py ranks planted copies among independent "
         "solutions)")


def final_totals(report) -> tuple[dict, list[str]]:
    """({(student, assignment): score after the late penalty}, the summary's lines on the
    late hand-ins), from the batch's gradebook."""
    from autograding.reports.grades_csv import grade_rows
    from autograding.reports.summary import late_lines

    _, rows = grade_rows(report.db_url)
    return report.final_totals(), late_lines(rows)


def add_arguments(parser) -> None:
    """Options of the `demo` command."""
    parser.add_argument("--out", default="demo-out",
                        help="output folder (default ./demo-out; recreated on every run)")
    parser.add_argument("--students", type=int, default=ROSTER_SIZE,
                        help=f"students in the sample class (at least {ROSTER_SIZE}, the "
                        "built-in roster; more adds correct/partial/blank copies)")
    parser.add_argument("--workers", type=int, default=None,
                        help="grading worker processes (default: number of cores)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds per cell before a submission's cell is stopped")


def run(args) -> int:
    """The `demo` command: run_demo with the parsed options."""
    return run_demo(args.out, n_students=args.students, workers=args.workers,
                    cell_timeout=args.timeout)
