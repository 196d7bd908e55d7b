"""Read a submitted notebook safely and rebuild it as a clean nbformat-4 notebook.

Every submission is hostile until proven otherwise: the file is opened without following
symlinks, size-capped, decoded, parsed and rebuilt cell by cell into a fresh nbformat-4
notebook (so Colab's or any editor's extra metadata cannot change how it grades).
autograding.grading.pipeline then sanitizes it against the master.
"""

from __future__ import annotations

import binascii
import copy
import errno
import json
import os
import stat
from pathlib import Path

import nbformat
from nbformat.v4 import new_notebook

MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_CELLS = 5000
RESTORED_NOTE = "restored from the master"
# Pasted images (markdown cell attachments) kept for the autograded copy and the feedback
# page; raster types only: an SVG can carry script, and nothing else renders in markdown.
ATTACHMENT_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_ATTACHMENT_BYTES = 5 * 2**20  # base64 text of one attachment


class SubmissionError(ValueError):
    """The submitted file cannot be graded; the message is the comment the student sees."""


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
    try:
        return rebuild_notebook(raw, name), comments
    except RecursionError as err:  # json reads ~1000 levels; copying them needs more
        raise SubmissionError(
            f"{name}: not a notebook (its data is nested too deeply to read); start from a "
            "fresh copy of the assignment, paste your answers in and submit again"
        ) from err


def _text(value) -> str:
    """A cell source as one string (nbformat stores lists of lines too)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise SubmissionError("a cell source is neither text nor a list of lines")


def image_attachments(value) -> dict:
    """The well-formed raster images of a cell's `attachments` (anything else dropped)."""
    if not isinstance(value, dict):
        return {}
    kept = {}
    for name, bundle in value.items():
        if not isinstance(name, str) or not name or not isinstance(bundle, dict):
            continue
        for mime in ATTACHMENT_TYPES:
            if mime not in bundle:
                continue
            try:
                data = _text(bundle[mime])  # a string, or a list of lines as sources are
                if len(data) > MAX_ATTACHMENT_BYTES:
                    continue
                binascii.a2b_base64(data.encode("ascii"))
            except (SubmissionError, binascii.Error, UnicodeEncodeError):
                continue
            kept[name] = {mime: data}
            break
    return kept


def rebuild_notebook(raw: dict, name: str) -> nbformat.NotebookNode:
    """A fresh nbformat-4 notebook holding only what grading uses: cell types, sources,
    nbgrader metadata and pasted images; everything else (Colab blocks, ids, outputs,
    widgets) is dropped."""
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError(f"{name}: not a notebook (no list of cells); submit the .ipynb file")
    if len(cells) > MAX_CELLS:
        raise SubmissionError(f"{name}: more than {MAX_CELLS} cells; submit the assignment file")
    built = []
    for position, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            continue
        try:
            source = _text(cell.get("source", ""))
        except SubmissionError as err:
            raise SubmissionError(f"{name}: cell {position} of {len(cells)}: {err}; open the "
                                  "file in Jupyter, fix or delete that cell and save") from err
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        keep = {"nbgrader": copy.deepcopy(meta["nbgrader"])} if "nbgrader" in meta else {}
        kind = cell.get("cell_type")
        if kind in ("code", "markdown", "raw"):
            built.append(_new_cell(kind, source, keep, len(built)))
        if kind == "markdown":
            attachments = image_attachments(cell.get("attachments"))
            if attachments:
                built[-1]["attachments"] = attachments
    nb = new_notebook(cells=built)  # checks the whole notebook against nbformat's schema
    meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    if isinstance(meta.get("kernelspec"), dict):
        nb.metadata["kernelspec"] = {
            k: v for k, v in meta["kernelspec"].items() if isinstance(v, str)
        }
    number_cells(nb)
    return nb


def _new_cell(kind: str, source: str, metadata: dict, index: int) -> nbformat.NotebookNode:
    """Cell `index` as nbformat's new_*_cell makes it, without checking each cell on its own:
    new_notebook checks them all again (the per-cell check was a third of reading one)."""
    cell = {"id": f"cell-{index:04d}", "cell_type": kind, "metadata": metadata,
            "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return nbformat.from_dict(cell)


def number_cells(nb) -> None:
    """Deterministic cell ids, so the same answers always give the same notebook bytes."""
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:04d}"
