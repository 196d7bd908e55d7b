"""autograding.engine.namespaces on its own: read-only binds reach every mount below them (also on
kernels without mount_setattr), and a step that fails stops the launch with its reason."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from autograding.engine import namespaces, sandbox

CHECKOUT = str(Path(__file__).resolve().parent.parent)
pytestmark = pytest.mark.skipif(bool(sandbox.sandbox_problem("namespaces")),
                                reason=sandbox.sandbox_problem("namespaces") or "-")

TRY_WRITES = textwrap.dedent("""\
    import sys
    for path in sys.argv[1:]:
        try:
            open(path, "w").close()
            print("written")
        except OSError as exc:
            print("blocked", exc.errno)
""")
# Runs the launcher in this interpreter with mount_setattr(2) switched off or on.
LAUNCH = textwrap.dedent("""\
    import json, sys
    import autograding.engine.namespaces as ns
    if sys.argv[1] == "no-mount-setattr":
        ns.SYS_MOUNT_SETATTR = -1  # an invalid syscall: ENOSYS, as before Linux 5.12
    sys.exit(ns.main(["namespaces", sys.argv[2], "--", *sys.argv[3:]]))
""")


@pytest.fixture
def folder_with_a_submount():
    """A folder outside the hidden ones with a tmpfs mounted inside (under a name with a
    space, escaped in mountinfo); the mount exists only in a private mount namespace, which
    the launcher is then started in."""
    base = tempfile.mkdtemp(prefix="ag-ns-", dir="/var/tmp")
    os.makedirs(os.path.join(base, "sub dir"))
    root = tempfile.mkdtemp(prefix="ag-ns-root-", dir="/var/tmp")
    if os.geteuid() == 0:
        private = ["unshare", "--mount", "--propagation", "private"]
    else:
        private = ["unshare", "--mount", "--map-root-user", "--propagation", "private"]
    mount = ["mount", "-t", "tmpfs", "none", os.path.join(base, "sub dir")]
    yield base, root, private, mount
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("syscalls", ["mount-setattr", "no-mount-setattr"])
def test_read_only_bind_covers_the_mounts_below(folder_with_a_submount, syscalls):
    base, root, private, mount = folder_with_a_submount
    if not shutil.which("unshare"):
        pytest.skip("util-linux unshare is not installed")
    targets = [os.path.join(base, "x"), os.path.join(base, "sub dir", "x")]
    results = {}
    for step in ("ro-bind", "bind"):  # bind: the control, where both writes go through
        spec = json.dumps({"root": root, "plan": [[step, "/", "/"], ["dev", "/dev"],
                                                   ["proc", "/proc"]]})
        launch = [sys.executable, "-c", LAUNCH, syscalls, spec, sys.executable, "-c",
                  TRY_WRITES, *targets]
        # sh mounts the submount, then execs the launcher in the same private namespace.
        script = f"{' '.join(map(_quote, mount))} && exec \"$@\""
        done = subprocess.run([*private, "sh", "-c", script, "sh", *launch],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": CHECKOUT})
        assert done.returncode == 0, done.stderr
        results[step] = done.stdout.split("\n")[:2]
    assert results["ro-bind"] == ["blocked 30", "blocked 30"]  # EROFS, the submount too
    assert results["bind"] == ["written", "written"]


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def test_a_failing_step_stops_the_launch_with_its_reason(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    missing = str(tmp_path / "no-such-folder")
    spec = json.dumps({"root": str(root), "plan": [["ro-bind", "/", "/"],
                                                    ["ro-bind", missing, "/opt/x"]]})
    done = subprocess.run([sys.executable, "-m", "autograding.engine.namespaces", spec, "--",
                           sys.executable, "-c", "print('ran')"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == namespaces.SETUP_FAILED
    assert "ran" not in done.stdout
    assert "/opt/x" in done.stderr or "no-such-folder" in done.stderr
    usage = subprocess.run([sys.executable, "-m", "autograding.engine.namespaces", spec],
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "usage:" in usage.stderr
