"""Late hand-ins of the sample class: the demo course's due dates, timestamp.txt, penalties.

`make demo` grades against its own course folder (out/course/: copies of the masters and an
nbgrader_config.py that loads the course's own config, then gives every assignment a due
date, a week apart), so the course's config keeps the due dates its instructor sets. Three
honest students hand in one assignment each with nbgrader's timestamp.txt: ada 10 minutes
after the due date (inside the course's grace period, if it has one), ben 1.5 days late, cai
9 days late (past the course's cap, if it has one). Everyone else hands in without a time,
and so on time. A late hand-in's expected score is its reference score minus what the course's
own late-penalty plugin takes for the delay, kept between 0 and that score as nbgrader keeps it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograding.grading.due_dates import CONFIG_NAME, CourseLatePolicy, load_course_policy

FIRST_DUE = dt.datetime(2026, 12, 7, 23, 59)  # wall-clock time in DUE_ZONE
DUE_ZONE = "Europe/Berlin"
# (student, index of the assignment in the class's sorted list, delay after its due date)
LATE_HAND_INS = (
    ("ada_correct", 0, dt.timedelta(minutes=10)),
    ("ben_alternative", 1, dt.timedelta(days=1, hours=12)),
    ("cai_partial", 3, dt.timedelta(days=9)),
)


def due_date_texts(assignments) -> dict[str, str]:
    """{assignment: due date as the course config writes it}, one a week."""
    return {name: f"{FIRST_DUE + dt.timedelta(weeks=index):%Y-%m-%d %H:%M} {DUE_ZONE}"
            for index, name in enumerate(sorted(assignments))}


def make_demo_course(folder: Path, course_root: Path, assignments) -> Path:
    """`folder` as a course: source/ copied from `course_root` for `assignments`, and an
    nbgrader_config.py that loads `course_root`'s, then sets due dates (due_date_texts)."""
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    for name in assignments:
        shutil.copytree(Path(course_root) / "source" / name, folder / "source" / name)
    config = Path(course_root).resolve() / CONFIG_NAME
    lines = [
        '"""`make demo`\'s course: the course\'s own nbgrader config, plus due dates."""',
        "c = get_config()",
        f"load_subconfig({str(config)!r})",
        f"c.LinregDueDates.due = {due_date_texts(assignments)!r}",
    ]
    (folder / CONFIG_NAME).write_text("\n".join(lines) + "\n")
    return folder


@dataclass(frozen=True)
class LateHandIns:
    """Which sample submissions carry a time, how late they are, and the course's policy."""

    policy: CourseLatePolicy
    delays: dict = field(default_factory=dict)  # (student, assignment) -> timedelta

    def timestamp_text(self, key: tuple[str, str]) -> str:
        """timestamp.txt of a late hand-in, as nbgrader's exchange writes it."""
        moment = self.policy.due_date(key[1]) + self.delays[key]
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")

    def penalty(self, key: tuple[str, str], raw_score: float) -> float:
        """Points the course's plugin takes off `raw_score` for the hand-in's delay."""
        from nbgrader.preprocessors import AssignLatePenalties

        step = AssignLatePenalties(config=self.policy.config)
        step.init_plugin()
        seconds = self.delays[key].total_seconds()
        taken = step.plugin_inst.late_submission_penalty(key[0], raw_score, seconds)
        return min(max(float(taken or 0.0), 0.0), raw_score)

    def describe(self, key: tuple[str, str]) -> str:
        """How late a hand-in is, for the demo's description of it."""
        from autograding.grading.late_policy import describe_delay

        return f"handed in {describe_delay(self.delays[key].total_seconds())} late"


def hand_in_late(sample, late: LateHandIns) -> None:
    """Make the late hand-ins of a built sample class (autograding.demo.builder.SampleClass)
    late: their timestamp.txt on disk, their description, their penalty."""
    for sub in sample.submissions:
        key = (sub.student, sub.assignment)
        if key not in late.delays:
            continue
        text = late.timestamp_text(key)
        sub.files["timestamp.txt"] = text.encode()
        (sample.submitted_dir / sub.student / sub.assignment / "timestamp.txt").write_text(text)
        sub.description += f"; {late.describe(key)}"
        sample.penalties[key] = late.penalty(key, sum(sample.expected_cells[key].values()))


def late_hand_ins(course: Path, assignments) -> LateHandIns:
    """The sample class's late hand-ins, due dates and policy read from the demo `course`."""
    policy = load_course_policy(course)
    names = sorted(assignments)
    delays = {}
    for student, index, delay in LATE_HAND_INS:
        name = names[index % len(names)]
        if policy.due_date(name) is not None:
            delays[(student, name)] = delay
    return LateHandIns(policy, delays)
