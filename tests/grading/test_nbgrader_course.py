"""A course of our own beside nbgrader: tests/fixtures/nbgrader_course graded by plain `nbgrader
autograde` (as bench/bench_grading.py runs it) and by this grader gets the same per-cell scores,
except the differences README.md documents; files beside the masters reach the kernel, what the
notebooks write is kept, the course's nbgrader_config.py is honoured.

The course: ps1 (problem1 and problem2: notebooks named unlike their assignment) with a data
file in a subfolder, a helper module, an image and a file each student hands in
(Autograde.exclude_overwriting); ps2 with a notebook named like one of ps1's; a custom code
stub, solution and hidden-test delimiters, Execute.timeout = 5, a course id; a manually graded
answer and a task; students with a deleted test cell, an edited data file, an infinite loop,
a missing notebook, a blank notebook and a stray copy.
"""

import base64
import csv
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autograding import GradingSettings, grade_submissions

pytestmark = pytest.mark.slow
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nbgrader_course"
ASSIGNMENTS = ("ps1", "ps2")
# README.md, "Using it with your own nbgrader course": a test cell the student deleted is put
# back and graded here; nbgrader leaves it out (no score, and a manual grade is asked for).
DOCUMENTED = {("bob", "ps1", "problem2", "scale_test")}
SECRETS = ("secret-check-sum-zero", "secret-check-empty", "secret-check-no-words",
           "SECRET CHECKS")


def gradebook_cells(db_path: Path) -> dict:
    """{(student, assignment, notebook, grade id): (auto score, needs a manual grade)}."""
    from nbgrader.api import Gradebook

    cells = {}
    with Gradebook(f"sqlite:///{db_path}") as gb:
        for assignment in gb.assignments:
            for submission in gb.assignment_submissions(assignment.name):
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        key = (submission.student.id, assignment.name, notebook.name,
                               grade.name)
                        cells[key] = (grade.auto_score, bool(grade.needs_manual_grade))
    return cells


def folder_files(folder: Path) -> dict[str, bytes]:
    """The files of an autograded folder that are not notebooks (nor Python's caches)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.suffix != ".ipynb" and "__pycache__" not in p.parts}


def run_nbgrader(course: Path) -> None:
    """Plain nbgrader on a copy of the course: generate_assignment, then one autograde."""
    shutil.copytree(FIXTURE, course)
    env = dict(os.environ, PYTHONWARNINGS="ignore",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    nbgrader = shutil.which("nbgrader", path=str(Path(sys.executable).parent)) or "nbgrader"
    for command in [*(["generate_assignment", a, "--force"] for a in ASSIGNMENTS),
                    ["autograde", "*"]]:
        done = subprocess.run([nbgrader, *command], cwd=course, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(nbgrader's course folder, our output folder, our report): both graders, once, at the
    same time (nbgrader's commands run one kernel after another, with waits: about 15 of the
    45 s the two took in turn). Neither writes where the other reads: nbgrader works in a copy
    of the course, ours reads the fixture and writes its own folder."""
    work = tmp_path_factory.mktemp("nbgrader-course")
    theirs = work / "nbgrader"
    with ThreadPoolExecutor(1) as pool:
        nbgrader = pool.submit(run_nbgrader, theirs)
        settings = GradingSettings(workers=2, progress=False, check_masters=True,
                                   course_root=FIXTURE)
        report = grade_submissions(FIXTURE / "submitted", work / "ours", settings)
        nbgrader.result()  # its failure (an assertion) is raised here
    return theirs, work / "ours", report


def test_scores_match_nbgrader_cell_by_cell_but_the_documented_differences(graded):
    theirs, ours, report = graded
    assert report.errors == 0, report.notes
    expected = gradebook_cells(theirs / "gradebook.db")
    got = gradebook_cells(ours / "gradebook.db")
    assert set(got) == set(expected)
    differing = {key for key in expected if got[key] != expected[key]}
    assert differing == DOCUMENTED, {k: (expected[k], got[k]) for k in differing}
    assert got[("bob", "ps1", "problem2", "scale_test")] == (2.0, False), "restored, graded"
    # What decides them: the course's data file over bob's edit, the secret checks between
    # the course's delimiters, the student's own notes file, the infinite loop's time limit.
    assert got[("bob", "ps1", "problem1", "spread_test")] == (1.0, False)
    assert got[("bob", "ps1", "problem1", "total_test")] == (0.0, False)
    assert got[("alice", "ps1", "problem1", "total_test")] == (2.0, False)
    assert [got[(s, "ps1", "problem2", "total_test")][0] for s in ("alice", "bob", "carol",
                                                                   "dave")] == [1, 0, 0, 1]
    assert got[("carol", "ps1", "problem2", "scale_test")] == (0.0, False)
    assert got[("alice", "ps1", "problem1", "explain")] == (None, True), "graded by hand"


def test_a_grade_id_two_notebooks_share_counts_twice(graded):
    # ps1's problem1 and problem2 both have a cell `total_test` (nbgrader allows it: grade
    # ids are unique per notebook); the report keys them by notebook and totals both.
    _, ours, report = graded
    cells = gradebook_cells(ours / "gradebook.db")
    for (student, assignment), result in report.results.items():
        if result.status != "graded":
            continue
        own = {k: v for k, v in cells.items() if k[:2] == (student, assignment)}
        assert result.total == sum(v[0] or 0.0 for v in own.values()), (student, assignment)
    alice = report.results[("alice", "ps1")]
    assert {"problem1:total_test", "problem2:total_test"} <= set(alice.scores)
    assert set(report.results[("alice", "ps2")].scores) == {"total_test"}


def test_the_course_files_and_what_the_notebooks_wrote_are_kept_as_nbgrader_keeps_them(graded):
    theirs, ours, _ = graded
    folders = sorted(p.relative_to(theirs / "autograded")
                     for p in (theirs / "autograded").glob("*/*"))
    assert len(folders) == 7
    for folder in folders:
        assert folder_files(ours / "autograded" / folder) == folder_files(
            theirs / "autograded" / folder), folder
    alice = ours / "autograded" / "alice" / "ps1"
    assert (alice / "summary.txt").read_text() == "total=15.0 spread=4.0\n"
    assert (alice / "student_notes.py").read_text().endswith("ANSWER = 42\n")
    assert (ours / "autograded" / "bob" / "ps1" / "data" / "values.txt").read_text() == (
        FIXTURE / "source" / "ps1" / "data" / "values.txt").read_text()
    assert not (ours / "autograded" / "dave" / "ps1" / "problem1 copy.ipynb").exists()


def test_feedback_embeds_the_image_and_hides_the_custom_delimited_tests(graded):
    _, ours, _ = graded
    chart = base64.b64encode((FIXTURE / "source" / "ps1" / "chart.png").read_bytes()).decode()
    page = (ours / "feedback" / "alice" / "ps1" / "problem1.html").read_text()
    assert f"data:image/png;base64,{chart}" in page
    assert "a hidden test in this cell failed" in (
        ours / "feedback" / "bob" / "ps1" / "problem1.html").read_text()
    for path in (ours / "feedback").rglob("*.html"):
        text = path.read_text()
        assert not [s for s in SECRETS if s in text], path


def test_course_id_time_limit_csv_columns_and_master_check(graded):
    from nbgrader.api import Gradebook

    _, ours, report = graded
    with Gradebook(f"sqlite:///{ours / 'gradebook.db'}") as gb:
        assert {a.course_id for a in gb.assignments} == {"fixture-stats"}
    assert any("timed out after 5 s" in c for c in report.results[("carol", "ps1")].comments)
    with open(ours / "grades.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert {"ps1/problem1:total_test", "ps2/problem1:total_test",
            "ps1/problem2:scale_test"} <= set(header)
    assert len(header) == len(set(header))
    # Manual answers and tasks are no lost points, and nothing is noted about them.
    assert report.master_checks == {"ps1/problem1": (3.0, 3.0), "ps1/problem2": (3.0, 3.0),
                                    "ps2/problem1": (3.0, 3.0)}
    assert not [n for n in report.notes if "master check" in n], report.notes
