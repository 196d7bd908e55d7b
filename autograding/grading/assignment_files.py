"""Files beside the notebooks: the course's and the student's into the kernel, its files kept.

nbgrader's autograde (0.9.6, converters/autograde.py) copies every file of the student's
submitted/<student>/<assignment>/ folder, then every file of source/<assignment>/ over them,
into autograded/<student>/<assignment>/, where the notebooks run and what they write stays.
Both copies skip notebooks (`*.ipynb`) and the names of CourseDirectory.ignore, in subfolders
too; a file listed in Autograde.exclude_overwriting[assignment] is never taken from the
course, so the student's copy (if any) stays. The same rule gives each notebook's kernel its
files here (a master in the master check gets all of the course's), with these limits:
- a course file is read only if it is a regular file, or a link that stays inside the course
  folder; a student's file only if it is a regular file (never through a link: it could point
  at a classmate's work); linked folders are not entered (nor does nbgrader);
- at most MAX_FILES files, MAX_FILE_BYTES each and MAX_TOTAL_BYTES together, per side; what is
  left out becomes a comment on the notebook.
What a notebook leaves in its scratch folder (the engine returns it, size- and count-capped,
regular files only) is written under out/autograded/<student>/<assignment>/, the given files
too; notebooks and timestamp.txt are never taken from a run. The done-marker lists the files,
so a regrade removes those a notebook no longer writes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import posixpath
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 500
MAX_FILE_BYTES = 64 * 2**20
MAX_TOTAL_BYTES = 256 * 2**20
MAX_NAME_CHARS = 255
NEVER_KEPT = ("timestamp.txt",)  # the submitted one stays: a run cannot change its time


@dataclass
class FileSet:
    """Files by relative POSIX name, and what was left out, for the student to read."""

    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def digest(self) -> str:
        """sha256 over names and contents (part of a notebook's grading fingerprint)."""
        total = hashlib.sha256()
        for name in sorted(self.files):
            total.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        for note in self.notes:
            total.update(b"note\0" + note.encode())
        return total.hexdigest()


def is_ignored(name: str, patterns) -> bool:
    """nbgrader's rule (utils.is_ignored, a glob in the file's folder): the base name matches
    a pattern, and a name starting with a dot only a pattern that starts with one."""
    return any(fnmatch.fnmatchcase(name, pattern)
               and (not name.startswith(".") or pattern.startswith("."))
               for pattern in patterns)


def safe_name(name: str) -> bool:
    """A relative POSIX path that stays in its folder and can be written there."""
    parts = name.split("/")
    return (0 < len(name) <= 4 * MAX_NAME_CHARS and "\0" not in name and "\\" not in name
            and not name.startswith("/") and posixpath.normpath(name) == name
            and all(p not in ("", ".", "..") and len(p) <= MAX_NAME_CHARS for p in parts))


def _read_regular(path: Path, follow: bool) -> bytes | str:
    """The file's bytes (at most MAX_FILE_BYTES + 1), or why it is not read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        return f"cannot be opened ({err.strerror})"
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return "not a regular file"
        return fh.read(MAX_FILE_BYTES + 1)


def read_folder(root: Path, ignore, inside: Path | None = None, label: str = "") -> FileSet:
    """The files under `root` as nbgrader would copy them (module docstring). Links are
    followed only when `inside` is given and they stay inside it; `label` names the side in
    the notes."""
    found = FileSet()
    total = 0
    patterns = [*ignore, "*.ipynb"]
    for folder, dirs, names in os.walk(root):  # never enters linked folders
        dirs[:] = sorted(d for d in dirs if not is_ignored(d, patterns))
        for name in sorted(n for n in names if not is_ignored(n, patterns)):
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if not safe_name(rel):
                continue
            why = ""
            if path.is_symlink() and (inside is None or not path.resolve().is_relative_to(
                    inside.resolve())):
                why = "a link" + (" out of the course folder" if inside is not None else "")
            elif len(found.files) >= MAX_FILES:
                why = f"more than {MAX_FILES} files"
            else:
                data = _read_regular(path, follow=inside is not None)
                if isinstance(data, str):
                    why = data
                elif len(data) > MAX_FILE_BYTES:
                    why = f"larger than {MAX_FILE_BYTES // 2**20} MiB"
                elif total + len(data) > MAX_TOTAL_BYTES:
                    why = f"the files together are larger than {MAX_TOTAL_BYTES // 2**20} MiB"
                else:
                    found.files[rel] = data
                    total += len(data)
            if why:
                found.notes.append(f"{label}{rel} was not given to the notebook: {why}.")
    return found


class AssignmentFiles:
    """The files each notebook of a batch gets: the course's read once per assignment."""

    def __init__(self, course_root: Path, settings):
        self.course_root = Path(course_root)
        self.settings = settings  # autograding.grading.course_settings.CourseSettings
        self._course: dict[str, FileSet] = {}
        self._notebooks: dict[str, set[str]] = {}  # assignment -> its masters' file names
        self._student: tuple[Path, FileSet] | None = None

    def course_files(self, assignment: str, everything: bool = False) -> FileSet:
        """source/<assignment>/'s files, those of Autograde.exclude_overwriting left out
        unless `everything` (a master runs beside all of them)."""
        if assignment not in self._course:
            folder = self.course_root / "source" / assignment
            self._course[assignment] = read_folder(folder, self.settings.ignore,
                                                   inside=self.course_root,
                                                   label="the course's file ")
        found = self._course[assignment]
        if everything:
            return found
        kept = self.settings.kept_from_student(assignment)
        return FileSet({n: d for n, d in found.files.items() if n not in kept}, found.notes)

    def for_task(self, task) -> FileSet:
        """The files given to `task`'s kernel: the student's folder's, then the course's over
        them; a master (a master check) gets all of the course's."""
        if task.canary:
            return self.course_files(task.assignment, everything=True)
        course = self.course_files(task.assignment)
        if task.refused:
            return FileSet(dict(course.files), list(course.notes))
        folder = task.path.parent
        if self._student is None or self._student[0] != folder:
            student = (read_folder(folder, self.settings.ignore, label="your file ")
                       if folder.is_dir() and not folder.is_symlink() else FileSet())
            self._student = (folder, student)
        student = self._student[1]
        return FileSet({**student.files, **course.files},
                       student.notes + course.notes + self.other_notebooks(task))

    def other_notebooks(self, task) -> list[str]:
        """A note naming the notebooks beside the graded one that no master names (a renamed
        copy, 'squares (1).ipynb'): they are not graded, and the student should know why."""
        folder = task.path.parent
        if task.assignment not in self._notebooks:  # read once per batch, as course_files
            source = self.course_root / "source" / task.assignment
            self._notebooks[task.assignment] = {p.name for p in source.glob("*.ipynb")}
        masters = self._notebooks[task.assignment] | {task.path.name}
        try:
            others = sorted(p.name for p in folder.iterdir() if p.name.endswith(".ipynb")
                            and not p.name.startswith(".") and p.name not in masters)
        except OSError:
            return []
        if not others:
            return []
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5
                                         else "")
        return [f"Also in your folder, not graded: {shown}. Only {task.path.name} is graded: "
                "if your work is in another file, save it under that name and submit again."]


def previous_files(marker: Path) -> list[str]:
    """The files a done-marker says its notebook left in autograded/ ([] if none)."""
    try:
        names = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [n for n in names if isinstance(n, str) and safe_name(n)] if isinstance(
        names, list) else []


def kept_files(given: dict[str, bytes], returned: dict | None) -> tuple[dict, list[str]]:
    """({name: bytes} to keep in autograded/, notes): what the run left (`returned`: name ->
    bytes, or None for a given file it left unchanged), or the given files when the executor
    returned none."""
    if returned is None:
        return dict(given), []
    kept, notes, total = {}, [], 0
    for name, data in sorted(returned.items(), key=lambda item: str(item[0])):
        if not isinstance(name, str) or not safe_name(name) or name.endswith(".ipynb"):
            continue
        if data is None or name in NEVER_KEPT:  # left unchanged, or not the run's to change
            data = given.get(name)
        if not isinstance(data, bytes):
            continue
        if len(kept) >= MAX_FILES or total + len(data) > MAX_TOTAL_BYTES:
            notes.append(f"{name} (and what follows it) was not kept: the notebook's files "
                         f"pass {MAX_FILES} files or {MAX_TOTAL_BYTES // 2**20} MiB.")
            break
        kept[name] = data
        total += len(data)
    return kept, notes


def write_kept(folder: Path, kept: dict[str, bytes], stale, write) -> list[str]:
    """Write `kept` under `folder` with `write(path, bytes)` (atomic) and remove the `stale`
    names (earlier runs' files no notebook keeps now); notes on what could not be written."""
    notes = []
    for name, data in kept.items():
        target = folder / name
        try:
            if any(p.is_symlink() for p in [target, *target.parents][:name.count("/") + 1]):
                raise OSError("a link is in the way")
            write(target, data)
        except OSError as err:
            notes.append(f"{name} could not be kept ({err.strerror or err}).")
    for name in stale:
        target = folder / name
        if target.is_file() and not target.is_symlink():
            target.unlink(missing_ok=True)
    return notes
