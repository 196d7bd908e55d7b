"""Take an LMS export (zip or folder) into nbgrader's submitted/<student>/<assignment>/ layout.

Every upload is treated as hostile: names never become paths (student and assignment ids are
rebuilt from a safe character set), archive members are read through size-capped readers and
never extracted by name, symlinks, device files and path traversal are refused.

Recognised layouts (any mix, in a zip or a folder):
- flat ``<student>_<assignment>.ipynb`` (also ``Copy of``, ``(1)``, spaces, case, unicode);
- Canvas ``<name>[_late]_<userid>_<submissionid>_<file>.ipynb`` -> student ``<name>_<userid>``;
- Blackboard ``<title>_<user>_attempt_<YYYY-MM-DD-HH-MM-SS>[_<file>].ipynb``;
- Moodle folders ``<Full Name>_<id>_assignsubmission_file_/<file>.ipynb`` -> the full name;
- nested ``<student>/<assignment>/<file>.ipynb`` (nbgrader's own submitted/ layout too).
The assignment comes from the file name, else from its folders, else from the notebook itself
(nbgrader grade ids of the masters, or Colab's stored notebook name).

Conflicts (several files for one student and assignment) are all listed in the report; the
one kept is the latest: timestamp written in its name, else its modification time, then the
higher "(n)" copy number, then the last path in sort order. An existing submitted notebook
is never overwritten unless ``force=True``. Corrupt notebooks are taken (the grader gives them
zero with a comment) and flagged.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import hashlib
import json
import os
import re
import stat
import sys
import textwrap
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograding.course.release import ASSIGNMENT_IDS

COURSE_ROOT = Path(__file__).resolve().parent
REPORT_NAME = "intake_report"
JUNK_DIRS = {"__macosx", ".ipynb_checkpoints", ".git", "__pycache__", ".trash", ".trashes"}
JUNK_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
NOTEBOOK_SUFFIX = re.compile(r"\.ipynb(\.(json|txt))?$", re.IGNORECASE)
COPY_NUMBER = re.compile(r"\((\d{1,3})\)")
COPY_WORDS = re.compile(r"(^|[\s_-])(copy of|copy|kopie|副本)(?=$|[\s_-])", re.IGNORECASE)
TIMESTAMP = re.compile(
    r"(?<!\d)(20\d\d)[-_.]?([01]\d)[-_.]?([0-3]\d)[T_ .-]?([0-2]\d)[-_.:h]?([0-5]\d)"
    r"(?:[-_.:m]?([0-5]\d))?(?!\d)"
)
CANVAS = re.compile(r"^(?P<name>[a-z][a-z0-9-]*)(?:_late)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
BLACKBOARD = re.compile(
    r"^(?P<title>.*?)_(?P<user>[^_]+)_attempt_(?P<ts>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file>.*))?$"
)
MOODLE_DIR = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assign(?:submission|feedback)_\w*$")
SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Flagged, not corrupt: the grader converts these (autograding.grading.submission.parse_notebook).
OLD_FORMAT = "old notebook format (nbformat 3); the grader converts it to format 4"


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
class IntakeEntry:
    """What happened to one uploaded file, and why."""

    source: str
    action: str  # taken | renamed | unchanged | superseded | kept-existing | refused | ignored
    reason: str
    student: str = ""
    assignment: str = ""
    destination: str = ""
    flags: list[str] = field(default_factory=list)
    sha256: str = ""
    time: str = ""


@dataclass
class IntakeReport:
    """The result of one intake: every uploaded file with its fate, and the report files."""

    source: str
    submitted_dir: str
    entries: list[IntakeEntry]
    json_path: str = ""
    csv_path: str = ""

    ACCEPTED = ("taken", "renamed", "unchanged")

    @property
    def accepted(self) -> list[IntakeEntry]:
        """Entries whose file is now the submitted notebook of its student and assignment."""
        return [e for e in self.entries if e.action in self.ACCEPTED]

    @property
    def refused(self) -> list[IntakeEntry]:
        """Entries not used: refused, superseded by a later copy, or blocked by an existing file."""
        return [e for e in self.entries if e.action in ("refused", "superseded", "kept-existing")]

    @property
    def flagged(self) -> list[IntakeEntry]:
        """Accepted entries with a warning (corrupt notebook, name/content mismatch, ...)."""
        return [e for e in self.accepted if e.flags]

    def submissions(self) -> dict[tuple[str, str], Path]:
        """(student, assignment) -> submitted notebook path, for the accepted entries."""
        return {(e.student, e.assignment): Path(e.destination) for e in self.accepted}

    def counts(self) -> dict[str, int]:
        """Number of entries per action."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.action] = counts.get(entry.action, 0) + 1
        return counts

    def table(self, width: int = 100) -> str:
        """A plain-text table of every entry, one line each; then every flagged file with all
        it was flagged for, unclipped; then a one-line summary."""
        rows = [("action", "student", "assignment", "uploaded file", "flags / why")]
        for e in self.entries:
            # Flags first: the column is narrow and a flag matters more than the reason.
            rows.append((e.action, e.student, e.assignment, e.source,
                         "; ".join([*e.flags, e.reason])))
        widths = [13, 16, 18, 28]
        lines = []
        for row in rows:
            cells = [_clip(text, w).ljust(w) for text, w in zip(row, widths, strict=False)]
            last = width - sum(widths) - len(widths)
            lines.append(" ".join([*cells, _clip(row[-1], last)]).rstrip())
        flagged = [e for e in self.entries if e.flags]
        if flagged:
            lines.append(f"flagged ({len(flagged)}):")
        for e in flagged:
            whose = f"{e.student}/{e.assignment}" if e.student else e.assignment or "?"
            lines += textwrap.wrap(f"{e.source} ({e.action}, {whose}): {'; '.join(e.flags)}",
                                   width, initial_indent="  ", subsequent_indent="      ")
        summary = ", ".join(f"{n} {action}" for action, n in sorted(self.counts().items()))
        summary += f"; {len(flagged)} flagged" if flagged else ""
        lines.append(f"{len(self.entries)} uploaded files: {summary or 'none'}")
        return "\n".join(lines)


@dataclass
class _Upload:
    """One regular file found in the source, with a size-capped reader."""

    path: str
    mtime: float
    size: int
    read: Callable[[], bytes]
    label: str = ""

    def __post_init__(self):
        self.label = self.label or self.path


@dataclass
class _Candidate:
    """An upload recognised as a notebook of one student and assignment."""

    upload: _Upload
    data: bytes
    student: str
    assignment: str
    renamed: bool
    reasons: list[str]
    flags: list[str]
    time: float
    time_from_name: bool
    copy_number: int


def intake_uploads(
    source,
    submitted_dir,
    *,
    assignments=None,
    force: bool = False,
    course_root=None,
    limits: IntakeLimits | None = None,
    echo: bool = True,
) -> IntakeReport:
    """Copy the notebooks of an LMS export into submitted/<student>/<assignment>/<assignment>.ipynb.

    Writes intake_report.json and intake_report.csv next to `submitted_dir` (in its parent) and
    prints the table unless `echo` is False. Raises IntakeError only when `source` itself is
    unreadable; every problem with a single file is an entry of the report instead.
    """
    source = Path(source)
    submitted_dir = Path(submitted_dir)
    limits = limits or IntakeLimits()
    ids = tuple(assignments or ASSIGNMENT_IDS)
    entries: list[IntakeEntry] = []
    candidates: list[_Candidate] = []
    grade_ids = _master_grade_ids(ids, course_root)
    for item in _iter_uploads(source, submitted_dir, limits):
        if isinstance(item, IntakeEntry):
            entries.append(item)
            continue
        outcome = _classify(item, ids, grade_ids)
        if isinstance(outcome, IntakeEntry):
            entries.append(outcome)
        else:
            candidates.append(outcome)
    entries.extend(_file_candidates(candidates, submitted_dir, force))
    report = IntakeReport(str(source), str(submitted_dir), entries)
    _write_reports(report, submitted_dir.parent)
    if echo:
        print(report.table())
        print(f"report: {report.json_path} and {report.csv_path}")
    return report


# ---------------------------------------------------------------------------- reading --


def _iter_uploads(source: Path, submitted_dir: Path, limits: IntakeLimits) -> Iterator:
    """Yield an _Upload per regular file of the source, or an IntakeEntry for a refused one."""
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
    yield _Upload(path.name, st.st_mtime, st.st_size, lambda: _read_file(path, limits))


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
    skip = {_real(submitted_dir)} | {
        _real(submitted_dir.parent / f"{REPORT_NAME}.{ext}") for ext in ("json", "csv")
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
            if _real(path) in skip:
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
                yield _Upload(rel, st.st_mtime, st.st_size, _reader(path, limits))
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
            reader = _zip_reader(path, info, limits, budget)
            yield _Upload(name, mtime, info.file_size, reader, label)


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


def _zip_reader(path: Path, info, limits: IntakeLimits, budget: _Budget) -> Callable:
    """A reader that re-opens the archive and reads one member, capped at its declared size."""

    def read() -> bytes:
        cap = min(limits.max_file_bytes, max(info.file_size, 0))
        with zipfile.ZipFile(path) as archive, archive.open(info) as stream:
            return _bounded_read(stream, cap, info.filename)

    return read


# --------------------------------------------------------------------------- classify --


def _classify(upload: _Upload, ids: tuple, grade_ids: dict) -> _Candidate | IntakeEntry:
    """Recognise student and assignment of one upload, or say why it is skipped."""
    parts = [p for p in upload.path.split("/") if p not in ("", ".")]
    name = parts[-1]
    if any(p.lower() in JUNK_DIRS for p in parts[:-1]) or name.lower() in JUNK_FILES:
        return IntakeEntry(upload.label, "ignored", "system or editor junk (not a submission)")
    if name.startswith("._") or name.lower().endswith("-checkpoint.ipynb"):
        return IntakeEntry(upload.label, "ignored", "macOS resource fork or Jupyter checkpoint")
    if not NOTEBOOK_SUFFIX.search(name):
        if name.lower().endswith(".zip"):
            why = "archive inside the upload: unpack it and run intake on the folder"
        else:
            why = "not a notebook (.ipynb): only notebooks are graded"
        return IntakeEntry(upload.label, "refused", why)
    try:
        data = upload.read()
    except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as err:
        return IntakeEntry(upload.label, "refused", f"unreadable: {err}")
    stem = NOTEBOOK_SUFFIX.sub("", name)
    reasons, flags = [], []
    info = _parse_name(stem, parts[:-1], ids)
    content_id, notebook_problem = _content_assignment(data, ids, grade_ids)
    assignment = info["assignment"]
    if notebook_problem:
        flags.append(notebook_problem if notebook_problem == OLD_FORMAT
                     else f"corrupt: {notebook_problem}")
    if not assignment and content_id:
        assignment = content_id
        reasons.append("assignment recognised from the notebook's content")
    elif assignment and content_id and content_id != assignment:
        flags.append(f"name says {assignment} but the content looks like {content_id}")
    if not assignment:
        return IntakeEntry(
            upload.label, "refused",
            f"cannot tell which assignment; name it <student>_<assignment>.ipynb "
            f"with one of: {', '.join(ids)}",
        )
    raw_student = info["student"]
    if not raw_student:
        return IntakeEntry(
            upload.label, "refused",
            f"cannot tell whose notebook it is; name it <student>_{assignment}.ipynb",
            assignment=assignment,
        )
    student = safe_student_id(raw_student)
    if student != raw_student:
        reasons.append(f"student id {raw_student!r} -> {student!r}")
    if info["how"]:
        reasons.insert(0, info["how"])
    renamed = parts[-3:] != [student, assignment, f"{assignment}.ipynb"]
    stamp = info["timestamp"]
    return _Candidate(
        upload, data, student, assignment, renamed, reasons, flags,
        stamp if stamp is not None else upload.mtime, stamp is not None, info["copy"],
    )


def _parse_name(stem: str, folders: list[str], ids: tuple) -> dict:
    """Student, assignment, timestamp and copy number from a file name and its folders.

    Student priority: an LMS name pattern (Canvas, Blackboard), a Moodle submission folder,
    the folder above an assignment folder, the rest of a file name that names the assignment,
    and last the folder holding the file.
    """
    info = {"student": "", "assignment": "", "timestamp": None, "copy": 0, "how": ""}
    info["copy"] = max((int(n) for n in COPY_NUMBER.findall(stem)), default=0)
    stem = COPY_WORDS.sub(" ", COPY_NUMBER.sub(" ", stem)).strip()
    blackboard = BLACKBOARD.match(stem)
    canvas = CANVAS.match(stem)
    if blackboard:
        info["timestamp"] = _parse_timestamp(blackboard["ts"])
        text = f"{blackboard['title']} {blackboard['file'] or ''}"
        info["assignment"] = _find_assignment(text, ids)[0]
        info["student"], info["how"] = blackboard["user"], "Blackboard export name"
    elif canvas:
        file_part = canvas["file"]
        resubmission = re.search(r"-(\d{1,3})$", file_part)
        if resubmission:
            info["copy"] = max(info["copy"], int(resubmission.group(1)))
            file_part = file_part[: resubmission.start()]
        info["assignment"] = _find_assignment(file_part, ids)[0]
        info["student"] = f"{canvas['name']}_{canvas['uid']}"
        info["how"] = "Canvas export name"
    if not info["how"]:
        stamp = TIMESTAMP.search(stem)
        if stamp:
            info["timestamp"] = _parse_timestamp(stamp.group(0))
            stem = stem[: stamp.start()] + " " + stem[stamp.end():]
        info["assignment"], leftover = _find_assignment(stem, ids)
        name_student = leftover if info["assignment"] else ""
    else:
        name_student = ""
    moodle_student = folder_student = folder_assignment = ""
    for index in range(len(folders) - 1, -1, -1):
        moodle = MOODLE_DIR.match(folders[index])
        if moodle:
            moodle_student = moodle_student or moodle["name"]
            continue
        found, rest = _find_assignment(folders[index], ids)
        if found and not rest and not folder_assignment:
            folder_assignment = found
            if index > 0 and not MOODLE_DIR.match(folders[index - 1]):
                folder_student = folders[index - 1]
    parent = folders[-1] if folders and not folder_assignment else ""
    info["assignment"] = info["assignment"] or folder_assignment
    if info["how"]:
        return info
    for student, how in (
        (moodle_student, "Moodle submission folder"),
        (folder_student, f"student from folder {folder_student!r}"),
        (name_student, "student and assignment from the file name"),
        (parent, f"student from folder {parent!r}"),
    ):
        if student:
            info["student"], info["how"] = student, how
            break
    return info


def _find_assignment(text: str, ids: tuple) -> tuple[str, str]:
    """The assignment id named in `text` (lenient) and the text with that name removed."""
    slug = re.sub(r"[\W_]+", "_", unicodedata.normalize("NFKC", text).lower()).strip("_")
    best = ("", slug)
    best_len = 0
    for assignment in ids:
        short = re.sub(r"^\d+_", "", assignment)
        number = assignment.split("_", 1)[0]
        patterns = [assignment, f"{int(number)}_{short}" if number.isdigit() else assignment,
                    short, assignment.replace("_", "")]
        for pattern in patterns:
            match = re.search(rf"(?:^|_){re.escape(pattern)}(?:_|$)", slug)
            if match and len(pattern) > best_len:
                rest = (slug[: match.start()] + "_" + slug[match.end():]).strip("_")
                best, best_len = (assignment, rest), len(pattern)
    return best


def _content_assignment(data: bytes, ids: tuple, grade_ids: dict) -> tuple[str, str]:
    """(assignment recognised from the notebook's content or "", corruption description)."""
    problem = notebook_problem(data)
    if problem:
        return "", problem
    nb = json.loads(data.decode("utf-8"))
    colab_name = str(nb.get("metadata", {}).get("colab", {}).get("name", ""))
    found = _find_assignment(NOTEBOOK_SUFFIX.sub("", colab_name), ids)[0] if colab_name else ""
    if found:
        return found, ""
    present = {
        cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for cell in nb.get("cells", [])
        if isinstance(cell, dict) and isinstance(cell.get("metadata"), dict)
    } - {None}
    scores = sorted(((len(present & known), a) for a, known in grade_ids.items()), reverse=True)
    if scores and scores[0][0] > 0 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        return scores[0][1], ""
    return "", ""


def notebook_problem(data: bytes) -> str:
    """Why `data` is not a gradable nbformat-4 notebook, or "" when it looks fine."""
    if not data.strip():
        return "empty file"
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "not UTF-8 text (binary file?)"
    except json.JSONDecodeError as err:
        # Some of json's messages end in "at" ("Unterminated string starting at"): one "at".
        where = f"line {err.lineno} column {err.colno}"
        return f"not JSON ({err.msg.removesuffix(' at')} at {where})"
    if not isinstance(nb, dict) or "nbformat" not in nb:
        return "JSON but not a notebook (no 'nbformat' field)"
    version = nb.get("nbformat")
    if version == 3:
        return OLD_FORMAT
    if version != 4:
        return (f"notebook format {version!r} is not supported (expected 4); open and save it "
                "in a current Jupyter or Colab")
    if not isinstance(nb.get("cells"), list):
        return "notebook without a 'cells' list"
    return ""


def _master_grade_ids(ids: tuple, course_root) -> dict[str, set]:
    """grade_id sets of each assignment's master (or released notebook), for content matching."""
    root = Path(course_root or COURSE_ROOT)
    result = {}
    for assignment in ids:
        for path in (root / "source" / assignment / f"{assignment}.ipynb",
                     root.parent / "notebooks" / f"{assignment}.ipynb"):
            try:
                nb = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            result[assignment] = {
                c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                for c in nb.get("cells", [])
            } - {None}
            break
    return result


def _parse_timestamp(text: str) -> float | None:
    """Seconds since the epoch (UTC) of a timestamp written in a file name, or None."""
    match = TIMESTAMP.search(text)
    if not match:
        return None
    fields = [int(g) if g else 0 for g in match.groups()]
    try:
        moment = dt.datetime(*fields, tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return moment.timestamp()


def _slug_words(text: str) -> str:
    """Lower-case ASCII words joined by underscores."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def safe_student_id(raw: str) -> str:
    """A student id made only of [a-z0-9_-], never empty, never a path; stable for a name."""
    slug = _slug_words(raw)[:64].strip("_-")
    if SAFE_ID.match(slug):
        return slug
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"student_{digest}"


# ------------------------------------------------------------------------------ write --


def _sort_key(candidate: _Candidate) -> tuple:
    """Latest wins: name timestamp or mtime, then copy number, then path."""
    return (candidate.time, candidate.copy_number, candidate.upload.label)


def _file_candidates(candidates: list, submitted_dir: Path, force: bool) -> list[IntakeEntry]:
    """Pick one file per (student, assignment), write it, and describe every candidate."""
    groups: dict[tuple[str, str], list[_Candidate]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.student, candidate.assignment), []).append(candidate)
    entries = []
    for _key, group in sorted(groups.items()):
        group.sort(key=_sort_key)
        winner = group[-1]
        entry = _write_winner(winner, submitted_dir, force)
        if len(group) > 1:
            entry.flags.append(f"{len(group)} files for this student and assignment; kept latest")
        entries.append(entry)
        for loser in group[:-1]:
            entries.append(_entry(
                loser, "superseded",
                f"older than {winner.upload.label} ({_when(winner)} vs {_when(loser)}); "
                "the latest copy is graded",
            ))
    return entries


def _write_winner(candidate: _Candidate, submitted_dir: Path, force: bool) -> IntakeEntry:
    """Write one chosen notebook to its canonical place, never silently over another file."""
    folder = submitted_dir / candidate.student / candidate.assignment
    dest = folder / f"{candidate.assignment}.ipynb"
    how = "; ".join(candidate.reasons) if candidate.reasons else "already in nbgrader layout"
    for path in (submitted_dir, submitted_dir / candidate.student, folder, dest):
        if path.is_symlink():
            return _entry(candidate, "refused", f"{path} is a symbolic link; remove it first")
    if dest.exists():
        old = dest.read_bytes()
        if old == candidate.data:
            return _entry(candidate, "unchanged", "identical to the submitted file", dest)
        if not force:
            return _entry(
                candidate, "kept-existing",
                f"{dest} already exists with other content; rerun with --force to replace it",
                dest,
            )
        candidate.flags.append("replaced the existing submitted file (--force)")
    folder.mkdir(parents=True, exist_ok=True)
    if not _real(dest).is_relative_to(_real(submitted_dir)):
        return _entry(candidate, "refused", f"{dest} resolves outside {submitted_dir}")
    tmp = folder / f".{dest.name}.intake-tmp"
    tmp.write_bytes(candidate.data)
    os.utime(tmp, (candidate.upload.mtime, candidate.upload.mtime))
    os.replace(tmp, dest)
    if candidate.time_from_name:
        stamp = dt.datetime.fromtimestamp(candidate.time, dt.timezone.utc)
        (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    action = "renamed" if candidate.renamed else "taken"
    return _entry(candidate, action, how, dest)


def _entry(candidate: _Candidate, action: str, reason: str, dest: Path | None = None):
    """An IntakeEntry describing a candidate."""
    return IntakeEntry(
        candidate.upload.label, action, reason, candidate.student, candidate.assignment,
        str(dest) if dest else "", list(candidate.flags),
        hashlib.sha256(candidate.data).hexdigest(), _when(candidate),
    )


def _when(candidate: _Candidate) -> str:
    """The time used to order copies, readable, with its origin."""
    stamp = dt.datetime.fromtimestamp(candidate.time, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} UTC ({'name' if candidate.time_from_name else 'mtime'})"


def _write_reports(report: IntakeReport, folder: Path) -> None:
    """intake_report.json and intake_report.csv in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{REPORT_NAME}.json"
    csv_path = folder / f"{REPORT_NAME}.csv"
    payload = {
        "source": report.source,
        "submitted_dir": report.submitted_dir,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "counts": report.counts(),
        "rule": "latest copy wins: timestamp in its name, else mtime, then (n), then path",
        "entries": [asdict(e) for e in report.entries],
    }
    json_path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", "utf-8")
    columns = list(IntakeEntry.__dataclass_fields__)
    with csv_path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        for entry in report.entries:
            row = asdict(entry)
            row["flags"] = "; ".join(entry.flags)
            writer.writerow(row)
    report.json_path, report.csv_path = str(json_path), str(csv_path)


def _rel(path: Path, root: Path) -> str:
    """`path` relative to `root`, with forward slashes."""
    return path.relative_to(root).as_posix()


def _real(path: Path) -> Path:
    """Absolute path with symlinks resolved (non-strict)."""
    return Path(os.path.realpath(path))


def _clip(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis."""
    text = str(text).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


# -------------------------------------------------------------------------------- cli --


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the `intake` command (the pipeline CLI reuses them)."""
    parser.add_argument("source", help="the LMS export: a .zip or the folder it unpacks to")
    parser.add_argument(
        "--submitted", default="submitted",
        help="nbgrader submitted/ folder to fill (default: ./submitted); the report "
        "intake_report.json/.csv goes into its parent folder",
    )
    parser.add_argument(
        "--assignments", nargs="+", metavar="ID",
        help=f"assignment ids to recognise (default: {' '.join(ASSIGNMENT_IDS)})",
    )
    parser.add_argument(
        "--force", action="store_true",
        help="replace submitted notebooks that already exist with different content",
    )


def run(args: argparse.Namespace) -> int:
    """Run the intake command; 0 when every notebook found a place, 1 otherwise."""
    try:
        report = intake_uploads(
            args.source, args.submitted, assignments=args.assignments, force=args.force
        )
    except IntakeError as err:
        print(f"intake failed: {err}", file=sys.stderr)
        return 2
    blocked = [e for e in report.entries if e.action == "kept-existing"]
    return 1 if blocked else 0


def main(argv=None) -> int:
    """`python -m autograding.intake SOURCE [--submitted DIR] [--force]`."""
    parser = argparse.ArgumentParser(
        prog="python -m autograding intake",
        description="Copy notebooks from an LMS export into nbgrader's submitted/ layout, "
        "with a report of what was taken, renamed or refused, and why.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
