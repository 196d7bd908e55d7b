"""Honest submissions: correct, alternative-correct, partial, blank and erroring notebooks.

Also correct notebooks handed in beside extra files or files with odd names: the grader must
grade the notebook and neither trip over nor lose the rest.
"""

from __future__ import annotations

import base64
import copy

from autograding.demo.assignments import (
    Assignment,
    cell_source,
    fill,
    grade_id,
    new_cell,
    notebook_text,
    set_answer,
)
from autograding.demo.submission import (
    SampleSubmission,
    SubmissionBuilder,
    SubmissionContext,
)


def correct(ctx: SubmissionContext) -> SampleSubmission:
    """The masters' solutions in the student copy."""
    return ctx.notebook(fill(ctx.assignment), "correct", "the masters' solutions")


def alternative(ctx: SubmissionContext) -> SampleSubmission:
    """Correct, with the student's own cells, notes and prints."""
    return ctx.notebook(alternative_notebook(ctx.assignment), "correct",
                        "correct, with its own cells, notes, prints")


def partial(ctx: SubmissionContext) -> SampleSubmission:
    """Every other answer filled in."""
    a = ctx.assignment
    return ctx.notebook(fill(a, a.answers[::2]), "partial", "every other answer left blank")


def blank(ctx: SubmissionContext) -> SampleSubmission:
    """The released notebook as it was."""
    return ctx.notebook(copy.deepcopy(ctx.assignment.student), "blank",
                        "the released notebook unchanged")


def erroring(ctx: SubmissionContext) -> SampleSubmission:
    """Correct, but a NameError at the top of the last answer."""
    a = ctx.assignment
    nb = fill(a)
    typo = 'print("my result:", my_reslt)  # typo: NameError\n'
    set_answer(a, nb, ctx.last, typo + a.solution(ctx.last))
    return ctx.notebook(nb, "last-void", "NameError at the top of the last answer")


def extra_files(ctx: SubmissionContext) -> SampleSubmission:
    """Correct, with a data file, a helper module and a figure in a subfolder."""
    sub = ctx.notebook(fill(ctx.assignment), "correct",
                       "correct, with extra files and a subfolder")
    sub.files.update({
        "data.csv": b"x,y\n1,2\n2,4\n",
        "helper.py": b"def linreg(X, w, b):\n    return X @ w + b\n",
        "figures/loss.png": tiny_png(),
    })
    return sub


def odd_names(ctx: SubmissionContext) -> SampleSubmission:
    """Correct, beside files whose names are unicode, shell syntax, very long or a copy."""
    a = ctx.assignment
    sub = ctx.notebook(fill(a), "correct", "correct, beside files with odd names")
    sub.files.update({
        "notes – final (1).txt": b"numbers checked twice",
        "数据 файл.csv": b"x,y\n",
        "-rf": b"",
        " leading space;&$(echo).txt": b"odd",
        "x" * 200 + ".txt": b"long name",
        f"Copy of {a.name}.ipynb": notebook_text(a.student).encode(),
    })
    return sub


def alternative_notebook(a: Assignment) -> dict:
    """Correct answers with the student's own scratch cells, notes and debug prints."""
    nb = fill(a)
    cells = []
    for cell in nb["cells"]:
        cell_id = grade_id(cell)
        if cell_id in a.answers:
            cell["source"] = ("# My answer (I first tried a loop, then vectorized it).\n"
                              + cell_source(cell) + '\nprint("answer cell ran")\n')
        cells.append(cell)
        if cell_id in a.answers:
            cells.append(new_cell("code", '_scratch = "trying things out"\nprint(_scratch)\n',
                                  f"scratch-{cell_id}"))
            cells.append(new_cell("markdown", "Note to self: check the shapes.",
                                  f"note-{cell_id}"))
    nb["cells"] = cells
    return nb


def tiny_png() -> bytes:
    """A valid 1x1 PNG image."""
    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Er"
        "kJggg=="
    )


HONEST_KINDS: dict[str, SubmissionBuilder] = {
    "correct": correct,
    "alternative": alternative,
    "partial": partial,
    "blank": blank,
    "erroring": erroring,
    "extra_files": extra_files,
    "odd_names": odd_names,
}
