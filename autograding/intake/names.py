"""Student, assignment, timestamp and copy number from an uploaded file's name and its folders.

Recognised layouts (any mix):
- flat ``<student>_<assignment>.ipynb`` (also ``Copy of``, ``(1)``, spaces, case, unicode);
- Canvas ``<name>[_late]_<userid>_<submissionid>_<file>.ipynb`` -> student ``<name>_<userid>``
  (no time: only Canvas's `late` mark);
- Blackboard ``<title>_<user>_attempt_<YYYY-MM-DD-HH-MM-SS>[_<file>].ipynb``: the attempt's
  time, written by Blackboard, so a submission time (in the zone the caller names);
- Moodle folders ``<Full Name>_<id>_assignsubmission_file_/<file>.ipynb`` -> the full name;
- nested ``<student>/<assignment>/<file>.ipynb`` (nbgrader's own submitted/ layout too).
Student ids are rebuilt from a safe character set, so a name never becomes a path. A time
anywhere else in a name orders copies but is no submission time: whoever named the file wrote
it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata

NOTEBOOK_SUFFIX = re.compile(r"\.ipynb(\.(json|txt))?$", re.IGNORECASE)
COPY_NUMBER = re.compile(r"\((\d{1,3})\)")
COPY_WORDS = re.compile(r"(^|[\s_-])(copy of|copy|kopie|副本)(?=$|[\s_-])", re.IGNORECASE)
TIMESTAMP = re.compile(
    r"(?<!\d)(20\d\d)[-_.]?([01]\d)[-_.]?([0-3]\d)[T_ .-]?([0-2]\d)[-_.:h]?([0-5]\d)"
    r"(?:[-_.:m]?([0-5]\d))?(?!\d)"
)
CANVAS = re.compile(
    r"^(?P<name>[a-z][a-z0-9-]*)(?P<late>_late)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
BLACKBOARD = re.compile(
    r"^(?P<title>.*?)_(?P<user>[^_]+)_attempt_"
    r"(?P<ts>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file>.*))?$"
)
MOODLE_DIR = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assign(?:submission|feedback)_\w*$")
SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def parse_name(stem: str, folders: list[str], ids: tuple, zone: dt.tzinfo = dt.timezone.utc
               ) -> dict:
    """Student, assignment, timestamp and copy number from a file name and its folders;
    `lms_time` is True when the LMS wrote the timestamp (a Blackboard attempt, read in
    `zone`), `lms_late` when Canvas marked the file late.

    Student priority: an LMS name pattern (Canvas, Blackboard), a Moodle submission folder,
    the folder above an assignment folder, the rest of a file name that names the assignment,
    and last the folder holding the file.
    """
    info = {"student": "", "assignment": "", "timestamp": None, "copy": 0, "how": "",
            "lms_time": False, "lms_late": False}
    info["copy"] = max((int(n) for n in COPY_NUMBER.findall(stem)), default=0)
    stem = COPY_WORDS.sub(" ", COPY_NUMBER.sub(" ", stem)).strip()
    blackboard = BLACKBOARD.match(stem)
    canvas = CANVAS.match(stem)
    if blackboard:
        info["timestamp"] = parse_timestamp(blackboard["ts"], zone)
        info["lms_time"] = info["timestamp"] is not None
        text = f"{blackboard['title']} {blackboard['file'] or ''}"
        info["assignment"] = find_assignment(text, ids)[0]
        info["student"], info["how"] = blackboard["user"], "Blackboard export name"
    elif canvas:
        file_part = canvas["file"]
        resubmission = re.search(r"-(\d{1,3})$", file_part)
        if resubmission:
            info["copy"] = max(info["copy"], int(resubmission.group(1)))
            file_part = file_part[: resubmission.start()]
        info["assignment"] = find_assignment(file_part, ids)[0]
        info["student"] = f"{canvas['name']}_{canvas['uid']}"
        info["how"] = "Canvas export name"
        info["lms_late"] = bool(canvas["late"])
    if not info["how"]:
        stamp = TIMESTAMP.search(stem)
        if stamp:
            info["timestamp"] = parse_timestamp(stamp.group(0))
            stem = stem[: stamp.start()] + " " + stem[stamp.end():]
        info["assignment"], leftover = find_assignment(stem, ids)
        name_student = leftover if info["assignment"] else ""
    else:
        name_student = ""
    moodle_student = folder_student = folder_assignment = ""
    for index in range(len(folders) - 1, -1, -1):
        moodle = MOODLE_DIR.match(folders[index])
        if moodle:
            moodle_student = moodle_student or moodle["name"]
            continue
        found, rest = find_assignment(folders[index], ids)
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


def find_assignment(text: str, ids: tuple) -> tuple[str, str]:
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


def parse_timestamp(text: str, zone: dt.tzinfo = dt.timezone.utc) -> float | None:
    """Seconds since the epoch of a timestamp written in a file name (in `zone`), or None."""
    match = TIMESTAMP.search(text)
    if not match:
        return None
    fields = [int(g) if g else 0 for g in match.groups()]
    try:
        moment = dt.datetime(*fields, tzinfo=zone)
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
