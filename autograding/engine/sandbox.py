"""Choose the sandbox a fork-server runs in (probed once), and the command that starts it there.

The fork-server (forkserver.py) runs in its own PID, network, IPC, UTS and mount namespaces
as an unprivileged uid (a fresh one per server when we are root; otherwise our own uid in a
user namespace). It sees the host read-only, with private folders, the masters, the gradebook
and the course checkout hidden (autograding.engine.mount_plan), and can write only to its scratch
root. Two ways to build that sandbox, tried in this order by ``auto``:

  bwrap       bubblewrap, when installed and usable;
  namespaces  the same view set up by autograding.engine.namespaces with unshare(2) and mount(2),
              which every Linux has (as a normal user: if user namespaces are enabled).

When neither works, grading stops with the fix. ``none`` runs the notebooks with the grader's
own rights (resource limits only) and is never chosen without being asked for. The servers
themselves are started and owned by servers.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass

from autograding.engine.mount_plan import bwrap_args, default_hidden_paths, sandbox_plan

# Kernels run as UID_BASE + a per-server offset when the grader runs as root.
UID_BASE = 0x5A000000
# The interpreter by absolute path: started from a relative PATH entry (PATH=.venv/bin:...),
# sys.executable is relative, and a sandbox changes the working folder first.
PYTHON = os.path.abspath(sys.executable)
# Run inside a candidate sandbox: the forkserver module must import and drop privileges.
PROBE_CODE = ("import sys, autograding.engine.forkserver as f; f.drop_privileges(); "
              "print(sys.version)")
MODES = ("auto", "bwrap", "namespaces", "none")
SANDBOXES = ("bwrap", "namespaces")  # what `auto` tries, in this order
BWRAP_FIX = "apt-get install -y bubblewrap"
USERNS_FIX = ("enable unprivileged user namespaces (Debian/Ubuntu: sysctl -w "
              "kernel.unprivileged_userns_clone=1 and, on Ubuntu 24.04+, "
              "kernel.apparmor_restrict_unprivileged_userns=0) or grade as root")
NONE_WARNING = ("autograding: --sandbox none: notebooks run with your own rights. They can "
                "read the masters, the gradebook and other submissions, change your files "
                "and use the network; the grader grades from copies it read first and "
                "reports changed submissions. Use it only for notebooks you trust.")

_lock = threading.Lock()
_mode_cache: dict[str, str] = {}  # sandbox -> "" when it works, else why not


class SandboxUnavailable(RuntimeError):
    """No sandbox that was asked for (or, with ``auto``, none at all) can be used here."""


def sandbox_uid(seq: int = 0) -> int | None:
    """The unprivileged uid a fork-server drops to when we are root, else None.

    Root ignores RLIMIT_NPROC, so the kernels must run as someone else; a uid of their own per
    server (not nobody) keeps concurrent sandboxes from sharing the process cap or each other's
    files.
    """
    if os.geteuid() != 0:
        return None
    return UID_BASE + (os.getpid() % (1 << 22)) * 8 + seq % 8


def give_to(folder: str, uid: int | None) -> None:
    """Hand a folder to the sandbox uid; group root keeps it reachable for bwrap (no caps)."""
    if uid is not None:
        os.chown(folder, uid, 0)
        os.chmod(folder, 0o770)


@dataclass(frozen=True)
class Program:
    """What runs in a sandbox: a module of this package, with the capabilities it keeps as root
    (root ignores RLIMIT_NPROC, so it always switches to a sandbox uid, which needs two)."""

    module: str = "autograding.engine.forkserver"
    root_caps: tuple[str, ...] = ("CAP_SETUID", "CAP_SETGID")


FORKSERVER = Program()


def bwrap_command(scratch: str, hidden: list[str], program: Program = FORKSERVER) -> list[str]:
    """The bubblewrap command line around `program` (the fork-server)."""
    args = [shutil.which("bwrap"), "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--as-pid-1"]
    if os.geteuid() == 0:
        # As root bwrap mounts without a user namespace (so it can read root-only paths such
        # as a pyenv Python under /root); the server then switches to its own uid at start.
        args += ["--cap-drop", "ALL"]
        for cap in program.root_caps:
            args += ["--cap-add", cap]
    else:
        args += ["--unshare-user"]
    args += bwrap_args(sandbox_plan(scratch, hidden))
    return args + ["--", PYTHON, "-m", program.module]


def namespaces_command(root: str, scratch: str, hidden: list[str],
                       program: Program = FORKSERVER) -> list[str]:
    """The autograding.engine.namespaces command line around `program` (`root`: an empty
    folder the sandbox's view is built in)."""
    spec = json.dumps({"root": root, "plan": sandbox_plan(scratch, hidden),
                       "root_caps": list(program.root_caps)})
    return [PYTHON, "-m", "autograding.engine.namespaces", spec, "--",
            PYTHON, "-m", program.module]


def server_command(mode: str, base: str, hidden: list[str],
                   program: Program = FORKSERVER) -> list[str]:
    """How `program` starts in this sandbox mode (`base`: its private folder, whose `s` is the
    scratch folder)."""
    scratch = os.path.join(base, "s")
    if mode == "bwrap":
        return bwrap_command(scratch, hidden, program)
    if mode == "namespaces":
        root = os.path.join(base, "root")
        os.makedirs(root, exist_ok=True)
        return namespaces_command(root, scratch, hidden, program)
    return [PYTHON, "-m", program.module]


def _probe(mode: str) -> str:
    """Why this sandbox cannot start a fork-server here, or "" when it can."""
    if mode == "bwrap" and not shutil.which("bwrap"):
        return f"bubblewrap is not installed ({BWRAP_FIX})"
    if mode == "namespaces" and not sys.platform.startswith("linux"):
        return "Linux namespaces exist only on Linux"
    base = tempfile.mkdtemp(prefix="ag-probe-")
    os.chmod(base, 0o711)
    scratch = os.path.join(base, "s")
    os.makedirs(os.path.join(scratch, "shm"))
    os.chmod(scratch, 0o755)
    try:
        command = server_command(mode, base, default_hidden_paths())
        command[-2:] = ["-c", PROBE_CODE]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                              env=server_env(scratch, sandbox_uid(7)))
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{mode} failed to start: {exc}"
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if done.returncode == 0 and done.stdout.strip() == sys.version:
        return ""
    detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
    if mode == "bwrap":
        return f"bubblewrap cannot start a sandbox here ({detail})"
    return f"cannot set up Linux namespaces here ({detail})"


def probe_user() -> bool:
    """Whether an unprivileged uid can run this interpreter with the course packages."""
    uid = sandbox_uid(7)
    if uid is None:
        return True
    if "user" not in _mode_cache:
        try:
            done = subprocess.run([PYTHON, "-c", PROBE_CODE], capture_output=True,
                                  text=True, timeout=60, cwd="/", env=server_env("/", None),
                                  user=uid, group=uid, extra_groups=[])
            works = done.returncode == 0 and done.stdout.strip() == sys.version
        except (OSError, subprocess.SubprocessError):
            works = False
        _mode_cache["user"] = "" if works else "this Python is not readable by other users"
    return not _mode_cache["user"]


def sandbox_problem(mode: str) -> str:
    """Why sandbox `mode` ("bwrap" or "namespaces") is unusable here ("" when it works);
    probed once per process."""
    with _lock:
        if mode not in _mode_cache:
            _mode_cache[mode] = _probe(mode)
        return _mode_cache[mode]


def unavailable_message(problems: dict[str, str]) -> str:
    """One line: why no sandbox works, and the ways to get one."""
    why = "; ".join(f"{mode}: {problem}" for mode, problem in problems.items())
    if not sys.platform.startswith("linux"):
        return (f"grading runs student code in a Linux sandbox, and this is {sys.platform} "
                f"({why}); grade on a Linux machine, in a Linux container, or on a Dask "
                "cluster of Linux workers (--scheduler)")
    fixes = [] if shutil.which("bwrap") else [f"install bubblewrap ({BWRAP_FIX})"]
    if os.geteuid() != 0:
        fixes.append(USERNS_FIX)
    return (f"no sandbox can run here ({why}); " + ", or ".join(fixes or [USERNS_FIX])
            + "; --sandbox none runs notebooks with your own rights (trusted notebooks only)")


def sandbox_mode(preferred: str = "auto") -> str:
    """The sandbox to grade in: `preferred` if it works, or for "auto" the first of bwrap
    and namespaces that works. Raises SandboxUnavailable (with the fix) otherwise."""
    if preferred not in MODES:
        raise ValueError(f"sandbox must be one of {', '.join(MODES)}, not {preferred!r}")
    if preferred == "none":
        warn_once(NONE_WARNING)
        return "none"
    problems = {}
    for mode in SANDBOXES if preferred == "auto" else (preferred,):
        problems[mode] = sandbox_problem(mode)
        if not problems[mode]:
            return mode
    raise SandboxUnavailable(unavailable_message(problems))


def warn_once(message: str) -> None:
    """One warning per process tree (the flag is inherited by worker processes)."""
    flag = "AUTOGRADING_SANDBOX_WARNED"
    said = os.environ.get(flag, "").split("|")
    key = message.split(":")[1][:40]
    if key not in said:
        os.environ[flag] = "|".join([*filter(None, said), key])
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def server_env(scratch: str, uid: int | None) -> dict[str, str]:
    """Environment of the fork-server; kernels get their own per job."""
    env = {
        "PATH": os.pathsep.join([os.path.dirname(PYTHON), "/usr/local/bin", "/usr/bin",
                                 "/bin"]),
        "LANG": "C.UTF-8",
        "HOME": os.path.join(scratch, "server"),
        # /tmp is read-only in the sandbox; without a TMPDIR, `import torch._dynamo` fails
        # half-way in the preload and every optimizer in a kernel then raises.
        "TMPDIR": os.path.join(scratch, "server"),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": os.path.join(scratch, "server", "mpl"),
        "IPYTHONDIR": os.path.join(scratch, "server", "ipython"),
        "AUTOGRADING_SCRATCH": scratch,
        "AUTOGRADING_CLIENT_PID": str(os.getpid()),
    }
    if uid is not None:
        env["AUTOGRADING_SANDBOX_UID"] = str(uid)
    if "AUTOGRADING_PRELOAD" in os.environ:
        env["AUTOGRADING_PRELOAD"] = os.environ["AUTOGRADING_PRELOAD"]
    return env


def forget_probes() -> None:
    """Probe again when next asked (a forked child re-decides in its own process)."""
    with _lock:
        _mode_cache.clear()
