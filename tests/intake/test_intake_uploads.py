"""Reading an upload source: hostile zips and folders, size caps, a single notebook."""

import os
import stat
import zipfile
from pathlib import Path

import pytest
from intake_helpers import all_files, notebook_bytes, submitted_file, write

from autograding.intake import IntakeError, IntakeLimits, intake_uploads, main


def zip_with(path: Path, members: list) -> Path:
    """A zip of (ZipInfo-or-name, bytes) members."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return path


def unix_member(name: str, mode: int) -> zipfile.ZipInfo:
    """A zip member carrying unix file-type bits."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def test_hostile_zip(tmp_path):
    members = [
        ("good/alice_01_vectorization.ipynb", notebook_bytes("ok")),
        ("../../evil_01_vectorization.ipynb", notebook_bytes("slip")),
        ("/etc/cron.d/bob_01_vectorization.ipynb", notebook_bytes("abs")),
        ("C:\\Windows\\carol_01_vectorization.ipynb", notebook_bytes("drive")),
        (unix_member("dave_01_vectorization.ipynb", stat.S_IFLNK | 0o777), b"/etc/passwd"),
        (unix_member("erin_01_vectorization.ipynb", stat.S_IFCHR | 0o666), b""),
        ("bomb_01_vectorization.ipynb", b"0" * (3 << 20)),
        ("inner.zip", b"PK\x05\x06" + b"\x00" * 18),
    ]
    source = zip_with(tmp_path / "upload.zip", members)
    submitted = tmp_path / "out" / "submitted"
    limits = IntakeLimits(max_file_bytes=1 << 20)
    report = intake_uploads(source, submitted, limits=limits, echo=False)
    actions = {e.source: (e.action, e.reason) for e in report.entries}
    assert actions["good/alice_01_vectorization.ipynb"][0] == "renamed"
    for name, why in [
        ("../../evil_01_vectorization.ipynb", "zip-slip"),
        ("/etc/cron.d/bob_01_vectorization.ipynb", "absolute"),
        ("C:/Windows/carol_01_vectorization.ipynb", "absolute"),
        ("dave_01_vectorization.ipynb", "symbolic link"),
        ("erin_01_vectorization.ipynb", "special file"),
        ("bomb_01_vectorization.ipynb", "cap"),
        ("inner.zip", "archive inside"),
    ]:
        assert actions[name][0] == "refused", name
        assert why in actions[name][1], (name, actions[name])
    assert all_files(tmp_path / "out") == {
        "submitted/alice/01_vectorization/01_vectorization.ipynb",
        "intake_report.json", "intake_report.csv",
    }
    assert set(os.listdir(tmp_path)) == {"upload.zip", "out"}


def test_zip_total_size_and_count_caps(tmp_path):
    members = [(f"s{i}_01_vectorization.ipynb", notebook_bytes(str(i)) + b" " * 4000)
               for i in range(6)]
    source = zip_with(tmp_path / "many.zip", members)
    limits = IntakeLimits(max_total_bytes=3 * len(members[0][1]) + 10, max_files=100)
    report = intake_uploads(source, tmp_path / "a" / "submitted", limits=limits, echo=False)
    assert len(report.accepted) == 3
    assert sum("in total" in e.reason for e in report.refused) == 3

    limits = IntakeLimits(max_files=2)
    report = intake_uploads(source, tmp_path / "b" / "submitted", limits=limits, echo=False)
    assert len(report.accepted) == 2
    assert [e.source for e in report.refused] == ["(4 more members)"]


def test_zip_duplicate_member_names_are_both_reported(tmp_path):
    source = tmp_path / "dup.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("alice_01_vectorization.ipynb", notebook_bytes("one"))
        with pytest.warns(UserWarning):
            archive.writestr("alice_01_vectorization.ipynb", notebook_bytes("two"))
    report = intake_uploads(source, tmp_path / "submitted", echo=False)
    assert sorted(e.action for e in report.entries) == ["renamed", "superseded"]
    assert "# two" in submitted_file(tmp_path / "submitted", "alice",
                                     "01_vectorization").read_text()


def test_hostile_folder(tmp_path):
    uploads = tmp_path / "export"
    write(uploads, "alice_01_vectorization.ipynb", notebook_bytes("ok"))
    secret = write(tmp_path, "secret.txt", b"gradebook password")
    (uploads / "bob_01_vectorization.ipynb").symlink_to(secret)
    (uploads / "linked_dir").symlink_to(tmp_path)
    os.mkfifo(uploads / "carol_01_vectorization.ipynb")
    submitted = tmp_path / "submitted"
    report = intake_uploads(uploads, submitted, echo=False)
    actions = {e.source: (e.action, e.reason) for e in report.entries}
    assert actions["bob_01_vectorization.ipynb"] == (
        "refused", "symbolic link: only regular files are taken")
    assert actions["linked_dir"][0] == "refused"
    assert actions["carol_01_vectorization.ipynb"][0] == "refused"
    assert all_files(submitted) == {"alice/01_vectorization/01_vectorization.ipynb"}


def test_intake_inside_its_own_source_folder(tmp_path):
    write(tmp_path, "alice_01_vectorization.ipynb", notebook_bytes("ok"))
    first = intake_uploads(tmp_path, tmp_path / "submitted", echo=False)
    second = intake_uploads(tmp_path, tmp_path / "submitted", echo=False)
    assert [e.action for e in first.entries] == ["renamed"]
    assert [e.action for e in second.entries] == ["unchanged"]


def test_unreadable_source_raises_clear_error(tmp_path):
    with pytest.raises(IntakeError, match="no such file"):
        intake_uploads(tmp_path / "missing.zip", tmp_path / "submitted", echo=False)
    bad = write(tmp_path, "export.rar", b"Rar!\x1a\x07")
    with pytest.raises(IntakeError, match="neither a zip"):
        intake_uploads(bad, tmp_path / "submitted", echo=False)
    assert main([str(bad), "--submitted", str(tmp_path / "submitted")]) == 2


def test_single_notebook_source(tmp_path):
    nb = write(tmp_path, "alice_04_loss_functions.ipynb", notebook_bytes("one"))
    report = intake_uploads(nb, tmp_path / "out" / "submitted", echo=False)
    assert report.submissions() == {
        ("alice", "04_loss_functions"):
            submitted_file(tmp_path / "out" / "submitted", "alice", "04_loss_functions")
    }
