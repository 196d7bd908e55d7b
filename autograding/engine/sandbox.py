"""Start and own this process's fork-servers, each in a sandbox.

The fork-server (forkserver.py) runs in its own PID, network, IPC, UTS and mount namespaces
as an unprivileged uid (a fresh one per server when we are root; otherwise our own uid in a
user namespace). It sees the host read-only, with private folders, the masters, the gradebook
and the course checkout hidden (autograding.engine.mount_plan), and can write only to its scratch
root. Two ways to build that sandbox, tried in this order by ``auto``:

  bwrap       bubblewrap, when installed and usable;
  namespaces  the same view set up by autograding.engine.namespaces with unshare(2) and mount(2),
              which every Linux has (as a normal user: if user namespaces are enabled).

When neither works, grading stops with the fix. ``none`` runs the notebooks with the grader's
own rights (resource limits only) and is never chosen without being asked for.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from autograding.engine.mount_plan import bwrap_args, default_hidden_paths, sandbox_plan

# Kernels run as UID_BASE + a per-server offset when the grader runs as root.
UID_BASE = 0x5A000000
# Run inside a candidate sandbox: the forkserver module must import and drop privileges.
PROBE_CODE = ("import sys, autograding.engine.forkserver as f; f.drop_privileges(); "
              "print(sys.version)")
SERVER_START_TIMEOUT = 180.0
MODES = ("auto", "bwrap", "namespaces", "none")
SANDBOXES = ("bwrap", "namespaces")  # what `auto` tries, in this order
BWRAP_FIX = "apt-get install -y bubblewrap"
USERNS_FIX = ("enable unprivileged user namespaces (Debian/Ubuntu: sysctl -w "
              "kernel.unprivileged_userns_clone=1 and, on Ubuntu 24.04+, "
              "kernel.apparmor_restrict_unprivileged_userns=0) or grade as root")
NONE_WARNING = ("autograding: --sandbox none: notebooks run with your own rights. They can "
                "read the masters, the gradebook and other submissions, change your files "
                "and use the network; the grader grades from copies it read first and "
                "reports changed submissions. Use it only for notebooks you trust.")

_lock = threading.Lock()
_mode_cache: dict[str, str] = {}  # sandbox -> "" when it works, else why not
_idle: dict[tuple, list[ForkServer]] = {}
_all: list[ForkServer] = []
_owner_pid = os.getpid()
_started = 0


class SandboxUnavailable(RuntimeError):
    """No sandbox that was asked for (or, with ``auto``, none at all) can be used here."""


def sandbox_uid(seq: int = 0) -> int | None:
    """The unprivileged uid a fork-server drops to when we are root, else None.

    Root ignores RLIMIT_NPROC, so the kernels must run as someone else; a uid of their own per
    server (not nobody) keeps concurrent sandboxes from sharing the process cap or each other's
    files.
    """
    if os.geteuid() != 0:
        return None
    return UID_BASE + (os.getpid() % (1 << 22)) * 8 + seq % 8


def _give_to(folder: str, uid: int | None) -> None:
    """Hand a folder to the sandbox uid; group root keeps it reachable for bwrap (no caps)."""
    if uid is not None:
        os.chown(folder, uid, 0)
        os.chmod(folder, 0o770)


def bwrap_command(scratch: str, hidden: list[str]) -> list[str]:
    """The bubblewrap command line around the fork-server."""
    args = [shutil.which("bwrap"), "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--as-pid-1"]
    if os.geteuid() == 0:
        # As root bwrap mounts without a user namespace (so it can read root-only paths such
        # as a pyenv Python under /root); the server then switches to its own uid at start.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user"]
    args += bwrap_args(sandbox_plan(scratch, hidden))
    return args + ["--", sys.executable, "-m", "autograding.engine.forkserver"]


def namespaces_command(root: str, scratch: str, hidden: list[str]) -> list[str]:
    """The autograding.engine.namespaces command line around the fork-server (`root`: an empty
    folder the sandbox's view is built in)."""
    spec = json.dumps({"root": root, "plan": sandbox_plan(scratch, hidden)})
    return [sys.executable, "-m", "autograding.engine.namespaces", spec, "--",
            sys.executable, "-m", "autograding.engine.forkserver"]


def _server_command(mode: str, base: str, hidden: list[str]) -> list[str]:
    """How a fork-server starts in this sandbox mode (`base`: its private folder)."""
    scratch = os.path.join(base, "s")
    if mode == "bwrap":
        return bwrap_command(scratch, hidden)
    if mode == "namespaces":
        root = os.path.join(base, "root")
        os.makedirs(root, exist_ok=True)
        return namespaces_command(root, scratch, hidden)
    return [sys.executable, "-m", "autograding.engine.forkserver"]


def _probe(mode: str) -> str:
    """Why this sandbox cannot start a fork-server here, or "" when it can."""
    if mode == "bwrap" and not shutil.which("bwrap"):
        return f"bubblewrap is not installed ({BWRAP_FIX})"
    if mode == "namespaces" and not sys.platform.startswith("linux"):
        return "Linux namespaces exist only on Linux"
    base = tempfile.mkdtemp(prefix="ag-probe-")
    os.chmod(base, 0o711)
    scratch = os.path.join(base, "s")
    os.makedirs(os.path.join(scratch, "shm"))
    os.chmod(scratch, 0o755)
    try:
        command = _server_command(mode, base, default_hidden_paths())
        command[-2:] = ["-c", PROBE_CODE]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                              env=_server_env(scratch, sandbox_uid(7)))
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{mode} failed to start: {exc}"
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if done.returncode == 0 and done.stdout.strip() == sys.version:
        return ""
    detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
    if mode == "bwrap":
        return f"bubblewrap cannot start a sandbox here ({detail})"
    return f"cannot set up Linux namespaces here ({detail})"


def _probe_user() -> bool:
    """Whether an unprivileged uid can run this interpreter with the course packages."""
    uid = sandbox_uid(7)
    if uid is None:
        return True
    if "user" not in _mode_cache:
        try:
            done = subprocess.run([sys.executable, "-c", PROBE_CODE], capture_output=True,
                                  text=True, timeout=60, cwd="/", env=_server_env("/", None),
                                  user=uid, group=uid, extra_groups=[])
            works = done.returncode == 0 and done.stdout.strip() == sys.version
        except (OSError, subprocess.SubprocessError):
            works = False
        _mode_cache["user"] = "" if works else "this Python is not readable by other users"
    return not _mode_cache["user"]


def sandbox_problem(mode: str) -> str:
    """Why sandbox `mode` ("bwrap" or "namespaces") is unusable here ("" when it works);
    probed once per process."""
    with _lock:
        if mode not in _mode_cache:
            _mode_cache[mode] = _probe(mode)
        return _mode_cache[mode]


def unavailable_message(problems: dict[str, str]) -> str:
    """One line: why no sandbox works, and the ways to get one."""
    why = "; ".join(f"{mode}: {problem}" for mode, problem in problems.items())
    if not sys.platform.startswith("linux"):
        return (f"grading runs student code in a Linux sandbox, and this is {sys.platform} "
                f"({why}); grade on a Linux machine, in a Linux container, or on a Dask "
                "cluster of Linux workers (--scheduler)")
    fixes = [] if shutil.which("bwrap") else [f"install bubblewrap ({BWRAP_FIX})"]
    if os.geteuid() != 0:
        fixes.append(USERNS_FIX)
    return (f"no sandbox can run here ({why}); " + ", or ".join(fixes or [USERNS_FIX])
            + "; --sandbox none runs notebooks with your own rights (trusted notebooks only)")


def sandbox_mode(preferred: str = "auto") -> str:
    """The sandbox to grade in: `preferred` if it works, or for "auto" the first of bwrap
    and namespaces that works. Raises SandboxUnavailable (with the fix) otherwise."""
    if preferred not in MODES:
        raise ValueError(f"sandbox must be one of {', '.join(MODES)}, not {preferred!r}")
    if preferred == "none":
        _warn_once(NONE_WARNING)
        return "none"
    problems = {}
    for mode in SANDBOXES if preferred == "auto" else (preferred,):
        problems[mode] = sandbox_problem(mode)
        if not problems[mode]:
            return mode
    raise SandboxUnavailable(unavailable_message(problems))


def _warn_once(message: str) -> None:
    """One warning per process tree (the flag is inherited by worker processes)."""
    flag = "AUTOGRADING_SANDBOX_WARNED"
    said = os.environ.get(flag, "").split("|")
    key = message.split(":")[1][:40]
    if key not in said:
        os.environ[flag] = "|".join([*filter(None, said), key])
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _server_env(scratch: str, uid: int | None) -> dict[str, str]:
    """Environment of the fork-server; kernels get their own per job."""
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin",
                                 "/bin"]),
        "LANG": "C.UTF-8",
        "HOME": os.path.join(scratch, "server"),
        # /tmp is read-only in the sandbox; without a TMPDIR, `import torch._dynamo` fails
        # half-way in the preload and every optimizer in a kernel then raises.
        "TMPDIR": os.path.join(scratch, "server"),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": os.path.join(scratch, "server", "mpl"),
        "IPYTHONDIR": os.path.join(scratch, "server", "ipython"),
        "AUTOGRADING_SCRATCH": scratch,
        "AUTOGRADING_CLIENT_PID": str(os.getpid()),
    }
    if uid is not None:
        env["AUTOGRADING_SANDBOX_UID"] = str(uid)
    if "AUTOGRADING_PRELOAD" in os.environ:
        env["AUTOGRADING_PRELOAD"] = os.environ["AUTOGRADING_PRELOAD"]
    return env


_launcher: list = []  # [queue] of the thread that starts servers


def _in_launcher_thread(start):
    """Run ``start()`` in one long-lived thread and return its result.

    bwrap --die-with-parent and PR_SET_PDEATHSIG fire when the *thread* that forked the
    server ends; Dask and thread pools run tasks in threads that may end, so servers are
    always started from a thread that lives as long as the process.
    """
    with _lock:
        if not _launcher or _launcher[1] != os.getpid():
            requests: queue.Queue = queue.Queue()

            def serve():
                while True:
                    job, reply = requests.get()
                    try:
                        reply.put((True, job()))
                    except BaseException as exc:
                        reply.put((False, exc))

            threading.Thread(target=serve, name="autograding-launcher", daemon=True).start()
            _launcher[:] = [requests, os.getpid()]
        requests = _launcher[0]
    reply: queue.Queue = queue.Queue()
    requests.put((start, reply))
    ok, value = reply.get()
    if not ok:
        raise value
    return value


class ServerDied(RuntimeError):
    """The fork-server process ended or stopped answering."""


class ForkServer:
    """A running fork-server and the pipe protocol to it. Used by one job at a time."""

    def __init__(self, mode: str, hidden: tuple[str, ...], seq: int = 0):
        self.mode = mode
        self.hidden = hidden
        self.key = (mode, hidden)
        _remove_stale_scratch()
        base = tempfile.mkdtemp(prefix=f"autograding-{os.getpid()}-")
        self.base = base
        os.chmod(base, 0o711)  # the sandbox uid may pass through, not list
        self.scratch = os.path.join(base, "s")
        # The scratch root stays ours: the sandbox writes only in folders wiped after each job
        # (its job folder, shm, the server's own home), so nothing passes between students.
        for name in ("shm", "server"):
            os.makedirs(os.path.join(self.scratch, name))
        # Whatever the umask, the sandbox uid may list it: the fork-server measures the disk
        # use under it (unlistable, it counted 0 bytes and --disk never stopped a notebook).
        os.chmod(self.scratch, 0o755)
        self.uid = sandbox_uid(seq)
        if mode == "none" and self.uid is not None and not _probe_user():
            self.uid = None  # the interpreter is private to root: stay root, rlimits only
            _warn_once("autograding: kernels run as root (this Python is not readable by other "
                       "users), so the process cap is not enforced")
        for name in ("shm", "server"):
            _give_to(os.path.join(self.scratch, name), self.uid)
        env = _server_env(self.scratch, self.uid)
        command = _server_command(mode, base, list(hidden))
        self.log_path = os.path.join(base, "server.log")
        with open(self.log_path, "wb") as log:
            self.proc = _in_launcher_thread(lambda: subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                cwd=self.scratch, env=env, close_fds=True))
        self.fd = self.proc.stdout.fileno()
        self.buffer = b""
        self.pending: list[dict] = []
        self.jobs = 0
        ready = self.wait_for(lambda e: e["event"] == "ready", SERVER_START_TIMEOUT)
        self.pid_in_sandbox = ready["pid"]
        self.preload_failed = ready.get("failed", [])
        if self.preload_failed:
            # A half-imported module breaks kernels in odd ways; say so instead of hiding it.
            _warn_once("autograding: the fork-server could not pre-import "
                       + "; ".join(self.preload_failed))
        self.preload_seconds = ready.get("preload_seconds")

    def log_tail(self, lines: int = 5) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "\n".join(f.read()[-4000:].splitlines()[-lines:])
        except OSError:
            return ""

    def send(self, **request) -> None:
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise ServerDied(f"fork-server is gone: {self.log_tail()}") from exc

    def read_events(self, timeout: float) -> list[dict]:
        """Events available within ``timeout`` seconds (plus any already buffered)."""
        if not self.pending:
            readable, _, _ = select.select([self.fd], [], [], max(timeout, 0))
            if readable:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise ServerDied(f"fork-server exited: {self.log_tail()}")
                self.buffer += chunk
                while b"\n" in self.buffer:
                    line, self.buffer = self.buffer.split(b"\n", 1)
                    self.pending.append(json.loads(line))
        events, self.pending = self.pending, []
        return events

    def wait_for(self, predicate, timeout: float) -> dict:
        """Wait for an event matching ``predicate``; others stay queued."""
        deadline = time.monotonic() + timeout
        kept: list[dict] = []
        try:
            while True:
                for event in self.read_events(deadline - time.monotonic()):
                    if predicate(event):
                        self.pending = kept + self.pending
                        return event
                    kept.append(event)
                if time.monotonic() >= deadline:
                    raise ServerDied(f"fork-server did not answer in {timeout:.0f} s: "
                                     f"{self.log_tail()}")
        except BaseException:
            self.pending = kept + self.pending
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Stop the server (and with it every process it started) and delete its scratch."""
        if self.proc.poll() is None:
            try:
                self.send(op="exit")
                self.proc.wait(timeout=5)
            except (ServerDied, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


def _remove_stale_scratch() -> None:
    """Delete scratch roots left by grader processes that were killed (SIGKILL skips atexit)."""
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "autograding" and parts[1].isdigit():
            if not os.path.exists(f"/proc/{parts[1]}"):
                shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)


def _forget_inherited() -> None:
    """After a fork, the servers belong to the parent: drop them without stopping them."""
    global _owner_pid
    if os.getpid() != _owner_pid:
        for server in _all:
            # Our copies of the pipe ends would keep the parent's server from seeing EOF.
            for stream in (server.proc.stdin, server.proc.stdout):
                try:
                    os.close(stream.fileno())
                except (OSError, ValueError):
                    pass
        _idle.clear()
        _all.clear()
        _mode_cache.clear()
        _owner_pid = os.getpid()


def acquire(mode: str, hidden: tuple[str, ...]) -> ForkServer:
    """An idle fork-server for this mode and hidden set, started if needed."""
    with _lock:
        _forget_inherited()
        idle = _idle.setdefault((mode, hidden), [])
        while idle:
            server = idle.pop()
            if server.alive():
                return server
            server.close()
            _all.remove(server)
    global _started
    with _lock:
        _started += 1
        seq = _started
    server = ForkServer(mode, hidden, seq)
    with _lock:
        _all.append(server)
    return server


def release(server: ForkServer, healthy: bool = True) -> None:
    """Give a server back after a job; a broken one is stopped instead."""
    with _lock:
        if healthy and server.alive() and server in _all:
            _idle.setdefault(server.key, []).append(server)
            return
        if server in _all:
            _all.remove(server)
    server.close()


def shutdown() -> None:
    """Stop this process's fork-servers."""
    with _lock:
        _forget_inherited()
        servers = list(_all)
        _all.clear()
        _idle.clear()
    for server in servers:
        server.close()


atexit.register(shutdown)
