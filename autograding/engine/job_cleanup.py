"""What a job leaves behind: its processes, files and System V IPC; its disk use, measured.

Stdlib only: the fork-server imports this inside the sandbox before anything heavy.
"""

from __future__ import annotations

import ctypes
import os
import shutil

from autograding.engine.process_limits import all_pids


def disk_usage(folder: str, max_files: int) -> int | None:
    """Bytes allocated under `folder` (sparse files count what they use), or None when it holds
    more than `max_files` entries or a folder that cannot be read (both treated as over the
    limit: files out of sight must not escape it)."""
    total, seen, stack = 0, 0, [folder]
    while stack:
        path = stack.pop()
        try:
            entries = _scan(path)
        except FileNotFoundError:  # removed meanwhile
            continue
        except OSError:
            return None
        with entries:
            for entry in entries:
                seen += 1
                if seen > max_files:
                    return None
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
    return total


def _scan(path: str):
    """os.scandir, after giving the folder back its owner's rights if a notebook took them
    away (chmod 000 would hide its files from the disk count)."""
    try:
        return os.scandir(path)
    except PermissionError:
        os.chmod(path, 0o700)  # the notebook runs as our uid: its folders are ours
        return os.scandir(path)


def remove_sysv_ipc() -> None:
    """Delete System V shared memory, semaphores and message queues (a job's leftovers)."""
    libc = ctypes.CDLL(None, use_errno=True)
    ipc_rmid = 0
    for kind, remove in (("shm", lambda i: libc.shmctl(i, ipc_rmid, None)),
                         ("sem", lambda i: libc.semctl(i, 0, ipc_rmid)),
                         ("msg", lambda i: libc.msgctl(i, ipc_rmid, None))):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            remove(int(row.split()[1]))


def descendants(root: int) -> list[int]:
    """Every process whose parent chain leads to ``root`` (excluding it)."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def wipe(path: str) -> None:
    """Delete a job folder, even if the notebook removed permissions inside it."""

    def retry(func, target, _exc):
        try:
            os.chmod(os.path.dirname(target), 0o700)
            if os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=retry)
    elif os.path.lexists(path):
        os.unlink(path)
