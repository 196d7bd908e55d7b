"""The answer cells of a submitted notebook, matched to its master by grade id, and its stub.

A master's answer cells are its code cells whose nbgrader metadata says `solution: true`. A
student's notebook is compared on the cells carrying those grade ids; when none of them is
there (an editor dropped the metadata) on every code cell that is not one the student was
given: a locked master cell or a cell of the released copy. The released copy (the master
after nbgrader's ClearSolutions and ClearHiddenTests, with the course cells of the release) is
the boilerplate: whatever it holds never counts as shared work.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograding.grading.gradebook import plain_source
from autograding.grading.submission import SubmissionError, parse_notebook, read_bytes_safely

# Past this much answer code a notebook is not compared: tokenizing megabytes of pasted text
# costs minutes, and no exercise of the course needs more than a few kB.
MAX_ANSWER_CHARS = 200_000


@dataclass(frozen=True)
class MasterAnswers:
    """What the comparison needs of one master notebook."""

    name: str  # the notebook's file stem, as submitted/<student>/<assignment>/<name>.ipynb
    answer_ids: tuple[str, ...]  # grade ids of the answer cells, in master order
    given: frozenset[str]  # plain_source of the code cells every student was given
    boilerplate: str  # the code cells of the released student copy, one after the other


@dataclass(frozen=True)
class AnswerCode:
    """One student's answer cells of one notebook, as one Python text with cell headers."""

    text: str
    cells: tuple[str, ...]  # the grade id of each cell, or "cell N" when matched by content
    by_content: bool = False  # True when no grade id matched and the fallback chose the cells


def _nbgrader(cell) -> dict:
    """A cell's nbgrader metadata, {} when missing or malformed."""
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str:
    """A cell's nbgrader grade id, "" when missing or not a string."""
    grade_id = _nbgrader(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) else ""


def released_copy(master: nbformat.NotebookNode, assignment: str, config=None
                  ) -> nbformat.NotebookNode:
    """The student copy of a master: solutions replaced by the stub, hidden tests removed
    (with the course's nbgrader `config`: its stub and delimiters), course cells added as
    `make release` adds them."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    from autograding.course.release import clean_notebook
    from autograding.grading.gradebook import quiet_logger

    released = copy.deepcopy(master)
    options = {"log": quiet_logger(), **({"config": config} if config is not None else {})}
    released, _ = ClearSolutions(**options).preprocess(released, {})
    released, _ = ClearHiddenTests(**options).preprocess(released, {})
    try:
        released = clean_notebook(released, assignment)
    except ValueError:  # no [tool.linreg-course] config: the stub alone is the boilerplate
        pass
    return released


def load_master(path: Path, assignment: str, config=None) -> MasterAnswers:
    """Read a master notebook (trusted: the course's own file) into MasterAnswers, released
    with the course's nbgrader `config` (nbgrader's defaults when None)."""
    master = nbformat.read(path, as_version=4)
    answer_ids = tuple(
        _nbgrader(cell)["grade_id"] for cell in master.cells
        if cell.cell_type == "code" and _nbgrader(cell).get("solution")
        and _nbgrader(cell).get("grade_id"))
    released = released_copy(master, assignment, config)
    given = {plain_source(c.source) for c in released.cells if c.cell_type == "code"}
    given |= {plain_source(c.source) for c in master.cells
              if c.cell_type == "code" and _nbgrader(c).get("locked")}
    code = "\n\n".join(c.source for c in released.cells if c.cell_type == "code")
    master_answers = MasterAnswers(path.stem, answer_ids, frozenset(given - {""}), code)
    # Also the stubs as a student's answer text strings them together: k-grams running from
    # one stub into the next exist only there.
    stubs = answer_cells(released, master_answers).text
    return dataclasses.replace(master_answers, boilerplate=code + "\n\n" + stubs)


def _header(label: str) -> str:
    """The comment line put above each cell: the report shows it, the tokenizer drops it."""
    return f"# ---- {label} ----\n"


def answer_cells(nb, master: MasterAnswers) -> AnswerCode:
    """The answer cells of a parsed student notebook, matched to the master."""
    wanted = set(master.answer_ids)
    # A grade id is any JSON the student saved (a list is unhashable): only strings match.
    chosen = [(_grade_id(cell), cell.source) for cell in nb.cells
              if cell.cell_type == "code" and _grade_id(cell) in wanted]
    by_content = not chosen
    if by_content:
        chosen = [(f"cell {number}", cell.source)
                  for number, cell in enumerate(nb.cells, start=1)
                  if cell.cell_type == "code" and plain_source(cell.source)
                  and plain_source(cell.source) not in master.given]
    # Labels are master grade ids or numbers, never the student's text: a header is one line.
    text = "".join(_header(label) + source.rstrip() + "\n\n" for label, source in chosen)
    return AnswerCode(text, tuple(label for label, _ in chosen), by_content)


def read_answers(path: Path, master: MasterAnswers) -> AnswerCode:
    """The answer cells of one submitted notebook file; SubmissionError says why not."""
    nb, _ = parse_notebook(read_bytes_safely(path), path.name)
    answers = answer_cells(nb, master)
    if len(answers.text) > MAX_ANSWER_CHARS:
        raise SubmissionError(
            f"{path.name}: {len(answers.text) // 1000} kB of answer code, over the "
            f"{MAX_ANSWER_CHARS // 1000} kB compared; read it yourself")
    return answers
