"""`export`: grades.csv and the score plot from the gradebook alone, also after each batch.

Which rows grades.csv has, and when a row is `missing`: autograding.reports.grades_csv.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograding.reports.grades_csv import grade_rows, write_csv
from autograding.reports.plot import plot_distribution


@dataclass
class ExportResult:
    """What an export wrote."""

    csv_path: Path
    plot_path: Path | None
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)


def export_outputs(out_dir: Path, db_url: str | None = None) -> ExportResult:
    """Write out/grades.csv and out/score_distribution.png from the gradebook."""
    from autograding.grading.files import db_url_for

    out_dir = Path(out_dir)
    db_url = db_url or db_url_for(out_dir)
    columns, rows = grade_rows(db_url, out_dir)
    csv_path = out_dir / "grades.csv"
    write_csv(csv_path, columns, rows)
    plot = plot_distribution(out_dir / "score_distribution.png", db_url)
    return ExportResult(csv_path, plot, columns, rows)


def export_after_batch(plan, report) -> None:
    """A batch writer (autograding.grading.record): grades.csv and the plot, in the batch's
    lock, their paths into the report."""
    exported = export_outputs(plan.out_dir, plan.db_url)
    report.csv_path, report.plot_path = exported.csv_path, exported.plot_path
