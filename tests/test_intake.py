"""Intake of LMS exports into nbgrader's submitted/ layout: layouts, quirks, hostile input."""

import csv
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograding.intake import (
    SAFE_ID,
    IntakeError,
    IntakeLimits,
    intake_uploads,
    main,
    notebook_problem,
    safe_student_id,
)


def notebook_bytes(marker: str, grade_ids=("answer_a", "test_a")) -> bytes:
    """A small valid nbformat-4 notebook whose content identifies it by `marker`."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"# {marker}"}]
    for grade_id in grade_ids:
        cells.append({
            "cell_type": "code", "execution_count": None, "outputs": [],
            "metadata": {"nbgrader": {"grade_id": grade_id, "schema_version": 3}},
            "source": f"x = {marker!r}",
        })
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb, indent=1) + "\n").encode()


def write(root: Path, rel: str, data: bytes, mtime: float | None = None) -> Path:
    """Write a file under root (creating folders) with an optional mtime."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def submitted_file(submitted: Path, student: str, assignment: str) -> Path:
    """nbgrader's path of one submission."""
    return submitted / student / assignment / f"{assignment}.ipynb"


def all_files(root: Path) -> set:
    """Every file path under root, relative."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def course(tmp_path):
    """A fake course root whose masters carry distinctive grade ids, for content matching."""
    root = tmp_path / "course"
    for assignment, ids in (("02_linreg_scratch", ("linreg_answer", "linreg_test")),
                            ("05_mse_gradients", ("mse_answer", "mse_test"))):
        write(root, f"source/{assignment}/{assignment}.ipynb", notebook_bytes(assignment, ids))
    return root


def test_lms_layouts_land_in_nbgrader_layout(tmp_path, course):
    uploads = tmp_path / "export"
    files = {
        "alice_01_vectorization.ipynb": "alice-01",
        "Bob Smith - 02_LinReg_Scratch (1).ipynb": "bob-02",
        "smithjohn_12345_67890_03_linreg_concise.ipynb": "canvas-03",
        "smithjohn_late_12345_67891_04_loss_functions-2.ipynb": "canvas-04",
        "HW 5_jdoe_attempt_2026-11-20-14-03-22_05_mse_gradients.ipynb": "bb-05",
        "José Núñez_4711_assignsubmission_file_/04 loss functions.ipynb": "moodle-04",
        "carol/05_mse_gradients/my answers.ipynb": "nested-05",
        "submitted/dave/02_linreg_scratch/02_linreg_scratch.ipynb": "nbgrader-02",
        "erin/Copy of 03_linreg_concise.ipynb": "colab-copy-03",
        "张伟_01_vectorization.ipynb": "cjk-01",
        "frank/homework.ipynb": "content-02",
    }
    for rel, marker in files.items():
        grade_ids = ("linreg_answer",) if marker == "content-02" else ("answer_a",)
        write(uploads, rel, notebook_bytes(marker, grade_ids))
    junk = ["__MACOSX/._alice_01_vectorization.ipynb", ".DS_Store",
            "carol/.ipynb_checkpoints/my answers-checkpoint.ipynb"]
    for rel in junk:
        write(uploads, rel, b"junk")
    submitted = tmp_path / "submitted"
    report = intake_uploads(uploads, submitted, course_root=course, echo=False)

    expected = {
        ("alice", "01_vectorization"): "alice-01",
        ("bob_smith", "02_linreg_scratch"): "bob-02",
        ("smithjohn_12345", "03_linreg_concise"): "canvas-03",
        ("smithjohn_12345", "04_loss_functions"): "canvas-04",
        ("jdoe", "05_mse_gradients"): "bb-05",
        ("jose_nunez", "04_loss_functions"): "moodle-04",
        ("carol", "05_mse_gradients"): "nested-05",
        ("dave", "02_linreg_scratch"): "nbgrader-02",
        ("erin", "03_linreg_concise"): "colab-copy-03",
        ("frank", "02_linreg_scratch"): "content-02",
    }
    for (student, assignment), marker in expected.items():
        text = submitted_file(submitted, student, assignment).read_text()
        assert f"# {marker}" in text, (student, assignment)
    cjk = [e for e in report.accepted if e.source.startswith("张伟")]
    assert len(cjk) == 1 and SAFE_ID.match(cjk[0].student) and cjk[0].action == "renamed"
    assert {e.source for e in report.entries if e.action == "ignored"} == set(junk)
    dave = next(e for e in report.entries if e.student == "dave")
    assert dave.action == "taken"
    assert next(e for e in report.entries if e.student == "frank").reason.startswith(
        "student from folder")
    assert len(report.accepted) == len(files)
    assert (submitted / "jdoe" / "05_mse_gradients" / "timestamp.txt").read_text().startswith(
        "2026-11-20 14:03:22")


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


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"this is not json at all", "not JSON"),
        (b"", "empty file"),
        (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "nbformat 3"),
        (b"print('a python script saved as .ipynb')\n", "not JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
        (b'{"a": 1}', "not a notebook"),
        (json.dumps({"nbformat": 5, "cells": []}).encode(), "format 5 is not supported"),
        (b'{"cells": "unterminated', "Unterminated string starting at line 1 column 11"),
        (b'{"a": "\x01"}', "Invalid control character at line 1 column 8"),
    ],
)
def test_corrupt_notebooks_are_taken_and_flagged(tmp_path, content, problem):
    uploads = tmp_path / "export"
    write(uploads, "alice_05_mse_gradients.ipynb", content)
    submitted = tmp_path / "submitted"
    report = intake_uploads(uploads, submitted, echo=False)
    (entry,) = report.entries
    assert entry.action == "renamed"
    assert any(problem in flag for flag in entry.flags), entry.flags
    assert not any(" at at " in flag for flag in entry.flags), entry.flags
    assert submitted_file(submitted, "alice", "05_mse_gradients").read_bytes() == content
    assert notebook_problem(content)


def test_old_format_is_flagged_but_not_called_corrupt(tmp_path):
    """The grader converts nbformat 3 and grades it; "corrupt" would send the instructor
    after a student for nothing."""
    uploads = tmp_path / "export"
    write(uploads, "alice_05_mse_gradients.ipynb", json.dumps({"nbformat": 3}).encode())
    (entry,) = intake_uploads(uploads, tmp_path / "submitted", echo=False).entries
    assert entry.flags == ["old notebook format (nbformat 3); the grader converts it to format 4"]


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


def test_valid_notebook_has_no_problem():
    assert notebook_problem(notebook_bytes("fine")) == ""


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


@given(st.text(max_size=80))
def test_student_ids_are_always_safe(raw):
    student = safe_student_id(raw)
    assert SAFE_ID.match(student)
    assert "/" not in student and ".." not in student and not student.startswith("-")
    assert safe_student_id(raw) == student


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
