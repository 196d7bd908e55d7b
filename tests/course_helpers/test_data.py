import torch

from course_utils import TRUE_B, TRUE_W, data_iter, load_array, seed_everything, synthetic_data


def test_synthetic_data_shapes_and_statistics():
    seed_everything(0)
    X, y = synthetic_data(torch.tensor(TRUE_W), TRUE_B, 1000)
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    assert abs(X.mean()) < 0.1 and abs(X.std() - 1) < 0.1
    noise = y - (X @ torch.tensor(TRUE_W).reshape(-1, 1) + TRUE_B)
    assert abs(noise.std() - 0.01) < 0.002


def test_synthetic_data_equals_d2l_for_the_same_seed(d2l):
    torch.manual_seed(3)
    ours = synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 50)
    torch.manual_seed(3)
    theirs = d2l.synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 50)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def test_synthetic_data_accepts_a_list():
    X, y = synthetic_data([1.0, 2.0, 3.0], 0.5, 7)
    assert X.shape == (7, 3) and y.shape == (7, 1)


def test_data_iter_covers_every_example_once():
    features = torch.arange(23.0).reshape(-1, 1)
    labels = features * 2
    seed_everything(1)
    batches = list(data_iter(5, features, labels))
    assert [len(X) for X, _ in batches] == [5, 5, 5, 5, 3]
    seen = torch.cat([X for X, _ in batches]).flatten()
    assert sorted(seen.tolist()) == features.flatten().tolist()
    assert seen.tolist() != features.flatten().tolist(), "data_iter must shuffle"
    for X, y in batches:
        assert torch.equal(y, X * 2)


def test_data_iter_is_reproducible_after_seeding():
    features, labels = torch.arange(10.0), torch.arange(10.0)
    seed_everything(7)
    first = [X.tolist() for X, _ in data_iter(3, features, labels)]
    seed_everything(7)
    assert first == [X.tolist() for X, _ in data_iter(3, features, labels)]


def test_load_array_batches_match_d2l(d2l):
    features = torch.arange(20.0).reshape(10, 2)
    labels = torch.arange(10.0).reshape(10, 1)
    ours = [b for b in load_array((features, labels), 4, is_train=False)]
    theirs = [b for b in d2l.load_array((features, labels), 4, is_train=False)]
    assert len(ours) == len(theirs) == 3
    for (X1, y1), (X2, y2) in zip(ours, theirs):
        assert torch.equal(X1, X2) and torch.equal(y1, y2)


def test_load_array_shuffles_when_training():
    features = torch.arange(100.0).reshape(-1, 1)
    torch.manual_seed(0)
    X, _ = next(iter(load_array((features, features), 100)))
    assert sorted(X.flatten().tolist()) == features.flatten().tolist()
    assert X.flatten().tolist() != features.flatten().tolist()
