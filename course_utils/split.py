"""A seeded random split of a data set into training, validation and test sets."""

import torch


def train_val_test_split(X, y, fractions=(0.6, 0.2, 0.2), seed=0):
    """Shuffle the rows of (X, y) with `seed` and cut them into train, validation and test.

    The training set gets int(fractions[0] * n) rows, the validation set int(fractions[1] * n)
    and the test set the rest. Returns ((X_train, y_train), (X_val, y_val), (X_test, y_test)).
    """
    n = len(X)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    parts = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    return tuple((X[rows], y[rows]) for rows in parts)
