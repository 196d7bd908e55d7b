"""Per-element regression losses; reduce them (sum or mean) where you use them."""

import math

import torch
import torch.nn.functional as F


def _residual(y_hat, y):
    """y_hat - y with y reshaped like y_hat, so (n,) labels meet (n, 1) predictions safely."""
    return y_hat - y.reshape(y_hat.shape)


def squared_loss(y_hat, y):
    """Squared loss, halved: (y_hat - y)^2 / 2 per element (d2l)."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def absolute_loss(y_hat, y):
    """Absolute (L1) loss |y_hat - y|."""
    return _residual(y_hat, y).abs()


def huber_loss(y_hat, y, delta=1.0):
    """Huber loss: r^2 / 2 for |r| <= delta, delta (|r| - delta / 2) beyond (= nn.HuberLoss)."""
    if delta <= 0:
        raise ValueError(f"delta must be positive, got {delta}")
    r = _residual(y_hat, y).abs()
    return torch.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))


def log_cosh_loss(y_hat, y):
    """log(cosh(y_hat - y)), computed as |r| + softplus(-2|r|) - log 2 so it never overflows."""
    r = _residual(y_hat, y).abs()
    return r + F.softplus(-2 * r) - math.log(2.0)


def quantile_loss(y_hat, y, gamma):
    """Quantile (pinball) loss: gamma * u if u >= 0 else (gamma - 1) * u, with u = y - y_hat."""
    if not 0 < gamma < 1:
        raise ValueError(f"gamma must lie strictly between 0 and 1, got {gamma}")
    u = -_residual(y_hat, y)
    return torch.maximum(gamma * u, (gamma - 1) * u)
