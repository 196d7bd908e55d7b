"""The course's fixed worked examples, one copy shared by notebooks and tests.

Each function returns fresh tensors, so a notebook that modifies them in place cannot change
what another cell or test sees.
"""

import torch

# Notebook 05, part 1: nn.MSELoss on two 3x2 matrices (seed 003).
MSE_X = [[3.0, 1.0], [4.0, 2.0], [5.0, 3.0]]
MSE_Y = [[2.0, 2.0], [1.0, 4.0], [6.0, 2.0]]

# Notebook 05, part 2: six examples with two features, one SGD step by hand (seed 003).
SIX_FEATURES = [[1.0, 2.0], [4.0, 2.0], [8.0, 1.0], [0.0, 1.0], [3.0, 8.0], [1.0, 3.0]]
SIX_LABELS = [1.0, 6.0, 2.0, 7.0, 1.0, 3.0]
SIX_INIT_W = [1.0, 2.0]
SIX_INIT_B = 0.0
# The seed's first batch came from a random shuffle; the course fixes it: rows 5, 1, 0 give
# X = [[1, 3], [4, 2], [1, 2]], y = [3, 6, 1], and the rest of the epoch follows.
SIX_BATCH_ORDER = (5, 1, 0, 2, 3, 4)

# Notebook 03: the lecture's toy problem y = 2x, predicted at x = 4.
TOY_X = [1.0, 2.0, 3.0]
TOY_Y = [2.0, 4.0, 6.0]
TOY_X_TEST = 4.0

# Notebook 02: the true parameters of the synthetic data set.
TRUE_W = [2.0, -3.4]
TRUE_B = 4.2


def mse_example(requires_grad=True):
    """Return (X, Y) of the MSELoss worked example; X requires grad by default."""
    return torch.tensor(MSE_X, requires_grad=requires_grad), torch.tensor(MSE_Y)


def six_examples():
    """Return (features, labels) of the six-example data set, labels of shape (6, 1)."""
    return torch.tensor(SIX_FEATURES), torch.tensor(SIX_LABELS).reshape(-1, 1)


def six_example_batches(batch_size=3):
    """Yield the six examples in the course's fixed order, `batch_size` at a time."""
    features, labels = six_examples()
    order = torch.tensor(SIX_BATCH_ORDER)
    for i in range(0, len(order), batch_size):
        rows = order[i : i + batch_size]
        yield features[rows], labels[rows]


def lecture_toy():
    """Return (x, y) of the lecture's toy problem as (3, 1) tensors."""
    return torch.tensor(TOY_X).reshape(-1, 1), torch.tensor(TOY_Y).reshape(-1, 1)
