"""Benchmark: plain `nbgrader autograde` vs this project's grader, same class, one run.

The class: correct, alternative, partial and blank submissions of the torch notebooks, built
from the masters by autograding.demo (no hostile code: plain nbgrader has no sandbox).
Both graders run as fresh command-line processes, so each pays its own start-up:
  1. nbgrader: a temporary nbgrader course with the masters as source, `generate_assignment`
     for each (setup, not timed), then ONE timed `nbgrader autograde "*"` over all submissions.
  2. this grader: ONE timed `grade_submissions(workers=N)` in a fresh Python process.
Prints both wall times, the ratio, and whether every per-cell score is identical.

Usage: python bench/bench_grading.py [--students 8] [--assignments 02_linreg_scratch ...]
       [--workers 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from autograding.demo import (  # noqa: E402
    COURSE_ROOT,
    available_assignments,
    load_assignments,
    make_submission,
)

TORCH_NOTEBOOKS = ("02_linreg_scratch", "03_linreg_concise")
KINDS = ("correct", "alternative", "partial", "blank")
NBGRADER_CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "linreg-pytorch"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.Execute.timeout = 120
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
"""
OURS = """\
import json, sys
from autograding.api import grade_submissions
report = grade_submissions(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]), progress=False,
                           course_root=sys.argv[4])
print(json.dumps({{"sandbox": report.sandbox, "graded": report.graded}}))
"""


def build_class(submitted: Path, assignments: list[str], students: int) -> int:
    """Write `students` students x assignments submissions (kinds cycling); return the count."""
    material = load_assignments(COURSE_ROOT, assignments)
    count = 0
    for index in range(students):
        kind = KINDS[index % len(KINDS)]
        student = f"s{index + 1:02d}_{kind}"
        for name in assignments:
            sub = make_submission(student, kind, material[name], submitted_dir=submitted,
                                  course_root=COURSE_ROOT, classmate="s01_correct")
            folder = submitted / student / name
            folder.mkdir(parents=True, exist_ok=True)
            for rel, data in sub.files.items():
                (folder / rel).write_bytes(data)
            count += 1
    return count


def gradebook_scores(db_path: Path, course_id: str = "linreg-pytorch") -> dict:
    """{(student, assignment): {grade_id: score}} from an nbgrader gradebook."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{db_path}", course_id) as gb:
        for assignment in gb.assignments:
            for submission in gb.assignment_submissions(assignment.name):
                cells = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        cells[grade.name] = float(grade.score or 0.0)
                scores[(submission.student.id, assignment.name)] = cells
    return scores


def run_nbgrader(work: Path, submitted: Path, assignments: list[str]) -> tuple[float, dict]:
    """Plain nbgrader: set up a course, then time ONE `nbgrader autograde "*"`."""
    course = work / "nbgrader-course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(course)))
    for name in assignments:
        (course / "source" / name).mkdir(parents=True)
        shutil.copy(COURSE_ROOT / "source" / name / f"{name}.ipynb", course / "source" / name)
        _run([_nbgrader(), "generate_assignment", name, "--force"], course)
    shutil.copytree(submitted, course / "submitted")
    started = time.monotonic()
    _run([_nbgrader(), "autograde", "*"], course)
    seconds = time.monotonic() - started
    return seconds, gradebook_scores(course / "gradebook.db")


def run_ours(work: Path, submitted: Path, workers: int) -> tuple[float, dict, str]:
    """This grader in a fresh process: time the whole command."""
    out = work / "ours"
    started = time.monotonic()
    result = _run([sys.executable, "-c", OURS.format(), str(submitted), str(out), str(workers),
                   str(COURSE_ROOT)], REPO_ROOT)
    seconds = time.monotonic() - started
    info = json.loads(result.stdout.strip().splitlines()[-1])
    return seconds, gradebook_scores(out / "gradebook.db"), info["sandbox"]


def _nbgrader() -> str:
    found = shutil.which("nbgrader", path=str(Path(sys.executable).parent))
    return found or "nbgrader"


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def compare(theirs: dict, ours: dict) -> list[str]:
    """Differences between two {(student, assignment): {cell: score}} maps."""
    problems = []
    for key in sorted(set(theirs) | set(ours)):
        if theirs.get(key) != ours.get(key):
            problems.append(f"{key[0]}/{key[1]}: nbgrader {theirs.get(key)} vs ours "
                            f"{ours.get(key)}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8, help="students (default 8)")
    parser.add_argument("--assignments", nargs="+", default=list(TORCH_NOTEBOOKS),
                        help="assignment ids (default: the torch notebooks 02 and 03)")
    parser.add_argument("--workers", type=int, default=2, help="our worker processes")
    parser.add_argument("--keep", help="keep the work folder here instead of a temp folder")
    args = parser.parse_args(argv)
    assignments = available_assignments(COURSE_ROOT, args.assignments)
    if not assignments:
        print(f"no masters for {args.assignments} in {COURSE_ROOT / 'source'}")
        return 2
    work = Path(args.keep or tempfile.mkdtemp(prefix="linreg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    submitted = work / "submitted"
    count = build_class(submitted, assignments, args.students)
    print(f"class: {args.students} students x {len(assignments)} assignments = {count} "
          f"notebooks ({', '.join(assignments)}); work folder {work}")
    theirs_s, theirs = run_nbgrader(work, submitted, assignments)
    print(f"plain nbgrader autograde : {theirs_s:7.1f} s  ({theirs_s / count:.2f} s/notebook)")
    ours_s, ours, sandbox = run_ours(work, submitted, args.workers)
    print(f"grade_submissions (w={args.workers}) : {ours_s:7.1f} s  ({ours_s / count:.2f} "
          f"s/notebook, sandbox {sandbox})")
    ratio = theirs_s / ours_s
    problems = compare(theirs, ours)
    print(f"speed-up: {ratio:.2f}x (target >= 4x)")
    print("per-cell scores identical: " + ("yes" if not problems else "NO"))
    for line in problems:
        print("  " + line)
    print(f"measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on "
          f"{platform.node() or 'this machine'}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
