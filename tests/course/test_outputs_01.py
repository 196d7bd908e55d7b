"""Notebook 01's second-edition claims (issue 12), read from the executed master.

The values come from test_notebooks.py's probe (KEY_EXPRESSIONS), so the master runs once per
session for both files.
"""

import json
import re
from pathlib import Path

import pytest
from test_notebooks import MASTERS, executed_master, probed

pytestmark = pytest.mark.slow

AID = "01_vectorization"


def test_grid_minimum_sits_next_to_least_squares():
    values = probed(AID)
    assert values["surface_shape"] == [61, 61]
    step = values["grid_step"]
    for found, exact in zip(values["grid_argmin"], values["lstsq_line"], strict=True):
        assert abs(found - exact) <= step, (values["grid_argmin"], values["lstsq_line"])
    assert values["lstsq_line"] == pytest.approx([2.0, 4.2], abs=0.1)


def test_both_timings_get_the_same_warm_up():
    """The loop and the vectorized add are each called once, untimed, before being timed."""
    cells = json.loads(Path(MASTERS[AID]).read_text(encoding="utf-8"))["cells"]
    add = next("".join(c["source"]) for c in cells if "def vector_add" in "".join(c["source"]))
    warm, timed = add.split("timer = Timer()", 1)
    assert "loop_add(a, b)" in warm and "vector_add(a, b)" in warm
    assert "c = loop_add(a, b)" in timed and "d = vector_add(a, b)" in timed
    sweep = next("".join(c["source"]) for c in cells
                 if "def sweep_vector_add" in "".join(c["source"]))
    assert "add()  # warm-up" in sweep and "loop_add(a, b)  # warm-up" in sweep


def test_points_follow_difficulty_and_there_is_one_challenge():
    cells = json.loads(Path(MASTERS[AID]).read_text(encoding="utf-8"))["cells"]
    points = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
              for c in cells if c["metadata"].get("nbgrader", {}).get("grade")}
    assert points["test_predict_batch_values"] + points["test_predict_batch_vectorized"] == 2
    assert points["test_grid_losses_values"] + points["test_grid_losses_vectorized"] == 5
    assert sum(points.values()) == 14
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert text.count("### Challenge (optional, not graded)") == 1


def printed(aid: str) -> str:
    """Everything the executed master printed, in order."""
    nb, _ = executed_master(aid)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def test_the_near_circles_come_from_a_variance_close_to_1():
    line = re.search(r"x: mean (\S+), variance (\S+); Hessian eigenvalues (\S+) and (\S+): .*"
                     r"= (\S+)", printed(AID))
    assert line, "the variance and the Hessian's eigenvalues are printed"
    mean, variance, low, high, ratio = (float(g) for g in line.groups())
    assert abs(mean) < 0.1 and abs(variance - 1) < 0.1
    assert low == pytest.approx(2, abs=0.2) and high == pytest.approx(2, abs=0.2)
    assert 1 <= ratio < 1.1, "the ellipses' axes differ by less than 10 %: nearly circles"
    text = next("".join(c["source"]) for c in json.loads(
        Path(MASTERS[AID]).read_text(encoding="utf-8"))["cells"]
        if "".join(c["source"]).startswith("The lowest grid point"))
    assert "almost like circles" in text and "variance about 1" in text


def test_the_fixed_overhead_is_printed_not_typed():
    out = printed(AID)
    overhead = re.search(r"vectorized add at n = 100: (\S+) us per call", out)
    per_element = re.search(r"loop cost per element: (\S+) to (\S+) us", out)
    assert overhead and per_element
    # The text: the overhead is less than the loop spends on a single element.
    assert float(overhead.group(1)) < float(per_element.group(1))
    text = next("".join(c["source"]) for c in json.loads(
        Path(MASTERS[AID]).read_text(encoding="utf-8"))["cells"]
        if "".join(c["source"]).startswith("How to read the plot"))
    assert "a few microseconds (one call" not in text and "last line of the" in text
