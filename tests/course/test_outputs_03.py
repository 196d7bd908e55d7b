"""Notebook 03's second-edition claims hold in its executed master (the numbers its text reads).

The master runs once (test_notebooks.master_run, shared with its tests; an appended probe
cell, as a student would run it, not grading);
each test checks one claim the prose makes about the printed numbers: hook registries are
ordered dictionaries (the parameter and module registries plain ones), adaptive optimizers'
first steps (Adam lr, RMSprop lr / sqrt(1 - alpha)),
the loss-surface paths for 'sum' and 'mean' (and the steps each needs, which the figure's boxes
give), the measured toy distances on their predicted slopes, the per-optimizer learning-rate
grid with ASGD on SGD's curve, and weight decay on the overfitting demonstration.
"""

from __future__ import annotations

import math
import re

import nbformat
import pytest
from test_notebooks import (
    exercise_points,
    graded_points,
    master_probe,
    master_run,
    share_master_run,
)

from autograding.course import release

pytestmark = pytest.mark.slow

AID = "03_linreg_concise"
MASTER = release.master_path(AID)
PREFIX = "NB03-PROBE-JSON:"
PROBE = """
import json as _json
_probe = {
    "registry_type": type(registry).__name__,
    "registry_after": len(registry),
    "hook_calls": len(calls),
    "replay_gap": gap,
    "replay_losses": {str(k): v for k, v in replay_losses.items()},
    "first_steps": first_steps,
    "later_steps": later_steps,
    "landscape_ends": {f"{r} {lr}": list(map(float, v)) for (r, lr), v in landscape_ends.items()},
    "landscape_steps": {f"{r} {lr}": v for (r, lr), v in landscape_steps.items()},
    "slope_gaps": slope_gaps,
    "asgd_gap": asgd_gap,
    "momentum_prediction": momentum_prediction,
    "lr_grid": lr_grid,
    "best_lr": best_lr,
    "curve_sgd": list(map(float, sgd_curve)),
    "curve_asgd": list(map(float, asgd_curve)),
    "comparison": {name: {str(lr): curve for lr, curve in by_lr.items()}
                   for name, by_lr in comparison.items()},
    "record_every": record_every,
    "decays": {str(wd): {"train": c["train"][-1], "validation": c["validation"][-1],
                         "test": c["test"][-1], "test_min": min(c["test"]),
                         "unused": m.weight.detach()[0, 2:].norm().item(),
                         "used": m.weight.detach()[0, :2].tolist()}
               for wd, (m, c) in decay_runs.items()},
    "chosen": chosen,
    "lowest_test_without": test_curve[best],
    "true_test_mse": true_test_mse,
    "module_dicts": {name: type(getattr(LinearRegression(2, 1), name)).__name__
                     for name in ("_parameters", "_modules", "_forward_hooks")},
    "dot_spacing": {f"{r} {lr}": v for (r, lr), v in dot_spacing.items()},
    "dots": dots,
    "mean_range": [float(runs["mean"][-1].min()), float(runs["mean"][-1].max())],
    "plain_100": float(plain_predictions[100]),
    "plain_catch_up": plain_catch_up,
    "beyond": beyond,
}
print(%r + _json.dumps(_probe))
"""


share_master_run(AID, PREFIX, PROBE % PREFIX)


def probed() -> dict:
    """The probed values of the master's one run (test_notebooks.master_run), probe appended."""
    values, probe = master_probe(AID, PREFIX)
    cells = [*master_run(AID)["notebook"].cells, probe]
    errors = [f"cell {i}: {o.ename}: {o.evalue}" for i, c in enumerate(cells)
              for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{MASTER} raised: {errors}"
    if values is None:
        pytest.fail(f"{MASTER}: the probe printed nothing")
    return values


def test_hooks_live_in_an_ordered_dict():
    v = probed()
    assert v["registry_type"] == "OrderedDict"
    assert v["module_dicts"] == {"_parameters": "dict", "_modules": "dict",
                                 "_forward_hooks": "OrderedDict"}, v["module_dicts"]
    assert v["registry_after"] == 0 and v["hook_calls"] == 1


def test_watched_run_is_the_exercise_run():
    v = probed()
    assert v["replay_gap"] < 1e-5, "the replay is the run of the exercise, up to rounding"
    losses = v["replay_losses"]
    assert losses["100"] < 1e-3 < losses["10"], losses
    assert losses["300"] < 2e-4, losses


def test_first_steps_of_adaptive_optimizers():
    steps = probed()["first_steps"]
    for name in ("Adagrad", "Adam", "Adamax"):
        for scaled in steps[name]:
            assert scaled == pytest.approx([1.0, 1.0], abs=1e-3), (name, steps[name])
    for name, alpha in (("RMSprop, alpha=0.99", 0.99), ("RMSprop, alpha=0.9", 0.9)):
        expected = 1 / math.sqrt(1 - alpha)
        for scaled in steps[name]:
            assert scaled == pytest.approx([expected] * 2, rel=1e-3), (name, steps[name])
    plain, thousand = steps["SGD"]
    assert thousand == pytest.approx([1000 * s for s in plain], rel=1e-3)
    assert min(plain) > 10, "SGD's first step on the toy loss is far longer than lr"


def test_rmsprop_steps_shrink_to_lr():
    later = probed()["later_steps"]
    assert later["Adam"] == pytest.approx([1.0] * 1000, abs=1e-6)
    expected = [1 / math.sqrt(1 - 0.99**k) for k in range(1, 1001)]
    assert later["RMSprop, alpha=0.99"] == pytest.approx(expected, rel=1e-4)


def test_loss_surface_paths():
    ends = probed()["landscape_ends"]

    def prediction(key):
        steps, w, b = ends[key]
        assert steps == 1000, f"{key} stopped after {steps} steps"
        return 4 * w + b

    assert ends["sum 0.065"][0] < 1000, "lr above 2/lambda_max must diverge on the sum"
    assert abs(prediction("sum 0.01") - 8) < 0.01 and abs(prediction("sum 0.05") - 8) < 1e-4
    assert prediction("mean 0.01") < 7.9, "the mean's lr = 0.01 run stops well short of 8"
    assert abs(prediction("mean 0.05") - 8) < 1e-4 and abs(prediction("mean 0.065") - 8) < 1e-4


def test_toy_distances_follow_the_predicted_slope():
    gaps = probed()["slope_gaps"]
    assert set(gaps) == {"sum", "mean"}
    assert max(gaps.values()) < 0.01, "the text: less than a percent from epoch 100 on"


def test_loss_surface_steps_to_8():
    """The boxes of the loss-surface figure: which run gets within 0.01 of 8, and how fast."""
    v = probed()
    steps, ends = v["landscape_steps"], v["landscape_ends"]
    assert steps["sum 0.065"] is None and steps["mean 0.01"] is None
    assert 0 < steps["sum 0.05"] < steps["sum 0.01"] < 1000, "the zigzag arrives sooner"
    assert 0 < steps["mean 0.065"] < steps["mean 0.05"] < 1000, "on the mean, larger is faster"
    for key, count in steps.items():
        if count is not None:  # from that step on the prediction stays within 0.01 of 8
            _, w, b = ends[key]
            assert abs(4 * w + b - 8) <= 0.01, key
    _, w, b = ends["mean 0.01"]
    assert math.hypot(w - 2, b) > 0.3, "the mean's lr = 0.01 run ends visibly off the star"


def test_asgd_lies_on_sgd():
    v = probed()
    sgd, asgd = v["curve_sgd"], v["curve_asgd"]
    assert v["best_lr"]["ASGD"] == v["best_lr"]["SGD"]
    largest = max(abs(a - s) / s for a, s in zip(asgd, sgd))
    assert v["asgd_gap"] == pytest.approx(largest, rel=1e-9)
    assert 0 < v["asgd_gap"] < 0.05, "the text: a few percent at most, not zero"


def test_optimizer_comparison_claims():
    v = probed()
    grid, best, runs = v["lr_grid"], v["best_lr"], v["comparison"]
    final = {name: runs[name][str(lr)][-1] for name, lr in best.items()}
    assert max(final.values()) < 1e-3, final
    assert max(best.values()) / min(best.values()) >= 10, best

    def reached(name):
        curve = runs[name][str(best[name])]
        return next(i for i, value in enumerate(curve) if value < 1e-3)

    assert reached("LBFGS") == min(reached(name) for name in best)
    assert reached("SGD") < reached("Adam") and reached("SGD") < reached("Adamax")
    slowest = sorted(best, key=reached)[-2:]
    assert set(slowest) == {"Adam", "Adamax"}, {name: reached(name) for name in best}
    assert best["Adam"] == best["Adamax"] == max(grid)
    # Six rows have their best at an edge of the grid; one more value beyond it is worse in each.
    at_edge = {name for name, lr in best.items() if lr in (min(grid), max(grid))}
    assert len(at_edge) == 6 and set(v["beyond"]) == at_edge, (at_edge, v["beyond"])
    for name, (lr, value) in v["beyond"].items():
        assert lr == (0.01 if best[name] == min(grid) else 3.0), (name, lr)
        assert value > final[name], (name, lr, value, final[name])
    assert best["SGD, momentum 0.9"] < best["SGD"]
    assert final["SGD, momentum 0.9"] > final["SGD"]
    assert runs["ASGD"][str(best["ASGD"])] == pytest.approx(runs["SGD"][str(best["SGD"])],
                                                            rel=0.05)


def test_momentum_reaches_8_in_100_steps():
    assert abs(probed()["momentum_prediction"] - 8) < 0.05


def test_weight_decay_claims():
    v = probed()
    runs = {float(wd): r for wd, r in v["decays"].items()}
    strengths = sorted(runs)
    chosen, none = runs[v["chosen"]], runs[0.0]
    assert 0 < v["chosen"] < strengths[-1]
    trains = [runs[wd]["train"] for wd in strengths]
    unused = [runs[wd]["unused"] for wd in strengths]
    assert trains == sorted(trains), "stronger decay, higher training loss"
    assert unused == sorted(unused, reverse=True), "stronger decay, smaller unused weights"
    assert none["train"] < 0.5, "without decay the training loss is far below the noise"
    strongest = runs[strengths[-1]]
    assert strongest["validation"] > chosen["validation"]
    assert abs(strongest["used"][0]) < 0.75 * 2 and abs(strongest["used"][1]) < 0.75 * 3.4
    assert chosen["test"] < 0.5 * none["test"], (chosen, none)
    assert chosen["test"] < v["lowest_test_without"]
    assert chosen["test"] <= 1.01 * chosen["test_min"], "with decay the test loss does not climb"
    assert abs(v["true_test_mse"] - 1) < 0.15, v["true_test_mse"]
    assert chosen["test"] > 1.5 * v["true_test_mse"], "well above the true weights' test loss"


def test_loss_surface_dots_and_the_start_outside_nn_linear_range():
    """The legend says how far apart the dots are; the 'mean' lr = 0.01 run ends further from 8
    than any random start of the earlier figure, its start b = 3.5 being outside [-1, 1]."""
    v = probed()
    spacing, ends = v["dot_spacing"], v["landscape_ends"]
    for key, every in spacing.items():
        steps = ends[key][0]
        assert every == max(1, (steps + 1) // 30), (key, every)  # plot_landscape's rule
    assert spacing["sum 0.065"] == 1 and spacing["sum 0.01"] == 33
    assert v["dots"] == "a dot every 33 steps, every step where it diverges", v["dots"]
    _, w, b = ends["mean 0.01"]
    low, high = v["mean_range"]
    assert 4 * w + b < low < 8 < high, (4 * w + b, low, high)


def test_plain_sgd_needs_several_hundred_steps_where_momentum_needs_100():
    v = probed()
    assert v["plain_100"] < 7.8, "plain SGD is still far from 8 after 100 steps"
    assert 200 < v["plain_catch_up"] < 1000, v["plain_catch_up"]


def test_the_points_sentence_matches_the_nbgrader_metadata():
    nb = nbformat.read(MASTER, as_version=4)
    points = graded_points(nb)
    per_exercise = exercise_points(nb)
    assert sorted(per_exercise) == list(range(1, 7))
    title = " ".join(nb.cells[0].source.split())
    claimed = re.search(r"Points follow the work, (\d+) in all: "
                        r"1 for .*?\(Exercises? ([\d, and]+)\),"
                        r" 2 for .*?\(Exercises? ([\d, and]+)\), 3 for .*?"
                        r"\(Exercises? ([\d, and]+)\)", title)
    assert claimed, "the title cell should say how the points are distributed"
    assert int(claimed.group(1)) == sum(points.values()) == sum(per_exercise.values())

    def numbers(text):
        return {int(n) for n in re.findall(r"\d+", text)}

    for group, worth in ((2, 1), (3, 2), (4, 3)):
        assert numbers(claimed.group(group)) == {n for n, p in per_exercise.items()
                                                 if p == worth}, (worth, claimed.group(group))
