"""The grading kernel's output path: a cell's output past the grader's budget costs little time.

Two things made a flood of prints slow in a stock kernel, although the grader keeps only the
first `max_output_bytes` of it (executor._CellOutputs truncates and says so):

- ipykernel's OutStream spends ~3 us of bookkeeping per write, and `print` makes several
  writes per line. BudgetedOutStream stops sending once a request has sent more than the
  budget.
- Each `display()` flushes both streams (a round trip to the IOPub thread) and sends one
  message, ~370 us; 100,000 of them also made the grader fall behind the kernel, and ZeroMQ
  drops IOPub messages once ~2,000 wait, the cell's "idle" among them. BudgetedDisplayPublisher
  stops new displays once a request has shown more than the grader keeps.
- IPython 9 wraps every stream write of a cell (`InteractiveShell._tee`) to keep all of it in
  memory for its output history, which nobody reads while grading. GradingShell runs cells
  without that wrapper, so the output is neither slowed down nor kept.

A million printed lines took 13 s of kernel time (and failed a 10 s cell limit on a busy
machine); see tests/engine/test_executor.py. The kernel app picks these classes up through its
own config (`IPKernelApp.outstream_class` and `IPKernelApp.kernel_class`); the shell's
`display_pub_class` is set on GradingShell.
"""

import contextlib

from ipykernel.iostream import OutStream
from ipykernel.ipkernel import IPythonKernel
from ipykernel.zmqshell import ZMQDisplayPublisher, ZMQInteractiveShell
from traitlets import Type


class BudgetedOutStream(OutStream):
    """OutStream that forwards at most a little over `budget` characters per request."""

    budget = 1_000_000  # set by the fork-server from Limits.max_output_bytes before start
    _written = 0  # characters sent since the current request began

    def set_parent(self, parent):
        """A new request (the shell calls this for each one): its output starts at zero."""
        super().set_parent(parent)
        self._written = 0

    def write(self, string: str) -> int | None:  # type: ignore[override]
        """Send `string` unless this request already sent more than the budget."""
        if self._written > self.budget and type(string) is str:
            # Kept cheap on purpose: the grader already received more than it keeps.
            return len(string)
        if isinstance(string, str):
            self._written += len(string)
        return super().write(string)  # OutStream raises the usual TypeError for non-str


class BudgetedDisplayPublisher(ZMQDisplayPublisher):
    """Display publisher that sends at most `max_outputs + 1` new displays, and a little over
    `budget` characters of them, per request and since the last `clear_output`."""

    budget = 1_000_000  # both set by the fork-server from Limits before the kernel starts
    max_outputs = 1000
    _shown = 0  # new displays sent since the request began or its output was cleared
    _written = 0  # their characters

    def set_parent(self, parent):
        """A new request: its displays start at zero."""
        super().set_parent(parent)
        self._shown = self._written = 0

    def clear_output(self, wait=False):
        """Cleared output no longer counts (a live display redrawn each step stays live)."""
        super().clear_output(wait)
        self._shown = self._written = 0

    def publish(self, data, metadata=None, *, transient=None, update=False, **kwargs):
        """Send the display unless this request is past its budget. Updates of an existing
        display always go: they add no output, and the grader keeps only the last."""
        if not update:
            # One more than the grader keeps, so that it sees the overflow and says so.
            if self._shown > self.max_outputs or self._written > self.budget:
                return
            self._shown += 1
            # Images may still be bytes here (base64-encoded on sending: a third more).
            self._written += sum(len(v) for v in (data or {}).values()
                                 if isinstance(v, (str, bytes)))
        super().publish(data, metadata, transient=transient, update=update, **kwargs)


class GradingShell(ZMQInteractiveShell):
    """The kernel's shell: budgeted displays, no in-memory copy of every stream write."""

    display_pub_class = Type(BudgetedDisplayPublisher)

    @contextlib.contextmanager
    def _tee(self, channel):
        """Leave sys.stdout and sys.stderr as they are (see the module docstring)."""
        yield


class GradingKernel(IPythonKernel):
    """IPython's kernel with GradingShell (its `shell_class` is not configurable)."""

    shell_class = GradingShell

    async def do_execute(self, *args, **kwargs):
        """IPython's execute; its reply also says when displays overflowed the grader's cap.
        The reply always arrives, while the displays that showed the overflow may be dropped
        by ZeroMQ on a busy machine (the grader would then not say that it cut the cell)."""
        reply = await super().do_execute(*args, **kwargs)
        publisher = self.shell.display_pub
        if getattr(publisher, "_shown", 0) > getattr(publisher, "max_outputs", 1 << 62):
            reply["display_overflow"] = True
        return reply
