"""Data for linear regression: synthetic data, mini-batch iterators, a DataLoader."""

import random

import torch
from torch.utils import data


def synthetic_data(w, b, num_examples, *, noise_std=0.01):
    """Generate y = Xw + b + noise, with X ~ N(0, 1) and noise ~ N(0, noise_std^2) (d2l)."""
    w = torch.as_tensor(w, dtype=torch.float32).reshape(-1)
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, noise_std, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size, features, labels):
    """Yield shuffled mini-batches that cover every example once; the last may be short."""
    num_examples = len(features)
    indices = list(range(num_examples))
    # Python's `random`, as in d2l; `seed_everything` seeds it together with torch.
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i : min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator (d2l): shuffled when `is_train`."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)
