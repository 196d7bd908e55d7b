"""nbgrader preprocessors of our own: they restore what a student changed and say so.

Each appends its notes for the student to resources["autograding"]["comments"] and reads the
master (autograding.grading.gradebook.MasterNotebook) from resources["autograding"]["master"].
autograding.grading.pipeline lists them among nbgrader's own.
"""

from __future__ import annotations

from types import SimpleNamespace

from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor, OverwriteCells

from autograding.grading.gradebook import MasterNotebook, plain_source, visible_source
from autograding.grading.submission import RESTORED_NOTE, number_cells


def _context(resources: dict) -> tuple[MasterNotebook, list[str]]:
    """(master, comments) of the notebook being sanitized."""
    context = resources["autograding"]
    return context["master"], context["comments"]


def _clean_nbgrader_metadata(nb, master: MasterNotebook) -> list[str]:
    """Give every cell with a known grade id the master's nbgrader metadata; drop the rest.

    A student can edit metadata freely (flip `grade`, change `points`, invent grade ids);
    nbgrader's preprocessors crash or mis-grade on some of those edits.
    """
    comments = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        known = master.cell(grade_id) if isinstance(grade_id, str) else None
        if known is None:
            del cell.metadata["nbgrader"]
            continue
        fresh = known.nbgrader_metadata()
        if any(meta.get(k) != fresh.get(k) for k in ("grade", "solution", "locked", "points")):
            comments.append(f"The grading settings of cell '{grade_id}' were changed; "
                            f"{RESTORED_NOTE}.")
        cell.metadata["nbgrader"] = fresh
    return comments


def _restore_missing_cells(nb, master: MasterNotebook) -> list[str]:
    """Insert master graded cells (tests; answers as their stub) and read-only code cells the
    submission lacks.

    Each goes right after the nearest cell that precedes it in the master and is present in
    the submission (or first when none does), and after the master's plain code cells between
    the two that the submission still has unchanged (the training run a test checks), so it
    runs with the same state as in the master.
    """
    comments = []
    position = {
        c.metadata["nbgrader"]["grade_id"]: i
        for i, c in enumerate(nb.cells)
        if "nbgrader" in c.metadata
    }
    for index, mcell in enumerate(master.cells):
        if mcell.grade_id in position:
            continue
        if not (mcell.graded or (mcell.locked and mcell.cell_type == "code")):
            continue
        previous = [(position[c.grade_id], i) for i, c in enumerate(master.cells[:index])
                    if c.grade_id in position]
        at, anchor = max(previous) if previous else (-1, -1)
        at += 1
        at = _after_plain_code(nb, at, master.cells[anchor + 1:index + 1])
        maker = new_code_cell if mcell.cell_type == "code" else new_markdown_cell
        cell = maker(mcell.source, metadata={"nbgrader": mcell.nbgrader_metadata(),
                                             "deletable": False, "editable": False})
        nb.cells.insert(at, cell)
        position = {gid: (p + 1 if p >= at else p) for gid, p in position.items()}
        position[mcell.grade_id] = at
        comments.append(_restored_comment(mcell))
    return comments


def _after_plain_code(nb, at: int, between) -> int:
    """Past the cells from `at` on, up to the next nbgrader cell, that are master code cells of
    `between` (the master cells since the anchor; their code_before) kept unchanged."""
    wanted = {code for mcell in between for code in mcell.code_before}
    end = at
    for index in range(at, len(nb.cells)):
        cell = nb.cells[index]
        if "nbgrader" in cell.metadata:
            break
        if cell.cell_type == "code" and plain_source(cell.source) in wanted:
            end = index + 1
    return end


def _restored_comment(mcell) -> str:
    """The note on a master cell put back into a submission that lacked it."""
    what = ("test cell" if mcell.is_test else "answer cell" if mcell.solution
            else "task" if mcell.task else "read-only cell")
    return (f"The {what} '{mcell.grade_id}' was missing from your notebook; it was "
            f"{RESTORED_NOTE} and graded.")


class RestoreGradingMetadata(NbGraderPreprocessor):
    """Cells with a known grade id get the master's nbgrader metadata back; others lose it."""

    def preprocess(self, nb, resources):
        """Replace or drop every cell's nbgrader metadata."""
        master, comments = _context(resources)
        comments += _clean_nbgrader_metadata(nb, master)
        return nb, resources


class DeduplicateIdsNoted(DeduplicateIds):
    """nbgrader's DeduplicateIds, telling the student which cell was kept."""

    def preprocess(self, nb, resources):
        """Keep the last copy of a repeated grade id (nbgrader's rule) and note it."""
        _, comments = _context(resources)
        before = {i: c.metadata.get("nbgrader", {}).get("grade_id")
                  for i, c in enumerate(nb.cells)}
        nb, resources = super().preprocess(nb, resources)
        for i, cell in enumerate(nb.cells):
            if before[i] and "grade_id" not in cell.metadata.get("nbgrader", {}):
                cell.metadata.pop("nbgrader", None)
                comments.append(f"Cell '{before[i]}' appeared more than once; only the last "
                                "copy is graded.")
        return nb, resources


class OverwriteCellsNoted(OverwriteCells):
    """nbgrader's OverwriteCells (read-only and test cells back from the gradebook), noted.

    With the course's `OverwriteCells.add_missing_cells` it also puts deleted graded cells back
    as nbgrader does (its notification first); where nbgrader's placement fails, the cells
    are left to RestoreDeletedCells instead of failing the notebook."""

    def preprocess(self, nb, resources):
        """Overwrite edited read-only cells and note each one a student edited or that came
        back."""
        master, comments = _context(resources)
        before = [(cell, cell.source) for cell in nb.cells]
        nb, resources = super().preprocess(nb, resources)
        for cell, old in before:
            if old != cell.source and old != visible_source(cell.source, master.hidden_tests):
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                comments.append(f"The read-only cell '{grade_id}' was edited; "
                                f"{RESTORED_NOTE}.")
        kept = {id(cell) for cell, _ in before}
        for cell in nb.cells:
            added = None if id(cell) in kept else master.cell(
                cell.metadata.get("nbgrader", {}).get("grade_id"))
            if added is not None:
                comments.append(_restored_comment(added))
        for cell in nb.cells:  # OverwriteCells drops unknown grade ids but keeps the rest
            meta = cell.metadata.get("nbgrader")
            if meta is not None and "grade_id" not in meta:
                del cell.metadata["nbgrader"]
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        """nbgrader's, with the master's cells read from the MasterNotebook the batch read
        from the gradebook once, not with two queries per cell and notebook."""
        gradebook = self.gradebook
        self.gradebook = _MasterCells(_context(resources)[0])
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        finally:
            self.gradebook = gradebook

    def add_missing_grade_cells(self, nb, resources):
        """nbgrader's, undone when it fails: it looks for the previous master cell among the
        submission's graded and answer cells only, and raises when that one is not."""
        cells = list(nb.cells)
        try:
            return super().add_missing_grade_cells(nb, resources)
        except (KeyError, ValueError, IndexError):
            nb.cells = cells
            return nb, resources


class _MasterCells:
    """What OverwriteCells.preprocess_cell asks the gradebook, answered from the master (the
    same rows: autograding.grading.gradebook._read_master)."""

    def __init__(self, master: MasterNotebook):
        self.master = master

    def find_source_cell(self, grade_id: str, notebook: str, assignment: str):
        """The master cell (cell_type, locked, checksum, source), or nbgrader's MissingEntry."""
        cell = self.master.cell(grade_id)
        if cell is None or (notebook, assignment) != (self.master.name, self.master.assignment):
            raise MissingEntry()
        return cell

    def find_graded_cell(self, grade_id: str, notebook: str, assignment: str):
        """The graded master cell's points as `max_score`, or nbgrader's MissingEntry."""
        cell = self.find_source_cell(grade_id, notebook, assignment)
        if not cell.graded or cell.task:
            raise MissingEntry()
        return SimpleNamespace(max_score=cell.points)


class RestoreDeletedCells(NbGraderPreprocessor):
    """Put back graded and read-only cells the student deleted (nbgrader leaves them out)."""

    def preprocess(self, nb, resources):
        """Insert the missing master cells, then number the cells again."""
        master, comments = _context(resources)
        comments += _restore_missing_cells(nb, master)
        number_cells(nb)
        return nb, resources
