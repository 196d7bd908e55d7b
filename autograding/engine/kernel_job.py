"""One kernel job's folder, connection file, environment and limits, as its fork-server needs."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import zmq

from autograding.engine.limits import Limits, seconds
from autograding.engine.process_limits import tasks_of_uid
from autograding.engine.sandbox import give_to

KERNEL_START_TIMEOUT = 60.0  # s; not part of the notebook's time
MAX_MESSAGE_BYTES = 128 * 2**20  # one kernel message; the grader never receives bigger ones
# ms between attempts to connect to a kernel's sockets. The grader connects before the forked
# kernel has bound them; at ZeroMQ's default (100 ms) that wait was 0.1 s of every notebook.
RECONNECT_MS = 10


@dataclass(frozen=True)
class JobFolder:
    """Where one kernel works (cwd), keeps its run files, logs and finds its connection."""

    cwd: str
    run_dir: str
    log_path: str
    conn_path: str
    conn: dict


def prepare_job_folder(job_dir: str, uid: int | None, files: Mapping,
                       messages: list[str]) -> JobFolder:
    """Make the job's folders (owned by the sandbox `uid`), copy `files` next to the notebook
    and write the kernel's connection file; notes about skipped files go to `messages`."""
    root = Path(job_dir)
    work, run = root / "work", root / "run"
    for folder in (root, work, run, run / "ipython", run / "mpl", run / "tmp", run / "home"):
        folder.mkdir()
        give_to(str(folder), uid)
    for name, content in files.items():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (bytes, str)) and not isinstance(content, os.PathLike):
            data = content.encode() if isinstance(content, str) else content
            target.write_bytes(data)
        elif os.path.islink(content) or not os.path.isfile(content):
            # A submitted symlink could point at another student's work.
            messages.append(f"{name}: not a regular file, not given to the notebook")
        else:
            shutil.copyfile(content, target)
    if uid is not None:
        for path in [work, *work.rglob("*")]:
            os.chown(path, uid, 0)
    conn = {
        "transport": "ipc", "ip": str(run / "k"), "shell_port": 1, "iopub_port": 2,
        "stdin_port": 3, "control_port": 4, "hb_port": 5, "key": secrets.token_hex(16),
        "signature_scheme": "hmac-sha256", "kernel_name": "python3",
    }
    conn_path = str(run / "kernel.json")
    with open(conn_path, "w") as f:
        json.dump(conn, f)
    if uid is not None:
        os.chown(conn_path, uid, 0)
    return JobFolder(cwd=str(work), run_dir=str(run), log_path=str(run / "kernel.log"),
                     conn_path=conn_path, conn=conn)


def kernel_env(run_dir: str, server_pid: int, extra: Mapping[str, str]) -> dict:
    """The kernel's whole environment (`server_pid`: the fork-server's PID in its sandbox)."""
    env = {
        "PATH": os.pathsep.join([os.path.dirname(os.path.abspath(sys.executable)),
                                 "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "HOME": os.path.join(run_dir, "home"),
        "TMPDIR": os.path.join(run_dir, "tmp"),
        "IPYTHONDIR": os.path.join(run_dir, "ipython"),
        "MPLCONFIGDIR": os.path.join(run_dir, "mpl"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONHASHSEED": "0",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "NBGRADER_EXECUTION": "autograde",
        # Inside the PID namespace our parent is PID 1 (the server), which never goes
        # away; outside, watch the server so an orphaned kernel quits.
        "JPY_PARENT_PID": "1" if server_pid == 1 else str(server_pid),
    }
    env.update(extra)
    return env


def limit_dict(limits: Limits, uid: int | None) -> dict:
    """The limits as the fork-server applies them (`uid`: the kernel's, None for ours)."""
    wanted = asdict(limits)
    # A backstop only (wall clock is the real limit): torch may keep every core busy.
    wall = min(seconds(limits.notebook_timeout), 24 * 3600)
    wanted["cpu_seconds"] = int((wall + KERNEL_START_TIMEOUT + 30) * (os.cpu_count() or 1))
    # On kernels that count the process cap per uid on the whole host, the kernel's
    # uid may run processes its sandbox cannot see (process_limits.nprocs_counted_here).
    wanted["host_tasks"] = tasks_of_uid(uid if uid is not None else os.getuid())
    return wanted


_context: list = []  # [zmq context, pid]


def zmq_context() -> zmq.Context:
    """This process's zmq context; its sockets drop (and reconnect after) any message above
    MAX_MESSAGE_BYTES instead of handing the grader a gigabyte string, and retry connecting
    every RECONNECT_MS."""
    if not _context or _context[1] != os.getpid():
        context = zmq.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        _context[:] = [context, os.getpid()]
    return _context[0]
