import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils import absolute_loss, huber_loss, log_cosh_loss, quantile_loss, squared_loss

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
residual_pairs = st.lists(st.tuples(finite, finite), min_size=1, max_size=20)


def as_tensors(pairs):
    y_hat, y = zip(*pairs)
    return torch.tensor(y_hat, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.randn(16, 1) * 3, torch.randn(16)  # labels (n,) vs predictions (n, 1)


def test_squared_loss_is_half_of_mse(batch):
    y_hat, y = batch
    expected = nn.MSELoss(reduction="none")(y_hat, y.reshape(y_hat.shape)) / 2
    assert torch.allclose(squared_loss(y_hat, y), expected)


def test_squared_loss_matches_d2l(d2l, batch):
    y_hat, y = batch
    assert torch.equal(squared_loss(y_hat, y), d2l.squared_loss(y_hat, y))


def test_absolute_loss_matches_l1(batch):
    y_hat, y = batch
    expected = nn.L1Loss(reduction="none")(y_hat, y.reshape(y_hat.shape))
    assert torch.allclose(absolute_loss(y_hat, y), expected)


@pytest.mark.parametrize("delta", [0.1, 1.0, 2.5, 10.0])
def test_huber_loss_matches_torch(batch, delta):
    y_hat, y = batch
    expected = nn.HuberLoss(reduction="none", delta=delta)(y_hat, y.reshape(y_hat.shape))
    assert torch.allclose(huber_loss(y_hat, y, delta), expected)


def test_huber_is_smooth_l1_times_beta(batch):
    y_hat, y = batch
    smooth = nn.SmoothL1Loss(reduction="none", beta=2.0)(y_hat, y.reshape(y_hat.shape))
    assert torch.allclose(huber_loss(y_hat, y, 2.0), 2.0 * smooth)


def test_log_cosh_matches_the_definition_and_does_not_overflow():
    r = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float64)
    assert torch.allclose(log_cosh_loss(r, torch.zeros_like(r)), torch.log(torch.cosh(r)))
    big = torch.tensor([1e4, -1e4, 1e30])
    values = log_cosh_loss(big, torch.zeros_like(big))
    assert torch.isfinite(values).all()
    assert values[0].item() == pytest.approx(1e4 - math.log(2), rel=1e-6)


def test_log_cosh_gradient_is_tanh():
    r = torch.tensor([-20.0, -1.0, 0.0, 0.3, 20.0], requires_grad=True)
    log_cosh_loss(r, torch.zeros(5)).sum().backward()
    assert torch.allclose(r.grad, torch.tanh(r.detach()), atol=1e-6)


def test_losses_broadcast_labels_like_d2l():
    y_hat = torch.zeros(4, 1)
    for loss in (squared_loss, absolute_loss, huber_loss, log_cosh_loss):
        assert loss(y_hat, torch.ones(4)).shape == (4, 1), loss.__name__
    assert quantile_loss(y_hat, torch.ones(4), 0.3).shape == (4, 1)


def test_quantile_loss_known_values():
    y = torch.tensor([10.0, 10.0])
    y_hat = torch.tensor([8.0, 13.0])  # under-predicts by 2, over-predicts by 3
    assert torch.allclose(quantile_loss(y_hat, y, 0.9), torch.tensor([1.8, 0.3]))


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_quantile_rejects_gamma_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="gamma"):
        quantile_loss(torch.zeros(1), torch.zeros(1), bad)


def test_huber_rejects_non_positive_delta():
    with pytest.raises(ValueError, match="delta"):
        huber_loss(torch.zeros(1), torch.zeros(1), 0.0)


def test_losses_gradients_match_autograd_of_torch_builtins():
    torch.manual_seed(1)
    y = torch.randn(8)
    for ours, theirs in [
        (lambda p: squared_loss(p, y).sum(), lambda p: nn.MSELoss(reduction="sum")(p, y) / 2),
        (lambda p: huber_loss(p, y, 0.7).sum(), lambda p: nn.HuberLoss("sum", 0.7)(p, y)),
    ]:
        p1 = torch.randn(8, generator=torch.Generator().manual_seed(2), requires_grad=True)
        p2 = p1.detach().clone().requires_grad_(True)
        ours(p1).backward()
        theirs(p2).backward()
        assert torch.allclose(p1.grad, p2.grad, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(residual_pairs, st.floats(min_value=0.01, max_value=0.99))
def test_every_loss_is_non_negative(pairs, gamma):
    y_hat, y = as_tensors(pairs)
    for values in (squared_loss(y_hat, y), absolute_loss(y_hat, y), huber_loss(y_hat, y),
                   log_cosh_loss(y_hat, y), quantile_loss(y_hat, y, gamma)):
        assert (values >= 0).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=1, max_size=20), st.floats(min_value=0.01, max_value=0.99))
def test_every_loss_is_zero_at_zero_residual(values, gamma):
    y = torch.tensor(values, dtype=torch.float64)
    for loss in (squared_loss(y, y), absolute_loss(y, y), huber_loss(y, y),
                 log_cosh_loss(y, y), quantile_loss(y, y, gamma)):
        assert torch.all(loss == 0)


@settings(max_examples=60, deadline=None)
@given(residual_pairs)
def test_median_quantile_is_half_the_absolute_loss(pairs):
    y_hat, y = as_tensors(pairs)
    assert torch.allclose(quantile_loss(y_hat, y, 0.5), absolute_loss(y_hat, y) / 2)


@settings(max_examples=60, deadline=None)
@given(residual_pairs, st.floats(min_value=0.05, max_value=20.0))
def test_huber_lies_between_its_bounds(pairs, delta):
    y_hat, y = as_tensors(pairs)
    huber = huber_loss(y_hat, y, delta)
    # Never above the quadratic, never above delta * |r|, never below delta*|r| - delta^2/2.
    assert (huber <= squared_loss(y_hat, y) + 1e-9).all()
    assert (huber <= delta * absolute_loss(y_hat, y) + 1e-9).all()
    assert (huber >= delta * absolute_loss(y_hat, y) - delta**2 / 2 - 1e-9).all()


@settings(max_examples=60, deadline=None)
@given(residual_pairs)
def test_log_cosh_lies_between_its_asymptotes(pairs):
    y_hat, y = as_tensors(pairs)
    values, absolute = log_cosh_loss(y_hat, y), absolute_loss(y_hat, y)
    assert (values <= squared_loss(y_hat, y) + 1e-9).all()
    assert (values >= absolute - math.log(2) - 1e-9).all()
    assert (values <= absolute + 1e-9).all()
