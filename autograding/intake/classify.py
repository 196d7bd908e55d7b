"""Recognise one upload as a notebook of one student and assignment, or say why it is skipped.

The assignment comes from the file name, else from its folders, else from the notebook itself;
a name that disagrees with the content is flagged, and corrupt notebooks are taken and flagged
(the grader gives them zero with a comment). Only a time the LMS wrote into the name (a
Blackboard attempt) is the submission's time; Canvas marks late files without a time, which
is flagged.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass

from autograding.intake.names import NOTEBOOK_SUFFIX, parse_name, safe_student_id
from autograding.intake.notebook_content import OLD_FORMAT, content_assignment
from autograding.intake.report import IntakeEntry
from autograding.intake.uploads import Upload

JUNK_DIRS = {"__macosx", ".ipynb_checkpoints", ".git", "__pycache__", ".trash", ".trashes"}
JUNK_FILES = {".ds_store", "thumbs.db", "desktop.ini"}


@dataclass
class Candidate:
    """An upload recognised as a notebook of one student and assignment."""

    upload: Upload
    data: bytes
    student: str
    assignment: str
    renamed: bool
    reasons: list[str]
    flags: list[str]
    time: float
    time_from_name: bool
    copy_number: int
    lms_time: bool = False  # `time` was written by the LMS: the submission's time
    time_source: str = ""  # where `time` came from, for the report


def _time_source(info: dict, zone: dt.tzinfo) -> str:
    """Where an upload's time came from, and whether it is the submission's time."""
    if info["lms_time"]:
        return f"Blackboard attempt time in the file name (read in {zone})"
    if info["timestamp"] is not None:
        return ("none: the time in the file name was written by whoever named the file, not "
                "by the LMS (it only orders copies)")
    if info["lms_late"]:
        return "none: Canvas names hold no time (Canvas marked this file late)"
    return "none: the file's modification time is not a submission time"


def classify(upload: Upload, ids: tuple, grade_ids: dict,
             zone: dt.tzinfo = dt.timezone.utc) -> Candidate | IntakeEntry:
    """Recognise student and assignment of one upload, or say why it is skipped (`zone`:
    the zone of the times an LMS writes into file names)."""
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
    info = parse_name(stem, parts[:-1], ids, zone)
    content_id, notebook_problem = content_assignment(data, ids, grade_ids)
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
    if info["lms_late"]:
        flags.append("Canvas marks it late, but its name holds no submission time: no "
                     "timestamp.txt, so no late penalty unless you add one")
    renamed = parts[-3:] != [student, assignment, f"{assignment}.ipynb"]
    stamp = info["timestamp"]
    return Candidate(
        upload, data, student, assignment, renamed, reasons, flags,
        stamp if stamp is not None else upload.mtime, stamp is not None, info["copy"],
        info["lms_time"], _time_source(info, zone),
    )
