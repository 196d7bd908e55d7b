"""Score graded cells as nbgrader does, except that stderr never fails a test and errors score 0.

A result shown before an error cannot earn points either.

nbgrader's `determine_grade` gives a test cell zero when it writes anything to stderr, so a
PyTorch or NumPy warning (a deprecation, a float() of a tensor that requires grad) takes the
points of a correct answer. Here only an error fails a test cell; what went to stderr still
shows in the autograded notebook and, as a note, in the feedback.

`determine_grade` also reads the outputs in order and returns at the first result
(`execute_result`), as partial credit, capped at full points. A student's function called by
a test can show a result itself (`sys.displayhook(1.0)`) before the test's assertion fails:
nbgrader then gives full points. Here any error gives zero, and partial credit comes from the
last result, which is the test cell's own value (shown after all of its code ran).
"""

import copy

from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades


def _is_stderr(output) -> bool:
    return output.get("output_type") == "stream" and output.get("name") == "stderr"


def scored_view(cell):
    """A copy of a test cell as `determine_grade` should see it: no stderr; only its errors
    when it has any; else its last result only, and only if it is a partial grade nbgrader
    can read (the cell itself is untouched)."""
    if cell.get("cell_type") != "code":
        return cell
    outputs = [o for o in cell.get("outputs", []) if not _is_stderr(o)]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    results = [o for o in outputs if o.get("output_type") == "execute_result"]
    kept = errors or ([o for o in outputs if o.get("output_type") != "execute_result"]
                      + [r for r in results[-1:] if _readable_grade(r, cell)])
    if kept == cell.get("outputs", []):
        return cell
    cleaned = copy.deepcopy(cell)
    cleaned.outputs = copy.deepcopy(kept)
    return cleaned


def _readable_grade(result, cell) -> bool:
    """Whether nbgrader can read `result` as a partial grade without raising: it raises on a
    value over the cell's points or without text/plain, which crashed the whole notebook."""
    try:
        utils.get_partial_grade(result, float(cell.metadata["nbgrader"]["points"]))
    except (KeyError, ValueError, TypeError, AttributeError):
        return False
    return True


def wrote_to_stderr(cell) -> bool:
    """True if a code cell has stderr output."""
    return cell.get("cell_type") == "code" and any(map(_is_stderr, cell.get("outputs", [])))


def score_cell(cell, log=None) -> tuple[float | None, float]:
    """(score, max points) of a graded cell: nbgrader's `determine_grade` on `scored_view`."""
    return utils.determine_grade(scored_view(cell), log)


class SaveScores(SaveAutoGrades):
    """nbgrader's SaveAutoGrades with `score_cell`'s rule: any error fails a test, a warning
    does not, and only the cell's last result can give partial credit."""

    def _add_score(self, cell, resources) -> None:
        super()._add_score(scored_view(cell), resources)
