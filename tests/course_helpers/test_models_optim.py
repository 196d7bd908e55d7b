import pytest
import torch

from course_utils import (
    LinearRegression,
    least_squares,
    linreg,
    seed_everything,
    sgd,
    squared_loss,
    synthetic_data,
    train,
    train_scratch,
)


def test_linreg_matches_d2l(d2l):
    X, w, b = torch.randn(5, 3), torch.randn(3, 1), torch.tensor([0.5])
    assert torch.equal(linreg(X, w, b), d2l.linreg(X, w, b))


def test_sgd_update_on_fixed_numbers():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([0.5], requires_grad=True)
    w.grad, b.grad = torch.tensor([4.0, -2.0]), torch.tensor([1.0])
    sgd([w, b], lr=0.5, batch_size=2)
    assert torch.equal(w.detach(), torch.tensor([0.0, 2.5]))
    assert torch.equal(b.detach(), torch.tensor([0.25]))
    assert torch.equal(w.grad, torch.zeros(2)) and torch.equal(b.grad, torch.zeros(1))


def test_sgd_update_equals_d2l(d2l):
    torch.manual_seed(0)
    ours = [torch.randn(3, requires_grad=True), torch.randn(1, requires_grad=True)]
    theirs = [p.detach().clone().requires_grad_(True) for p in ours]
    for params in (ours, theirs):
        (params[0].sum() ** 2 + params[1] * 3).sum().backward()
    sgd(ours, 0.1, 4)
    d2l.sgd(theirs, 0.1, 4)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b) and torch.equal(a.grad, b.grad)


def test_sgd_matches_torch_optim_sgd_on_a_mean_loss():
    torch.manual_seed(0)
    X, y = torch.randn(8, 2), torch.randn(8, 1)
    w1 = torch.zeros(2, 1, requires_grad=True)
    squared_loss(X @ w1, y).sum().backward()
    sgd([w1], lr=0.1, batch_size=8)
    w2 = torch.zeros(2, 1, requires_grad=True)
    optimizer = torch.optim.SGD([w2], lr=0.1)
    squared_loss(X @ w2, y).mean().backward()
    optimizer.step()
    assert torch.allclose(w1, w2)


def test_least_squares_recovers_exact_parameters():
    X = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    y = X @ torch.tensor([[2.0], [-3.4]]) + 4.2
    w, b = least_squares(X, y)
    assert w.shape == (2, 1) and b.shape == (1,)
    assert torch.allclose(w, torch.tensor([[2.0], [-3.4]]), atol=1e-5)
    assert torch.allclose(b, torch.tensor([4.2]), atol=1e-5)


def test_scratch_training_reaches_the_noise_floor():
    seed_everything(0)
    true_w = torch.tensor([2.0, -3.4])
    features, labels = synthetic_data(true_w, 4.2, 1000)
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    history = train_scratch(features, labels, w, b, lr=0.03, num_epochs=3, batch_size=10)
    assert len(history) == 3 and history[0] > history[-1]
    assert history[-1] < 1e-4  # ~ noise variance / 2 = 5e-5
    assert (w.detach().flatten() - true_w).abs().max() < 5e-3
    assert abs(b.item() - 4.2) < 5e-3


def test_train_with_an_optimizer_and_a_dataloader():
    from torch import nn

    from course_utils import load_array

    seed_everything(0)
    features, labels = synthetic_data([2.0, -3.4], 4.2, 1000)
    net = nn.Sequential(nn.Linear(2, 1))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.03)
    history = train(net, nn.MSELoss(), load_array((features, labels), 10), optimizer, 3,
                    features, labels)
    assert history[-1] < 2e-4
    assert torch.allclose(net[0].bias, torch.tensor([4.2]), atol=5e-3)


def test_linear_regression_module_parameters():
    model = LinearRegression(3, 2)
    shapes = sorted(tuple(p.shape) for p in model.parameters())
    assert shapes == [(2,), (2, 3)]
    assert model(torch.zeros(4, 3)).shape == (4, 2)


def test_seed_everything_repeats_all_generators():
    import random

    import numpy as np

    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    seed_everything(42)
    first = draw()
    seed_everything(42)
    assert draw() == first


def test_try_gpu_falls_back_to_cpu(d2l):
    from course_utils import try_gpu

    if torch.cuda.is_available():
        pytest.skip("a GPU is present; the fallback is for CPU-only machines")
    assert try_gpu() == torch.device("cpu") == d2l.try_gpu()
