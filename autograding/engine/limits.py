"""What one notebook run may use (Limits) and what it gave back (ExecutionResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # nbformat imports jsonschema: 1 s for a process that only needs Limits
    from nbformat import NotebookNode


@dataclass(frozen=True)
class Limits:
    """Per-notebook resource limits."""

    cell_timeout: float = 60.0  # s, wall clock per cell
    notebook_timeout: float = 300.0  # s, wall clock per notebook
    memory_bytes: int = 2 * 2**30  # per kernel, on top of the pre-imported libraries
    max_processes: int = 64  # processes the notebook may start (besides the kernel's threads)
    max_output_bytes: int = 1_000_000  # per cell, outputs beyond are truncated with a note
    max_outputs: int = 1000  # per cell (consecutive prints count as one); beyond, dropped
    max_notebook_output_bytes: int = 20_000_000  # all cells together; later cells truncated
    max_file_bytes: int = 256 * 2**20  # largest file the notebook may write
    max_disk_bytes: int = 2**30  # all its files together (scratch, /tmp, /dev/shm)


@dataclass
class ExecutionResult:
    """What happened to one notebook."""

    notebook: NotebookNode
    kernel_died: bool
    timed_out: bool
    messages: list[str] = field(default_factory=list)
    sandbox: str = "none"
    seconds: float = 0.0
    # what its code replaced of what tests compare with (patch_check.py), for the instructor
    replaced: list[str] = field(default_factory=list)
    # With keep_files: what it left in its folder, name -> bytes (None: a given file unchanged)
    files: dict = field(default_factory=dict)


def seconds(limit: float | None) -> float:
    """A time limit; None or 0 means none (as in nbclient)."""
    return float(limit) if limit else float("inf")
