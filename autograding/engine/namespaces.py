"""The sandbox without bubblewrap: new Linux namespaces and a mount plan, set up by hand.

``python -m autograding.engine.namespaces SPEC -- COMMAND...`` runs COMMAND (the fork-server)
as PID 1 of new PID, mount, network, IPC and UTS namespaces (and a user namespace when not
root), in the view of the host that SPEC's mount plan describes (autograding.engine.mount_plan:
the same steps bubblewrap gets). SPEC is JSON: {"root": an empty folder to build the view
in, "plan": [...], "root_caps": the capabilities COMMAND keeps as root}.

Only the standard library and libc's unshare(2), mount(2) and pivot_root(2), which every Linux
has; a normal user needs unprivileged user namespaces. Processes:

  launcher (this program, host PID namespace) --fork--> init (PID 1 of the new namespace)
  The init applies the plan, pivots into it and execs COMMAND, which stays PID 1: when it
  ends, the kernel kills everything left in the namespace. The launcher waits and exits with
  its status; it dies with the grader (parent-death signal), and the init with the launcher.

``enter`` builds the same sandbox for a process forked from the warm zygote (zygote.py): that
process is the launcher, and its init returns (no exec), keeping the imports it was forked
with.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import platform
import re
import signal
import socket
import struct
import sys

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID = 0x08000000, 0x10000000, 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 0x20, 0x400, 0x800, 0x1000
MS_REC, MS_PRIVATE, MS_RELATIME = 0x4000, 0x40000, 0x200000
MNT_DETACH = 2
# Per-mount flags a bind remount must repeat: in a user namespace the kernel refuses to
# clear those the parent namespace set (they are locked).
LOCKABLE_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
                  "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
# The capabilities a sandboxed program may keep as root (sandbox.Program.root_caps).
CAPS = {"CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_ADMIN": 12,
        "CAP_SYS_ADMIN": 21}
LINUX_CAPABILITY_VERSION_3 = 0x20080522
# pivot_root has no libc wrapper; mount_setattr (Linux 5.12+) has the same number everywhere.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203,
                  "s390x": 217, "i686": 217, "armv7l": 218}
SYS_MOUNT_SETATTR = 442
AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = -100, 0x8000, 0x1
SIOCSIFFLAGS, IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x8914, 0x1, 0x8, 0x40
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEVICE_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
SETUP_FAILED = 125  # exit status of the launcher when the sandbox could not be built

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]


class SetupError(OSError):
    """A namespace or mount step failed: the sandbox is not built, nothing runs."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise SetupError(errno, f"{what}: {os.strerror(errno)}")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
           f"mount {source or fstype or ''} on {target}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


def _mounts_at_or_below(target: str) -> list[tuple[str, list[str]]]:
    """(mount point, per-mount options) of every mount at or below `target`."""
    below = target.rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if point == target or point.startswith(below):
                found.append((point, fields[5].split(",")))
    return found


def _read_only(target: str, recursive: bool) -> None:
    """Make the mount at `target` (and with `recursive` every mount below it) read-only."""
    attr = ctypes.create_string_buffer(struct.pack("QQQQ", MOUNT_ATTR_RDONLY, 0, 0, 0), 32)
    done = _libc.syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD),
                         ctypes.c_char_p(_bytes(target)),
                         ctypes.c_uint(AT_RECURSIVE if recursive else 0), attr,
                         ctypes.c_size_t(32))
    if done == 0:
        return
    # Before Linux 5.12: one bind remount per mount, repeating the flags it already has.
    mounts = _mounts_at_or_below(target)
    if not recursive:
        mounts = [m for m in mounts if m[0] == target][-1:]
    for point, options in mounts:
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        flags |= sum(LOCKABLE_FLAGS.get(option, 0) for option in set(options))
        _mount(None, point, None, flags)


def _mount_point(source: str, target: str) -> None:
    """Create what `source` is mounted on: a folder for a folder, else an empty file."""
    if os.path.lexists(target):
        return
    if os.path.isdir(source):
        os.makedirs(target)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))


def _minimal_dev(target: str) -> None:
    """A tmpfs /dev holding only the harmless devices, bound from the host's."""
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            node = os.path.join(target, name)
            _mount_point(f"/dev/{name}", node)
            _mount(f"/dev/{name}", node, None, MS_BIND)
    for name, link in DEVICE_LINKS.items():
        os.symlink(link, os.path.join(target, name))
    os.mkdir(os.path.join(target, "shm"))


def apply_step(root: str, op: str, operands: list[str]) -> None:
    """Carry out one mount_plan step inside the new root folder."""
    target = root + operands[-1] if operands[-1] != "/" else root
    if op in ("ro-bind", "bind"):
        source = operands[0]
        _mount_point(source, target)
        _mount(source, target, None, MS_BIND | MS_REC)
        if op == "ro-bind":
            _read_only(target, recursive=True)
    elif op == "tmpfs":
        os.makedirs(target, exist_ok=True)  # a hidden folder inside one hidden before
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    elif op == "dir":
        target = root + operands[0]
        if not os.path.isdir(target):
            os.mkdir(target)
            os.chmod(target, int(operands[1], 8))
    elif op == "dev":
        _minimal_dev(target)
    elif op == "proc":
        _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    elif op == "remount-ro":
        _read_only(target, recursive=False)
    elif op != "chdir":
        raise SetupError(0, f"unknown mount step {op!r}")


def _pivot(root: str) -> None:
    """Make `root` the file system root and drop the old one (not just cover it: chroot
    could be escaped from a nested user namespace)."""
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise SetupError(0, f"pivot_root: unknown syscall number on {platform.machine()}")
    os.chdir(root)
    _check(_libc.syscall(ctypes.c_long(number), ctypes.c_char_p(b"."), ctypes.c_char_p(b".")),
           "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "umount the old root")
    os.chdir("/")


def _loopback_up() -> None:
    """Bring up `lo` in the new network namespace (it has nothing else)."""
    ifreq = struct.pack("16sh22x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, SIOCSIFFLAGS, ifreq)


def _keep_only_caps(keep: list[str]) -> None:
    """As root: what COMMAND gets at exec is `keep` only (CAP_SETUID/SETGID to drop to its
    uid; the zygote also what building a sandbox for each fork-server takes)."""
    numbers = {CAPS[name] for name in keep}
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        if cap not in numbers:
            _prctl(PR_CAPBSET_DROP, cap)


def _drop_all_caps(uid: int | None) -> None:
    """Keep no capability at all, now or after any exec, and become `uid` when given (as
    root); checked, since a kernel forked from us must hold none."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        _prctl(PR_CAPBSET_DROP, cap)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    header = struct.pack("Ii", LINUX_CAPABILITY_VERSION_3, 0)
    data = ctypes.create_string_buffer(4 * 6)  # two (effective, permitted, inheritable) sets
    _check(_libc.capset(ctypes.c_char_p(header), data), "capset")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    with open("/proc/self/status") as f:
        held = [line.split()[0] for line in f if line.startswith("Cap")
                and int(line.split()[1], 16) != 0]
    if held or (uid is not None and (os.getuid() != uid or os.geteuid() != uid)):
        raise SetupError(0, f"could not drop privileges ({', '.join(held) or 'uid'} left)")


def _map_ids(uid: int, gid: int) -> None:
    """In the new user namespace, be who we were outside (and only that id)."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


def _wait_for_launcher(launcher_alive: int) -> None:
    """Die with the process that made the namespaces; it may be gone already."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.set_blocking(launcher_alive, False)
    try:
        if os.read(launcher_alive, 1) == b"":
            os._exit(SETUP_FAILED)  # the launcher died before the signal was armed
    except BlockingIOError:
        pass
    os.close(launcher_alive)
    os.setsid()


def _build_view(spec: dict) -> None:
    """In PID 1 of the new namespaces: apply the plan, pivot into it, bring up loopback."""
    # Nothing mounted here may reach the host's namespace.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = os.path.realpath(spec["root"])
    workdir = "/"
    # Folders made on the way to a mount point are reachable by every uid whatever the
    # grader's umask (as bwrap does); COMMAND gets the grader's umask back.
    umask = os.umask(0o022)
    for op, *operands in spec["plan"]:
        apply_step(root, op, operands)
        if op == "chdir":
            workdir = operands[0]
    os.umask(umask)
    _pivot(root)
    os.chdir(workdir)
    _loopback_up()


def _init(spec: dict, command: list[str], launcher_alive: int, as_root: bool) -> None:
    """PID 1 of the new namespaces: build the view, then become COMMAND (never returns)."""
    _wait_for_launcher(launcher_alive)
    _build_view(spec)
    if as_root:
        _keep_only_caps(spec.get("root_caps", ["CAP_SETUID", "CAP_SETGID"]))
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.execv(command[0], command)


def _unshare_all(as_root: bool) -> None:
    """New mount, PID (for our children), network, IPC and UTS namespaces; a user namespace
    too when not root, owning them, in which we keep our own ids."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    # Root needs no user namespace, and keeps reading root-only paths such as a Python under
    # /root; its fork-server then drops to a uid of its own.
    _check(_libc.unshare(flags if as_root else flags | CLONE_NEWUSER), "unshare")
    if not as_root:
        _map_ids(uid, gid)
    _libc.unshare(CLONE_NEWCGROUP)  # best effort, as bwrap's --unshare-cgroup-try


def _wait_for(pid: int) -> int:
    """The launcher's part once the init runs: wait for it; its status as an exit code."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def enter(spec: dict, uid: int | None, keep_fds: list[int]) -> None:
    """The sandbox `launch` builds, for this very process (forked from a warm zygote) instead
    of a new program: returns in PID 1 of new namespaces, in the view of SPEC's plan, with no
    capability left and as `uid` when root. This process stays behind as the launcher (it
    waits for PID 1, then exits); only PID 1 keeps `keep_fds` (the fork-server's pipes)."""
    as_root = os.geteuid() == 0
    if not as_root:
        # The zygote is not dumpable, which makes /proc/self/uid_map root's to write.
        _prctl(PR_SET_DUMPABLE, 1)
    _unshare_all(as_root)
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(alive_w)
        _wait_for_launcher(alive_r)
        _build_view(spec)
        _drop_all_caps(uid if as_root else None)
        _prctl(PR_SET_DUMPABLE, 0)
        return
    os.close(alive_r)
    for fd in keep_fds:  # their end is how the fork-server learns that the grader is gone
        os.close(fd)
    os._exit(_wait_for(pid))


def launch(spec: dict, command: list[str]) -> int:
    """Run `command` in the sandbox `spec` describes; return its exit status."""
    as_root = os.geteuid() == 0
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        return SETUP_FAILED
    _unshare_all(as_root)
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(alive_w)
            _init(spec, command, alive_r, as_root)
        except BaseException as exc:
            print(f"autograding.engine.namespaces: {exc}", file=sys.stderr, flush=True)
        os._exit(SETUP_FAILED)
    os.close(alive_r)
    # Only the init keeps the grader's pipes: their end is how the fork-server learns that
    # the grader is gone.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    return _wait_for(pid)


def main(argv: list[str]) -> int:
    """Entry point: ``python -m autograding.engine.namespaces SPEC -- COMMAND...``."""
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python -m autograding.engine.namespaces SPEC -- COMMAND...", file=sys.stderr)
        return 2
    try:
        return launch(json.loads(argv[1]), argv[3:])
    except (OSError, ValueError) as exc:
        print(f"autograding.engine.namespaces: {exc}", file=sys.stderr)
        return SETUP_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv))
