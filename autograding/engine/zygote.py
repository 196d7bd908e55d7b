"""The zygote: imports torch and the IPython kernel once, then forks every worker's fork-server.

A local worker pool starts it (zygote_client.py) in the batch's sandbox mode, as it would start
a fork-server, and then each of its workers asks it for a fork-server instead of importing
everything again. It listens on a Unix socket it inherits (fd $AUTOGRADING_ZYGOTE_FD); one
request per connection, JSON with file descriptors attached:

  {"op": "spawn", "plan", "root", "scratch", "uid", "env"} + [server's stdin, its stdout, log]
      fork a fork-server: the child enters new PID, mount, network, IPC and UTS namespaces and
      the view of "plan" (namespaces.enter: the sandbox a fork-server started afresh gets, so
      it sees only its own scratch folder), keeps no capability (as root it becomes "uid"),
      takes "env" and serves the worker over the two pipes. Answer: {"pid": the child}.
  {"op": "kill", "pid"}   stop a fork-server that did not end when asked.

As root the zygote keeps what building those namespaces takes (Program ZYGOTE in
zygote_client.py); as a normal user its children make a user namespace of their own. It never
runs a notebook: only the kernels its children fork do, each in a sandbox the zygote is not in.
It exits when its stdin closes (the pool is done); as PID 1 of its own namespace that ends every
server it made. Only stdlib imports at module level, as in forkserver.py.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import tempfile
import traceback

from autograding.engine import forkserver, namespaces

FD_ENV = "AUTOGRADING_ZYGOTE_FD"
MAX_REQUEST = 1 << 20  # bytes of one request (a mount plan is a few kB)
REQUEST_TIMEOUT = 10.0  # s to read a request once its connection is accepted


class Zygote:
    """The request loop; fork-servers are its children."""

    def __init__(self, control: int, listener: socket.socket, preloaded: dict):
        self.control = control  # the pool's pipe: its end is the zygote's
        self.listener = listener
        self.preloaded = preloaded
        self.sandboxed = os.getpid() == 1  # in bwrap or namespaces (not --sandbox none)
        self.children: set[int] = set()

    def serve(self) -> None:
        """Answer requests until the pool closes our stdin."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)  # SIGCHLD ends the select below at once
        signal.signal(signal.SIGCHLD, lambda *_: None)
        while True:
            readable, _, _ = select.select([self.control, self.listener, wake_r], [], [], 1.0)
            if wake_r in readable:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
            self.reap()
            if self.control in readable and not os.read(self.control, 4096):
                return
            if self.listener in readable:
                self.answer()

    def reap(self) -> None:
        """Collect ended children (a fork-server's launcher, or in none mode the server)."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)

    def answer(self) -> None:
        """Read one request from a new connection, carry it out, answer."""
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        fds: list[int] = []
        with conn:
            try:
                conn.settimeout(REQUEST_TIMEOUT)
                data, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 3)
                request = json.loads(data)
                if request.get("op") == "spawn" and len(fds) == 3:
                    reply = {"pid": self.spawn(request, fds)}
                elif request.get("op") == "kill" and int(request["pid"]) in self.children:
                    os.kill(int(request["pid"]), signal.SIGKILL if self.sandboxed
                            else signal.SIGTERM)
                    reply = {"killed": True}
                else:
                    reply = {"error": f"cannot do {request.get('op')!r}"}
            except Exception as exc:  # answered; the worker starts a server of its own
                reply = {"error": repr(exc)}
            finally:
                for fd in fds:
                    os.close(fd)  # the child has its own copies
            try:
                conn.sendall(json.dumps(reply).encode())
            except OSError:
                pass

    def spawn(self, request: dict, fds: list[int]) -> int:
        """Fork the child that becomes the fork-server; its pid."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                self.become_server(request, *fds)
                code = 0
            except BaseException:
                traceback.print_exc()  # into the server's log (fd 2 by then)
            finally:
                os._exit(code)
        self.children.add(pid)
        return pid

    def become_server(self, request: dict, proto_in: int, proto_out: int, log: int) -> None:
        """In the child: the fork-server's sandbox and stdio, then serve the worker."""
        forkserver.prctl(forkserver.PR_SET_PDEATHSIG, signal.SIGKILL)  # not without us
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(log, 2)
        os.dup2(log, 1)
        # Nothing of the zygote's (its socket, its pipe to the pool) may reach a sandbox.
        _close_all_but({0, 1, 2, proto_in, proto_out})
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # the zygote's TMPDIR is not the server's
        if self.sandboxed:
            spec = {"root": request["root"], "plan": request["plan"]}
            namespaces.enter(spec, request.get("uid"), [proto_in, proto_out])
        else:
            forkserver.drop_privileges()
            if not forkserver.watch_grader(0):
                return
        os.chdir(request["scratch"])
        # Not dumpable: a kernel running as the same user cannot ptrace us or read our memory.
        forkserver.prctl(forkserver.PR_SET_DUMPABLE, 0)
        forkserver.serve(proto_in, proto_out, self.preloaded)


def _close_all_but(keep: set[int]) -> None:
    """Close every open file descriptor not in `keep`."""
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in keep:
            try:
                os.close(int(name))
            except OSError:  # the listing's own descriptor, closed already
                pass


def main() -> None:
    """Entry point: ``python -m autograding.engine.zygote`` (inside the batch's sandbox)."""
    listener = socket.socket(fileno=int(os.environ.pop(FD_ENV)))
    control, unused = forkserver.take_protocol_fds()  # stdout: nothing to say on it
    os.close(unused)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    forkserver.prctl(forkserver.PR_SET_DUMPABLE, 0)
    if os.getpid() != 1:
        # --sandbox none: go with the pool's process; each server then cleans up on its own
        # parent-death signal (forkserver.watch_grader).
        forkserver.prctl(forkserver.PR_SET_PDEATHSIG, signal.SIGKILL)
        parent = int(os.environ.get("AUTOGRADING_CLIENT_PID", "0"))
        if parent and os.getppid() != parent:
            return
    Zygote(control, listener, forkserver.preload_all()).serve()


if __name__ == "__main__":
    main()
