"""Keep the latest of conflicting copies and file it as submitted/<student>/<assignment>/.

The latest copy wins: the timestamp written in its name, else its modification time, then the
higher "(n)" copy number, then the last path in sort order; every other copy is listed as
superseded. An existing submitted notebook is never overwritten unless forced, and nothing is
written through a symbolic link. A filed notebook gets nbgrader's timestamp.txt when the LMS
wrote its time (a Blackboard attempt), and loses the timestamp.txt of the notebook it
replaced otherwise; the report says which.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from autograding.intake.classify import Candidate
from autograding.intake.report import IntakeEntry
from autograding.intake.uploads import real_path


def file_candidates(candidates: list, submitted_dir: Path, force: bool) -> list[IntakeEntry]:
    """Pick one file per (student, assignment), write it, and describe every candidate."""
    groups: dict[tuple[str, str], list[Candidate]] = {}
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


def _sort_key(candidate: Candidate) -> tuple:
    """Latest wins: name timestamp or mtime, then copy number, then path."""
    return (candidate.time, candidate.copy_number, candidate.upload.label)


def _write_winner(candidate: Candidate, submitted_dir: Path, force: bool) -> IntakeEntry:
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
    if not real_path(dest).is_relative_to(real_path(submitted_dir)):
        return _entry(candidate, "refused", f"{dest} resolves outside {submitted_dir}")
    tmp = folder / f".{dest.name}.intake-tmp"
    tmp.write_bytes(candidate.data)
    os.utime(tmp, (candidate.upload.mtime, candidate.upload.mtime))
    os.replace(tmp, dest)
    entry = _entry(candidate, "renamed" if candidate.renamed else "taken", how, dest)
    entry.submitted_at = _write_timestamp(folder, candidate)
    entry.time_source = candidate.time_source
    return entry


def _write_timestamp(folder: Path, candidate: Candidate) -> str:
    """nbgrader's timestamp.txt beside a newly filed notebook when the LMS wrote its time
    (returns that text); otherwise a timestamp.txt left there belonged to the notebook this
    one replaced, and is removed ("" returned)."""
    path = folder / "timestamp.txt"
    if not candidate.lms_time:
        if path.exists() or path.is_symlink():
            path.unlink()
        return ""
    stamp = dt.datetime.fromtimestamp(candidate.time, dt.timezone.utc)
    text = stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    tmp = folder / ".timestamp.txt.intake-tmp"
    tmp.write_text(text)
    os.replace(tmp, path)  # replaces a link itself, never writes through it
    return text


def _entry(candidate: Candidate, action: str, reason: str, dest: Path | None = None):
    """An IntakeEntry describing a candidate."""
    return IntakeEntry(
        candidate.upload.label, action, reason, candidate.student, candidate.assignment,
        str(dest) if dest else "", list(candidate.flags),
        hashlib.sha256(candidate.data).hexdigest(), _when(candidate),
    )


def _when(candidate: Candidate) -> str:
    """The time used to order copies, readable, with its origin."""
    stamp = dt.datetime.fromtimestamp(candidate.time, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} UTC ({'name' if candidate.time_from_name else 'mtime'})"
