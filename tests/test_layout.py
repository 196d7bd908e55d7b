"""autograding/'s layout holds its rules: stages import one way, no cycles, small modules and
functions, every module named in ARCHITECTURE.md. Read from the source, nothing is imported."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autograding"
MAX_MODULE_LINES = 450
MAX_PARAMETERS = 8
# What each stage may import besides itself. Modules directly in autograding/ (cli, api,
# __main__) are the orchestrators: they may import every stage.
ALLOWED = {
    "engine": set(),
    "course": set(),
    "grading": {"engine", "course"},
    "reports": {"grading", "engine", "course"},
    "intake": {"course", "grading"},
    "demo": {"engine", "grading", "reports", "course", "intake", "similarity", "api"},
    "similarity": {"course", "grading"},
}
# Not a module of the grader: nbgrader reads the course's config file (ARCHITECTURE.md still
# lists it).
NOT_CODE = {"autograding.nbgrader_config"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "source" in path.relative_to(PACKAGE).parts[:1]:
            continue
        name = _module_name(path)
        if name not in NOT_CODE:
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """autograding modules `path` imports anywhere (top level or inside a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from autograding.engine import sandbox` imports the module engine.sandbox
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES
                     else node.module for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] == "autograding")
    return found


def _stage(module: str) -> str | None:
    """The stage folder of a module, or None for the orchestrators at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


GRAPH = {name: _imports(path) & set(MODULES) for name, path in MODULES.items()}


def test_the_layout_is_found():
    assert set(ALLOWED) <= {_stage(m) for m in MODULES}, "every stage folder has modules"
    assert "autograding.cli" in MODULES and _stage("autograding.cli") is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_stages_import_one_way(module):
    stage = _stage(module)
    if stage is None:
        return
    wrong = sorted(target for target in GRAPH[module]
                   if _stage(target) != stage and _stage(target) not in ALLOWED[stage]
                   and not (_stage(target) is None and target.split(".")[-1] in ALLOWED[stage]))
    assert not wrong, f"{module} ({stage}/) may import only {sorted(ALLOWED[stage])}: {wrong}"


def test_no_import_cycles():
    seen, on_path, cycles = set(), [], []

    def visit(module):
        if module in on_path:
            cycles.append(on_path[on_path.index(module):] + [module])
            return
        if module in seen:
            return
        seen.add(module)
        on_path.append(module)
        for target in sorted(GRAPH[module]):
            if target != module:
                visit(target)
        on_path.pop()

    for module in sorted(GRAPH):
        visit(module)
    # A package's __init__ re-exporting its own modules is not a cycle of responsibilities.
    real = [c for c in cycles if not any(m == c[0].rsplit(".", 1)[0] for m in c)]
    assert not real, "import cycles: " + "; ".join(" -> ".join(c) for c in real)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_are_small_and_say_their_job(module):
    text = MODULES[module].read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines; split it by responsibility"
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring and docstring.strip(), f"{module}: a docstring saying its job"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_functions_take_at_most_eight_parameters(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    too_many = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            names = [n for n in names if n not in ("self", "cls")]
            if len(names) > MAX_PARAMETERS:
                too_many.append(f"{node.name} ({len(names)})")
    assert not too_many, f"{module}: pass settings as one object instead: {too_many}"


def module_line(module: str) -> str:
    """The line ARCHITECTURE.md gives a module: its path and its docstring's first line."""
    path = MODULES[module]
    first = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))).splitlines()[0]
    return f"- `{path.relative_to(ROOT)}`: {first}"


def test_architecture_lists_every_module_with_its_docstring():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    stale = [module_line(m) for m in sorted(MODULES) if module_line(m) not in text]
    assert not stale, ("ARCHITECTURE.md's module list is out of date; these lines are "
                       "missing or differ:\n" + "\n".join(stale))
    listed = re.findall(r"^- `(autograding/[^`]+\.py)`", text, flags=re.MULTILINE)
    gone = [path for path in listed if not (ROOT / path).is_file()]
    assert not gone, f"ARCHITECTURE.md lists modules that no longer exist: {gone}"
    named = set(re.findall(r"`((?:autograding/)?[a-z_]+/[a-z_/]*\.py)`", text))
    missing = sorted(path for path in named
                     if not (ROOT / path).is_file() and not (PACKAGE / path).is_file())
    assert not missing, f"ARCHITECTURE.md names files that do not exist: {missing}"
