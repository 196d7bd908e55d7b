"""The sample class: submissions built from the masters, each with the score it must get.

`make demo` releases the student notebooks, builds a class of correct, alternative-correct,
partial, blank, erroring, broken and hostile submissions, grades it with the pipeline and
checks every grade against its expected score, which comes from plain reference runs.

Modules:
- assignments: masters and released copies as Assignment, and notebook editing helpers.
- submission: SampleSubmission (files and scoring rule) and what a kind's builder is given.
- honest: correct, alternative, partial, blank and erroring notebooks, extra or odd files.
- broken: corrupt, empty, script, missing, wrongly named, nbformat 3 and Colab-saved files.
- colab: the text Google Colab downloads for a notebook.
- payloads: the hostile code (endless loops, fork bomb, disk filler, escapes, floods).
- hostile: submissions that attack the grader, stop their kernel or tamper with the tests.
- roster: which student hands in which kind, and the kind -> builder table.
- oracles: plain nbclient reference runs of benign notebooks, cached by content and code.
- builder: writes the class to disk and computes every expected score (SampleClass).
- late: the demo's course with due dates, and the hand-ins that come late (timestamp.txt).
- command: the `demo` command, its options and its got/expected table.
"""

from autograding.course.release import COURSE_ROOT
from autograding.demo.assignments import Assignment, available_assignments, load_assignments
from autograding.demo.builder import (
    SampleClass,
    build_sample_class,
    make_sample_class,
    sandboxed,
    write_colab_fixture,
)
from autograding.demo.colab import colab_saved
from autograding.demo.command import add_arguments, grade_table, run, run_demo
from autograding.demo.payloads import FIRST_ANSWER_HOSTILE
from autograding.demo.roster import (
    FULL_STUDENTS,
    ROSTER_SIZE,
    SINGLE_STUDENTS,
    make_submission,
    roster,
)
from autograding.demo.submission import SampleSubmission

__all__ = [
    "COURSE_ROOT",
    "FIRST_ANSWER_HOSTILE",
    "FULL_STUDENTS",
    "ROSTER_SIZE",
    "SINGLE_STUDENTS",
    "Assignment",
    "SampleClass",
    "SampleSubmission",
    "add_arguments",
    "available_assignments",
    "build_sample_class",
    "colab_saved",
    "grade_table",
    "load_assignments",
    "make_sample_class",
    "make_submission",
    "roster",
    "run",
    "run_demo",
    "sandboxed",
    "write_colab_fixture",
]
