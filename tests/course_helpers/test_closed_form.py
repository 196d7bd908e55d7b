import pytest
import torch

from course_utils import fit_least_squares, least_squares, ridge_closed_form


@pytest.fixture
def problem():
    gen = torch.Generator().manual_seed(0)
    X = 4 + 3 * torch.randn(120, 5, generator=gen, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64) + 7
    return X, y + 0.1 * torch.randn(120, generator=gen, dtype=torch.float64)


def augmented(X, y, alpha):
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    penalty = alpha * torch.eye(A.shape[1], dtype=X.dtype)
    penalty[-1, -1] = 0
    theta = torch.linalg.solve(A.T @ A + penalty, A.T @ y)
    return theta[:-1], theta[-1]


def test_least_squares_in_float64_and_shapes(problem):
    X, y = problem
    w, b = fit_least_squares(X, y.reshape(-1, 1))
    assert w.shape == (5,) and b.shape == () and w.dtype == torch.float64
    w_ref, b_ref = augmented(X, y, 0.0)
    assert torch.allclose(w, w_ref, atol=1e-9) and torch.allclose(b, b_ref, atol=1e-9)
    w32, b32 = least_squares(X, y)  # notebook 02's float32 helper agrees
    assert torch.allclose(w32.reshape(-1).double(), w, atol=1e-4)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 10.0, 1e4])
def test_ridge_equals_the_augmented_normal_equations(problem, alpha):
    X, y = problem
    w, b = ridge_closed_form(X, y, alpha)
    w_ref, b_ref = augmented(X, y, alpha)
    assert torch.allclose(w, w_ref, atol=1e-8) and torch.allclose(b, b_ref, atol=1e-8)


def test_ridge_leaves_the_intercept_unpenalized(problem):
    X, y = problem
    w, b = ridge_closed_form(X, y, 1e14)
    assert w.abs().max() < 1e-8 and torch.isclose(b, y.mean())
    shifted = X + torch.tensor([5.0, 0, 0, -2, 0], dtype=torch.float64)
    assert torch.allclose(ridge_closed_form(shifted, y, 3.0)[0], ridge_closed_form(X, y, 3.0)[0])
