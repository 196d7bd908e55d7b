"""The instructor's desk after a demo batch: LMS grade files from a class roster, similarity.

The demo writes the rosters an LMS would give for the sample class, a Canvas gradebook export
and a Moodle participants list (students found by id, by e-mail and by name; one with a
unicode name who handed nothing in; one graded student the LMS does not list), then runs what
an instructor runs: `export --format canvas|moodle --roster` and `similarity`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

# The roster student who never handed anything in (missing work keeps the LMS's cell).
ABSENT = ("Zoë", "Ångström-Núñez", "zoe.angstrom@uni.example")
CANVAS_FIRST_ID = 4101  # Canvas user ids of the roster rows, in order


@dataclass(frozen=True)
class RosterPerson:
    """One student as the LMS lists them."""

    first: str
    last: str
    email: str
    login: str  # the SIS login id ("" when the LMS does not have the grader's id)


def people(students: list[str]) -> list[RosterPerson]:
    """The LMS's view of the graded students: every third found by e-mail only, every third
    by name only, the others by login id; the last graded student is left out (unmatched)."""
    listed = []
    for number, student in enumerate(students[:-1]):
        first, _, rest = student.partition("_")
        last = rest.replace("_", " ").title() or "Student"
        email = f"{first}.{rest}@uni.example" if number % 3 == 1 else f"s{number}@uni.example"
        login = student if number % 3 == 0 else ""
        # Found by name: "Last, First" as Canvas writes it gives first_last back.
        listed.append(RosterPerson(first.title(), last, email, login))
    listed.append(RosterPerson(*ABSENT, login=""))
    return listed


def canvas_roster(path: Path, persons: list[RosterPerson], assignments: list[str],
                  points: dict[str, float]) -> Path:
    """A Canvas gradebook export (Grades > Export) of `persons`, with Points Possible."""
    columns = [f"{name} ({7000 + i})" for i, name in enumerate(assignments)]
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *columns],
            ["    Points Possible", "", "", "", "", *(f"{points[a]:g}" for a in assignments)]]
    for i, person in enumerate(persons):
        rows.append([f"{person.last}, {person.first}", str(CANVAS_FIRST_ID + i), "",
                     person.login, "Linear Regression 2027", *([""] * len(assignments))])
    return _write(path, rows)


def moodle_roster(path: Path, persons: list[RosterPerson]) -> Path:
    """A Moodle participants list of `persons` (First name, Last name, ID number, Email)."""
    rows = [["First name", "Last name", "ID number", "Email address"]]
    rows += [[p.first, p.last, p.login, p.email] for p in persons]
    return _write(path, rows)


def _write(path: Path, rows: list[list[str]]) -> Path:
    """Write rows as UTF-8 CSV (with the byte-order mark Excel writes)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    path.write_text("\ufeff" + text.getvalue(), encoding="utf-8")
    return path


def lms_files(graded: Path, rosters: Path, students: list[str], points: dict[str, float],
              echo=print) -> list[str]:
    """Canvas and Moodle grade files for the graded batch in `graded` (grades.csv there),
    from rosters written into `rosters`; returns the students no roster row matched."""
    from autograding.grading.files import db_url_for
    from autograding.reports.grades_csv import grade_rows
    from autograding.reports.lms_export import LmsSettings, export_for_lms, load_roster

    rosters.mkdir(parents=True, exist_ok=True)
    persons = people(students)
    assignments = sorted(points)
    paths = {"canvas": canvas_roster(rosters / "canvas_gradebook_export.csv", persons,
                                     assignments, points),
             "moodle": moodle_roster(rosters / "moodle_participants.csv", persons)}
    rows = grade_rows(db_url_for(graded), graded)[1]  # grades.csv's rows: the batch wrote it
    unmatched: list[str] = []
    for kind, roster_path in paths.items():
        settings = LmsSettings(kind, roster_path, (), "raw", "keep")
        result = export_for_lms(graded, rows, settings, load_roster(settings))
        by = {}
        for match in result.matching.matches.values():
            if match.row:
                by[match.how] = by.get(match.how, 0) + 1
        unmatched = [m.student_id for m in result.matching.problems]
        echo(f"  {kind:6}: {result.path} from {roster_path.name} ({len(persons)} roster "
             f"students; matched by {', '.join(f'{t} {n}' for t, n in by.items())})")
    echo(f"  not in the rosters, listed in {graded / 'unmatched.csv'}: "
         f"{', '.join(unmatched) or 'none'}; {' '.join(ABSENT[:2])} handed nothing in: "
         "her cells stay as the LMS has them")
    return unmatched


def similarity_summary(submitted: Path, out: Path, course: Path, echo=print,
                       shown: int = 3) -> Path:
    """Run the similarity report over the sample class; print the top pairs per assignment."""
    from autograding.similarity.command import similarity_report
    from autograding.similarity.detect import DEFAULT_NOISE, SimilaritySettings

    settings = SimilaritySettings(noise=DEFAULT_NOISE)
    results, skipped, csv_path, html_path = similarity_report(submitted, out, settings, course)
    for result in results:
        top = ", ".join(f"{p.student_a}/{p.student_b} {p.similarity:.2f}"
                        for p in result.pairs[:shown])
        echo(f"  {result.assignment}: {len(result.texts)} hand-ins, {len(result.pairs)} pairs; "
             f"highest: {top or 'none'}")
    echo(f"  {len(skipped)} hand-ins not compared (corrupt or not notebooks); report: "
         f"{html_path}, every pair: {csv_path}")
    return html_path
