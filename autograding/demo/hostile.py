"""Hostile submissions: code that attacks the grader, stops its kernel, or games the tests.

Rules (documented because the score must be well defined):
- Code that never finishes or fails before the answer (FIRST_ANSWER_HOSTILE) goes at the TOP
  of the first answer cell, followed by the correct answer: the cell is interrupted or errors,
  the correct answer in it never runs, the kernel lives on and every later cell runs.
  Expected: the "first answer void" oracle. The escape attempts among them hold only in a
  sandbox (`needs_sandbox`).
- os._exit(0) or sys.exit() at the top of the first answer, 4 GiB written to the disk there,
  or SIGKILL to its own kernel (or every later cell emptied) after the middle answer: the
  kernel stops; test cells before that answer keep the score of the correct run, every later
  graded cell gets zero. (A plain ipykernel turns sys.exit() into a SystemExit error and runs
  on; the grader's contract stops the kernel, as the program asked.)
- Tampered tests (deleted, edited to `pass`, duplicated) are restored from the masters, so they
  score like the untampered answers: deleted tests with correct answers get full marks,
  `pass`-edited and duplicated tests with blank answers get the blank score; so does printing
  fake passing output.
- A million lines of output come after the answer in its cell: the grader must truncate the
  output without losing the answer (a timeout there would only cost the printing).
- Five thousand tiny displays come after the answer in its cell: few bytes, but one feedback
  row each; the grader keeps the first 1,000 and says so.
- Wrong answers (every result one off) with code, at the top of the first answer, that
  replaces torch.allclose, torch.equal, numpy.allclose, math.isclose, Fraction.__eq__ and, for
  the tests' calls, abs, all and isinstance: every comparison of a test would pass. The tests
  compare with references taken before the notebook ran, so it scores as the same wrong
  answers do without the patch (the "wrong" oracle), and the grader flags it for review.
"""

from __future__ import annotations

import copy
import hashlib

import autograding.demo.payloads as payloads
from autograding.demo.assignments import (
    cell_source,
    fill,
    grade_id,
    new_cell,
    one_off_answers,
    set_answer,
)
from autograding.demo.payloads import FIRST_ANSWER_HOSTILE
from autograding.demo.submission import (
    SampleSubmission,
    SubmissionBuilder,
    SubmissionContext,
)


def first_answer_hostile(ctx: SubmissionContext) -> SampleSubmission:
    """A FIRST_ANSWER_HOSTILE payload at the top of the first answer."""
    a, name = ctx.assignment, ctx.notebook_name
    build, description, gated = FIRST_ANSWER_HOSTILE[ctx.kind]
    master_paths = [str(ctx.course_root / "source" / a.name / name), f"../../source/{a.name}/*",
                    f"../source/{a.name}/*", str(ctx.submitted_dir / ctx.classmate / a.name / name)]
    escape_paths = [str(ctx.submitted_dir / ctx.student / a.name / name),
                    str(ctx.submitted_dir.parent / f"ESCAPED_{ctx.student}.txt")]
    stealing = ctx.kind == "read_masters"
    hostile = build(assignment=a.name, grade_id=ctx.first,
                    paths=master_paths if stealing else escape_paths)
    nb = fill(a)
    body = "" if stealing else a.solution(ctx.first)
    set_answer(a, nb, ctx.first, hostile + "\n" + body)
    sub = ctx.notebook(nb, "first-void", description)
    sub.needs_sandbox = gated
    if ctx.kind == "write_outside":
        sub.canaries = escape_paths[1:]
    return sub


def _stopped(ctx: SubmissionContext, nb: dict, answer: str, description: str
             ) -> SampleSubmission:
    """A notebook whose kernel is gone after `answer`: no later cell scores."""
    sub = ctx.notebook(nb, "", description)
    sub.dead_after = answer
    return sub


def exits(ctx: SubmissionContext) -> SampleSubmission:
    """os._exit(0) or sys.exit() at the top of the first answer."""
    a = ctx.assignment
    nb = fill(a)
    code = payloads.os_exit() if ctx.kind == "os_exit" else payloads.sys_exit()
    set_answer(a, nb, ctx.first, code + a.solution(ctx.first))
    call = "os._exit(0)" if ctx.kind == "os_exit" else "sys.exit()"
    return _stopped(ctx, nb, ctx.first, f"{call} at the top of the first answer: the kernel stops")


def fill_disk(ctx: SubmissionContext) -> SampleSubmission:
    """4 GiB of files at the top of the first answer."""
    a = ctx.assignment
    nb = fill(a)
    set_answer(a, nb, ctx.first, payloads.fill_disk() + a.solution(ctx.first))
    return _stopped(ctx, nb, ctx.first, "writes 4 GiB in files under the per-file cap: stopped")


def kill_midway(ctx: SubmissionContext) -> SampleSubmission:
    """SIGKILL to its own kernel after the middle answer."""
    a = ctx.assignment
    nb = fill(a)
    set_answer(a, nb, ctx.middle, a.solution(ctx.middle) + payloads.kill_own_kernel())
    return _stopped(ctx, nb, ctx.middle, f"kills its own kernel after answer {ctx.middle!r}")


def skip_tests(ctx: SubmissionContext) -> SampleSubmission:
    """Correct answers, and an input transformer that empties every later cell, tests too."""
    a = ctx.assignment
    nb = fill(a)
    set_answer(a, nb, ctx.middle, a.solution(ctx.middle) + payloads.skip_tests())
    # The grader puts IPython's transformers back before each test: the tests run as written
    # (the answers, correct, score) and the notebook is flagged for the change.
    sub = ctx.notebook(nb, "correct", f"adds an input transformer after answer {ctx.middle!r} "
                       "that empties every later cell (the tests too): removed before each "
                       "test, scored as written, flagged")
    sub.flagged = True
    return sub


def delete_tests(ctx: SubmissionContext) -> SampleSubmission:
    """Correct answers, every test cell deleted."""
    a = ctx.assignment
    nb = fill(a)
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) not in a.points]
    return ctx.notebook(nb, "correct", "correct answers, every test cell deleted")


def edit_tests(ctx: SubmissionContext) -> SampleSubmission:
    """Blank answers, every test cell replaced by `pass`."""
    a = ctx.assignment
    nb = copy.deepcopy(a.student)
    for cell in nb["cells"]:
        if grade_id(cell) in a.points:
            cell["source"] = "pass\n"
    return ctx.notebook(nb, "blank", "blank answers, every test cell edited to `pass`")


def duplicate_tests(ctx: SubmissionContext) -> SampleSubmission:
    """Blank answers, a `pass` copy (same grade id) before every test cell."""
    a = ctx.assignment
    nb = copy.deepcopy(a.student)
    cells = []
    for cell in nb["cells"]:
        if grade_id(cell) in a.points:
            fake = copy.deepcopy(cell)
            fake["source"] = "pass  # my own copy of the test\n"
            fake["id"] = hashlib.sha1(f"dup-{grade_id(cell)}".encode()).hexdigest()[:8]
            cells.append(fake)
        cells.append(cell)
    nb["cells"] = cells
    return ctx.notebook(nb, "blank", "blank answers, a `pass` copy before every test cell")


def fake_pass(ctx: SubmissionContext) -> SampleSubmission:
    """Blank answers that print passing-looking text, with fake outputs under the tests."""
    a = ctx.assignment
    nb = copy.deepcopy(a.student)
    fake = "All tests passed!\nScore: 10/10\n"
    for cell in nb["cells"]:
        cell_id = grade_id(cell)
        if cell_id in a.answers:
            cell["source"] = f"print({fake!r})\n" + cell_source(cell)
        elif cell_id in a.points:
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": fake}]
    nb["cells"].append(new_cell("code", f"print({fake!r})\n", "fake-final"))
    return ctx.notebook(nb, "blank", "blank answers printing fake passing tests")


def million_lines(ctx: SubmissionContext) -> SampleSubmission:
    """Correct, then a million printed lines in the first answer."""
    a = ctx.assignment
    nb = fill(a)
    set_answer(a, nb, ctx.first, a.solution(ctx.first) + "\n" + payloads.million_lines())
    return ctx.notebook(nb, "correct", "correct, then prints a million lines")


def display_flood(ctx: SubmissionContext) -> SampleSubmission:
    """Correct, then 5,000 tiny displays in the first answer."""
    a = ctx.assignment
    nb = fill(a)
    set_answer(a, nb, ctx.first, a.solution(ctx.first) + "\n" + payloads.display_flood())
    return ctx.notebook(nb, "correct", "correct, then shows 5,000 tiny outputs")


def patch_tests(ctx: SubmissionContext) -> SampleSubmission:
    """Wrong answers, and the comparisons the tests make replaced so that all would pass."""
    a = ctx.assignment
    nb = one_off_answers(a)
    set_answer(a, nb, ctx.first, payloads.patch_comparisons() + "\n"
               + cell_source(a.cell(nb, ctx.first)))
    sub = ctx.notebook(nb, "wrong", "wrong answers; replaces torch.allclose, Fraction.__eq__, "
                       "abs, ... so that every test would pass: scored without it, flagged")
    sub.flagged = True
    return sub


HOSTILE_KINDS: dict[str, SubmissionBuilder] = {
    **{kind: first_answer_hostile for kind in FIRST_ANSWER_HOSTILE},
    "os_exit": exits,
    "sys_exit": exits,
    "fill_disk": fill_disk,
    "kill_midway": kill_midway,
    "skip_tests": skip_tests,
    "delete_tests": delete_tests,
    "edit_tests": edit_tests,
    "duplicate_tests": duplicate_tests,
    "fake_pass": fake_pass,
    "million_lines": million_lines,
    "display_flood": display_flood,
    "patch_tests": patch_tests,
}
