"""The hostile code a sample student hands in: each function returns the Python source.

Escape attempts are gated on success: if the forbidden action works, the code goes on to the
stolen or correct answer and earns points it must not get, so a leaky sandbox shows up as a
wrong score. Nothing here may harm the host when the sandbox is missing: the fork bomb is
bounded and the network attempt stays on loopback.
"""

from __future__ import annotations


def loop_forever(**_) -> str:
    """An infinite loop."""
    return "while True:  # never ends: the grader has to time this cell out\n    pass\n"


def sleep_forever(**_) -> str:
    """A sleep of 30 years."""
    return "import time\n\ntime.sleep(10**9)  # sleeps for 30 years\n"


def alloc_50gb(**_) -> str:
    """A 50 GB allocation."""
    return "hoard = bytearray(50 * 2**30)  # 50 GB\n"


def sys_exit(**_) -> str:
    """sys.exit(): the grader's contract stops the kernel, as the program asked."""
    return "import sys\n\nsys.exit()\n"


def os_exit(**_) -> str:
    """os._exit(0): the kernel process ends."""
    return "import os\n\nos._exit(0)  # the kernel process ends here\n"


def kill_own_kernel() -> str:
    """SIGKILL to the kernel that runs the cell."""
    return "\nimport os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)\n"


def fork_bomb(**_) -> str:
    """Forks until the process cap stops it, gated on getting every child."""
    # Bounded so that a missing cap cannot hurt the host (at most 200 sleeping children for
    # 1.5 s), and the parent never blocks on a child (a child forked from a threaded kernel
    # can hang): stragglers are killed. Getting all 200 children without hitting the cap runs
    # the answer (points it must not get).
    return '''import os
import signal
import time

_deadline = time.monotonic() + 1.5
_children, _capped = [], False
for _ in range(200):
    try:
        _pid = os.fork()
    except OSError:
        _capped = True
        break
    if _pid == 0:
        try:
            time.sleep(max(0.0, _deadline - time.monotonic()))
        finally:
            os._exit(0)
    _children.append(_pid)
while _children and time.monotonic() < _deadline + 1.0:
    for _pid in list(_children):
        try:
            if os.waitpid(_pid, os.WNOHANG)[0]:
                _children.remove(_pid)
        except ChildProcessError:
            _children.remove(_pid)
    time.sleep(0.05)
for _pid in _children:
    try:
        os.kill(_pid, signal.SIGKILL)
        os.waitpid(_pid, 0)
    except OSError:
        pass
if _capped:
    raise RuntimeError("the fork bomb was stopped by the process limit")
'''


def fill_disk(**_) -> str:
    """4 GiB written in files that each stay under the per-file cap."""
    # Only the grader's cap on all the files together stops it (the kernel is stopped).
    # Without that cap it would go on to the answer and get its points.
    return """for _i in range(20):
    with open(f"_filler_{_i}.bin", "wb") as _file:
        for _ in range(25):
            _file.write(bytes(8 * 2**20))
"""


def read_masters(assignment: str, grade_id: str, paths: list[str], **_) -> str:
    """Reads the answer `grade_id` from the masters or a classmate's notebook, then runs it."""
    return f'''import glob
import json

_stolen = None
for _pattern in {paths!r}:
    for _path in glob.glob(_pattern):
        try:
            with open(_path, encoding="utf-8") as _file:
                _cells = json.load(_file)["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for _cell in _cells:
            _meta = _cell.get("metadata", {{}}).get("nbgrader", {{}})
            if _meta.get("grade_id") == {grade_id!r}:
                _stolen = "".join(_cell["source"])
if _stolen is None:
    raise PermissionError("could not read the masters or a classmate's notebook")
exec(_stolen)
'''


def write_outside(paths: list[str], **_) -> str:
    """Appends to files outside the scratch folder, gated on one write succeeding."""
    return f'''_escaped = []
for _path in {paths!r}:
    try:
        with open(_path, "a", encoding="utf-8") as _file:
            _file.write("written from inside the grading kernel\\n")
        _escaped.append(_path)
    except OSError:
        pass
if not _escaped:
    raise PermissionError("every write outside the scratch folder was refused")
'''


def network(**_) -> str:
    """Opens TCP connections, gated on one of them succeeding."""
    # Loopback only: even when graded with --sandbox none (no network namespace),
    # a sample student must not send traffic off this machine. That the sandbox cuts the
    # network is asserted by the sandbox tests' test_no_network with a live listener.
    return '''import socket

_reached = []
for _host, _port in [("127.0.0.1", 22), ("127.0.0.1", 80), ("127.0.0.1", 8888)]:
    try:
        socket.create_connection((_host, _port), timeout=2).close()
        _reached.append(_host)
    except OSError:
        pass
if not _reached:
    raise ConnectionError("no network from the grading kernel")
'''


def million_lines(**_) -> str:
    """Prints a million lines."""
    return 'for _line in range(1_000_000):\n    print("spam", _line)\n'


def skip_tests() -> str:
    """Empties every later cell through an IPython input transformer."""
    # The one-line way to make every later test raise nothing: IPython runs each later cell
    # through this transformer, which empties it. The grader puts IPython's transformer lists
    # back before each test cell (and checks that each test cell reaches its last line).
    return "\nget_ipython().input_transformers_cleanup.append(lambda lines: [])\n"


def display_flood(**_) -> str:
    """Shows 5,000 tiny outputs."""
    return "for _shown in range(5_000):\n    display(_shown)\n"


def one_off() -> str:
    """Defines one_off(function): `function` with results one off, same types and shapes."""
    # The sample class's wrong answers: they pass the tests' type and shape checks and fail
    # their comparisons, which a patch of the comparisons (patch_comparisons) would turn.
    return '''def one_off(function):
    """`function`, its results one off: the same types and shapes, other values."""
    import fractions

    import torch

    def off(value):
        if isinstance(value, torch.Tensor) and value.dtype != torch.bool:
            return value + 1
        if isinstance(value, (int, float, fractions.Fraction)) and not isinstance(value, bool):
            return value + 1
        if type(value) in (list, tuple):
            return type(value)(off(item) for item in value)
        return value

    def wrong(*args, **kwargs):
        return off(function(*args, **kwargs))

    return wrong
'''


def patch_comparisons() -> str:
    """Replaces what tests compare with, so that every comparison of a test would pass."""
    # Comparison functions for everyone; builtins and Tensor.item only for calls from the
    # tests (their names start with an underscore), so that the notebook and the kernel work.
    return '''import builtins
import fractions
import math
import sys

import numpy
import torch


def for_the_tests(original, fake):
    """`fake` when a test calls it, `original` otherwise."""
    def patched(*args, **kwargs):
        frame = sys._getframe(1)
        code = frame.f_code
        if frame.f_globals.get("__name__") == "__main__" and (
                code.co_name.startswith(("_", "<genexpr>"))
                or {"_torch", "_F", "_math"} & set(code.co_names)):
            return fake(*args, **kwargs)
        return original(*args, **kwargs)

    return patched


torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
numpy.allclose = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
fractions.Fraction.__eq__ = lambda self, other: True
builtins.abs = for_the_tests(builtins.abs, lambda value: 0)
builtins.all = for_the_tests(builtins.all, lambda values: True)
builtins.isinstance = for_the_tests(builtins.isinstance, lambda value, kinds: kinds is not bool)
builtins.max = for_the_tests(builtins.max, lambda *args, **kwargs: 0)
torch.Tensor.item = for_the_tests(torch.Tensor.item, lambda tensor: 0.0)
'''


# kind -> (payload, description, gated on escaping the sandbox). Each goes at the top of the
# first answer, before the correct answer, which then never runs.
FIRST_ANSWER_HOSTILE = {
    "loop_forever": (loop_forever, "infinite loop in the first answer", False),
    "sleep_forever": (sleep_forever, "time.sleep forever in the first answer", False),
    "alloc_50gb": (alloc_50gb, "allocates 50 GB in the first answer", False),
    "fork_bomb": (fork_bomb, "fork bomb, gated on escaping the process cap", True),
    "read_masters": (read_masters, "steals the answer from the masters/classmates", True),
    "write_outside": (write_outside, "writes outside its scratch, gated on success", True),
    "network": (network, "opens network connections, gated on success", True),
}
