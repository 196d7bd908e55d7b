"""What a notebook left in its folder: regular files only, never through a link, under caps;
a given file left unchanged comes back as None."""

import os

from autograding.engine import written_files
from autograding.engine.written_files import collect


def test_regular_files_are_collected_links_and_pipes_are_not(tmp_path):
    work = tmp_path / "work"
    (work / "sub" / "deep").mkdir(parents=True)
    (work / "out.txt").write_text("new")
    (work / "data.txt").write_text("given")
    (work / "changed.txt").write_text("mine now")
    (work / "sub" / "deep" / "x.bin").write_bytes(b"\0\1")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "s.txt").write_text("classmate")
    os.symlink(tmp_path / "secret" / "s.txt", work / "link.txt")
    os.symlink(tmp_path / "secret", work / "linked")
    os.mkfifo(work / "pipe")
    found, notes = collect(str(work), {"data.txt": b"given", "changed.txt": b"theirs"})
    assert found == {"out.txt": b"new", "data.txt": None, "changed.txt": b"mine now",
                     "sub/deep/x.bin": b"\0\1"}
    assert notes == []


def test_caps_drop_files_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(written_files, "MAX_FILES", 2)
    monkeypatch.setattr(written_files, "MAX_FILE_BYTES", 5)
    monkeypatch.setattr(written_files, "MAX_DEPTH", 1)
    for name, text in (("a", "123456"), ("b", "1"), ("c", "2"), ("d", "3")):
        (tmp_path / name).write_text(text)
    (tmp_path / "x" / "y").mkdir(parents=True)
    (tmp_path / "x" / "y" / "z").write_text("deep")
    found, notes = collect(str(tmp_path), {})
    assert found == {"b": b"1", "c": b"2"}
    assert len(notes) == 1 and notes[0].startswith("3 of the files") and "x/y/" in notes[0]


def test_a_folder_that_is_a_link_or_missing_gives_nothing(tmp_path):
    os.symlink(tmp_path, tmp_path / "work")
    assert collect(str(tmp_path / "work"), {})[0] == {}
    assert collect(str(tmp_path / "gone"), {})[0] == {}
