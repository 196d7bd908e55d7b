"""`python -m autograding similarity`: reports written, bad input refused, submissions untouched."""

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from similarity_class import ASSIGNMENT, PLANTED, write_class

from autograding.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _digests(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of the command on the planted class (plus a symlinked hand-in)."""
    root = tmp_path_factory.mktemp("similarity")
    submitted = root / "submitted"
    paths = write_class(submitted)
    link = submitted / "lee" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    link.parent.mkdir(parents=True)
    link.symlink_to(paths["ben"])
    before = _digests(submitted)
    env = dict(os.environ, MPLBACKEND="Agg",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    proc = subprocess.run(
        [sys.executable, "-m", "autograding", "similarity", str(submitted), "--out",
         str(root / "out"), "--threshold", "0.8"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    return proc, root, before


def test_the_command_writes_every_pair_and_the_report(run):
    proc, root, _ = run
    assert proc.returncode == 0, proc.stderr
    folder = root / "out" / "similarity"
    rows = list(csv.DictReader((folder / "similarity.csv").open()))
    assert len(rows) == 15 and {r["assignment"] for r in rows} == {ASSIGNMENT}
    assert {rows[0]["student_a"], rows[0]["student_b"]} == PLANTED
    page = (folder / "similarity.html").read_text()
    assert page.count('class="pair"') == 1 and "ben" in page and "dan" in page
    assert f"{ASSIGNMENT}: 6 students, 15 pairs, 1 with similarity >= 0.8" in proc.stdout


def test_corrupt_and_linked_notebooks_are_listed_as_skipped(run):
    proc, root, _ = run
    assert "skipped: zed/04_loss_functions: 04_loss_functions.ipynb: not a notebook" in (
        proc.stderr)
    assert "skipped: lee/04_loss_functions" in proc.stderr and "symbolic link" in proc.stderr
    page = (root / "out" / "similarity" / "similarity.html").read_text()
    assert "Not compared" in page and "zed" in page and "lee" in page


def test_no_submission_is_changed(run):
    _, root, before = run
    assert _digests(root / "submitted") == before


@pytest.mark.parametrize("argv, needle", [
    (["similarity", "{tmp}/nowhere", "--out", "{tmp}/out"], "nowhere: no such folder"),
    (["similarity", "{tmp}", "--out", "{tmp}/out", "--assignment", "99_nope"],
     "no master for 99_nope"),
    (["similarity", "{tmp}", "--out", "{tmp}/out", "--course", "{tmp}"],
     "no master notebooks folder"),
    (["similarity", "{tmp}", "--out", "{tmp}/file"], "exists and is not a folder"),
])
def test_bad_input_is_a_clear_error(argv, needle, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err


@pytest.mark.parametrize("option", [["--threshold", "1.5"], ["--threshold", "x"],
                                    ["--max-pairs", "0"]])
def test_bad_options_are_refused_by_the_parser(option, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["similarity", str(tmp_path), "--out", str(tmp_path / "o"), *option])
    assert exit_info.value.code == 2
    assert "similarity: error: argument" in capsys.readouterr().err


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["similarity", "--help"])
    text = capsys.readouterr().out
    for flag in ("--out", "--course", "--assignment", "--threshold", "--max-pairs"):
        assert flag in text
