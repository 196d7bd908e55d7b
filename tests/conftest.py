"""Shared test configuration: quiet, non-interactive plotting and a d2l oracle."""

import os
import sys
import types

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("COURSE_UTILS_QUIET", "1")


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
