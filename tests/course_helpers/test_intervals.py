import torch

from course_utils import coverage


def test_ends_included_and_shapes_mixed():
    y = torch.tensor([1.0, 2.0, 3.0, 4.0])
    lower = torch.tensor([[1.0], [2.5], [0.0], [5.0]])
    upper = torch.tensor([1.0, 3.0, 3.0, 6.0])
    value = coverage(y, lower, upper)
    assert isinstance(value, float) and value == 0.5


def test_matches_counting():
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(1000, generator=gen)
    assert abs(coverage(y, torch.full_like(y, -1.645), torch.full_like(y, 1.645)) - 0.9) < 0.03
