"""A local pool's fork-servers, forked from one warm zygote: each still in a sandbox of its own.

Two workers run a notebook each at the same time. The second looks for the first one's files,
processes and listening socket, and finds none of them; neither kernel keeps a capability; as
root they run as different uids. When the zygote is gone, workers start servers of their own.
"""

import json
import os
import shutil
import socket
import tempfile
import time

import nbformat
import nbformat.v4 as v4
import pytest

from autograding.engine import sandbox
from autograding.engine.limits import Limits
from autograding.engine.workers import PoolRunner

pytestmark = pytest.mark.slow

EXECUTOR = "autograding.engine.executor:execute_notebook"
LIMITS = Limits(cell_timeout=60, notebook_timeout=120)


def _usable(mode):
    problem = sandbox.sandbox_problem(mode)
    return pytest.param(mode, marks=pytest.mark.skipif(bool(problem), reason=problem))


SANDBOXES = [_usable("bwrap"), _usable("namespaces")]


def _job(source: str, mode: str) -> dict:
    nb = v4.new_notebook(cells=[v4.new_code_cell(source)])
    return {"notebook": nbformat.writes(nb), "limits": LIMITS, "sandbox": mode,
            "executor": EXECUTOR, "hidden": ()}


def _printed(result: dict) -> str:
    assert "error" not in result, result.get("error")
    cell = nbformat.reads(result["notebook"], as_version=4).cells[0]
    return "".join(o.get("text", "") or o.get("evalue", "") for o in cell.outputs)


@pytest.fixture
def own_tmpdir(monkeypatch):
    """A TMPDIR of this test's own: the zygote's folder and every server's are below it."""
    path = tempfile.mkdtemp(prefix="ag-zygote-")
    os.chmod(path, 0o755)
    monkeypatch.setenv("TMPDIR", path)
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


FIRST = """import os, socket, time
open("secret-of-the-first.txt", "w").write("first")
open("/dev/shm/shm-of-the-first", "w").write("first")
listener = socket.socket()
listener.bind(("127.0.0.1", {port}))
listener.listen()
print(os.getuid(), flush=True)
time.sleep(8)
"""

SECOND = """import json, os, socket, time
time.sleep(3)  # the first notebook has written and listens by now
found = []
for top in ({root!r}, "/tmp", "/dev/shm", "/var/tmp"):
    for folder, _, files in os.walk(top):
        found += [os.path.join(folder, f) for f in files if "of-the-first" in f]
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    net = "connected"
except OSError:
    net = "refused"
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
caps = {{line.split()[1] for line in open("/proc/self/status") if line.startswith("Cap")}}
print(json.dumps({{"uid": os.getuid(), "found": found, "net": net, "others": [
    p for p in pids if p not in (1, os.getpid())], "caps": sorted(caps)}}))
"""


def _processes_below(folder: str) -> dict[str, int]:
    """How many processes whose environment names `folder` run each program (cmdline)."""
    counts: dict[str, int] = {}
    for pid in (n for n in os.listdir("/proc") if n.isdigit()):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if folder.encode() not in f.read():
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().split(b"\0")
        except OSError:
            continue
        program = next((w.decode() for w in words if w.startswith(b"autograding.")), "other")
        counts[program] = counts.get(program, 0) + 1
    return counts


@pytest.mark.parametrize("mode", SANDBOXES)
def test_two_workers_kernels_do_not_see_each_other(own_tmpdir, mode):
    port = _free_port()
    runner = PoolRunner(2, (EXECUTOR, mode, ()))
    try:
        assert runner.zygote is not None
        first = runner.submit(_job(FIRST.format(port=port), mode))
        second = runner.submit(_job(SECOND.format(root=runner.zygote.root, port=port), mode))
        running: dict[str, int] = {}  # the most processes of each program seen at once
        while not (first.done() and second.done()):
            for program, count in _processes_below(own_tmpdir).items():
                running[program] = max(count, running.get(program, 0))
            time.sleep(0.2)
        first_uid = int(_printed(first.result(timeout=120)).split()[0])
        second_out = _printed(second.result(timeout=120))
    finally:
        runner.join()
    seen = json.loads(second_out)
    assert seen["found"] == [] and seen["net"] == "refused" and seen["others"] == []
    # No capability effective, permitted, inheritable, in the bounding set or ambient.
    assert seen["caps"] == ["0000000000000000"]
    if os.geteuid() == 0:  # each worker's kernels run as a uid of their own
        assert first_uid != seen["uid"] and 0 not in (first_uid, seen["uid"])
    # Both servers were forked from the zygote: no fork-server imported on its own. The
    # kernels show it (a server and the zygote are not dumpable: as a normal user their
    # environment cannot be read), with the zygote's command line.
    assert "autograding.engine.forkserver" not in running, running
    assert running.get("autograding.engine.zygote", 0) >= 2, running
    assert not os.path.exists(runner.zygote.root)


@pytest.mark.parametrize("mode", [*SANDBOXES, "none"])
def test_without_the_zygote_workers_start_their_own_servers(own_tmpdir, mode):
    runner = PoolRunner(1, (EXECUTOR, mode, ()))
    try:
        assert _printed(runner.submit(_job("print(6 * 7)", mode)).result(timeout=120)) == "42\n"
        runner.zygote.proc.kill()  # in a sandbox, its servers go with it
        runner.zygote.proc.wait()
        assert _printed(runner.submit(_job("print(2 ** 5)", mode)).result(timeout=120)) == "32\n"
    finally:
        runner.join()


@pytest.mark.parametrize("mode", [SANDBOXES[0]])
def test_the_zygote_imports_the_heavy_modules_the_notebooks_import_and_only_those(own_tmpdir,
                                                                                  mode):
    from autograding.engine.forkserver import DEFAULT_PRELOAD, PRELOAD_IF_IMPORTED

    assert not {name.split(".")[0] for name in DEFAULT_PRELOAD} & set(PRELOAD_IF_IMPORTED)
    # What the masters import, unfiltered: a course helper that hooks into IPython when
    # imported must be imported by the kernel, never before the fork.
    runner = PoolRunner(1, (EXECUTOR, mode, ()), ("seaborn", "course_utils", "sklearn.datasets"))
    try:
        shown = _printed(runner.submit(_job(
            "import sys; print(sorted(m for m in ('seaborn', 'course_utils', 'sklearn.datasets',"
            " 'sklearn.linear_model') if m in sys.modules))", mode)).result(timeout=120))
    finally:
        runner.join()
    assert shown == "['seaborn', 'sklearn.datasets']\n"
