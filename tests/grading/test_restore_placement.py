"""A deleted test cell is put back where the master has it: after the code it checks."""

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograding.grading.gradebook import MasterCell, MasterNotebook
from autograding.grading.sanitize import _restore_missing_cells

TRAIN = "w = train(data)\nprint(w)"


def _master():
    meta = {"checksum": None, "locked": True}
    return MasterNotebook("a1", "a1", cells=[
        MasterCell("intro", "markdown", "# Training", **meta),
        MasterCell("answer", "code", "def train(d):\n    return d", locked=False, checksum=None,
                   solution=True, code_before=()),
        MasterCell("test_trained", "code", "assert w == 1", points=2.0, code_before=(TRAIN,),
                   **meta),
    ])


def _nb(*cells):
    built = []
    for kind, source, grade_id in cells:
        cell = (new_code_cell if kind == "code" else new_markdown_cell)(source)
        if grade_id:
            cell.metadata["nbgrader"] = {"grade_id": grade_id}
        built.append(cell)
    return new_notebook(cells=built)


def _sources(nb):
    return [c.source for c in nb.cells]


def test_restored_after_the_unchanged_training_cell_it_checks():
    nb = _nb(("markdown", "# Training", "intro"), ("code", "def train(d):\n    return d",
                                                  "answer"),
             ("code", "print('scratch')", None), ("code", TRAIN + "\n\n", None),
             ("markdown", "my notes", None))
    comments = _restore_missing_cells(nb, _master())
    assert _sources(nb)[4] == "assert w == 1", _sources(nb)
    assert _sources(nb)[3].startswith(TRAIN) and _sources(nb)[5] == "my notes"
    assert len(comments) == 1 and "test_trained" in comments[0]


def test_an_edited_training_cell_leaves_the_test_right_after_the_answer():
    nb = _nb(("markdown", "# Training", "intro"), ("code", "def train(d):\n    return d",
                                                  "answer"),
             ("code", "w = train(other)", None))
    _restore_missing_cells(nb, _master())
    assert _sources(nb)[2] == "assert w == 1"


def test_it_never_moves_past_the_next_nbgrader_cell():
    nb = _nb(("markdown", "# Training", "intro"), ("code", "def train(d):\n    return d",
                                                  "answer"),
             ("markdown", "Exercise 2", "ex2_md"), ("code", TRAIN, None))
    _restore_missing_cells(nb, _master())
    assert _sources(nb)[2] == "assert w == 1", _sources(nb)
