"""The grader's scoring rule against nbgrader's own `determine_grade`."""

import nbformat.v4 as v4
from nbgrader.utils import determine_grade

from autograding.grading.scoring import score_cell, scored_view, wrote_to_stderr


def graded_cell(*outputs):
    cell = v4.new_code_cell("assert f(2) == 4")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "points": 3, "grade_id": "t", "schema_version": 3}
    cell.outputs = [v4.new_output(**o) for o in outputs]
    return cell


STDERR = {"output_type": "stream", "name": "stderr", "text": "UserWarning: deprecated\n"}
STDOUT = {"output_type": "stream", "name": "stdout", "text": "All tests passed!\n"}
ERROR = {"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": []}


def test_a_warning_does_not_fail_a_passing_test():
    cell = graded_cell(STDERR)
    assert determine_grade(cell) == (0, 3.0), "nbgrader's rule, which this grader fixes"
    assert score_cell(cell) == (3.0, 3.0)
    assert wrote_to_stderr(cell) and not wrote_to_stderr(scored_view(cell))
    assert len(cell.outputs) == 1, "the warning stays in the notebook for the feedback"


def test_an_error_still_fails_and_printed_text_cannot_pass():
    assert score_cell(graded_cell(STDERR, ERROR)) == (0, 3.0)
    assert score_cell(graded_cell(STDOUT, ERROR)) == (0, 3.0)
    assert score_cell(graded_cell(STDOUT)) == (3.0, 3.0) == determine_grade(graded_cell(STDOUT))


def result(value: str) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {},
            "data": {"text/plain": value}}


def test_a_result_shown_before_an_error_earns_nothing():
    """A student's function can show a result itself (sys.displayhook) before the test fails:
    nbgrader reads the first result as partial credit, capped at full points."""
    cell = graded_cell(result("3"), ERROR)
    assert determine_grade(cell) == (3.0, 3.0), "nbgrader's rule, which this grader fixes"
    assert score_cell(cell) == (0, 3.0)


def test_partial_credit_comes_from_the_cells_own_last_result():
    assert score_cell(graded_cell(result("1.5"))) == (1.5, 3.0) == determine_grade(
        graded_cell(result("1.5")))
    assert score_cell(graded_cell(STDOUT, result("3"), result("0.5"))) == (0.5, 3.0)
    assert score_cell(graded_cell(STDERR, result("2"))) == (2.0, 3.0)


def test_a_result_nbgrader_cannot_read_gives_no_crash():
    """nbgrader raises on a result over the cell's points or without text/plain; a passing
    test with such a result (shown by the student's code) keeps its points."""
    assert score_cell(graded_cell(result("1000"))) == (3.0, 3.0)
    assert score_cell(graded_cell(result(""))) == (3.0, 3.0)
    assert score_cell(graded_cell(result("1000"), ERROR)) == (0, 3.0)
