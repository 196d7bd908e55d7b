"""The masters' graded tests accept correct answers other than the reference solutions."""

# Each module tests/course/other_answers_*.py defines ANSWERS = {assignment id: {grade_id of a
# solution cell: the whole cell}}. Every assignment's master, hidden tests included, runs once
# in grading mode (NBGRADER_EXECUTION=autograde) with those cells swapped in, and every graded
# test cell must pass: a test that fails there rejects a correct answer, or the answer is wrong.

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from reference_answers import reference_answer
from test_notebooks import MASTERS, describe, is_graded_test, nbgrader_meta, run_notebook

from autograding.course import release

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
ANSWER_FILES = sorted(HERE.glob("other_answers_*.py"))


@functools.cache
def answer_module(path: Path) -> dict:
    """ANSWERS of one answer module, loaded from its file (tests/course is no package)."""
    spec = importlib.util.spec_from_file_location(f"_other_answers_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ANSWERS


def answers_for(aid: str) -> tuple[Path, dict[str, str]]:
    """(the module answering `aid`, its {grade_id: cell}); fails if none or several do."""
    found = []
    for path in ANSWER_FILES:
        try:
            answers = answer_module(path)
        except Exception as err:  # one broken module must not hide the others' results
            pytest.fail(f"{path.name} could not be loaded: {type(err).__name__}: {err}")
        if aid in answers:
            found.append((path, answers[aid]))
    if not found:
        pytest.fail(f"no tests/course/other_answers_*.py answers {aid}: write other correct "
                    "answers to each of its exercises")
    if len(found) > 1:
        pytest.fail(f"{aid} is answered by several modules: {[p.name for p, _ in found]}")
    return found[0]


def solution_sources(nb) -> dict[str, str]:
    """{grade_id: master source} of a notebook's solution cells."""
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
            if nbgrader_meta(c).get("solution")}


def squashed(source: str) -> str:
    """`source` with every run of whitespace made one space, to compare code."""
    return re.sub(r"\s+", " ", source).strip()


def with_answers(aid: str, answers: dict[str, str]):
    """The master with every solution cell named in `answers` replaced by its alternative."""
    nb = nbformat.read(MASTERS[aid], as_version=4)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and meta["grade_id"] in answers:
            cell.source = answers[meta["grade_id"]]
            cell.outputs = []
    return nb


def grade(aid: str) -> nbformat.NotebookNode:
    """Execute the master with the other answers as nbgrader autograde does (grading mode)."""
    _, answers = answers_for(aid)
    nb = with_answers(aid, answers)
    return run_notebook(nb, MASTERS[aid].parent, NBGRADER_EXECUTION="autograde")


def problems_of(cell) -> list[str]:
    """Why a graded cell lost its points: errors, and stderr (plain nbgrader gives it 0)."""
    found = [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", [])
             if o.output_type == "error"]
    found += [f"wrote to stderr: {o.text[:300]!r}" for o in cell.get("outputs", [])
              if o.output_type == "stream" and o.name == "stderr"]
    return found


@pytest.mark.parametrize("aid", release.ASSIGNMENT_IDS)
def test_other_answers_pass_the_graded_tests(aid):
    path, answers = answers_for(aid)
    master = solution_sources(nbformat.read(MASTERS[aid], as_version=4))
    missing, unknown = sorted(set(master) - set(answers)), sorted(set(answers) - set(master))
    assert not missing and not unknown, (
        f"{path.name} must answer every solution cell of {aid} and nothing else: missing "
        f"{missing}, not solution cells {unknown}")
    copied = [gid for gid, source in answers.items()
              if squashed(source) == squashed(reference_answer(master[gid]))]
    assert not copied, f"{path.name}: the answers to {copied} are the master's own solution"

    # One notebook at a time: two nbclient runs in a thread pool hung once in CI (both
    # workers idle, a future never done), a risk these ~20 s do not pay for.
    nb = grade(aid)
    tests = [(i, c) for i, c in enumerate(nb.cells) if is_graded_test(c)]
    assert tests, f"{MASTERS[aid]} has no graded test cells"
    failed = [f"  {describe(c, i)}: {'; '.join(problems_of(c))}"
              for i, c in tests if problems_of(c)]
    # Errors of other cells often explain a failing test below them (a demo that broke).
    context = [f"  {describe(c, i)} raised {o.ename}: {o.evalue}"
               for i, c in enumerate(nb.cells) if not is_graded_test(c)
               for o in c.get("outputs", []) if o.output_type == "error"]
    assert not failed, (
        f"{aid} graded with the answers of {path.name} lost points in "
        f"{len(failed)} of {len(tests)} graded test cells:\n" + "\n".join(failed)
        + ("\nother cells that raised:\n" + "\n".join(context) if context else ""))
