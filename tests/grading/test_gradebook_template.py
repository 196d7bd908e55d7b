"""A new gradebook starts as a cached copy holding the same masters (gradebook_template)."""

import shutil
from pathlib import Path

import pytest

from autograding.grading import gradebook
from autograding.grading.gradebook import register_masters
from autograding.grading.gradebook_template import GradebookTemplate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nbgrader_course"


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(FIXTURE / "source", root / "source")
    shutil.copy(FIXTURE / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


@pytest.fixture
def generated(monkeypatch):
    """The assignments nbgrader's GenerateAssignment stored, in order."""
    calls = []
    real = gradebook._generate_into_gradebook

    def counting(db_url, course_root, assignment_id, course):
        calls.append(assignment_id)
        return real(db_url, course_root, assignment_id, course)

    monkeypatch.setattr(gradebook, "_generate_into_gradebook", counting)
    return calls


def new_db(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    return f"sqlite:///{folder / 'gradebook.db'}"


def cells_of(masters):
    return {a: [(m.name, [(c.grade_id, c.source, c.points, c.locked) for c in m.cells])
                for m in notebooks] for a, notebooks in masters.items()}


def test_a_second_new_gradebook_starts_as_the_first_ones_copy(tmp_path, course, generated):
    first = register_masters(new_db(tmp_path, "one"), course)
    assert sorted(generated) == ["ps1", "ps2"]
    generated.clear()
    db_url = new_db(tmp_path, "two")
    second = register_masters(db_url, course)
    assert generated == []  # nothing stored again: the copy held every master
    assert cells_of(second) == cells_of(first)
    from nbgrader.api import Gradebook

    with Gradebook(db_url, "") as gb:
        assert [a.name for a in gb.assignments] == ["ps1", "ps2"]
        assert gb.students == []  # the copy is taken before any student


def test_a_changed_master_or_config_is_stored_afresh(tmp_path, course, generated):
    register_masters(new_db(tmp_path, "one"), course)
    master = next((course / "source" / "ps1").glob("*.ipynb"))
    master.write_text(master.read_text().replace("\n", "\n ", 1))  # other bytes, same notebook
    generated.clear()
    register_masters(new_db(tmp_path, "two"), course)
    assert generated == ["ps1", "ps2"]  # a new key: no copy to start from
    (course / "nbgrader_config.py").write_text(
        (course / "nbgrader_config.py").read_text() + "\n# changed\n")
    generated.clear()
    register_masters(new_db(tmp_path, "three"), course)
    assert generated == ["ps1", "ps2"]


def test_a_broken_copy_is_dropped_and_the_masters_stored_afresh(tmp_path, course, generated):
    first = register_masters(new_db(tmp_path, "one"), course)
    cached = list(_cache_folder().glob("*.db"))
    assert len(cached) == 1
    cached[0].write_bytes(b"not a database at all" * 100)
    generated.clear()
    again = register_masters(new_db(tmp_path, "two"), course)
    assert sorted(generated) == ["ps1", "ps2"]
    assert cells_of(again) == cells_of(first)


def test_an_existing_gradebook_is_never_replaced(tmp_path, course, generated):
    db_url = new_db(tmp_path, "one")
    register_masters(db_url, course)
    assert GradebookTemplate.for_new(db_url, course, {}) is None  # it exists: used as it is
    assert GradebookTemplate.for_new("postgresql://host/db", course, {}) is None


def test_an_unwritable_cache_only_costs_time(tmp_path, course, generated, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    first = register_masters(new_db(tmp_path, "one"), course)
    second = register_masters(new_db(tmp_path, "two"), course)
    assert cells_of(second) == cells_of(first)
    assert sorted(generated) == ["ps1", "ps1", "ps2", "ps2"]


def _cache_folder():
    from autograding.grading.files import user_cache_dir

    return user_cache_dir() / "gradebooks"
