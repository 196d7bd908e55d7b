"""Code that replaces what tests compare with: no points from it where tests use references,
and a flag for the instructor everywhere (feedback, grades.csv, summary, gradebook).

A tiny course with one plain test and one that takes `math` from course_utils.reference. The
course's masters graded as submissions beside the demo's patching student (wrong answers;
torch.allclose, Fraction.__eq__, builtins, ... replaced) are in the sample class's batch:
tests/demo/test_sample_class.py.
"""

import csv
import sqlite3

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograding import grade_submissions
from autograding.engine.limits import Limits
from autograding.reports.summary import batch_summary

pytestmark = pytest.mark.slow
LIMITS = Limits(cell_timeout=60, notebook_timeout=300)
ASSIGNMENT = "roots"
PLAIN_TEST = "import math\n\nassert math.isclose(root(9), 3), 'root(9) is 3'\n"
REFERENCE_TEST = ("from course_utils.reference import _math\n\n_value = root(16)\n"
                  "assert _math.isclose(_value, 4), 'root(16) is 4'\n"
                  "### BEGIN HIDDEN TESTS\n"
                  "assert _math.isclose(root(2.25), 1.5), 'root(2.25) is 1.5'\n"
                  "### END HIDDEN TESTS\n")
WRONG = "def root(x):\n    return x / 2\n"
PATCH = "import math\n\n_isclose = math.isclose\nmath.isclose = lambda *args, **kwargs: True\n"


def _cell(kind: str, source: str, grade_id: str, points=None):
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": points is not None,
            "schema_version": 3, "solution": kind == "answer", "task": False}
    if points is not None:
        meta["points"] = points
    return new_code_cell(source, metadata={"nbgrader": meta})


def _notebook(answer: str, last: str = ""):
    nb = new_notebook(cells=[
        _cell("answer", answer, "answer"),
        _cell("test", PLAIN_TEST, "plain_test", 1),
        _cell("test", REFERENCE_TEST, "reference_test", 2),
    ])
    if last:
        nb.cells.append(new_code_cell(last))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


REBIND = ("import types\n\n\ndef root(x):\n    # called by the test: rebinds the test's name\n"
          "    globals()['_math'] = types.SimpleNamespace(isclose=lambda *args: True)\n"
          "    return x / 2\n")
# Every later cell rewritten so that its asserts do nothing: the test still reaches its last
# line (the ran marker), so before the restore both of these got full marks, unflagged.
STRIP_ASSERTS_AST = ("import ast\n\n\nclass _NoAssert(ast.NodeTransformer):\n"
                     "    def visit_Assert(self, node):\n        return ast.Pass()\n\n\n"
                     "get_ipython().ast_transformers.append(_NoAssert())\n")
STRIP_ASSERTS_TEXT = ("get_ipython().input_transformers_cleanup.append(\n"
                      "    lambda lines: [line.replace('assert ', 'assert True or ')\n"
                      "                   for line in lines])\n")
# The same without touching the lists: the method that applies them replaced, on the object
# (the transformer manager's transform_cell) or on the shell's class (transform_ast).
REWRITE_METHOD = ("_manager = get_ipython().input_transformer_manager\n"
                  "_transform = _manager.transform_cell\n"
                  "_manager.transform_cell = lambda cell: _transform(\n"
                  "    cell.replace('assert ', 'assert True or '))\n")
STRIP_CLASS_METHOD = ("import ast\n\n\n"
                      "class _NoAssert(ast.NodeTransformer):\n"
                      "    def visit_Assert(self, node):\n        return ast.Pass()\n\n\n"
                      "_cls = next(c for c in type(get_ipython()).__mro__\n"
                      "            if 'transform_ast' in vars(c))\n"
                      "_original = _cls.transform_ast\n"
                      "_cls.transform_ast = lambda self, node: _original(\n"
                      "    self, _NoAssert().visit(node))\n")
STUDENTS = {
    "honest": _notebook("def root(x):\n    ### BEGIN SOLUTION\n    return x ** 0.5\n"
                        "    ### END SOLUTION\n"),
    "wrong": _notebook(WRONG),
    "patches": _notebook(PATCH + WRONG),
    "patches_then_restores": _notebook(PATCH + WRONG, last="math.isclose = _isclose\n"),
    "rebinds_the_reference": _notebook(REBIND),
    "strips_asserts": _notebook(STRIP_ASSERTS_AST + WRONG),
    "rewrites_asserts": _notebook(STRIP_ASSERTS_TEXT + WRONG),
    "rewrites_by_method": _notebook(REWRITE_METHOD + WRONG),
    "strips_by_class_method": _notebook(STRIP_CLASS_METHOD + WRONG),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    master = root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    master.parent.mkdir(parents=True)
    nbformat.write(STUDENTS["honest"], master)
    submitted = root / "submitted"
    for student, nb in STUDENTS.items():
        path = submitted / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    out = root / "out"
    report = grade_submissions(submitted, out, workers=2, limits=LIMITS, course_root=root,
                               progress=False)
    return report, out


def test_references_keep_points_from_a_patch_and_plain_tests_do_not(tiny):
    report, _ = tiny
    totals = {student: report.results[(student, ASSIGNMENT)].total for student in STUDENTS}
    # The plain test is fooled by the patch (1 point); the one with a reference is not.
    assert totals == {"honest": 3, "wrong": 0, "patches": 1, "patches_then_restores": 1,
                      "rebinds_the_reference": 2, "strips_asserts": 0, "rewrites_asserts": 0,
                      "rewrites_by_method": 0, "strips_by_class_method": 0}


def test_every_replacement_is_flagged_and_nothing_else(tiny):
    report, _ = tiny
    flagged = {student: report.results[(student, ASSIGNMENT)].replaced for student in STUDENTS}
    assert flagged == {
        "honest": [], "wrong": [], "patches": ["math.isclose"],
        "patches_then_restores": ["math.isclose"],  # seen by the check after each test
        "rebinds_the_reference": ["_math (the test's course_utils.reference._math)"],
        "strips_asserts": ["IPython's ast_transformers (changed; restored before each test)"],
        "rewrites_asserts": [
            "IPython's cleanup_transforms (changed; restored before each test)"],
        "rewrites_by_method": [
            "IPython's manager.transform_cell (changed; restored before each test)"],
        "strips_by_class_method": [
            "IPython.core.interactiveshell.InteractiveShell.transform_ast (changed; restored "
            "before each test)"]}


def test_the_flag_reaches_gradebook_csv_feedback_and_summary(tiny):
    report, out = tiny
    with sqlite3.connect(out / "gradebook.db") as db:
        rows = db.execute("SELECT student.id, submitted_notebook.flagged FROM submitted_notebook "
                          "JOIN submitted_assignment ON submitted_notebook.assignment_id = "
                          "submitted_assignment.id JOIN student ON "
                          "submitted_assignment.student_id = student.id").fetchall()
    assert {student for student, flag in rows if flag} == {
        "patches", "patches_then_restores", "rebinds_the_reference", "strips_asserts",
        "rewrites_asserts", "rewrites_by_method", "strips_by_class_method"}
    with open(out / "grades.csv", newline="") as fh:
        flags = {row["student_id"]: row["flags"] for row in csv.DictReader(fh)}
    assert flags["patches"] == "replaced math.isclose" and flags["honest"] == ""
    page = (out / "feedback" / "patches" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "flagged for the instructor&#x27;s review" in page and "math.isclose" in page
    honest = (out / "feedback" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "instructor&#x27;s review" not in honest
    summary = batch_summary(report)
    assert "1/3!" in summary and "3/3!" not in summary
    assert f"  patches {ASSIGNMENT}: replaced math.isclose" in summary


def test_a_clean_regrade_clears_the_grader_s_flag(tiny, tmp_path):
    report, out = tiny
    submitted = report.out_dir.parent / "submitted"
    nbformat.write(STUDENTS["honest"], submitted / "patches" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    again = grade_submissions(submitted, out, workers=1, limits=LIMITS,
                              course_root=report.out_dir.parent, students=["patches"],
                              progress=False)
    assert again.results[("patches", ASSIGNMENT)].replaced == []
    with open(out / "grades.csv", newline="") as fh:
        assert {row["student_id"]: row["flags"] for row in csv.DictReader(fh)}["patches"] == ""
