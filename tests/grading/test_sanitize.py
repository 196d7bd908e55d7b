"""nbgrader's OverwriteCells answered from the master, as the gradebook answers (sanitize)."""

from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograding.grading.gradebook import register_masters
from autograding.grading.sanitize import _MasterCells

COURSE = Path(__file__).resolve().parents[2] / "autograding"


def answer(find, *args):
    try:
        found = find(*args)
    except MissingEntry:
        return "missing"
    if hasattr(found, "source"):
        return found.cell_type, found.source, bool(found.locked), found.checksum
    return float(found.max_score)


@pytest.mark.parametrize("assignment", ["02_linreg_scratch", "04_loss_functions"])
def test_the_master_answers_what_the_gradebook_answers(tmp_path, assignment):
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    master = register_masters(db_url, COURSE, [assignment])[assignment][0]
    cells = _MasterCells(master)
    asked = [(c.grade_id, master.name, assignment) for c in master.cells]
    asked += [("no-such-cell", master.name, assignment),
              (master.cells[0].grade_id, "other_notebook", assignment),
              (master.cells[0].grade_id, master.name, "other_assignment")]
    with Gradebook(db_url, "") as gb:
        for args in asked:
            assert answer(cells.find_source_cell, *args) == answer(gb.find_source_cell, *args)
            assert answer(cells.find_graded_cell, *args) == answer(gb.find_graded_cell, *args)
    assert any(answer(cells.find_graded_cell, *args) == "missing" for args in asked[:-3])
    assert any(answer(cells.find_graded_cell, *args) != "missing" for args in asked[:-3])
