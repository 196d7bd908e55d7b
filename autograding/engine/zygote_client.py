"""The zygote from outside: a local pool starts one (parent), its workers ask it for servers.

One warm import for the whole pool instead of one per worker: each fork-server a worker asks for
is forked from the zygote (zygote.py) into a sandbox of its own, which the worker then owns
like a fork-server it started itself (ForkServer in servers.py).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import time

from autograding.engine.forkserver import EXTRA_PRELOAD_ENV
from autograding.engine.mount_plan import sandbox_plan
from autograding.engine.processes import in_launcher_thread, new_scratch_root
from autograding.engine.sandbox import Program, server_command, server_env
from autograding.engine.zygote import FD_ENV

# As root: what building a fork-server's namespaces and view takes (a normal user's zygote
# makes a user namespace per server for that instead).
ZYGOTE = Program("autograding.engine.zygote", ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP",
                                               "CAP_NET_ADMIN", "CAP_SYS_ADMIN"))
SOCKET_NAME = "zygote.sock"
ANSWER_TIMEOUT = 180.0  # s: the zygote answers once its own imports are done
STOP_TIMEOUT = 5.0  # s the zygote has to stop before it is killed


class Zygote:
    """A running zygote for one sandbox mode and hidden set, owned by the pool's process."""

    def __init__(self, mode: str, hidden: tuple[str, ...], preload: tuple[str, ...] = ()):
        self.root = new_scratch_root()  # its folder: ROOT/s is the scratch the zygote sees
        scratch = scratch_of(self.root)
        for name in ("shm", "server"):
            os.makedirs(os.path.join(scratch, name))
        os.chmod(scratch, 0o755)
        # Workers may connect before the zygote runs: they wait in the listen queue.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        address = os.path.join(self.root, SOCKET_NAME)
        listener.bind(address)
        os.chmod(address, 0o600)
        listener.listen(64)
        env = {**server_env(scratch, None), FD_ENV: str(listener.fileno())}
        if preload:  # modules the batch's notebooks import (forkserver.PRELOAD_IF_IMPORTED)
            env[EXTRA_PRELOAD_ENV] = ",".join(preload)
        command = server_command(mode, self.root, list(hidden), ZYGOTE)
        try:
            with open(os.path.join(self.root, "zygote.log"), "wb") as log:
                self.proc = in_launcher_thread(lambda: subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                    cwd=scratch, env=env, pass_fds=(listener.fileno(),)))
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        finally:
            # Only the zygote holds it now: once it is gone, workers are refused at once.
            listener.close()

    def close(self) -> None:
        """Stop the zygote (as PID 1 of its namespace, every server it made goes with it)."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def scratch_of(root: str) -> str:
    """The folder of a zygote's ROOT that its sandbox shows (the servers' folders are in it)."""
    return os.path.join(root, "s")


def server_plan(root: str, scratch: str, hidden: list[str]) -> list[list[str]]:
    """The mount plan of a fork-server forked from the zygote of ROOT: the one a fork-server
    started afresh gets, the zygote's folder (every other server's scratch) hidden too, and
    the server's own home shown where the zygote's was (paths its imports may have kept)."""
    root = os.path.realpath(root)
    home = os.path.join(scratch, "server")
    return sandbox_plan(scratch, [*hidden, root],
                        [(home, os.path.join(scratch_of(root), "server"))])


class SpawnedServer:
    """A fork-server the zygote forked, to the worker like the subprocess.Popen of one."""

    def __init__(self, root: str, pid: int, stdin_fd: int, stdout_fd: int):
        self.root = root
        self.pid = pid  # in the zygote's PID namespace: only the zygote can signal it
        self.stdin = os.fdopen(stdin_fd, "wb")
        self.stdout = os.fdopen(stdout_fd, "rb", buffering=0)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """None while the server runs: its end of our pipe is open (no hang-up)."""
        if self.returncode is None:
            watch = select.poll()
            watch.register(self.stdout.fileno(), select.POLLIN)
            for _, events in watch.poll(0):
                if events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                    self.returncode = -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the server is gone."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = 0.1 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired("fork-server", timeout)
            time.sleep(min(left, 0.05))
        return self.returncode

    def kill(self) -> None:
        """Ask the zygote to stop the server (best effort: without the zygote it is gone)."""
        try:
            _ask(self.root, {"op": "kill", "pid": self.pid}, [])
        except (OSError, ValueError):
            pass


def spawn(root: str, request: dict, log_path: str) -> SpawnedServer:
    """A new fork-server from the zygote of ROOT (`request`: plan, root, scratch, uid, env)."""
    to_server_r, to_server_w = os.pipe()
    from_server_r, from_server_w = os.pipe()
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        answer = _ask(root, {"op": "spawn", **request}, [to_server_r, from_server_w, log])
    except BaseException:
        os.close(to_server_w)
        os.close(from_server_r)
        raise
    finally:
        for fd in (to_server_r, from_server_w, log):  # the server has them now
            os.close(fd)
    if "pid" not in answer:
        os.close(to_server_w)
        os.close(from_server_r)
        raise OSError(f"the zygote could not fork a server: {answer.get('error')}")
    return SpawnedServer(root, int(answer["pid"]), to_server_w, from_server_r)


def _ask(root: str, request: dict, fds: list[int]) -> dict:
    """One request to the zygote of ROOT and its answer ({} when it hung up)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
        conn.settimeout(ANSWER_TIMEOUT)
        conn.connect(os.path.join(root, SOCKET_NAME))
        socket.send_fds(conn, [json.dumps(request).encode()], fds)
        return json.loads(conn.recv(65536) or b"{}")
