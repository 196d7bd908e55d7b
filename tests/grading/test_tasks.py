"""A done-marker's fingerprint changes with everything that decides the grade, nothing else."""

from dataclasses import dataclass
from pathlib import Path

from autograding.grading.tasks import Task, fingerprint


@dataclass
class _Master:
    name: str = "squares"
    sha256: str = "m1"
    late_rule: str = ""


def _task(tmp_path: Path, master=None) -> Task:
    path = tmp_path / "amy" / "squares" / "squares.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text('{"cells": [], "nbformat": 4}')
    return Task("amy", "squares", master or _Master(), path)


def test_same_inputs_same_fingerprint(tmp_path):
    assert fingerprint(_task(tmp_path)) == fingerprint(_task(tmp_path))


def test_submission_master_and_late_rule_change_it(tmp_path):
    base = fingerprint(_task(tmp_path))
    assert fingerprint(_task(tmp_path, _Master(sha256="m2"))) != base
    assert fingerprint(_task(tmp_path, _Master(late_rule="due 2027-01-01; 10%/day"))) != base
    _task(tmp_path).path.write_text('{"cells": [], "nbformat": 4, "x": 1}')
    assert fingerprint(_task(tmp_path)) != base


def test_timestamp_txt_changes_it(tmp_path):
    task = _task(tmp_path)
    without = fingerprint(task)
    stamp = task.path.parent / "timestamp.txt"
    stamp.write_text("2027-01-02 10:00:00 UTC")
    on_time = fingerprint(_task(tmp_path))
    stamp.write_text("2027-01-09 10:00:00 UTC")
    late = fingerprint(_task(tmp_path))
    assert len({without, on_time, late}) == 3
    stamp.unlink()
    stamp.symlink_to(tmp_path / "elsewhere.txt")
    assert fingerprint(_task(tmp_path)) not in {without, on_time, late}, "unreadable differs"


def test_fingerprint_keeps_a_copy_only_when_asked(tmp_path):
    task = _task(tmp_path)
    fingerprint(task)
    assert task.snapshot is None and task.digest
    fingerprint(task, keep_copy=True)
    assert task.snapshot == task.path.read_bytes()
