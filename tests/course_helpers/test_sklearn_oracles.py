"""scikit-learn as an independent oracle for the course's fits.

- Least squares: `LinearRegression` against course_utils' `least_squares` (float32, notebook 02)
  and `fit_least_squares` (float64, notebook 06).
- Ridge: `Ridge(alpha)` against `ridge_closed_form` and against SGD with `ridge_sgd`'s weight
  decay wd = 2 alpha / n on `nn.MSELoss()` (notebook 06's derivation).
- Huber: `HuberRegressor` estimates a scale sigma with the coefficients and minimizes
  sum_i sigma + sigma H_eps(r_i / sigma) + alpha ||w||^2 (H_eps(z) = z^2 for |z| <= eps,
  2 eps |z| - eps^2 beyond). With alpha = 0 and sigma held at its fitted value, sigma H_eps(r /
  sigma) = (2 / sigma) huber_delta(r) for delta = eps * sigma, so its (w, b) minimize the sum
  of course_utils' `huber_loss(., ., delta)`: we minimize that with torch and compare.
- Quantile: `QuantileRegressor(alpha=0, solver="highs")` solves the linear program exactly; a
  gradient fit of `quantile_loss` reaches its objective to a relative 1e-4 and its coefficients
  to 0.02 (the objective is flat near a vertex, so coefficients agree less than objectives).
- Notebook 04's `fit_line` (read from its master's answer cell) against the same oracles on
  04's data: MSE and Huber on its line with outliers, quantiles on its spreading noise.
"""

import json

import numpy as np
import pytest
import torch
from torch import nn

from autograding.course.release import master_path
from course_utils import (
    fit_least_squares,
    huber_loss,
    least_squares,
    quantile_loss,
    ridge_closed_form,
    ridge_sgd,
)

linear_model = pytest.importorskip("sklearn.linear_model")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: a thread pool per operation costs far more than it saves (10x here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def problem():
    """Three correlated features, an intercept, and 5 % gross outliers in y."""
    gen = torch.Generator().manual_seed(12)
    X = torch.randn(300, 3, generator=gen, dtype=torch.float64)
    X[:, 1] += 0.5 * X[:, 0]
    y = X @ torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64) + 1.0
    y = y + 0.5 * torch.randn(300, generator=gen, dtype=torch.float64)
    y[:15] += torch.linspace(8, 20, 15, dtype=torch.float64)
    return X, y


def minimize_lbfgs(objective, d):
    """(w, b) minimizing a smooth objective(w, b) in float64, from zero."""
    theta = torch.zeros(d + 1, dtype=torch.float64, requires_grad=True)
    trainer = torch.optim.LBFGS([theta], lr=1, max_iter=200, tolerance_grad=1e-11,
                                tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        trainer.zero_grad()
        value = objective(theta[:-1], theta[-1])
        value.backward()
        return value

    trainer.step(closure)
    return theta.detach()[:-1], theta.detach()[-1]


def minimize_adam(objective, d, num_steps=1500, lr=0.1):
    """(w, b) minimizing a convex, non-smooth objective: Adam with a linearly decaying rate."""
    theta = torch.zeros(d + 1, dtype=torch.float64, requires_grad=True)
    trainer = torch.optim.Adam([theta], lr=lr)
    for step in range(num_steps):
        trainer.param_groups[0]["lr"] = lr * (1 - step / num_steps)
        value = objective(theta[:-1], theta[-1])
        trainer.zero_grad()
        value.backward()
        trainer.step()
    return theta.detach()[:-1], theta.detach()[-1]


def test_least_squares_helpers_match_linear_regression(problem):
    X, y = problem
    oracle = linear_model.LinearRegression().fit(X.numpy(), y.numpy())
    w, b = fit_least_squares(X, y)
    np.testing.assert_allclose(w.numpy(), oracle.coef_, rtol=1e-10, atol=1e-10)
    assert float(b) == pytest.approx(oracle.intercept_, abs=1e-10)
    w32, b32 = least_squares(X, y)
    np.testing.assert_allclose(w32.reshape(-1).numpy(), oracle.coef_, atol=1e-5)
    assert b32.item() == pytest.approx(oracle.intercept_, abs=1e-5)


@pytest.mark.parametrize("alpha", [0.1, 10.0, 500.0])
def test_ridge_closed_form_matches_ridge(problem, alpha):
    X, y = problem
    oracle = linear_model.Ridge(alpha=alpha).fit(X.numpy(), y.numpy())
    w, b = ridge_closed_form(X, y, alpha)
    np.testing.assert_allclose(w.numpy(), oracle.coef_, rtol=1e-10, atol=1e-10)
    assert float(b) == pytest.approx(oracle.intercept_, abs=1e-10)


def test_weight_decay_is_ridge_with_alpha_n_wd_over_2(problem):
    X, y = problem
    alpha = 40.0
    weight_decay = 2 * alpha / len(X)
    oracle = linear_model.Ridge(alpha=alpha).fit(X.numpy(), y.numpy())
    torch.manual_seed(0)
    net = nn.Linear(3, 1).double()
    trainer = ridge_sgd(net, lr=0.3, weight_decay=weight_decay, momentum=0.8)
    loss, labels = nn.MSELoss(), y.reshape(-1, 1)
    for _ in range(400):
        trainer.zero_grad()
        loss(net(X), labels).backward()
        trainer.step()
    np.testing.assert_allclose(net.weight.detach().reshape(-1).numpy(), oracle.coef_,
                               atol=1e-8)
    assert net.bias.item() == pytest.approx(oracle.intercept_, abs=1e-8)
    # Decaying the bias as well misses Ridge's intercept: the penalty pulls it toward 0.
    torch.manual_seed(0)
    net = nn.Linear(3, 1).double()
    trainer = torch.optim.SGD(net.parameters(), lr=0.3, momentum=0.8,
                              weight_decay=weight_decay)
    for _ in range(400):
        trainer.zero_grad()
        loss(net(X), labels).backward()
        trainer.step()
    assert abs(net.bias.item() - oracle.intercept_) > 1e-3


def test_huber_loss_fit_matches_huber_regressor(problem):
    X, y = problem
    oracle = linear_model.HuberRegressor(epsilon=1.35, alpha=0.0, max_iter=1000,
                                         tol=1e-10).fit(X.numpy(), y.numpy())
    delta = 1.35 * oracle.scale_
    w, b = minimize_lbfgs(lambda w, b: huber_loss(X @ w + b, y, delta).mean(), 3)
    np.testing.assert_allclose(w.numpy(), oracle.coef_, atol=1e-4)
    assert b.item() == pytest.approx(oracle.intercept_, abs=1e-4)
    # Robust: far closer to the true (1.5, -2, 0.5), 1 than least squares is.
    ls_w, ls_b = fit_least_squares(X, y)
    truth = torch.tensor([1.5, -2.0, 0.5, 1.0], dtype=torch.float64)
    assert (torch.cat([w, b.reshape(1)]) - truth).abs().max() < 0.5 * (
        torch.cat([ls_w, ls_b.reshape(1)]) - truth).abs().max()


@pytest.mark.parametrize("gamma", [0.05, 0.5, 0.95])
def test_quantile_loss_fit_matches_quantile_regressor(problem, gamma):
    X, y = problem
    oracle = linear_model.QuantileRegressor(quantile=gamma, alpha=0.0, solver="highs").fit(
        X.numpy(), y.numpy())
    w_lp = torch.from_numpy(oracle.coef_)
    b_lp = torch.tensor(oracle.intercept_, dtype=torch.float64)

    def objective(w, b):
        return quantile_loss(X @ w + b, y, gamma).mean()

    w, b = minimize_adam(objective, 3)
    best = objective(w_lp, b_lp).item()
    assert best <= objective(w, b).item() <= best * (1 + 1e-4)
    np.testing.assert_allclose(w.numpy(), oracle.coef_, atol=0.02)
    assert b.item() == pytest.approx(oracle.intercept_, abs=0.02)
    # The LP's optimum puts at most a fraction gamma of the points strictly below the fit.
    below = (y < X @ w_lp + b_lp).double().mean().item()
    assert below <= gamma + 1e-12 and below >= gamma - 4 / len(y)


@pytest.fixture(scope="module")
def fit_line():
    """Notebook 04's `fit_line`, exactly as its master's answer cell defines it."""
    cells = json.loads(master_path("04_loss_functions").read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"
               and c["metadata"].get("nbgrader", {}).get("solution")]
    source = next((s for s in sources if "def fit_line(" in s), None)
    if source is None:
        pytest.fail("04's master has no answer cell defining fit_line")
    namespace = {"torch": torch}
    exec(compile(source, "04_loss_functions:fit_line", "exec"), namespace)
    return namespace["fit_line"]


@pytest.fixture(scope="module")
def line_data():
    """04's data: y = 1.5 x + 0.5 + noise, the five largest x shifted by -20."""
    gen = torch.Generator().manual_seed(0)
    x = 6 * torch.rand(100, 1, generator=gen) - 3
    y = 1.5 * x + 0.5 + 0.3 * torch.randn(100, 1, generator=gen)
    y[x.reshape(-1).argsort()[-5:]] -= 20.0
    return x, y


def test_notebook_04_fit_line_mse_is_linear_regression(fit_line, line_data):
    x, y = line_data
    oracle = linear_model.LinearRegression().fit(x.numpy(), y.numpy().reshape(-1))
    w, b = fit_line(x, y, nn.MSELoss(reduction="none"))
    assert w == pytest.approx(oracle.coef_[0], abs=0.02)
    assert b == pytest.approx(oracle.intercept_, abs=0.02)


def test_notebook_04_fit_line_huber_is_huber_regressor(fit_line, line_data):
    x, y = line_data
    oracle = linear_model.HuberRegressor(epsilon=1.35, alpha=0.0, max_iter=1000,
                                         tol=1e-10).fit(x.numpy(), y.numpy().reshape(-1))
    delta = 1.35 * oracle.scale_
    w, b = fit_line(x, y, lambda a, t: huber_loss(a, t, delta))
    assert w == pytest.approx(oracle.coef_[0], abs=0.02)
    assert b == pytest.approx(oracle.intercept_, abs=0.02)


@pytest.fixture(scope="module")
def spreading_data():
    """04's quantile data: y = 1 + 0.8 x + noise whose sd 0.1 + 0.4 x grows with x in [0, 5]."""
    gen = torch.Generator().manual_seed(1)
    x = 5 * torch.rand(500, 1, generator=gen)
    return x, 1 + 0.8 * x + (0.1 + 0.4 * x) * torch.randn(500, 1, generator=gen)


@pytest.mark.parametrize("gamma", [0.05, 0.95])
def test_notebook_04_fit_line_quantile_is_quantile_regressor(fit_line, spreading_data, gamma):
    x, y = spreading_data
    oracle = linear_model.QuantileRegressor(quantile=gamma, alpha=0.0, solver="highs").fit(
        x.numpy(), y.numpy().reshape(-1))
    w, b = fit_line(x, y, lambda a, t: quantile_loss(a, t, gamma))

    def objective(w, b):
        return quantile_loss(w * x.double() + b, y.double(), gamma).mean().item()

    best = objective(oracle.coef_[0], oracle.intercept_)
    assert best <= objective(w, b) + 1e-9 and objective(w, b) <= best * 1.01
    assert w == pytest.approx(oracle.coef_[0], abs=0.1)
    assert b == pytest.approx(oracle.intercept_, abs=0.2)
