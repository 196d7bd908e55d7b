"""grades.csv's flags column and the summary's mark: hand-ins flagged for the instructor."""

import csv
import json

import pytest

from autograding.grading.files import STATE_DIR
from autograding.reports.export import export_outputs
from autograding.reports.grades_csv import grade_rows
from autograding.reports.summary import summary_table

REPLACED = ["torch.allclose", "builtins.abs"]


@pytest.fixture
def flagged(tmp_path):
    """a1 handed in by amy (her code replaced what tests compare with: the grader's marker
    says what, the gradebook has the flag), bob (flagged by hand in the formgrader) and dan
    (nothing to review); carl handed in nothing."""
    import warnings

    from nbgrader.api import Gradebook

    from autograding.course.release import COURSE_ID
    from autograding.grading.gradebook import use_in_process_alembic_head

    use_in_process_alembic_head()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with warnings.catch_warnings(), Gradebook(url, COURSE_ID) as gb:
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.add_assignment("a1")
        gb.add_notebook("a1", "a1")
        gb.add_grade_cell("t1", "a1", "a1", max_score=2, cell_type="code")
        for student in ("amy", "bob", "carl", "dan"):
            gb.add_student(student)
        for student in ("amy", "bob", "dan"):
            gb.add_submission("a1", student)
            gb.find_grade("t1", "a1", "a1", student).auto_score = 2
            gb.find_submission_notebook("a1", "a1", student).flagged = student != "dan"
        gb.db.commit()
    marker = tmp_path / "out" / STATE_DIR / "done" / "amy" / "a1" / "a1.json"
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"status": "graded", "replaced": REPLACED}))
    return url, tmp_path / "out"


def test_flags_name_what_was_replaced_or_that_the_gradebook_flags_it(flagged):
    url, out = flagged
    columns, rows = grade_rows(url, out)
    assert columns.index("flags") == columns.index("status") + 1
    flags = {row["student_id"]: row.get("flags", "") for row in rows}
    assert flags == {"amy": "replaced torch.allclose, builtins.abs", "bob": "flagged",
                     "carl": "", "dan": ""}
    _, without_markers = grade_rows(url)
    assert {row["student_id"]: row.get("flags", "") for row in without_markers}["amy"] == (
        "flagged")


def test_export_writes_the_flags_column(flagged):
    url, out = flagged
    result = export_outputs(out, url)
    with open(result.csv_path, newline="") as fh:
        flags = {row["student_id"]: row["flags"] for row in csv.DictReader(fh)}
    assert flags == {"amy": "replaced torch.allclose, builtins.abs", "bob": "flagged",
                     "carl": "", "dan": ""}


def test_summary_marks_flagged_hand_ins_and_lists_them(flagged):
    url, out = flagged
    table = summary_table(grade_rows(url, out)[1])
    cells = {line.split()[0]: line.split()[1] for line in table.splitlines()
             if line.split() and line.split()[0] in ("amy", "bob", "carl", "dan")
             and not line.startswith(" ")}
    assert cells == {"amy": "2/2!", "bob": "2/2!", "carl": "missing", "dan": "2/2"}
    assert table.splitlines()[-3:] == [
        "flagged for review (!: see grades.csv's flags and the feedback):",
        "  amy a1: replaced torch.allclose, builtins.abs", "  bob a1: flagged"]
