"""Student notebooks with the masters' reference answers filled in (Colab, exchange, browser)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograding.course.release import ASSIGNMENT_IDS, NOTEBOOKS_DIR, master_path

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def released_ids() -> list[str]:
    """Assignment ids whose master and released student notebook both exist."""
    return [
        aid for aid in ASSIGNMENT_IDS
        if master_path(aid).is_file() and (NOTEBOOKS_DIR / f"{aid}.ipynb").is_file()
    ]


def reference_answer(master_source: str) -> str:
    """A master's answer cell as a student who wrote the reference solution would have it."""
    lines = master_source.splitlines()
    return "\n".join(line for line in lines if line.strip() not in SOLUTION_MARKERS)


def fill_reference_answers(student_nb, master_nb):
    """Replace every answer cell of `student_nb` by the master's solution (same grade_id)."""
    answers = {
        cell.metadata["nbgrader"]["grade_id"]: reference_answer(cell.source)
        for cell in master_nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    filled = 0
    for cell in student_nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
            filled += 1
    assert filled == len(answers), f"{filled} of {len(answers)} answer cells matched"
    return student_nb


def filled_student_notebook(assignment_id: str, notebooks_dir: Path | None = None):
    """The released student notebook of `assignment_id` with the reference answers in it."""
    student = nbformat.read(Path(notebooks_dir or NOTEBOOKS_DIR) / f"{assignment_id}.ipynb", 4)
    master = nbformat.read(master_path(assignment_id), 4)
    return fill_reference_answers(student, master)


def graded_test_cells(nb):
    """Code cells nbgrader grades automatically (tests, not answers)."""
    return [
        cell for cell in nb.cells
        if cell.cell_type == "code"
        and cell.metadata.get("nbgrader", {}).get("grade")
        and not cell.metadata.get("nbgrader", {}).get("solution")
    ]


def failures(cell) -> list[str]:
    """Error and stderr outputs of an executed cell, as short strings."""
    found = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            found.append(f"{out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            found.append(f"stderr: {out.get('text', '')[:300]}")
    return found


def stdout_text(cell) -> str:
    """Everything a cell printed to stdout."""
    return "".join(
        out.get("text", "") for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stdout"
    )
