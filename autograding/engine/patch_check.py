"""Name what a notebook's code replaced of what tests compare with (torch.allclose, builtins, ...).

Tests run in the student's kernel, so code in the notebook can replace `torch.allclose`, a
builtin or `Fraction.__eq__` and make wrong answers pass. A course's tests can use references
taken before any student code ran (this course's: course_utils/reference.py); this module
tells the instructor which notebooks replaced something anyway.

Kernel side: before the first cell the executor has `capture` import the course's reference
modules and record what the WATCHED modules and classes and those modules hold; after each
test cell and after the last cell, `report` lists what differs from that record. Both are
user_expressions of an execute request, evaluated between cells (IPython swaps some builtins
only while a cell runs). Grader side: the expressions (`capture_expression`,
`check_expression`), the names a test cell takes from a reference module (`reference_bindings`)
and the reading of the answers (`read_answer`, `read_report`). Stdlib only: the kernel imports
this module, which looks for torch and numpy in sys.modules (with torch there, capture imports
torch._dynamo, as a notebook's first optimizer would: its import rebinds torch functions).

Code written against this check (which runs in the same kernel) can still hide from it.
"""

from __future__ import annotations

import ast
import importlib
import sys

MODULE = "autograding.engine.patch_check"
# Namespaces whose functions tests use to compare or to compute what they expect. Only those
# imported by capture time are watched (the fork-server pre-imports numpy and torch).
WATCHED_MODULES = ("builtins", "math", "operator", "random", "time", "fractions", "numbers",
                   "numpy", "numpy.testing", "torch", "torch.nn", "torch.nn.functional",
                   "torch.linalg", "torch.testing")
# Classes whose methods decide comparisons; a name added to them shadows an inherited one.
WATCHED_CLASSES = (("torch", "Tensor"), ("fractions", "Fraction"), ("abc", "ABCMeta"))
# Rebound by the kernel itself: ipykernel's display hook sets builtins._ to the last result.
KERNEL_OWNED = {"builtins": frozenset({"_"})}
MAX_NAMES = 20
# IPython's lists of code transformers, (owner, list): whatever is in them rewrites every
# later cell, tests included (one that turns `assert` into `pass` passes every test, and the
# test still reaches its last line). Put back before each test cell, and named.
SHELL_LISTS = (("shell", "ast_transformers"), ("shell", "input_transformers_post"),
               ("manager", "cleanup_transforms"), ("manager", "line_transforms"),
               ("manager", "token_transformers"))

# label -> (module or class, {name: object}); of a module only its functions, classes and
# modules (its data, flags and constants, may change legitimately), of a class everything.
_record: dict[str, tuple[object, dict]] = {}
_modules: dict[str, object] = {}  # module name -> the module sys.modules held at capture
_vars = vars  # taken at import, before any student code: the check does not call a new one
# The same for the builtins the shell checks call between cells (a notebook may delete them).
_callable, _getattr, _setattr, _delattr, _len, _dict = (
    callable, getattr, setattr, delattr, len, dict)
# Packages whose classes make up the shell and its transformer manager: a method of theirs
# replaced (`transform_cell`, `run_cell`, ... on the object or its class) can rewrite a test
# before it runs as a transformer can. Put back before each test cell, and named.
SHELL_PACKAGES = ("IPython", "ipykernel", "autograding")
# The kernel's shell and its transformer manager at capture, and each list with its contents.
_shell: dict[str, object] = {}
_lists: dict[tuple[str, str], tuple[list, list]] = {}
# (label, object or class, its callables at capture): the shell's and manager's own methods.
_methods: list[tuple[str, object, dict]] = []
_restored: list[str] = []  # the lists restore_transformers() had to put back


def capture(reference_modules=()) -> str:
    """Import `reference_modules`, then record what they and the watched namespaces hold;
    return '' or, one per line, the modules that could not be imported."""
    problems = []
    for name in reference_modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the tests that use it fail; the grader says why
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    if "torch" in sys.modules and "torch._dynamo" not in sys.modules:
        # Its import (at a notebook's first optimizer) rebinds torch.manual_seed and others;
        # the fork-server pre-imports it, so this costs nothing there.
        try:
            importlib.import_module("torch._dynamo")
        except Exception as exc:
            problems.append(f"torch._dynamo: {type(exc).__name__}: {exc}")
    _record.clear()
    _modules.clear()
    for name in (*WATCHED_MODULES, *reference_modules):
        module = sys.modules.get(name)
        if module is not None:
            _modules[name] = module
            _record[name] = (module, {key: value for key, value in vars(module).items()
                                      if key not in KERNEL_OWNED.get(name, ())
                                      and _is_code(value)})
    for module_name, class_name in WATCHED_CLASSES:
        cls = getattr(_modules.get(module_name) or sys.modules.get(module_name), class_name, None)
        if isinstance(cls, type):
            _record[f"{module_name}.{class_name}"] = (cls, dict(vars(cls)))
    _capture_shell()
    return "\n".join(problems)


def _capture_shell() -> None:
    """Record the running IPython shell's transformer lists and the methods of the shell and
    its transformer manager (nothing outside IPython)."""
    _shell.clear()
    _lists.clear()
    _restored.clear()
    _methods.clear()
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    _shell.update(shell=shell, manager=getattr(shell, "input_transformer_manager", None))
    for owner, name in SHELL_LISTS:
        found = getattr(_shell[owner], name, None)
        if isinstance(found, list):
            _lists[owner, name] = (found, list(found))
    for owner in ("shell", "manager"):
        target = _shell[owner]
        if target is None:
            continue
        _methods.append((f"IPython's {owner}", target, _callables(target)))
        for cls in type(target).__mro__:
            if str(getattr(cls, "__module__", "")).split(".")[0] in SHELL_PACKAGES:
                _methods.append((f"{cls.__module__}.{cls.__name__}", cls, _callables(cls)))


def _callables(space) -> dict:
    """The callables an object or class holds itself ({} when it has no __dict__)."""
    try:
        return {k: v for k, v in _vars(space).items() if _callable(v)}
    except TypeError:
        return {}


def _changed_methods() -> list[str]:
    """The shell's and manager's methods replaced, added or deleted since capture."""
    changed = []
    for label, space, original in _methods:
        now = _callables(space)
        changed += [f"{label}.{name}" for name, value in original.items()
                    if now.get(name) is not value]
        changed += [f"{label}.{name}" for name in now if name not in original]
    return changed


def _restore_methods() -> None:
    """Put the shell's and manager's methods back as recorded."""
    for _, space, original in _methods:
        for name, value in _callables(space).items():
            if original.get(name) is not value:
                try:
                    if name in original:
                        _setattr(space, name, original[name])
                    else:
                        _delattr(space, name)
                except (AttributeError, TypeError):
                    pass
        for name, value in original.items():
            if name not in _vars(space):
                try:
                    _setattr(space, name, value)
                except (AttributeError, TypeError):
                    pass


def _changed_lists() -> list[str]:
    """The transformer lists that differ from the record (replaced, or other contents)."""
    changed = []
    if _shell and _getattr(_shell["shell"], "input_transformer_manager", None) is not \
            _shell["manager"]:
        changed.append("IPython's input_transformer_manager")
    for (owner, name), (original, contents) in _lists.items():
        now = _getattr(_shell[owner], name, None)
        if now is not original or not _same_items(now, contents):
            changed.append(f"IPython's {name}")
    return changed + _changed_methods()


def _same_items(now: list, contents: list) -> bool:
    """The same objects in the same order (builtins the notebook could replace not used)."""
    if _len(now) != _len(contents):
        return False
    index = 0
    for item in now:
        if item is not contents[index]:
            return False
        index += 1
    return True


def restore_transformers() -> str:
    """Put the recorded transformer lists, manager and methods back, noting what had changed;
    run just before each test cell, so the test runs as written. Returns ''."""
    for name in _changed_lists():
        if name not in _restored:
            _restored.append(name)
    if _shell:
        _shell["shell"].input_transformer_manager = _shell["manager"]
    for (owner, name), (original, contents) in _lists.items():
        original[:] = contents
        _setattr(_shell[owner], name, original)
    _restore_methods()
    return ""


def replaced(bindings=(), namespace=None) -> list[str]:
    """What differs from the record: functions, classes and modules replaced or deleted in a
    watched module, any name of a watched class replaced, deleted or added, a module replaced
    in sys.modules, an active torch function or dispatch mode, and each name a test bound to a
    reference (bindings: (name in `namespace`, module, attribute)) that now holds another."""
    if not _modules:
        return ["(the grader's record of the originals is gone)"]
    found = [f"sys.modules[{name!r}]" for name, module in _modules.items()
             if sys.modules.get(name) is not module]
    for label, (space, original) in _record.items():
        now = _vars(space)
        for key, value in original.items():
            if key not in now:
                found.append(f"{label}.{key} (deleted)")
            elif now[key] is not value:
                found.append(f"{label}.{key}")
        if label not in _modules:  # a class
            found += [f"{label}.{key} (added)" for key in now if key not in original]
    found += _torch_modes()
    found += [f"{name} (changed; restored before each test)"
              for name in _dict.fromkeys([*_restored, *_changed_lists()])]
    for name, module, attribute in bindings:
        if module in _record and namespace is not None:
            reference = _record[module][1].get(attribute)
            if namespace.get(name, reference) is not reference:
                found.append(f"{name} (the test's {module}.{attribute})")
    return found


def report(token: str, bindings=(), namespace=None) -> str:
    """The answer the grader reads: `token`, then replaced() one per line (at most
    MAX_NAMES and a count of the rest)."""
    names = replaced(bindings, namespace)
    if len(names) > MAX_NAMES:
        names = [*names[:MAX_NAMES], f"... and {len(names) - MAX_NAMES} more"]
    return "\n".join([token, *names])


def _is_code(value) -> bool:
    """Functions, classes and modules: what a test calls or looks names up in."""
    return callable(value) or type(value).__name__ == "module"


def _torch_modes() -> list[str]:
    """torch function modes (but torch.device's own) and dispatch modes still active."""
    torch = _modules.get("torch")
    if torch is None:
        return []
    found = []
    try:
        from torch.overrides import _get_current_function_mode_stack

        for mode in _get_current_function_mode_stack():
            if type(mode).__name__ != "DeviceContext":  # torch.set_default_device's
                found.append(f"an active torch function mode ({type(mode).__name__})")
        if torch._C._len_torch_dispatch_stack():
            found.append("an active torch dispatch mode")
    except (ImportError, AttributeError):  # another torch: its modes are not checked
        pass
    return found


# -- grader side -----------------------------------------------------------------------------

def capture_expression(reference_modules) -> str:
    """The user expression that runs capture in the kernel."""
    return (f"__import__({MODULE!r}, fromlist=['capture'])"
            f".capture({tuple(reference_modules)!r})")


def restore_expression() -> str:
    """The user expression that runs restore_transformers in the kernel."""
    return f"__import__({MODULE!r}, fromlist=['restore_transformers']).restore_transformers()"


def check_expression(token: str, bindings=()) -> str:
    """The user expression whose value is report(token, bindings, the notebook's globals)."""
    return (f"__import__({MODULE!r}, fromlist=['report'])"
            f".report({token!r}, {tuple(bindings)!r}, globals())")


def reference_bindings(source: str, reference_modules) -> tuple[tuple[str, str, str], ...]:
    """(name, module, attribute) for each `from MODULE import attribute as name` of a
    reference module at the top level of a test cell's source."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return ()
    return tuple((alias.asname or alias.name, node.module, alias.name) for node in body
                 if isinstance(node, ast.ImportFrom) and node.module in reference_modules
                 for alias in node.names if alias.name != "*")


def read_answer(expressions, key: str) -> tuple[bool, str]:
    """(evaluated, its text) of one user expression in a reply; (False, why) otherwise. The
    kernel shapes the reply, so every level is checked."""
    value = expressions.get(key) if isinstance(expressions, dict) else None
    if not isinstance(value, dict):
        return False, "no answer"
    if value.get("status") != "ok":
        return False, f"{value.get('ename', 'error')}: {str(value.get('evalue', ''))[:200]}"
    text = value.get("data", {}).get("text/plain") if isinstance(value.get("data"), dict) \
        else None
    if not isinstance(text, str) or len(text) > 20_000:
        return False, "an answer that is not text"
    try:
        answer = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False, "an answer that is not a string"
    return (True, answer) if isinstance(answer, str) else (False, "an answer that is not a string")


def read_report(expressions, key: str, token: str) -> list[str] | None:
    """The names a check_expression answer lists, or None when it is not a report for
    `token` (an error, or code in the notebook changed how the kernel answers)."""
    ok, text = read_answer(expressions, key)
    lines = text.split("\n") if ok else []
    if not lines or lines[0] != token:
        return None
    return [line[:200] for line in lines[1:MAX_NAMES + 2]]
