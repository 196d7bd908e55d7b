"""similarity.csv (every pair, highest first) and the HTML report of the pairs over a threshold.

Everything shown comes from students (folder names, code, the reasons a file was skipped), so
every string is HTML-escaped, ids in the page are numbers, and the page carries a Content
Security Policy that allows no script and no outside resource: a `</script>` or `<img>` in a
comment is shown as text and nothing loads.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograding.similarity.collect import Skipped
from autograding.similarity.detect import Pair

CSV_COLUMNS = ["assignment", "student_a", "student_b", "similarity"]
CSV_NAME, HTML_NAME = "similarity.csv", "similarity.html"


@dataclass
class AssignmentPairs:
    """One assignment's compared pairs, with the answer texts the report shows."""

    assignment: str
    pairs: list[Pair]  # highest first
    texts: dict[str, str]  # student -> answer text
    by_content: set[str]  # students whose answer cells were found without grade ids


def csv_text(results: list[AssignmentPairs]) -> str:
    """similarity.csv: every pair of every assignment, highest similarity first."""
    rows = [(r.assignment, p) for r in results for p in r.pairs]
    rows.sort(key=lambda row: (-round(row[1].similarity, 4), row[0], row[1].student_a,
                               row[1].student_b))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for assignment, pair in rows:
        writer.writerow([assignment, pair.student_a, pair.student_b, f"{pair.similarity:.4f}"])
    return out.getvalue()


def _spans(slices: np.ndarray, length: int) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) character ranges within [0, length)."""
    if slices.size == 0:
        return []
    ranges = sorted((max(0, int(s)), min(length, int(e))) for s, e in zip(*slices))
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlighted(text: str, slices: np.ndarray) -> str:
    """The answer text as escaped HTML, the code shared with the other student in <mark>."""
    parts, at = [], 0
    for start, end in _spans(slices, len(text)):
        parts.append(html.escape(text[at:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        at = end
    parts.append(html.escape(text[at:]))
    return "".join(parts)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pair { border-top: 2px solid #888; margin-top: 2em; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.85em;
      white-space: pre-wrap; word-break: break-word; }
mark { background: #ffd27a; }
.note { color: #555; }
"""


def _e(value) -> str:
    """Escaped text of any value."""
    return html.escape(str(value), quote=True)


def _pair_section(number: int, result: AssignmentPairs, pair: Pair) -> str:
    """One flagged pair, side by side."""
    sides = []
    for student, share, slices in ((pair.student_a, pair.share_a, pair.slices_a),
                                   (pair.student_b, pair.share_b, pair.slices_b)):
        found = (" (answer cells found by content: no grade ids)"
                 if student in result.by_content else "")
        sides.append(f"<div><h4>{_e(student)}: {share:.0%} of the answer found in the "
                     f"other{_e(found)}</h4><pre>"
                     f"{highlighted(result.texts[student], slices)}</pre></div>")
    return (f'<section class="pair" id="pair-{number}"><h3>{_e(result.assignment)}: '
            f"{_e(pair.student_a)} and {_e(pair.student_b)}, similarity "
            f'{pair.similarity:.2f}</h3><div class="sides">{"".join(sides)}</div></section>')


def html_text(results: list[AssignmentPairs], skipped: list[Skipped], view) -> str:
    """The report page; `view` holds threshold, max_pairs and noise (ReportSettings)."""
    body, sections, number = [], [], 0
    body.append("<h1>Similar answers</h1>")
    body.append(
        f'<p class="note">Pairs of students whose answer cells share code, similarity at least '
        f"{view.threshold:.2f} (the mean share of each one's answer code found in the other's; "
        f"matches shorter than {view.noise} characters of normalized code are ignored; names, "
        "comments and blank lines do not count; code of the released notebook never counts). "
        f"Every pair is in {CSV_NAME}. A high score is a reason to read both notebooks, not a "
        "verdict: short exercises have few ways to be answered.</p>")
    for result in results:
        flagged = [p for p in result.pairs if p.similarity >= view.threshold]
        body.append(f"<h2>{_e(result.assignment)}</h2><p>{len(result.texts)} students, "
                    f"{len(result.pairs)} pairs, {len(flagged)} at or above the threshold"
                    + (f"; the {view.max_pairs} highest are shown"
                       if len(flagged) > view.max_pairs else "") + ".</p>")
        if not flagged:
            continue
        rows = []
        for pair in flagged[:view.max_pairs]:
            number += 1
            rows.append(f'<tr><td class="num"><a href="#pair-{number}">{number}</a></td>'
                        f"<td>{_e(pair.student_a)}</td><td>{_e(pair.student_b)}</td>"
                        f'<td class="num">{pair.similarity:.2f}</td></tr>')
            sections.append(_pair_section(number, result, pair))
        body.append("<table><tr><th>#</th><th>student</th><th>student</th><th>similarity"
                    "</th></tr>" + "".join(rows) + "</table>")
    if skipped:
        rows = "".join(f"<tr><td>{_e(s.assignment)}</td><td>{_e(s.student)}</td>"
                       f"<td>{_e(s.reason)}</td></tr>" for s in skipped)
        body.append("<h2>Not compared</h2><table><tr><th>assignment</th><th>student</th>"
                    f"<th>why</th></tr>{rows}</table>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\"><title>Similar answers</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}{''.join(sections)}"
            "</body></html>\n")


def write_reports(folder: Path, results: list[AssignmentPairs], skipped: list[Skipped],
                  view) -> tuple[Path, Path]:
    """Write similarity.csv and similarity.html into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = folder / CSV_NAME, folder / HTML_NAME
    for path, text in ((csv_path, csv_text(results)),
                       (html_path, html_text(results, skipped, view))):
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return csv_path, html_path
