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


# What the fork-servers import before forking for the course's notebooks and for nothing else
# (autograding.engine.forkserver.DEFAULT_PRELOAD): 3-4 s of every batch's start.
COURSE_LIBRARIES = ("numpy", "torch", "matplotlib")


@pytest.fixture(scope="module", autouse=True)
def preload_without_the_course_libraries(request):
    """Modules marked `without_course_libraries` grade only notebooks that import none of
    COURSE_LIBRARIES (grading_helpers' squares course): their batches' fork-servers preload
    the rest of the default list, set as $AUTOGRADING_PRELOAD (README: the modules the
    fork-server imports before forking), as a course without torch would set it. Those
    modules start 30-40 batches; test_grade and test_master_check took 153-164 s with torch
    preloaded, 57-64 s without. The default list stays tested by every batch of the course's
    own notebooks (the sample class, exchange, feedback, nbgrader-course tests), by
    test_hostile_batch and by the engine's tests."""
    if request.node.get_closest_marker("without_course_libraries") is None:
        yield
        return
    from autograding.engine.forkserver import DEFAULT_PRELOAD

    rest = [name for name in DEFAULT_PRELOAD if name.split(".")[0] not in COURSE_LIBRARIES]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOGRADING_PRELOAD", ",".join(rest))
        yield
