"""grades.csv's cell columns are `assignment/notebook:grade_id`: two assignments with a notebook
of the same name, and the same grade id in it, get a column each."""

import warnings

from autograding.reports.grades_csv import NBGRADER_COLUMNS, cell_column, grade_rows


def test_same_notebook_name_in_two_assignments_gives_two_columns(tmp_path):
    from nbgrader.api import Gradebook

    from autograding.grading.gradebook import ANY_COURSE, use_in_process_alembic_head

    use_in_process_alembic_head()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with warnings.catch_warnings(), Gradebook(url, ANY_COURSE) as gb:
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for assignment, points in (("ps1", 2), ("ps2", 3)):
            gb.add_assignment(assignment)
            gb.add_notebook("problem1", assignment)
            gb.add_grade_cell("q1", "problem1", assignment, max_score=points, cell_type="code")
        gb.add_student("amy")
        for assignment, score in (("ps1", 1), ("ps2", 3)):
            gb.add_submission(assignment, "amy")
            gb.find_grade("q1", "problem1", assignment, "amy").auto_score = score
        gb.db.commit()
    columns, rows = grade_rows(url)
    assert columns[:len(NBGRADER_COLUMNS)] == NBGRADER_COLUMNS
    assert columns[-2:] == ["ps1/problem1:q1", "ps2/problem1:q1"]
    assert cell_column("ps1", "problem1", "q1") == "ps1/problem1:q1"
    by_assignment = {row["assignment"]: row for row in rows}
    assert (by_assignment["ps1"]["ps1/problem1:q1"], by_assignment["ps1"].get(
        "ps2/problem1:q1")) == ("1.0", None)
    assert by_assignment["ps2"]["ps2/problem1:q1"] == "3.0"
