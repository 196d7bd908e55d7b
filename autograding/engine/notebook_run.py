"""The per-notebook run protocol: one notebook, cell by cell, through one forked kernel.

A cell that errors keeps the later cells running; a timeout, a dead kernel or the notebook time
limit leave an error output in the affected cell and every later one, so nothing after them can
look like a pass.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path

import nbformat
import zmq
from jupyter_client.blocking import BlockingKernelClient

from autograding.engine.cell_outputs import CellOutputs, error_output
from autograding.engine.kernel_job import (
    KERNEL_START_TIMEOUT,
    kernel_env,
    limit_dict,
    prepare_job_folder,
    zmq_context,
)
from autograding.engine.limits import Limits, seconds
from autograding.engine.patch_watch import PatchWatch
from autograding.engine.ran_marker import cell_name, marked_source, marker_seen
from autograding.engine.servers import ServerDied

INTERRUPT_GRACE = 3.0  # s between the interrupt and the kill of a timed-out cell
# s of IOPub silence after a cell's reply before its "idle" counts as lost (nbclient waits
# 4 s too). Idle normally follows the reply within milliseconds, and a backlog the grader is
# still reading keeps IOPub busy, so only dropped messages end here.
IOPUB_QUIET = 4.0


class NotebookRun:
    """One notebook through one kernel of a fork-server."""

    def __init__(self, server, nb, limits: Limits, env: dict, files: Mapping, attempt: int,
                 references: tuple[str, ...] = ()):
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
        self.patches = PatchWatch(references)  # what the notebook replaced of the originals

    # -- job lifecycle ----------------------------------------------------------------------

    def execute(self) -> None:
        """Start the kernel, run the cells, end the job (its processes and folder)."""
        server = self.server
        server.jobs += 1
        self.job_id = server.jobs
        self.job_dir = os.path.join(server.scratch, f"job{self.job_id}")
        try:
            self.folder = prepare_job_folder(self.job_dir, server.uid, self.files,
                                             self.messages)
            server.send(op="run", id=self.job_id, cwd=self.folder.cwd,
                        conn=self.folder.conn_path, log=self.folder.log_path,
                        env=kernel_env(self.folder.run_dir, server.pid_in_sandbox,
                                       self.extra_env),
                        limits=limit_dict(self.limits, server.uid))
            started = server.wait_for(lambda e: e.get("id") == self.job_id and
                                      e["event"] in ("started", "error"), 30)
            if started["event"] == "error":
                raise ServerDied(started.get("message", "could not start a kernel"))
            self._connect()
            if self._wait_ready():
                self.patches.start(self)
                self._run_cells()
                self.patches.finish(self)
            if self.tests_not_run:
                self.messages.append(
                    f"{len(self.tests_not_run)} test cell(s) did not run to their end: "
                    f"{', '.join(self.tests_not_run)}. Code in the notebook changed how later "
                    "cells run, so they score 0.")
        finally:
            self._finish()

    def _connect(self) -> None:
        kc = BlockingKernelClient(context=zmq_context())
        kc.load_connection_info(self.folder.conn)
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
            text = Path(self.folder.log_path).read_text(errors="replace")
        except OSError:
            return "no log"
        return " | ".join(text.strip().splitlines()[-3:]) or "no log"

    # -- cells ------------------------------------------------------------------------------

    def _run_cells(self) -> None:
        notebook_deadline = time.monotonic() + seconds(self.limits.notebook_timeout)
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

    def _cell_outputs(self, cell) -> CellOutputs:
        """The next cell's collector: its own budget, or what is left of the notebook's."""
        limits = self.limits
        if self.output_left < limits.max_output_bytes:
            budget, whose = self.output_left, "the notebook"
            limit = limits.max_notebook_output_bytes
        else:
            budget, whose = limits.max_output_bytes, "this cell"
            limit = budget
        return CellOutputs(cell, budget, limits.max_outputs,
                            f"{whose} produced more than {limit} bytes of output")

    def _run_cell(self, index: int, cell, outputs: CellOutputs,
                  notebook_deadline: float) -> str:
        kc = self.kc
        cell.execution_count = None
        source, expressions, token = marked_source(cell)
        if token is not None:
            self.patches.before_test(self)
        check = self.patches.ask(cell.source, expressions) if token is not None else None
        msg_id = kc.execute(source, store_history=True, allow_stdin=False,
                            stop_on_error=False, user_expressions=expressions)
        cell_deadline = time.monotonic() + seconds(self.limits.cell_timeout)
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
        if reply.get("display_overflow"):
            outputs.note_too_many()
        if token is not None and reply.get("status") == "ok":
            self._check_test_ran(reply, token, outputs, index)
            self.patches.read(reply.get("user_expressions"), check)
        asked_exit = any(p.get("source") == "ask_exit" for p in reply.get("payload", []))
        if asked_exit or any(o.output_type == "error" and o.ename == "SystemExit"
                             for o in cell.outputs):
            # Like a script: after sys.exit() or exit() the rest of the notebook does not run
            # (IPython would carry on, and a frontend would stop the kernel on exit()).
            if not any(o.output_type == "error" for o in cell.outputs):
                outputs.add(error_output("SystemExit", "exit() stopped the notebook here"))
            self._kill_kernel()
            self._kernel_lost(f"{cell_name(index, cell)} called sys.exit() or exit(); the "
                              "kernel was stopped", cell=None, index=index)
            return "dead"
        return "ok"

    def _output_lost(self, index: int, cell) -> None:
        """The kernel answered but IOPub went quiet before the cell's "idle": ZeroMQ dropped
        messages because the grader fell behind (thousands sent at once, a busy machine)."""
        self.messages.append(f"{cell_name(index, cell)}: some of its output was lost on the "
                             "way to the grader (it came faster than it could be read)")
        cell.outputs.append(nbformat.v4.new_output(
            "stream", name="stdout",
            text="\n[some output of this cell was lost: it came faster than the grader "
                 "could read it]\n"))

    @staticmethod
    def _error_from_reply(reply: dict, outputs: CellOutputs) -> None:
        """The kernel's reply says whether the cell raised, and the reply cannot be dropped
        the way IOPub messages can: a failing test whose error output was lost still fails."""
        if reply.get("status") != "error":
            return
        if not any(o.output_type == "error" for o in outputs.cell.outputs):
            outputs.add(nbformat.v4.new_output(
                "error", ename=str(reply.get("ename", "Error")),
                evalue=str(reply.get("evalue", "")),
                traceback=[str(line) for line in reply.get("traceback", [])]))

    def _check_test_ran(self, reply: dict, token: str, outputs: CellOutputs,
                        index: int) -> None:
        """Fail a test cell that did not reach its last line although it raised nothing.

        The grader appended a line that sets a fresh random value, read back through the
        reply's user_expressions. Code earlier in the notebook can change how later cells
        run (an input transformer that empties them, a replaced run_cell); the tests would
        then raise nothing and pass. This does not stop code written against this check.
        """
        if marker_seen(reply, token):
            return
        outputs.add(error_output("TestDidNotRun", "this test did not run to its end: code "
                                 "earlier in the notebook changed how cells run, so it cannot "
                                 "pass"))
        self.tests_not_run.append(cell_name(index, outputs.cell))

    def _iopub(self, msg: dict, outputs: CellOutputs, msg_id: str) -> bool:
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

    def _drain(self, outputs: CellOutputs | None, msg_id: str, seconds: float = 0.05) -> bool:
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

    def _timeout(self, index: int, cell, outputs: CellOutputs, msg_id: str,
                 whole: bool) -> str:
        self.timed_out = True
        name = cell_name(index, cell)
        if whole:
            limit = self.limits.notebook_timeout
            what = f"the notebook time limit of {limit:g} s was reached during {name}"
        else:
            what = f"{name} timed out after {self.limits.cell_timeout:g} s"
        self.messages.append(what)
        self._drain(outputs, msg_id)
        outputs.add(error_output("TimeoutError", f"{what} (interrupted)"))
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
        where = f" in {cell_name(index, cell)}" if cell is not None else ""
        self.messages.append(reason + where)
        if cell is not None:
            cell.outputs.append(error_output("DeadKernelError",
                                             f"{reason} while running this cell"))
        self.current = None
        self.fail_rest(reason)

    def fail_rest(self, reason: str) -> None:
        """Every code cell not yet run gets an error output (never a clean one)."""
        if self.current is not None:
            self.current.outputs.append(error_output("DeadKernelError", reason))
            self.current = None
        while self.next_cell < len(self.code_cells):
            _, cell = self.code_cells[self.next_cell]
            self.next_cell += 1
            cell.outputs = [error_output("DeadKernelError", f"not run: {reason}")]
            cell.execution_count = None
        self.kernel_died = True
