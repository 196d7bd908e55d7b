"""Notebook 04's second-edition claims (issue 12), read from the executed master.

The values come from test_notebooks.py's probe (KEY_EXPRESSIONS), so the master runs once per
session for both files.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from test_notebooks import MASTERS, executed_master, probed

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
    # Exercise 3 gives its stable formula in the text, so it is worth 1 point, like Exercise 1.
    assert points["test_absolute_loss"] == points["test_log_cosh_loss"] == 1
    assert points["test_best_constant"] == points["test_fit_line"] == 3
    assert sum(points.values()) == 14
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert text.count("### Challenge (optional, not graded)") == 1
    assert f"1 to 3 per exercise, {sum(points.values())} in all" in text
    # Every exercise heading states the points its test cell carries, in notebook order.
    headings = [int(n) for n in re.findall(r"### Exercise \d \((\d) points?\)", text)]
    assert headings == list(points.values()), (headings, points)


def test_every_test_cell_follows_its_exercise():
    cells = _cells()
    for index, cell in enumerate(cells):
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            before = cells[index - 1]["metadata"]["nbgrader"]
            assert before.get("solution"), (cell["id"], cells[index - 1]["id"])


# --- second review (issue 12): zoomed panels, the flat small delta, printed claims ----------

def _printed(cell_id: str) -> str:
    """What a cell of the executed master printed (its stdout)."""
    nb, _ = executed_master(AID)
    (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_huber_panels_zoom_on_the_window_where_the_constant_moves():
    values = probed(AID)
    sample = np.array(values["sample"])
    constants = list(values["huber_constants"].values())
    moving = [np.median(sample), sample.mean(), *constants]
    lo, hi = values["huber_window"]
    # Computed from the data: the moving span plus three quarters of it on each side.
    margin = 0.75 * (max(moving) - min(moving))
    assert lo == pytest.approx(min(moving) - margin, abs=1e-4)
    assert hi == pytest.approx(max(moving) + margin, abs=1e-4)
    assert lo < min(moving) and max(moving) < hi
    # A real zoom: at most a fifth of the data's span (it was the whole span before).
    assert hi - lo < 0.2 * (sample.max() - sample.min()), (lo, hi)
    assert f"window shown: c from {lo:.2f} to {hi:.2f}" in _printed("nb04-delta")


def test_quantile_panels_share_a_window_around_the_quantiles():
    values = probed(AID)
    sample = np.array(values["sample"])
    constants = {float(g): c for g, c in values["quantile_constants"].items()}
    lo, hi = values["quantile_window"]
    assert sample.min() - 1e-6 <= lo <= min(constants.values())
    assert max(constants.values()) <= hi <= sample.max() + 1e-6
    assert hi - lo < 0.5 * (sample.max() - sample.min()), (lo, hi)
    for gamma, c in constants.items():  # the printed share of the data below each constant
        assert abs((sample < c).mean() - gamma) <= 0.02, (gamma, c)
        assert f"gamma = {gamma:4}: best constant {c:6.3f}, " in _printed("nb04-gamma")


def test_small_delta_looks_flat_because_its_slope_is_capped():
    found = {float(d): float(v) for d, v in re.findall(
        r"delta = +(\S+): loss at r = 10 is +(\S+)", _printed("nb04-015"))}
    assert found == pytest.approx({0.1: 0.995, 1.0: 9.5, 10.0: 50.0}, abs=1e-3)
    # On a common axis 0.1's curve stays below 2 % of the largest; divided by delta all three
    # lie within a factor 2 of each other (one scale).
    assert found[0.1] < 0.02 * found[10.0]
    scaled = [v / d for d, v in found.items()]
    assert max(scaled) < 2 * min(scaled), scaled
    text = "".join("".join(c["source"]) for c in _cells() if c["id"] == "nb04-016")
    assert "0.995" in text and "capped" in text


def test_mae_with_a_fixed_rate_alternates_and_the_distances_are_printed():
    values = probed(AID)
    last = values["mae_last"]
    assert last == pytest.approx([0.088, 0.012, 0.088, 0.012], abs=1e-3)
    for a, b in zip(last, last[1:]):  # two neighbours make one step, lr * |gradient|
        assert a + b == pytest.approx(2 * values["toy_lr"], abs=1e-5)
    printed = _printed("nb04-040")
    assert "0.088, 0.012, 0.088, 0.012" in printed and "add up to 0.100" in printed


def test_robust_lines_stay_near_the_truth_and_mae_is_closest():
    fits = probed(AID)["fits"]
    ends = np.array([-3.0, 3.0])
    gap = {name: np.abs(w * ends + b - (1.5 * ends + 0.5)).max() for name, (w, b) in fits.items()}
    assert gap["MSE"] > 3
    robust = [name for name in fits if name != "MSE"]
    assert all(gap[name] < 0.5 for name in robust), gap
    assert min(robust, key=gap.get) == "MAE", gap
    for name in robust:  # Huber and Log-Cosh lean down toward the outliers at x = 3
        w, b = fits[name]
        assert w * 3 + b < 5, (name, w, b)
    for name, value in gap.items():
        assert f"{name:17s} w = " in _printed("nb04-045")
        assert f"[-3, 3]: {value:.2f}" in _printed("nb04-045"), (name, value)


def test_exercise_7_states_that_it_uses_exercises_4_and_6_and_its_test_says_so():
    cells = {c["id"]: "".join(c["source"]) for c in _cells()}
    text = cells["nb04-048"]
    for needed in ("Exercise 4", "Exercise 6", "`quantile_loss`", "`fit_line`",
                   "NotImplementedError", "no points"):
        assert needed in text, needed
    # Exercise 7 answered, fit_line not: the test names the missing exercises.
    namespace = {"torch": torch}

    def fit_line(x, y, loss, num_epochs=300, lr=0.1):
        raise NotImplementedError()

    namespace["fit_line"] = fit_line
    namespace["quantile_loss"] = lambda y_hat, y, gamma: (y - y_hat).abs()
    exec(cells["quantile_interval"], namespace)
    with pytest.raises(AssertionError, match=r"Exercise 4.*Exercise 6"):
        exec(cells["test_quantile_interval"], namespace)


def test_combined_losses_window_and_capped_derivatives_are_printed():
    printed = _printed("nb04-028")
    largest = dict(re.findall(r"(MSE|MAE|Huber, delta = 5|Huber, delta = 10|Log-Cosh|"
                              r"Quantile, gamma = 0.25) (\d+\.\d+)", printed))
    assert {k: float(v) for k, v in largest.items()} == pytest.approx(
        {"MSE": 40.0, "MAE": 1.0, "Huber, delta = 5": 5.0, "Huber, delta = 10": 10.0,
         "Log-Cosh": 1.0, "Quantile, gamma = 0.25": 0.75}, abs=0.01)
    assert "tanh r at r = 2: 0.964" in printed  # within 0.04 of 1 beyond |r| = 2, as stated
    text = "".join("".join(c["source"]) for c in _cells() if c["id"] == "nb04-029")
    assert "within 0.04" in text and "Every loss but MSE caps" in text


def test_stated_numbers_are_printed():
    gap = re.search(r"differ by (\d+\.\d+)% of r\^2/2", _printed("nb04-022"))
    assert gap and float(gap.group(1)) < 0.002, _printed("nb04-022")
    first_inf = float(re.search(r"is inf from r = (\d+\.\d+)", _printed("nb04-022")).group(1))
    assert 88.7 <= first_inf <= 89.43, first_inf  # between log(max) and log(2 max)
    ratio = re.search(r"beta=2\): from (\S+) to (\S+)", _printed("nb04-030"))
    assert ratio and float(ratio.group(1)) == pytest.approx(2.0, abs=1e-3)
    assert float(ratio.group(2)) == pytest.approx(2.0, abs=1e-3)
    off = re.search(r"largest distance from the median: (\S+), within the grid step: True",
                    _printed("nb04-laplace"))
    assert off, _printed("nb04-laplace")
    bands = dict(re.findall(r"(quantile band|mean \+- 1.645 sigma).*farthest from 90 %: "
                            r"(\S+) points", _printed("nb04-053")))
    text = " ".join("".join("".join(c["source"]) for c in _cells()
                            if c["id"] == "nb04-054").split())
    assert float(bands["quantile band"]) <= 2.5 and float(bands["mean +- 1.645 sigma"]) > 8
    assert f"within {bands['quantile band']} points" in text
    assert f"{bands['mean +- 1.645 sigma']} points below 90 %" in text


def test_reviewers_wrong_answers_fail_visibly_with_a_clear_message():
    cells = {c["id"]: "".join(c["source"]) for c in _cells()}
    visible = {k: v.split("### BEGIN HIDDEN TESTS")[0] for k, v in cells.items()}
    namespace = {"torch": torch, "_residual": lambda a, b: a - b.reshape(a.shape)}
    cases = [  # best_constant: broadcasting calls, and a shape-(1,) result
        ("best_constant", "def best_constant(y, loss, num_candidates=2001):\n"
         "    c = torch.linspace(y.min().item(), y.max().item(), num_candidates)\n"
         "    return c[loss(c.reshape(-1, 1), y.reshape(1, -1)).mean(dim=1).argmin()].item()\n",
         "both arguments of the same shape"),
        ("best_constant", "def best_constant(y, loss, num_candidates=2001):\n"
         "    return torch.tensor([y.mean().item()])\n", "one Python float"),
        ("fit_line", "def fit_line(x, y, loss, num_epochs=300, lr=0.1):\n"
         "    w, b = torch.linalg.lstsq(torch.cat([x, torch.ones_like(x)], 1), y).solution\n"
         "    return w.detach(), b.detach()\n", "Python float"),
        ("fit_line", cells["fit_line"].replace("loss(x * w + b, y)", "loss(y, x * w + b)"),
         "prediction first, target second"),
        # interval_coverage with strict inequalities: points on a line must count (<=).
        ("quantile_interval", "def interval_coverage(x, y, lower, upper):\n"
         "    (a, b), (c, d) = lower, upper\n"
         "    return ((y > a * x + b) & (y < c * x + d)).float().mean().item()\n",
         "ends included"),
    ]
    assert "loss(y, x * w + b)" in cases[-2][1]
    for grade_id, answer, message in cases:
        exec(answer, namespace)
        with pytest.raises(AssertionError, match=re.escape(message)):
            exec(visible[f"test_{grade_id}"], namespace)
