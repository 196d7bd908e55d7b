"""What a sandboxed kernel sees of the host: one list of mount steps for both sandboxes.

The plan is plain data (lists of strings) so that bubblewrap gets it as command-line options
(`bwrap_args`) and autograding.engine.namespaces applies the very same steps itself. Steps, in the
order they run (later mounts cover earlier ones):

  ["ro-bind", SRC, DEST]   SRC at DEST, read-only, with everything mounted below it
  ["bind", SRC, DEST]      the same, writable
  ["tmpfs", DEST]          an empty folder over DEST (made read-only by a later remount-ro)
  ["dir", DEST, MODE]      create a folder (a mount point inside a tmpfs) with this mode
  ["dev", DEST]            a minimal /dev: null, zero, full, random, urandom, tty
  ["proc", DEST]           /proc of the sandbox's own PID namespace
  ["remount-ro", DEST]     make the mount at DEST read-only
  ["chdir", DIR]           the working folder once the view is in place
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

# Host folders every sandbox hides (replaced by empty read-only folders).
PRIVATE_DIRS = ("/tmp", "/var/tmp", "/root", "/home", "/run", "/srv", "/mnt", "/media")
# Working folders of nbgrader next to the masters: solutions, submissions, grades.
GRADER_DIRS = ("source", "submitted", "autograded", "feedback", "release", "gradebook.db")
# Packages the kernels import from the course checkout.
COURSE_PACKAGES = ("autograding", "course_utils")
HIDE_ENV = "AUTOGRADING_HIDE"
EXPOSE_ENV = "AUTOGRADING_EXPOSE"
BWRAP_OPTIONS = {"ro-bind": "--ro-bind", "bind": "--bind", "tmpfs": "--tmpfs", "dev": "--dev",
                 "proc": "--proc", "remount-ro": "--remount-ro", "chdir": "--chdir"}


def _realpath(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def course_checkout() -> str | None:
    """The repository folder when running from a source checkout (not from site-packages)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").exists() or (root / ".git").exists():
        return str(root)
    return None


def default_hidden_paths() -> list[str]:
    """Paths no kernel may see: the course checkout (masters, .git, grades) + $AUTOGRADING_HIDE."""
    package = Path(__file__).resolve().parents[1]  # autograding/
    hidden = [str(package / name) for name in GRADER_DIRS]
    checkout = course_checkout()
    if checkout:
        hidden.append(checkout)
    hidden += [p for p in os.environ.get(HIDE_ENV, "").split(os.pathsep) if p]
    return hidden


def exposed_paths(hidden: list[str]) -> list[str]:
    """Folders the kernel needs read-only even under a hidden folder: Python, its packages,
    the course packages (and $AUTOGRADING_EXPOSE). Not any other sys.path entry: a test or
    tool folder of the checkout may hold answers."""
    prefixes = {_realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                       sys.base_exec_prefix)}
    candidates = [*prefixes, os.path.dirname(_realpath(sys.executable))]
    candidates += [p for p in map(_realpath, filter(None, sys.path))
                   if any(_is_within(p, prefix) for prefix in prefixes)]
    exposed = []
    for path in candidates:
        if any(_is_within(h, path) for h in hidden):
            continue  # re-exposing an ancestor would undo the hiding
        exposed.append(path)
    for name in COURSE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            exposed += [_realpath(p) for p in spec.submodule_search_locations]
    exposed += [p for p in os.environ.get(EXPOSE_ENV, "").split(os.pathsep) if p]
    kept: list[str] = []
    for path in sorted({p for p in exposed if os.path.isabs(p) and os.path.isdir(p)}, key=len):
        # Inside a folder already shown, and not under a hidden folder within it: shown too.
        if not any(_is_within(path, shown) and not any(
                _is_within(h, shown) and _is_within(path, h) for h in hidden) for shown in kept):
            kept.append(path)
    return kept


def _ancestors(path: str) -> list[str]:
    """Proper ancestors of an absolute path, outermost first."""
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


def _cover(paths: list[str], remount: list[str]) -> list[list[str]]:
    """Cover folders with an empty tmpfs (made read-only at the end) and files with /dev/null."""
    steps = []
    for path in paths:
        if os.path.isdir(path):
            steps.append(["tmpfs", path])
            remount.append(path)
        elif os.path.lexists(path):
            steps.append(["ro-bind", "/dev/null", path])
    return steps


def _way_in(path: str, covered: list[str]) -> list[list[str]]:
    """Folders to create inside covering tmpfs mounts so that `path` can be mounted and
    reached (mount points made by the sandbox would otherwise be private to their owner)."""
    return [["dir", parent, "0755"] for parent in _ancestors(path)
            if any(_is_within(parent, c) and parent != c for c in covered)]


def sandbox_plan(scratch: str, hidden: list[str],
                 aliases: list[tuple[str, str]] = ()) -> list[list[str]]:
    """The host read-only, private folders and `hidden` covered, Python and the course
    packages shown again, and `scratch` (with its shm folder as /dev/shm) the one writable
    place. Each (folder, path) of `aliases` shows a folder of the scratch at another path too
    (where a process forked into this sandbox expects its old home)."""
    hidden = [_realpath(p) for p in hidden]
    private = [p for p in PRIVATE_DIRS if os.path.isdir(p) and not os.path.islink(p)]
    covered = private + hidden
    remount: list[str] = []
    steps = [["ro-bind", "/", "/"], ["dev", "/dev"], ["proc", "/proc"]]
    steps += _cover(covered, remount)
    exposed = exposed_paths(hidden)
    for path in exposed:
        steps += _way_in(path, covered) + [["ro-bind", path, path]]
    # Hide again what lies inside a re-exposed folder (the masters under autograding/). The
    # course folder itself may be the autograding package: shown, as the kernels import it.
    steps += _cover([h for h in hidden if any(_is_within(h, e) and h != e for e in exposed)],
                    remount)
    steps += _way_in(scratch, covered)
    steps += [["bind", scratch, scratch], ["bind", os.path.join(scratch, "shm"), "/dev/shm"]]
    for folder, path in aliases:
        steps += _way_in(path, covered) + [["bind", folder, path]]
    # Read-only last: mount points inside these folders had to be created first.
    steps += [["remount-ro", path] for path in remount + ["/dev"]]
    return steps + [["chdir", scratch]]


def bwrap_args(plan: list[list[str]]) -> list[str]:
    """The plan as bubblewrap options."""
    args = []
    for op, *operands in plan:
        if op == "dir":
            path, mode = operands
            args += ["--perms", mode, "--dir", path]
        else:
            args += [BWRAP_OPTIONS[op], *operands]
    return args
