"""A course's nbgrader_config.py as the grader honours it: course id, delimiters, time limit,
files kept from the student, nbgrader's own steps made with it; bad settings name the file."""

from pathlib import Path

import nbformat
import pytest
from grading_helpers import build_course, student_notebook

from autograding.engine.limits import Limits
from autograding.grading.course_settings import (
    DEFAULT_HIDDEN_TESTS,
    CourseConfigError,
    load_course_settings,
)
from autograding.grading.gradebook import register_masters
from autograding.grading.pipeline import sanitize
from autograding.grading.settings import BatchPlan, GradingError, GradingSettings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nbgrader_course"


def course_with(tmp_path: Path, config: str | None) -> Path:
    """The tests' small course, with `config` as its nbgrader_config.py (None: none)."""
    root = build_course(tmp_path / "course")
    if config is not None:
        (root / "nbgrader_config.py").write_text(config)
    return root


def test_the_fixture_course_settings_are_read_from_its_file():
    settings = load_course_settings(FIXTURE)
    assert settings.source == str(FIXTURE / "nbgrader_config.py")
    assert settings.course_id == "fixture-stats"
    assert settings.hidden_tests == ("BEGIN SECRET CHECKS", "END SECRET CHECKS")
    assert settings.cell_timeout == 5.0
    assert settings.kept_from_student("ps1") == {"student_notes.py"}
    assert settings.kept_from_student("ps2") == frozenset()
    assert "feedback" in settings.ignore


def test_without_a_config_file_nbgrader_defaults_apply(tmp_path):
    settings = load_course_settings(course_with(tmp_path, None))
    assert (settings.source, settings.course_id, settings.cell_timeout) == ("", "", None)
    assert settings.hidden_tests == DEFAULT_HIDDEN_TESTS


@pytest.mark.parametrize(("line", "timeout"), [
    ("c.ExecutePreprocessor.timeout = 7", 7.0),  # a parent class's section counts too
    ("c.Execute.timeout = None", 0.0),  # nbclient: no limit
    ("c.Execute.timeout = -1", 0.0),
    ("c.Execute.timeout = 30", 30.0),  # nbgrader's default, set on purpose
])
def test_execute_timeout_and_its_no_limit_values(tmp_path, line, timeout):
    assert load_course_settings(course_with(tmp_path, f"c = get_config()\n{line}\n")
                                ).cell_timeout == timeout


def test_the_course_timeout_is_the_cell_limit_unless_the_caller_set_one(tmp_path):
    root = course_with(tmp_path, "c = get_config()\nc.Execute.timeout = 9\n")

    def limit(**options):
        settings = GradingSettings(course_root=root, **options)
        return BatchPlan(tmp_path, tmp_path, root, "", "none", (), settings).limits.cell_timeout

    assert limit() == 9
    assert limit(limits=Limits(cell_timeout=4)) == 4
    assert limit(limits=Limits(cell_timeout=4), course_timeout=True) == 9
    assert limit(course_timeout=False) == Limits().cell_timeout


@pytest.mark.parametrize(("line", "message"), [
    ("c.Autograde.exclude_overwriting = ['helper.py']", "exclude_overwriting is not a dict"),
    ("c.Autograde.exclude_overwriting = {'squares': 'helper.py'}", "not a list of file names"),
    ("c.ClearHiddenTests.begin_test_delimeter = ' '", "must not be empty"),
    ("c.Execute.timeout = 'long'", "timeout"),
])
def test_unusable_settings_stop_with_the_file_named(tmp_path, line, message):
    root = course_with(tmp_path, f"c = get_config()\n{line}\n")
    with pytest.raises(CourseConfigError, match=message) as caught:
        load_course_settings(root)
    assert str(root / "nbgrader_config.py") in str(caught.value)
    with pytest.raises(GradingError, match=message):
        BatchPlan(tmp_path, tmp_path, root, "", "none", (), GradingSettings(course_root=root))


def test_masters_are_stored_with_the_course_id_stub_and_delimiters(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    from autograding.grading import gradebook

    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    masters = register_masters(db_url, FIXTURE)
    problem1 = next(m for m in masters["ps1"] if m.name == "problem1")
    assert problem1.hidden_tests == ("BEGIN SECRET CHECKS", "END SECRET CHECKS")
    assert "raise NotImplementedError('no answer yet')" in problem1.cell("total_answer").source
    assert "BEGIN SECRET CHECKS" in problem1.cell("total_test").source  # kept in the gradebook
    with Gradebook(db_url) as gb:
        assert {a.course_id for a in gb.assignments} == {"fixture-stats"}
    # Stored as the course's ClearSolutions releases them: a second run finds them unchanged.
    monkeypatch.setattr(gradebook, "_generate_into_gradebook", None)
    assert register_masters(db_url, FIXTURE)["ps1"][0].cell("total_answer") is not None


def test_add_missing_cells_restores_a_deleted_test_as_nbgrader_does(tmp_path):
    root = course_with(tmp_path, "c = get_config()\nc.OverwriteCells.add_missing_cells = True\n"
                       "c.OverwriteCells.missing_cell_notification = 'PUT BACK {cell_id}\\n'\n")
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    (master,) = register_masters(db_url, root)["squares"]
    nb = student_notebook()
    del nb.cells[3]  # square_test
    resources = {"nbgrader": {"notebook": "squares", "assignment": "squares",
                              "student": "amy", "db_url": db_url}}
    config = load_course_settings(root).config
    restored, comments = sanitize(nbformat.from_dict(nb), master, resources, config)
    (cell,) = [c for c in restored.cells if c.metadata["nbgrader"]["grade_id"] == "square_test"]
    assert cell.source.startswith("# PUT BACK square_test"), "nbgrader's notification"
    assert [c for c in comments if "'square_test' was missing" in c]
    plain, _ = sanitize(nbformat.from_dict(nb), master, resources)
    (cell,) = [c for c in plain.cells if c.metadata["nbgrader"]["grade_id"] == "square_test"]
    assert not cell.source.startswith("# PUT BACK"), "without it, the grader's own restoring"
