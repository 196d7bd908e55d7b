"""The intake report: JSON and CSV files, and the printed table with every flagged file."""

import csv
import json
from pathlib import Path

from intake_helpers import notebook_bytes, write

from autograding.intake import intake_uploads


def test_report_files_and_table(tmp_path):
    uploads = tmp_path / "export"
    write(uploads, "alice_01_vectorization.ipynb", notebook_bytes("a"))
    write(uploads, "readme.txt", b"hello")
    write(uploads, "mystery.ipynb", notebook_bytes("m"))
    report = intake_uploads(uploads, tmp_path / "out" / "submitted", echo=False)
    data = json.loads(Path(report.json_path).read_text())
    assert Path(report.json_path).parent == tmp_path / "out"
    assert len(data["entries"]) == 3 and data["counts"] == report.counts()
    with open(report.csv_path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert {r["source"]: r["action"] for r in rows} == {
        "alice_01_vectorization.ipynb": "renamed", "readme.txt": "refused",
        "mystery.ipynb": "refused",
    }
    mystery = next(r for r in rows if r["source"] == "mystery.ipynb")
    assert "which assignment" in mystery["reason"]
    table = report.table()
    assert "mystery.ipynb" in table and "3 uploaded files" in table
    assert all(len(line) <= 100 for line in table.splitlines())


def test_table_shows_every_flagged_file_and_what_for(tmp_path):
    uploads = tmp_path / "export"
    write(uploads, "alice_05_mse_gradients.ipynb", b'{"cells": "unterminated')
    write(uploads, "bob_05_mse_gradients.ipynb", b'{"hello": "world"}')
    write(uploads, "carol_05_mse_gradients.ipynb", notebook_bytes("fine"))
    write(uploads, "dave_02_linreg_scratch.ipynb", b"", mtime=1_000_000)
    write(uploads, "dave_02_linreg_scratch (1).ipynb", notebook_bytes("new"), mtime=2_000_000)
    report = intake_uploads(uploads, tmp_path / "submitted", echo=False)
    table = report.table()
    assert all(len(line) <= 100 for line in table.splitlines()), table
    flat = " ".join(table.split())
    flagged = [e for e in report.entries if e.flags]
    assert {e.source for e in flagged} == {"alice_05_mse_gradients.ipynb",
                                           "bob_05_mse_gradients.ipynb",
                                           "dave_02_linreg_scratch.ipynb",
                                           "dave_02_linreg_scratch (1).ipynb"}
    for entry in flagged:
        expected = f"{entry.source} ({entry.action}, {entry.student}/{entry.assignment}): "
        assert " ".join((expected + "; ".join(entry.flags)).split()) in flat, (entry, table)
    assert "corrupt: JSON but not a notebook (no 'nbformat' field)" in flat
    assert "not JSON (Unterminated string starting at line 1 column 11)" in flat
    assert flat.endswith("5 uploaded files: 4 renamed, 1 superseded; 4 flagged")
    assert "carol" not in table.split("flagged (4):")[1]
