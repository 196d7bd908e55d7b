"""What the grader writes into its output folder: file modes, and the rows of the exports."""

import os
import stat

import pytest

from autograding.grade import atomic_write, remove_stale_temp_files


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    """Run the test under this umask (the process's own is put back after)."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    """The permission bits of a file."""
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_gives_new_and_replaced_files_the_umask_mode(tmp_path, umask):
    new = tmp_path / "feedback" / "amy" / "page.html"
    atomic_write(new, "<html></html>")
    private = tmp_path / "grades.csv"
    private.write_text("old")
    private.chmod(0o600)  # as the previous version of the grader left it
    atomic_write(private, b"new")
    assert mode(new) == mode(private) == 0o666 & ~umask
    assert private.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["grades.csv",
                                                                          "page.html"]


def test_atomic_write_keeps_the_old_file_when_it_fails(tmp_path, monkeypatch):
    target = tmp_path / "grades.csv"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_temp_files_of_a_killed_write_are_found_and_removed(tmp_path, monkeypatch):
    """A batch killed between the temp file and the rename leaves the temp file behind; the
    next batch must recognise its name."""
    monkeypatch.setattr(os, "replace", lambda src, dst: None)  # killed before the rename
    atomic_write(tmp_path / "grades.csv", "half")
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".grades.csv.") and left.name.endswith(".tmp")
    remove_stale_temp_files(tmp_path)
    assert not list(tmp_path.iterdir())
