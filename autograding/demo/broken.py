"""Broken hand-ins: files that are not the expected notebook, and notebooks saved elsewhere.

A notebook that is not JSON, empty, a Python script, missing, or present only under a wrong
file name gets zero. An nbformat 3 notebook is upgraded to nbformat 4 (as nbformat and
nbgrader do) and a notebook saved by Google Colab is read as it is: both are graded like the
same answers in a current notebook.
"""

from __future__ import annotations

from autograding.demo.assignments import cell_source, fill, notebook_text
from autograding.demo.colab import colab_saved
from autograding.demo.submission import (
    SampleSubmission,
    SubmissionBuilder,
    SubmissionContext,
)


def _graded_zero(ctx: SubmissionContext, files: dict[str, bytes], description: str
                 ) -> SampleSubmission:
    """A submission the grader cannot read as the assignment's notebook."""
    sub = ctx.empty()
    sub.files.update(files)
    sub.description, sub.zero = description, True
    return sub


def _correct_text(ctx: SubmissionContext) -> str:
    """The correct notebook's JSON text."""
    return notebook_text(fill(ctx.assignment))


def not_json(ctx: SubmissionContext) -> SampleSubmission:
    """The first half of a correct notebook."""
    text = _correct_text(ctx)
    return _graded_zero(ctx, {ctx.notebook_name: text[: len(text) // 2].encode()},
                        "truncated download: not JSON")


def empty_file(ctx: SubmissionContext) -> SampleSubmission:
    """A notebook file of zero bytes."""
    return _graded_zero(ctx, {ctx.notebook_name: b""}, "empty file")


def nbformat3(ctx: SubmissionContext) -> SampleSubmission:
    """The correct answers in an nbformat 3 notebook."""
    import nbformat

    old = nbformat.convert(nbformat.reads(_correct_text(ctx), as_version=4), 3)
    sub = ctx.empty()
    sub.files[ctx.notebook_name] = nbformat.writes(old, version=3).encode()
    sub.description = "correct answers in the old nbformat 3: upgraded, then graded"
    sub.oracle = "correct"
    return sub


def text_file(ctx: SubmissionContext) -> SampleSubmission:
    """The correct code exported as a Python script, saved under the notebook's name."""
    code = [cell_source(c) for c in fill(ctx.assignment)["cells"] if c["cell_type"] == "code"]
    script = "#!/usr/bin/env python\n# coding: utf-8\n\n" + "".join(
        f"# In[ ]:\n\n\n{src}\n\n\n" for src in code)
    return _graded_zero(ctx, {ctx.notebook_name: script.encode()},
                        "a Python script saved as .ipynb")


def missing_notebook(ctx: SubmissionContext) -> SampleSubmission:
    """A folder with a note and no notebook."""
    return _graded_zero(ctx, {"README.txt": b"My laptop died, I will send the notebook later.\n"},
                        "folder without the notebook")


def wrong_name(ctx: SubmissionContext) -> SampleSubmission:
    """The correct notebook under a name the grader does not look for."""
    name = f"{ctx.assignment.name.upper()} (1).ipynb"
    return _graded_zero(ctx, {name: _correct_text(ctx).encode()},
                        "correct notebook under a wrong file name (intake would fix it)")


def colab_saved_copy(ctx: SubmissionContext) -> SampleSubmission:
    """The correct notebook as Google Colab downloads it."""
    sub = ctx.empty()
    text = colab_saved(fill(ctx.assignment), seed=f"{ctx.student}/{ctx.assignment.name}")
    sub.files[ctx.notebook_name] = text.encode()
    sub.oracle, sub.description = "correct", "correct, saved from Google Colab"
    return sub


BROKEN_KINDS: dict[str, SubmissionBuilder] = {
    "not_json": not_json,
    "empty_file": empty_file,
    "nbformat3": nbformat3,
    "text_file": text_file,
    "missing_notebook": missing_notebook,
    "wrong_name": wrong_name,
    "colab_saved": colab_saved_copy,
}
