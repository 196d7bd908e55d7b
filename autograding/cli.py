"""`linreg-grader` / `python -m autograding`: every stage of the course kit as a command."""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path

PROG = ("python -m autograding" if Path(sys.argv[0]).name in ("__main__.py", "-m", "-c")
        else Path(sys.argv[0]).name)
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
SIZE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


class UsageError(Exception):
    """A bad path or option found after parsing; printed without a traceback, exit code 2."""


def parse_size(text: str) -> int:
    """'2G', '512M', '1.5GiB', '1048576' -> bytes (powers of 1024)."""
    match = SIZE.match(str(text))
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size; write a number with an optional unit K, M, G or T, "
            "e.g. 2G or 512M")
    value = int(float(match.group(1)) * SIZE_UNITS[match.group(2).lower()])
    if value < 64 * 2**20:
        raise argparse.ArgumentTypeError(
            f"{text!r} is below 64M, too little for a kernel with torch (it needs about 1G "
            "of memory); e.g. --memory 2G or --disk 1G")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1, e.g. 2")
    return value


def positive_seconds(text: str) -> float:
    """A number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0, e.g. 60")
    return value


def _add_out(parser: argparse.ArgumentParser, must_exist: bool) -> None:
    """The --out option (and --db) shared by grade, feedback and export."""
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR",
        help="grading output folder: gradebook.db, grades.csv, score_distribution.png, "
        "autograded/ and feedback/" + (" (written by `grade`)" if must_exist else ""))
    parser.add_argument(
        "--db", metavar="URL",
        help="nbgrader gradebook to use instead of OUT/gradebook.db, e.g. "
        "sqlite:///autograding/gradebook.db so the formgrader shows the grades")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Course kit 'Linear Regression with PyTorch': release the student "
        "notebooks, take in submissions, grade them in parallel in a sandbox with nbgrader's "
        "gradebook, and write feedback and grade exports.",
        epilog=f"Run `{PROG} COMMAND --help` for the options of a command. Typical use: "
        f"`{PROG} intake uploads.zip --submitted submitted` then "
        f"`{PROG} grade submitted --out grading`.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    release = commands.add_parser(
        "release", help="regenerate the student notebooks in notebooks/ from the masters",
        description="Run nbgrader's generate_assignment on each master in "
        "autograding/source/ and write the student notebooks to notebooks/.")
    release.add_argument("ids", nargs="*", metavar="ASSIGNMENT",
                         help="assignment ids to release (default: all of them)")
    release.add_argument("--check", action="store_true",
                         help="write nothing; exit 1 when notebooks/ differs from a fresh "
                         "release")

    intake = commands.add_parser(
        "intake", help="take an LMS export (zip or folder) into submitted/<student>/<id>/",
        description="Copy notebooks from an LMS export into nbgrader's submitted/ layout, "
        "with a report of what was taken, renamed or refused, and why.")
    from autograding.intake import add_arguments as add_intake_arguments

    add_intake_arguments(intake)

    grade = commands.add_parser(
        "grade", help="grade submitted/ notebooks (parallel, sandboxed, resumable)",
        description="Grade every submitted/<student>/<assignment>/<assignment>.ipynb against "
        "the masters: sanitize as nbgrader does (restoring edited or deleted tests), execute "
        "each notebook in a sandboxed kernel in a pool of workers (or on a Dask cluster), "
        "record scores in nbgrader's gradebook, write autograded notebooks, feedback HTML, "
        "grades.csv, a score plot and a summary table. Interrupted batches resume: run the "
        "same command again.")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                       help="folder laid out as nbgrader's submitted/: "
                       "SUBMISSIONS/<student>/<assignment>/<assignment>.ipynb (never modified)")
    _add_out(grade, must_exist=False)
    grade.add_argument("--workers", type=positive_int, metavar="N",
                       help=f"worker processes on this machine (default: the number of cores, "
                       f"{os.cpu_count()})")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on an existing Dask distributed cluster instead, e.g. "
                       "tcp://10.0.0.5:8786 (its workers need this package installed)")
    grade.add_argument("--timeout", type=positive_seconds, metavar="S",
                       help="wall-clock limit per cell in seconds (default: the course's "
                       "c.Execute.timeout in its nbgrader_config.py, else 60)")
    grade.add_argument("--notebook-timeout", type=positive_seconds, metavar="S",
                       help="wall-clock limit per notebook in seconds (default: 300)")
    grade.add_argument("--memory", type=parse_size, metavar="SIZE",
                       help="memory limit per kernel, e.g. 2G or 512M (default: 2G)")
    grade.add_argument("--disk", type=parse_size, metavar="SIZE",
                       help="disk space a notebook may fill with its files (scratch folder, "
                       "/tmp and /dev/shm together), e.g. 1G (default: 1G); over it the kernel "
                       "is stopped")
    grade.add_argument("--sandbox", choices=("auto", "bwrap", "namespaces", "none"),
                       default="auto",
                       help="isolation of the kernels: bwrap (bubblewrap), namespaces (the "
                       "same sandbox built with Linux namespaces, no bubblewrap needed), or "
                       "auto = the first of these that works here, else stop with the fix "
                       "(default). 'none' runs student code with YOUR rights: it can read the "
                       "masters and other submissions, change your files and use the network; "
                       "for trusted notebooks only")
    grade.add_argument("--assignment", action="append", metavar="ID",
                       help="grade only this assignment (repeatable; default: all)")
    grade.add_argument("--student", action="append", metavar="ID",
                       help="grade only this student (repeatable; default: all)")
    grade.add_argument("--course", type=Path, metavar="DIR",
                       help="course folder holding source/<assignment>/<assignment>.ipynb "
                       "(default: the autograding/ folder of this package)")
    grade.add_argument("--no-master-check", dest="check_masters", action="store_false",
                       help="skip running each master (its own solutions) in the sandbox first; "
                       "that check warns when a correct solution would lose points there")
    grade.add_argument("--force", action="store_true",
                       help="grade again notebooks that are already graded and unchanged")
    grade.add_argument("--quiet", action="store_true",
                       help="no progress bar and no summary table")

    feedback = commands.add_parser(
        "feedback", help="rewrite the feedback HTML from the gradebook",
        description="Regenerate OUT/feedback/<student>/<assignment>/<assignment>.html from the "
        "gradebook and OUT/autograded/ (hidden tests are never shown).")
    _add_out(feedback, must_exist=True)

    export = commands.add_parser(
        "export", help="rewrite grades.csv, the score plot and the summary from the gradebook",
        description="Regenerate OUT/grades.csv (nbgrader's CSV columns, a status column and "
        "one column per graded cell) and OUT/score_distribution.png from OUT/gradebook.db, and "
        "print the summary table. Only assignments someone handed in get rows; a student who "
        "did not hand one in gets a row with status 'missing' and no score. With --format "
        "canvas or moodle and --roster, also the file the LMS's grade import takes, one row "
        "per roster student, and OUT/unmatched.csv: graded students the roster does not match "
        "(exit code 1 when there are any).")
    _add_out(export, must_exist=True)
    export.add_argument("--format", choices=("csv", "canvas", "moodle"), default="csv",
                        help="csv: grades.csv only (default); canvas: also "
                        "OUT/canvas_grades.csv for Canvas's Grades > Import; moodle: also "
                        "OUT/moodle_grades.csv for Moodle's CSV grade import, or the filled "
                        "grading worksheet when --roster is one")
    export.add_argument("--roster", type=Path, metavar="CSV",
                        help="the class list downloaded from the LMS: Canvas's gradebook export "
                        "(Grades > Export), Moodle's grade export (Plain text file), a "
                        "participants list or an assignment's grading worksheet; students are "
                        "matched by id, SIS login, e-mail, then name")
    export.add_argument("--column", action="append", metavar="ID=TITLE",
                        help="put assignment ID's grades in the LMS column TITLE, e.g. "
                        "--column '01_vectorization=Vectorization (4821)' (repeatable; default: "
                        "the roster's column of that name, else a new column named ID)")
    export.add_argument("--points", choices=("raw", "percent", "lms"),
                        help="raw: the score after any late penalty, in the master's points "
                        "(default); percent: 0-100; lms: scaled to the LMS's points possible "
                        "(Canvas's Points Possible row, a worksheet's Maximum Grade)")
    export.add_argument("--missing", choices=("keep", "zero"),
                        help="a roster student who did not hand the assignment in: keep the "
                        "roster's cell, so the import changes nothing (default), or zero")

    similarity = commands.add_parser(
        "similarity", help="report pairs of students with similar answer cells (copydetect)",
        description="Compare the answer cells of every pair of students per assignment "
        "(copydetect's winnowing fingerprints; names, comments and blank lines do not count, "
        "the released notebook's code never counts; no student code runs) and write "
        "DIR/similarity/similarity.csv (every pair, highest first) and similarity.html (the "
        "pairs over the threshold, side by side, shared code highlighted).")
    from autograding.similarity import add_arguments as add_similarity_arguments

    add_similarity_arguments(similarity)

    demo = commands.add_parser(
        "demo", help="run the course end to end on a sample class (make demo)",
        description="Execute the masters, release, build a sample class of 20+ students "
        "(correct, partial, blank, erroring, hostile and corrupt submissions), grade it in "
        "parallel and print the grade table.")
    _add_demo_arguments(demo)
    return parser


def _add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's own options, when the sample-class module declares some."""
    try:
        from autograding import demo
    except ImportError:
        return
    if hasattr(demo, "add_arguments"):
        demo.add_arguments(parser)


def _db_url(args) -> str | None:
    """--db, checked: a sqlite URL must name a file path."""
    if args.db is None:
        return None
    if not re.match(r"^[a-z+]+://", args.db):
        raise UsageError(f"--db {args.db}: not a database URL; write e.g. "
                         "sqlite:///path/to/gradebook.db")
    return args.db


def _existing_out(args) -> Path:
    """OUT of feedback/export: must hold a gradebook (or --db names one)."""
    out, db = args.out, _db_url(args)
    path = Path(db[len("sqlite:///"):]) if db and db.startswith("sqlite:///") else None
    if db is None and not (out / "gradebook.db").is_file():
        raise UsageError(f"{out / 'gradebook.db'}: no gradebook there; run "
                         f"`{PROG} grade SUBMISSIONS --out {out}` first")
    if path is not None and not path.is_file():
        raise UsageError(f"{path}: no gradebook there; check --db")
    if not (out / "autograded").is_dir() and args.command == "feedback":
        raise UsageError(f"{out / 'autograded'}: no autograded notebooks; run "
                         f"`{PROG} grade SUBMISSIONS --out {out}` first")
    return out


def run_grade(args) -> int:
    """The grade command."""
    import dataclasses

    from autograding.api import grade_submissions
    from autograding.grading.settings import GradingSettings
    from autograding.reports.summary import batch_summary

    if not args.submissions.is_dir():
        raise UsageError(f"{args.submissions}: no such folder; pass the submissions folder laid "
                         "out as <student>/<assignment>/<assignment>.ipynb (e.g. from `intake`)")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"{args.out}: exists and is not a folder; choose another --out")
    if args.course is not None and not (args.course / "source").is_dir():
        raise UsageError(f"{args.course / 'source'}: no such folder; --course must be the "
                         "folder holding source/<assignment>/<assignment>.ipynb")
    if sys.platform == "win32":  # no sandbox, nor the locks and limits the grader uses
        raise UsageError("grade runs student code in a Linux sandbox: run it in WSL 2 or on a "
                         "Linux machine (intake, feedback and export work here)")
    from autograding.engine.limits import Limits

    changes = {"cell_timeout": args.timeout, "notebook_timeout": args.notebook_timeout,
               "memory_bytes": args.memory, "max_disk_bytes": args.disk}
    limits = dataclasses.replace(Limits(), **{k: v for k, v in changes.items() if v is not None})
    settings = GradingSettings(
        workers=args.workers, scheduler=args.scheduler, limits=limits, force=args.force,
        course_root=args.course, progress=not args.quiet, assignments=args.assignment,
        students=args.student, sandbox=args.sandbox, db_url=_db_url(args),
        check_masters=args.check_masters, course_timeout=False if args.timeout else None)
    report = grade_submissions(args.submissions, args.out, settings)
    if not args.quiet:
        print(batch_summary(report, settings.assignments))
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    for name, (score, points) in sorted(report.master_checks.items()):
        if score >= points:
            earlier = (" (checked by an earlier batch; --force checks again)"
                       if name in report.master_checks_remembered else "")
            print(f"master check: {name} gets full marks ({points:g}) in the sandbox{earlier}")
    print(f"graded {report.graded} notebooks, {report.skipped} already graded, "
          f"{report.errors} failed, in {report.seconds:.1f} s"
          + (f" (sandbox: {report.sandbox})" if report.sandbox else ""))
    print(f"gradebook: {report.db_url}\ngrades:    {report.csv_path}\n"
          f"plot:      {report.plot_path or '(nothing graded yet)'}\n"
          f"feedback:  {report.feedback_dir}/")
    return 1 if report.errors else 0


def run_feedback(args) -> int:
    """The feedback command."""
    from autograding.reports.feedback import regenerate_feedback

    written = regenerate_feedback(_existing_out(args), _db_url(args))
    print(f"wrote {len(written)} feedback files under {args.out / 'feedback'}/")
    return 0


def run_export(args) -> int:
    """The export command."""
    from autograding.reports.export import export_outputs
    from autograding.reports.lms_export import LmsSettings, export_for_lms, load_roster
    from autograding.reports.roster import RosterError
    from autograding.reports.summary import summary_table

    if args.format != "csv" and args.roster is None:
        raise UsageError(f"--format {args.format} needs --roster: the class list downloaded "
                         "from the LMS (Canvas: Grades > Export; Moodle: Grades > Export > "
                         "Plain text file)")
    if args.format == "csv" and (args.column or args.points or args.missing):
        raise UsageError("--column, --points and --missing shape the LMS file: use them with "
                         "--format canvas or moodle")
    columns = tuple(tuple(part.strip() for part in text.split("=", 1)) for text in args.column
                    or ())
    if any(len(pair) != 2 or not all(pair) for pair in columns):
        raise UsageError("--column takes ASSIGNMENT=TITLE, e.g. "
                         "--column '01_vectorization=Vectorization (4821)'")
    settings = LmsSettings(args.format, args.roster, columns, args.points or "raw",
                           args.missing or "keep")
    out, db_url = _existing_out(args), _db_url(args)
    try:
        roster = load_roster(settings)
        result = export_outputs(out, db_url)
        lms = roster and export_for_lms(args.out, result.rows, settings, roster)
    except RosterError as err:
        raise UsageError(str(err)) from None
    print(summary_table(result.rows))
    print(f"grades: {result.csv_path}\nplot:   {result.plot_path or '(nothing graded yet)'}")
    if not lms:
        return 0
    for note in lms.notes:
        print(f"note: {note}", file=sys.stderr)
    for match in lms.matching.problems:
        print(f"{match.student_id}: {match.problem}", file=sys.stderr)
    if lms.path:
        print(f"{args.format}: {lms.path} ({len(roster.rows)} roster students, {lms.written} "
              f"grades, {lms.filled} zeros for missing work)")
    print(f"unmatched: {lms.unmatched_path} ({len(lms.matching.problems)} graded students "
          "not matched to one roster row)")
    return 1 if lms.matching.problems else 0


def run_release(args) -> int:
    """The release command (autograding.course.release)."""
    from autograding.course import release

    if args.check:
        problems = release.check_release_up_to_date(assignment_ids=args.ids or None)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    return release.main(args.ids)


def run_intake(args) -> int:
    """The intake command (autograding.intake)."""
    from autograding.intake import run

    return run(args)


def run_demo(args) -> int:
    """The demo command (autograding.demo)."""
    from autograding import demo

    if hasattr(demo, "run"):
        return int(demo.run(args) or 0)
    return int(demo.run_demo() or 0)


def run_similarity(args) -> int:
    """The similarity command (autograding.similarity)."""
    from autograding.similarity import run

    return run(args, PROG)


COMMANDS = {"release": run_release, "intake": run_intake, "grade": run_grade,
            "feedback": run_feedback, "export": run_export, "demo": run_demo,
            "similarity": run_similarity}


def main(argv=None) -> int:
    """Entry point of `linreg-grader` and `python -m autograding`."""
    from autograding.engine.workers import RunnerError, skip_slow_optional_imports
    from autograding.grading.gradebook import GradebookError
    from autograding.grading.settings import GradingError

    skip_slow_optional_imports()
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", module="nbgrader")
    try:
        return COMMANDS[args.command](args)
    except (UsageError, GradingError, GradebookError, RunnerError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted; run the same command again to "
              "finish (graded notebooks are kept)", file=sys.stderr)
        return 130
