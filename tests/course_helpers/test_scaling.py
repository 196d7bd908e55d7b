import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import standardize_splits


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 200), d=st.integers(1, 8))
def test_training_statistics_for_every_set(seed, n, d):
    gen = torch.Generator().manual_seed(seed)
    scale = torch.logspace(-2, 3, d, dtype=torch.float64)
    A = 7 + scale * torch.randn(n, d, generator=gen, dtype=torch.float64)
    B = 3 * scale * torch.randn(n + 1, d, generator=gen, dtype=torch.float64)
    copies = A.clone(), B.clone()
    ZA, ZB = standardize_splits(A, B)
    assert torch.equal(A, copies[0]) and torch.equal(B, copies[1])
    assert torch.allclose(ZA.mean(0), torch.zeros(d, dtype=torch.float64), atol=1e-9)
    assert torch.allclose(ZA.std(0, correction=0), torch.ones(d, dtype=torch.float64))
    assert torch.allclose(ZB, (B - A.mean(0)) / A.std(0, correction=0))


def test_matches_scikit_learns_standard_scaler():
    from sklearn.preprocessing import StandardScaler

    gen = torch.Generator().manual_seed(1)
    A, B = torch.randn(40, 4, generator=gen, dtype=torch.float64) * 5 + 2, torch.randn(
        10, 4, generator=gen, dtype=torch.float64)
    scaler = StandardScaler().fit(A.numpy())
    ZA, ZB = standardize_splits(A, B)
    assert torch.allclose(ZA, torch.from_numpy(scaler.transform(A.numpy())))
    assert torch.allclose(ZB, torch.from_numpy(scaler.transform(B.numpy())))
    assert len(standardize_splits(A)) == 1
