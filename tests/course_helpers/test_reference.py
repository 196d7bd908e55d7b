"""course_utils.reference: what the tests compare with does not change when code patches it.

Also the rule the masters keep: every test cell takes its builtins and modules from it.
"""

import ast
import builtins
import fractions
import math
import random
import time
from fractions import Fraction

import nbformat
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograding.course import release
from course_utils import reference as ref

ALWAYS_TRUE = staticmethod(lambda *args, **kwargs: True)


def test_patches_after_import_change_nothing(monkeypatch):
    a, b = torch.zeros(3), torch.ones(3)
    with monkeypatch.context() as patch:
        patch.setattr(torch, "allclose", lambda *args, **kwargs: True)
        patch.setattr(torch, "equal", lambda *args, **kwargs: True)
        patch.setattr(fractions.Fraction, "__eq__", lambda self, other: True)
        patch.setattr(torch.Tensor, "__eq__", lambda self, other: True, raising=False)
        patch.setattr(builtins, "isinstance", lambda value, kinds: True)
        patch.setattr(builtins, "abs", lambda value: 0)
        patch.setattr(builtins, "all", lambda values: True)
        patch.setattr(builtins, "len", lambda value: 3)
        patch.setattr(math, "isfinite", lambda value: True)
        patch.setattr(time, "perf_counter", lambda: 0.0)
        patch.setattr(random, "Random", object)
        answers = (ref._torch.allclose(a, b), ref._torch.equal(a, b),
                   ref._exact_equal(Fraction(1, 2), Fraction(1, 3)),
                   ref._isinstance(3, Fraction), ref._abs(-2), ref._all([False]),
                   ref._len([1]), ref._math.isfinite(math.inf), ref._time.perf_counter() > 0,
                   ref._random.Random is random.Random)
    assert answers == (False, False, False, False, 2, False, 1, False, True, False)
    assert ref._random.Random is random.Random  # the originals, once the patches are undone


def test_a_replaced_module_in_sys_modules_changes_nothing(monkeypatch):
    fake = type(torch)("torch")
    fake.allclose = lambda *args, **kwargs: True
    monkeypatch.setitem(__import__("sys").modules, "torch", fake)
    assert ref._torch.allclose(torch.zeros(1), torch.ones(1)) is False


class _Liar(torch.Tensor):
    """A tensor subclass whose torch functions all say "equal"."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def test_comparisons_read_the_tensors_own_data():
    liar = torch.zeros(2).as_subclass(_Liar)
    assert torch.allclose(liar, torch.ones(2))  # the subclass fools the plain function
    assert not ref._torch.allclose(liar, torch.ones(2))
    assert not ref._torch.equal(liar, torch.ones(2))
    assert ref._torch.allclose(liar, torch.zeros(2))


def test_comparisons_ignore_torch_function_and_dispatch_modes():
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    class SayEqual(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is torch.allclose:
                return True
            return func(*args, **(kwargs or {}))

    class SayEqualBelow(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if "allclose" in str(func):
                return True
            return func(*args, **(kwargs or {}))

    for mode in (SayEqual(), SayEqualBelow()):
        with mode:
            assert torch.allclose(torch.zeros(2), torch.ones(2))
            assert not ref._torch.allclose(torch.zeros(2), torch.ones(2))


def test_allclose_keeps_torchs_tolerances_and_errors():
    assert ref._torch.allclose(torch.tensor([1.0]), torch.tensor([1.0 + 1e-9]))
    assert ref._torch.allclose(torch.tensor([1.0]), torch.tensor([1.1]), atol=0.2)
    assert not ref._torch.allclose(torch.tensor([1.0]), torch.tensor([1.1]), rtol=0, atol=0.05)
    assert ref._torch.allclose(torch.tensor([math.nan]), torch.tensor([math.nan]),
                               equal_nan=True)
    with pytest.raises(RuntimeError):  # mismatched dtypes raise, as with torch.allclose
        ref._torch.allclose(torch.zeros(2, dtype=torch.float64), torch.zeros(2))


@pytest.mark.parametrize(("value", "kinds"), [
    (3, int), (True, int), (True, bool), (3, bool), (3, (Fraction, int)), (Fraction(1, 2), int),
    (Fraction(1, 2), (Fraction, int)), (2.5, (float, int)), (np.float64(2.0), float),
    (np.int64(2), int), (torch.zeros(1), torch.Tensor), (torch.nn.Parameter(torch.zeros(1)),
                                                         torch.Tensor),
    (torch.nn.Linear(1, 1), torch.nn.Module), ((1, 2), tuple), ([1], tuple), (None, object),
])
def test_isinstance_agrees_with_the_builtin(value, kinds):
    assert ref._isinstance(value, kinds) == isinstance(value, kinds)


def test_isinstance_asks_the_real_class():
    class Pretender:
        __class__ = Fraction  # what isinstance also believes

    assert isinstance(Pretender(), Fraction)
    assert not ref._isinstance(Pretender(), Fraction)
    with pytest.raises(TypeError):
        ref._isinstance(1, "int")


@pytest.mark.parametrize(("a", "b", "equal"), [
    (Fraction(17, 6), Fraction(17, 6), True), (Fraction(4, 2), 2, True), (17, Fraction(17), True),
    (Fraction(1, 2), 0.5, True), (Fraction(1, 3), 0.3333333333333333, False),
    ([[Fraction(1, 3), -1], [2, 0]], [[Fraction(2, 6), Fraction(-1)], [2, 0]], True),
    ((Fraction(1), 2), [1, 2], True), ([1, 2], [1, 2, 3], False), ([[1]], [1], False),
    (Fraction(1, 2), "1/2", False), ("x", "x", False), (None, None, False),
    (math.inf, math.inf, False), (True, 1, True),
])
def test_exact_equal(a, b, equal):
    assert ref._exact_equal(a, b) is equal


def test_exact_equal_runs_no_method_of_the_values():
    class Flatterer(Fraction):
        def __eq__(self, other):
            return True

    class Longer(list):
        def __iter__(self):
            return iter([Fraction(1, 3)])

    assert Flatterer(1, 2) == Fraction(1, 3)
    assert not ref._exact_equal(Flatterer(1, 2), Fraction(1, 3))
    assert not ref._exact_equal(Longer([Fraction(1, 2)]), [Fraction(1, 3)])


exact = st.recursive(
    st.fractions(max_denominator=50) | st.integers(-10**6, 10**6),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner), max_leaves=12)


@given(exact, exact)
def test_exact_equal_agrees_with_equality_on_exact_values(a, b):
    def normal(value):  # == between a list and a tuple is False; the tests compare either
        return [normal(v) for v in value] if isinstance(value, list | tuple) else value

    assert ref._exact_equal(a, b) == (normal(a) == normal(b))
    assert ref._exact_equal(a, a)


def test_copies_hold_the_modules_names():
    # (Not every name: importing torch._dynamo rebinds torch.manual_seed, for one.)
    for copy, module, names in (
            (ref._torch, torch, ["Tensor", "tensor", "randn", "float64", "nn", "no_grad"]),
            (ref._math, math, ["isfinite", "log", "pi"]), (ref._random, random, ["Random", "seed"]),
            (ref._time, time, ["perf_counter"])):
        assert copy is not module and copy.__name__ == module.__name__
        assert [name for name in names if getattr(copy, name) is not getattr(module, name)] == []
    assert ref._torch.utils.data is torch.utils.data
    assert ref._torch.allclose is not torch.allclose and ref._torch.equal is not torch.equal
    assert set(ref.__all__) <= set(vars(ref))


def _test_cells():
    """(assignment, grade id, source) of every test cell of the masters."""
    for aid in release.ASSIGNMENT_IDS:
        nb = nbformat.read(release.master_path(aid), as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                yield aid, meta["grade_id"], cell.source


REPLACED_MODULES = {"torch", "math", "random", "time", "fractions"}


@pytest.mark.parametrize(("aid", "grade_id", "source"), list(_test_cells()),
                         ids=lambda value: value if isinstance(value, str) and "\n" not in value
                         else "")
def test_master_tests_take_builtins_and_modules_from_the_references(aid, grade_id, source):
    tree = ast.parse(source)
    assigned = {node.id for node in ast.walk(tree)
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    assigned |= {arg.arg for node in ast.walk(tree) if isinstance(node, ast.arguments)
                 for arg in node.posonlyargs + node.args + node.kwonlyargs}
    called = sorted({node.id for node in ast.walk(tree)
                     if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                     and hasattr(builtins, node.id) and node.id not in assigned
                     and not (isinstance(getattr(builtins, node.id), type)
                              and issubclass(getattr(builtins, node.id), BaseException))})
    assert not called, f"{aid} {grade_id}: use course_utils.reference's _{called[0]}"
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree)  # `from torch import nn` is fine
                 if isinstance(node, ast.ImportFrom)
                 and node.module in REPLACED_MODULES - {"torch"}}
    assert not imported & REPLACED_MODULES, (
        f"{aid} {grade_id}: import {sorted(imported & REPLACED_MODULES)} from "
        "course_utils.reference (_torch, _math, _random, _time, _Fraction)")
    defined = assigned | {node.name for node in ast.walk(tree)
                          if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    assert not defined & set(ref.__all__), (
        f"{aid} {grade_id}: {sorted(defined & set(ref.__all__))} would hide a reference")
    compared = [node for node in ast.walk(tree) if isinstance(node, ast.Compare)
                and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)
                and "_F" in ast.unparse(node)]
    assert not compared, f"{aid} {grade_id}: compare Fractions with _exact_equal"
