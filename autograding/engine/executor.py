"""Execute a notebook in a fresh sandboxed kernel forked from this process's fork-server.

Outputs are shaped like nbclient's (nbgrader reads them to grade): a cell that errors keeps
the later cells running; a timeout, a dead kernel or the notebook time limit leave an error
output in the affected cell and every later one, so nothing after them can look like a pass.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import zmq
from jupyter_client.blocking import BlockingKernelClient
from nbformat import NotebookNode
from nbformat.v4 import output_from_msg

from autograding.engine import sandbox as _sandbox
from autograding.engine.forkserver import tasks_of_uid
from autograding.engine.mount_plan import default_hidden_paths
from autograding.engine.sandbox import ServerDied, sandbox_mode

__all__ = ["ExecutionResult", "Limits", "execute_notebook", "sandbox_mode", "shutdown"]

KERNEL_START_TIMEOUT = 60.0  # s; not part of the notebook's time
INTERRUPT_GRACE = 3.0  # s between the interrupt and the kill of a timed-out cell
# s of IOPub silence after a cell's reply before its "idle" counts as lost (nbclient waits
# 4 s too). Idle normally follows the reply within milliseconds, and a backlog the grader is
# still reading keeps IOPub busy, so only dropped messages end here.
IOPUB_QUIET = 4.0
MAX_MESSAGE_BYTES = 128 * 2**20  # one kernel message; the grader never receives bigger ones
# What nbformat raises for a message that is not a valid output.
NOT_AN_OUTPUT = (ValueError, TypeError, KeyError, AttributeError, nbformat.ValidationError)
KEPT_TEXT = 10_000  # bytes of an error/result kept when the cell is over its output budget


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


def shutdown() -> None:
    """Stop this process's fork-servers (also done at exit)."""
    _sandbox.shutdown()


def warm_up(sandbox: str = "auto", hidden: Iterable[str | os.PathLike] = ()) -> str:
    """Start this process's fork-server now (e.g. in a pool initializer); return the mode."""
    mode = sandbox_mode(sandbox)
    key = _hidden_key(hidden)
    _sandbox.release(_sandbox.acquire(mode, key))
    return mode


def _hidden_key(hidden: Iterable[str | os.PathLike]) -> tuple[str, ...]:
    paths = default_hidden_paths() + [os.fspath(p) for p in hidden]
    return tuple(sorted({os.path.realpath(p) for p in paths}))


def execute_notebook(nb, *, limits: Limits = Limits(), sandbox: str = "auto",
                     env: dict | None = None,
                     files: Mapping[str, bytes | str | os.PathLike] | None = None,
                     hidden: Iterable[str | os.PathLike] = ()) -> ExecutionResult:
    """Execute every code cell of `nb` (already sanitized, tests restored) in a sandboxed
    kernel in a fresh scratch dir; reuses a per-process fork-server (torch pre-imported).

    ``files`` maps relative names to bytes (or a path to copy) placed next to the notebook;
    ``hidden`` adds paths (grader output, submissions) the kernel must not see.
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
                               sandbox=mode, seconds=time.monotonic() - started)
    for attempt in (1, 2):
        server = _sandbox.acquire(mode, key)
        run = _NotebookRun(server, nb, limits, env or {}, files or {}, attempt)
        try:
            run.execute()
        except ServerDied as exc:
            _sandbox.release(server, healthy=False)
            if run.started_cells or attempt == 2:
                run.fail_rest(f"the sandbox stopped unexpectedly ({exc})")
                run.messages.append(f"the sandbox stopped unexpectedly ({exc})")
                break
            nb = nbformat.from_dict(copy.deepcopy(dict(nb)))
            continue
        except BaseException:
            _sandbox.release(server, healthy=False)
            raise
        _sandbox.release(server, healthy=run.server_healthy)
        break
    return ExecutionResult(notebook=run.nb, kernel_died=run.kernel_died,
                           timed_out=run.timed_out, messages=run.messages, sandbox=mode,
                           seconds=time.monotonic() - started)


_context: list = []  # [zmq context, pid]


def _zmq_context() -> zmq.Context:
    """This process's zmq context; its sockets drop (and reconnect after) any message above
    MAX_MESSAGE_BYTES instead of handing the grader a gigabyte string."""
    if not _context or _context[1] != os.getpid():
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        _context[:] = [context, os.getpid()]
    return _context[0]


def _seconds(limit: float | None) -> float:
    """A time limit; None or 0 means none (as in nbclient)."""
    return float(limit) if limit else float("inf")


def _error(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


def _cell_name(index: int, cell) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


def _is_test_cell(cell) -> bool:
    """An nbgrader autograder-tests cell (graded, not an answer), unless it is a cell magic
    (whose body is not Python, so no line can be appended to it)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return (isinstance(meta, dict) and bool(meta.get("grade")) and not meta.get("solution")
            and not cell.source.lstrip().startswith("%%"))


def _with_ran_marker(source: str, name: str, token: str) -> str:
    """`source` that sets `name` to `token` once its last statement has run.

    A last expression keeps its value and its display (nbgrader reads partial credit from a
    test cell's result): `[(expr), (name := token)][0]`, both evaluated left to right. Any
    other cell gets one more line. So does a cell that is not plain Python (line magics):
    a value shown by its last line is then not displayed.
    """
    marker = f"({name} := {token!r})"
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        body = []
    if not body or not isinstance(body[-1], ast.Expr):
        return f"{source}\n{name} = {token!r}\n"
    node = body[-1]
    raw = source.encode()  # ast counts columns in UTF-8 bytes
    starts = [0]
    for line in raw.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    begin = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset
    expr = raw[begin:end].decode()
    return raw[:begin].decode() + f"[({expr}), {marker}][0]" + raw[end:].decode()


def _output_size(out: Mapping) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    if out.get("output_type") == "error":
        return sum(len(line) for line in out.get("traceback", [])) + len(out.get("evalue", ""))
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v))
               for v in out.get("data", {}).values())


class _CellOutputs:
    """Collects one cell's outputs like nbclient, within a byte budget and a count cap.

    Consecutive writes to one stream are merged into one output, as Jupyter shows them. The
    count cap matters for floods of tiny displays: 100,000 `display(i)` calls are 0.5 MB but
    made a 14 MB feedback page that took 28 s to render.
    """

    def __init__(self, cell, budget: int, max_outputs: int, over_note: str):
        self.cell = cell
        self.budget = budget
        self.max_outputs = max_outputs
        self.over_note = over_note  # why output past the budget is cut (cell or notebook)
        self.used = 0
        self.truncated = False
        self.clear_on_next = False
        self.display_ids: dict[str, list[int]] = {}
        cell.outputs = []

    def handle(self, msg: dict) -> None:
        msg_type = msg["msg_type"]
        content = msg["content"]
        if msg_type == "clear_output":
            if content.get("wait"):
                self.clear_on_next = True
            else:
                self._clear()
            return
        if msg_type == "update_display_data":
            display_id = content.get("transient", {}).get("display_id")
            if display_id in self.display_ids:
                try:
                    shown = nbformat.v4.new_output("display_data",
                                                   data=content.get("data", {}),
                                                   metadata=content.get("metadata", {}))
                except NOT_AN_OUTPUT:
                    return
                for index in self.display_ids[display_id]:
                    self.cell.outputs[index].data = shown.data
                    self.cell.outputs[index].metadata = shown.metadata
            return
        try:
            out = output_from_msg(msg)
        except NOT_AN_OUTPUT:
            # Comm messages and the like, or an output nbformat rejects: the kernel runs the
            # notebook's code, which can send any message (`{"text/plain": 5}`).
            return
        if self.clear_on_next:
            self._clear()
        self.add(out, content.get("transient", {}).get("display_id"))

    def _clear(self) -> None:
        self.cell.outputs = []
        self.display_ids = {}
        self.clear_on_next = False
        self.used = 0

    def _stream_to_extend(self, out: NotebookNode) -> NotebookNode | None:
        """The last output, when `out` continues the same stream (merged, not appended)."""
        if out.output_type != "stream" or not self.cell.outputs:
            return None
        last = self.cell.outputs[-1]
        same = last.output_type == "stream" and last.name == out.name
        return last if same and not self.truncated else None

    def add(self, out: NotebookNode, display_id: str | None = None) -> None:
        size = _output_size(out)
        extend = self._stream_to_extend(out)
        room = extend is not None or len(self.cell.outputs) < self.max_outputs
        if room and self.used + size <= self.budget:
            self.used += size
        elif room and out.output_type == "stream" and self.used < self.budget:
            out.text = out.text[: self.budget - self.used]
            self.used = self.budget
            self._append(out, extend, display_id)
            self._note_truncated(self.over_note)  # after the text it cuts
            return
        else:
            self._note_truncated(self.over_note if room else
                                 f"this cell produced more than {self.max_outputs} outputs")
            extend = None
            # Keep what grading depends on: errors, stderr and results, shortened.
            if out.output_type == "error":
                out.traceback = [line[-KEPT_TEXT:] for line in out.traceback[-20:]]
            elif out.output_type == "execute_result":
                out.data = {k: v[:KEPT_TEXT] if isinstance(v, str) else v
                            for k, v in out.data.items() if len(json.dumps(v)) <= KEPT_TEXT
                            or isinstance(v, str)}
            elif out.output_type == "stream" and out.name == "stderr":
                if any(o.output_type == "stream" and o.name == "stderr" and
                       o.text.endswith("[stderr truncated]\n") for o in self.cell.outputs):
                    return
                out.text = out.text[:200] + "\n[stderr truncated]\n"
            else:
                return
        self._append(out, extend, display_id)

    def _append(self, out: NotebookNode, extend: NotebookNode | None,
                display_id: str | None) -> None:
        if extend is not None:
            extend.text += out.text
            return
        if display_id:
            self.display_ids.setdefault(display_id, []).append(len(self.cell.outputs))
        self.cell.outputs.append(out)

    def _note_truncated(self, why: str) -> None:
        if not self.truncated:
            self.truncated = True
            self.cell.outputs.append(nbformat.v4.new_output(
                "stream", name="stdout", text=f"\n[output truncated: {why}]\n"))


class _NotebookRun:
    """One notebook through one kernel of a fork-server."""

    def __init__(self, server, nb, limits: Limits, env: dict, files: Mapping, attempt: int):
        self.attempt = attempt
        self.server = server
        self.nb = nb
        self.limits = limits
        self.extra_env = {str(k): str(v) for k, v in env.items()}
        self.files = files
        self.messages: list[str] = []
        self.kernel_died = False
        self.timed_out = False
        self.output_left = limits.max_notebook_output_bytes
        self.server_healthy = True
        self.started_cells = 0
        self.exit_code: int | None = None
        self.exit_reason = ""  # the fork-server's, when it stopped the kernel (disk limit)
        self.kc: BlockingKernelClient | None = None
        self.code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        self.next_cell = 0
        self.current = None  # the cell being executed
        self.tests_not_run: list[str] = []  # test cells that did not reach their last line

    # -- job lifecycle ----------------------------------------------------------------------

    def execute(self) -> None:
        server = self.server
        server.jobs += 1
        self.job_id = server.jobs
        self.job_dir = os.path.join(server.scratch, f"job{self.job_id}")
        try:
            self._prepare_dir()
            server.send(op="run", id=self.job_id, cwd=self.cwd, conn=self.conn_path,
                        log=self.log_path, env=self._kernel_env(), limits=self._limit_dict())
            started = server.wait_for(lambda e: e.get("id") == self.job_id and
                                      e["event"] in ("started", "error"), 30)
            if started["event"] == "error":
                raise ServerDied(started.get("message", "could not start a kernel"))
            self._connect()
            if self._wait_ready():
                self._run_cells()
            if self.tests_not_run:
                self.messages.append(
                    f"{len(self.tests_not_run)} test cell(s) did not run to their end: "
                    f"{', '.join(self.tests_not_run)}. Code in the notebook changed how later "
                    "cells run, so they score 0.")
        finally:
            self._finish()

    def _prepare_dir(self) -> None:
        uid = self.server.uid
        root = Path(self.job_dir)
        work, run = root / "work", root / "run"
        for folder in (root, work, run, run / "ipython", run / "mpl", run / "tmp", run / "home"):
            folder.mkdir()
            _sandbox._give_to(str(folder), uid)
        self.cwd, self.run_dir = str(work), str(run)
        for name, content in self.files.items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, (bytes, str)) and not isinstance(content, os.PathLike):
                data = content.encode() if isinstance(content, str) else content
                target.write_bytes(data)
            elif os.path.islink(content) or not os.path.isfile(content):
                # A submitted symlink could point at another student's work.
                self.messages.append(f"{name}: not a regular file, not given to the notebook")
            else:
                shutil.copyfile(content, target)
        if uid is not None:
            for path in [work, *work.rglob("*")]:
                os.chown(path, uid, 0)
        self.log_path = str(run / "kernel.log")
        self.conn_path = str(run / "kernel.json")
        self.conn = {
            "transport": "ipc", "ip": str(run / "k"), "shell_port": 1, "iopub_port": 2,
            "stdin_port": 3, "control_port": 4, "hb_port": 5, "key": secrets.token_hex(16),
            "signature_scheme": "hmac-sha256", "kernel_name": "python3",
        }
        with open(self.conn_path, "w") as f:
            json.dump(self.conn, f)
        if uid is not None:
            os.chown(self.conn_path, uid, 0)

    def _kernel_env(self) -> dict:
        run = self.run_dir
        env = {
            "PATH": os.pathsep.join([os.path.dirname(os.path.abspath(sys.executable)),
                                     "/usr/local/bin", "/usr/bin", "/bin"]),
            "LANG": "C.UTF-8",
            "HOME": os.path.join(run, "home"),
            "TMPDIR": os.path.join(run, "tmp"),
            "IPYTHONDIR": os.path.join(run, "ipython"),
            "MPLCONFIGDIR": os.path.join(run, "mpl"),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "PYTHONHASHSEED": "0",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "NBGRADER_EXECUTION": "autograde",
            # Inside the PID namespace our parent is PID 1 (the server), which never goes
            # away; outside, watch the server so an orphaned kernel quits.
            "JPY_PARENT_PID": "1" if self.server.pid_in_sandbox == 1
            else str(self.server.pid_in_sandbox),
        }
        env.update(self.extra_env)
        return env

    def _limit_dict(self) -> dict:
        limits = asdict(self.limits)
        # A backstop only (wall clock is the real limit): torch may keep every core busy.
        wall = min(_seconds(self.limits.notebook_timeout), 24 * 3600)
        limits["cpu_seconds"] = int((wall + KERNEL_START_TIMEOUT + 30) * (os.cpu_count() or 1))
        # On kernels that count the process cap per uid on the whole host, the kernel's
        # uid may run processes its sandbox cannot see (forkserver.nprocs_counted_here).
        uid = self.server.uid if self.server.uid is not None else os.getuid()
        limits["host_tasks"] = tasks_of_uid(uid)
        return limits

    def _connect(self) -> None:
        kc = BlockingKernelClient(context=_zmq_context())
        kc.load_connection_info(self.conn)
        kc.start_channels(stdin=False, hb=False)
        self.kc = kc
        self.poller = zmq.Poller()
        self.poller.register(kc.iopub_channel.socket, zmq.POLLIN)
        self.poller.register(kc.shell_channel.socket, zmq.POLLIN)
        self.poller.register(self.server.fd, zmq.POLLIN)

    def _finish(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        try:
            self.server.send(op="end", id=self.job_id, dir=self.job_dir)
            self.server.wait_for(lambda e: e.get("id") == self.job_id and
                                 e["event"] == "ended", 20)
        except ServerDied:
            self.server_healthy = False
        shutil.rmtree(self.job_dir, ignore_errors=True)

    # -- events -----------------------------------------------------------------------------

    def _server_events(self, timeout: float = 0) -> None:
        for event in self.server.read_events(timeout):
            if event.get("id") == self.job_id and event["event"] == "exited":
                self.exit_code = event.get("code")
                self.exit_reason = event.get("reason", "")

    def _wait(self, deadline: float) -> list:
        """Wait for kernel messages or a server event until ``deadline``; return sockets."""
        timeout_ms = max(0, min(int((deadline - time.monotonic()) * 1000), 200))
        ready = dict(self.poller.poll(timeout_ms))
        if self.server.fd in ready or self.server.pending:
            self._server_events()
        return [s for s in ready if s is not self.server.fd]

    def _wait_ready(self) -> bool:
        """Wait until the kernel answers and its IOPub stream reaches us."""
        kc = self.kc
        deadline = time.monotonic() + KERNEL_START_TIMEOUT
        msg_id, sent, reply, iopub = kc.kernel_info(), time.monotonic(), False, False
        while not (reply and iopub):
            if self.exit_code is not None or time.monotonic() > deadline:
                why = (f"exit code {self.exit_code}" if self.exit_code is not None
                       else f"no answer in {KERNEL_START_TIMEOUT:.0f} s")
                reason = f"the kernel did not start ({why}): {self._log_tail()}"
                if self.attempt == 1:
                    raise ServerDied(reason)  # not the notebook's fault: retry on a new server
                self._kernel_lost(reason)
                return False
            if reply and not iopub and time.monotonic() - sent > 0.2:
                msg_id, sent = kc.kernel_info(), time.monotonic()
            for sock in self._wait(deadline):
                channel = kc.iopub_channel if sock is kc.iopub_channel.socket \
                    else kc.shell_channel
                msg = channel.get_msg(timeout=0)
                if channel is kc.iopub_channel:
                    iopub = True
                elif msg["parent_header"].get("msg_id") == msg_id:
                    reply = True
        # Drop the start-up chatter (status messages) before the first cell.
        while self.kc.iopub_channel.msg_ready():
            self.kc.iopub_channel.get_msg(timeout=0)
        return True

    def _log_tail(self) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return "no log"
        return " | ".join(text.strip().splitlines()[-3:]) or "no log"

    # -- cells ------------------------------------------------------------------------------

    def _run_cells(self) -> None:
        notebook_deadline = time.monotonic() + _seconds(self.limits.notebook_timeout)
        while self.next_cell < len(self.code_cells):
            index, cell = self.code_cells[self.next_cell]
            self.next_cell += 1
            if not cell.source.strip():
                cell.outputs = []
                continue
            self.started_cells += 1
            self.current = cell
            outputs = self._cell_outputs(cell)
            outcome = self._run_cell(index, cell, outputs, notebook_deadline)
            self.output_left = max(0, self.output_left - outputs.used)
            self.current = None
            if outcome != "ok":
                return

    def _cell_outputs(self, cell) -> _CellOutputs:
        """The next cell's collector: its own budget, or what is left of the notebook's."""
        limits = self.limits
        if self.output_left < limits.max_output_bytes:
            budget, whose = self.output_left, "the notebook"
            limit = limits.max_notebook_output_bytes
        else:
            budget, whose = limits.max_output_bytes, "this cell"
            limit = budget
        return _CellOutputs(cell, budget, limits.max_outputs,
                            f"{whose} produced more than {limit} bytes of output")

    def _run_cell(self, index: int, cell, outputs: _CellOutputs,
                  notebook_deadline: float) -> str:
        kc = self.kc
        cell.execution_count = None
        source, expressions, token = cell.source, {}, None
        if _is_test_cell(cell):
            token, name = secrets.token_hex(16), f"_autograding_ran_{secrets.token_hex(4)}"
            source = _with_ran_marker(source, name, token)
            expressions = {"ran": name}  # a bare random name: a student's variable can't
            # shadow it (one called `globals` would break `globals().pop(...)`)
        msg_id = kc.execute(source, store_history=True, allow_stdin=False,
                            stop_on_error=False, user_expressions=expressions)
        cell_deadline = time.monotonic() + _seconds(self.limits.cell_timeout)
        reply: dict | None = None  # the execute_reply's content
        idle, heard = False, time.monotonic()
        while reply is None or not idle:
            deadline = min(cell_deadline, notebook_deadline)
            if reply is not None:
                # The cell is done; IOPub is only late, or lost messages (see _output_lost).
                deadline = min(deadline, heard + IOPUB_QUIET)
            if self.exit_code is not None:
                self._drain(outputs, msg_id)
                self._kernel_lost(self._death_reason(), cell=cell, index=index)
                return "dead"
            if time.monotonic() >= deadline:
                if reply is not None:
                    self._output_lost(index, cell)
                    break
                whole = notebook_deadline <= cell_deadline
                return self._timeout(index, cell, outputs, msg_id, whole)
            for sock in self._wait(deadline):
                if sock is kc.iopub_channel.socket:
                    heard = time.monotonic()
                    idle |= self._iopub(kc.iopub_channel.get_msg(timeout=0), outputs, msg_id)
                else:
                    msg = kc.shell_channel.get_msg(timeout=0)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        reply, heard = msg["content"], time.monotonic()
                        if reply.get("execution_count"):
                            cell.execution_count = reply["execution_count"]
        self._error_from_reply(reply, outputs)
        if token is not None and reply.get("status") == "ok":
            self._check_test_ran(reply, token, outputs, index)
        asked_exit = any(p.get("source") == "ask_exit" for p in reply.get("payload", []))
        if asked_exit or any(o.output_type == "error" and o.ename == "SystemExit"
                             for o in cell.outputs):
            # Like a script: after sys.exit() or exit() the rest of the notebook does not run
            # (IPython would carry on, and a frontend would stop the kernel on exit()).
            if not any(o.output_type == "error" for o in cell.outputs):
                outputs.add(_error("SystemExit", "exit() stopped the notebook here"))
            self._kill_kernel()
            self._kernel_lost(f"{_cell_name(index, cell)} called sys.exit() or exit(); the "
                              "kernel was stopped", cell=None, index=index)
            return "dead"
        return "ok"

    def _output_lost(self, index: int, cell) -> None:
        """The kernel answered but IOPub went quiet before the cell's "idle": ZeroMQ dropped
        messages because the grader fell behind (thousands sent at once, a busy machine)."""
        self.messages.append(f"{_cell_name(index, cell)}: some of its output was lost on the "
                             "way to the grader (it came faster than it could be read)")
        cell.outputs.append(nbformat.v4.new_output(
            "stream", name="stdout",
            text="\n[some output of this cell was lost: it came faster than the grader "
                 "could read it]\n"))

    @staticmethod
    def _error_from_reply(reply: dict, outputs: _CellOutputs) -> None:
        """The kernel's reply says whether the cell raised, and the reply cannot be dropped
        the way IOPub messages can: a failing test whose error output was lost still fails."""
        if reply.get("status") != "error":
            return
        if not any(o.output_type == "error" for o in outputs.cell.outputs):
            outputs.add(nbformat.v4.new_output(
                "error", ename=str(reply.get("ename", "Error")),
                evalue=str(reply.get("evalue", "")),
                traceback=[str(line) for line in reply.get("traceback", [])]))

    def _check_test_ran(self, reply: dict, token: str, outputs: _CellOutputs,
                        index: int) -> None:
        """Fail a test cell that did not reach its last line although it raised nothing.

        The grader appended a line that sets a fresh random value, read back through the
        reply's user_expressions. Code earlier in the notebook can change how later cells
        run (an input transformer that empties them, a replaced run_cell); the tests would
        then raise nothing and pass. This does not stop code written against this check.
        """
        # Shaped by the kernel, which the notebook's code can change: check every level.
        expressions = reply.get("user_expressions")
        ran = expressions.get("ran") if isinstance(expressions, dict) else None
        data = ran.get("data") if isinstance(ran, dict) and ran.get("status") == "ok" else None
        if isinstance(data, dict) and data.get("text/plain") == repr(token):
            return
        outputs.add(_error("TestDidNotRun", "this test did not run to its end: code earlier "
                           "in the notebook changed how cells run, so it cannot pass"))
        self.tests_not_run.append(_cell_name(index, outputs.cell))

    def _iopub(self, msg: dict, outputs: _CellOutputs, msg_id: str) -> bool:
        """Handle one IOPub message; True when the cell's execution went idle."""
        if msg["parent_header"].get("msg_id") != msg_id:
            return False
        msg_type = msg["msg_type"]
        if msg_type == "status":
            return msg["content"].get("execution_state") == "idle"
        if msg_type == "execute_input":
            count = msg["content"].get("execution_count")
            if count:
                outputs.cell.execution_count = count
            return False
        outputs.handle(msg)
        return False

    def _drain(self, outputs: _CellOutputs | None, msg_id: str, seconds: float = 0.05) -> bool:
        """Take the messages already sent; True if the cell went idle meanwhile."""
        end = time.monotonic() + seconds
        idle = False
        channel = self.kc.iopub_channel
        while time.monotonic() < end:
            if not channel.socket.poll(10):
                continue
            msg = channel.get_msg(timeout=0)
            if outputs is not None:
                idle |= self._iopub(msg, outputs, msg_id)
            elif msg["parent_header"].get("msg_id") == msg_id:
                idle |= (msg["msg_type"] == "status" and
                         msg["content"].get("execution_state") == "idle")
            if idle:
                break
        return idle

    def _timeout(self, index: int, cell, outputs: _CellOutputs, msg_id: str,
                 whole: bool) -> str:
        self.timed_out = True
        name = _cell_name(index, cell)
        if whole:
            limit = self.limits.notebook_timeout
            what = f"the notebook time limit of {limit:g} s was reached during {name}"
        else:
            what = f"{name} timed out after {self.limits.cell_timeout:g} s"
        self.messages.append(what)
        self._drain(outputs, msg_id)
        outputs.add(_error("TimeoutError", f"{what} (interrupted)"))
        if not whole and self._interrupt(msg_id):
            return "ok"
        self._kill_kernel()
        self._kernel_lost(f"the kernel was stopped after {what}", cell=None, index=index)
        return "dead"

    def _interrupt(self, msg_id: str) -> bool:
        """SIGINT the kernel; True if the cell stopped (its reply came) within the grace."""
        self.server.send(op="signal", id=self.job_id, signal=int(signal.SIGINT))
        deadline = time.monotonic() + INTERRUPT_GRACE
        idle = False
        while time.monotonic() < deadline:
            for sock in self._wait(deadline):
                if sock is self.kc.iopub_channel.socket:
                    msg = self.kc.iopub_channel.get_msg(timeout=0)
                    idle |= (msg["parent_header"].get("msg_id") == msg_id and
                             msg["msg_type"] == "status" and
                             msg["content"].get("execution_state") == "idle")
                elif self.kc.shell_channel.get_msg(timeout=0)["parent_header"].get(
                        "msg_id") == msg_id:
                    # Stopped. Its "idle" may be late, or dropped (see _output_lost).
                    if not idle:
                        self._drain(None, msg_id, seconds=IOPUB_QUIET)
                    return True
            if self.exit_code is not None:
                return False
        return False

    def _kill_kernel(self) -> None:
        if self.exit_code is not None:
            return
        self.server.send(op="signal", id=self.job_id, signal=int(signal.SIGKILL))
        event = self.server.wait_for(lambda e: e.get("id") == self.job_id and
                                     e["event"] == "exited", 10)
        self.exit_code = event.get("code", -9)

    def _death_reason(self) -> str:
        if self.exit_reason:
            return f"the kernel was stopped: {self.exit_reason}"
        code = self.exit_code
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
            if code == -signal.SIGKILL:
                how += " (out of memory, a time limit, or killed by the notebook)"
        else:
            how = f"exited with code {code}"
        return f"the kernel died ({how})"

    def _kernel_lost(self, reason: str, cell=None, index: int | None = None) -> None:
        """Mark the current cell (if given) and every later code cell as failed."""
        self.kernel_died = True
        where = f" in {_cell_name(index, cell)}" if cell is not None else ""
        self.messages.append(reason + where)
        if cell is not None:
            cell.outputs.append(_error("DeadKernelError", f"{reason} while running this cell"))
        self.current = None
        self.fail_rest(reason)

    def fail_rest(self, reason: str) -> None:
        """Every code cell not yet run gets an error output (never a clean one)."""
        if self.current is not None:
            self.current.outputs.append(_error("DeadKernelError", reason))
            self.current = None
        while self.next_cell < len(self.code_cells):
            _, cell = self.code_cells[self.next_cell]
            self.next_cell += 1
            cell.outputs = [_error("DeadKernelError", f"not run: {reason}")]
            cell.execution_count = None
        self.kernel_died = True
