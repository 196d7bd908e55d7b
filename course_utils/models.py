"""Linear models: the scratch `linreg`, the closed-form least-squares fit, an nn.Module."""

import torch
from torch import nn


def linreg(X, w, b):
    """The linear regression model y_hat = Xw + b (d2l)."""
    return torch.matmul(X, w) + b


def least_squares(X, y):
    """Closed-form least-squares fit of y ~ Xw + b; returns w of shape (d, 1) and b of shape (1,).

    Solves the normal equation through `torch.linalg.lstsq` (a QR/SVD solver), which is more
    accurate than forming and inverting X^T X.
    """
    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64).reshape(len(X), -1)
    X1 = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    solution = torch.linalg.lstsq(X1, y).solution
    return solution[:-1].float(), solution[-1].float()


class LinearRegression(nn.Module):
    """A linear model as a custom nn.Module: one nn.Linear layer (lecture 001)."""

    def __init__(self, in_features=1, out_features=1):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return self.linear(x)
