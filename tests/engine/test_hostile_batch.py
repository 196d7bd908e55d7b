"""A hostile class graded in each mode, end to end through grade_submissions.

In a sandbox (bwrap, namespaces) nothing on disk changes, nothing hidden is read, the network is
out of reach and no process a notebook started outlives the batch. With --sandbox none the
notebooks can do all of that, and the grader grades from the copies it read first and says
which submissions changed.
"""

import os
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from grading_helpers import (
    ASSIGNMENT,
    HIDDEN_MESSAGE,
    build_course,
    student_notebook,
    tree_hashes,
    write_submission,
)

from autograding.api import grade_submissions
from autograding.engine import sandbox
from autograding.engine.limits import Limits

pytestmark = pytest.mark.slow

LIMITS = Limits(cell_timeout=20, notebook_timeout=60)
# In every command line a notebook starts, so that survivors can be found afterwards.
MARKER = f"ag-leftover-{uuid.uuid4().hex[:12]}"
PLANTED = "planted-by-a-notebook.txt"


def _usable(mode):
    problem = sandbox.sandbox_problem(mode)
    return pytest.param(mode, marks=pytest.mark.skipif(bool(problem), reason=problem))


def _gated(escape: str) -> str:
    """An answer cell: the escape attempt, then `square` that is right only if it worked."""
    return (f"{escape}\n"
            "def square(x):\n"
            "    return x * x if _escaped else 0\n")


def _writer(root: Path, submitted: Path, out: Path) -> str:
    targets = [str(p) for p in sorted(submitted.rglob("*.ipynb"))]
    plants = [str(folder / PLANTED) for folder in
              (out, root / "source" / ASSIGNMENT, submitted, out / ".autograding")]
    return _gated(f"""_escaped = False
for _path in {targets!r} + {plants!r}:
    try:
        with open(_path, "a") as _f:
            _f.write(" ")
        _escaped = True
    except OSError:
        pass""")


def _reader(root: Path, submitted: Path) -> str:
    paths = [str(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
             str(submitted / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")]
    return _gated(f"""_escaped = False
for _path in {paths!r}:
    try:
        _escaped = _escaped or {HIDDEN_MESSAGE!r} in open(_path).read() or "x ** 3" in \\
            open(_path).read()
    except OSError:
        pass""")


def _network(port: int) -> str:
    return _gated(f"""import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    _escaped = True
except OSError:
    _escaped = False""")


# Every way to leave a process behind that does not need the grader's rights.
LINGER = f"""import os, subprocess, sys, time
_marker = {MARKER!r}
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", _marker],
                 start_new_session=True)
subprocess.Popen([sys.executable, "-c",
                  "import signal, time\\n"
                  "for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):\\n"
                  "    signal.signal(s, signal.SIG_IGN)\\n"
                  "time.sleep(600)", _marker])
subprocess.Popen([sys.executable, "-c",
                  "import os, sys, time\\n"
                  "if os.fork(): os._exit(0)\\n"
                  "os.setsid()\\n"
                  "if os.fork(): os._exit(0)\\n"
                  "time.sleep(600)", _marker])
if os.fork() == 0:
    time.sleep(600)
    os._exit(0)
time.sleep(1)
_escaped = False"""


def _class(root: Path, submitted: Path, out: Path, port: int) -> dict[str, tuple]:
    """student -> (notebook, expected scores in a sandbox)."""
    none_right = {"square_test": 0.0, "cube_test": 3.0}
    return {
        "honest": (student_notebook(), {"square_test": 2.0, "cube_test": 3.0}),
        "writer": (_writer(root, submitted, out), none_right),
        "reader": (_reader(root, submitted), none_right),
        "network": (_network(port), none_right),
        "lingerer": (_gated(LINGER), none_right),
        # Starts a survivor, then kills its own kernel: the survivor is an orphan at once.
        "orphan": (_gated(LINGER + "\nos.kill(os.getpid(), 9)"),
                   {"square_test": 0.0, "cube_test": 0.0}),
    }


def _notebook(answer):
    if not isinstance(answer, str):
        return answer
    nb = student_notebook()
    nb.cells[2].source = answer
    return nb


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:  # gone, or not ours to read
        return b""


def _survivors(by_environment: bool = True) -> list[str]:
    """Processes this test's notebooks started that are still there: their command line
    carries MARKER, or their environment this test's own TMPDIR (every server, kernel and
    forked kernel of these batches inherits a scratch folder below it), so a grader running
    beside this test is never counted."""
    # The grader's scratch roots are TMPDIR/autograding-*: the grader's own helpers (the
    # pool's resource tracker) have TMPDIR itself in their environment, not a folder below.
    tag, marker = os.path.join(os.environ["TMPDIR"], "autograding-").encode(), MARKER.encode()
    found = []
    for pid in (n for n in os.listdir("/proc") if n.isdigit() and int(n) != os.getpid()):
        cmdline = _read(f"/proc/{pid}/cmdline")
        if marker in cmdline or (by_environment and tag in _read(f"/proc/{pid}/environ")):
            words = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{pid}: {words[:160]}")
    return found


@pytest.fixture(autouse=True)
def own_tmpdir(monkeypatch, tmp_path):  # tmp_path first: pytest roots it in TMPDIR
    """A TMPDIR of this test's own: the grader's scratch folders (and so every process of
    its sandboxes) are found below it."""
    path = tempfile.mkdtemp(prefix="ag-hostile-")
    os.chmod(path, 0o755)
    monkeypatch.setenv("TMPDIR", path)
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def hostile_class(tmp_path):
    """A course, a class whose notebooks try to escape, a listener on loopback."""
    root, out = build_course(tmp_path / "course"), tmp_path / "out"
    submitted = root / "submitted"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    # Every submission exists before the writer's list of targets is made.
    for student in ("honest", "writer", "reader", "network", "lingerer", "orphan"):
        write_submission(submitted, student, student_notebook())
    students = _class(root, submitted, out, listener.getsockname()[1])
    for student, (answer, _) in students.items():
        write_submission(submitted, student, _notebook(answer))
    yield root, submitted, out, listener, {s: e for s, (_, e) in students.items()}
    listener.close()


def _grade(root, submitted, out, mode):
    return grade_submissions(submitted, out, workers=1, limits=LIMITS, course_root=root,
                             progress=False, sandbox=mode)


def _wait_for_no_survivors(seconds=5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := _survivors()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.parametrize("mode", [_usable("bwrap"), _usable("namespaces")])
def test_a_hostile_class_changes_reads_and_reaches_nothing(hostile_class, mode):
    root, submitted, out, listener, expected = hostile_class
    course_before, submitted_before = tree_hashes(root / "source"), tree_hashes(submitted)
    report = _grade(root, submitted, out, mode)
    assert report.sandbox == mode
    got = {s: dict(r.scores) for (s, _), r in report.results.items()}
    assert got == expected, report.notes
    assert tree_hashes(submitted) == submitted_before
    assert tree_hashes(root / "source") == course_before
    assert not list(out.rglob(PLANTED))
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    assert not [n for n in report.notes if "on disk while the batch ran" in n]
    assert _wait_for_no_survivors() == []


def test_none_mode_grades_from_first_copies_and_reports_changes(hostile_class, monkeypatch):
    """--sandbox none: the writer can change classmates' files; each is still graded as it was
    handed in, and every change is named in the notes. Processes still end with their job."""
    root, submitted, out, listener, expected = hostile_class
    # The warning comes once per process tree: an earlier test in `none` mode may have said it.
    monkeypatch.delenv("AUTOGRADING_SANDBOX_WARNED", raising=False)
    before = tree_hashes(submitted)
    with pytest.warns(RuntimeWarning, match="your own rights"):
        report = _grade(root, submitted, out, "none")
    changed = {name for name, digest in tree_hashes(submitted).items()
               if before.get(name) != digest}
    assert f"honest/{ASSIGNMENT}/{ASSIGNMENT}.ipynb" in changed  # the writer got through
    noted = {n.split(":")[0] for n in report.notes if "on disk while the batch ran" in n}
    assert noted == {str(submitted / name) for name in changed if name.endswith(".ipynb")}
    got = {s: dict(r.scores) for (s, _), r in report.results.items()}
    assert got["honest"] == expected["honest"]  # graded from the bytes read first
    assert got["orphan"] == expected["orphan"]
    assert _wait_for_no_survivors() == []


GRADER = """import sys
import nbformat.v4 as v4
from autograding.engine.executor import execute_notebook
code = sys.argv[2] + "\\nprint('started', flush=True)\\nimport time\\ntime.sleep(300)"
execute_notebook(v4.new_notebook(cells=[v4.new_code_cell(code)]), sandbox=sys.argv[1])
"""
# The same through a local pool: its worker's fork-server is forked from the pool's zygote.
POOL_GRADER = """import sys
import nbformat, nbformat.v4 as v4
from autograding.engine.limits import Limits
from autograding.engine.workers import PoolRunner
code = sys.argv[2] + "\\nprint('started', flush=True)\\nimport time\\ntime.sleep(300)"
executor = "autograding.engine.executor:execute_notebook"
runner = PoolRunner(1, (executor, sys.argv[1], ()))
runner.submit({"notebook": nbformat.writes(v4.new_notebook(cells=[v4.new_code_cell(code)])),
               "limits": Limits(), "sandbox": sys.argv[1], "executor": executor,
               "hidden": ()}).result()
"""


def _kill_mid_notebook(grader_code: str, mode: str) -> None:
    """Start a grader on the lingering notebook, kill -9 it once the daemons run, and check
    that none of them is left."""
    import subprocess
    import sys

    grader = subprocess.Popen([sys.executable, "-c", grader_code, mode, LINGER],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_survivors(by_environment=False)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        started = _survivors(by_environment=False)
        assert len(started) >= 3, "the notebook's processes never started"
    finally:
        grader.kill()
        grader.wait()
    assert _wait_for_no_survivors() == []
    # Nor the grader's own helpers: the pool's workers and its resource tracker.
    deadline = time.monotonic() + 10
    while (helpers := _grader_helpers()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert helpers == []


def _grader_helpers() -> list[str]:
    """Processes of multiprocessing (pool workers, resource tracker) started with this test's
    TMPDIR."""
    env = f"TMPDIR={os.environ['TMPDIR']}\0".encode()
    found = []
    for pid in (n for n in os.listdir("/proc") if n.isdigit() and int(n) != os.getpid()):
        cmdline = _read(f"/proc/{pid}/cmdline")
        if b"multiprocessing" in cmdline and env in _read(f"/proc/{pid}/environ"):
            words = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{pid}: {words[:160]}")
    return found


@pytest.mark.parametrize("mode", [_usable("bwrap"), _usable("namespaces"), "none"])
def test_nothing_outlives_a_grader_killed_mid_notebook(mode):
    """kill -9 of the grading process while a notebook's daemons run: they go with it."""
    _kill_mid_notebook(GRADER, mode)


@pytest.mark.parametrize("mode", [_usable("bwrap"), _usable("namespaces"), "none"])
def test_nothing_outlives_a_pool_killed_mid_notebook(mode):
    """The same when the kernel's server was forked from a pool's zygote: kill -9 of the
    pool's process takes the zygote, the server and the notebook's daemons with it."""
    _kill_mid_notebook(POOL_GRADER, mode)
