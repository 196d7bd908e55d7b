"""The `similarity` command: its options, the run from submitted/ to the reports, its output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograding.course.release import COURSE_ROOT
from autograding.similarity.collect import SimilarityError, Skipped, collect, load_masters
from autograding.similarity.detect import (
    DEFAULT_MAX_PAIRS,
    DEFAULT_NOISE,
    DEFAULT_THRESHOLD,
    SimilaritySettings,
    compare_assignment,
)
from autograding.similarity.report import AssignmentPairs, write_reports

SUBFOLDER = "similarity"


def fraction(text: str) -> float:
    """A number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1, e.g. 0.9")
    return value


def count(text: str) -> int:
    """A whole number >= 1."""
    value = int(text) if text.strip().isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1, e.g. 50")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the `similarity` command."""
    parser.add_argument("submissions", type=Path, metavar="SUBMITTED",
                        help="folder laid out as nbgrader's submitted/: "
                        "SUBMITTED/<student>/<assignment>/<assignment>.ipynb (only read)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help=f"output folder; the reports go to DIR/{SUBFOLDER}/ "
                        "(similarity.csv, similarity.html)")
    parser.add_argument("--course", type=Path, metavar="DIR",
                        help="course folder holding source/<assignment>/<assignment>.ipynb "
                        "(default: the masters shipped in autograding/)")
    parser.add_argument("--assignment", action="append", metavar="ID",
                        help="compare only this assignment (repeat for several; default: "
                        "every assignment with a master)")
    parser.add_argument("--threshold", type=fraction, default=DEFAULT_THRESHOLD,
                        metavar="S",
                        help="the HTML report shows pairs with similarity >= S (default "
                        f"{DEFAULT_THRESHOLD}, measured: see README); the CSV has every pair")
    parser.add_argument("--max-pairs", type=count, default=DEFAULT_MAX_PAIRS, metavar="N",
                        help="show at most N pairs per assignment in the HTML report "
                        f"(default {DEFAULT_MAX_PAIRS})")


def similarity_report(submitted: Path, out: Path, settings: SimilaritySettings,
                      course_root: Path | None = None, assignments=None):
    """Compare every pair of hand-ins per assignment and write the reports into
    out/similarity/; returns (results, skipped, csv path, html path)."""
    masters = load_masters(Path(course_root or COURSE_ROOT), assignments)
    found = collect(Path(submitted), masters)
    skipped, results = list(found.skipped), []
    handed_in = {a for a, answers in found.answers.items() if answers}
    for assignment in sorted(handed_in | {s.assignment for s in skipped}):
        answers = found.answers[assignment]
        pairs, failed = compare_assignment({s: a.text for s, a in answers.items()},
                                           found.boilerplate[assignment], settings)
        skipped += [Skipped(assignment, student, why) for student, why in failed.items()]
        texts = {s: a.text for s, a in answers.items() if s not in failed}
        results.append(AssignmentPairs(assignment, pairs, texts,
                                       {s for s, a in answers.items() if a.by_content}))
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SimilarityError(f"{out}: exists and is not a folder; choose another --out")
    csv_path, html_path = write_reports(out / SUBFOLDER, results, skipped, settings)
    return results, skipped, csv_path, html_path


def printable(text: str) -> str:
    """Text for the terminal: a folder name cannot send escape sequences to it."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def run(args: argparse.Namespace, prog: str = "python -m autograding") -> int:
    """Run the similarity command; 0 when the reports are written, 2 on bad input."""
    settings = SimilaritySettings(noise=DEFAULT_NOISE, threshold=args.threshold,
                                  max_pairs=args.max_pairs)
    try:
        results, skipped, csv_path, html_path = similarity_report(
            args.submissions, args.out, settings, args.course, args.assignment)
    except (SimilarityError, OSError) as err:
        print(f"{prog} similarity: error: {printable(err)}", file=sys.stderr)
        return 2
    for result in results:
        flagged = [p for p in result.pairs if p.similarity >= settings.threshold]
        print(f"{result.assignment}: {len(result.texts)} students, {len(result.pairs)} pairs, "
              f"{len(flagged)} with similarity >= {settings.threshold:g}")
        for pair in flagged[:5]:
            print(f"  {pair.similarity:.2f}  {printable(pair.student_a)}  "
                  f"{printable(pair.student_b)}")
    for entry in skipped:
        print(f"skipped: {printable(entry.student)}/{entry.assignment}: "
              f"{printable(entry.reason)}", file=sys.stderr)
    print(f"pairs:  {csv_path}\nreport: {html_path}")
    return 0
