"""Notebook content: corrupt and old-format notebooks are taken and flagged."""

import json

import pytest
from intake_helpers import notebook_bytes, submitted_file, write

from autograding.intake import intake_uploads, notebook_problem
from autograding.intake.notebook_content import content_assignment


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"this is not json at all", "not JSON"),
        (b"", "empty file"),
        (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "nbformat 3"),
        (b"print('a python script saved as .ipynb')\n", "not JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
        (b'{"a": 1}', "not a notebook"),
        (json.dumps({"nbformat": 5, "cells": []}).encode(), "format 5 is not supported"),
        (b'{"cells": "unterminated', "Unterminated string starting at line 1 column 11"),
        (b'{"a": "\x01"}', "Invalid control character at line 1 column 8"),
    ],
)
def test_corrupt_notebooks_are_taken_and_flagged(tmp_path, content, problem):
    uploads = tmp_path / "export"
    write(uploads, "alice_05_mse_gradients.ipynb", content)
    submitted = tmp_path / "submitted"
    report = intake_uploads(uploads, submitted, echo=False)
    (entry,) = report.entries
    assert entry.action == "renamed"
    assert any(problem in flag for flag in entry.flags), entry.flags
    assert not any(" at at " in flag for flag in entry.flags), entry.flags
    assert submitted_file(submitted, "alice", "05_mse_gradients").read_bytes() == content
    assert notebook_problem(content)


def test_old_format_is_flagged_but_not_called_corrupt(tmp_path):
    """The grader converts nbformat 3 and grades it; "corrupt" would send the instructor
    after a student for nothing."""
    uploads = tmp_path / "export"
    write(uploads, "alice_05_mse_gradients.ipynb", json.dumps({"nbformat": 3}).encode())
    (entry,) = intake_uploads(uploads, tmp_path / "submitted", echo=False).entries
    assert entry.flags == ["old notebook format (nbformat 3); the grader converts it to format 4"]


def test_valid_notebook_has_no_problem():
    assert notebook_problem(notebook_bytes("fine")) == ""


def test_content_names_the_assignment_only_when_one_master_matches_best():
    """Colab's stored name wins; else the grade ids must point to one master, not a tie."""
    grade_ids = {"02_linreg_scratch": {"linreg_answer", "shared"},
                 "05_mse_gradients": {"mse_answer", "shared"}}
    ids = tuple(grade_ids)
    assert content_assignment(notebook_bytes("x", ("linreg_answer", "shared")), ids,
                              grade_ids) == ("02_linreg_scratch", "")
    assert content_assignment(notebook_bytes("x", ("shared",)), ids, grade_ids) == ("", "")
    colab = json.loads(notebook_bytes("x", ("shared",)))
    colab["metadata"]["colab"] = {"name": "Copy of 05_MSE_Gradients.ipynb"}
    assert content_assignment(json.dumps(colab).encode(), ids, grade_ids) == (
        "05_mse_gradients", "")
    assert content_assignment(b"", ids, grade_ids) == ("", "empty file")


def _reshaped(change) -> bytes:
    nb = json.loads(notebook_bytes("odd", ("linreg_answer",)))
    change(nb)
    return json.dumps(nb).encode()


@pytest.mark.parametrize(
    ("content", "flag"),
    [
        # Valid JSON where a notebook has a dict or a string: intake crashed on each of these
        # (AttributeError, TypeError), and with it the whole class's intake.
        (_reshaped(lambda nb: nb["cells"][1]["metadata"].update(nbgrader="hello")), None),
        (_reshaped(lambda nb: nb["cells"][1]["metadata"]["nbgrader"].update(grade_id=["x"])),
         None),
        (_reshaped(lambda nb: nb.update(metadata=["x"])), None),
        (_reshaped(lambda nb: nb.update(metadata={"colab": {"name": 5}})), None),
        # A byte-order mark, as some editors save: json.loads of the text failed.
        (b"\xef\xbb\xbf" + notebook_bytes("bom"), None),
        # Nested deeper than json reads: RecursionError.
        (b'{"nbformat": 4, "cells": [], "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "nested too deeply"),
    ],
    ids=["nbgrader-string", "grade-id-list", "metadata-list", "colab-name-number", "bom",
         "deep-json"],
)
def test_odd_but_valid_json_is_taken_without_stopping_the_intake(tmp_path, content, flag):
    uploads = tmp_path / "export"
    write(uploads, "alice_05_mse_gradients.ipynb", content)
    write(uploads, "bob_05_mse_gradients.ipynb", notebook_bytes("bob"))
    submitted = tmp_path / "submitted"
    report = intake_uploads(uploads, submitted, echo=False)
    assert sorted(e.action for e in report.entries) == ["renamed", "renamed"]
    assert submitted_file(submitted, "alice", "05_mse_gradients").read_bytes() == content
    assert submitted_file(submitted, "bob", "05_mse_gradients").is_file()
    (alice,) = [e for e in report.entries if "alice" in str(e.source)]
    if flag:
        assert any(flag in f for f in alice.flags), alice.flags
    ids = ("02_linreg_scratch", "05_mse_gradients")
    assert content_assignment(content, ids, {i: {"linreg_answer"} for i in ids})[0] == ""
