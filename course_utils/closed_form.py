"""Closed-form linear regression with an intercept: least squares and ridge."""

import torch


def fit_least_squares(X, y):
    """Least squares y ~ X w + b: returns w (shape (d,)) and b (a 0-d tensor), in float64.

    Appends a column of ones for the intercept and solves with torch.linalg.lstsq (QR), which
    is more accurate than inverting X^T X.
    """
    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1)
    X1 = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    solution = torch.linalg.lstsq(X1, y).solution.reshape(-1)
    return solution[:-1], solution[-1]


def ridge_closed_form(X, y, alpha):
    """Ridge regression: minimizes ||y - X w - b||^2 + alpha ||w||^2 (b is not penalized).

    Centering X and y removes the intercept; then w = (Xc^T Xc + alpha I)^-1 Xc^T yc and
    b = mean(y) - mean(X) w. Returns w (shape (d,)) and b (a 0-d tensor), in float64.
    """
    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64).reshape(-1)
    x_mean, y_mean = X.mean(dim=0), y.mean()
    Xc = X - x_mean
    A = Xc.T @ Xc + alpha * torch.eye(X.shape[1], dtype=X.dtype)
    w = torch.linalg.solve(A, Xc.T @ (y - y_mean))
    return w, y_mean - x_mean @ w
