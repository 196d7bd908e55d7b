"""The sandboxes (bubblewrap and plain namespaces): no network, hidden paths, read-only host,
process cap, cleanup; choosing one; the explicit `none` mode."""

import glob
import multiprocessing
import os
import shutil
import socket
import tempfile
import threading
import warnings

import nbformat.v4 as v4
import pytest

from autograding.engine import forkserver, mount_plan, sandbox, servers
from autograding.engine.executor import Limits, execute_notebook, sandbox_mode

pytestmark = pytest.mark.slow


def _usable(mode):
    problem = sandbox.sandbox_problem(mode)
    return pytest.param(mode, marks=pytest.mark.skipif(bool(problem), reason=problem))


# Each test of isolation runs in every sandbox this machine has; a missing one is skipped
# with the reason (and its fix: `apt-get install -y bubblewrap`).
SANDBOXES = [_usable("bwrap"), _usable("namespaces")]
MODES = [*SANDBOXES, "none"]


def notebook(*sources):
    return v4.new_notebook(cells=[v4.new_code_cell(s) for s in sources])


def texts(result):
    return ["".join(o.get("text", "") for o in c.outputs) for c in result.notebook.cells]


@pytest.fixture
def visible_dir(monkeypatch):
    """A folder the sandbox shows (read-only) unless told to hide it: made under /tmp, which
    every sandbox hides, inside a folder shown again through AUTOGRADING_EXPOSE, so that root
    and a normal user both have one."""
    shown = tempfile.mkdtemp(prefix="autograding-test-")
    os.chmod(shown, 0o755)
    path = os.path.join(shown, "visible")
    os.mkdir(path, 0o755)
    with open(os.path.join(path, "master.ipynb"), "w") as f:
        f.write("SECRET HIDDEN TEST")
    os.chmod(os.path.join(path, "master.ipynb"), 0o644)
    monkeypatch.setenv("AUTOGRADING_EXPOSE", shown)
    servers.shutdown()  # servers started before saw another view
    yield path
    servers.shutdown()
    shutil.rmtree(shown, ignore_errors=True)


READ = ("try:\n    print(open({!r}).read())\n"
        "except OSError as e:\n    print('blocked', type(e).__name__)")
WRITE = ("try:\n    open({!r}, 'w').write('x')\n    print('written')\n"
         "except OSError as e:\n    print('blocked', type(e).__name__)")


@pytest.mark.parametrize("mode", SANDBOXES)
def test_hidden_paths_unreadable_and_host_read_only(visible_dir, mode):
    secret = os.path.join(visible_dir, "master.ipynb")
    checkout = mount_plan.course_checkout() or "/nonexistent"
    package = os.path.dirname(os.path.dirname(sandbox.__file__))  # autograding/
    masters = glob.glob(os.path.join(package, "source", "*", "*"))
    cells = [READ.format(secret), WRITE.format(os.path.join(visible_dir, "w.txt")),
             WRITE.format(os.path.join(checkout, "planted.txt")), WRITE.format("/tmp/x"),
             READ.format(os.path.join(checkout, "pyproject.toml")), WRITE.format("mine.txt"),
             READ.format(masters[0] if masters else os.path.join(checkout, ".git", "HEAD"))]
    shown = execute_notebook(notebook(*cells), sandbox=mode)
    hidden = execute_notebook(notebook(*cells), sandbox=mode, hidden=[visible_dir])
    assert texts(shown)[0] == "SECRET HIDDEN TEST\n"  # control: visible unless hidden
    assert texts(hidden)[0].startswith("blocked")
    for result in (shown, hidden):
        out = texts(result)
        assert out[1].startswith("blocked") and out[2].startswith("blocked")
        assert out[3].startswith("blocked") and out[4].startswith("blocked")
        assert out[5] == "written\n"  # the scratch folder is the one writable place
        assert out[6].startswith("blocked")  # the masters (or the repository's history)
    assert not os.path.exists(os.path.join(visible_dir, "w.txt"))
    assert not os.path.exists(os.path.join(checkout, "planted.txt"))


@pytest.mark.parametrize("mode", SANDBOXES)
def test_no_network(mode):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = execute_notebook(notebook(
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
            "    print('connected')\nexcept OSError as e:\n    print('blocked', e)"),
            sandbox=mode)
    assert texts(result)[0].startswith("blocked")


@pytest.mark.parametrize("mode", SANDBOXES)
def test_fork_bomb_is_contained(mode):
    limits = Limits(cell_timeout=5, notebook_timeout=60, max_processes=40)
    count = ("import os, time\nn = 0\nfor i in range(200):\n    try:\n        pid = os.fork()\n"
             "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(60)\n"
             "        os._exit(0)\n    n += 1\nprint('stopped after', n)")
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    # The grader's uid runs many threads (a busy machine; a normal user's own programs): the
    # cap must still hold. Threads of ours count as that uid's tasks on the host.
    stop = threading.Event()
    busy = [threading.Thread(target=stop.wait, daemon=True) for _ in range(150)]
    for thread in busy:
        thread.start()
    try:
        result = execute_notebook(notebook(count, bomb, "print('alive')"), sandbox=mode,
                                  limits=limits)
    finally:
        stop.set()
    out = texts(result)
    assert out[0].startswith("stopped after")
    assert int(out[0].split()[-1]) <= 40 + forkserver.RUNTIME_TASKS
    assert any(o.output_type == "error" for o in result.notebook.cells[1].outputs)
    assert result.seconds < 40
    after = execute_notebook(notebook("import os\nprint(len([p for p in os.listdir('/proc')"
                                      " if p.isdigit()]))"), sandbox=mode)
    assert int(texts(after)[0]) <= 3  # server, new kernel (+ at most one helper)


@pytest.mark.parametrize("mode", MODES)
def test_background_process_is_gone_before_next_notebook(mode):
    first = execute_notebook(notebook(
        "import subprocess, sys\n"
        "p = subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
        "q = subprocess.Popen([sys.executable, '-c', 'import os, time\\n"
        "if os.fork(): os._exit(0)\\nprint(os.getpid(), flush=True)\\ntime.sleep(1000)'],"
        " stdout=subprocess.PIPE, text=True)\n"
        "print(p.pid, q.stdout.readline().strip())"), sandbox=mode)
    pids = texts(first)[0].split()
    assert len(pids) == 2
    second = execute_notebook(notebook(
        f"import os\nprint([os.path.exists(f'/proc/{{p}}') for p in {pids}], os.listdir('.'))"),
        sandbox=mode)
    assert texts(second)[0] == "[False, False] []\n"


@pytest.mark.parametrize("mode", SANDBOXES)
def test_nothing_left_for_the_next_student(mode):
    leave = ("import ctypes, os\nopen('/dev/shm/answers', 'w').write('x')\n"
             "open(os.path.expanduser('~/answers'), 'w').write('x')\n"
             "print(ctypes.CDLL(None).shmget(1234, 4096, 0o1666) >= 0)")
    look = ("import os\nprint(os.listdir('/dev/shm'), os.listdir(os.path.expanduser('~')),"
            " len(open('/proc/sysvipc/shm').read().splitlines()))")
    assert texts(execute_notebook(notebook(leave), sandbox=mode))[0] == "True\n"
    assert texts(execute_notebook(notebook(look), sandbox=mode))[0] == "[] [] 1\n"


@pytest.mark.parametrize("mode", MODES)
def test_preload_completes_and_kernels_use_their_own_tmpdir(mode):
    # A failed pre-import (here once: no writable TMPDIR for the server in bwrap) left
    # torch._dynamo half-imported, and every torch.optim optimizer in a kernel then raised.
    server = servers.ForkServer(mode, ())
    try:
        assert server.preload_failed == []
    finally:
        server.close()
    result = execute_notebook(notebook(
        "import os, tempfile, torch\n"
        "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\n"
        "print(tempfile.gettempdir() == os.environ['TMPDIR'])"), sandbox=mode)
    assert texts(result) == ["True\n"], result.notebook.cells[0].outputs


@pytest.mark.parametrize("mode", MODES)
def test_modes_execute_and_limit_memory(mode):
    result = execute_notebook(notebook("import torch; print(torch.ones(2).sum().item())",
                                       "x = bytearray(50 * 2**30)", "print('ok')"),
                              sandbox=mode)
    assert result.sandbox == mode
    out = texts(result)
    assert out[0] == "2.0\n" and out[2] == "ok\n"
    assert [o.ename for o in result.notebook.cells[1].outputs] == ["MemoryError"]


def test_auto_takes_namespaces_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setattr(sandbox, "_mode_cache", {})
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install -y bubblewrap"):
        sandbox_mode("bwrap")
    if sandbox.sandbox_problem("namespaces"):
        pytest.skip(f"no namespaces here: {sandbox.sandbox_problem('namespaces')}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a real sandbox is no fallback: nothing to warn about
        assert sandbox_mode("auto") == "namespaces"


def test_without_any_sandbox_grading_stops_with_the_fix(monkeypatch):
    problems = {"bwrap": "bubblewrap is not installed (apt-get install -y bubblewrap)",
                "namespaces": "cannot set up Linux namespaces here (unshare: Operation not "
                "permitted)"}
    monkeypatch.setattr(sandbox, "_mode_cache", dict(problems))
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    monkeypatch.delenv("AUTOGRADING_SANDBOX_WARNED", raising=False)
    with pytest.raises(sandbox.SandboxUnavailable) as refused:
        sandbox_mode("auto")
    message = str(refused.value)
    assert "\n" not in message
    assert "apt-get install -y bubblewrap" in message and "--sandbox none" in message
    if os.geteuid() != 0:
        assert "kernel.unprivileged_userns_clone=1" in message
    with pytest.raises(sandbox.SandboxUnavailable, match="unshare: Operation not permitted"):
        sandbox_mode("namespaces")
    # Only when asked for: the notebooks then run with the grader's rights, and it says so.
    with pytest.warns(RuntimeWarning, match="your own rights"):
        assert sandbox_mode("none") == "none"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sandbox_mode("none") == "none"  # said once only
    with pytest.raises(ValueError):
        sandbox_mode("docker")


def _grade_in_worker(source):
    result = execute_notebook(notebook(source))
    return texts(result)[0], result.sandbox


def test_from_process_pool_workers_and_threads():
    execute_notebook(notebook("1"))  # the parent has a server the forked worker must not use
    with multiprocessing.get_context("fork").Pool(1) as pool:
        outs = pool.map(_grade_in_worker, ["print(6 * 7)", "print(2 ** 5)"])
    assert [o[0] for o in outs] == ["42\n", "32\n"]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as threads:
        results = list(threads.map(lambda s: execute_notebook(notebook(s)),
                                   ["import time; time.sleep(1); print(1)", "print(2)"]))
    assert [texts(r)[0] for r in results] == ["1\n", "2\n"]


def test_off_linux_the_message_says_where_to_grade(monkeypatch):
    monkeypatch.setattr(sandbox.sys, "platform", "darwin")
    monkeypatch.setattr(sandbox, "_mode_cache", {})
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable) as refused:
        sandbox_mode("auto")
    message = str(refused.value)
    assert "Linux namespaces exist only on Linux" in message
    assert "Linux machine" in message and "--scheduler" in message


@pytest.mark.parametrize("mode", MODES)
def test_a_strict_umask_does_not_lock_the_kernel_out(mode):
    """Under umask 077 the scratch folders the grader makes for the kernel's uid stay
    reachable (as root that uid is not ours: a 0700 folder made every notebook score 0)."""
    servers.shutdown()  # servers made under this umask
    old = os.umask(0o077)
    try:
        result = execute_notebook(notebook(
            "import tempfile, torch\nopen('mine.txt', 'w').write('x')\n"
            "print(torch.ones(2).sum().item(), tempfile.mkstemp()[1] != '')"), sandbox=mode)
    finally:
        os.umask(old)
        servers.shutdown()
    assert texts(result) == ["2.0 True\n"], result.notebook.cells[0].outputs


@pytest.mark.parametrize("mode", SANDBOXES)
def test_a_strict_umask_keeps_the_way_to_shown_folders_open(monkeypatch, mode):
    """A course inside a private folder (/tmp, /home): under umask 077 the folders the sandbox
    makes on the way to a shown folder stay reachable (as root, namespaces made them 0700 when
    a hidden folder beside it was covered first, and kernels could not import numpy)."""
    base = tempfile.mkdtemp(prefix="autograding-test-")
    shown, hidden = os.path.join(base, "shown", "pkg"), os.path.join(base, "hidden")
    os.makedirs(shown)
    os.mkdir(hidden)
    with open(os.path.join(shown, "f.txt"), "w") as f:
        f.write("reachable")
    for path in (os.path.dirname(shown), shown, os.path.join(shown, "f.txt")):
        os.chmod(path, 0o755)
    monkeypatch.setenv("AUTOGRADING_EXPOSE", shown)
    servers.shutdown()  # servers made under this umask and view
    old = os.umask(0o077)
    try:
        result = execute_notebook(notebook(READ.format(os.path.join(shown, "f.txt"))),
                                  sandbox=mode, hidden=[hidden])
    finally:
        os.umask(old)
        servers.shutdown()
        shutil.rmtree(base, ignore_errors=True)
    assert texts(result) == ["reachable\n"], result.notebook.cells[0].outputs


def test_a_grader_started_from_a_relative_path_finds_its_python_in_the_sandbox():
    """`PATH=.venv/bin:$PATH python ...` makes sys.executable relative; the sandbox starts
    elsewhere, so every command it runs names the interpreter by its absolute path."""
    import subprocess
    import sys

    try:
        sandbox.sandbox_mode("auto")
    except Exception as err:  # noqa: BLE001 (no sandbox on this machine at all)
        pytest.skip(f"no sandbox here: {err}")
    venv_bin = os.path.dirname(sys.executable)
    code = ("import os, sys; from autograding.engine import sandbox; "
            "assert not os.path.isabs(sys.executable), sys.executable; "
            "print(sandbox.sandbox_mode('auto'))")
    # From the venv's folder PATH=bin:... makes sys.executable "bin/python".
    env = {**os.environ, "PATH": os.path.basename(venv_bin) + os.pathsep + "/usr/bin"}
    done = subprocess.run(["python", "-c", code], cwd=os.path.dirname(venv_bin), env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() in sandbox.SANDBOXES
