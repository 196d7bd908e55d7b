"""The intake command runs as `python -m autograding.intake` (the package's __main__)."""

import subprocess
import sys
from pathlib import Path

from intake_helpers import notebook_bytes, submitted_file, write

REPO = Path(__file__).resolve().parents[2]


def test_python_m_autograding_intake_runs_the_command(tmp_path):
    uploads = tmp_path / "export"
    write(uploads, "alice_01_vectorization.ipynb", notebook_bytes("ok"))
    submitted = tmp_path / "out" / "submitted"
    done = subprocess.run(
        [sys.executable, "-m", "autograding.intake", str(uploads), "--submitted", str(submitted)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 uploaded files: 1 renamed" in done.stdout
    assert "# ok" in submitted_file(submitted, "alice", "01_vectorization").read_text()
    assert (tmp_path / "out" / "intake_report.json").is_file()
