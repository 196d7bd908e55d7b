"""Reading a submitted notebook: whatever the file holds, a SubmissionError says why."""

import json

import nbformat
import pytest
from grading_helpers import student_notebook

from autograding.grading.submission import SubmissionError, parse_notebook


def _nested(depth: int):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [600, 950])
def test_deeply_nested_cell_metadata_is_a_clear_refusal(depth):
    """JSON nested below json's own limit but too deep to copy raised RecursionError out of
    the reader: the grader marked the notebook `error`, told the instructor to run the batch
    again (which failed the same way) and exited 1."""
    nb = json.loads(nbformat.writes(student_notebook()))
    nb["cells"][2]["metadata"]["nbgrader"]["extra"] = _nested(depth)
    with pytest.raises(SubmissionError, match=r"squares\.ipynb: .*nested too deeply"):
        parse_notebook(json.dumps(nb).encode(), "squares.ipynb")


def test_json_nested_past_json_s_limit_is_a_clear_refusal():
    data = b'{"nbformat": 4, "cells": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    with pytest.raises(SubmissionError, match=r"squares\.ipynb: not a notebook"):
        parse_notebook(data, "squares.ipynb")


@pytest.mark.parametrize("source", [3, None, {"code": "x"}, ["a", 1]])
def test_a_cell_that_is_not_text_is_named_with_the_fix(source):
    nb = json.loads(nbformat.writes(student_notebook()))
    nb["cells"][2]["source"] = source
    total = len(nb["cells"])
    with pytest.raises(SubmissionError, match=rf"squares\.ipynb: cell 3 of {total}: .*fix or "
                                               "delete that cell"):
        parse_notebook(json.dumps(nb).encode(), "squares.ipynb")
