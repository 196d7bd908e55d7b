"""The master check counts autograded points only: a manually graded answer or a task has no
score until a person grades it, and is no lost point."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograding.grading.master_check import _score


def _meta(grade_id, points, **flags):
    meta = {"grade": False, "solution": False, "task": False, "locked": False, **flags}
    return {"nbgrader": {**meta, "grade_id": grade_id, "points": points, "schema_version": 3}}


def _run(*cells) -> dict:
    return {"notebook": nbformat.writes(new_notebook(cells=list(cells)))}


def test_manual_answers_and_tasks_are_not_lost_points():
    passing = new_code_cell("assert True", metadata=_meta("test", 2, grade=True, locked=True))
    manual_code = new_code_cell("x = 1", metadata=_meta("code_answer", 3, grade=True,
                                                        solution=True))
    manual_text = new_markdown_cell("YOUR ANSWER HERE", metadata=_meta("text_answer", 4,
                                                                       grade=True, solution=True))
    task = new_markdown_cell("Do it", metadata=_meta("task", 5, task=True, locked=True))
    assert _score(_run(passing, manual_code, manual_text, task)) == (2.0, 2.0, [])


def test_a_failing_test_is_still_reported():
    failing = new_code_cell("assert False", metadata=_meta("test", 2, grade=True, locked=True))
    failing.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="no",
                                              traceback=[])]
    assert _score(_run(failing)) == (0.0, 2.0, ["test (AssertionError: no)"])
