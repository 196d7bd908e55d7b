"""Devices and reproducibility: `try_gpu` and one-call seeding."""

import random

import numpy as np
import torch


def try_gpu(i=0):
    """Return gpu(i) if it exists, otherwise the CPU (d2l)."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def seed_everything(seed=0):
    """Seed Python's `random`, NumPy and torch (CPU and CUDA) so that runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed
