"""patch_check: what a notebook replaced, named without false alarms; its answers read safely.

The kernel side runs here in-process (as the grading kernel runs it); the executor's use of it
is tested with real kernels in tests/grading/test_patched_tests.py.
"""

import builtins
import fractions
import math

import numpy
import pytest
import torch

from autograding.engine import patch_check
from autograding.engine.patch_check import (
    capture,
    check_expression,
    read_answer,
    read_report,
    reference_bindings,
    replaced,
    report,
)

REFERENCE = "course_utils.reference"


class _Manager:
    """Stands for IPython's TransformerManager: its lists and the method that applies them."""

    def __init__(self):
        self.cleanup_transforms, self.line_transforms, self.token_transformers = [], [], []

    def transform_cell(self, cell):
        return cell


class _Shell:
    """Stands for the kernel's shell, so the shell checks run in every test here."""

    def __init__(self):
        self.ast_transformers, self.input_transformers_post = [], []
        self.input_transformer_manager = _Manager()


@pytest.fixture
def captured():
    assert capture((REFERENCE,)) == ""
    yield
    patch_check._record.clear()
    patch_check._modules.clear()


@pytest.fixture
def with_shell(monkeypatch):
    """The record taken in a (stand-in) IPython shell: the shell checks run too."""
    import IPython

    shell = _Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert capture((REFERENCE,)) == ""
    yield shell
    for record in (patch_check._record, patch_check._modules, patch_check._shell,
                   patch_check._lists, patch_check._methods):
        record.clear()


def test_what_libraries_do_in_a_notebook_is_not_a_replacement(captured):
    import matplotlib.pyplot as plt
    import seaborn  # noqa: F401
    import tqdm.auto  # noqa: F401

    import course_utils

    net = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    net(torch.ones(3, 2)).sum().backward()
    optimizer.step()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(4, 2)),
                                         batch_size=2, shuffle=True)
    assert len(list(loader)) == 2
    course_utils.set_theme()
    plt.figure()
    plt.plot([1, 2])
    plt.close("all")
    torch.set_default_device("cpu")  # a torch function mode of torch's own
    assert replaced() == []


def test_every_kind_of_replacement_is_named(with_shell, monkeypatch):
    from torch.overrides import TorchFunctionMode

    import course_utils.reference as ref

    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(numpy, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(math, "isclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(fractions.Fraction, "__eq__", lambda self, other: True)
    monkeypatch.setattr(torch.Tensor, "double", lambda self: self, raising=False)
    monkeypatch.setattr(ref, "_abs", lambda value: 0)
    monkeypatch.setitem(__import__("sys").modules, "math", type(math)("math"))
    with TorchFunctionMode(), monkeypatch.context() as patch:
        # Last, and undone at once: pytest itself needs these builtins.
        patch.delattr(builtins, "sorted")
        patch.setattr(builtins, "isinstance", lambda *args: True)
        found = replaced((("_torch", REFERENCE, "_torch"), ("_all", REFERENCE, "_all")),
                         {"_torch": torch, "_all": ref._all})
    assert set(found) == {
        "torch.allclose", "numpy.allclose", "math.isclose", "builtins.isinstance",
        "builtins.sorted (deleted)", "fractions.Fraction.__eq__", "torch.Tensor.double (added)",
        f"{REFERENCE}._abs", "sys.modules['math']",
        "an active torch function mode (TorchFunctionMode)",
        f"_torch (the test's {REFERENCE}._torch)"}


def test_the_shell_is_put_back_and_named_even_without_the_builtins(with_shell):
    manager = with_shell.input_transformer_manager
    manager.transform_cell = lambda cell: cell.replace("assert ", "assert True or ")
    with_shell.ast_transformers.append(object())
    saved = {name: getattr(builtins, name) for name in (
        "sorted", "set", "any", "zip", "enumerate", "callable", "getattr", "setattr",
        "delattr", "len", "dict", "list")}
    try:
        for name in saved:  # what a notebook may delete before a test runs
            del builtins.__dict__[name]
        patch_check.restore_transformers()
        found = replaced()
    finally:
        builtins.__dict__.update(saved)
    assert "transform_cell" not in vars(manager) and with_shell.ast_transformers == []
    assert "builtins.sorted (deleted)" in found
    assert [name for name in found if name.startswith("IPython")] == [
        f"IPython's {name} (changed; restored before each test)"
        for name in ("ast_transformers", "manager.transform_cell")]


def test_without_a_record_the_check_says_so():
    patch_check._modules.clear()
    assert replaced() == ["(the grader's record of the originals is gone)"]


def test_a_missing_reference_module_is_reported_and_the_rest_still_watched(monkeypatch):
    assert "no_such_course_module" in capture(("no_such_course_module",))
    monkeypatch.setattr(torch, "equal", lambda *args, **kwargs: True)
    assert replaced() == ["torch.equal"]


def test_bindings_are_the_top_level_imports_from_a_reference_module():
    source = (f"from {REFERENCE} import _abs, _torch as _t\nimport {REFERENCE}\n"
              f"from {REFERENCE} import *\nfrom os import path as _p\n"
              f"def _f():\n    from {REFERENCE} import _len\n")
    assert reference_bindings(source, (REFERENCE,)) == (("_abs", REFERENCE, "_abs"),
                                                   ("_t", REFERENCE, "_torch"))
    assert reference_bindings("%%time\nx = (", (REFERENCE,)) == ()


def _reply(text, status="ok"):
    return {"replaced": {"status": status, "data": {"text/plain": text}, "metadata": {}}}


def test_reports_are_read_only_for_their_token(captured, monkeypatch):
    monkeypatch.setattr(torch, "equal", lambda *args, **kwargs: True)
    answer = repr(report("tok", (), {}))
    assert read_report(_reply(answer), "replaced", "tok") == ["torch.equal"]
    assert read_report(_reply(answer), "replaced", "other") is None
    assert read_report(_reply(repr("tok")), "replaced", "tok") == []
    for bad in ({}, {"replaced": "x"}, _reply(answer, status="error"), _reply("['tok']"),
                _reply("__import__('os')"), _reply("'" + "x" * 30_000 + "'")):
        assert read_report(bad, "replaced", "tok") is None


def test_long_reports_are_cut(captured, monkeypatch):
    for name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp",
                 "log", "log2", "log10", "sqrt", "floor", "ceil", "trunc", "fabs", "gcd", "lcm",
                 "hypot", "erf"):
        monkeypatch.setattr(math, name, lambda *args: None)
    names = read_report(_reply(repr(report("tok"))), "replaced", "tok")
    assert len(names) == patch_check.MAX_NAMES + 1 and names[-1] == "... and 2 more"


def test_the_expressions_evaluate_in_a_namespace_like_a_notebooks(captured):
    namespace = {"__builtins__": builtins}
    exec(f"from {REFERENCE} import _abs", namespace)
    value = eval(check_expression("tok", (("_abs", REFERENCE, "_abs"),)), namespace)
    assert value == "tok"
    assert read_answer({"k": {"status": "ok", "data": {"text/plain": repr(value)}}}, "k") == (
        True, "tok")
