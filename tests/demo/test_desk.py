"""The demo's instructor's desk: rosters an LMS would give, and the grade files made from them."""

import csv
import warnings

import pytest

from autograding.demo.desk import ABSENT, canvas_roster, lms_files, moodle_roster, people
from autograding.reports.roster import read_roster

STUDENTS = ["ada_correct", "ben_alternative", "cai_partial", "dana_blank", "eli_erroring"]
POINTS = {"01_vectorization": 5.0, "02_linreg_scratch": 4.0}


@pytest.fixture
def graded(tmp_path):
    """A graded batch's folder: gradebook.db with every student on 01, two on 02."""
    from nbgrader.api import Gradebook

    from autograding.course.release import COURSE_ID
    from autograding.grading.gradebook import use_in_process_alembic_head

    use_in_process_alembic_head()
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}",
                                              COURSE_ID) as gb:
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for name, points in POINTS.items():
            gb.add_assignment(name)
            gb.add_notebook(name, name)
            gb.add_grade_cell("t1", name, name, max_score=points, cell_type="code")
        for number, student in enumerate(STUDENTS):
            gb.add_student(student)
            for name in POINTS if number < 2 else list(POINTS)[:1]:
                gb.add_submission(name, student)
                gb.find_grade("t1", name, name, student).auto_score = float(number)
        gb.db.commit()
    return tmp_path


def test_rosters_are_read_as_the_lms_kinds_with_every_person(tmp_path):
    persons = people(STUDENTS)
    assert len(persons) == len(STUDENTS)  # the last student left out, the absent one added
    assert (persons[-1].first, persons[-1].last) == ABSENT[:2]
    canvas = read_roster(canvas_roster(tmp_path / "c.csv", persons, list(POINTS), POINTS))
    moodle = read_roster(moodle_roster(tmp_path / "m.csv", persons))
    assert (canvas.kind, len(canvas.rows)) == ("canvas", len(persons))
    assert (moodle.kind, len(moodle.rows)) == ("moodle", len(persons))


def test_grade_files_match_by_id_email_and_name_and_list_the_unlisted(graded):
    lines = []
    unmatched = lms_files(graded, graded / "rosters", STUDENTS, POINTS, echo=lines.append)
    assert unmatched == [STUDENTS[-1]]
    with open(graded / "canvas_grades.csv", encoding="utf-8-sig", newline="") as fh:
        canvas = list(csv.reader(fh))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0].strip() == "Points Possible"
    grades = {row[0]: row[5:] for row in canvas[2:]}
    assert grades["Correct, Ada"] == ["0", "0"] and grades["Alternative, Ben"] == ["1", "1"]
    assert grades["Partial, Cai"] == ["2", ""], "no hand-in of 02: the LMS's cell is kept"
    assert grades[f"{ABSENT[1]}, {ABSENT[0]}"] == ["", ""]
    assert (graded / "moodle_grades.csv").is_file()
    with open(graded / "unmatched.csv", encoding="utf-8-sig", newline="") as fh:
        assert [row[0] for row in csv.reader(fh)][1:] == [STUDENTS[-1]]
    assert any("matched by id" in line and "e-mail" in line and "name" in line
               for line in lines), lines
