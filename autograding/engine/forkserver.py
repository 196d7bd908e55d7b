"""Fork-server: imports torch and the IPython kernel once, then forks one fresh kernel per job.

Runs inside the sandbox (see sandbox.py) and talks to its client over stdin/stdout, one JSON
object per line. Requests: ``run`` (fork a kernel for a job), ``signal`` (to the job's kernel),
``end`` (kill every process of the job and wipe its folder), ``exit``. Events: ``ready``,
``started``, ``exited`` (the kernel process ended), ``ended``, ``error``.
Only stdlib imports at module level (its helper modules too): the heavy imports happen once
in ``main``.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import tempfile
import time
import traceback

from autograding.engine.job_cleanup import descendants, disk_usage, remove_sysv_ipc, wipe
from autograding.engine.process_limits import RUNTIME_TASKS, all_pids, set_limits

__all__ = ["RUNTIME_TASKS", "Server", "main"]

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

# Imported before forking so that each kernel starts in ~0.4 s instead of ~3 s. No torch
# compute happens here: thread pools do not survive a fork.
DEFAULT_PRELOAD = (
    "numpy",
    "torch",
    # The first torch.optim optimizer imports dynamo and sympy: 1-3 s per notebook otherwise.
    "torch._dynamo",
    "matplotlib",
    "matplotlib.pyplot",
    "IPython",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "autograding.engine.kernel_output",  # the grading kernel's stream and shell classes
    "jupyter_client.session",
    # What IPKernelApp.initialize imports (0.4 s of a kernel's 0.7 s start otherwise).
    "ipykernel.debugger",
    "IPython.core.debugger",
    "IPython.core.completerlib",
    "IPython.extensions.storemagic",
    "IPython.core.oinspect",
    "IPython.utils.wildcard",
    "faulthandler",
    "sqlite3",
    "tornado.platform.asyncio",
    "tornado.queues",
    "pdb",
    "pydoc",
    "http.server",
    "xmlrpc.server",
    "mimetypes",
    # Not ipywidgets (nor tqdm.auto, course_utils, which import it): it hooks into the
    # running IPython at import, so it must be imported by the kernel itself.
    "tqdm.std",
)
# Libraries imported before forking only when a notebook of the batch will use them: the
# grader lists the modules its masters import in $AUTOGRADING_PRELOAD_EXTRA (e.g. seaborn and
# pandas, 1-2 s: paid once instead of per notebook, and not at all by a batch without them).
# Only these packages' modules are taken from that list: known to start no thread and to hook
# into nothing when imported.
PRELOAD_IF_IMPORTED = ("pandas", "scipy", "seaborn", "sklearn")
EXTRA_PRELOAD_ENV = "AUTOGRADING_PRELOAD_EXTRA"
# How often a running job's disk use is measured, the default cap, and how many files are
# counted at most (a notebook making millions of empty files is stopped as well).
DISK_CHECK_SECONDS = 0.5
DEFAULT_MAX_DISK = 1 << 30
MAX_COUNTED_FILES = 100_000


def prctl(option: int, value: int) -> None:
    """Call prctl(2); best effort (only Linux has it)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Server:
    """The fork-server loop: one job (one kernel) at a time."""

    def __init__(self, proto_in: int, proto_out: int, pid_namespace: bool):
        self.proto_in = proto_in
        self.proto_out = proto_out
        self.pid_namespace = pid_namespace
        self.buffer = b""
        self.jobs: dict[int, dict] = {}  # kernel pid -> job request
        self.next_disk_check = 0.0
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)

    def send(self, **event) -> None:
        """Write one event line to the client."""
        data = (json.dumps(event) + "\n").encode()
        while data:
            data = data[os.write(self.proto_out, data):]

    def serve(self) -> None:
        """Main loop: read requests, report kernel exits, until EOF or ``exit``."""
        signal.set_wakeup_fd(self.wake_w)  # a signal ends the select below at once
        signal.signal(signal.SIGCHLD, lambda *_: None)
        while not _stopping:
            timeout = DISK_CHECK_SECONDS if self.jobs else 1.0
            readable, _, _ = select.select([self.proto_in, self.wake_r], [], [], timeout)
            if _stopping:
                return
            if self.wake_r in readable:
                try:
                    os.read(self.wake_r, 4096)
                except BlockingIOError:
                    pass
            self.reap()
            self.check_disk()
            if self.proto_in in readable:
                chunk = os.read(self.proto_in, 65536)
                if not chunk:
                    return
                self.buffer += chunk
                while b"\n" in self.buffer:
                    line, self.buffer = self.buffer.split(b"\n", 1)
                    request = json.loads(line)
                    if request.get("op") == "exit":
                        return
                    try:
                        self.handle(request)
                    except Exception as exc:  # report, keep serving the next job
                        self.send(event="error", id=request.get("id"), message=repr(exc))

    def reap(self) -> None:
        """Collect exited children; report the exit of a job's kernel."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.jobs.pop(pid, None)
            if job is not None:
                self.send(event="exited", id=job["id"], pid=pid,
                          code=os.waitstatus_to_exitcode(status))

    def check_disk(self) -> None:
        """Stop the running job when it keeps more on disk than its limit allows.

        RLIMIT_FSIZE caps each file; this caps their sum (the scratch folder, /dev/shm and the
        server's TMPDIR, all under AUTOGRADING_SCRATCH), checked every DISK_CHECK_SECONDS."""
        scratch = os.environ.get("AUTOGRADING_SCRATCH")
        if not self.jobs or not scratch or time.monotonic() < self.next_disk_check:
            return
        self.next_disk_check = time.monotonic() + DISK_CHECK_SECONDS
        limit = min(int(job["limits"].get("max_disk_bytes") or 0) or DEFAULT_MAX_DISK
                    for job in self.jobs.values())
        used = disk_usage(scratch, MAX_COUNTED_FILES)
        if used is not None and used <= limit:
            return
        what = (f"more than {MAX_COUNTED_FILES} files, or files it hid from the count,"
                if used is None else f"{used / 2**20:.0f} MiB")
        reason = (f"the notebook wrote {what} to disk, over the limit of "
                  f"{limit / 2**20:.0f} MiB (scratch files, /tmp and /dev/shm together)")
        jobs = dict(self.jobs)
        self.jobs.clear()  # their exits are reported below, with the reason
        self.kill_all()
        for pid, job in jobs.items():
            self.send(event="exited", id=job["id"], pid=pid, code=-signal.SIGKILL, reason=reason)

    def handle(self, request: dict) -> None:
        """Dispatch one request."""
        op = request["op"]
        if op == "run":
            pid = os.fork()
            if pid == 0:
                self.child(request)  # never returns
            self.jobs[pid] = request
            self.send(event="started", id=request["id"], pid=pid)
        elif op == "signal":
            for pid, job in self.jobs.items():
                if job["id"] == request["id"]:
                    try:
                        os.kill(pid, request["signal"])
                    except ProcessLookupError:
                        pass
        elif op == "end":
            left = self.kill_all()
            wipe(request["dir"])
            # Other places the job could write to (/dev/shm is scratch/shm in the sandbox).
            scratch = os.environ.get("AUTOGRADING_SCRATCH")
            for folder in ([os.path.join(scratch, "shm"), os.path.join(scratch, "server")]
                           if scratch else []):
                for name in os.listdir(folder):
                    wipe(os.path.join(folder, name))
            if self.pid_namespace:
                remove_sysv_ipc()  # the IPC namespace is the sandbox's: all of it is the job's
            self.send(event="ended", id=request["id"], leftover=left)
        else:
            raise ValueError(f"unknown request {op!r}")

    def kill_all(self) -> int:
        """Kill every process started by jobs; return how many were still running."""
        killed = set()
        for _ in range(1000):
            if self.pid_namespace:
                # PID 1 of its own namespace: kill(-1) reaches every other process in it,
                # atomically with respect to fork, and nothing outside it.
                victims = [p for p in all_pids() if p != os.getpid()]
                if victims:
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            else:
                # Child subreaper: orphans of the job are re-parented to us, so the whole
                # job is always among our descendants.
                victims = descendants(os.getpid())
                for pid in victims:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            killed.update(victims)
            self.reap_all()
            if not victims:
                break
            time.sleep(0.002)
        return len(killed)

    def reap_all(self) -> None:
        """Reap zombies without reporting (the job is over, and the grader may be gone: a
        report to a closed pipe would stop the cleanup half-way)."""
        self.jobs.clear()
        self.reap()

    def child(self, job: dict) -> None:
        """In the forked child: confine the process, then become an IPython kernel."""
        code = 1
        try:
            os.setsid()
            # Without a PID namespace (--sandbox none) nothing else ends the kernel with us.
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server's cleanup is not ours
            signal.signal(signal.SIGINT, signal.default_int_handler)
            prctl(PR_SET_DUMPABLE, 1)
            devnull = os.open(os.devnull, os.O_RDWR)
            log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(devnull, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            for fd in (devnull, log, self.proto_in, self.proto_out, self.wake_r, self.wake_w):
                os.close(fd)
            os.umask(0o022)
            os.chdir(job["cwd"])
            os.environ.clear()
            os.environ.update(job["env"])
            tempfile.tempdir = None  # forget the server's cached TMPDIR: use this job's
            set_limits(job["limits"])
            # Output past the grader's budget is dropped in the kernel (kernel_output.py).
            from autograding.engine.kernel_output import BudgetedDisplayPublisher, BudgetedOutStream

            BudgetedOutStream.budget = int(job["limits"]["max_output_bytes"])
            BudgetedDisplayPublisher.budget = int(job["limits"]["max_output_bytes"])
            BudgetedDisplayPublisher.max_outputs = int(job["limits"]["max_outputs"])
            # As nbclient starts kernels: history in memory (no sqlite file, no saving thread).
            sys.argv = ["ipykernel_launcher", "-f", job["conn"],
                        "--HistoryManager.hist_file=:memory:",
                        "--IPKernelApp.outstream_class="
                        "autograding.engine.kernel_output.BudgetedOutStream",
                        "--IPKernelApp.kernel_class=autograding.engine.kernel_output.GradingKernel"]
            sys.path[0] = job["cwd"]
            reseed()
            from ipykernel.kernelapp import IPKernelApp

            app = IPKernelApp.instance()
            app.initialize(sys.argv[1:])
            app.start()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)


def reseed() -> None:
    """Give every kernel the same random state, so grading is reproducible."""
    import random

    random.seed(0)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(0)


def drop_privileges() -> None:
    """Become $AUTOGRADING_SANDBOX_UID (set when the grader runs as root); no way back."""
    uid = os.environ.get("AUTOGRADING_SANDBOX_UID")
    if uid and os.getuid() == 0:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))  # from root to non-root: clears permitted and effective caps
        if os.getuid() == 0 or os.geteuid() == 0:
            raise RuntimeError("could not drop root privileges")


def preload(modules: list[str]) -> list[str]:
    """Import the given modules; return the ones that failed (they load per kernel then)."""
    import importlib

    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(f"{name}: {exc!r}")
    return failed


def extra_preload(names) -> list[str]:
    """The module names of `names` that belong to a PRELOAD_IF_IMPORTED package."""
    return [name for name in names
            if name.split(".")[0] in PRELOAD_IF_IMPORTED and all(
                part.isidentifier() for part in name.split("."))]


def _request_stop(*_) -> None:
    """SIGTERM handler: the serve loop ends at its next turn. No exception: the signal comes
    again for each thread of the dying grader, and one raised during the cleanup would cut
    it short."""
    _stopping.append(True)


_stopping: list[bool] = []


def take_protocol_fds() -> tuple[int, int]:
    """The protocol owns the original stdin/stdout; stray prints from imports go to stderr."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return proto_in, proto_out


def watch_grader(parent: int) -> bool:
    """Without a PID namespace (--sandbox none): take in the job's orphans and clean up when
    `parent` (the process that started us) dies; False if it is gone already."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    # SIGTERM, not SIGKILL, when the grader dies (even by kill -9): the server then kills
    # what its jobs started (the `finally` of serve), which no PID namespace does for it.
    signal.signal(signal.SIGTERM, _request_stop)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    return not (parent and os.getppid() != parent)


def preload_all() -> dict:
    """Import $AUTOGRADING_PRELOAD (comma-separated) or DEFAULT_PRELOAD, then the modules of
    $AUTOGRADING_PRELOAD_EXTRA that PRELOAD_IF_IMPORTED allows; what the ready event reports
    about it."""
    started = time.monotonic()
    names = os.environ.get("AUTOGRADING_PRELOAD")
    modules = names.split(",") if names else list(DEFAULT_PRELOAD)
    modules += extra_preload(os.environ.get(EXTRA_PRELOAD_ENV, "").split(","))
    failed = preload(modules)
    return {"preload_seconds": time.monotonic() - started, "failed": failed}


def serve(proto_in: int, proto_out: int, preloaded: dict) -> None:
    """Say ready, then run jobs until the client is done; kill what is left at the end."""
    server = Server(proto_in, proto_out, pid_namespace=os.getpid() == 1)
    server.send(event="ready", pid=os.getpid(), uid=os.getuid(), **preloaded)
    try:
        server.serve()
    finally:
        server.kill_all()


def main() -> None:
    """Entry point: ``python -m autograding.engine.forkserver``."""
    proto_in, proto_out = take_protocol_fds()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    drop_privileges()
    # Not dumpable: a kernel running as the same user cannot ptrace us or read our memory.
    prctl(PR_SET_DUMPABLE, 0)
    if os.getpid() != 1 and not watch_grader(int(os.environ.get("AUTOGRADING_CLIENT_PID", "0"))):
        return
    serve(proto_in, proto_out, preload_all())


if __name__ == "__main__":
    main()
