"""Notebook 04's second-edition claims (issue 12), read from the executed master.

The values come from test_notebooks.py's probe (KEY_EXPRESSIONS), so the master runs once per
session for both files.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from test_notebooks import MASTERS, probed

pytestmark = pytest.mark.slow

AID = "04_loss_functions"


def _cells():
    return json.loads(Path(MASTERS[AID]).read_text(encoding="utf-8"))["cells"]


def test_laplace_nll_is_minimised_at_the_median_and_gives_the_mae_line():
    values = probed(AID)
    sample = np.array(values["sample"])
    step = (sample.max() - sample.min()) / 2000
    for scale, found in values["laplace_minimisers"].items():
        assert abs(found - np.median(sample)) <= 1.01 * step, (scale, found)
    assert values["laplace_scale"] == pytest.approx(
        np.abs(sample - np.median(sample)).mean(), abs=0.01 + 1e-6)
    assert values["laplace_fit"] == pytest.approx(values["mae_fit"], abs=1e-3)
    assert values["nll_costs"] == pytest.approx([10.0, 50.0], abs=1e-4)


def test_huber_constant_moves_from_the_median_to_the_mean():
    values = probed(AID)
    sample = np.array(values["sample"])
    constants = [c for _, c in sorted(values["huber_constants"].items(),
                                      key=lambda item: float(item[0]))]
    assert constants == sorted(constants), constants
    step = (sample.max() - sample.min()) / 2000
    assert abs(constants[0] - np.median(sample)) < 0.2, constants[0]
    assert abs(constants[-1] - sample.mean()) <= 1.01 * step, constants[-1]


def test_mae_kinks_have_the_counted_slopes():
    values = probed(AID)
    assert values["kink_slopes"] == pytest.approx(values["kink_counts"], abs=1e-4)
    assert values["kink_slopes"][2] < 0 < values["kink_slopes"][3]


def test_every_non_answer_cell_is_locked_and_explore_is_used():
    cells = _cells()
    unlocked = [c["id"] for c in cells if not c["metadata"].get("nbgrader", {}).get("locked")
                and not c["metadata"].get("nbgrader", {}).get("solution")]
    assert unlocked == ["nb04-challenge"], unlocked  # the optional challenge is the student's
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert 'explore(draw_huber_constant, "delta"' in code
    assert 'explore(draw_quantile_constant, "gamma"' in code
    assert "ax.hist(targets" in code


def test_points_follow_difficulty_and_there_is_one_challenge():
    cells = _cells()
    points = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
              for c in cells if c["metadata"].get("nbgrader", {}).get("grade")}
    assert points["test_absolute_loss"] == 1
    assert points["test_log_cosh_loss"] == points["test_best_constant"] == 3
    assert sum(points.values()) == 16
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert text.count("### Challenge (optional, not graded)") == 1
