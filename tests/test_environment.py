"""The install files agree: lock, conda environment, pyproject and d2l's separate pin."""

import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def read_lock(name="requirements.lock"):
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name_, _, version = line.partition("==")
            assert version, f"{name}: '{line}' is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name_).lower()] = version
    return pins


def test_lock_pins_cpu_torch_and_the_course_stack():
    pins = read_lock()
    assert pins["torch"] == "2.13.0", "a looser torch pin pulls a multi-GB CUDA build"
    for package in ("jupyterlab", "nbgrader", "matplotlib", "seaborn", "pandas", "tqdm",
                    "pytest", "hypothesis", "ruff", "scipy", "nbclient", "distributed"):
        assert package in pins, f"{package} missing from requirements.lock"


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


def test_conda_environment_uses_the_lock_and_the_same_python():
    text = (ROOT / "environment.yml").read_text()
    assert "- -r requirements.lock" in text
    assert "- -e ." in text
    python = re.search(r"- python=(\d+\.\d+)", text).group(1)
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}", (
        "environment.yml's python differs from the one the lock was made with")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert tuple(map(int, python.split("."))) >= tuple(map(int, requires[2:].split(".")))


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
