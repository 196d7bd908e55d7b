"""Notebook 06's claims, read from its executed master: every number the text discusses.

The split's sizes, the collinear direction, the leak, the closed form against scikit-learn,
SGD against the closed form and float32, ridge = weight decay with alpha = n wd / 2 and what
decaying the bias does, the validation curve's choice (inside the grid, or alpha = 0), the
robust fits against paired and unpaired standard errors, the quantile
interval's coverage and the residuals' spread. Also: the grading table in the title cell
matches the test cells, and the notebook runs in a few seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import torch
from test_notebooks import answers_not_tested_first, master_probe, master_run, share_master_run

AID = "06_real_data"
MASTER = Path(__file__).resolve().parents[2] / "autograding" / "source" / AID / f"{AID}.ipynb"
PREFIX = "OUTPUTS-06-JSON:"
PROBE = """
import json as _json
_probe = {
    "sizes": [len(X_train), len(X_val), len(X_test)],
    "leak_whole": (leaky_after - leaky_before).abs().max().item(),
    "leak_train": (clean_after - clean_before).abs().max().item(),
    "prediction_changes": {k: float(v) for k, v in prediction_changes.items()},
    "sklearn_ls_gap": float(np.abs(sk_ls.coef_ - np.asarray(w_ls, dtype=np.float64)).max()),
    "sklearn_ridge_gap": float(np.abs(sk_ridge.coef_ - np.asarray(w_ridge, np.float64)).max()),
    "minibatch_loss": epoch_losses[-1], "closed_form_mse": closed_form_mse,
    "sgd_weight_gap": sgd_weight_gap, "condition": (eigenvalues[-1] / eigenvalues[0]).item(),
    "gd_weight_gap": gd_weight_gap, "gd_bias_gap": gd_bias_gap, "float32_gap": float32_gap,
    "ridge_weight_gap": ridge_weight_gap, "ridge_bias_gap": ridge_bias_gap,
    "weight_decay": weight_decay, "n_train": len(Z_train), "alpha_demo": alpha_demo,
    "decayed_bias": decayed_bias, "y_train_mean": y_train.mean().item(),
    "val_ridge": mse(Z_val, y_val, w_ridge, b_ridge),
    "val_decayed": mse(Z_val, y_val, w_all, decayed_bias),
    "choices": {k: [float(a), float(v)] for k, (a, v) in choices.items()},
    "curves_at_smallest_alpha": {k: v[1][0] for k, v in curves.items()},
    "chosen_name": chosen_name, "test_r2": test_r2,
    "robust_test_mse": robust_test_mse, "test_mse_se": test_mse_se,
    "train_coverage": train_coverage, "test_coverage": test_coverage,
    "spread": [float(spread_low), float(spread_high)],
    "corr_smallest": float(corr_eigenvalues[0]),
    "flat_direction": {n: float(v) for n, v in zip(feature_names, flat_direction)},
    "hessian_flattest": dict(zip(feature_names, flattest.tolist())),
    "n_alphas": len(alphas), "alpha_edges": [float(alphas[0]), float(alphas[-1])],
    "grid_best": {k: int(np.argmin(v[1])) for k, v in curves.items()},
    "at_zero": at_zero, "rises": rises, "chosen_alpha": float(chosen_alpha),
    "paired": paired,
    "w_ls": dict(zip(feature_names, np.asarray(w_ls, dtype=np.float64).tolist())),
    "w_ridge": dict(zip(feature_names, np.asarray(w_ridge, dtype=np.float64).tolist())),
    "steps_taken": steps_taken, "steps_per_e_fold": steps_per_e_fold,
    "steepest_e_fold": 1 / (minibatch_lr * eigenvalues[-1].item()),
    "late_gaps": [min(late_gaps), max(late_gaps)],
    "train_column_mean": features32.mean(dim=0).abs().max().item(),
    "val_10": [float(val_10[0]), float(val_10[at_ten]), float(alphas[at_ten])],
    "val_64_around": [float(val_64[best_64 + k]) for k in (-1, 0, 1)],
    "inset_ylim": list(inset.get_ylim()),
    "flat_components": flat_components, "rest_lengths": rest_lengths,
    "panel_labels": [axes[k].get_legend_handles_labels()[1] for k in (0, 1)],
    "panel_styles": [[(line.get_linestyle(), line.get_marker(), str(line.get_color()))
                      for line in axes[k].get_lines()] for k in (0, 1)],
}
print(%r + _json.dumps(_probe))
"""


def master() -> nbformat.NotebookNode:
    return nbformat.read(MASTER, as_version=4)


def test_the_grading_table_matches_the_test_cells():
    nb = master()
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (\d+) \|", nb.cells[0].source, flags=re.M)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(rows) == len(tests) == 6
    for number, function, points in rows:
        (test,) = [c for c in tests if re.search(rf"\b{function}\(", c.source)]
        assert test.metadata["nbgrader"]["points"] == int(points), function
        assert any(f"### Exercise {number} ({points} point" in c.source and function in c.source
                   for c in nb.cells if c.cell_type == "markdown"), function
    total = sum(c.metadata["nbgrader"]["points"] for c in tests)
    assert f"Six exercises, {total} points" in nb.cells[0].source


def test_every_hidden_test_has_visible_checks_before_it():
    for cell in master().cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert visible.count("assert") + visible.count("_check") >= 2, cell.source[:80]
            assert "### BEGIN HIDDEN TESTS" in cell.source


share_master_run(AID, PREFIX, PROBE % PREFIX)


def probed() -> dict:
    """The probed values of the master's one run (test_notebooks.master_run), probe appended,
    and the seconds that run took."""
    run = master_run(AID)
    values, probe = master_probe(AID, PREFIX)
    if values is not None:
        return values | {"seconds": run["seconds"]}
    errors = [f"{o.ename}: {o.evalue}" for c in [*run["notebook"].cells, probe]
              for o in c.get("outputs", []) if o.output_type == "error"]
    pytest.fail(f"the probe printed nothing; errors: {errors}")


def test_no_hidden_test_prints_a_value():
    # A bare call's value would be echoed as the cell's output (and show what the test computes).
    for cell in master().cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            for line in cell.source.splitlines():
                assert not line.startswith("_check_split("), line


@pytest.mark.slow
def test_the_collinear_direction_is_computed():
    v = probed()
    # Less than 1 % of one standardized feature's variance lies along the flattest direction.
    assert v["corr_smallest"] < 0.01
    for direction in (v["flat_direction"], v["hessian_flattest"]):
        large = {k: x for k, x in direction.items() if abs(x) > 0.1}
        assert set(large) == {"s1", "s2", "s3", "s5"}, large
        # s1 against s2, s3 and s5 (the sign of an eigenvector is arbitrary: s1's is > 0).
        assert large["s1"] > 0 and all(large[k] < 0 for k in ("s2", "s3", "s5"))
        assert max(abs(x) for k, x in direction.items() if k not in large) < 0.1


@pytest.mark.slow
def test_ridge_changes_the_collinear_weights_most():
    v = probed()
    ls, ridge = v["w_ls"], v["w_ridge"]
    change = {k: abs(ls[k] - ridge[k]) for k in ls}
    assert sorted(change, key=change.get)[-4:] == ["s3", "s5", "s2", "s1"]
    assert max(x for k, x in change.items() if k not in ("s1", "s2", "s3", "s5")) < 3
    # s1 and s2 from about -40 and 27 to about -2 each, s5 halved, s3's sign flipped.
    assert round(ls["s1"]) == -40 and round(ls["s2"]) == 27
    assert round(ridge["s1"]) == round(ridge["s2"]) == -2
    assert 0.4 < ridge["s5"] / ls["s5"] < 0.6 and ls["s3"] * ridge["s3"] < 0
    # The text's exact (printed, one decimal) numbers: s2 and s3 both change sign.
    printed = {k: (round(ls[k], 1), round(ridge[k], 1)) for k in ("s1", "s2", "s3", "s5")}
    assert printed == {"s1": (-39.7, -2.3), "s2": (27.0, -2.3), "s3": (5.9, -9.1),
                       "s5": (34.8, 17.3)}, printed
    # Ridge shrinks the component along the flattest direction first: -55.3 to -2.5, while the
    # rest's length only goes from 39.5 to 34.5.
    assert [round(x, 1) for x in v["flat_components"]] == [-55.3, -2.5]
    assert [round(x, 1) for x in v["rest_lengths"]] == [39.5, 34.5]
    # Least squares: s1's weight negative and the largest, s2's, s3's and s5's positive (the
    # sign pattern of the collinear direction, where s1 opposes the other three).
    assert max(ls, key=lambda k: abs(ls[k])) == "s1" and ls["s1"] < 0
    assert all(ls[k] > 0 for k in ("s2", "s3", "s5"))


@pytest.mark.slow
def test_split_and_leak():
    v = probed()
    assert v["sizes"] == [265, 88, 89]
    # Whole-data statistics: the training inputs move when only test rows change.
    assert v["leak_whole"] > 0.1 and v["leak_train"] == 0
    # Least squares with an intercept does not notice; ridge does.
    assert v["prediction_changes"]["LinearRegression"] < 1e-8
    assert v["prediction_changes"]["Ridge(alpha=50)"] > 0.1


@pytest.mark.slow
def test_closed_form_sgd_and_float32():
    v = probed()
    assert v["sklearn_ls_gap"] < 1e-10 and v["sklearn_ridge_gap"] < 1e-10
    # Mini-batch SGD: close in loss (about 1 %), far in the collinear weights.
    assert 1 < v["minibatch_loss"] / v["closed_form_mse"] < 1.05
    assert v["sgd_weight_gap"] > 5 and v["condition"] > 100
    # Full-batch momentum: as close as float32's own closed form, to the same order.
    assert v["gd_weight_gap"] < 10 * v["float32_gap"] and v["gd_bias_gap"] < 1e-4


@pytest.mark.slow
def test_weight_decay_is_ridge_only_without_decaying_the_bias():
    v = probed()
    assert v["weight_decay"] == pytest.approx(2 * v["alpha_demo"] / v["n_train"])
    assert v["ridge_weight_gap"] < 1e-3 and v["ridge_bias_gap"] < 1e-3
    expected = v["y_train_mean"] / (1 + v["weight_decay"] / 2)
    assert v["decayed_bias"] == pytest.approx(expected, abs=1e-3)
    assert v["val_decayed"] > v["val_ridge"] + 100


@pytest.mark.slow
def test_the_validation_curve_choice():
    v = probed()
    (quadratic,) = [k for k in v["choices"] if "quadratic" in k]
    alpha, best = v["choices"][quadratic]
    assert "64" in quadratic and 1 < alpha < 1000
    assert best < 0.8 * v["curves_at_smallest_alpha"][quadratic], "64 features overfit"
    # The 64 features' minimum lies strictly inside the grid, and alpha = 0 is far worse.
    assert 0 < v["grid_best"][quadratic] < v["n_alphas"] - 1
    assert v["alpha_edges"][0] < alpha < v["alpha_edges"][1]
    assert v["at_zero"][quadratic] > best + 500
    # The 10 plain features: lowest at the grid's left edge, because the curve rises at every
    # step and alpha = 0 (least squares) is lower still; so no penalty is chosen, and they win.
    assert v["grid_best"]["10 features"] == 0 and v["rises"]
    assert v["at_zero"]["10 features"] <= v["curves_at_smallest_alpha"]["10 features"]
    assert v["choices"]["10 features"] == [0.0, v["at_zero"]["10 features"]]
    assert v["chosen_name"] == "10 features" and v["chosen_alpha"] == 0.0
    assert 0.4 < v["test_r2"] < 0.7, "about half of the test variance explained"


@pytest.mark.slow
def test_robust_fits_and_the_interval():
    v = probed()
    values = list(v["robust_test_mse"].values())
    spread = max(values) - min(values)
    assert spread < v["test_mse_se"] / 3, "indistinguishable on 89 patients"
    # The text's numbers: 62 points apart at most, 347 = 5.6 times that.
    assert round(spread) == 62 and round(v["test_mse_se"]) == 347
    assert round(v["test_mse_se"] / spread, 1) == 5.6
    # Paired: the standard errors of the per-patient differences are far smaller than the
    # unpaired 347 (51 to 107 points of MSE), and every difference is below its own (0.2-0.9).
    assert len(v["paired"]) == 6
    mse_ses = [se for key, (_, se) in v["paired"].items() if key.endswith("test MSE")]
    assert round(min(mse_ses)) == 51 and round(max(mse_ses)) == 107
    ratios = [abs(mean) / se for mean, se in v["paired"].values()]
    assert round(min(ratios), 1) == 0.2 and round(max(ratios), 1) == 0.9
    assert all(ratio < 1 for ratio in ratios)
    assert 0.85 <= v["train_coverage"] <= 0.95
    assert 0.8 <= v["test_coverage"] <= 0.97
    low, high = v["spread"]
    assert high > low, "residuals spread more for high predictions"


@pytest.mark.slow
def test_runs_in_a_few_seconds():
    # The kernel's start and imports (torch, seaborn, scikit-learn) included; measured at
    # 6-11 s on a loaded 2-core machine.
    assert probed()["seconds"] < 60


@pytest.mark.slow
def test_the_flat_direction_needs_more_steps_than_were_taken():
    v = probed()
    # 1 / (lr lambda_min) steps per factor e: about 1100, against 20 epochs x 9 batches = 180.
    assert v["steps_taken"] == 180 and round(v["steps_per_e_fold"]) == 1107
    assert v["steps_per_e_fold"] > 5 * v["steps_taken"] and v["steepest_e_fold"] < 5
    # "between tens and a few hundred" above the optimum after the first epochs.
    low, high = v["late_gaps"]
    assert 10 <= low < 100 < high < 1000


@pytest.mark.slow
def test_the_decayed_bias_factor_is_exact_because_the_features_are_centred():
    assert probed()["train_column_mean"] < 1e-6


@pytest.mark.slow
def test_the_validation_figure_shows_what_the_text_says():
    v = probed()
    first, at_ten, alpha_ten = v["val_10"]
    assert alpha_ten == pytest.approx(10) and 15 < at_ten - first < 30, "about 20 up to 10"
    low, high = v["inset_ylim"]
    assert low <= first and at_ten <= high and high - low < 60, "the inset shows the slow rise"
    before, best, after = v["val_64_around"]
    assert before > best < after
    for labels, styles in zip(v["panel_labels"], v["panel_styles"]):
        assert labels[0] == "training" and labels[1] == "validation"
        assert labels[2].startswith("lowest validation MSE, alpha = ")
        (train, val, star) = styles
        assert train[0] != val[0] and train[1] != val[1], "training and validation differ in style"
        assert star[1] == "*" and star[2] == val[2], "the star has its model's colour"
    assert v["panel_labels"][0][2].endswith("0.01") and v["panel_labels"][1][2].endswith("56.2")


def test_the_heat_map_hides_the_grid_and_06_uses_correction_0():
    source = "\n".join(c.source for c in master().cells)
    assert "ax.grid(False)" in source
    assert "unbiased" not in source
    scaling = Path(MASTER).parents[3] / "course_utils" / "scaling.py"
    assert "correction=0" in scaling.read_text() and "unbiased" not in scaling.read_text()


# --- the visible tests alone reject wrong answers the hidden ones would catch -------------

def _visible(grade_id: str) -> str:
    (cell,) = [c for c in master().cells
               if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell.source.split("### BEGIN HIDDEN TESTS")[0]


def _passes(grade_id: str, **answers) -> bool:
    try:
        exec(_visible(grade_id), dict(answers))
    except (AssertionError, RuntimeError, TypeError, IndexError, AttributeError):
        return False
    return True


def _split(convert=None):
    def split(X, y, fractions=(0.6, 0.2, 0.2), seed=0):
        if convert is not None:
            X, y = X.to(convert), y.to(convert)
        n = len(X)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        a, b = int(fractions[0] * n), int(fractions[1] * n)
        return tuple((X[i], y[i]) for i in (order[:a], order[a:a + b], order[a + b:]))
    return split


def _standardize_torch(X_train, *others):
    mean, std = X_train.mean(dim=0), X_train.std(dim=0, correction=0)
    return tuple((X - mean) / std for X in (X_train, *others))


def _standardize_scaler(X_train, *others):
    from sklearn.preprocessing import StandardScaler
    scaler = StandardScaler().fit(X_train)
    return tuple(scaler.transform(X) for X in (X_train, *others))


def _standardize_scaler_tensors(X_train, *others):
    return tuple(torch.as_tensor(Z, dtype=X_train.dtype)
                 for Z in _standardize_scaler(X_train, *others))


def _ls(X, y):
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    theta = torch.linalg.lstsq(A, y.reshape(-1, 1)).solution.reshape(-1)
    return theta[:-1], theta[-1]


def _ls_442(X, y):
    A = torch.cat([X, torch.ones(442, 1, dtype=X.dtype)], dim=1)
    theta = torch.linalg.lstsq(A, y.reshape(-1, 1)).solution.reshape(-1)
    return theta[:-1], theta[-1]


def _ridge(d=None):
    def ridge(X, y, alpha):
        y = y.reshape(-1)
        Xc, yc = X - X.mean(dim=0), y - y.mean()
        eye = torch.eye(X.shape[1] if d is None else d, dtype=X.dtype)
        w = torch.linalg.solve(Xc.T @ Xc + alpha * eye, Xc.T @ yc)
        return w, y.mean() - X.mean(dim=0) @ w
    return ridge


def test_visible_tests_reject_answers_the_hidden_tests_would():
    assert _passes("test_train_val_test_split", train_val_test_split=_split())
    assert not _passes("test_train_val_test_split", train_val_test_split=_split(torch.float64))
    assert _passes("test_standardize", standardize_splits=_standardize_torch)
    assert _passes("test_standardize", standardize_splits=_standardize_scaler_tensors)
    assert not _passes("test_standardize", standardize_splits=_standardize_scaler)
    assert not _passes("test_standardize", standardize_splits=lambda *a: tuple(
        Z.float() for Z in _standardize_torch(*a)))
    assert _passes("test_fit_least_squares", fit_least_squares=_ls)
    assert not _passes("test_fit_least_squares", fit_least_squares=_ls_442)
    assert _passes("test_ridge_closed_form", ridge_closed_form=_ridge())
    assert not _passes("test_ridge_closed_form", ridge_closed_form=_ridge(10))


def _failure(grade_id: str, **answers) -> BaseException | None:
    try:
        exec(_visible(grade_id), dict(answers))
    except Exception as error:  # noqa: BLE001 (the test reads which error and its message)
        return error
    return None


def test_a_fixed_size_ridge_fails_with_a_message_not_a_shape_error():
    error = _failure("test_ridge_closed_form", ridge_closed_form=_ridge(10))
    assert isinstance(error, AssertionError), repr(error)
    assert "any n and d" in str(error) and "(60, 4)" in str(error)


def test_each_answer_is_tested_before_a_demo_cell_uses_it():
    """A wrong answer fails at its test's message, not in a locked demo cell that calls it."""
    assert answers_not_tested_first(master()) == []
