"""LMS grade files from grades.csv's rows and a roster: Canvas's and Moodle's grade imports.

`export --format canvas|moodle --roster ROSTER.csv` writes, next to grades.csv, a file the
LMS imports as it is, with one row per roster student (roster order), plus unmatched.csv.

Canvas (OUT/canvas_grades.csv), for Grades > Import. Canvas's importer (canvas-lms,
app/models/gradebook_importer.rb, https://github.com/instructure/canvas-lms; the guide is
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807)
takes a header whose first columns are Student and ID, then SIS User ID and SIS Login ID, and
Section last; each further column is an assignment: "Title (canvas id)" fills that assignment,
an exact title without the id fills the assignment of that title, anything else creates a
new assignment. A row whose Student cell holds "Points Possible" gives points, not grades.
It finds a student by ID, else SIS User ID, else SIS Login ID, else by name; it takes a
blank cell where Canvas has a score as a change to that score. This file: Student, ID, SIS
User ID, SIS Login ID, Section (copied from the roster, empty where it has no such column),
one column per assignment, and the roster's Points Possible row when it has one.

Moodle, OUT/moodle_grades.csv, one of two files by the roster given:
- a grade export or participants list -> a file for the gradebook's CSV import (Grades >
  Import > CSV file; https://docs.moodle.org/311/en/Grade_import; moodle
  grade/import/csv/classes/load_data.php): the roster's name and identifier columns (First
  name, Last name, ID number, Username, Email address, as the roster names them), then one
  column per assignment. On import, "Identify user by" maps one identifier column (Email
  address to useremail, ID number to useridnumber, Username to username) and each assignment
  column is mapped to its grade item. An empty cell or "-" sets "no grade"; a row whose user
  is not found stops the whole import, so only roster rows are written;
- an assignment's offline grading worksheet (Identifier, Full name, Email address, Status,
  Grade, Maximum Grade, ..., Last modified (grade), ...) -> the same worksheet, every column
  kept, its Grade column filled, for that assignment's "Upload grading worksheet" (moodle
  mod/assign/feedback/offline/importgradeslib.php: it finds Identifier, Grade and Last
  modified (grade) by their English names, skips empty grades and grades above the maximum).
  One worksheet is one assignment: the only one handed in, or the one `--column ID=Grade`
  names.

Rules:
- The grade is grades.csv's `score`: nbgrader's score after its late penalty (`raw_score`,
  before it, stays in grades.csv). `--points raw` (default) writes it in the master's points;
  `percent` writes 100 * score / max_score; `lms` scales it to the LMS's points possible
  (Canvas's Points Possible row, the worksheet's Maximum Grade). Numbers: at most 2 decimals,
  a `.` decimal mark. A grade above the LMS's points possible is written and warned about.
- Assignment to LMS column: `--column ID=TITLE` first (TITLE may leave out Canvas's
  "(canvas id)" when the roster has the column); else a roster column whose title, without a
  "(...)" suffix and a "Module: " prefix, is the assignment id with or without its number
  ("01 Vectorization (4821)", "Vectorization"); else a new column named by the assignment id.
- Missing work (a roster student who did not hand the assignment in, or has no graded work at
  all): `--missing keep` (default) leaves the cell as the roster has it, so the import changes
  nothing there (an empty cell when the roster has no such column); `--missing zero` writes 0.
  Rows that students compete for, or a student is ambiguous between, are always kept as the
  roster has them.
- Graded students the roster does not match (see autograding.reports.roster) are never
  dropped: unmatched.csv lists each with why, the rows it is ambiguous between, and its grades.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograding.reports.roster import (
    EMAIL_COLUMNS,
    FIRST_COLUMNS,
    ID_COLUMNS,
    LAST_COLUMNS,
    NAME_COLUMNS,
    Matching,
    Roster,
    RosterError,
    RosterRow,
    ascii_key,
    match_students,
    read_roster,
)

FORMATS, POINTS, MISSING = ("csv", "canvas", "moodle"), ("raw", "percent", "lms"), ("keep", "zero")
FILES = {"canvas": "canvas_grades.csv", "moodle": "moodle_grades.csv"}
UNMATCHED_FILE = "unmatched.csv"
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Canvas's read-only totals, and the roster columns that are about the student, not a grade.
CANVAS_TOTALS = re.compile(r"(Current|Final|Override) (Score|Points|Grade|Status)")
NOT_GRADES = (ID_COLUMNS + EMAIL_COLUMNS + NAME_COLUMNS + FIRST_COLUMNS + LAST_COLUMNS
              + ("section", "root account", "institution", "department",
                 "last downloaded from this course"))


@dataclass(frozen=True)
class LmsSettings:
    """What `export` is asked for: the format, the roster and the LMS file's options."""

    format: str = "csv"
    roster: Path | None = None
    columns: tuple[tuple[str, str], ...] = ()
    points: str = "raw"
    missing: str = "keep"


@dataclass
class LmsExport:
    """What an LMS export wrote and found."""

    path: Path | None
    unmatched_path: Path
    matching: Matching
    notes: list[str] = field(default_factory=list)
    written: int = 0
    filled: int = 0


@dataclass(frozen=True)
class Grade:
    """One student's grade in one assignment; score None: not handed in."""

    score: float | None
    max_score: float


def number_text(value: float) -> str:
    """At most 2 decimals, no trailing zeros: 3.5, 5, 0."""
    return f"{round(value, 2):.2f}".rstrip("0").rstrip(".")


def parse_number(text: str) -> float | None:
    """A number as an LMS writes it (10, 10.00, 10,00), or None."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None


def _title_key(title: str) -> str:
    """A column title without "(...)" at its end and "Module: " before it, as a key."""
    bare = re.sub(r"\s*\([^()]*\)\s*$", "", title)
    return ascii_key(re.sub(r"^[^:]{1,40}:\s*", "", bare))


def _grades(rows: list[dict]) -> tuple[dict, dict, list[str]]:
    """(grades by (student, assignment), gradebook row by student, assignments)."""
    grades, students = {}, {}
    for row in rows:
        score = row["score"].strip()
        grades[row["student_id"], row["assignment"]] = Grade(
            float(score) if score else None, float(row["max_score"] or 0))
        students.setdefault(row["student_id"], row)
    return grades, students, sorted({row["assignment"] for row in rows})


def grade_columns(roster: Roster) -> list[str]:
    """The roster's columns that hold a grade (Canvas assignments, Moodle grade items)."""
    if roster.kind not in ("canvas", "moodle"):
        return []
    return [h for h in roster.header if h and " ".join(h.split()).casefold() not in NOT_GRADES
            and not CANVAS_TOTALS.search(h)]


def assignment_columns(roster: Roster, assignments: list[str], settings: LmsSettings,
                       notes: list[str]) -> dict[str, str]:
    """Assignment id -> the LMS column title its grades go to (rule in the docstring)."""
    explicit = dict(settings.columns)
    for assignment in explicit:
        if assignment not in assignments:
            raise RosterError(f"--column {assignment}=...: no graded assignment {assignment!r}; "
                              f"the gradebook has {', '.join(assignments) or 'none handed in'}")
    if roster.kind == "moodle-worksheet":
        return _worksheet_column(roster, assignments, explicit)
    existing = grade_columns(roster)
    titles = {}
    for assignment in assignments:
        if assignment in explicit:
            wanted = explicit[assignment]
            same = [h for h in existing if h == wanted] or [
                h for h in existing if re.sub(r"\s*\(\d+\)\s*$", "", h) == wanted]
            titles[assignment] = same[0] if len(same) == 1 else wanted
            continue
        keys = {ascii_key(assignment), ascii_key(re.sub(r"^\d+_", "", assignment))}
        found = [h for h in existing if _title_key(h) in keys]
        if len(found) > 1:
            raise RosterError(f"{roster.path}: columns {', '.join(map(repr, found))} all look "
                              f"like assignment {assignment}; choose one with "
                              f"--column {assignment}=TITLE")
        titles[assignment] = found[0] if found else assignment
    for assignment, title in titles.items():
        if title not in roster.header and settings.format == "canvas":
            notes.append(f"{assignment}: no column for it in the roster; Canvas will create a "
                         f"new assignment {title!r} on import (to fill an existing one: "
                         f"--column {assignment}='Title (canvas id)')")
    doubled = {t for t in titles.values() if list(titles.values()).count(t) > 1}
    if doubled:
        raise RosterError(f"--column: two assignments go to the same column {sorted(doubled)}")
    return titles


def _worksheet_column(roster: Roster, assignments: list[str], explicit: dict) -> dict:
    """A grading worksheet is one assignment's: its Grade column takes that one."""
    grade = roster.header[roster.column("grade")]
    wrong = [f"{a}={t}" for a, t in explicit.items() if t.casefold() != grade.casefold()]
    if wrong:
        raise RosterError(f"--column {wrong[0]}: {roster.path} is a grading worksheet; its only "
                          f"grade column is {grade!r}: --column ASSIGNMENT={grade}")
    if len(explicit) == 1:
        return {next(iter(explicit)): grade}
    if len(assignments) == 1 and not explicit:
        return {assignments[0]: grade}
    raise RosterError(f"{roster.path} is one assignment's grading worksheet; name the "
                      f"assignment for its Grade column: --column ASSIGNMENT=Grade (one of "
                      f"{', '.join(assignments) or 'none handed in'})")


@dataclass
class _Table:
    """The roster's rows with the grades filled in, by the rules of the module docstring."""

    roster: Roster
    matching: Matching
    grades: dict
    titles: dict[str, str]
    settings: LmsSettings
    result: LmsExport
    over: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.chosen, self.contested = self.matching.chosen(), self.matching.contested()

    def possible(self, row: RosterRow | None, title: str) -> float | None:
        """The LMS's points possible for a column (and, in a worksheet, a row)."""
        if self.roster.kind == "moodle-worksheet" and row is not None:
            return parse_number(self.roster.value(row, self.roster.column("maximum grade")))
        index = self.roster.header.index(title) if title in self.roster.header else None
        if self.roster.points_row is None or index is None:
            return None
        return parse_number(self.roster.value(self.roster.points_row, index))

    def cell(self, row: RosterRow, assignment: str) -> str:
        """The value of one roster row's cell for one assignment."""
        title = self.titles[assignment]
        index = self.roster.header.index(title) if title in self.roster.header else None
        kept = self.roster.value(row, index)
        if row.line in self.contested:
            return kept
        student = self.chosen.get(row.line)
        grade = self.grades.get((student, assignment))
        if grade is None or grade.score is None:
            if self.settings.missing == "zero":
                self.result.filled += 1
                return "0"
            return kept
        value = self.scaled(grade, self.possible(row, title), title)
        self.result.written += 1
        limit = self.possible(row, title)
        if limit is not None and value > limit + 1e-9:
            self.over.append(f"{student} {number_text(value)} > {number_text(limit)} in {title!r}")
        return number_text(value)

    def scaled(self, grade: Grade, possible: float | None, title: str) -> float:
        """The grade in the unit --points asks for."""
        if self.settings.points == "raw":
            return grade.score
        fraction = grade.score / grade.max_score if grade.max_score else 0.0
        if self.settings.points == "percent":
            return 100 * fraction
        if possible is None:
            raise RosterError(f"--points lms: {self.roster.path} gives no points possible for "
                              f"{title!r} (Canvas: its Points Possible row; Moodle: a grading "
                              "worksheet's Maximum Grade); use --points raw or percent")
        return fraction * possible


def _canvas_rows(table: _Table) -> list[list[str]]:
    """canvas_grades.csv: Canvas's header, the Points Possible row, one row per student."""
    roster, titles = table.roster, list(table.titles.values())
    identity = [roster.column(name.casefold()) for name in CANVAS_HEADER]
    out = [CANVAS_HEADER + titles]
    table.result.notes.append("Canvas: Grades > Import, choose canvas_grades.csv, check the "
                              "changes Canvas lists, then Upload Data")
    if roster.points_row is not None:
        points = [roster.value(roster.points_row, i) for i in identity]
        for assignment, title in table.titles.items():
            possible = table.possible(None, title)
            if possible is None:  # a new column: the master's points, or 100 for percent
                grade = next((g for (_, a), g in table.grades.items() if a == assignment), None)
                possible = 100.0 if table.settings.points == "percent" else grade.max_score
            elif "read only" in roster.value(roster.points_row, roster.header.index(title)):
                raise RosterError(f"{roster.path}: column {title!r} is read only in Canvas; "
                                  f"map {assignment} to another with --column")
            points.append(number_text(possible))
        out.append(points)
    for row in roster.rows:
        out.append([roster.value(row, i) for i in identity]
                   + [table.cell(row, a) for a in table.titles])
    return out


def _moodle_rows(table: _Table) -> list[list[str]]:
    """moodle_grades.csv: the worksheet with its Grade column filled, or the identity columns
    and one column per assignment for the gradebook's CSV import."""
    roster = table.roster
    if roster.kind == "moodle-worksheet":
        ((assignment, title),) = table.titles.items()
        grade = roster.header.index(title)
        table.result.notes.append("Moodle: the assignment's submissions page > Upload grading "
                                  "worksheet (leave 'Allow updating records that have been "
                                  "modified more recently in Moodle' off)")
        out = [list(roster.header)]
        for row in roster.rows:
            values = list(row.values[: len(roster.header)])
            values[grade] = table.cell(row, assignment)
            out.append(values)
        return out
    # Moodle keeps the user of the row before for a row whose identifier is empty.
    usable = [roster.header[i] for i in roster.columns(EMAIL_COLUMNS + ID_COLUMNS)
              if all(roster.value(row, i) for row in roster.rows)]
    if not usable:
        columns = ", ".join(roster.header[i] for i in roster.columns(EMAIL_COLUMNS + ID_COLUMNS))
        raise RosterError(f"{roster.path}: no identifier column ({columns}) is filled on every "
                          "row, and Moodle's import gives a row without one the user of the row "
                          "before; fill in the empty cells or remove those rows")
    wanted = FIRST_COLUMNS + LAST_COLUMNS + NAME_COLUMNS + ID_COLUMNS + EMAIL_COLUMNS
    identity = roster.columns(wanted)
    out = [[roster.header[i] for i in identity] + list(table.titles.values())]
    for row in roster.rows:
        out.append([roster.value(row, i) for i in identity]
                   + [table.cell(row, a) for a in table.titles])
    table.result.notes.append(
        f"Moodle: Grades > Import > CSV file; Identify user by: map from {usable[0]!r} to the "
        "same user field; map each assignment column to its grade item")
    return out


def _csv_text(rows: list[list[str]]) -> str:
    """Rows as CSV text: comma-separated, quoted where needed, UTF-8."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def unmatched_rows(matching: Matching, grades: dict, assignments: list[str]) -> list[list[str]]:
    """unmatched.csv: each problem student, why, the roster rows involved, its grades."""
    out = [["student_id", "problem", "roster_rows"] + assignments]
    for match in matching.problems:
        cells = []
        for assignment in assignments:
            grade = grades.get((match.student_id, assignment))
            cells.append("" if grade is None else "missing" if grade.score is None
                         else f"{number_text(grade.score)}/{number_text(grade.max_score)}")
        rows = "; ".join(f"line {r.line}: {r.name}" for r in match.rows)
        out.append([match.student_id, match.problem, rows] + cells)
    return out


def load_roster(settings: LmsSettings) -> Roster | None:
    """The roster --roster names, checked against --format; None without one."""
    if settings.roster is None:
        return None
    roster = read_roster(settings.roster)
    if settings.format == "canvas" and roster.kind != "canvas":
        raise RosterError(f"{roster.path}: not a Canvas gradebook export (it needs the columns "
                          f"{', '.join(CANVAS_HEADER)}); in Canvas: Grades > Export > Export "
                          "Entire Gradebook, and pass that file")
    if settings.format == "moodle" and roster.kind == "canvas":
        raise RosterError(f"{roster.path} is a Canvas gradebook export; use --format canvas, "
                          "or a roster exported from Moodle")
    return roster


def export_for_lms(out_dir: Path, rows: list[dict], settings: LmsSettings,
                   roster: Roster) -> LmsExport:
    """Match grades.csv's students to the roster; write the LMS file and unmatched.csv."""
    from autograding.grading.files import atomic_write

    grades, students, assignments = _grades(rows)
    matching = match_students(roster, students)
    result = LmsExport(None, Path(out_dir) / UNMATCHED_FILE, matching)
    if settings.format in FILES:
        titles = assignment_columns(roster, assignments, settings, result.notes)
        table = _Table(roster, matching, grades, titles, settings, result)
        table_rows = _canvas_rows(table) if settings.format == "canvas" else _moodle_rows(table)
        if table.over:
            result.notes.append(f"{len(table.over)} grades are above the LMS's points possible "
                                f"(check --points): {'; '.join(table.over[:5])}")
        result.path = Path(out_dir) / FILES[settings.format]
        atomic_write(result.path, _csv_text(table_rows))
    atomic_write(result.unmatched_path, _csv_text(unmatched_rows(matching, grades, assignments)))
    return result
