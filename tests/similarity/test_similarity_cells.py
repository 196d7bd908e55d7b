"""Answer cells: matched by grade id, by content when the metadata is gone; the stub."""

import json
from pathlib import Path

import nbformat
import pytest
from similarity_class import ASSIGNMENT, BEN, MASTER, student_notebook, without_metadata

from autograding.course.release import ASSIGNMENT_IDS, COURSE_ROOT, NOTEBOOKS_DIR
from autograding.grading.submission import SubmissionError, parse_notebook
from autograding.similarity.cells import (
    MAX_ANSWER_CHARS,
    answer_cells,
    load_master,
    read_answers,
    released_copy,
)


@pytest.fixture(scope="module")
def master():
    return load_master(MASTER, ASSIGNMENT)


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_the_stub_is_the_released_notebook(assignment):
    path = COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb"
    released = released_copy(nbformat.read(path, as_version=4), assignment)
    shipped = nbformat.read(NOTEBOOKS_DIR / f"{assignment}.ipynb", as_version=4)
    assert ([c.source for c in released.cells if c.cell_type == "code"]
            == [c.source for c in shipped.cells if c.cell_type == "code"])


def test_answer_cells_are_the_masters_solution_cells_in_order(master):
    assert master.answer_ids == ("absolute_loss", "huber_loss", "log_cosh_loss",
                                 "quantile_loss", "best_constant", "fit_line",
                                 "quantile_interval")
    answers = answer_cells(student_notebook(BEN), master)
    assert answers.cells == master.answer_ids and not answers.by_content
    assert "torch.stack(out)" in answers.text and "best_c, best_value" in answers.text
    # Only answer cells: no test cell, no locked helper, no course cell.
    assert "assert" not in answers.text and "def _residual" not in answers.text
    assert "# ---- huber_loss ----\n" in answers.text


def test_without_grade_ids_the_cells_the_student_wrote_are_found(master):
    raw = without_metadata(student_notebook(BEN))
    nb, _ = parse_notebook(json.dumps(raw).encode(), "x.ipynb")
    answers = answer_cells(nb, master)
    assert answers.by_content
    # The four answered cells: every given cell (stubs, tests, helpers, setup) is left out.
    assert len(answers.cells) == 4 and all(c.startswith("cell ") for c in answers.cells)
    assert "torch.stack(out)" in answers.text and "assert" not in answers.text
    assert "YOUR CODE HERE" not in answers.text


def test_a_student_header_cannot_smuggle_lines_in(master):
    nb = student_notebook(BEN)
    nb.cells[0].metadata["nbgrader"] = {"grade_id": "x\nimport os", "solution": True}
    answers = answer_cells(nb, master)
    assert "import os" not in answers.text


def test_unreadable_and_oversized_notebooks_say_why(tmp_path, master):
    link = tmp_path / "link.ipynb"
    target = tmp_path / "real.ipynb"
    nbformat.write(student_notebook(BEN), target)
    link.symlink_to(target)
    with pytest.raises(SubmissionError, match="symbolic link"):
        read_answers(link, master)
    with pytest.raises(SubmissionError, match="no such file"):
        read_answers(tmp_path / "missing.ipynb", master)
    huge = tmp_path / "huge.ipynb"
    nbformat.write(student_notebook({"huber_loss": "    x = 1\n" * (MAX_ANSWER_CHARS // 8)}),
                   huge)
    with pytest.raises(SubmissionError, match="kB of answer code"):
        read_answers(huge, master)
    assert read_answers(target, master).cells == master.answer_ids


def test_a_course_with_its_own_stub_and_delimiters_is_released_with_them():
    from autograding.similarity.collect import load_masters

    course = Path(__file__).parents[1] / "fixtures" / "nbgrader_course"
    masters = [m for found in load_masters(course).values() for m in found]
    assert masters
    for m in masters:
        assert "BEGIN MODEL ANSWER" not in m.boilerplate
        assert "BEGIN SECRET CHECKS" not in m.boilerplate
    stubbed = [m for m in masters if m.answer_ids]
    assert stubbed and all("raise NotImplementedError('no answer yet')" in m.boilerplate
                           for m in stubbed)


def test_odd_grade_ids_and_deep_metadata_do_not_stop_the_report(tmp_path, master):
    """A grade id saved as a list raised TypeError (unhashable) and metadata nested too deep
    to copy raised RecursionError: either stopped `similarity` for the whole class."""
    nb = student_notebook(BEN)
    first, second = [cell for cell in nb.cells if cell.cell_type == "code"][:2]
    first.metadata["nbgrader"] = {"grade_id": ["x"], "solution": True}
    second.metadata["nbgrader"] = "hello"
    assert answer_cells(nb, master).text  # the other answers are still compared
    deep = json.loads(nbformat.writes(student_notebook(BEN)))
    nested = 1
    for _ in range(700):
        nested = [nested]
    deep["cells"][0]["metadata"]["extra"] = nested
    deep["cells"][0]["metadata"].setdefault("nbgrader", {})["extra"] = nested
    path = tmp_path / "deep.ipynb"
    path.write_text(json.dumps(deep))
    with pytest.raises(SubmissionError, match="nested too deeply"):
        read_answers(path, master)
