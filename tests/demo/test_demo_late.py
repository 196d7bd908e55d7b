"""The demo's late hand-ins: its course with due dates, their timestamps and penalties."""

import datetime as dt

from autograding.demo import COURSE_ROOT
from autograding.demo.builder import SampleClass
from autograding.demo.late import LATE_HAND_INS, hand_in_late, late_hand_ins, make_demo_course
from autograding.demo.submission import SampleSubmission
from autograding.grading.due_dates import load_course_policy
from autograding.grading.late_policy import parse_time

IDS = ["01_a", "02_b", "03_c", "04_d", "05_e"]


def demo_course(tmp_path):
    """The demo's course for five made-up assignments, from the kit's config."""
    for name in IDS:
        (tmp_path / "kit" / "source" / name).mkdir(parents=True)
        (tmp_path / "kit" / "source" / name / f"{name}.ipynb").write_text("{}")
    (tmp_path / "kit" / "nbgrader_config.py").write_bytes(
        (COURSE_ROOT / "nbgrader_config.py").read_bytes())
    return make_demo_course(tmp_path / "course", tmp_path / "kit", IDS)


def test_the_demo_course_keeps_the_course_policy_and_adds_due_dates(tmp_path):
    course = demo_course(tmp_path)
    policy = load_course_policy(course)
    assert policy.description == load_course_policy(COURSE_ROOT).description
    assert policy.due_date("01_a") == dt.datetime(2026, 12, 7, 22, 59)  # 23:59 in Berlin
    assert policy.due_date("05_e") - policy.due_date("01_a") == dt.timedelta(weeks=4)
    assert sorted(p.name for p in (course / "source").iterdir()) == IDS


def test_late_hand_ins_get_a_timestamp_and_the_policy_s_penalty(tmp_path):
    late = late_hand_ins(demo_course(tmp_path), IDS)
    assert set(late.delays) == {("ada_correct", "01_a"), ("ben_alternative", "02_b"),
                                ("cai_partial", "04_d")}
    stamp = parse_time(late.timestamp_text(("ben_alternative", "02_b")), naive_is_utc=True)
    assert stamp == late.policy.due_date("02_b") + dt.timedelta(days=1, hours=12)
    assert late.penalty(("ada_correct", "01_a"), 10.0) == 0.0  # inside the 15-minute grace
    assert late.penalty(("ben_alternative", "02_b"), 10.0) == 2.0  # 2 started days, 10% each
    assert late.penalty(("cai_partial", "04_d"), 4.0) == 2.0  # 9 days, capped at 50%


def test_a_late_hand_in_gets_its_timestamp_and_a_lower_expected_score(tmp_path):
    late = late_hand_ins(demo_course(tmp_path), IDS)
    submitted = tmp_path / "submitted"
    subs = [SampleSubmission(student, "02_b", kind, "correct", {"02_b.ipynb": b"{}"},
                             oracle="correct")
            for student, kind in (("ben_alternative", "alternative"), ("eve", "correct"))]
    for sub in subs:
        (submitted / sub.student / "02_b").mkdir(parents=True)
    cells = {"t1": 4.0, "t2": 6.0}
    sample = SampleClass(submitted, subs, {(s.student, "02_b"): dict(cells) for s in subs},
                         {"02_b": 10.0})
    hand_in_late(sample, late)
    assert sample.expected == {("ben_alternative", "02_b"): 8.0, ("eve", "02_b"): 10.0}
    stamp = (submitted / "ben_alternative" / "02_b" / "timestamp.txt").read_text()
    assert stamp == late.timestamp_text(("ben_alternative", "02_b"))
    assert not (submitted / "eve" / "02_b" / "timestamp.txt").exists()
    assert subs[0].description.endswith("handed in 1 d 12 h late")


def test_the_late_students_hand_in_every_assignment():
    from autograding.demo import FULL_STUDENTS

    assert {s for s, _, _ in LATE_HAND_INS} <= {s for s, _ in FULL_STUDENTS}
