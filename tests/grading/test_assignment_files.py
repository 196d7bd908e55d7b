"""Files beside the notebooks: which reach the kernel (nbgrader's rule, links and caps), which
are kept in autograded/ and which an earlier run left."""

import os
from pathlib import Path

import pytest

from autograding.grading import assignment_files
from autograding.grading.assignment_files import (
    AssignmentFiles,
    is_ignored,
    kept_files,
    read_folder,
    safe_name,
    write_kept,
)
from autograding.grading.course_settings import CourseSettings
from autograding.grading.files import atomic_write
from autograding.grading.tasks import Task

IGNORE = CourseSettings().ignore


def files(root: Path, tree: dict) -> Path:
    """Write {relative name: text} under root."""
    for name, text in tree.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_ignore_patterns_follow_nbgrader_and_glob():
    assert is_ignored("x.ipynb", ["*.ipynb"]) and is_ignored("__pycache__", IGNORE)
    assert not is_ignored(".hidden.pyc", ["*.pyc"]), "glob's * does not match a leading dot"
    assert is_ignored(".ipynb_checkpoints", IGNORE)


@pytest.mark.parametrize(("name", "ok"), [
    ("data.csv", True), ("sub/data.csv", True), ("../x", False), ("/etc/passwd", False),
    ("a/../b", False), ("./a", False), ("a//b", False), ("a\\b", False), ("", False)])
def test_safe_names_stay_inside_the_folder(name, ok):
    assert safe_name(name) is ok


def test_a_folder_is_read_as_nbgrader_copies_it(tmp_path):
    root = files(tmp_path / "s", {"data.csv": "1", "sub/deep/x.txt": "2", "nb.ipynb": "{}",
                                  "__pycache__/m.pyc": "", "feedback/f.html": "",
                                  ".ipynb_checkpoints/nb.ipynb": "", ".env": "3"})
    found = read_folder(root, IGNORE)
    assert found.files == {"data.csv": b"1", "sub/deep/x.txt": b"2", ".env": b"3"}
    assert found.notes == []


def test_a_students_links_are_never_followed_a_courses_only_inside_it(tmp_path):
    course = files(tmp_path / "course", {"source/a/real.txt": "r", "shared.txt": "s"})
    secret = files(tmp_path / "elsewhere", {"secret.txt": "no"})
    folder = course / "source" / "a"
    os.symlink(course / "shared.txt", folder / "inside.txt")
    os.symlink(secret / "secret.txt", folder / "outside.txt")
    os.symlink(secret, folder / "linked_folder")
    os.mkfifo(folder / "pipe")
    found = read_folder(folder, IGNORE, inside=course, label="the course's file ")
    assert found.files == {"real.txt": b"r", "inside.txt": b"s"}
    assert any("outside.txt" in n and "out of the course folder" in n for n in found.notes)
    assert any("pipe" in n and "not a regular file" in n for n in found.notes)
    student = read_folder(folder, IGNORE, label="your file ")
    assert student.files == {"real.txt": b"r"}
    assert any(n.startswith("your file inside.txt") and "a link" in n for n in student.notes)


def test_caps_leave_files_out_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(assignment_files, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr(assignment_files, "MAX_TOTAL_BYTES", 15)
    monkeypatch.setattr(assignment_files, "MAX_FILES", 3)
    root = files(tmp_path / "s", {"a": "x" * 11, "b": "x" * 8, "c": "x" * 8, "d": "", "e": "",
                                  "f": ""})
    found = read_folder(root, IGNORE)
    assert found.files == {"b": b"x" * 8, "d": b"", "e": b""}
    a, c, f = found.notes
    assert a.startswith("a was not given") and "larger than" in a
    assert c.startswith("c was not given") and "together" in c
    assert f.startswith("f was not given") and "more than 3 files" in f


def test_the_course_wins_except_for_the_files_the_student_keeps(tmp_path):
    course = files(tmp_path / "course", {"source/ps1/p1.ipynb": "{}", "source/ps1/data.txt": "c",
                                         "source/ps1/notes.py": "course", "source/ps1/h.py": "h"})
    submitted = files(tmp_path / "submitted", {"amy/ps1/data.txt": "edited",
                                               "amy/ps1/notes.py": "amy", "amy/ps1/mine.txt": "m"})
    settings = CourseSettings(exclude_overwriting={"ps1": frozenset({"notes.py"})})
    given = AssignmentFiles(course, settings)
    task = Task("amy", "ps1", None, submitted / "amy" / "ps1" / "p1.ipynb")
    assert given.for_task(task).files == {"data.txt": b"c", "notes.py": b"amy",
                                          "mine.txt": b"m", "h.py": b"h"}
    bob = Task("bob", "ps1", None, submitted / "bob" / "ps1" / "p1.ipynb")
    assert "notes.py" not in given.for_task(bob).files, "nbgrader never copies it"
    master = Task("(master)", "ps1", None, course / "source" / "ps1" / "p1.ipynb", canary=True)
    assert given.for_task(master).files["notes.py"] == b"course", "a master runs beside all"
    assert given.for_task(task).digest() != given.for_task(bob).digest()


def test_other_notebooks_in_the_folder_are_named_as_not_graded(tmp_path):
    course = files(tmp_path / "course", {"source/ps1/p1.ipynb": "{}", "source/ps1/p2.ipynb": "{}"})
    submitted = files(tmp_path / "submitted", {
        "amy/ps1/p1.ipynb": "{}", "amy/ps1/p2.ipynb": "{}", "amy/ps1/p1 (1).ipynb": "{}",
        "amy/ps1/Copy of p1.ipynb": "{}", "amy/ps1/.hidden.ipynb": "{}", "amy/ps1/notes.txt": "",
        "amy/ps1/.ipynb_checkpoints/p1-checkpoint.ipynb": "{}",
        "bob/ps1/p1.ipynb": "{}", "bob/ps1/p2.ipynb": "{}"})
    given = AssignmentFiles(course, CourseSettings())
    amy = given.for_task(Task("amy", "ps1", None, submitted / "amy" / "ps1" / "p1.ipynb"))
    (note,) = [n for n in amy.notes if "not graded" in n]
    # The other master's notebook (p2) is graded on its own; hidden files and folders are not
    # the student's work.
    assert note.startswith("Also in your folder, not graded: Copy of p1.ipynb, p1 (1).ipynb.")
    assert "Only p1.ipynb is graded" in note
    bob = given.for_task(Task("bob", "ps1", None, submitted / "bob" / "ps1" / "p2.ipynb"))
    assert not any("not graded" in n for n in bob.notes)
    missing = given.for_task(Task("cat", "ps1", None, submitted / "cat" / "ps1" / "p1.ipynb"))
    assert missing.notes == []  # no folder at all: the missing-notebook comment says it


def test_what_is_kept_of_a_run():
    given = {"data.txt": b"d", "timestamp.txt": b"t"}
    returned = {"data.txt": None, "out.csv": b"o", "timestamp.txt": b"forged", "x.ipynb": b"{}",
                "../escape": b"e", "sub/plot.png": b"p"}
    kept, notes = kept_files(given, returned)
    assert kept == {"data.txt": b"d", "out.csv": b"o", "timestamp.txt": b"t",
                    "sub/plot.png": b"p"}
    assert notes == []
    assert kept_files(given, None) == (given, []), "an executor that returns no files"
    assert kept_files(given, {})[0] == {}, "a notebook that deleted them"


def test_kept_files_are_written_and_stale_ones_removed(tmp_path):
    folder = files(tmp_path / "autograded", {"old.txt": "old", "keep.txt": "k"})
    (folder / "p1.ipynb").write_text("{}")
    notes = write_kept(folder, {"new/out.txt": b"n", "keep.txt": b"k2"}, ["old.txt"],
                       atomic_write)
    assert notes == []
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
                  ) == ["keep.txt", "new/out.txt", "p1.ipynb"]
    assert (folder / "keep.txt").read_bytes() == b"k2"
    (folder / "blocked").mkdir()
    assert write_kept(folder, {"blocked": b"x"}, [], atomic_write), "a note, no exception"
