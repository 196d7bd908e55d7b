"""nbgrader's exchange with the course: release, fetch, submit, collect, then our grader."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from reference_answers import fill_reference_answers, released_ids

from autograding.course.exchange import main as exchange_main
from autograding.course.exchange import stage_release
from autograding.course.release import COURSE_ID, master_path

STUDENT = "alice"


def _exchange_config(course, exchange, **extra):
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = COURSE_ID
    config.Exchange.root = str(exchange)
    config.Exchange.path_includes_course = True
    for key, value in extra.items():
        section, name = key.split("__")
        config[section][name] = value
    return config


def _run(exchange_class, config, assignment_id):
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment_id
    app = exchange_class(coursedir=coursedir, authenticator=Authenticator(config=config),
                         config=config)
    app.start()


def _plain_nbgrader_autograde(course, exchange, assignment_id):
    """nbgrader's own autograde of the collected submission: (score, max_score)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    shutil.copytree(master_path(assignment_id).parent, course / "source" / assignment_id)
    config = _exchange_config(course, exchange, Execute__timeout=180)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    for step in (api.generate_assignment(assignment_id), api.autograde(assignment_id, STUDENT)):
        assert step["success"], step.get("error") or step.get("log")
    submission = api.get_submission(assignment_id, STUDENT)
    return submission["score"], submission["max_score"]


def test_stage_command_names_the_fix_when_notebooks_are_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("autograding.course.exchange.NOTEBOOKS_DIR", tmp_path / "none")
    assert exchange_main(["05_mse_gradients"]) == 1
    assert "run `make release` first" in capsys.readouterr().out
    assert exchange_main(["06_nope"]) == 2


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's autograde, known
def test_exchange_round_trip_then_grade_gives_full_marks(tmp_path):
    from nbgrader.exchange.default import (
        ExchangeCollect,
        ExchangeFetchAssignment,
        ExchangeReleaseAssignment,
        ExchangeSubmit,
    )

    from autograding.api import grade_submissions

    ids = released_ids()
    if not ids:
        pytest.skip("no released notebooks yet: run `make release`")
    course, exchange, home = tmp_path / "course", tmp_path / "exchange", tmp_path / "alice"
    exchange.mkdir()
    home.mkdir()
    stage_release(course, assignment_ids=ids)
    instructor = _exchange_config(course, exchange)
    student = _exchange_config(course, exchange, CourseDirectory__student_id=STUDENT,
                               Exchange__assignment_dir=str(home))
    for assignment_id in ids:
        _run(ExchangeReleaseAssignment, instructor, assignment_id)
        _run(ExchangeFetchAssignment, student, assignment_id)
        fetched = home / COURSE_ID / assignment_id / f"{assignment_id}.ipynb"  # course in path
        nb = fill_reference_answers(nbformat.read(fetched, 4),
                                    nbformat.read(master_path(assignment_id), 4))
        nbformat.write(nb, fetched)
        if assignment_id == ids[-1]:  # the student's Validate button (nbgrader validate)
            from nbgrader.validator import Validator

            assert Validator().validate(str(fetched)) == {}, "nbgrader validate complained"
        _run(ExchangeSubmit, student, assignment_id)
        _run(ExchangeCollect, instructor, assignment_id)
        collected = course / "submitted" / STUDENT / assignment_id
        assert (collected / f"{assignment_id}.ipynb").is_file()
        assert (collected / "timestamp.txt").is_file()

    report = grade_submissions(course / "submitted", tmp_path / "graded", progress=False)
    for assignment_id in ids:
        result = report.results[(STUDENT, assignment_id)]
        assert result.status == "graded", (assignment_id, result.comments)
        assert result.max_total > 0 and result.total == result.max_total, (
            assignment_id, result.scores, result.comments)
    # nbgrader's own autograde accepts a submission carrying the course cells, same score
    result = report.results[(STUDENT, ids[-1])]
    assert _plain_nbgrader_autograde(course, exchange, ids[-1]) == (
        result.total, result.max_total)
