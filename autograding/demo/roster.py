"""The class roster: which student hands in which kind of submission, and its builder.

Five students hand in every assignment (correct, alternative, partial, blank, erroring); then
one student per hostile or broken case, each on one assignment in turn (or the one
ASSIGNMENT_OF names); more students, if asked for, add correct/partial/alternative/blank copies.
"""

from __future__ import annotations

from pathlib import Path

from autograding.demo.assignments import Assignment
from autograding.demo.broken import BROKEN_KINDS
from autograding.demo.honest import HONEST_KINDS
from autograding.demo.hostile import HOSTILE_KINDS
from autograding.demo.submission import SampleSubmission, SubmissionBuilder, SubmissionContext

# Students who hand in every assignment, then one student per hostile or corrupt case.
FULL_STUDENTS = [
    ("ada_correct", "correct"),
    ("ben_alternative", "alternative"),
    ("cai_partial", "partial"),
    ("dana_blank", "blank"),
    ("eli_erroring", "erroring"),
]
SINGLE_STUDENTS = [
    ("fay_loop_forever", "loop_forever"),
    ("gus_sleep_forever", "sleep_forever"),
    ("hal_alloc_50gb", "alloc_50gb"),
    ("ivy_fork_bomb", "fork_bomb"),
    ("jon_sys_exit", "sys_exit"),
    ("kai_os_exit", "os_exit"),
    ("lea_kill_midway", "kill_midway"),
    ("max_delete_tests", "delete_tests"),
    ("nia_edit_tests", "edit_tests"),
    ("oli_duplicate_tests", "duplicate_tests"),
    ("pia_fake_pass", "fake_pass"),
    ("quinn_million_lines", "million_lines"),
    ("rex_read_masters", "read_masters"),
    ("sia_write_outside", "write_outside"),
    ("tom_network", "network"),
    ("uma_not_json", "not_json"),
    ("vic_empty_file", "empty_file"),
    ("wes_nbformat3", "nbformat3"),
    ("xia_text_file", "text_file"),
    ("yan_missing_notebook", "missing_notebook"),
    ("zoe_extra_files", "extra_files"),
    ("abe_odd_names", "odd_names"),
    ("bea_wrong_name", "wrong_name"),
    ("cal_colab_saved", "colab_saved"),
    ("dov_fill_disk", "fill_disk"),
    ("eva_display_flood", "display_flood"),
    ("fin_skip_tests", "skip_tests"),
    ("gia_patch_tests", "patch_tests"),
]
# A single student's assignment when the course has it (else the next in turn): the exact
# Fractions of 05 show best that a patched Fraction.__eq__ changes no score.
ASSIGNMENT_OF = {"patch_tests": "05_mse_gradients"}
EXTRA_KINDS = ("correct", "partial", "alternative", "blank")
ROSTER_SIZE = len(FULL_STUDENTS) + len(SINGLE_STUDENTS)


def roster(n_students: int, assignments: list[str]) -> list[tuple[str, str, list[str]]]:
    """(student, kind, assignments) for at least `n_students` students."""
    rows = [(s, kind, list(assignments)) for s, kind in FULL_STUDENTS]
    for index, (student, kind) in enumerate(SINGLE_STUDENTS):
        chosen = ASSIGNMENT_OF.get(kind)
        rows.append((student, kind, [chosen if chosen in assignments
                                     else assignments[index % len(assignments)]]))
    extra = 0
    while len(rows) < n_students:
        kind = EXTRA_KINDS[extra % len(EXTRA_KINDS)]
        rows.append((f"extra{extra + 1:02d}_{kind}", kind, [assignments[extra % len(assignments)]]))
        extra += 1
    return rows


# kind -> builder; the three families have no kind in common.
SUBMISSION_KINDS: dict[str, SubmissionBuilder] = {**HONEST_KINDS, **BROKEN_KINDS, **HOSTILE_KINDS}


def make_submission(student: str, kind: str, a: Assignment, *, submitted_dir: Path,
                    course_root: Path, classmate: str) -> SampleSubmission:
    """Build one student's files for one assignment, with what it must score."""
    build = SUBMISSION_KINDS.get(kind)
    if build is None:
        raise ValueError(f"unknown sample submission kind {kind!r}")
    return build(SubmissionContext(student, kind, a, Path(submitted_dir), Path(course_root),
                                   classmate))
