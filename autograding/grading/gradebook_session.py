"""One open nbgrader Gradebook per batch, lent to nbgrader's own steps, written in transactions.

nbgrader's steps open `Gradebook(db_url)` themselves and commit after every row they write
(SaveCells per cell of a master, SaveAutoGrades per grade and comment). A file-backed SQLite
commit waits for the disk (fsync): 15-18 ms each on the test VM, ~40 per notebook, which made
the commits the largest part of the parent's time. Here they share one Gradebook, and
`one_transaction` makes a notebook's (or a master's) writes one all-or-nothing transaction.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager

# Reading a gradebook names no course: nbgrader's Gradebook then adds no course row to it. The
# masters are registered under the graded course's own id (CourseDirectory.course_id).
ANY_COURSE = ""

# nbgrader's modules that open `Gradebook(db_url)` themselves, once per notebook.
_LENDING_MODULES = (
    "nbgrader.converters.generate_assignment",
    "nbgrader.preprocessors.savecells",
    "nbgrader.preprocessors.overwritecells",
    "nbgrader.preprocessors.overwritekernelspec",
    "nbgrader.preprocessors.saveautogrades",
    "nbgrader.preprocessors.getgrades",
    "nbgrader.preprocessors.latesubmissions",
)


class _Borrowed:
    """A shared Gradebook lent to one nbgrader step: leaving `with` keeps it open."""

    def __init__(self, gradebook):
        self._gradebook = gradebook

    def __getattr__(self, name):
        return getattr(self._gradebook, name)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._gradebook.db.rollback()


@contextmanager
def shared_gradebook(db_url: str, course_id: str = ANY_COURSE):
    """Yield one open Gradebook that nbgrader's steps reuse for `db_url`.

    Each `Gradebook()` builds a new SQLAlchemy engine with a cold statement cache, which made
    the parent spend most of its time compiling SQL. Other URLs still get their own Gradebook.
    """
    from nbgrader.api import Gradebook

    gradebook = Gradebook(db_url, course_id)

    def lend(url, *args, **kwargs):
        return _Borrowed(gradebook) if url == db_url else Gradebook(url, *args, **kwargs)

    modules = [importlib.import_module(name) for name in _LENDING_MODULES]
    saved = [module.Gradebook for module in modules]
    for module in modules:
        module.Gradebook = lend
    try:
        yield gradebook
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.Gradebook = original
        gradebook.close()


@contextmanager
def one_transaction(gradebook):
    """nbgrader's commits inside become flushes (same checks, same errors) and one commit ends
    the block; an error anywhere rolls all of it back. Nested blocks join the outer one."""
    session = gradebook.db
    if "commit" in vars(session):  # already inside a block
        yield gradebook
        return
    session.commit = session.flush
    try:
        yield gradebook
    except BaseException:
        del session.commit
        session.rollback()
        raise
    del session.commit
    session.commit()
