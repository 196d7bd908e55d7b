"""What one intake did with every uploaded file: the entries, a table, the JSON and CSV files."""

from __future__ import annotations

import csv
import datetime as dt
import json
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPORT_NAME = "intake_report"


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
    time: str = ""  # the time that ordered copies, and its origin (name or mtime)
    submitted_at: str = ""  # what timestamp.txt says now ("" when the upload has no LMS time)
    time_source: str = ""  # where submitted_at came from, or why there is none


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
        filed = [e for e in self.entries if e.action in ("taken", "renamed")]
        if filed:
            timed = sum(1 for e in filed if e.submitted_at)
            lines.append(f"submission time from the LMS (timestamp.txt): {timed} of "
                         f"{len(filed)} filed; the others are never late")
        summary = ", ".join(f"{n} {action}" for action, n in sorted(self.counts().items()))
        summary += f"; {len(flagged)} flagged" if flagged else ""
        lines.append(f"{len(self.entries)} uploaded files: {summary or 'none'}")
        return "\n".join(lines)


def write_reports(report: IntakeReport, folder: Path) -> None:
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


def _clip(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis."""
    text = str(text).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
