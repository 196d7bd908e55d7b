import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import train_val_test_split


def data(n, d=3):
    X = torch.arange(n * d, dtype=torch.float64).reshape(n, d)
    return X, X[:, 0] * 10 + 1  # every row and label unique, the label a function of the row


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 300), first=st.floats(0.1, 0.8), second=st.floats(0.0, 0.19),
       seed=st.integers(0, 2**31 - 1))
def test_every_row_lands_once_with_its_label(n, first, second, seed):
    X, y = data(n)
    parts = train_val_test_split(X, y, (first, second, 1 - first - second), seed)
    sizes = [len(Xp) for Xp, _ in parts]
    assert sizes[:2] == [int(first * n), int(second * n)] and sum(sizes) == n
    rows = torch.cat([Xp[:, 0] for Xp, _ in parts]) / 3
    assert torch.equal(rows.sort().values, torch.arange(n, dtype=torch.float64))
    for Xp, yp in parts:
        assert torch.equal(yp, Xp[:, 0] * 10 + 1)


def test_seeded_and_shuffled():
    X, y = data(442, 10)
    first = train_val_test_split(X, y)
    again = train_val_test_split(X, y, seed=0)
    other = train_val_test_split(X, y, seed=1)
    assert [len(p[0]) for p in first] == [265, 88, 89]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again))
    assert not torch.equal(first[0][0], other[0][0])
    assert not torch.equal(first[0][0], X[:265])


def test_leaves_the_global_generator_alone():
    X, y = data(50)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    train_val_test_split(X, y, seed=9)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_numpy_arrays_split_too(kind):
    X, y = data(20)
    if kind == "numpy":
        X, y = X.numpy(), y.numpy()
    (X_train, y_train), _, _ = train_val_test_split(X, y)
    assert len(X_train) == 12 and type(X_train) is type(X)
