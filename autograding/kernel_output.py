"""The grading kernel's output path: a cell's output past the grader's budget costs little time.

Two things made a flood of prints slow in a stock kernel, although the grader keeps only the
first `max_output_bytes` of it (executor._CellOutputs truncates and says so):

- ipykernel's OutStream spends ~3 us of bookkeeping per write, and `print` makes several
  writes per line. BudgetedOutStream stops sending once a request has sent more than the
  budget.
- IPython 9 wraps every stream write of a cell (`InteractiveShell._tee`) to keep all of it in
  memory for its output history, which nobody reads while grading. GradingShell runs cells
  without that wrapper, so the output is neither slowed down nor kept.

A million printed lines took 13 s of kernel time (and failed a 10 s cell limit on a busy
machine); see tests/test_executor.py. The kernel app picks these classes up through its own
config (`IPKernelApp.outstream_class` and `IPKernelApp.kernel_class`).
"""

import contextlib

from ipykernel.iostream import OutStream
from ipykernel.ipkernel import IPythonKernel
from ipykernel.zmqshell import ZMQInteractiveShell


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


class GradingShell(ZMQInteractiveShell):
    """The kernel's shell, without IPython's in-memory copy of every stream write."""

    @contextlib.contextmanager
    def _tee(self, channel):
        """Leave sys.stdout and sys.stderr as they are (see the module docstring)."""
        yield


class GradingKernel(IPythonKernel):
    """IPython's kernel with GradingShell (its `shell_class` is not configurable)."""

    shell_class = GradingShell
