"""one_transaction: nbgrader's many commits become one, and an error keeps none of the writes."""

import sqlite3

import pytest
from nbgrader.api import Gradebook

from autograding.grading.gradebook import use_in_process_alembic_head
from autograding.grading.gradebook_session import one_transaction, shared_gradebook


@pytest.fixture
def db_url(tmp_path):
    use_in_process_alembic_head()
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def _students(db_url) -> list[str]:
    with sqlite3.connect(db_url[len("sqlite:///"):]) as con:
        return sorted(row[0] for row in con.execute("select id from student"))


def test_writes_are_kept_together_and_committed_once(db_url):
    with shared_gradebook(db_url, "course") as gb:
        with one_transaction(gb):  # nbgrader commits after each of these rows
            gb.add_student("amy")
            gb.update_or_create_student("bob", first_name="Bob")
            assert [s.id for s in gb.students] == ["amy", "bob"], "visible inside the block"
            assert _students(db_url) == [], "nothing committed before the block ends"
        assert _students(db_url) == ["amy", "bob"]
        assert "commit" not in vars(gb.db), "nbgrader's own commit is back"


def test_an_error_keeps_none_of_the_block(db_url):
    with shared_gradebook(db_url, "course") as gb:
        gb.add_student("amy")
        with pytest.raises(RuntimeError), one_transaction(gb):
            gb.add_student("bob")
            gb.update_or_create_student("amy", first_name="Changed")
            raise RuntimeError("the record failed half-way")
        assert [s.id for s in gb.students] == ["amy"]
        assert gb.find_student("amy").first_name is None
    assert _students(db_url) == ["amy"]


def test_nbgrader_errors_inside_roll_back_the_whole_block(db_url):
    """nbgrader rolls back and raises on a duplicate row: the earlier writes go too."""
    from nbgrader.api import InvalidEntry

    with shared_gradebook(db_url, "course") as gb:
        with pytest.raises(InvalidEntry), one_transaction(gb):
            gb.add_student("amy")
            gb.add_student("amy")
    assert _students(db_url) == []


def test_nested_blocks_join_the_outer_one(db_url):
    with Gradebook(db_url, "course") as gb:
        with pytest.raises(KeyError), one_transaction(gb):
            with one_transaction(gb):
                gb.add_student("amy")
            assert _students(db_url) == [], "the inner block does not commit"
            raise KeyError("outer fails")
    assert _students(db_url) == []
