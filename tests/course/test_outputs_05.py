"""Notebook 05's second-edition claims (issue 12): the grading table, the exact Hessian, the
epoch's path on the loss surface and the optional challenge, read from the executed master."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import nbformat
import pytest
from test_notebooks import answers_not_tested_first, master_probe, master_run, share_master_run

AID = "05_mse_gradients"
MASTER = Path(__file__).resolve().parents[2] / "autograding" / "source" / AID / f"{AID}.ipynb"
PREFIX = "OUTPUTS-05-JSON:"
PROBE = """
import json as _json
_probe = {
    "H1": [[str(v) for v in row] for row in H1],
    "path_st": path_st.tolist(),
    "theta_path": theta_path.tolist(),
    "step_lengths": step_lengths.tolist(),
    "rho": float(rho),
    "growth": float(losses_big[-1] / losses_big[-3]),
    "M": [[str(v) for v in row] for row in M],
    "w1": [str(v) for v in w1], "b1": str(b1),
    "start_loss": str(losses_big[0]),
    "epoch_steps": [[str(v) for v in [*w_, b_]] for w_, b_ in epoch_steps],
    "small_minor_labels": [ax_small.yaxis.get_minor_formatter()(t, 0)
                           for t in ax_small.yaxis.get_minorticklocs()],
}
from matplotlib.backends.backend_agg import FigureCanvasAgg as _Canvas
from matplotlib.text import Text as _Text

_canvas = _Canvas(fig_epoch)  # the shown figure was closed: draw it again, as it was shown
_canvas.draw()
_renderer = _canvas.get_renderer()
_probe["epoch_panels"] = [{
    "axes": list(ax.get_window_extent(_renderer).extents),
    # Text.get_window_extent: the name's own box (an Annotation's would include its arrow)
    "labels": {t.get_text(): list(_Text.get_window_extent(t, _renderer).extents)
               for t in ax.texts},
    "legend": list(ax.get_legend().get_window_extent(_renderer).extents),
    "legend_texts": [t.get_text() for t in ax.get_legend().get_texts()],
    "points": ax.transData.transform(path_st[:len(ax.texts)]).tolist(),
} for ax in fig_epoch.axes]
print(%r + _json.dumps(_probe))
"""


def master() -> nbformat.NotebookNode:
    return nbformat.read(MASTER, as_version=4)


def test_the_grading_table_matches_the_test_cells():
    nb = master()
    intro = nb.cells[0].source
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (\d+) \|", intro, flags=re.MULTILINE)
    assert rows, "the title cell should hold the grading table"
    tests = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    total = 0
    for number, function, points in rows:
        (test,) = [c for c in tests.values() if re.search(rf"\b{function}\(", c.source)]
        assert test.metadata["nbgrader"]["points"] == int(points), function
        heading = [c.source for c in nb.cells if c.cell_type == "markdown"
                   and f"### Exercise {number} ({points} point" in c.source]
        assert heading, f"Exercise {number} should say it carries {points} point(s)"
        total += int(points)
    assert total == sum(c.metadata["nbgrader"]["points"] for c in tests.values())
    assert len(rows) == 7 and f"Seven exercises, {total} points" in intro


share_master_run(AID, PREFIX, PROBE % PREFIX)


def probed() -> dict:
    """The probed values of the master's one run (test_notebooks.master_run), probe appended."""
    values, probe = master_probe(AID, PREFIX)
    if values is not None:
        return values
    errors = [f"{o.ename}: {o.evalue}" for c in [*master_run(AID)["notebook"].cells, probe]
              for o in c.get("outputs", []) if o.output_type == "error"]
    pytest.fail(f"the probe printed nothing; errors: {errors}")


@pytest.mark.slow
def test_the_exact_hessian_of_the_first_batch():
    H1 = [[Fraction(v) for v in row] for row in probed()["H1"]]
    third = Fraction(1, 3)
    assert H1 == [[12, 26 * third, 4], [26 * third, 34 * third, 14 * third], [4, 14 * third, 2]]


@pytest.mark.slow
def test_the_epoch_lies_in_its_plane_and_keeps_the_worked_numbers():
    import numpy as np

    values = probed()
    assert [Fraction(v) for v in values["w1"]] == [Fraction(-13, 3), -6]
    assert Fraction(values["b1"]) == Fraction(-10, 3)
    theta = np.array(values["theta_path"])
    np.testing.assert_allclose(theta[1], [-13 / 3, -6, -10 / 3], atol=1e-12)
    np.testing.assert_allclose(theta[2], [551 / 3, 189, 353 / 9], atol=1e-9)
    st = np.array(values["path_st"])
    # Orthonormal plane coordinates keep every distance between the three points.
    for i, j in [(0, 1), (1, 2), (0, 2)]:
        assert np.linalg.norm(st[i] - st[j]) == pytest.approx(
            np.linalg.norm(theta[i] - theta[j]), rel=1e-9)
    # The locked cell takes both steps from one full epoch, and step 1 is Exercise 5's.
    steps = [[Fraction(v) for v in step] for step in values["epoch_steps"]]
    assert steps[0] == [*[Fraction(v) for v in values["w1"]], Fraction(values["b1"])]
    assert len(steps) == 2 and [float(v) for v in steps[1]] == pytest.approx(theta[2], abs=1e-9)
    short, long = values["step_lengths"]
    assert long / short > 20  # the second step is far longer than the first


@pytest.mark.slow
def test_part_3_prints_the_exact_start_loss_it_states():
    assert Fraction(probed()["start_loss"]) == Fraction(449, 6)
    assert "\\frac{449}{6}" in "".join(c.source for c in master().cells)


@pytest.mark.slow
def test_the_challenge_s_growth_factor_matches_the_losses():
    values = probed()
    assert values["rho"] ** 2 == pytest.approx(values["growth"], rel=0.05)
    assert all("/" in v or v.lstrip("-").isdigit() for row in values["M"] for v in row)


def _overlap(a, b, pad=0.0):
    """Whether two boxes (x0, y0, x1, y1) in pixels overlap (after growing `a` by pad)."""
    return a[0] - pad < b[2] and b[0] < a[2] + pad and a[1] - pad < b[3] and b[1] < a[3] + pad


@pytest.mark.slow
def test_the_epoch_figure_labels_are_readable():
    panels = probed()["epoch_panels"]
    assert [sorted(p["labels"]) for p in panels] == [["θ0", "θ1"], ["θ0", "θ1", "θ2"]]
    marker_radius = 6  # pixels: markers of size 8 points at 100 dpi
    for panel in panels:
        boxes = list(panel["labels"].items())
        for i, (name, box) in enumerate(boxes):
            assert _overlap(box, panel["axes"]) and box[0] >= panel["axes"][0] - 1, name
            assert box[2] <= panel["axes"][2] + 1 and box[1] >= panel["axes"][1] - 1, name
            assert not _overlap(box, panel["legend"]), f"{name} is hidden by the legend"
            for other, other_box in boxes[i + 1:]:
                assert not _overlap(box, other_box), f"{name} and {other} overlap"
            for x, y in panel["points"]:
                point = (x - marker_radius, y - marker_radius, x + marker_radius,
                         y + marker_radius)
                assert not _overlap(box, point), f"{name} covers a marker"
        # Every point is named in the legend too, with what it is.
        assert [t for t in panel["legend_texts"] if t.startswith("θ")] == [
            ["θ0 (start)", "θ1 (after step 1)", "θ2 (after step 2)"][k]
            for k in range(len(boxes))]


@pytest.mark.slow
def test_the_converging_run_s_log_axis_has_no_minor_labels():
    assert not any(probed()["small_minor_labels"])


def test_each_answer_is_tested_before_a_demo_cell_uses_it():
    """A wrong answer fails at its test's message, not in a locked demo cell that calls it
    (an Exercise 5 answer returning only w crashed the step's demo first)."""
    assert answers_not_tested_first(master()) == []
