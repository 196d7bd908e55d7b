from fractions import Fraction

import numpy as np
import torch

from course_utils import check_close, check_fraction, check_shape, check_true


def test_check_close_passes_and_says_so(capsys):
    assert check_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]), "w")
    out = capsys.readouterr().out
    assert "\u2714 w" in out and "match" in out


def test_check_close_reports_shape_mismatch(capsys):
    assert not check_close(torch.zeros(3, 1), torch.zeros(3), "y_hat")
    assert "shape is (3, 1), expected (3,)" in capsys.readouterr().out


def test_check_close_reports_values_and_can_hide_the_answer(capsys):
    assert not check_close(torch.tensor([1.0]), torch.tensor([2.0]), "b")
    assert "expected [2.]" in capsys.readouterr().out
    assert not check_close(torch.tensor([1.0]), torch.tensor([2.0]), "b", reveal=False)
    out = capsys.readouterr().out
    assert "largest error 1" in out and "expected" not in out


def test_check_close_catches_none_nan_and_wrong_type(capsys):
    assert not check_close(None, 1.0, "answer")
    assert "return" in capsys.readouterr().out
    assert not check_close(torch.tensor([float("nan")]), torch.tensor([1.0]))
    assert "nan" in capsys.readouterr().out
    assert not check_close(np.array([1.0]), torch.tensor([1.0]))
    assert "torch.Tensor" in capsys.readouterr().out
    assert not check_close("abc", 1.0)


def test_check_shape(capsys):
    assert check_shape(torch.zeros(2, 3), (2, 3))
    assert not check_shape(np.zeros(4), (2, 2), "X")
    assert "expected (2, 2)" in capsys.readouterr().out


def test_check_fraction_is_exact(capsys):
    assert check_fraction(Fraction(17, 6), Fraction(17, 6), "loss")
    assert not check_fraction(17 / 6, Fraction(17, 6), "loss")
    assert "Fraction" in capsys.readouterr().out
    assert not check_fraction(Fraction(1, 2), Fraction(1, 3), "g")
    assert "off by 1/6" in capsys.readouterr().out


def test_check_true(capsys):
    assert check_true(True, "covers all")
    assert not check_true(False, "covers all", hint="some examples were skipped")
    assert "some examples were skipped" in capsys.readouterr().out


def test_check_close_reports_integer_dtype(capsys):
    assert not check_close(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]), "X")
    assert "dtype is torch.int64" in capsys.readouterr().out
