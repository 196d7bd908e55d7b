"""What an uploaded notebook's content says: whether it is gradable, and which assignment it is.

The assignment is recognised from Colab's stored notebook name, else from the nbgrader grade
ids it shares with one master (or released notebook) more than with any other.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograding.course.release import COURSE_ROOT
from autograding.intake.names import NOTEBOOK_SUFFIX, find_assignment

# Flagged, not corrupt: the grader converts these (autograding.grading.submission.parse_notebook).
OLD_FORMAT = "old notebook format (nbformat 3); the grader converts it to format 4"


def notebook_problem(data: bytes) -> str:
    """Why `data` is not a gradable nbformat-4 notebook, or "" when it looks fine."""
    if not data.strip():
        return "empty file"
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "not UTF-8 text (binary file?)"
    except json.JSONDecodeError as err:
        # Some of json's messages end in "at" ("Unterminated string starting at"): one "at".
        where = f"line {err.lineno} column {err.colno}"
        return f"not JSON ({err.msg.removesuffix(' at')} at {where})"
    except RecursionError:  # thousands of nested [ or {: json gives up, as the grader does
        return "not a notebook (JSON nested too deeply to read)"
    if not isinstance(nb, dict) or "nbformat" not in nb:
        return "JSON but not a notebook (no 'nbformat' field)"
    version = nb.get("nbformat")
    if version == 3:
        return OLD_FORMAT
    if version != 4:
        return (f"notebook format {version!r} is not supported (expected 4); open and save it "
                "in a current Jupyter or Colab")
    if not isinstance(nb.get("cells"), list):
        return "notebook without a 'cells' list"
    return ""


def _field(value, key: str) -> dict:
    """value[key] when value is a dict and that is a dict too, else {} (a hand-edited
    notebook may hold a list, a string or a number anywhere)."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def content_assignment(data: bytes, ids: tuple, grade_ids: dict) -> tuple[str, str]:
    """(assignment recognised from the notebook's content or "", corruption description)."""
    problem = notebook_problem(data)
    if problem:
        return "", problem
    nb = json.loads(data.decode("utf-8-sig"))
    colab_name = _field(_field(nb, "metadata"), "colab").get("name")
    colab_name = colab_name if isinstance(colab_name, str) else ""
    found = find_assignment(NOTEBOOK_SUFFIX.sub("", colab_name), ids)[0] if colab_name else ""
    if found:
        return found, ""
    # Any JSON may stand where a notebook has a dict or a string: only strings are grade ids.
    found_ids = (_field(_field(cell, "metadata"), "nbgrader").get("grade_id")
                 for cell in nb["cells"])
    present = {grade_id for grade_id in found_ids if isinstance(grade_id, str)}
    scores = sorted(((len(present & known), a) for a, known in grade_ids.items()), reverse=True)
    if scores and scores[0][0] > 0 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        return scores[0][1], ""
    return "", ""


def master_grade_ids(ids: tuple, course_root) -> dict[str, set]:
    """grade_id sets of each assignment's master (or released notebook), for content matching."""
    root = Path(course_root or COURSE_ROOT)
    result = {}
    for assignment in ids:
        for path in (root / "source" / assignment / f"{assignment}.ipynb",
                     root.parent / "notebooks" / f"{assignment}.ipynb"):
            try:
                nb = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            result[assignment] = {
                c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                for c in nb.get("cells", [])
            } - {None}
            break
    return result
