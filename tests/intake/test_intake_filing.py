"""Filing: the latest copy wins, nothing is overwritten unless forced or written through a link."""

import os
import stat

import pytest
from intake_helpers import notebook_bytes, submitted_file, write

from autograding.intake import intake_uploads, main


def test_conflicts_keep_latest_and_list_all(tmp_path):
    uploads = tmp_path / "export"
    write(uploads, "alice_02_linreg_scratch.ipynb", notebook_bytes("old"), mtime=1_000_000)
    write(uploads, "alice_02_linreg_scratch (1).ipynb", notebook_bytes("new"), mtime=2_000_000)
    # A timestamp in the name outranks a later mtime.
    write(uploads, "bob_03_linreg_concise_2026-01-02_10-00.ipynb", notebook_bytes("jan"),
          mtime=1_000_000)
    write(uploads, "bob_03_linreg_concise_2025-12-30_10-00.ipynb", notebook_bytes("dec"),
          mtime=3_000_000_000)
    submitted = tmp_path / "submitted"
    report = intake_uploads(uploads, submitted, echo=False)
    assert "# new" in submitted_file(submitted, "alice", "02_linreg_scratch").read_text()
    assert "# jan" in submitted_file(submitted, "bob", "03_linreg_concise").read_text()
    superseded = {e.source for e in report.entries if e.action == "superseded"}
    assert superseded == {"alice_02_linreg_scratch.ipynb",
                          "bob_03_linreg_concise_2025-12-30_10-00.ipynb"}
    kept = [e for e in report.accepted if e.student == "alice"]
    assert "2 files" in kept[0].flags[0]


def test_never_overwrites_without_force(tmp_path):
    uploads = tmp_path / "export"
    write(uploads, "alice_01_vectorization.ipynb", notebook_bytes("second upload"))
    submitted = tmp_path / "submitted"
    target = write(submitted, "alice/01_vectorization/01_vectorization.ipynb",
                   notebook_bytes("first"))
    report = intake_uploads(uploads, submitted, echo=False)
    assert report.entries[0].action == "kept-existing"
    assert "--force" in report.entries[0].reason
    assert "# first" in target.read_text()
    assert main([str(uploads), "--submitted", str(submitted)]) == 1

    report = intake_uploads(uploads, submitted, force=True, echo=False)
    assert report.entries[0].action == "renamed"
    assert any("--force" in flag for flag in report.entries[0].flags)
    assert "# second upload" in target.read_text()

    report = intake_uploads(uploads, submitted, echo=False)
    assert report.entries[0].action == "unchanged"


def test_symlinked_submitted_folder_is_not_written_through(tmp_path):
    uploads = tmp_path / "export"
    write(uploads, "alice_01_vectorization.ipynb", notebook_bytes("ok"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    submitted = tmp_path / "submitted"
    submitted.mkdir()
    (submitted / "alice").symlink_to(elsewhere)
    report = intake_uploads(uploads, submitted, echo=False)
    assert report.entries[0].action == "refused"
    assert not any(elsewhere.iterdir())


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_and_folders_follow_the_umask(tmp_path, umask):
    uploads = tmp_path / "export"
    write(uploads, "HW_jdoe_attempt_2026-11-20-14-03-22_05_mse_gradients.ipynb",
          notebook_bytes("bb"))
    previous = os.umask(umask)
    try:
        intake_uploads(uploads, tmp_path / "out" / "submitted", echo=False)
    finally:
        os.umask(previous)
    written = list((tmp_path / "out").rglob("*"))
    assert {p.name for p in written if p.is_file()} == {
        "intake_report.json", "intake_report.csv", "05_mse_gradients.ipynb", "timestamp.txt"}
    for path in written:
        want = (0o777 if path.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == want, path
