"""Per-kernel resource limits (rlimits) and the process counts the process cap starts from.

Stdlib only: the fork-server imports this inside the sandbox before anything heavy.
"""

from __future__ import annotations

import os
import resource

# Threads the kernel itself needs (ipykernel's, torch's intra- and inter-op pools): granted
# on top of the notebook's own process budget, since Linux counts threads as processes.
RUNTIME_TASKS = 16 + 2 * (os.cpu_count() or 1)
# Address space allowed beyond the memory limit: each thread may reserve a 64 MiB malloc arena
# and a stack (mostly never touched), and torch starts a thread per core.
ADDRESS_SPACE_SLACK = (1 << 30) + RUNTIME_TASKS * (80 << 20)


def status_bytes(field: str) -> int:
    """Read a kB field (VmData, VmSize) of /proc/self/status as bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def set_limits(limits: dict) -> None:
    """Apply per-kernel rlimits (soft = hard, so the notebook cannot raise them)."""
    memory = int(limits["memory_bytes"])
    cpu = int(limits["cpu_seconds"])
    wanted = {
        # The forked kernel already holds the pre-imported libraries: the budget is on top.
        resource.RLIMIT_DATA: status_bytes("VmData") + memory,
        resource.RLIMIT_AS: status_bytes("VmSize") + memory + ADDRESS_SPACE_SLACK,
        # Counted per uid: start from what that uid already runs (nprocs_counted_here).
        resource.RLIMIT_NPROC: nprocs_counted_here(int(limits.get("host_tasks", 0)))
        + int(limits["max_processes"]) + RUNTIME_TASKS,
        resource.RLIMIT_FSIZE: int(limits["max_file_bytes"]),
        resource.RLIMIT_NOFILE: int(limits.get("max_open_files", 1024)),
        resource.RLIMIT_CORE: 0,
    }
    for key, value in wanted.items():
        _, hard = resource.getrlimit(key)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(key, (value, value))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def nprocs_counted_here(host_tasks: int) -> int:
    """The tasks of our uid that RLIMIT_NPROC already counts against us. Since Linux 5.14 it
    counts a uid's tasks per user namespace: inside ours, the ones we see. Otherwise (no user
    namespace of our own, or an older kernel) it counts the uid's tasks on the whole host,
    which a PID namespace hides: the grader counted them outside (`host_tasks`)."""
    visible = tasks_of_uid(os.getuid())
    if _in_user_namespace() and _kernel_release() >= (5, 14):
        return visible
    return max(visible, host_tasks)


def _in_user_namespace() -> bool:
    """Whether this process runs in a user namespace other than the host's."""
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False


def _kernel_release() -> tuple[int, ...]:
    """(major, minor) of the running Linux kernel, (0, 0) when unknown."""
    parts = os.uname().release.split(".")[:2]
    try:
        return tuple(int("".join(c for c in p if c.isdigit()) or 0) for p in parts)
    except ValueError:
        return (0, 0)


def tasks_of_uid(uid: int) -> int:
    """Processes and threads of ``uid`` visible here (what RLIMIT_NPROC counts)."""
    total = 0
    for pid in all_pids():
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(fields["Uid"].split()[0]) == uid:
            total += int(fields["Threads"])
    return total


def all_pids() -> list[int]:
    """Every process visible in /proc."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]
