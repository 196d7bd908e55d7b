"""Read a submitted notebook safely and sanitize it against the master, in the parent.

Every submission is hostile until proven otherwise: the file is opened without following
symlinks, size-capped, decoded, parsed and rebuilt cell by cell into a fresh nbformat-4
notebook (so Colab's or any editor's extra metadata cannot change how it grades). nbgrader's
sanitizing preprocessors then run as in `nbgrader autograde` (ClearOutput, DeduplicateIds,
OverwriteKernelspec, OverwriteCells, CheckCellMetadata), and test cells the student deleted
are put back from the gradebook (nbgrader leaves them out).
"""

from __future__ import annotations

import copy
import errno
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from autograding.grading.gradebook import MasterNotebook, quiet_logger, visible_source

MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_CELLS = 5000
RESTORED_NOTE = "restored from the master"


class SubmissionError(ValueError):
    """The submitted file cannot be graded; the message is the comment the student sees."""


@dataclass
class Prepared:
    """A sanitized notebook ready to execute, with the comments gathered on the way."""

    notebook: nbformat.NotebookNode
    comments: list[str] = field(default_factory=list)


def read_bytes_safely(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The file's bytes; refuses symlinks, non-regular files and files over `max_bytes`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError as err:
        raise SubmissionError(f"{path.name}: no such file") from err
    except OSError as err:
        what = "is a symbolic link" if err.errno == errno.ELOOP else "cannot be opened"
        raise SubmissionError(
            f"{path.name}: {what} ({err.strerror}); submit the notebook file itself"
        ) from err
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{path.name}: not a regular file; submit the .ipynb file")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SubmissionError(
            f"{path.name}: larger than {max_bytes // 2**20} MB; clear the outputs "
            "(Edit > Clear All Outputs), save and submit again"
        )
    return data


def parse_notebook(data: bytes, name: str) -> tuple[nbformat.NotebookNode, list[str]]:
    """Decode, parse and rebuild a notebook; returns it with the comments on what was done."""
    if not data.strip():
        raise SubmissionError(f"{name}: the file is empty; save the notebook and submit again")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SubmissionError(
            f"{name}: not a notebook (not UTF-8 text); submit the .ipynb that Jupyter or Colab "
            "saves (File > Download > .ipynb)"
        ) from err
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise SubmissionError(
            f"{name}: not a notebook (the file is not valid JSON: {str(err)[:120]}); submit the "
            ".ipynb that Jupyter or Colab saves (File > Download > .ipynb)"
        ) from err
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise SubmissionError(
            f"{name}: JSON but not a Jupyter notebook (no 'nbformat' field); submit the .ipynb "
            "file of the assignment"
        )
    comments = []
    version = raw.get("nbformat")
    if version == 3:
        try:
            raw = nbformat.convert(nbformat.from_dict(raw), 4)
        except Exception as err:  # nbformat's v3 converter raises many kinds on bad input
            raise SubmissionError(
                f"{name}: an old nbformat 3 notebook that could not be converted ({err}); "
                "open it in Jupyter, save it (nbformat 4) and submit again"
            ) from err
        comments.append(f"{name}: old notebook format 3, converted to format 4 for grading.")
    elif version != 4:
        raise SubmissionError(
            f"{name}: notebook format {version!r} is not supported (expected 4); open it in a "
            "current Jupyter or Colab, save and submit again"
        )
    return rebuild_notebook(raw, name), comments


def _text(value) -> str:
    """A cell source as one string (nbformat stores lists of lines too)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise SubmissionError("a cell source is neither text nor a list of lines")


def rebuild_notebook(raw: dict, name: str) -> nbformat.NotebookNode:
    """A fresh nbformat-4 notebook holding only what grading uses: cell types, sources and
    nbgrader metadata; everything else (Colab blocks, ids, outputs, widgets) is dropped."""
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError(f"{name}: not a notebook (no list of cells); submit the .ipynb file")
    if len(cells) > MAX_CELLS:
        raise SubmissionError(f"{name}: more than {MAX_CELLS} cells; submit the assignment file")
    built = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        try:
            source = _text(cell.get("source", ""))
        except SubmissionError as err:
            raise SubmissionError(f"{name}: {err}; open and save it in Jupyter") from err
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        keep = {"nbgrader": copy.deepcopy(meta["nbgrader"])} if "nbgrader" in meta else {}
        kind = cell.get("cell_type")
        if kind == "code":
            built.append(new_code_cell(source, metadata=keep))
        elif kind == "markdown":
            built.append(new_markdown_cell(source, metadata=keep))
        elif kind == "raw":
            built.append(new_raw_cell(source, metadata=keep))
    nb = new_notebook(cells=built)
    meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    if isinstance(meta.get("kernelspec"), dict):
        nb.metadata["kernelspec"] = {
            k: v for k, v in meta["kernelspec"].items() if isinstance(v, str)
        }
    number_cells(nb)
    return nb


def number_cells(nb) -> None:
    """Deterministic cell ids, so the same answers always give the same notebook bytes."""
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:04d}"


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
    the submission (or first when none does), so it runs with the same state as in the master.
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
        previous = [position[c.grade_id] for c in master.cells[:index] if c.grade_id in position]
        at = max(previous) + 1 if previous else 0
        maker = new_code_cell if mcell.cell_type == "code" else new_markdown_cell
        cell = maker(mcell.source, metadata={"nbgrader": mcell.nbgrader_metadata(),
                                             "deletable": False, "editable": False})
        nb.cells.insert(at, cell)
        position = {gid: (p + 1 if p >= at else p) for gid, p in position.items()}
        position[mcell.grade_id] = at
        what = ("test cell" if mcell.is_test else "answer cell" if mcell.solution
                else "read-only cell")
        comments.append(f"The {what} '{mcell.grade_id}' was missing from your notebook; it was "
                        f"{RESTORED_NOTE} and graded.")
    return comments


def sanitize(nb, master: MasterNotebook, resources: dict) -> Prepared:
    """Apply nbgrader's sanitizing preprocessors plus test-cell restoration to `nb`."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    log = quiet_logger()
    comments = _clean_nbgrader_metadata(nb, master)
    nb, resources = ClearOutput(log=log).preprocess(nb, resources)
    before = {i: c.metadata.get("nbgrader", {}).get("grade_id") for i, c in enumerate(nb.cells)}
    nb, resources = DeduplicateIds(log=log).preprocess(nb, resources)
    for i, cell in enumerate(nb.cells):
        if before[i] and "grade_id" not in cell.metadata.get("nbgrader", {}):
            cell.metadata.pop("nbgrader", None)
            comments.append(f"Cell '{before[i]}' appeared more than once; only the last copy "
                            "is graded.")
    nb, resources = OverwriteKernelspec(log=log).preprocess(nb, resources)
    sources = [c.source for c in nb.cells]
    nb, resources = OverwriteCells(log=log).preprocess(nb, resources)
    for old, cell in zip(sources, nb.cells, strict=True):
        if old != cell.source and old != visible_source(cell.source):
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            comments.append(f"The read-only cell '{grade_id}' was edited; {RESTORED_NOTE}.")
    for cell in nb.cells:  # OverwriteCells drops unknown grade ids but keeps the rest
        meta = cell.metadata.get("nbgrader")
        if meta is not None and "grade_id" not in meta:
            del cell.metadata["nbgrader"]
    comments += _restore_missing_cells(nb, master)
    number_cells(nb)
    nb, resources = CheckCellMetadata(log=log).preprocess(nb, resources)
    return Prepared(nb, comments)


def prepare_submission(path: Path, master: MasterNotebook, resources: dict,
                       data: bytes | None = None) -> Prepared:
    """Read (unless its bytes are given as `data`), parse and sanitize one submitted notebook
    (raises SubmissionError)."""
    nb, comments = parse_notebook(read_bytes_safely(path) if data is None else data, path.name)
    try:
        prepared = sanitize(nb, master, resources)
    except SubmissionError:
        raise
    except Exception as err:  # nbgrader's ValidationError and friends on hostile metadata
        raise SubmissionError(
            f"{path.name}: the nbgrader data of the notebook is damaged ({err}); start from a "
            "fresh copy of the assignment, paste your answers in and submit again"
        ) from err
    prepared.comments[:0] = comments
    return prepared
