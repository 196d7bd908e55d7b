"""The master check is remembered by the masters' hashes: a second batch into the same output
folder does not run an unchanged master again; a changed master or --force runs it again."""

import nbformat
import pytest
from grading_helpers import build_course, master_notebook, student_notebook, write_submission

from autograding import GradingSettings, Limits, grade_submissions
from autograding.grading.master_check import CACHE_NAME

# Its course's notebooks import none of torch, numpy, matplotlib (tests/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.without_course_libraries]
SETTINGS = GradingSettings(workers=1, progress=False, check_masters=True,
                           limits=Limits(cell_timeout=20, notebook_timeout=60))


def _grade(root, submitted, out, **options):
    settings = GradingSettings.from_options(SETTINGS, course_root=root, **options)
    return grade_submissions(submitted, out, settings)


def test_a_passed_master_check_is_remembered_until_the_master_changes(tmp_path):
    root = build_course(tmp_path / "course")
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    write_submission(submitted, "amy", student_notebook())
    first = _grade(root, submitted, out)
    assert first.master_checks == {"squares/squares": (5.0, 5.0)}
    assert first.master_checks_remembered == []
    assert (out / ".autograding" / CACHE_NAME).is_file()

    write_submission(submitted, "bob", student_notebook(square_body="return x + x"))
    second = _grade(root, submitted, out)
    assert second.graded == 1 and second.skipped == 1
    assert second.master_checks == first.master_checks
    assert second.master_checks_remembered == ["squares/squares"], "not run again"

    forced = _grade(root, submitted, out, force=True)
    assert forced.master_checks_remembered == [], "--force checks the masters again"

    master = nbformat.read(root / "source" / "squares" / "squares.ipynb", as_version=4)
    master.cells.append(nbformat.v4.new_markdown_cell("One more remark."))
    nbformat.write(master, root / "source" / "squares" / "squares.ipynb")
    changed = _grade(root, submitted, out)
    assert changed.master_checks_remembered == [], "a changed master is checked again"
    assert changed.master_checks == {"squares/squares": (5.0, 5.0)}

    # The user's cache keeps passes too: a batch into a new folder does not check again.
    elsewhere = _grade(root, submitted, tmp_path / "out2")
    assert elsewhere.master_checks_remembered == ["squares/squares"]
    assert elsewhere.master_checks == changed.master_checks


def test_a_failing_master_check_is_not_remembered(tmp_path):
    root = build_course(tmp_path / "course")
    master = master_notebook()
    master.cells.insert(1, nbformat.v4.new_code_cell(
        "import os\nassert 'NBGRADER_EXECUTION' not in os.environ", metadata={"nbgrader": {
            "grade": True, "grade_id": "env_test", "locked": True, "points": 1,
            "schema_version": 3, "solution": False, "task": False}}))
    nbformat.write(master, root / "source" / "squares" / "squares.ipynb")
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    write_submission(submitted, "amy", student_notebook())
    for _ in range(2):
        report = _grade(root, submitted, out, force=True)
        assert report.master_checks["squares/squares"][0] < report.master_checks[
            "squares/squares"][1]
        assert report.master_checks_remembered == []
        assert any("env_test" in note for note in report.notes)


def test_an_unwritable_user_cache_is_no_error(tmp_path, monkeypatch):
    """A read-only home only means the check is remembered in the batch's folder alone."""
    root = build_course(tmp_path / "course")
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    write_submission(submitted, "amy", student_notebook())
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    report = _grade(root, submitted, out)
    assert report.master_checks == {"squares/squares": (5.0, 5.0)} and report.graded == 1
    assert not [note for note in report.notes if "master check" in note], report.notes
    assert (out / ".autograding" / CACHE_NAME).is_file()
