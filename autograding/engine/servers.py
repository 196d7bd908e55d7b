"""Start and own this process's fork-servers (each in its sandbox), one job at a time each."""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time

from autograding.engine.processes import in_launcher_thread, new_scratch_root
from autograding.engine.sandbox import (
    forget_probes,
    give_to,
    probe_user,
    sandbox_uid,
    server_command,
    server_env,
    warn_once,
)
from autograding.engine.zygote_client import scratch_of, server_plan, spawn

SERVER_START_TIMEOUT = 180.0

_lock = threading.Lock()
_idle: dict[tuple, list[ForkServer]] = {}
_all: list[ForkServer] = []
_owner_pid = os.getpid()
_started = 0
_zygotes: dict[tuple, str] = {}  # (mode, hidden) -> root of the pool's zygote to ask


class ServerDied(RuntimeError):
    """The fork-server process ended or stopped answering."""


class ForkServer:
    """A running fork-server and the pipe protocol to it. Used by one job at a time."""

    def __init__(self, mode: str, hidden: tuple[str, ...], seq: int = 0,
                 zygote: str | None = None):
        """Start one (forked from `zygote`, the root of a pool's zygote, when given) and wait
        until it is ready."""
        self.mode = mode
        self.hidden = hidden
        self.key = (mode, hidden)
        # The zygote's sandbox shows its own folder only: the server's must be inside it.
        base = (tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=scratch_of(zygote)) if zygote
                else new_scratch_root())
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
        self.log_path = os.path.join(base, "server.log")
        self.buffer = b""
        self.pending: list[dict] = []
        self.jobs = 0
        self.proc = None
        try:
            self.proc = self._start(zygote)
            self.fd = self.proc.stdout.fileno()
            ready = self.wait_for(lambda e: e["event"] == "ready", SERVER_START_TIMEOUT)
        except BaseException:
            self.close()
            raise
        self.pid_in_sandbox = ready["pid"]
        self.preload_failed = ready.get("failed", [])
        if self.preload_failed:
            # A half-imported module breaks kernels in odd ways; say so instead of hiding it.
            warn_once("autograding: the fork-server could not pre-import "
                       + "; ".join(self.preload_failed))
        self.preload_seconds = ready.get("preload_seconds")

    def _start(self, zygote: str | None):
        """The server's process (or the zygote's child standing for it)."""
        env = server_env(self.scratch, self.uid)
        if zygote:
            request = {"plan": server_plan(zygote, self.scratch, list(self.hidden)),
                       "root": os.path.join(self.base, "root"), "scratch": self.scratch,
                       "uid": self.uid, "env": env}
            os.makedirs(request["root"])
            return spawn(zygote, request, self.log_path)
        command = server_command(self.mode, self.base, list(self.hidden))
        with open(self.log_path, "wb") as log:
            return in_launcher_thread(lambda: subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                cwd=self.scratch, env=env, close_fds=True))

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
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.send(op="exit")
                self.proc.wait(timeout=5)
            except (ServerDied, subprocess.TimeoutExpired):
                self.proc.kill()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass  # left to its sandbox's end
        for stream in (self.proc.stdin, self.proc.stdout) if self.proc is not None else ():
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


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
        zygote = _zygotes.get((mode, hidden))
    server = None
    if zygote:
        try:
            server = ForkServer(mode, hidden, seq, zygote)
        except (OSError, ServerDied) as exc:
            with _lock:
                _zygotes.pop((mode, hidden), None)  # from now on: servers of our own
            warn_once(f"autograding: the pool's shared fork-server failed ({exc}); each worker "
                      "imports torch itself")
    if server is None:
        server = ForkServer(mode, hidden, seq)
    with _lock:
        _all.append(server)
    return server


def use_zygote(mode: str, hidden: tuple[str, ...], root: str) -> None:
    """Fork this process's servers for (mode, hidden) from the zygote of ROOT (a pool's)."""
    with _lock:
        _zygotes[(mode, hidden)] = root


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
