"""nbgrader configuration of the "linreg-pytorch" course.

nbgrader reads this file when a command runs from this folder (`cd autograding && nbgrader
generate_assignment 05_mse_gradients`); the release tooling loads it too. Paths are resolved
from this file's location, so the config works from any working directory. `python -m
autograding grade` reads the due dates and the late-penalty policy from the course's copy of
this file (autograding.grading.due_dates), whatever the working directory.
"""

import os
from pathlib import Path

from nbgrader.converters import Autograde

from autograding.course.release import COURSE_ID
from autograding.grading.due_dates import with_due_dates

c = get_config()  # noqa: F821  (nbgrader injects get_config into config files)

COURSE_ROOT = Path(__file__).resolve().parent

# The grader registers the masters under the graded course's id (this line, for this course).
c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.root = str(COURSE_ROOT)
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = f"sqlite:///{COURSE_ROOT / 'gradebook.db'}"

# nbgrader's default exchange (/usr/local/share/nbgrader/exchange) needs root to create.
# Default to a per-user folder instead; LINREG_EXCHANGE_ROOT overrides it (e.g. a shared
# folder on a JupyterHub). nbgrader requires the folder to exist, so create it here.
EXCHANGE_ROOT = Path(
    os.environ.get(
        "LINREG_EXCHANGE_ROOT",
        Path.home() / ".local" / "share" / "linreg-pytorch" / "exchange",
    )
).expanduser()
try:
    EXCHANGE_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:
    pass  # read-only home: nbgrader's exchange commands report the unwritable folder
c.Exchange.root = str(EXCHANGE_ROOT)
c.Exchange.path_includes_course = True

# A cell's time limit, for nbgrader's commands and for `python -m autograding grade`: the
# slowest cell of any master takes a few seconds, so 60 s is headroom on a busy machine while
# a student's infinite loop costs a minute, not three (the batch waits for it).
c.Execute.timeout = 60
c.Execute.startup_timeout = 120

# Student copies: the stub nbgrader puts in place of each solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Due dates and late penalties (README, "Due dates and late penalties"). `python -m autograding
# grade` and `nbgrader autograde` both read them from here.
# Due dates: assignment id -> "YYYY-MM-DD HH:MM ZONE", the zone an IANA name (Europe/Berlin),
# UTC or an offset (+01:00); e.g. {"01_vectorization": "2027-04-19 23:59 Europe/Berlin"}.
# An assignment without one is never late; set them for your term.
c.LinregDueDates.due = {}
# The penalty: 10% of a notebook's score per day late (a started day counts whole), at most
# 50%; a hand-in up to 15 minutes after the due date is on time.
c.AssignLatePenalties.plugin_class = "autograding.grading.late_policy.PercentPerDayLate"
c.PercentPerDayLate.percent_per_day = 10.0
c.PercentPerDayLate.max_percent = 50.0
c.PercentPerDayLate.grace_minutes = 15.0

# nbgrader 0.9.6 keeps due dates only in its gradebook: for `nbgrader autograde`, StoreDueDate
# writes the due date above into it right before nbgrader's AssignLatePenalties reads it.
c.Autograde.autograde_preprocessors = with_due_dates(
    Autograde.class_traits()["autograde_preprocessors"].default())
