"""The `intake` command: its options, its exit status, and `python -m autograding.intake`."""

from __future__ import annotations

import argparse
import sys

from autograding.course.release import ASSIGNMENT_IDS
from autograding.intake.pipeline import intake_uploads
from autograding.intake.uploads import IntakeError


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
    parser.add_argument(
        "--lms-timezone", default="UTC", metavar="ZONE",
        help="time zone of the attempt times in Blackboard's file names, which become the "
        "submission times in timestamp.txt (default: UTC; e.g. Europe/Berlin)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the intake command; 0 when every notebook found a place, 1 otherwise."""
    try:
        report = intake_uploads(
            args.source, args.submitted, assignments=args.assignments, force=args.force,
            lms_timezone=args.lms_timezone,
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
