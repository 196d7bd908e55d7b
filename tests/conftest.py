"""Shared test configuration: quiet, non-interactive plotting, a d2l oracle, and a user cache
of each test's own."""

import os
import sys
import types

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("COURSE_UTILS_QUIET", "1")


@pytest.fixture(autouse=True)
def own_user_cache(tmp_path_factory, monkeypatch):
    """$XDG_CACHE_HOME of this test alone: the grader remembers passed master checks there,
    and a test must see its masters checked whatever ran before it. The sample class's oracle
    runs (minutes, keyed by the code that decides them) stay shared: linked to the real ones."""
    from autograding.demo.oracles import default_cache_dir

    oracle = default_cache_dir()
    oracle.mkdir(parents=True, exist_ok=True)
    cache = tmp_path_factory.mktemp("cache")
    (cache / "linreg-course").mkdir()
    (cache / "linreg-course" / "oracle").symlink_to(oracle, target_is_directory=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))


@pytest.fixture(scope="session")
def d2l():
    """d2l's torch module as an independent oracle.

    d2l.torch imports torchvision at the top (for image data sets we never use), and no
    torchvision release works with the CPU build of torch installed here, so an empty module
    stands in for it. Skips only when d2l itself is not installed (conda users without the
    optional `requirements-nodeps.lock`); `make` always installs it.
    """
    if "torchvision" not in sys.modules:
        stand_in = types.ModuleType("torchvision")
        stand_in.transforms = types.ModuleType("torchvision.transforms")
        sys.modules["torchvision"] = stand_in
        sys.modules["torchvision.transforms"] = stand_in.transforms
    d2l_torch = pytest.importorskip("d2l.torch", reason="d2l is installed by `make` (no-deps)")
    return d2l_torch
