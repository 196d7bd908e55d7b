"""The install files agree: lock, conda environment, pyproject and d2l's separate pin."""

import re
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the lock installs tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED = ["3.10", "3.11", "3.12", "3.13"]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def marker_environment(python):
    """The marker variables of CPython `python` ("3.10", "3.11.0") on this machine's Linux."""
    full = python if python.count(".") == 2 else python + ".0"
    return default_environment() | {
        "python_version": ".".join(full.split(".")[:2]), "python_full_version": full,
        "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}


def lock_lines(name="requirements.lock", environment=None):
    """The pinned lines of a lock whose markers hold in `environment` (this interpreter's if
    None), without their markers: "name==version"."""
    lines = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        pins = [spec.version for spec in req.specifier if spec.operator == "=="]
        assert len(pins) == 1 and len(req.specifier) == 1, (
            f"{name}: '{line}' is not pinned with == alone")
        if req.marker is None or req.marker.evaluate(environment):
            lines.append(f"{req.name}=={pins[0]}")
    return lines


def read_lock(name="requirements.lock", environment=None):
    pins = {}
    for line in lock_lines(name, environment):
        name_, _, version = line.partition("==")
        key = re.sub(r"[-_.]+", "-", name_).lower()
        assert key not in pins, f"{name}: two pins of {key} hold for one Python"
        pins[key] = version
    return pins


def test_lock_pins_cpu_torch_and_the_course_stack_for_every_python():
    for python in SUPPORTED + ["3.11.4"]:
        pins = read_lock(environment=marker_environment(python))  # asserts: one pin per package
        assert pins["torch"] == "2.13.0", "a looser torch pin pulls a multi-GB CUDA build"
        for package in ("jupyterlab", "nbgrader", "matplotlib", "seaborn", "pandas", "tqdm",
                        "pytest", "hypothesis", "ruff", "scipy", "nbclient", "distributed",
                        "scikit-learn"):
            assert package in pins, f"{package} missing from requirements.lock for {python}"


def test_lock_points_pip_at_pytorchs_cpu_index():
    options = [line.split() for line in (ROOT / "requirements.lock").read_text().splitlines()
               if line.startswith("-")]
    assert options == [["--extra-index-url", CPU_INDEX]], (
        "requirements.lock's only option is PyTorch's CPU index (the Makefile reads it)")


def test_d2l_is_pinned_apart_and_not_a_dependency():
    assert read_lock("requirements-nodeps.lock") == {"d2l": "1.0.3"}
    assert "d2l" not in read_lock()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    every = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    assert not any(dep.startswith("d2l") for dep in every)


def test_pyproject_dependencies_are_ranges_covered_by_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = read_lock()
    for dep in project["dependencies"] + sum(project["optional-dependencies"].values(), []):
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[ ]", dep)[0]).lower()
        assert "==" not in dep, f"pyproject pins '{dep}': use a range, the lock pins"
        assert name in pins, f"pyproject needs '{dep}' but requirements.lock has no {name}"


def test_conda_environment_uses_the_lock_and_a_supported_python():
    text = (ROOT / "environment.yml").read_text()
    assert "- -r requirements.lock" in text
    assert "- -e ." in text
    python = re.search(r"- python=(\d+\.\d+)\s", text).group(1)
    assert python in SUPPORTED, f"environment.yml's python {python} is not one of {SUPPORTED}"


def test_requires_python_states_the_floor_and_no_ceiling():
    """The floor is the lock's; a newer Python (Colab's next) may install the package alone."""
    from packaging.specifiers import SpecifierSet

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    accepted = [v for v in ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
                if SpecifierSet(requires).contains(v + ".0")]
    assert accepted == [*SUPPORTED, "3.14"], f"requires-python '{requires}' accepts {accepted}"
    assert ".".join(map(str, sys.version_info[:2])) in SUPPORTED


def test_installed_versions_match_the_lock():
    from importlib.metadata import PackageNotFoundError, version

    mismatched = []
    for name, pinned in read_lock().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            mismatched.append(f"{name} not installed")
            continue
        if installed.split("+")[0] != pinned:
            mismatched.append(f"{name} {installed} != {pinned}")
    assert not mismatched, "run `make venv` to reinstall the lock: " + ", ".join(mismatched)
