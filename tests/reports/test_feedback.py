"""Feedback redaction: nothing of a hidden test (source, traceback, output) reaches a student."""

import html
import re
from pathlib import Path

import nbformat
import pytest

from autograding.grading.gradebook import (
    MasterCell,
    MasterNotebook,
    hidden_line_numbers,
    visible_source,
)
from autograding.reports.feedback import (
    EXECUTOR_ERRORS,
    HIDDEN_FAILED,
    _hidden_lines,
    _scrub,
    redact_hidden_cell,
)

SOURCE = (
    "assert f(1) == 1, 'f(1) should be 1'\n"
    "### BEGIN HIDDEN TESTS\n"
    "_secret_input = 271828\n"
    "assert f(_secret_input) == 99, 'secret message'\n"
    "### END HIDDEN TESTS\n"
    "assert f(2) == 2, 'f(2) should be 2'"
)
SECRETS = ("_secret_input", "271828", "secret message", "HIDDEN TESTS")


def _traceback(count: int, line: int, ename: str, evalue: str) -> list[str]:
    """An IPython 8 error traceback (ANSI colours, context lines) pointing at `line`."""
    context = "\n".join(
        f"\x1b[32m{'----> ' if n == line else '      '}\x1b[39m\x1b[32m{n}\x1b[39m {text}"
        for n, text in enumerate(SOURCE.split("\n"), start=1)
    )
    return [
        "\x1b[31m" + "-" * 75 + "\x1b[39m",
        f"\x1b[31m{ename}\x1b[39m                            Traceback (most recent call last)",
        f"\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[{count}]\x1b[39m\x1b[32m, line "
        f"{line}\x1b[39m\n{context}\n",
        f"\x1b[31m{ename}\x1b[39m: {evalue}",
    ]


def _cell(*outputs, count=7):
    cell = nbformat.v4.new_code_cell(SOURCE, execution_count=count)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def _error(ename, evalue, traceback):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback}


def _text(cell) -> str:
    return cell.source + repr([dict(o) for o in cell.outputs])


def test_hidden_region_lines_and_visible_source():
    assert hidden_line_numbers(SOURCE) == {2, 3, 4, 5}
    assert visible_source(SOURCE) == (
        "assert f(1) == 1, 'f(1) should be 1'\nassert f(2) == 2, 'f(2) should be 2'")


def test_failure_in_a_hidden_line_says_only_that_a_hidden_test_failed():
    cell = _cell(_error("AssertionError", "secret message",
                        _traceback(7, 4, "AssertionError", "secret message")))
    redact_hidden_cell(cell)
    assert [o.get("evalue") for o in cell.outputs] == [HIDDEN_FAILED]
    for secret in SECRETS:
        assert secret not in _text(cell)


def test_failure_in_a_visible_line_keeps_type_and_message_but_no_traceback():
    cell = _cell(_error("AssertionError", "f(2) should be 2",
                        _traceback(7, 6, "AssertionError", "f(2) should be 2")))
    redact_hidden_cell(cell)
    (error,) = cell.outputs
    assert (error["ename"], error["evalue"]) == ("AssertionError", "f(2) should be 2")
    for secret in SECRETS:
        assert secret not in _text(cell)


def test_frames_of_another_cell_do_not_count_as_visible():
    cell = _cell(_error("ValueError", "from hidden", _traceback(3, 1, "ValueError", "x")))
    redact_hidden_cell(cell)
    assert cell.outputs[0]["evalue"] == HIDDEN_FAILED


def test_executor_errors_without_frames_keep_their_type_with_a_grader_message():
    cell = _cell(_error("DeadKernelError", "the kernel died", ["DeadKernelError: died"]))
    redact_hidden_cell(cell)
    assert cell.outputs[0]["ename"] == "DeadKernelError"
    assert cell.outputs[0]["evalue"] == EXECUTOR_ERRORS["DeadKernelError"]


@pytest.mark.parametrize("ename", ["TimeoutError", "DeadKernelError", "ValueError"])
def test_frameless_errors_never_show_their_message(ename):
    """`%xmode Minimal` lets student code raise errors without frames from a hidden call."""
    cell = _cell(_error(ename, "271828", [f"{ename}: 271828"]), count=None)
    redact_hidden_cell(cell)
    assert "271828" not in _text(cell)


def test_outputs_of_hidden_cells_are_withheld_and_stderr_is_explained():
    cell = _cell({"output_type": "stream", "name": "stdout", "text": "got 271828\n"},
                 {"output_type": "stream", "name": "stderr", "text": "UserWarning: 271828\n"},
                 {"output_type": "execute_result", "execution_count": 7, "metadata": {},
                  "data": {"text/plain": "271828"}})
    redact_hidden_cell(cell)
    text = _text(cell)
    assert "271828" not in text and "stderr" in text and "not shown" in text


def test_scrub_replaces_hidden_lines_anywhere():
    master = MasterNotebook("a", "a", [MasterCell("t", "code", SOURCE, True, None, points=1.0)])
    lines = _hidden_lines([master])
    assert "assert f(_secret_input) == 99, 'secret message'" in lines
    assert all("f(1)" not in line for line in lines)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "copied: assert f(_secret_input) == 99, 'secret message'")])
    _scrub(nb.cells[0], lines)
    assert "secret message" not in nb.cells[0].source


@pytest.mark.slow
def test_real_master_feedback_hides_every_hidden_line(tmp_path):
    """The master itself submitted (hidden tests inside, all pass), a blank copy and the
    realistic Colab-saved fixture: full, zero and full marks, and no hidden test line shows up
    in any feedback page."""
    from autograding.api import grade_submissions
    from autograding.course.release import generate_student_notebook
    from autograding.engine.limits import Limits
    from autograding.grading.files import DEFAULT_COURSE_ROOT

    assignment = "05_mse_gradients"
    master_path = DEFAULT_COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb"
    if not master_path.is_file():
        pytest.skip(f"{master_path} not written yet")
    master = nbformat.read(master_path, as_version=4)
    hidden = set()
    visible = set()
    for cell in master.cells:
        numbers = hidden_line_numbers(cell.source)
        for n, line in enumerate(cell.source.split("\n"), start=1):
            (hidden if n in numbers else visible).add(line.strip())
    secrets = {h for h in hidden - visible if len(h) >= 12 and "HIDDEN TESTS" not in h}
    assert secrets, "the master has hidden tests"
    submitted = tmp_path / "submitted"
    for student, nb in (("master", master), ("blank", generate_student_notebook(assignment))):
        path = submitted / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    colab = submitted / "colab" / assignment / f"{assignment}.ipynb"
    colab.parent.mkdir(parents=True)
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    colab.write_bytes((fixtures / "colab_saved_example.ipynb").read_bytes())
    report = grade_submissions(submitted, tmp_path / "out", workers=2, progress=False,
                               limits=Limits(cell_timeout=60), assignments=[assignment])
    assert report.errors == 0, report.notes
    totals = report.totals()
    assert totals[("master", assignment)] == report.results[("master", assignment)].max_total
    assert totals[("colab", assignment)] == totals[("master", assignment)]
    assert totals[("blank", assignment)] == 0
    for student in ("master", "blank", "colab"):
        page = Path(tmp_path / "out" / "feedback" / student / assignment / f"{assignment}.html")
        text = page.read_text(encoding="utf-8")
        plain = html.unescape(re.sub(r"<[^>]+>", "", text))
        leaked = [s for s in secrets if s in plain or s in text]
        assert not leaked, (student, leaked[:3])
        assert text.count('http-equiv="Content-Security-Policy"') == 1
