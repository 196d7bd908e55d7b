"""Late penalties: the policy plugin, due dates from the course config, the grader's record
step and its reports, and the same penalty from plain `nbgrader autograde` (one slow test)."""

import datetime as dt
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from grading_helpers import ASSIGNMENT, build_course, student_notebook, write_submission
from traitlets import TraitError

from autograding.grading.due_dates import (
    LatePolicyError,
    StoreDueDate,
    load_course_policy,
    with_due_dates,
)
from autograding.grading.files import db_url_for
from autograding.grading.gradebook import (
    ANY_COURSE,
    GradebookError,
    course_late_policy,
    register_masters,
    shared_gradebook,
)
from autograding.grading.late_policy import (
    PercentPerDayLate,
    TimeFormatError,
    describe_delay,
    parse_time,
)
from autograding.grading.record import BatchHooks, NotebookRecorder
from autograding.grading.settings import BatchPlan, GradingSettings
from autograding.grading.tasks import discover
from autograding.reports.feedback import FeedbackWriter, late_lines
from autograding.reports.grades_csv import grade_rows
from autograding.reports.summary import summary_table

# nbgrader's add_submission warns on every new submission (grade_batch silences it too). Its
# course's notebooks import none of torch, numpy, matplotlib (tests/conftest.py).
pytestmark = [pytest.mark.filterwarnings("ignore:.*not in session.*"),
              pytest.mark.without_course_libraries]
KIT_CONFIG = Path(__file__).resolve().parents[2] / "autograding" / "nbgrader_config.py"
DUE_TEXT = "2026-12-07 23:59 Europe/Berlin"
DUE = dt.datetime(2026, 12, 7, 22, 59)  # the same moment in UTC (Berlin is UTC+1 in December)
HOUR = dt.timedelta(hours=1)
POLICY = f"""
c = get_config()
c.LinregDueDates.due = {{"{ASSIGNMENT}": "{DUE_TEXT}"}}
c.AssignLatePenalties.plugin_class = "autograding.grading.late_policy.PercentPerDayLate"
c.PercentPerDayLate.percent_per_day = 10.0
c.PercentPerDayLate.max_percent = 50.0
c.PercentPerDayLate.grace_minutes = 15.0
"""
# The square test is worth 2 points, the cube test 3.
WRONG_SQUARE = student_notebook(square_body="return 0")


def stamp(moment: dt.datetime) -> str:
    """timestamp.txt as nbgrader's exchange writes it."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


# student -> (submission, timestamp.txt content or None, penalty, score after it)
CLASS = {
    "on_time": (student_notebook(), stamp(DUE - HOUR), 0.0, 5.0),
    "in_grace": (student_notebook(), stamp(DUE + dt.timedelta(minutes=10)), 0.0, 5.0),
    "late_1_5_days": (student_notebook(), stamp(DUE + 36 * HOUR), 1.0, 4.0),  # 2 days: 20%
    "capped": (WRONG_SQUARE, stamp(DUE + 9 * 24 * HOUR), 1.5, 1.5),  # 9 days: 50% of 3
    "no_timestamp": (student_notebook(), None, 0.0, 5.0),
    "unreadable": (student_notebook(), "next friday, roughly", 0.0, 5.0),
    "oversized": (student_notebook(), stamp(DUE + 36 * HOUR) + " " * 300, 0.0, 5.0),
}
UNREADABLE = ("unreadable", "oversized")


def plugin(**traits) -> PercentPerDayLate:
    """The policy with the course's settings, or these."""
    settings = {"percent_per_day": 10.0, "max_percent": 50.0, "grace_minutes": 15.0, **traits}
    return PercentPerDayLate(**settings)


# --- the policy alone ---------------------------------------------------------------------


def test_on_time_and_inside_the_grace_period_cost_nothing():
    policy = plugin()
    assert policy.late_submission_penalty("amy", 5.0, 0) is None
    assert policy.late_submission_penalty("amy", 5.0, 15 * 60) is None
    assert policy.late_submission_penalty("amy", 5.0, 15 * 60 + 1) == 0.5  # a started day


def test_a_started_day_counts_whole_from_the_due_date():
    policy = plugin()
    assert policy.days_late(1.5 * 86400) == 2
    assert policy.late_submission_penalty("amy", 5.0, 1.5 * 86400) == 1.0
    assert policy.late_submission_penalty("amy", 5.0, 86400) == 0.5
    assert policy.late_submission_penalty("amy", 3.0, 86401) == 0.6


def test_the_penalty_is_capped_and_never_negative():
    policy = plugin()
    assert policy.late_submission_penalty("amy", 3.0, 9 * 86400) == 1.5
    assert plugin(max_percent=100).late_submission_penalty("amy", 3.0, 30 * 86400) == 3.0
    assert policy.late_submission_penalty("amy", 0.0, 3 * 86400) == 0.0
    assert policy.late_submission_penalty("amy", -2.0, 3 * 86400) == 0.0


def test_without_grace_a_second_late_costs_a_day():
    assert plugin(grace_minutes=0).late_submission_penalty("amy", 5.0, 1) == 0.5


@pytest.mark.parametrize("traits", [{"percent_per_day": -5}, {"max_percent": 150},
                                    {"grace_minutes": -1}, {"max_percent": -1}])
def test_impossible_policies_are_refused(traits):
    with pytest.raises(TraitError, match="must be"):
        plugin(**traits)


def test_the_policy_says_itself_in_one_sentence():
    assert plugin().describe() == ("10% of the score per day late or part of a day, at most "
                                   "50%, after 15 minutes' grace")
    assert describe_delay(36 * 3600 + 5 * 60) == "1 d 12 h 5 min"
    assert describe_delay(30) == "under a minute"


# --- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, utc", [
    (DUE_TEXT, DUE),
    ("2026-07-07 23:59 Europe/Berlin", dt.datetime(2026, 7, 7, 21, 59)),  # summer time
    ("2026-12-07 23:59 +05:30", dt.datetime(2026, 12, 7, 18, 29)),
    ("2026-12-07T23:59:00+01:00", DUE),
    ("2026-12-07 22:59:00.500000 UTC", DUE + dt.timedelta(seconds=0.5)),
])
def test_times_are_read_in_their_zone_and_kept_as_utc(text, utc):
    assert parse_time(text, naive_is_utc=False) == utc


def test_a_due_date_must_name_its_zone_and_a_timestamp_defaults_to_utc():
    with pytest.raises(TimeFormatError, match="no time zone"):
        parse_time("2026-12-07 23:59", naive_is_utc=False)
    assert parse_time("2026-12-07 22:59", naive_is_utc=True) == DUE


@pytest.mark.parametrize("text, message", [
    ("2026-12-07 23:59 Europe/Berln", "unknown time zone 'Europe/Berln'"),
    ("2026-12-07 23:59 PST", "unknown time zone 'PST'"),
    ("2026-13-40 23:59 UTC", "not a date and time"),
    ("soon Europe/Berln", "not a date and time"),
    ("", "no time given"),
])
def test_unknown_zones_and_non_dates_are_refused(text, message):
    with pytest.raises(TimeFormatError, match=message):
        parse_time(text, naive_is_utc=True)


# --- the course config --------------------------------------------------------------------


def course_with(tmp_path: Path, config: str | None = POLICY) -> Path:
    """The tiny course (grading_helpers) with this nbgrader_config.py."""
    course = build_course(tmp_path / "course")
    if config is not None:
        (course / "nbgrader_config.py").write_text(config)
    return course


def test_a_course_without_config_has_no_due_dates_and_no_penalty(tmp_path):
    policy = load_course_policy(course_with(tmp_path, None))
    assert policy.due == {} and policy.source == ""
    assert "LateSubmissionPlugin" in policy.description


def test_the_working_folder_config_is_never_read(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "nbgrader_config.py").write_text(POLICY)
    monkeypatch.chdir(elsewhere)
    assert load_course_policy(course_with(tmp_path, None)).due == {}
    assert load_course_policy(elsewhere).due == {ASSIGNMENT: DUE}


def test_a_bad_due_date_names_the_file_and_the_fix(tmp_path):
    course = course_with(tmp_path, POLICY.replace(DUE_TEXT, "2026-12-07 23:59"))
    with pytest.raises(LatePolicyError) as caught:
        load_course_policy(course)
    assert str(course / "nbgrader_config.py") in str(caught.value)
    assert "c.LinregDueDates.due['squares']" in str(caught.value)
    assert "Europe/Berlin" in str(caught.value)  # the example of what to write


def test_a_due_date_for_an_assignment_the_course_lacks_is_refused(tmp_path):
    course = course_with(tmp_path, POLICY.replace(f'"{ASSIGNMENT}"', '"squars"'))
    with pytest.raises(GradebookError, match="names squars, which the course has no master"):
        course_late_policy(course)


@pytest.mark.parametrize("line, message", [
    ("c.PercentPerDayLate.max_percent = 500", "max_percent = 500.0: must be between 0 and 100"),
    ("c.AssignLatePenalties.plugin_class = 'nowhere.Plugin'", "nowhere"),
    ("raise RuntimeError('half-edited')", "half-edited"),
])
def test_a_broken_config_names_the_file(tmp_path, line, message):
    course = course_with(tmp_path, POLICY + line + "\n")
    with pytest.raises(LatePolicyError, match=message) as caught:
        load_course_policy(course)
    assert str(course / "nbgrader_config.py") in str(caught.value)


def test_the_kit_config_sets_the_policy_for_both_graders():
    from traitlets.config.loader import PyFileConfigLoader

    policy = load_course_policy(KIT_CONFIG.parent)
    assert policy.description.startswith("10% of the score per day late")
    config = PyFileConfigLoader(KIT_CONFIG.name, path=str(KIT_CONFIG.parent)).load_config()
    steps = [step.__name__ for step in config.Autograde.autograde_preprocessors]
    assert steps[steps.index("StoreDueDate") + 1] == "AssignLatePenalties"
    assert with_due_dates(config.Autograde.autograde_preprocessors).count(StoreDueDate) == 1


# --- the grader's record step and reports, without executing --------------------------------


def record_class(course: Path, submitted: Path, out: Path) -> str:
    """Register the masters and record every submission of `submitted` as if executed (the
    sanitized notebook as the result: test cells without errors pass; the square test of
    a wrong square fails); returns the gradebook URL."""
    out.mkdir(parents=True, exist_ok=True)
    db_url = db_url_for(out)
    settings = GradingSettings(course_root=course, progress=False)
    masters = register_masters(db_url, course)
    tasks, _ = discover(submitted, masters, settings)
    plan = BatchPlan(submitted, out, course, db_url, "none", (), settings)
    with shared_gradebook(db_url) as gradebook:
        recorder = NotebookRecorder(plan, gradebook, BatchHooks())
        for task in tasks:
            task.fingerprint = "test"
            job, comments = recorder.prepare(task)
            nb = nbformat.reads(job["notebook"], as_version=4)
            if "return 0" in nb.cells[2].source:
                nb.cells[3].outputs = [nbformat.v4.new_output(
                    "error", ename="AssertionError", evalue="square(3) should be 9",
                    traceback=[])]
            result = {"notebook": nbformat.writes(nb), "messages": [], "seconds": 0.1,
                      "sandbox": "none", "kernel_died": False}
            recorder.finish(task, result, comments)
    return db_url


def write_class(submitted: Path, students=tuple(CLASS)) -> None:
    """CLASS (or these students of it) into submitted/, each with its timestamp.txt."""
    for student in students:
        nb, timestamp, _, _ = CLASS[student]
        path = write_submission(submitted, student, nb)
        if timestamp is not None:
            (path.parent / "timestamp.txt").write_text(timestamp)


@pytest.fixture
def recorded(tmp_path):
    course = course_with(tmp_path)
    write_class(tmp_path / "submitted")
    db_url = record_class(course, tmp_path / "submitted", tmp_path / "out")
    return course, tmp_path, db_url


def penalties(db_url: str) -> dict[str, float]:
    """{student: late_submission_penalty} of the assignment."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, ANY_COURSE) as gb:
        return {s.student.id: s.late_submission_penalty
                for s in gb.find_assignment(ASSIGNMENT).submissions}


def test_the_gradebook_gets_the_due_date_and_each_penalty(recorded):
    _, _, db_url = recorded
    assert penalties(db_url) == {student: row[2] for student, row in CLASS.items()}
    _, rows = grade_rows(db_url)
    by_student = {row["student_id"]: row for row in rows}
    for student, (_, _, penalty, score) in CLASS.items():
        row = by_student[student]
        assert row["duedate"] == "2026-12-07 22:59:00"
        assert float(row["late_submission_penalty"]) == penalty
        assert float(row["score"]) == score
        assert float(row["raw_score"]) == (3.0 if student == "capped" else 5.0)
        assert bool(row["timestamp"]) == (student not in ("no_timestamp", *UNREADABLE))
    assert by_student["late_1_5_days"]["timestamp"] == "2026-12-09 10:59:00"


@pytest.mark.parametrize("student, why", [
    ("unreadable", "'next friday, roughly' is not a date and time; write it as YYYY-MM-DD "
                   "HH:MM followed by a time zone, e.g. 2026-12-07 23:59 Europe/Berlin"),
    ("oversized", "not a regular file of at most 200 bytes"),
])
def test_an_unreadable_timestamp_is_not_late_and_says_so(recorded, student, why):
    _, tmp_path, _ = recorded
    marker = json.loads(next((tmp_path / "out").rglob(f"{student}/squares/*.json")).read_text())
    comment = (f"timestamp.txt could not be read ({why}); the submission time is unknown, so "
               "it is not counted as late.")
    assert comment in marker["comments"]


def test_feedback_shows_due_date_submission_lateness_and_penalty(recorded):
    from nbgrader.api import Gradebook

    _, tmp_path, db_url = recorded
    with Gradebook(db_url, ANY_COURSE) as gb:
        lines = {s: late_lines(gb, s, ASSIGNMENT, ASSIGNMENT) for s in CLASS}
    assert lines["late_1_5_days"] == [
        "Due: 2026-12-07 22:59 UTC", "Submitted: 2026-12-09 10:59 UTC", "Late by: 1 d 12 h",
        "Late penalty: -1 points (5 before, 4 after)"]
    assert lines["on_time"][-1] == "Late by: on time"
    assert lines["in_grace"][-2:] == ["Late by: 10 min",
                                      "Late penalty: none under the course's policy"]
    assert lines["no_timestamp"][-1] == (
        "Submitted: no submission time recorded, so not counted as late")
    autograded = tmp_path / "out" / "autograded" / "capped" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    page = FeedbackWriter(db_url).render(nbformat.read(autograded, 4), "capped", ASSIGNMENT,
                                         ASSIGNMENT)
    assert "Late by: 9 d" in page and "Late penalty: -1.5 points (3 before, 1.5 after)" in page


def test_the_summary_marks_penalties_and_lists_late_hand_ins(recorded):
    _, _, db_url = recorded
    table = summary_table(grade_rows(db_url)[1])
    assert "4/5*" in table and "1.5/5*" in table
    assert "  late_1_5_days squares: late by 1 d 12 h, 5 - 1 = 4" in table
    assert "  in_grace squares: late by 10 min, no penalty" in table
    assert "on_time squares" not in table and "no_timestamp squares" not in table


def test_regrading_follows_a_new_timestamp_and_a_new_due_date(recorded):
    course, tmp_path, db_url = recorded
    (tmp_path / "submitted" / "late_1_5_days" / ASSIGNMENT / "timestamp.txt").unlink()
    # Nine days later: the capped one is on time now.
    (course / "nbgrader_config.py").write_text(POLICY.replace("2026-12-07", "2026-12-16"))
    record_class(course, tmp_path / "submitted", tmp_path / "out")
    got = penalties(db_url)
    assert got["late_1_5_days"] == 0.0 and got["capped"] == 0.0
    masters = register_masters(db_url, course)
    assert masters[ASSIGNMENT][0].late_rule.startswith("due 2026-12-16T22:59:00; 10%")


# --- plain nbgrader, with the kit's own config --------------------------------------------


@pytest.mark.slow
def test_plain_nbgrader_autograde_gives_the_same_penalties(tmp_path):
    """The kit's nbgrader_config.py, with a due date for the tiny course: `nbgrader autograde`
    and this grader give every submission the same late penalty. (Not the unreadable
    timestamp.txt: nbgrader stops the whole command on it; this grader notes it.)"""
    from nbgrader.api import Gradebook

    from autograding import grade_submissions
    from autograding.engine.limits import Limits

    config = KIT_CONFIG.read_text() + f'\nc.LinregDueDates.due = {{"{ASSIGNMENT}": "{DUE_TEXT}"}}\n'
    course = course_with(tmp_path, config)
    students = [student for student in CLASS if student not in UNREADABLE]
    write_class(course / "submitted", students)
    env = {**os.environ, "LINREG_EXCHANGE_ROOT": str(tmp_path / "exchange"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    env.pop("NBGRADER_EXECUTION", None)
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))

    def plain_nbgrader():
        for args in (["generate_assignment", ASSIGNMENT, "--force"],
                     ["autograde", ASSIGNMENT, "--force"]):
            run = subprocess.run([nbgrader, *args], cwd=course, env=env, capture_output=True,
                                 text=True, timeout=600)
            assert run.returncode == 0, run.stdout + run.stderr

    # Both graders at once (nbgrader mostly starts processes and waits): nbgrader writes into
    # the course folder, this grader only reads its source/ and submitted/.
    with ThreadPoolExecutor(1) as pool:
        theirs_done = pool.submit(plain_nbgrader)
        report = grade_submissions(course / "submitted", tmp_path / "graded",
                                   course_root=course, progress=False, workers=1,
                                   limits=Limits(cell_timeout=30, notebook_timeout=90))
        theirs_done.result()
    ours = penalties(report.db_url)
    theirs = penalties(f"sqlite:///{course / 'gradebook.db'}")
    assert theirs == ours == {student: CLASS[student][2] for student in students}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", ANY_COURSE) as gb:
        assert gb.find_assignment(ASSIGNMENT).duedate == DUE
