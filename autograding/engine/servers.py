"""Start and own this process's fork-servers (each in its sandbox), one job at a time each."""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import subprocess
import tempfile
import threading
import time

from autograding.engine.sandbox import (
    forget_probes,
    give_to,
    probe_user,
    sandbox_uid,
    server_command,
    server_env,
    warn_once,
)

SERVER_START_TIMEOUT = 180.0

_lock = threading.Lock()
_idle: dict[tuple, list[ForkServer]] = {}
_all: list[ForkServer] = []
_owner_pid = os.getpid()
_started = 0


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
        if mode == "none" and self.uid is not None and not probe_user():
            self.uid = None  # the interpreter is private to root: stay root, rlimits only
            warn_once("autograding: kernels run as root (this Python is not readable by other "
                       "users), so the process cap is not enforced")
        for name in ("shm", "server"):
            give_to(os.path.join(self.scratch, name), self.uid)
        env = server_env(self.scratch, self.uid)
        command = server_command(mode, base, list(hidden))
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
            warn_once("autograding: the fork-server could not pre-import "
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
        forget_probes()
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
