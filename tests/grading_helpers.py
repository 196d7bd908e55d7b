"""A tiny nbgrader course (no torch, fast kernels) and submissions for the pipeline tests."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "squares"
# Strings that exist only inside the hidden tests: the feedback must never show them.
HIDDEN_INPUT = "-4321"
HIDDEN_MESSAGE = "secret-hidden-check-b7"
HIDDEN_NAME = "_hidden_expected_square"


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    """nbgrader schema-3 cell metadata."""
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


SQUARE_TEST = (
    "assert square(3) == 9, 'square(3) should be 9'\n"
    "### BEGIN HIDDEN TESTS\n"
    f"{HIDDEN_NAME} = ({HIDDEN_INPUT}) ** 2\n"
    f"assert square({HIDDEN_INPUT}) == {HIDDEN_NAME}, '{HIDDEN_MESSAGE}'\n"
    "### END HIDDEN TESTS"
)
CUBE_TEST = "assert cube(2) == 8, 'cube(2) should be 8'\nassert cube(-1) == -1, 'cube(-1) is -1'"


def master_notebook():
    """The master: two answers, a test with hidden tests, a visible-only test."""
    cells = [
        new_markdown_cell("# Squares\nWrite two small functions.", metadata=_meta(
            "intro", locked=True)),
        new_code_cell("import math\nBASE = 2", metadata=_meta("setup", locked=True)),
        new_code_cell(
            "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
            metadata=_meta("square_answer", solution=True),
        ),
        new_code_cell(SQUARE_TEST, metadata=_meta(
            "square_test", grade=True, locked=True, points=2)),
        new_code_cell(
            "def cube(x):\n    ### BEGIN SOLUTION\n    return x ** 3\n    ### END SOLUTION",
            metadata=_meta("cube_answer", solution=True),
        ),
        new_code_cell(CUBE_TEST, metadata=_meta("cube_test", grade=True, locked=True, points=3)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def build_course(root: Path) -> Path:
    """Write source/squares/squares.ipynb under `root` and return `root`."""
    path = root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(master_notebook(), path)
    return root


def student_notebook(square_body="return x * x", cube_body="return x ** 3"):
    """A student copy as nbgrader releases it, with the given answers filled in."""
    nb = master_notebook()
    nb.cells[2].source = f"def square(x):\n    {square_body}"
    nb.cells[3].source = SQUARE_TEST.split("### BEGIN")[0].rstrip("\n")
    nb.cells[4].source = f"def cube(x):\n    {cube_body}"
    return nb


def write_submission(submitted: Path, student: str, nb_or_bytes) -> Path:
    """Put a notebook (or raw bytes) at submitted/<student>/squares/squares.ipynb."""
    path = submitted / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb_or_bytes, bytes):
        path.write_bytes(nb_or_bytes)
    else:
        nbformat.write(nb_or_bytes, path)
    return path


def colab_copy(nb):
    """The same notebook as Google Colab saves it (colab block, cell ids, its kernelspec)."""
    nb = copy.deepcopy(nb)
    nb.metadata = {
        "colab": {"provenance": [], "name": f"{ASSIGNMENT}.ipynb", "toc_visible": True},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(nb.cells):
        cell.metadata["id"] = f"colabid{i:04d}"
        cell.metadata["colab"] = {"base_uri": "https://localhost:8080/"}
        if cell.cell_type == "code":
            cell.metadata["outputId"] = f"out{i}"
    return nb


def tree_hashes(root: Path) -> dict:
    """sha256 of every file under `root`, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def v3_bytes(nb) -> bytes:
    """The notebook converted down to the old nbformat 3."""
    return json.dumps(nbformat.convert(nb, 3)).encode()


class NbclientResult:
    """The fields of autograding.engine.executor.ExecutionResult the pipeline reads."""

    def __init__(self, notebook, kernel_died, timed_out, messages, seconds):
        self.notebook = notebook
        self.kernel_died = kernel_died
        self.timed_out = timed_out
        self.messages = messages
        self.sandbox = "none (nbclient test executor)"
        self.seconds = seconds


def nbclient_execute(nb, *, limits=None, sandbox="auto", env=None, hidden=()):
    """Plain nbclient execution with nbgrader's settings (no sandbox): a test stand-in."""
    import os
    import tempfile
    import time

    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    started = time.monotonic()
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    timeout = getattr(limits, "cell_timeout", 30)
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": scratch}})
        died = False
        try:
            client.execute()
        except DeadKernelError:
            died = True
    return NbclientResult(nb, died, False, [], time.monotonic() - started)


def warm_up(sandbox, hidden):
    """Pool-initializer stand-in: note that this worker process started (in hidden[0])."""
    import os
    from pathlib import Path

    (Path(hidden[0]) / f"worker-{os.getpid()}").write_text(sandbox)
