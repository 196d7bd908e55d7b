"""Notebook 02's second-edition claims, read from the executed master (issue 12).

The master runs once, with the `F.linear` answer for `linreg` (a correct answer written
differently from the reference), so the same run shows that the ungraded cells accept it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell
from test_notebooks import exercise_points, graded_points, probe_output, run_notebook

pytestmark = pytest.mark.slow

MASTER = (Path(__file__).resolve().parents[2] / "autograding" / "source" / "02_linreg_scratch"
          / "02_linreg_scratch.ipynb")
PREFIX = "OUTPUTS-02-JSON:"
F_LINEAR_ANSWER = ("import torch.nn.functional as F\n\n\n"
                   "def linreg(X, w, b):\n    return F.linear(X, w.T, b)\n")
PROBE = """
import json as _json
import matplotlib.colors as _mcolors


def _drawn(ax):
    # Every labelled path line of a panel: points, whether all lie in the axes, its style.
    (w_lo, w_hi), (b_lo, b_hi) = ax.get_xlim(), ax.get_ylim()
    out = {}
    for line in ax.lines:
        label = line.get_label()
        if label.startswith("_") or label == "least squares":
            continue
        xy = line.get_xydata()
        inside = ((xy[:, 0] >= w_lo) & (xy[:, 0] <= w_hi) & (xy[:, 1] >= b_lo)
                  & (xy[:, 1] <= b_hi))
        out[label] = {"n": len(xy), "inside": inside.tolist(),
                      "style": [_mcolors.to_hex(line.get_color()), line.get_linestyle(),
                                str(line.get_marker())]}
    return out


def _log_ticks(ax):
    low, high = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if low <= t <= high]
    return {"labels": [ax.yaxis.get_major_formatter()(t, i) for i, t in enumerate(ticks)],
            "minor": [ax.yaxis.get_minor_formatter()(t, 0)
                      for t in ax.yaxis.get_minorticklocs() if low <= t <= high]}


_probe = {
    "nll_gaps": [max((minimize_nll(s)[0] - w_normal).abs().max().item(),
                     (minimize_nll(s)[1] - b_normal).abs().max().item()) for s in (0.01, 1.0)],
    "sigma2": [sigma2_mle, sigma2_unbiased, (noise_drawn ** 2).mean().item()],
    "sigma_grid": float(sigma_best),
    "lam": {k: list(v) for k, v in lam.items()},
    "stable_lr": {k: largest_stable_lr(x) for k, x in scalings.items()},
    "path_lengths": {k: [len(p) for p in v.values()] for k, v in paths.items()},
    "labels": {k: list(v) for k, v in paths.items()},
    "ends": {k: [p[-1].tolist() for p in v.values()] for k, v in paths.items()},
    "minimum": {k: normal_equation(x, y_land)[0].item() for k, x in scalings.items()},
    "minimum_b": {k: normal_equation(x, y_land)[1].item() for k, x in scalings.items()},
    "newton": [float(w_newton.reshape(-1)[0]), float(b_newton.reshape(-1)[0])],
    "crawl": runs[0.0001][3][[0, 50, -1]].tolist(),
    "diverged": [bool(~np.isfinite(runs[0.001][2]).all())],
    "num_steps": num_steps,
    "first_steps": first_steps,
    "lr_style": {k: [_mcolors.to_hex(v[0]), v[1], v[2]] for k, v in LR_STYLE.items()},
    "steps_panels": [_drawn(ax) for ax in fig_steps.axes],
    "steps_titles": [ax.get_title() for ax in fig_steps.axes],
    "steps_numbers": [[t.get_text() for t in ax.texts] for ax in fig_steps.axes],
    "long_panels": [_drawn(ax) for ax in fig_long.axes],
    "long_ticks": [_log_ticks(ax) for ax in fig_long.axes[1:]],
    "static_values": static_values,
    "slider_panels": [_drawn(ax) for ax in fig_slider.axes if ax.get_visible()],
    "slider_titles": [ax.get_title() for ax in fig_slider.axes if ax.get_visible()],
    "slider_xlabels": [ax.get_xlabel() for ax in fig_slider.axes if ax.get_visible()],
    "slider_suptitle": fig_slider.get_suptitle(),
    "par_styles": [line.get_linestyle() for line in ax_par.lines],
    "par_texts": [t.get_text() for t in ax_par.texts],
    "slider_steps": slider_steps,
    "slider_gone": [first_outside(gd_path(x_land, y_land, f / lam_max_raw, (1.0, 8.0),
                                          slider_steps, halved=True), w_slider, b_slider)
                    for f in static_values],
}
print(%r + _json.dumps(_probe))
"""


@functools.cache
def executed():
    nb = nbformat.read(MASTER, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "linreg"]
    cell.source = F_LINEAR_ANSWER
    nb.cells.append(new_code_cell(PROBE % PREFIX))
    run_notebook(nb, MASTER.parent)
    errors = [f"cell {i} ({c.get('id')}): {o.ename}: {o.evalue}"
              for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.output_type == "error"]
    return errors, probe_output(nb, PREFIX)


def probed() -> dict:
    errors, values = executed()
    assert values is not None, f"the probe printed nothing; errors: {errors}"
    return values


def test_an_f_linear_answer_runs_every_cell():
    errors, _ = executed()
    assert not errors, "\n".join(errors)


def test_the_gaussian_nll_minimizer_is_least_squares_for_any_sigma():
    assert max(probed()["nll_gaps"]) < 1e-9


def test_the_noise_variance_estimates():
    mle, unbiased, drawn = probed()["sigma2"]
    n, params = 1000, 3
    assert unbiased == pytest.approx(mle * n / (n - params), rel=1e-12)
    # Both near the true 0.01^2, and nearer still to the noise the seed actually drew.
    assert 0.8e-4 < mle < 1.2e-4 and abs(mle - drawn) < abs(mle - 1e-4)
    # The text: off from 0.01^2 in the same direction as the noise actually drawn.
    assert (mle - 1e-4) * (drawn - 1e-4) > 0
    grid_step = 1e-5
    assert abs(probed()["sigma_grid"] - mle**0.5) <= grid_step


def test_curvatures_thresholds_and_condition_numbers():
    values = probed()
    (raw_min, raw_max), (std_min, std_max) = values["lam"]["raw x"], values["lam"]["standardized x"]
    assert raw_max / raw_min > 100  # x in [0, 20): a long thin valley
    assert std_min == pytest.approx(1, rel=1e-6) and std_max == pytest.approx(1, rel=1e-6)
    assert values["stable_lr"]["raw x"] == pytest.approx(2 / raw_max, rel=1e-9)
    assert values["stable_lr"]["standardized x"] == pytest.approx(2, rel=1e-6)


def test_paths_below_near_and_above_the_threshold():
    values = probed()
    steps = values["num_steps"]
    for name in ("raw x", "standardized x"):
        labels = values["labels"][name]
        assert [label.split(" (")[0] for label in labels] == [
            "below 1/lam_max", "oscillating", "above 2/lam_max"]
        below, oscillating, above = values["path_lengths"][name]
        assert below == oscillating == steps + 1 and above < steps + 1
    # Standardized: both stable runs reach the minimum; raw: b still crawls, far from it.
    minimum = (values["minimum"]["standardized x"], values["minimum_b"]["standardized x"])
    for end in values["ends"]["standardized x"][:2]:
        assert end == pytest.approx(minimum, abs=1e-6)
    raw_b = values["minimum_b"]["raw x"]
    for end in values["ends"]["raw x"][:2]:
        assert abs(end[1] - raw_b) > 3  # started at b = 8, the minimum is near 1
    # The oscillating run got further along the valley than the slow one.
    slow, fast = values["ends"]["raw x"][:2]
    assert abs(fast[1] - raw_b) < abs(slow[1] - raw_b)


def test_newton_lands_on_the_normal_equation():
    values = probed()
    assert values["newton"] == pytest.approx(
        [values["minimum"]["raw x"], values["minimum_b"]["raw x"]], abs=1e-9)


def test_section_8_stable_run_crawls_in_b_and_the_large_rate_diverges():
    values = probed()
    (_, b0), (w50, b50), (w_end, b_end) = values["crawl"]
    assert abs(w50 - 2) < 0.2  # w is there within 50 steps
    assert b0 == 0 and 0 < b50 < b_end < 0.7  # b creeps towards 1 and is far from it at 500
    assert values["diverged"] == [True]


def test_the_first_steps_figure_draws_every_step_inside_its_panel():
    values = probed()
    panels, titles = values["steps_panels"], values["steps_titles"]
    assert len(panels) == 6, "two rows (raw, standardized) of three learning rates"
    for index, (panel, title) in enumerate(zip(panels, titles)):
        name = ["raw x", "standardized x"][index // 3]
        k = values["first_steps"][name]
        ((label, drawn),) = panel.items()  # one run per panel
        assert drawn["n"] == k + 1 and all(drawn["inside"]), (title, drawn)
        assert drawn["style"] == values["lr_style"][label], title
        assert title.startswith(name) and f"steps 0-{k}" in title
    # Where the steps crowd (raw x above 2/lam_max, standardized x below 1/lam_max near the
    # star), only the first steps (and a last one standing apart) are numbered.
    numbers = values["steps_numbers"]
    assert sorted(numbers[2], key=int) == ["0", "1", "2", "10"], numbers[2]
    assert sorted(numbers[3], key=int) == ["0", "1", "2"], numbers[3]
    # Few enough steps to follow: a marker at every one of at most a dozen iterates.
    assert max(values["first_steps"].values()) <= 12


def test_the_long_run_figure_keeps_one_style_per_learning_rate_and_clean_log_ticks():
    values = probed()
    path_panel, *loss_panels = values["long_panels"]
    for panel in loss_panels:
        assert set(panel) == {"below 1/lam_max (0.5/lam_max)", "oscillating (1.9/lam_max)"}
        for label, drawn in panel.items():
            assert drawn["style"] == values["lr_style"][label], label
    for label, drawn in path_panel.items():
        (full,) = [k for k in values["lr_style"] if k.split(" (")[0] == label.split(",")[0]]
        assert drawn["style"] == values["lr_style"][full] and all(drawn["inside"]), label
        assert drawn["n"] == values["num_steps"] // 2 + 1  # every second step of 200
    styles = [tuple(v) for v in values["lr_style"].values()]
    assert len(set(styles)) == len(styles)  # and they differ in colour, line and marker
    assert len({s[1] for s in styles}) == len({s[2] for s in styles}) == len(styles)
    for ticks in values["long_ticks"]:
        assert not any(ticks["minor"]), f"minor tick labels clutter the log axis: {ticks}"
        assert len([t for t in ticks["labels"] if t]) >= 2, ticks
    raw = values["long_ticks"][0]["labels"]
    assert "10" in raw and not any("times" in t or "^" in t for t in raw), raw


def test_the_static_slider_panels_cover_each_kind_of_behaviour():
    values = probed()
    factors = values["static_values"]
    assert len(factors) <= 4
    # |1 - lr lam_max|: below 1 without crossing, crossing but converging, the boundary, beyond.
    assert any(f < 1 for f in factors) and any(1 < f < 2 for f in factors)
    assert 2.0 in factors and any(f > 2 for f in factors)
    assert values["slider_titles"] == [f"lr * lam_max = {f:.1f}" for f in factors]
    # The factor with its sign: 0.5 and 1.5 give +0.50 and -0.50, not both 0.50.
    assert [label.split("= ")[-1] for label in values["slider_xlabels"]] == [
        f"{1 - f:+.2f}" for f in factors]
    assert all(len(line) <= 45 for line in values["slider_suptitle"].split("\n"))
    steps = values["slider_steps"]
    for f, gone, panel in zip(factors, values["slider_gone"], values["slider_panels"]):
        (drawn,) = panel.values()
        if f <= 2:  # stable or on the boundary: every step drawn, inside the shared view
            assert gone is None and drawn["n"] == steps + 1 and all(drawn["inside"]), f
        else:  # diverging: drawn up to the step that leaves the view, and no further
            assert gone is not None and drawn["n"] == gone + 1, f
            assert all(drawn["inside"][:-1]) and not drawn["inside"][-1], f


def test_section_8_parameters_differ_by_style_and_are_named():
    values = probed()
    styles = values["par_styles"]  # w, b, then the two reference lines
    assert len(styles) == 4 and len(set(styles)) == 4, styles
    assert {"true w = 2", "true b = 1", "w (solid)", "b (dashed)"} <= set(values["par_texts"])


def test_every_statement_of_points_matches_the_nbgrader_metadata():
    nb = nbformat.read(MASTER, as_version=4)
    points = graded_points(nb)
    per_exercise = exercise_points(nb)
    assert sorted(per_exercise) == list(range(1, 8))
    title = " ".join(nb.cells[0].source.split())
    claimed = re.search(r"Points follow the difficulty, (\d+) in all: 1 for the training run "
                        r".*?, 2 for .*?\(Exercises ([\d\-, and]+)\), 3 for .*?"
                        r"\(Exercises ([\d\-, and]+)\)", title)
    assert claimed, "the title cell should say how the points are distributed"
    assert int(claimed.group(1)) == sum(points.values())
    assert points["test_trained_parameters"] == 1

    def numbers(text):
        out = set()
        for part in re.split(r",| and ", text):
            low, _, high = part.strip().partition("-")
            out |= set(range(int(low), int(high or low) + 1))
        return out

    assert numbers(claimed.group(2)) == {n for n, p in per_exercise.items() if p == 2}
    assert numbers(claimed.group(3)) == {n for n, p in per_exercise.items() if p == 3}
    text = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    for stated in re.findall(r"The test after the training cell \((\d+) points?\)", text):
        assert int(stated) == points["test_trained_parameters"]


# Plausible wrong answers whose mistake raises inside the student's own function, or whose
# numbers point at one cause: the visible test names it. Each runs the visible part of its
# test cell (what the student copy holds) in this process, with the wrong answer defined.
WRONG_ANSWERS = {
    "sgd, rebinding": ("test_sgd", """
def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param = param - lr * param.grad / batch_size
            param.grad.zero_()
""", "update it in place, param -= lr * param.grad / batch_size"),
    "sgd, outside no_grad": ("test_sgd", """
def sgd(params, lr, batch_size):
    for param in params:
        param -= lr * param.grad / batch_size
        param.grad.zero_()
""", "`with torch.no_grad():`"),
    "sgd, the global batch_size": ("test_sgd", """
def sgd(params, lr, bath_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()
""", "the notebook's global batch_size; use the argument"),
    "data_iter, labels made a column": ("test_data_iter", """
def data_iter(batch_size, features, labels):
    order = torch.randperm(len(features))
    for k in range(0, len(features), batch_size):
        yield features[order[k:k + batch_size]], labels[order[k:k + batch_size]].reshape(-1, 1)
""", "yield labels[batch] as it is, without reshaping"),
    "normal_equation, no column of ones": ("test_normal_equation", """
def normal_equation(X, y):
    X, y = X.double(), y.double().reshape(-1, 1)
    return torch.linalg.solve(X.T @ X, X.T @ y), torch.zeros(1, dtype=torch.float64)
""", "2.6 is the best line through the origin; append the column of ones"),
}


@pytest.mark.parametrize("case", sorted(WRONG_ANSWERS))
def test_a_wrong_answer_fails_its_visible_test_with_a_hint(case):
    import random

    import torch

    grade_id, answer, hint = WRONG_ANSWERS[case]
    nb = nbformat.read(MASTER, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
    torch.manual_seed(0)
    features = torch.randn(1000, 2)
    labels = features @ torch.tensor([[2.0], [-3.4]]) + 4.2 + 0.01 * torch.randn(1000, 1)
    namespace = {"torch": torch, "random": random, "batch_size": 10, "features": features,
                 "labels": labels}
    exec(answer, namespace)
    with pytest.raises(AssertionError, match=re.escape(hint)):
        exec(visible, namespace)
