"""Shared helpers of the intake tests: small notebooks and files written under a folder."""

import json
import os
from pathlib import Path


def notebook_bytes(marker: str, grade_ids=("answer_a", "test_a")) -> bytes:
    """A small valid nbformat-4 notebook whose content identifies it by `marker`."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"# {marker}"}]
    for grade_id in grade_ids:
        cells.append({
            "cell_type": "code", "execution_count": None, "outputs": [],
            "metadata": {"nbgrader": {"grade_id": grade_id, "schema_version": 3}},
            "source": f"x = {marker!r}",
        })
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb, indent=1) + "\n").encode()


def write(root: Path, rel: str, data: bytes, mtime: float | None = None) -> Path:
    """Write a file under root (creating folders) with an optional mtime."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def submitted_file(submitted: Path, student: str, assignment: str) -> Path:
    """nbgrader's path of one submission."""
    return submitted / student / assignment / f"{assignment}.ipynb"


def all_files(root: Path) -> set:
    """Every file path under root, relative."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
