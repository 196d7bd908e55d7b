"""What the graded tests compare with, taken when this module is imported: before student code.

A notebook's code runs in the same Python process as its tests, so it can replace what they
compare with: `torch.allclose = lambda *a, **k: True`, `builtins.isinstance = ...` or
`fractions.Fraction.__eq__ = ...`, and wrong answers would then pass every later test. The
tests use these names instead, taken when this module is first imported: the course's grader
imports it before a notebook's first cell, and the setup cell on top of every notebook imports
it in Jupyter and Colab. A later change to torch, math, the builtins or Fraction does not
change them; the grader also names a notebook that made one for the instructor's review
(autograding/engine/patch_check.py).

- `_torch`, `_math`, `_random`, `_time`: copies of those modules' namespaces as imported.
  `_torch.allclose` and `_torch.equal` compare the tensors' own data: a tensor subclass's
  `__torch_function__` and any torch function or dispatch mode are left out.
- `_abs`, `_float`, `_len`, ...: the builtins. `_isinstance` asks the object's real class and
  its bases: no `__instancecheck__` and no `__class__` property can change its answer.
- `_Fraction` and `_exact_equal`, which compares exact numbers (and lists of them) by their
  numerators and denominators: no `__eq__` runs.

The names start with an underscore, as every name a test cell defines does, so that a test
never touches a student's own variables.
"""

import builtins
import fractions
import math
import random
import time
import types

import torch

__all__ = [
    "_Fraction", "_abs", "_all", "_any", "_bool", "_exact_equal", "_float", "_hasattr", "_int",
    "_isinstance", "_len", "_list", "_math", "_max", "_min", "_random", "_range", "_sorted",
    "_str", "_sum", "_time", "_torch", "_tuple", "_type", "_zip",
]

_abs, _all, _any, _bool = builtins.abs, builtins.all, builtins.any, builtins.bool
_hasattr, _len, _list, _max = builtins.hasattr, builtins.len, builtins.list, builtins.max
_min, _range, _sorted, _str = builtins.min, builtins.range, builtins.sorted, builtins.str
_sum, _tuple, _type, _zip = builtins.sum, builtins.tuple, builtins.type, builtins.zip
_float, _int, _map = builtins.float, builtins.int, builtins.map
_builtin_isinstance = builtins.isinstance
_Fraction = fractions.Fraction
# A class's bases and a Fraction's two numbers, read by these descriptors (taken now, and of
# built-in types no code can change): a replaced attribute of a class does not reach them.
_MRO = type.__dict__["__mro__"]
_NUMERATOR = fractions.Fraction.__dict__["_numerator"]
_DENOMINATOR = fractions.Fraction.__dict__["_denominator"]
_INT_VALUE, _FLOAT_RATIO, _LIST_ITER, _TUPLE_ITER = (
    int.__int__, float.as_integer_ratio, list.__iter__, tuple.__iter__)
_isfinite = math.isfinite
_NoTorchFunction = torch._C.DisableTorchFunction
# Older torch (Colab's may be) lacks it: dispatch modes stay on there.
_NoTorchDispatch = getattr(torch._C, "_DisableTorchDispatch", None)
_torch_allclose, _torch_equal = torch.allclose, torch.equal


def _copy(module):
    """A module holding what `module` holds now: later changes to those names do not show,
    names `module` gets later (a submodule imported since) come from it."""
    copy = types.ModuleType(module.__name__, module.__doc__)
    vars(copy).update(vars(module))
    copy.__getattr__ = lambda name: getattr(module, name)
    return copy


def _inherits(cls, base) -> bool:
    """Whether `base` is among the real bases of `cls`."""
    return _any(found is base for found in _MRO.__get__(cls))


def _isinstance(obj, classinfo) -> bool:
    """builtins.isinstance, decided by the object's real class and its bases."""
    classes = classinfo if _type(classinfo) is tuple else (classinfo,)
    if not _all(_inherits(_type(cls), type) for cls in classes):
        return _builtin_isinstance(obj, classinfo)  # nested tuples, unions: the builtin
    return _any(_inherits(_type(obj), cls) for cls in classes)


def _plain(function, *args, **kwargs):
    """`function(*args, **kwargs)` with torch's overrides off: no tensor subclass's
    __torch_function__ or __torch_dispatch__, no torch function or dispatch mode."""
    with _NoTorchFunction():
        if _NoTorchDispatch is None:
            return function(*args, **kwargs)
        with _NoTorchDispatch():
            return function(*args, **kwargs)


def _allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """torch.allclose on the tensors' own data."""
    return _plain(_torch_allclose, input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


def _equal(input, other) -> bool:
    """torch.equal on the tensors' own data."""
    return _plain(_torch_equal, input, other)


def _ratio(value):
    """(numerator, denominator) of an int, Fraction or finite float, read without running a
    method of `value`; None for anything else."""
    cls = _type(value)
    if _inherits(cls, _Fraction):
        top, bottom = _NUMERATOR.__get__(value), _DENOMINATOR.__get__(value)
        if _inherits(_type(top), int) and _inherits(_type(bottom), int):
            top, bottom = _INT_VALUE(top), _INT_VALUE(bottom)
            return (top, bottom) if bottom > 0 else None
        return None
    if _inherits(cls, int):
        return _INT_VALUE(value), 1
    if _inherits(cls, float) and _isfinite(value):
        return _FLOAT_RATIO(value)
    return None


def _items(value):
    """The items of a list or tuple as a new list (its own __iter__ does not run), else None."""
    cls = _type(value)
    if _inherits(cls, list):
        return _list(_LIST_ITER(value))
    if _inherits(cls, tuple):
        return _list(_TUPLE_ITER(value))
    return None


def _exact_equal(a, b) -> bool:
    """a == b for exact numbers (int, Fraction, float) and lists or tuples of them, compared
    by numerator and denominator; anything else is unequal."""
    ratio_a, ratio_b = _ratio(a), _ratio(b)
    if ratio_a is not None or ratio_b is not None:
        return (ratio_a is not None and ratio_b is not None
                and ratio_a[0] * ratio_b[1] == ratio_b[0] * ratio_a[1])
    items_a, items_b = _items(a), _items(b)
    if items_a is None or items_b is None:
        return False
    return _len(items_a) == _len(items_b) and _all(_map(_exact_equal, items_a, items_b))


_math, _random, _time = _copy(math), _copy(random), _copy(time)
_torch = _copy(torch)
_torch.allclose, _torch.equal = _allclose, _equal
