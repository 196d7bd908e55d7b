"""requirements.lock installs on every supported Python, checked against the package index
without having those Pythons.

For each version the lock's markers are evaluated here (pip evaluates them against the Python
that runs it, not against --python-version), and pip looks every pin up as a wheel for that
version on this platform: `--python-version 3.11` means 3.11.0, which catches a pin that needs
3.11.5. About 20-35 s for the four (all at once, pip 26.3). Needs the package index.
"""

import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pytest
from test_environment import CPU_INDEX, lock_lines, marker_environment

pytestmark = pytest.mark.slow

VERSIONS = ["3.10", "3.11.0", "3.12", "3.13"]


@cache
def reachable(url, timeout=10):
    try:
        urllib.request.urlopen(url, timeout=timeout).close()
        return True
    except OSError:
        return False


def dry_run(python, requirements, workdir, *options):
    """pip's answer to: does every line of `requirements` have a wheel for `python`?"""
    folder = workdir / python
    folder.mkdir()
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "install", "--dry-run",
         "--no-deps", "--ignore-installed", "--only-binary=:all:", "--python-version", python,
         "--target", str(folder / "target"), *options, "-r", str(folder / "requirements.txt")],
        capture_output=True, text=True, timeout=900)
    return proc, time.monotonic() - start


@pytest.fixture(scope="module")
def index():
    from importlib.metadata import version

    from packaging.version import Version

    if Version(version("pip")) < Version("24.2"):
        pytest.skip(f"pip {version('pip')} checks Requires-Python against this Python, not "
                    "--python-version: `make venv` installs the lock's pip")
    url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/").split()[0]
    if url.startswith("http") and not reachable(url.rstrip("/") + "/pip/"):
        pytest.skip(f"the package index {url} is unreachable: the lock check needs it")
    return url


@pytest.fixture(scope="module")
def dry_runs(index, tmp_path_factory):
    """Every version's dry run of the lock (and d2l's no-deps pin), all four at once: about
    half of a run is waiting for the index (four at once 33 s, two at a time 55 s)."""
    workdir = tmp_path_factory.mktemp("lock")
    # Parsed here, not in the threads: CPython 3.11's ast.literal_eval (packaging's markers)
    # can fail with "SystemError: AST constructor recursion depth mismatch" in two at once.
    pins = {}
    for python in VERSIONS:
        env = marker_environment(python)
        pins[python] = lock_lines(environment=env) + lock_lines("requirements-nodeps.lock", env)

    with ThreadPoolExecutor(len(VERSIONS)) as pool:
        runs = pool.map(lambda python: dry_run(python, pins[python], workdir), VERSIONS)
        return dict(zip(VERSIONS, runs))


@pytest.mark.parametrize("python", VERSIONS)
def test_every_pin_has_a_wheel_for(python, dry_runs):
    proc, seconds = dry_runs[python]
    errors = [line for line in (proc.stdout + proc.stderr).splitlines()
              if "ERROR" in line or "yanked" in line]
    assert proc.returncode == 0 and not errors, (
        f"requirements.lock does not install on Python {python} ({seconds:.0f} s):\n"
        + "\n".join(errors or proc.stderr.splitlines()[-20:]))
    assert "Would install" in proc.stdout


@pytest.mark.parametrize("python", VERSIONS)
def test_pytorchs_cpu_index_has_the_pinned_torch_for(python, tmp_path):
    if not reachable(CPU_INDEX + "/torch/"):
        pytest.skip(f"PyTorch's index {CPU_INDEX} is unreachable from here")
    torch = [line for line in lock_lines(environment=marker_environment(python))
             if line.startswith("torch==")]
    proc, _ = dry_run(python, torch, tmp_path, "--index-url", CPU_INDEX)
    assert proc.returncode == 0, proc.stderr
    assert "+cpu" in proc.stdout, f"{CPU_INDEX} gave no CPU build:\n{proc.stdout}"
