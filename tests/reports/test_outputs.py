"""What the grader writes into its output folder: file modes, and the rows of the exports."""

import csv
import os
import stat

import pytest

from autograding.grading.files import atomic_write, remove_stale_temp_files
from autograding.reports.export import export_outputs
from autograding.reports.grades_csv import NBGRADER_COLUMNS, grade_rows
from autograding.reports.plot import distribution
from autograding.reports.summary import summary_table


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


@pytest.fixture
def gradebook(tmp_path):
    """A gradebook as earlier batches and a roster leave it: assignment a1 handed in by amy
    and bob, a2 by amy alone, a3 registered (its master) but handed in by nobody; student
    carl registered (an empty folder, or nbgrader's roster) with no submission at all."""
    import warnings

    from nbgrader.api import Gradebook

    from autograding.course.release import COURSE_ID
    from autograding.grading.gradebook import use_in_process_alembic_head

    use_in_process_alembic_head()
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with warnings.catch_warnings(), Gradebook(url, COURSE_ID) as gb:
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for name in ("a1", "a2", "a3"):
            gb.add_assignment(name)
            gb.add_notebook(name, name)
            gb.add_grade_cell("t1", name, name, max_score=2, cell_type="code")
            gb.add_grade_cell("t2", name, name, max_score=3, cell_type="code")
        for student in ("amy", "bob", "carl"):
            gb.add_student(student)
        for assignment, student, scores in (("a1", "amy", (2, 3)), ("a1", "bob", (0, 0)),
                                            ("a2", "amy", (2, 1))):
            gb.add_submission(assignment, student)
            for cell, score in zip(("t1", "t2"), scores, strict=True):
                gb.find_grade(cell, assignment, assignment, student).auto_score = score
        gb.db.commit()
    return url


def test_rows_only_for_handed_in_assignments_and_missing_rows_say_so(gradebook):
    columns, rows = grade_rows(gradebook)
    assert columns == NBGRADER_COLUMNS + ["status", "flags", "a1/a1:t1", "a1/a1:t2", "a2/a2:t1",
                                          "a2/a2:t2"]
    by_key = {(r["student_id"], r["assignment"]): r for r in rows}
    assert {k: r["status"] for k, r in by_key.items()} == {
        ("amy", "a1"): "graded", ("bob", "a1"): "graded", ("carl", "a1"): "missing",
        ("amy", "a2"): "graded", ("bob", "a2"): "missing", ("carl", "a2"): "missing"}
    assert by_key[("bob", "a1")]["score"] == "0.0", "a graded zero stays a zero"
    for key in (("carl", "a1"), ("bob", "a2"), ("carl", "a2")):
        row = by_key[key]
        assert row["max_score"] == "5.0"
        for column in ("timestamp", "raw_score", "late_submission_penalty", "score"):
            assert row[column] == "", (key, column)
        assert not any(row.get(c) for c in columns[len(NBGRADER_COLUMNS) + 1:]), key


def test_csv_leaves_missing_scores_empty(gradebook, tmp_path):
    result = export_outputs(tmp_path / "out", gradebook)
    with open(result.csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["student_id"], r["assignment"], r["status"], r["score"], r["a2/a2:t1"])
            for r in rows if r["assignment"] == "a2"] == [
        ("amy", "a2", "graded", "3.0", "2.0"), ("bob", "a2", "missing", "", ""),
        ("carl", "a2", "missing", "", "")]
    assert not [r for r in rows if r["assignment"] == "a3"]


def test_plot_counts_missing_rows_apart_from_zeros(gradebook):
    data = distribution(gradebook)
    assert sorted(data) == ["a1", "a2"]
    cells, handed_in, missing = data["a2"]
    assert (handed_in, missing) == (1, 2)
    assert cells == {"t1 (2 pt)": [(2.0, 2.0)], "t2 (3 pt)": [(1.0, 3.0)]}
    assert data["a1"][1:] == (2, 1)


def test_summary_shows_missing_and_failed_rows_and_the_mean_of_graded_ones(gradebook):
    _, rows = grade_rows(gradebook)
    rows = [dict(r, status="error") if (r["student_id"], r["assignment"]) == ("carl", "a1")
            else r for r in rows]
    table = summary_table(rows, {"amy": "(1 comment, see feedback)"})
    lines = {line.split()[0]: line.split()[1:] for line in table.splitlines()
             if not line.startswith("-")}
    assert lines["student"] == ["a1", "a2"]
    assert lines["amy"] == ["5/5", "3/5", "(1", "comment,", "see", "feedback)"]
    assert lines["bob"] == ["0/5", "missing"]
    assert lines["carl"] == ["error", "missing"]
    assert lines["mean"] == ["2.50", "3.00"]
    assert lines["handed"] == ["in", "3/3", "1/3"]


def test_export_outputs_follow_the_umask(gradebook, tmp_path, umask):
    result = export_outputs(tmp_path / "out", gradebook)
    assert mode(result.csv_path) == mode(result.plot_path) == 0o666 & ~umask
