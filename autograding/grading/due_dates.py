"""Due dates and the late policy of a course, read from its nbgrader_config.py, into the gradebook.

One place per course, its nbgrader_config.py:
    c.LinregDueDates.due = {"01_vectorization": "2026-12-07 23:59 Europe/Berlin", ...}
    c.AssignLatePenalties.plugin_class = "autograding.grading.late_policy.PercentPerDayLate"
    c.PercentPerDayLate.percent_per_day = 10  (and max_percent, grace_minutes)
The grader loads that file from the course folder it grades with traitlets' loader (never from
the working folder), writes each assignment's due date into the gradebook when it registers
the masters (none when the file names none), and hands nbgrader's AssignLatePenalties the
config. `nbgrader autograde` reads the same file; StoreDueDate, which the file puts right
before AssignLatePenalties (with_due_dates), writes the due date into its gradebook the same
way. nbgrader 0.9.6 itself keeps due dates only in the gradebook (`nbgrader db assignment add
--duedate`), which this replaces.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, TraitError, Unicode
from traitlets.config import Config, Configurable

from autograding.grading.late_policy import TimeFormatError, parse_time

CONFIG_NAME = "nbgrader_config.py"


class LatePolicyError(RuntimeError):
    """The due dates or the late policy cannot be used; the message names the file and fix."""


class LinregDueDates(Configurable):
    """The due dates of a course's assignments, as its nbgrader_config.py sets them."""

    due = Dict(
        value_trait=Unicode(), key_trait=Unicode(),
        help="Assignment id -> due date 'YYYY-MM-DD HH:MM ZONE' (an IANA zone such as "
        "Europe/Berlin, UTC, or an offset such as +01:00). An assignment not listed has no "
        "due date and is never late.",
    ).tag(config=True)


def parse_due_dates(raw: dict, where: str) -> dict[str, dt.datetime]:
    """{assignment: naive UTC due date} from `LinregDueDates.due`; raises LatePolicyError."""
    parsed = {}
    for assignment, text in raw.items():
        try:
            parsed[str(assignment)] = parse_time(str(text), naive_is_utc=False)
        except TimeFormatError as err:
            raise LatePolicyError(f"{where}: c.LinregDueDates.due[{assignment!r}]: {err}"
                                  ) from None
    return parsed


@dataclass(frozen=True)
class CourseLatePolicy:
    """A course's due dates and the config nbgrader's AssignLatePenalties is made with."""

    source: str  # the nbgrader_config.py read ("" when the course has none)
    config: Config
    due: dict  # assignment -> naive UTC datetime
    description: str  # the penalty rule in one sentence

    def due_date(self, assignment: str) -> dt.datetime | None:
        """The assignment's due date (naive UTC), or None."""
        return self.due.get(assignment)

    def rule(self, assignment: str) -> str:
        """What a late penalty depends on besides the submission's time: the due date and
        the policy (so a grade can be redone when either changes)."""
        due = self.due.get(assignment)
        return f"due {due.isoformat() if due else 'none'}; {self.description}"

    def check_assignments(self, known) -> None:
        """Refuse due dates of assignments the course does not have (a typo would silently
        leave the real assignment without a due date)."""
        unknown = sorted(set(self.due) - set(known))
        if unknown:
            raise LatePolicyError(
                f"{self.source or CONFIG_NAME}: c.LinregDueDates.due names "
                f"{', '.join(unknown)}, which the course has no master of (source/<id>/); "
                f"its assignments are {', '.join(sorted(known)) or '(none)'}")


def load_course_policy(course_root) -> CourseLatePolicy:
    """The late policy of the course in `course_root`, from its nbgrader_config.py (nbgrader's
    defaults, no due dates and no penalty, when it has none); raises LatePolicyError."""
    path = Path(course_root).resolve() / CONFIG_NAME
    try:
        info = path.stat()
    except FileNotFoundError:
        return policy_from_config(Config(), "")
    except OSError as err:
        raise LatePolicyError(f"{path}: cannot be read ({err.strerror})") from None
    return _load_file(str(path), info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=8)
def _load_file(path: str, mtime_ns: int, size: int) -> CourseLatePolicy:
    """Load one config file (cached while it is unchanged: a batch reads it more than once)."""
    from traitlets.config.loader import PyFileConfigLoader

    loader = PyFileConfigLoader(CONFIG_NAME, path=str(Path(path).parent))
    try:
        config = loader.load_config()
    except Exception as err:  # the file is Python: anything can go wrong in it
        raise LatePolicyError(f"{path}: cannot be loaded ({type(err).__name__}: {err}); fix "
                              "it (nbgrader's own commands read it too)") from None
    return policy_from_config(config, path)


def policy_from_config(config: Config, source: str) -> CourseLatePolicy:
    """A CourseLatePolicy from a loaded config, its due dates and plugin checked."""
    from nbgrader.preprocessors import AssignLatePenalties

    where = source or CONFIG_NAME
    try:
        due = parse_due_dates(LinregDueDates(config=config).due, where)
        step = AssignLatePenalties(config=config)
        step.init_plugin()
    except (TraitError, ImportError) as err:
        raise LatePolicyError(f"{where}: {err}") from None
    plugin = step.plugin_inst
    describe = getattr(plugin, "describe", None)
    if callable(describe):
        text = describe()
    else:
        name = type(plugin).__name__
        settings = dict(config.get(name, {}))
        text = f"{type(plugin).__module__}.{name} {settings or ''}".strip()
    return CourseLatePolicy(source, config, due, text)


def store_due_date(gb, assignment: str, due: dt.datetime | None) -> bool:
    """Set an assignment's due date (naive UTC, None: no due date) in an open nbgrader
    Gradebook; True when it changed."""
    record = gb.find_assignment(assignment)
    if record.duedate == due:
        return False
    record.duedate = due
    gb.db.commit()
    return True


class StoreDueDate(NbGraderPreprocessor):
    """For `nbgrader autograde`: the config's due date of the assignment into the gradebook,
    before nbgrader's AssignLatePenalties reads it."""

    def preprocess(self, nb, resources):
        """Store the due date; the notebook passes through unchanged."""
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        due = parse_due_dates(LinregDueDates(parent=self).due, CONFIG_NAME)
        with Gradebook(info["db_url"]) as gb:
            store_due_date(gb, info["assignment"], due.get(info["assignment"]))
        return nb, resources


def with_due_dates(preprocessors) -> list:
    """nbgrader's autograde steps with StoreDueDate right before AssignLatePenalties (for
    `c.Autograde.autograde_preprocessors` in a course's nbgrader_config.py)."""
    from nbgrader.preprocessors import AssignLatePenalties

    steps = [step for step in preprocessors if step is not StoreDueDate]
    if AssignLatePenalties in steps:
        steps.insert(steps.index(AssignLatePenalties), StoreDueDate)
    return steps
