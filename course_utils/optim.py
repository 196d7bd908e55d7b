"""The scratch optimizer taught in notebook 02."""

import torch


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (d2l): step, then zero the gradients."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()
