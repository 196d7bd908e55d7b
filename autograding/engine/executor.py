"""Execute a notebook in a fresh sandboxed kernel forked from this process's fork-server.

Outputs are shaped like nbclient's (nbgrader reads them to grade): the run itself, cell by
cell, is notebook_run.py's; this module is the public entry point and its retry on a new
fork-server when the sandbox stopped before any cell ran.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import nbformat

from autograding.engine import servers
from autograding.engine.limits import ExecutionResult, Limits
from autograding.engine.mount_plan import default_hidden_paths
from autograding.engine.notebook_run import NotebookRun
from autograding.engine.sandbox import sandbox_mode
from autograding.engine.servers import ServerDied
from autograding.engine.written_files import collect
from autograding.engine.zygote_client import Zygote

__all__ = ["ExecutionResult", "Limits", "execute_notebook", "sandbox_mode", "shutdown",
           "start_zygote", "warm_up"]

DEFAULT_LIMITS = Limits()


def shutdown() -> None:
    """Stop this process's fork-servers (also done at exit)."""
    servers.shutdown()


def warm_up(sandbox: str = "auto", hidden: Iterable[str | os.PathLike] = (),
            zygote: str | None = None) -> str:
    """Start this process's fork-server now (e.g. in a pool initializer); return the mode.
    With `zygote` (what start_zygote's Zygote.root names) the servers are forked from it."""
    mode = sandbox_mode(sandbox)
    key = _hidden_key(hidden)
    if zygote:
        servers.use_zygote(mode, key, zygote)
    servers.release(servers.acquire(mode, key))
    return mode


def start_zygote(sandbox: str = "auto", hidden: Iterable[str | os.PathLike] = (),
                 preload: Iterable[str] = ()) -> Zygote:
    """One warm import for a pool of workers (their warm_up's `zygote` is its root); it
    starts importing now, in the background, with the `preload` modules the notebooks will
    import (those of forkserver.PRELOAD_IF_IMPORTED). Close it once the workers are done."""
    return Zygote(sandbox_mode(sandbox), _hidden_key(hidden), tuple(preload))


def _hidden_key(hidden: Iterable[str | os.PathLike]) -> tuple[str, ...]:
    """The paths hidden from kernels, canonical: fork-servers are kept per hidden set."""
    paths = default_hidden_paths() + [os.fspath(p) for p in hidden]
    return tuple(sorted({os.path.realpath(p) for p in paths}))


class _KeepingRun(NotebookRun):
    """A run that reads what the notebook left in its folder before the folder is wiped."""

    kept: dict | None = None

    def _finish(self) -> None:
        folder = getattr(self, "folder", None)
        if folder is not None:
            self.kept, notes = collect(folder.cwd, self.files)
            self.messages += notes
        super()._finish()


def execute_notebook(nb, *, limits: Limits = DEFAULT_LIMITS, sandbox: str = "auto",
                     env: dict | None = None,
                     files: Mapping[str, bytes | str | os.PathLike] | None = None,
                     references: Iterable[str] = (),
                     hidden: Iterable[str | os.PathLike] = (),
                     keep_files: bool = False) -> ExecutionResult:
    """Execute every code cell of `nb` (already sanitized, tests restored) in a sandboxed
    kernel in a fresh scratch dir; reuses a per-process fork-server (torch pre-imported).

    ``files`` maps relative names to bytes (or a path to copy) placed next to the notebook;
    ``references`` names modules the kernel imports before the first cell (a course's
    references for its tests), and the result's ``replaced`` what the notebook replaced of
    what tests compare with (autograding.engine.patch_check);
    ``hidden`` adds paths (grader output, submissions) the kernel must not see; with
    ``keep_files`` the result's ``files`` holds what the notebook left in its folder
    (autograding.engine.written_files).
    """
    started = time.monotonic()
    mode = sandbox_mode(sandbox)
    nb = nbformat.from_dict(copy.deepcopy(dict(nb)))
    key = _hidden_key(hidden)
    for name in files or {}:
        parts = Path(name).parts
        if not parts or Path(name).is_absolute() or ".." in parts:
            raise ValueError(f"file name {name!r} must stay inside the notebook's folder")
    for cell in nb.cells:
        if isinstance(cell.get("source"), list):  # raw JSON may split the source in lines
            cell.source = "".join(cell.source)
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        return ExecutionResult(notebook=nb, kernel_died=False, timed_out=False, messages=[],
                               sandbox=mode, seconds=time.monotonic() - started,
                               files=dict.fromkeys(files or {}) if keep_files else {})
    for attempt in (1, 2):
        server = servers.acquire(mode, key)
        run = (_KeepingRun if keep_files else NotebookRun)(server, nb, limits, env or {},
                                                           files or {}, attempt,
                                                           tuple(references))
        try:
            run.execute()
        except ServerDied as exc:
            servers.release(server, healthy=False)
            if run.started_cells or attempt == 2:
                run.fail_rest(f"the sandbox stopped unexpectedly ({exc})")
                run.messages.append(f"the sandbox stopped unexpectedly ({exc})")
                break
            nb = nbformat.from_dict(copy.deepcopy(dict(nb)))
            continue
        except BaseException:
            servers.release(server, healthy=False)
            raise
        servers.release(server, healthy=run.server_healthy)
        break
    return ExecutionResult(notebook=run.nb, kernel_died=run.kernel_died,
                           replaced=run.patches.replaced,
                           timed_out=run.timed_out, messages=run.messages, sandbox=mode,
                           seconds=time.monotonic() - started,
                           files=(run.kept or {}) if keep_files else {})
