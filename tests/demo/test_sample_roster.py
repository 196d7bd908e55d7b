"""The roster and the submission builders, on a small made-up assignment (no notebook runs).

Every kind on the roster has a builder, every submission carries a scoring rule, and the
oracle cache's fingerprint covers the code that decides the expected scores.
"""

import inspect
import json
from pathlib import Path

import nbformat
import pytest

from autograding.demo import FULL_STUDENTS, SINGLE_STUDENTS, Assignment, make_submission, roster
from autograding.demo.broken import BROKEN_KINDS
from autograding.demo.honest import HONEST_KINDS
from autograding.demo.hostile import HOSTILE_KINDS
from autograding.demo.oracles import _code_fingerprint, fingerprinted_files, oracle_notebooks
from autograding.demo.roster import EXTRA_KINDS, SUBMISSION_KINDS
from autograding.grading.scoring import score_cell

DEMO_DIR = Path(__file__).resolve().parents[2] / "autograding" / "demo"


def _toy_assignment() -> Assignment:
    """Three answers, each followed by a one-point test, and its blank student copy."""
    def cell(grade_id, source, **flags):
        made = nbformat.v4.new_code_cell(source)
        made.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, **flags}
        return made

    master = nbformat.v4.new_notebook()
    student = nbformat.v4.new_notebook()
    for n in range(3):
        answer = f"### BEGIN SOLUTION\nx{n} = {n}\n### END SOLUTION\n"
        test = f"assert x{n} == {n}\n"
        master.cells += [cell(f"answer{n}", answer, solution=True, grade=False),
                         cell(f"test{n}", test, grade=True, points=1, solution=False)]
        student.cells += [cell(f"answer{n}", "raise NotImplementedError()\n", solution=True,
                               grade=False),
                          cell(f"test{n}", test, grade=True, points=1, solution=False)]
    master, student = json.loads(json.dumps(master)), json.loads(json.dumps(student))
    answers = [f"answer{n}" for n in range(3)]
    points = {f"test{n}": 1.0 for n in range(3)}
    order = [c["metadata"]["nbgrader"]["grade_id"] for c in master["cells"]]
    return Assignment("toy", master, student, answers, points, order)


def test_every_kind_has_exactly_one_builder():
    families = [set(HONEST_KINDS), set(BROKEN_KINDS), set(HOSTILE_KINDS)]
    assert sum(map(len, families)) == len(set().union(*families))
    kinds = {k for _, k in FULL_STUDENTS} | {k for _, k in SINGLE_STUDENTS} | set(EXTRA_KINDS)
    assert kinds == set(SUBMISSION_KINDS)
    rows = roster(40, ["a", "b"])
    assert len(rows) == 40 and {kind for _, kind, _ in rows} == kinds


@pytest.mark.parametrize("kind", sorted(SUBMISSION_KINDS))
def test_every_submission_has_a_scoring_rule(kind, tmp_path):
    toy = _toy_assignment()
    sub = make_submission("someone", kind, toy, submitted_dir=tmp_path / "submitted",
                          course_root=tmp_path, classmate="ada_correct")
    assert (sub.student, sub.assignment, sub.kind) == ("someone", "toy", kind)
    assert sub.files and sub.description
    rules = [bool(sub.oracle), bool(sub.dead_after), sub.zero]
    assert sum(rules) == 1, (kind, rules)
    assert not sub.oracle or sub.oracle in oracle_notebooks(toy)
    assert not sub.dead_after or sub.dead_after in toy.answers


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown sample submission kind"):
        make_submission("someone", "bribe", _toy_assignment(), submitted_dir=tmp_path,
                        course_root=tmp_path, classmate="ada_correct")


def test_fingerprint_covers_the_code_behind_expected_scores():
    files = set(fingerprinted_files())
    assert set(DEMO_DIR.glob("*.py")) <= files
    assert any(p.parent.name == "course_utils" for p in files)
    assert Path(inspect.getsourcefile(score_cell)).resolve() in files
    assert _code_fingerprint() == _code_fingerprint()
