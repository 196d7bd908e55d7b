"""Take an LMS export (zip or folder) into nbgrader's submitted/<student>/<assignment>/ layout.

Every upload is treated as hostile, every uploaded file gets a line in the report saying what
became of it and why, and an existing submitted notebook is only replaced when forced.

Modules:
- uploads: read the files of a zip, folder or single notebook safely, under size caps;
- names: student, assignment, timestamp and copy number from file and folder names (LMS layouts);
- notebook_content: whether a notebook is gradable, and its assignment from its content;
- classify: one upload -> a candidate (student, assignment, flags) or an entry saying why not;
- filing: keep the latest of conflicting copies and write it to its place in submitted/;
- report: the entries of one intake, the printed table, intake_report.json and .csv;
- pipeline: `intake_uploads`, one intake from the source to the report;
- command: the command-line options, exit status and `main` (run by `__main__`).
"""

from autograding.course.release import ASSIGNMENT_IDS, COURSE_ROOT
from autograding.intake.command import add_arguments, main, run
from autograding.intake.names import SAFE_ID, safe_student_id
from autograding.intake.notebook_content import OLD_FORMAT, notebook_problem
from autograding.intake.pipeline import intake_uploads
from autograding.intake.report import REPORT_NAME, IntakeEntry, IntakeReport
from autograding.intake.uploads import IntakeError, IntakeLimits

__all__ = [
    "ASSIGNMENT_IDS",
    "COURSE_ROOT",
    "OLD_FORMAT",
    "REPORT_NAME",
    "SAFE_ID",
    "IntakeEntry",
    "IntakeError",
    "IntakeLimits",
    "IntakeReport",
    "add_arguments",
    "intake_uploads",
    "main",
    "notebook_problem",
    "run",
    "safe_student_id",
]
