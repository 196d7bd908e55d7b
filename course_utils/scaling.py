"""Standardization with the training set's statistics, applied to every other set."""


def standardize_splits(X_train, *others):
    """(X - mean) / std per column, with the mean and std (1/n) of X_train for every set.

    Returns a tuple: the standardized X_train first, then each of `others` in order.
    """
    mean = X_train.mean(dim=0)
    std = X_train.std(dim=0, correction=0)
    return tuple((X - mean) / std for X in (X_train, *others))
