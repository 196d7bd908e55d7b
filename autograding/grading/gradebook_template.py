"""A new gradebook starts as a copy of one that already holds the same masters.

Storing the masters in a new gradebook runs nbgrader's GenerateAssignment on each of them:
about 2 s of CPU for the course's five, at the start of every batch into a new --out folder,
while the workers import torch. The first such batch keeps a copy of its gradebook as it was
right after the masters were stored (no student in it) in the user's cache; a later new
gradebook for the same masters, course config and nbgrader starts as that copy, and
register_masters then finds every master already stored. A copy that cannot be used is
deleted and the masters are stored afresh; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from autograding.grading.files import user_cache_dir

KEPT_TEMPLATES = 8  # the most recently used are kept
# Sources of what registering writes into a gradebook: a change to them makes a new template.
_WRITERS = ("gradebook.py", "due_dates.py", "course_settings.py", "gradebook_session.py")


class GradebookTemplate:
    """The cached copy for one new SQLite gradebook and one set of masters."""

    def __init__(self, db_path: Path, course_root: Path, masters: dict[str, list[Path]]):
        self.db_path = Path(db_path)
        self.folder = user_cache_dir() / "gradebooks"
        self.path = self.folder / f"{_key(course_root, masters)}.db"

    @classmethod
    def for_new(cls, db_url: str, course_root: Path, masters: dict[str, list[Path]]):
        """The template of a gradebook not created yet, or None (not SQLite, or it exists)."""
        if not db_url.startswith("sqlite:///"):
            return None
        db_path = Path(db_url[len("sqlite:///"):])
        if db_path.exists() or not db_path.parent.is_dir():
            return None
        try:
            return cls(db_path, course_root, masters)
        except (OSError, ValueError):  # a master that cannot be read: registering names it
            return None

    def restore(self) -> bool:
        """Start the gradebook as the cached copy; False when there is none."""
        try:
            _copy(self.path, self.db_path)
            os.utime(self.path)  # recently used
            return True
        except OSError:
            self.discard()
            return False

    def discard(self) -> None:
        """Remove a restored copy that could not be used (and the cached one)."""
        for path in (self.db_path, self.path):
            try:
                path.unlink()
            except OSError:
                pass

    def save(self) -> None:
        """Keep the gradebook, masters stored and nothing else yet, for later new ones."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _copy(self.db_path, self.path)
            kept = sorted(self.folder.glob("*.db"), key=lambda p: p.stat().st_mtime)
            for old in kept[:-KEPT_TEMPLATES]:
                old.unlink()
        except OSError:
            pass


def _key(course_root: Path, masters: dict[str, list[Path]]) -> str:
    """What the registered gradebook depends on: the masters' bytes, the course's config,
    nbgrader's version and the grader's registering code."""
    import nbgrader

    here = Path(__file__).parent
    config = Path(course_root) / "nbgrader_config.py"
    parts = {
        "nbgrader": nbgrader.__version__,
        "code": [_sha256(here / name) for name in _WRITERS],
        "config": _sha256(config) if config.exists() else "",
        "masters": {assignment: [[p.name, _sha256(p)] for p in paths]
                    for assignment, paths in sorted(masters.items())},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _copy(source: Path, target: Path) -> None:
    """Copy atomically: a reader never sees half a database."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()
