"""Submission times at intake: only a time the LMS wrote becomes nbgrader's timestamp.txt."""

import datetime as dt
import json

import pytest
from intake_helpers import notebook_bytes, submitted_file, write

from autograding.grading.late_policy import parse_time
from autograding.intake import intake_uploads, main
from autograding.intake.uploads import IntakeError

BLACKBOARD = "HW 5_jdoe_attempt_2026-12-08-10-30-00_05_mse_gradients.ipynb"


def stamp_file(submitted, student, assignment):
    """The timestamp.txt beside a filed notebook."""
    return submitted_file(submitted, student, assignment).parent / "timestamp.txt"


def entry_of(report, student):
    """The accepted report entry of a student."""
    return next(e for e in report.accepted if e.student == student)


def test_a_blackboard_attempt_time_becomes_the_submission_time(tmp_path):
    write(tmp_path / "export", BLACKBOARD, notebook_bytes("bb"))
    submitted = tmp_path / "submitted"
    report = intake_uploads(tmp_path / "export", submitted, echo=False)
    text = stamp_file(submitted, "jdoe", "05_mse_gradients").read_text()
    assert text == "2026-12-08 10:30:00.000000 UTC"
    assert parse_time(text, naive_is_utc=True) == dt.datetime(2026, 12, 8, 10, 30)
    entry = entry_of(report, "jdoe")
    assert entry.submitted_at == text
    assert entry.time_source == "Blackboard attempt time in the file name (read in UTC)"
    saved = json.loads((tmp_path / "intake_report.json").read_text())["entries"][0]
    assert saved["submitted_at"] == text and saved["time_source"].startswith("Blackboard")
    assert "submission time from the LMS (timestamp.txt): 1 of 1 filed" in report.table()


def test_the_blackboard_time_zone_can_be_named(tmp_path):
    write(tmp_path / "export", BLACKBOARD, notebook_bytes("bb"))
    submitted = tmp_path / "submitted"
    report = intake_uploads(tmp_path / "export", submitted, echo=False,
                            lms_timezone="Europe/Berlin")
    assert stamp_file(submitted, "jdoe", "05_mse_gradients").read_text().startswith(
        "2026-12-08 09:30:00")  # 10:30 in Berlin (UTC+1 in December)
    assert entry_of(report, "jdoe").time_source.endswith("(read in Europe/Berlin)")


@pytest.mark.parametrize("name, why", [
    ("amy_01_vectorization_2026-12-01_10-00.ipynb", "written by whoever named the file"),
    ("amy_01_vectorization.ipynb", "modification time is not a submission time"),
    ("amy_late_12345_67890_01_vectorization.ipynb", "Canvas names hold no time"),
])
def test_times_the_lms_did_not_write_give_no_timestamp(tmp_path, name, why):
    write(tmp_path / "export", name, notebook_bytes("amy"), mtime=1_700_000_000)
    submitted = tmp_path / "submitted"
    report = intake_uploads(tmp_path / "export", submitted, echo=False)
    entry = report.accepted[0]
    assert not stamp_file(submitted, entry.student, "01_vectorization").exists()
    assert entry.submitted_at == "" and why in entry.time_source


def test_a_canvas_late_mark_is_flagged(tmp_path):
    write(tmp_path / "export", "amy_late_12345_67890_01_vectorization.ipynb",
          notebook_bytes("amy"))
    report = intake_uploads(tmp_path / "export", tmp_path / "submitted", echo=False)
    assert any("Canvas marks it late" in flag for flag in report.accepted[0].flags)


def test_a_replaced_notebook_takes_its_timestamp_with_it(tmp_path):
    write(tmp_path / "first", BLACKBOARD, notebook_bytes("first"))
    submitted = tmp_path / "submitted"
    intake_uploads(tmp_path / "first", submitted, echo=False)
    stamp = stamp_file(submitted, "jdoe", "05_mse_gradients")
    assert stamp.exists()
    write(tmp_path / "second", "jdoe_05_mse_gradients.ipynb", notebook_bytes("second"))
    intake_uploads(tmp_path / "second", submitted, echo=False)  # kept-existing: untouched
    assert stamp.exists()
    report = intake_uploads(tmp_path / "second", submitted, force=True, echo=False)
    assert entry_of(report, "jdoe").action == "renamed"
    assert not stamp.exists()


def test_an_unknown_lms_time_zone_is_refused(tmp_path, capsys):
    write(tmp_path / "export", BLACKBOARD, notebook_bytes("bb"))
    with pytest.raises(IntakeError, match="Europe/Berlin"):
        intake_uploads(tmp_path / "export", tmp_path / "submitted", echo=False,
                       lms_timezone="Mars/Olympus")
    assert main([str(tmp_path / "export"), "--submitted", str(tmp_path / "submitted"),
                 "--lms-timezone", "Mars/Olympus"]) == 2
    assert "--lms-timezone Mars/Olympus: unknown time zone" in capsys.readouterr().err
    assert not (tmp_path / "submitted").exists()
