"""Helper processes' lifetime: started from one long-lived thread, their scratch roots removed."""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading

_lock = threading.Lock()
_launcher: list = []  # [queue, pid] of the thread that starts sandboxes


def in_launcher_thread(start):
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


def new_scratch_root() -> str:
    """A private folder TMPDIR/autograding-<our pid>-<random> that a sandbox uid may pass
    through but not list; removed by a later grader if we are killed."""
    remove_stale_scratch()
    base = tempfile.mkdtemp(prefix=f"autograding-{os.getpid()}-")
    os.chmod(base, 0o711)
    return base


def remove_stale_scratch() -> None:
    """Delete scratch roots left by grader processes that were killed (SIGKILL skips atexit)."""
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "autograding" and parts[1].isdigit():
            if not os.path.exists(f"/proc/{parts[1]}"):
                shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
