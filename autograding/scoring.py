"""Scores of graded cells: nbgrader's rules, except that a warning on stderr never fails a test.

nbgrader's `determine_grade` gives a test cell zero when it writes anything to stderr, so a
PyTorch or NumPy warning (a deprecation, a float() of a tensor that requires grad) takes the
points of a correct answer. Here only an error fails a test cell; what went to stderr still
shows in the autograded notebook and, as a note, in the feedback.
"""

import copy

from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades


def _is_stderr(output) -> bool:
    return output.get("output_type") == "stream" and output.get("name") == "stderr"


def without_stderr(cell):
    """A copy of a test cell without its stderr stream outputs (the cell itself is untouched)."""
    if cell.get("cell_type") != "code" or not any(map(_is_stderr, cell.get("outputs", []))):
        return cell
    cleaned = copy.deepcopy(cell)
    cleaned.outputs = [o for o in cleaned.outputs if not _is_stderr(o)]
    return cleaned


def wrote_to_stderr(cell) -> bool:
    """True if a code cell has stderr output."""
    return cell.get("cell_type") == "code" and any(map(_is_stderr, cell.get("outputs", [])))


def score_cell(cell, log=None) -> tuple[float | None, float]:
    """(score, max points) of a graded cell: nbgrader's `determine_grade`, stderr ignored."""
    return utils.determine_grade(without_stderr(cell), log)


class SaveScores(SaveAutoGrades):
    """nbgrader's SaveAutoGrades with `score_cell`'s rule: errors fail a test, warnings do not."""

    def _add_score(self, cell, resources) -> None:
        super()._add_score(without_stderr(cell), resources)
