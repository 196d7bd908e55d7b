"""The class roster from the LMS: read from its CSV, and each graded student matched to one row.

Reading. UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8" writes one); the
delimiter is `,`, `;` (Excel's where the decimal mark is a comma) or a tab, whichever splits
the header into the most fields, or the one an Excel `sep=` first line names; blank lines are
skipped; column names are compared without case and extra spaces. Kinds of roster:
- `canvas`: Canvas's gradebook export (Grades > Export): Student, ID, SIS User ID, SIS Login
  ID, Section, one column per assignment `Title (canvas id)`, then read-only totals; a
  "Points Possible" row and "Muted"/"Manual Posting" rows are not students.
- `moodle-worksheet`: a Moodle assignment's offline grading worksheet: Identifier
  ("Participant N"), Full name, Email address, Status, Grade, Maximum Grade, ...
- `moodle`: Moodle's grade export (Grades > Export > Plain text file: First name, Last name,
  ID number, Institution, Department, Email address, one column per grade item) or a
  participants list with some of these columns.
- `generic`: any other CSV with an identifier column (id, username, student id, email).

Matching a graded student id (the folder name under submitted/; intake makes it lowercase
[a-z0-9_-]) to a roster row. Both sides are normalized the same way: NFKD with accents
dropped, lowercase, every run of other characters one `_` ("José Núñez" -> jose_nunez); text
with no ASCII letters (CJK names) keeps its NFKC letters instead ("王芳" -> 王芳). Tiers, in
order; the first tier that finds any row decides:
1. id: an identifier column (ID, SIS User ID, SIS Login ID, Integration ID, ID number,
   Username, Student ID) equals the student id;
2. Canvas download name: the student id ends in `_<digits>` (intake names a Canvas upload
   `<name>_<canvas user id>`) and the digits are the row's Canvas ID;
3. e-mail: a roster e-mail (an e-mail column, or an identifier holding an `@`) equals the
   student id, whole or its local part (amy.lee@uni.edu: amy_lee_uni_edu or amy_lee); the
   gradebook's own e-mail of the student counts too;
4. name: first and last name in either order, with or without the `_` between them (Canvas's
   "Lee, Amy", Moodle's First name + Last name or Full name).
A tier that finds two or more rows makes the student ambiguous: no row is chosen. A row found
by two or more students is chosen for none of them. Such students, and those no tier finds,
are the problems the export lists; nothing is guessed.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("canvas", "moodle-worksheet", "moodle", "generic")
TIERS = ("id", "Canvas download name", "e-mail", "name")
# Column roles by their normalized names (see _norm).
ID_COLUMNS = ("id", "sis user id", "sis login id", "integration id", "id number", "idnumber",
              "username", "user name", "student id", "student_id", "login id")
EMAIL_COLUMNS = ("email address", "email", "e-mail", "e-mail address", "mail")
NAME_COLUMNS = ("student", "full name", "name", "student name")
FIRST_COLUMNS = ("first name", "firstname", "first_name", "given name")
LAST_COLUMNS = ("last name", "lastname", "last_name", "surname", "family name")
CANVAS_META_ROW = re.compile(r"^\s*(muted|manual posting.*)?\s*$", re.IGNORECASE)


class RosterError(Exception):
    """A roster the export cannot use; the message names the file and the fix."""


def _norm(header: str) -> str:
    """A column name as compared: no BOM, no case, single spaces."""
    return " ".join(header.replace("\ufeff", "").split()).casefold()


def ascii_key(text: str) -> str:
    """Accents dropped, lowercase, every run of other characters one `_`."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def unicode_key(text: str) -> str:
    """NFKC, case-folded, every run of non-word characters one `_` (keeps CJK letters)."""
    return re.sub(r"[\W_]+", "_", unicodedata.normalize("NFKC", text).casefold()).strip("_")


def keys_of(text: str) -> set[str]:
    """The forms a value is matched by (ASCII and, for non-Latin text, unicode)."""
    return {key for key in (ascii_key(text), unicode_key(text)) if key}


@dataclass(frozen=True)
class RosterRow:
    """One student row of the roster: its line in the file and its cells."""

    line: int
    values: tuple[str, ...]
    name: str


@dataclass
class Roster:
    """A roster as read: its kind, header, student rows and Canvas's Points Possible row."""

    path: Path
    kind: str
    header: list[str]
    rows: list[RosterRow]
    points_row: RosterRow | None = None
    delimiter: str = ","

    def column(self, *names: str) -> int | None:
        """Index of the first column with one of these (normalized) names."""
        normalized = [_norm(h) for h in self.header]
        for name in names:
            if name in normalized:
                return normalized.index(name)
        return None

    def columns(self, names: tuple[str, ...]) -> list[int]:
        """Indexes of every column with one of these names, in the file's order."""
        return [i for i, h in enumerate(self.header) if _norm(h) in names]

    def value(self, row: RosterRow, index: int | None) -> str:
        """A row's cell, stripped ('' without that column)."""
        if index is None or index >= len(row.values):
            return ""
        return row.values[index].strip()


def _delimiter(first_line: str) -> str:
    """The delimiter that splits the header into the most fields (`,` on a tie)."""
    counts = {sep: len(next(csv.reader([first_line], delimiter=sep)))
              for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: (counts[sep], sep == ","))


def _kind(roster: Roster) -> str:
    """Which LMS file this is, from its columns."""
    if roster.column("student") is not None and roster.column("id") is not None:
        return "canvas"
    if roster.column("identifier") is not None and roster.column("grade") is not None:
        return "moodle-worksheet"
    if (roster.column(*FIRST_COLUMNS, *LAST_COLUMNS) is not None
            and roster.column("email address", "id number", "username") is not None):
        return "moodle"
    return "generic"


def _display_name(roster: Roster, values: tuple[str, ...]) -> str:
    """The row's name as the roster writes it (for messages)."""
    row = RosterRow(0, values, "")
    name = roster.value(row, roster.column(*NAME_COLUMNS))
    if name:
        return name
    parts = (roster.value(row, roster.column(*FIRST_COLUMNS)),
             roster.value(row, roster.column(*LAST_COLUMNS)))
    return " ".join(p for p in parts if p)


def read_roster(path: Path) -> Roster:
    """Read a roster CSV; RosterError when it cannot be used as one."""
    path = Path(path)
    hint = ("the CSV downloaded from the LMS (Canvas: Grades > Export; Moodle: Grades > "
            "Export > Plain text file, or an assignment's grading worksheet)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(f"{path}: no such file; --roster takes {hint}") from None
    except OSError as err:
        raise RosterError(
            f"{path}: cannot be read ({err.strerror}); --roster takes {hint}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text; save it again as CSV UTF-8 (Excel: File > "
                          "Save As > CSV UTF-8)") from None
    sep_line = re.match(r"^sep=(.)\r?\n", text)
    if sep_line:
        delimiter, text = sep_line.group(1), text[sep_line.end():]
    else:
        delimiter = _delimiter(text.split("\n", 1)[0].rstrip("\r"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        lines = [(reader.line_num, row) for row in reader]
    except csv.Error as err:
        raise RosterError(f"{path}: not a readable CSV file ({err})") from None
    lines = [(number, row) for number, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        raise RosterError(f"{path}: empty; --roster takes {hint}")
    header = [cell.replace("\ufeff", "").strip() for cell in lines[0][1]]
    roster = Roster(path, "generic", header, [], delimiter=delimiter)
    roster.kind = _kind(roster)
    for number, cells in lines[1:]:
        values = tuple(cells) + ("",) * (len(header) - len(cells))
        row = RosterRow(number, values, _display_name(roster, values))
        if roster.kind == "canvas" and "Points Possible" in values[0]:
            roster.points_row = row
        elif roster.kind == "canvas" and all(CANVAS_META_ROW.match(v) for v in values):
            continue
        else:
            roster.rows.append(row)
    if not roster.columns(ID_COLUMNS + EMAIL_COLUMNS) and roster.kind != "moodle-worksheet":
        raise RosterError(
            f"{path}: no column to match students by; it needs one of ID, SIS Login ID, ID "
            f"number, Username, Student ID or Email address (found: {', '.join(header)})")
    return roster


@dataclass
class Match:
    """How one graded student was matched: the row, or why none was chosen."""

    student_id: str
    rows: tuple[RosterRow, ...] = ()
    how: str = ""
    problem: str = ""

    @property
    def row(self) -> RosterRow | None:
        """The roster row of this student, when exactly one was chosen."""
        return self.rows[0] if len(self.rows) == 1 and not self.problem else None


@dataclass
class Matching:
    """Every graded student's match, and the reverse: the student of each roster line."""

    matches: dict[str, Match] = field(default_factory=dict)

    def chosen(self) -> dict[int, str]:
        """Roster line -> the graded student chosen for that row."""
        return {m.row.line: m.student_id for m in self.matches.values() if m.row}

    def contested(self) -> set[int]:
        """Roster lines that students compete for or are ambiguous between: their cells are
        left as the roster has them."""
        return {row.line for m in self.matches.values() if m.problem for row in m.rows}

    @property
    def problems(self) -> list[Match]:
        """Students without a chosen row, by student id."""
        return [m for _, m in sorted(self.matches.items()) if m.problem]


def _row_keys(roster: Roster, row: RosterRow) -> dict[str, set[str]]:
    """The keys a row is found by, per tier."""
    keys = {tier: set() for tier in TIERS}
    for index in roster.columns(ID_COLUMNS):
        value = roster.value(row, index)
        keys["id"] |= keys_of(value)
        if "@" in value:
            keys["e-mail"] |= keys_of(value) | keys_of(value.split("@", 1)[0])
    if roster.kind == "canvas" and roster.value(row, roster.column("id")).isdigit():
        keys["Canvas download name"].add(roster.value(row, roster.column("id")))
    for index in roster.columns(EMAIL_COLUMNS):
        value = roster.value(row, index)
        if value:
            keys["e-mail"] |= keys_of(value) | keys_of(value.split("@", 1)[0])
    keys["name"] = _name_keys(roster, row)
    return keys


def _name_keys(roster: Roster, row: RosterRow) -> set[str]:
    """First and last name in both orders, joined by `_` and by nothing."""
    first = roster.value(row, roster.column(*FIRST_COLUMNS))
    last = roster.value(row, roster.column(*LAST_COLUMNS))
    full = roster.value(row, roster.column(*NAME_COLUMNS))
    if not (first or last) and "," in full:  # Canvas's "Last, First"
        last, first = (part.strip() for part in full.split(",", 1))
    keys = keys_of(full.replace(",", " ")) if full else set()
    if first and last:
        for words in ((first, last), (last, first)):
            for key in keys_of(" ".join(words)):
                keys |= {key, key.replace("_", "")}
    return keys


def match_students(roster: Roster, students: dict[str, dict]) -> Matching:
    """Match each graded student (id -> its gradebook row: names, email) by the tiers."""
    index = {tier: {} for tier in TIERS}
    for row in roster.rows:
        for tier, keys in _row_keys(roster, row).items():
            for key in keys:
                index[tier].setdefault(key, []).append(row)
    matching = Matching()
    for student_id, info in students.items():
        match = Match(student_id)
        for tier in TIERS:
            found = {}
            for key in _student_keys(student_id, info, tier):
                for row in index[tier].get(key, []):
                    found[row.line] = row
            if found:
                match.rows = tuple(found[line] for line in sorted(found))
                match.how = tier
                break
        if not match.rows:
            match.problem = "not in the roster"
        elif len(match.rows) > 1:
            lines = ", ".join(f"line {r.line} ({r.name})" for r in match.rows)
            match.problem = (f"ambiguous: {len(match.rows)} roster rows match by "
                             f"{match.how}: {lines}")
        matching.matches[student_id] = match
    _mark_shared_rows(matching)
    return matching


def _student_keys(student_id: str, info: dict, tier: str) -> set[str]:
    """The keys a graded student is looked up by in one tier."""
    if tier == "Canvas download name":
        number = re.search(r"_(\d+)$", student_id)
        return {number.group(1)} if number else set()
    keys = keys_of(student_id)
    email = (info.get("email") or "").strip()
    if tier == "e-mail" and email:
        keys |= keys_of(email)
    return keys


def _mark_shared_rows(matching: Matching) -> None:
    """A row chosen by several students is chosen for none of them."""
    by_line = {}
    for match in matching.matches.values():
        if len(match.rows) == 1 and not match.problem:
            by_line.setdefault(match.rows[0].line, []).append(match)
    for sharing in by_line.values():
        if len(sharing) > 1:
            names = ", ".join(m.student_id for m in sharing)
            for match in sharing:
                row = match.rows[0]
                match.problem = (f"shared: roster line {row.line} ({row.name}) matches "
                                 f"{len(sharing)} graded students: {names}")
