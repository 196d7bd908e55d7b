"""The assignments as the sample class sees them: masters, student copies, and cell editing.

An Assignment pairs a master (autograding/source/<id>/<id>.ipynb) with its released student
copy and lists, by nbgrader grade id, the autograded answer cells and the points of each test
cell. The helpers below read and edit notebooks as plain JSON dicts (as Jupyter writes them).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from autograding.course.release import ASSIGNMENT_IDS, COURSE_ROOT

SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|$)", re.MULTILINE)


def grade_id(cell: dict) -> str | None:
    """The cell's nbgrader grade id, if it has one."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def cell_source(cell: dict) -> str:
    """The cell's source as one string (notebooks may store it as a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def nbgrader_meta(cell: dict) -> dict:
    """The cell's nbgrader metadata ({} for a plain cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


@dataclass
class Assignment:
    """A master, its released student copy, and the positions of answers and tests."""

    name: str
    master: dict
    student: dict
    answers: list[str]  # grade ids of autograded answer cells, in notebook order
    points: dict[str, float]  # grade id -> points of each graded (test) cell
    order: list[str]  # every grade id, in notebook order

    @property
    def max_score(self) -> float:
        """Points available in this assignment."""
        return float(sum(self.points.values()))

    @property
    def last_tested_answer(self) -> str:
        """The last answer a test cell comes after: an optional challenge at the end, with no
        test of its own, costs no points when it breaks."""
        last_test = max(self.order.index(t) for t in self.points) if self.points else -1
        tested = [a for a in self.answers if self.order.index(a) < last_test]
        return (tested or self.answers)[-1]

    def cell(self, nb: dict, cell_id: str) -> dict:
        """The cell of `nb` with grade id `cell_id` (the first one)."""
        return next(c for c in nb["cells"] if grade_id(c) == cell_id)

    def solution(self, cell_id: str) -> str:
        """The master's answer code without the solution markers."""
        return SOLUTION_MARKER.sub("", cell_source(self.cell(self.master, cell_id)))


def available_assignments(course_root=None, assignments=None) -> list[str]:
    """Assignment ids whose master exists, in course order."""
    root = Path(course_root or COURSE_ROOT)
    ids = assignments or ASSIGNMENT_IDS
    return [a for a in ids if (root / "source" / a / f"{a}.ipynb").is_file()]


def load_assignments(course_root=None, assignments=None, released_dir=None
                     ) -> dict[str, Assignment]:
    """Masters and student copies (from `released_dir`, else released afresh)."""
    from autograding.course.release import build_student_notebooks

    root = Path(course_root or COURSE_ROOT)
    ids = available_assignments(root, assignments)
    if not ids:
        raise FileNotFoundError(f"{root / 'source'}: no master notebooks; write or restore them")
    if released_dir is not None:
        released = {f"{a}.ipynb": (Path(released_dir) / f"{a}.ipynb").read_text("utf-8")
                    for a in ids}
    else:
        released = build_student_notebooks(root, ids)
    result = {}
    for name in ids:
        master = json.loads((root / "source" / name / f"{name}.ipynb").read_text("utf-8"))
        student = json.loads(released[f"{name}.ipynb"])
        answers = [
            grade_id(c) for c in master["cells"]
            if c["cell_type"] == "code" and nbgrader_meta(c).get("solution")
            and not nbgrader_meta(c).get("grade")
        ]
        points = {
            grade_id(c): float(nbgrader_meta(c).get("points", 0)) for c in master["cells"]
            if nbgrader_meta(c).get("grade") and c["cell_type"] == "code"
        }
        order = [grade_id(c) for c in master["cells"] if grade_id(c)]
        result[name] = Assignment(name, master, student, answers, points, order)
    return result


def fill(assignment: Assignment, answered=None, *, nb: dict | None = None) -> dict:
    """A student copy with the master's solution in the answers `answered` (default: all)."""
    nb = copy.deepcopy(nb or assignment.student)
    answered = assignment.answers if answered is None else answered
    for cell_id in answered:
        assignment.cell(nb, cell_id)["source"] = assignment.solution(cell_id)
    return nb


def one_off_answers(assignment: Assignment) -> dict:
    """A student copy with wrong answers: the master's solutions, each function they define
    returning results one off (autograding.demo.payloads.one_off)."""
    from autograding.demo.payloads import one_off

    nb = fill(assignment)
    for number, cell_id in enumerate(assignment.answers):
        code = assignment.solution(cell_id)
        try:
            names = [node.name for node in ast.parse(code).body
                     if isinstance(node, ast.FunctionDef)]
        except SyntaxError:
            names = []
        wrapped = "".join(f"{name} = one_off({name})\n" for name in names)
        set_answer(assignment, nb, cell_id,
                   (one_off() + "\n\n" if number == 0 else "") + code + "\n" + wrapped)
    return nb


def set_answer(assignment: Assignment, nb: dict, cell_id: str, code: str) -> dict:
    """Replace one answer cell's code."""
    assignment.cell(nb, cell_id)["source"] = code
    return nb


def restore_tests(assignment: Assignment, nb: dict) -> dict:
    """The master's test cells (hidden tests included) in place of the student's, as graded."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if grade_id(cell) in assignment.points:
            master_cell = assignment.cell(assignment.master, grade_id(cell))
            cell["source"] = cell_source(master_cell)
            cell["metadata"] = copy.deepcopy(master_cell["metadata"])
    return nb


def new_cell(cell_type: str, source: str, seed: str) -> dict:
    """A plain (ungraded) cell with a deterministic nbformat 4.5 id."""
    cell = {"cell_type": cell_type, "id": hashlib.sha1(seed.encode()).hexdigest()[:8],
            "metadata": {}, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook_text(nb: dict) -> str:
    """JSON text as Jupyter writes it (indent 1, newline at the end)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
