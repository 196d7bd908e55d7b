"""Read the files of an upload (a zip, a folder or one notebook) safely, under size caps.

Every upload is treated as hostile: archive members are read through size-capped readers and
never extracted by name; symlinks, device files, path traversal, encrypted members and zip
bombs are refused, each as an entry of the report.
"""

from __future__ import annotations

import calendar
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from autograding.intake.names import NOTEBOOK_SUFFIX
from autograding.intake.report import REPORT_NAME, IntakeEntry


class IntakeError(RuntimeError):
    """The upload source as a whole cannot be read (missing, not a zip or folder, ...)."""


@dataclass(frozen=True)
class IntakeLimits:
    """Caps that keep a hostile upload (zip bomb, millions of files) from hurting the host."""

    max_files: int = 10_000
    max_total_bytes: int = 1 << 30
    max_file_bytes: int = 64 << 20
    max_depth: int = 32


@dataclass
class Upload:
    """One regular file found in the source, with a size-capped reader."""

    path: str
    mtime: float
    size: int
    read: Callable[[], bytes]
    label: str = ""

    def __post_init__(self):
        self.label = self.label or self.path


def iter_uploads(source: Path, submitted_dir: Path, limits: IntakeLimits) -> Iterator:
    """Yield an Upload per regular file of the source, or an IntakeEntry for a refused one."""
    if source.is_symlink():
        raise IntakeError(f"{source}: is a symbolic link; pass the real zip or folder")
    if source.is_dir():
        yield from _iter_folder(source, submitted_dir, limits)
    elif source.is_file() and zipfile.is_zipfile(source):
        yield from _iter_zip(source, limits)
    elif source.is_file() and NOTEBOOK_SUFFIX.search(source.name):
        yield from _iter_single(source, limits)
    elif source.exists():
        raise IntakeError(
            f"{source}: neither a zip archive nor a folder; pass the LMS export (.zip) or the "
            "folder it unpacks to"
        )
    else:
        raise IntakeError(f"{source}: no such file or folder; check the path of the export")


def real_path(path: Path) -> Path:
    """Absolute path with symlinks resolved (non-strict)."""
    return Path(os.path.realpath(path))


class _Budget:
    """Counts files and bytes across the whole source against the limits."""

    def __init__(self, limits: IntakeLimits):
        self.limits = limits
        self.files = 0
        self.bytes = 0

    def refuse_reason(self, size: int) -> str:
        """Why a file of `size` bytes cannot be taken now, or "" when it fits."""
        if self.files >= self.limits.max_files:
            return f"more than {self.limits.max_files} files in the upload; split the export"
        if size > self.limits.max_file_bytes:
            return f"file of {size} bytes exceeds the {self.limits.max_file_bytes}-byte cap"
        if self.bytes + size > self.limits.max_total_bytes:
            return f"upload exceeds {self.limits.max_total_bytes} bytes uncompressed in total"
        return ""

    def add(self, size: int) -> None:
        """Record a file that was read."""
        self.files += 1
        self.bytes += size


def _bounded_read(stream, cap: int, name: str) -> bytes:
    """Read at most `cap` bytes; a longer stream (a lying zip header) raises ValueError."""
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"{name}: more than {cap} bytes when read (size header lies?)")
    return data


def _iter_single(path: Path, limits: IntakeLimits) -> Iterator:
    """A single notebook passed as the source."""
    st = path.stat()
    if st.st_size > limits.max_file_bytes:
        yield IntakeEntry(path.name, "refused", f"larger than {limits.max_file_bytes} bytes")
        return
    yield Upload(path.name, st.st_mtime, st.st_size, lambda: _read_file(path, limits))


def _read_file(path: Path, limits: IntakeLimits) -> bytes:
    """Read a regular file without following symlinks or blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise ValueError(f"{path.name}: not a regular file")
        return _bounded_read(stream, limits.max_file_bytes, path.name)


def _iter_folder(root: Path, submitted_dir: Path, limits: IntakeLimits) -> Iterator:
    """Walk a folder without following symlinks, skipping the intake's own output."""
    budget = _Budget(limits)
    skip = {real_path(submitted_dir)} | {
        real_path(submitted_dir.parent / f"{REPORT_NAME}.{ext}") for ext in ("json", "csv")
    }
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            children = sorted(os.scandir(folder), key=lambda d: d.name)
        except OSError as err:
            yield IntakeEntry(_rel(folder, root), "refused", f"folder unreadable: {err}")
            continue
        for child in reversed(children):
            path = Path(child.path)
            rel = _rel(path, root)
            if real_path(path) in skip:
                continue
            if child.is_symlink():
                yield IntakeEntry(rel, "refused", "symbolic link: only regular files are taken")
            elif child.is_dir(follow_symlinks=False):
                if depth + 1 > limits.max_depth:
                    yield IntakeEntry(rel, "refused", f"nested deeper than {limits.max_depth}")
                else:
                    stack.append((path, depth + 1))
            elif child.is_file(follow_symlinks=False):
                st = child.stat(follow_symlinks=False)
                why = budget.refuse_reason(st.st_size)
                if why:
                    yield IntakeEntry(rel, "refused", why)
                    continue
                budget.add(st.st_size)
                yield Upload(rel, st.st_mtime, st.st_size, _reader(path, limits))
            else:
                yield IntakeEntry(rel, "refused", "special file (device, FIFO or socket)")


def _reader(path: Path, limits: IntakeLimits) -> Callable[[], bytes]:
    """A reader closure bound to one path."""
    return lambda: _read_file(path, limits)


def _iter_zip(path: Path, limits: IntakeLimits) -> Iterator:
    """Members of a zip, checked for traversal, links, special files, bombs and encryption."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise IntakeError(f"{path}: unreadable zip archive ({err}); download it again") from err
    budget = _Budget(limits)
    seen: dict[str, int] = {}
    with archive:
        members = archive.infolist()
        for index, info in enumerate(members):
            name = info.filename.replace("\\", "/")
            seen[name] = seen.get(name, 0) + 1
            label = name if seen[name] == 1 else f"{name} [copy #{seen[name]} in zip]"
            if index >= limits.max_files:
                rest = len(members) - index
                yield IntakeEntry(
                    f"({rest} more members)", "refused",
                    f"zip has {len(members)} members, more than {limits.max_files}",
                )
                return
            why = _zip_member_problem(info, name)
            if why == "directory":
                continue
            if not why:
                why = budget.refuse_reason(info.file_size)
            if why:
                yield IntakeEntry(label, "refused", why)
                continue
            budget.add(info.file_size)
            mtime = float(calendar.timegm((*info.date_time, 0, 0, 0)))
            reader = _zip_reader(path, info, limits)
            yield Upload(name, mtime, info.file_size, reader, label)


def _zip_member_problem(info: zipfile.ZipInfo, name: str) -> str:
    """Why a zip member cannot be taken ("directory" for folder entries), or ""."""
    parts = name.split("/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path in the archive (zip-slip attempt?)"
    if ".." in parts:
        return "'..' in the archive path (zip-slip attempt)"
    if "\x00" in name:
        return "NUL character in the archive path"
    if name.endswith("/") or info.is_dir():
        return "directory"
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:
        if stat.S_ISLNK(mode):
            return "symbolic link in the archive: only regular files are taken"
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            return "special file in the archive (device, FIFO or socket)"
    if info.flag_bits & 0x1:
        return "encrypted member: upload it unencrypted"
    return ""


def _zip_reader(path: Path, info, limits: IntakeLimits) -> Callable:
    """A reader that re-opens the archive and reads one member, capped at its declared size."""

    def read() -> bytes:
        cap = min(limits.max_file_bytes, max(info.file_size, 0))
        with zipfile.ZipFile(path) as archive, archive.open(info) as stream:
            return _bounded_read(stream, cap, info.filename)

    return read


def _rel(path: Path, root: Path) -> str:
    """`path` relative to `root`, with forward slashes."""
    return path.relative_to(root).as_posix()
