"""One intake from start to end: read the source, recognise each upload, file it, report."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

from autograding.course.release import ASSIGNMENT_IDS
from autograding.intake.classify import Candidate, classify
from autograding.intake.filing import file_candidates
from autograding.intake.notebook_content import master_grade_ids
from autograding.intake.report import IntakeEntry, IntakeReport, write_reports
from autograding.intake.uploads import IntakeError, IntakeLimits, iter_uploads


def lms_zone(name: str) -> dt.tzinfo:
    """The time zone called `name` (UTC, or an IANA name such as Europe/Berlin)."""
    if name.upper() == "UTC":
        return dt.timezone.utc
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise IntakeError(f"--lms-timezone {name}: unknown time zone; use UTC or an IANA name "
                          "such as Europe/Berlin or America/New_York") from None


def intake_uploads(
    source,
    submitted_dir,
    *,
    assignments=None,
    force: bool = False,
    course_root=None,
    limits: IntakeLimits | None = None,
    echo: bool = True,
    lms_timezone: str = "UTC",
) -> IntakeReport:
    """Copy the notebooks of an LMS export into submitted/<student>/<assignment>/<assignment>.ipynb.

    Writes intake_report.json and intake_report.csv next to `submitted_dir` (in its parent) and
    prints the table unless `echo` is False. Raises IntakeError only when `source` itself is
    unreadable (or `lms_timezone`, the zone of the times an LMS writes into file names, is
    unknown); every problem with a single file is an entry of the report instead.
    """
    source = Path(source)
    submitted_dir = Path(submitted_dir)
    limits = limits or IntakeLimits()
    ids = tuple(assignments or ASSIGNMENT_IDS)
    entries: list[IntakeEntry] = []
    candidates: list[Candidate] = []
    zone = lms_zone(lms_timezone)
    grade_ids = master_grade_ids(ids, course_root)
    for item in iter_uploads(source, submitted_dir, limits):
        if isinstance(item, IntakeEntry):
            entries.append(item)
            continue
        outcome = classify(item, ids, grade_ids, zone)
        if isinstance(outcome, IntakeEntry):
            entries.append(outcome)
        else:
            candidates.append(outcome)
    entries.extend(file_candidates(candidates, submitted_dir, force))
    report = IntakeReport(str(source), str(submitted_dir), entries)
    write_reports(report, submitted_dir.parent)
    if echo:
        print(report.table())
        print(f"report: {report.json_path} and {report.csv_path}")
    return report
