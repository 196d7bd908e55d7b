"""Student self-checks: compare a value with the expected one and say what (mis)matched.

They print and return True/False; they never raise, so a notebook keeps running. Graded tests
do not use them: a student can redefine anything in their own notebook.
"""

from fractions import Fraction

import numpy as np
import torch

PASS, FAIL = "\u2714", "\u2718"


def _as_array(value):
    """A float64 NumPy view of a tensor, array, number or nested list, or None if impossible."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    if isinstance(value, Fraction):
        return np.array(float(value))
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _dtype_kind(value):
    """'float', 'int' or 'bool' for tensors; None when the value carries no torch dtype."""
    if not isinstance(value, torch.Tensor):
        return None
    if value.dtype.is_floating_point or value.dtype.is_complex:
        return "float"
    return "bool" if value.dtype == torch.bool else "int"


def _report(ok, name, message):
    print(f"{PASS if ok else FAIL} {name}: {message}")
    return ok


def check_shape(actual, expected_shape, name="value"):
    """Check that `actual` has `expected_shape`."""
    shape = tuple(getattr(actual, "shape", np.shape(actual)))
    expected_shape = tuple(expected_shape)
    if shape == expected_shape:
        return _report(True, name, f"shape {shape} is right")
    return _report(False, name, f"shape is {shape}, expected {expected_shape}")


def check_close(actual, expected, name="value", rtol=1e-5, atol=1e-6, reveal=True):
    """Check type, shape and values of `actual` against `expected` within tolerances.

    With `reveal=False` the message says how far off the value is, never what it should be.
    """
    if actual is None:
        return _report(False, name, "is None: did the function forget to `return`?")
    if isinstance(actual, type(NotImplemented)) or actual is Ellipsis:
        return _report(False, name, "is a placeholder; replace it with your answer")
    a, e = _as_array(actual), _as_array(expected)
    if a is None:
        return _report(False, name, f"is a {type(actual).__name__}, expected numbers")
    if isinstance(expected, torch.Tensor) and not isinstance(actual, torch.Tensor):
        return _report(False, name, f"is a {type(actual).__name__}, expected a torch.Tensor")
    if a.shape != e.shape:
        return _report(False, name, f"shape is {a.shape}, expected {e.shape}")
    if _dtype_kind(actual) != _dtype_kind(expected) and _dtype_kind(expected) is not None:
        return _report(False, name, f"dtype is {actual.dtype}, expected {expected.dtype} "
                                    "(integers and floats do not mix in autograd)")
    if not np.all(np.isfinite(a)):
        return _report(False, name, "contains nan or inf (a learning rate too large?)")
    if np.allclose(a, e, rtol=rtol, atol=atol):
        dtype = f" ({actual.dtype})" if isinstance(actual, torch.Tensor) else ""
        return _report(True, name, f"values match{dtype}")
    err = float(np.max(np.abs(a - e)))
    hint = f"; expected {np.array2string(e, precision=4)}" if reveal else ""
    return _report(False, name, f"values differ (largest error {err:.4g}){hint}")


def check_fraction(actual, expected, name="value"):
    """Check an exact rational answer: a Fraction (or int) equal to `expected`."""
    expected = Fraction(expected)
    if not isinstance(actual, (Fraction, int)) or isinstance(actual, bool):
        return _report(False, name, f"is a {type(actual).__name__}; use fractions.Fraction")
    if Fraction(actual) == expected:
        return _report(True, name, f"= {expected} exactly")
    return _report(False, name, f"is {actual}, which is off by {Fraction(actual) - expected}")


def check_true(condition, name, hint=""):
    """Report a yes/no property, with a hint on what to look at when it fails."""
    return _report(bool(condition), name, "ok" if condition else (hint or "not satisfied"))
