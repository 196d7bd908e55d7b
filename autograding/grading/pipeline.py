"""nbgrader's part of grading, as a pipeline: the preprocessors before and after execution.

nbgrader's `Autograde` converter sanitizes a submission (ClearOutput, DeduplicateIds,
OverwriteKernelspec, OverwriteCells, CheckCellMetadata), executes it, then limits its output
and saves the scores, then assigns late penalties. The same steps run here, in the same order;
autograding.grading.sanitize adds two steps of its own (restoring grading metadata and deleted
cells) and has two of nbgrader's tell the student what they changed. Execution sits
between the two lists, in the engine's sandbox, in a worker. Every step is made with the
course's nbgrader_config.py, as nbgrader makes its own (OverwriteCells' add_missing_cells,
LimitOutput's caps, the late penalty's plugin_class and policy); the hidden-test delimiters
the notes compare with are the course's too (the master's `hidden_tests`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    LimitOutput,
    OverwriteKernelspec,
)

from autograding.grading.gradebook import MasterNotebook, quiet_logger
from autograding.grading.metadata_schema import validate_schema_once
from autograding.grading.sanitize import (
    DeduplicateIdsNoted,
    OverwriteCellsNoted,
    RestoreDeletedCells,
    RestoreGradingMetadata,
)
from autograding.grading.scoring import SaveScores
from autograding.grading.submission import SubmissionError, parse_notebook, read_bytes_safely

# In the parent, before the notebook goes to a worker.
SANITIZE = (
    RestoreGradingMetadata,  # ours: a student's edits to grading metadata are undone
    ClearOutput,
    DeduplicateIdsNoted,  # nbgrader's DeduplicateIds, noted
    OverwriteKernelspec,
    OverwriteCellsNoted,  # nbgrader's OverwriteCells, noted
    RestoreDeletedCells,  # ours: deleted tests come back
    CheckCellMetadata,
)
# In the parent, after the worker executed it.
RECORD = (
    LimitOutput,
    SaveScores,  # nbgrader's SaveAutoGrades with autograding.grading.scoring's rule
    AssignLatePenalties,  # nbgrader's; the course config's plugin_class (grading/late_policy)
)
# The step that assigns the late penalty alone (a notebook scored without RECORD).
LATE_PENALTY = (AssignLatePenalties,)


@dataclass
class Prepared:
    """A sanitized notebook ready to execute, with the comments gathered on the way."""

    notebook: nbformat.NotebookNode
    comments: list[str] = field(default_factory=list)


def run(steps, nb, resources: dict, config=None):
    """Apply each preprocessor of `steps` in order, each made with `config` (the course's, a
    traitlets Config; nbgrader's defaults when None); returns (nb, resources)."""
    validate_schema_once()  # CheckCellMetadata validates every cell's metadata
    log = quiet_logger()
    options = {"config": config} if config is not None else {}
    for step in steps:
        nb, resources = step(log=log, **options).preprocess(nb, resources)
    return nb, resources


def sanitize(nb, master, resources: dict, config=None):
    """(notebook, comments for the student): SANITIZE applied to `nb` against `master`, its
    steps made with the course's `config`."""
    resources = {**resources, "autograding": {"master": master, "comments": []}}
    nb, resources = run(SANITIZE, nb, resources, config)
    return nb, resources["autograding"]["comments"]


def record(nb, resources: dict, config=None):
    """RECORD applied to an executed notebook: output limited, scores and late penalty (by
    the course's `config`) in the gradebook."""
    return run(RECORD, nb, resources, config)


def assign_late_penalty(nb, resources: dict, config=None):
    """Only the late-penalty step, for a notebook whose scores were set without RECORD."""
    return run(LATE_PENALTY, nb, resources, config)


def prepare_submission(path: Path, master: MasterNotebook, resources: dict,
                       data: bytes | None = None, config=None) -> Prepared:
    """Read (unless its bytes are given as `data`), parse and sanitize one submitted notebook
    with the course's `config` (raises SubmissionError)."""
    nb, comments = parse_notebook(read_bytes_safely(path) if data is None else data, path.name)
    try:
        prepared = Prepared(*sanitize(nb, master, resources, config))
    except SubmissionError:
        raise
    except Exception as err:  # nbgrader's ValidationError and friends on hostile metadata
        raise SubmissionError(
            f"{path.name}: the nbgrader data of the notebook is damaged ({err}); start from a "
            "fresh copy of the assignment, paste your answers in and submit again"
        ) from err
    prepared.comments[:0] = comments
    return prepared
