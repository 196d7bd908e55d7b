"""The grader's scoring rule against nbgrader's own `determine_grade`."""

import nbformat.v4 as v4
from nbgrader.utils import determine_grade

from autograding.scoring import score_cell, without_stderr, wrote_to_stderr


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
    assert wrote_to_stderr(cell) and not wrote_to_stderr(without_stderr(cell))
    assert len(cell.outputs) == 1, "the warning stays in the notebook for the feedback"


def test_an_error_still_fails_and_printed_text_cannot_pass():
    assert score_cell(graded_cell(STDERR, ERROR)) == (0, 3.0)
    assert score_cell(graded_cell(STDOUT, ERROR)) == (0, 3.0)
    assert score_cell(graded_cell(STDOUT)) == (3.0, 3.0) == determine_grade(graded_cell(STDOUT))
