"""What a notebook left in its scratch folder, read without following links, under caps.

The folder is the kernel's: anything in it may be hostile. The walk opens every folder and file
relative to its parent's descriptor with O_NOFOLLOW, so a link (or a folder swapped for one
while the walk runs) is never followed out of it; only regular files are read (no FIFOs, devices
or sockets), each up to MAX_FILE_BYTES, at most MAX_FILES of them and MAX_TOTAL_BYTES together,
MAX_DEPTH folders deep and MAX_ENTRIES entries looked at. A file the notebook was given and left
unchanged comes back as None (the caller has its bytes); what is left out is said in a note.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

MAX_FILES = 500
MAX_FILE_BYTES = 64 * 2**20
MAX_TOTAL_BYTES = 256 * 2**20
MAX_DEPTH = 16
MAX_ENTRIES = 20_000


class _Walk:
    """One collection: the caps' counters and what was found."""

    def __init__(self, given: Mapping):
        self.given = given
        self.files: dict[str, bytes | None] = {}
        self.skipped: list[str] = []
        self.total = 0
        self.entries = 0

    def folder(self, fd: int, prefix: str, depth: int) -> None:
        """Collect the entries of the open folder `fd` (closed here)."""
        try:
            with os.scandir(fd) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            os.close(fd)
            self.skipped.append(prefix or ".")
            return
        try:
            for entry in entries:
                self.entries += 1
                if self.entries > MAX_ENTRIES:
                    self.skipped.append(f"{prefix}{entry.name} (too many entries)")
                    return
                name = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH:
                        self.subfolder(fd, entry.name, name, depth)
                    else:
                        self.skipped.append(f"{name}/ (too deep)")
                elif entry.is_file(follow_symlinks=False):
                    self.file(fd, entry.name, name)
        finally:
            os.close(fd)

    def subfolder(self, parent: int, base: str, name: str, depth: int) -> None:
        """Open a subfolder without following a link and collect it."""
        try:
            child = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
        except OSError:
            self.skipped.append(f"{name}/")
            return
        self.folder(child, name + "/", depth + 1)

    def file(self, parent: int, base: str, name: str) -> None:
        """Read one regular file, unless a cap says no."""
        if len(self.files) >= MAX_FILES:
            self.skipped.append(f"{name} (more than {MAX_FILES} files)")
            return
        try:
            fd = os.open(base, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY,
                         dir_fd=parent)
        except OSError:
            self.skipped.append(name)
            return
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES or self.total + len(data) > MAX_TOTAL_BYTES:
            self.skipped.append(f"{name} (over {MAX_FILE_BYTES // 2**20} MiB, or all files "
                                f"over {MAX_TOTAL_BYTES // 2**20} MiB)")
            return
        given = self.given.get(name)
        if isinstance(given, bytes) and given == data:
            self.files[name] = None
            return
        self.files[name] = data
        self.total += len(data)


def collect(folder: str, given: Mapping) -> tuple[dict[str, bytes | None], list[str]]:
    """({relative POSIX name: bytes, or None when it is the given file unchanged}, notes) of the
    regular files under `folder` (module docstring)."""
    walk = _Walk(given)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as err:
        return {}, [f"the notebook's files could not be read ({err.strerror})"]
    walk.folder(fd, "", 0)
    notes = []
    if walk.skipped:
        shown = ", ".join(walk.skipped[:5]) + (", ..." if len(walk.skipped) > 5 else "")
        notes.append(f"{len(walk.skipped)} of the files the notebook left were not kept: "
                     f"{shown}.")
    return walk.files, notes
