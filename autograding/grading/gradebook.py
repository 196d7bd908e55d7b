"""Masters into nbgrader's gradebook and back; hidden-test lines.

The masters' cells go into the gradebook through nbgrader's own GenerateAssignment (its
SaveCells preprocessor stores every nbgrader cell WITH its hidden tests), run into a throw-away
release folder. Everything later (restoring test cells, redacting feedback, exporting) reads the
cells back from the gradebook, so `feedback` and `export` need nothing but the gradebook.
Registering also writes each assignment's due date from the course's nbgrader_config.py
(autograding.grading.due_dates), where nbgrader's AssignLatePenalties reads it; the masters are
stored with that file's settings (its course id, ClearSolutions' stub and delimiters), and the
hidden-test lines are those between its ClearHiddenTests delimiters.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograding.grading.course_settings import (
    DEFAULT_HIDDEN_TESTS,
    CourseConfigError,
    CourseSettings,
    load_course_settings,
)
from autograding.grading.gradebook_session import (  # noqa: F401 (ANY_COURSE: re-exported)
    ANY_COURSE,
    one_transaction,
    shared_gradebook,
)
from autograding.grading.gradebook_template import GradebookTemplate
from autograding.grading.metadata_schema import validate_schema_once


class GradebookError(RuntimeError):
    """The masters or the gradebook cannot be used; the message says which file and why."""


def quiet_logger(name: str = "autograding.nbgrader") -> logging.Logger:
    """Logger handed to nbgrader's pieces: their per-cell warnings become our comments."""
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(logging.ERROR)
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    return log


def hidden_line_numbers(source: str, delimiters=DEFAULT_HIDDEN_TESTS) -> set[int]:
    """1-based numbers of the lines of `source` inside (and on) the hidden-test delimiters
    (the course's ClearHiddenTests begin and end delimiters; nbgrader's by default)."""
    begin, end = delimiters
    hidden, inside = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            inside = True
        if inside:
            hidden.add(number)
        if end in line:
            inside = False
    return hidden


def visible_source(source: str, delimiters=DEFAULT_HIDDEN_TESTS) -> str:
    """`source` without its hidden tests, as nbgrader's ClearHiddenTests releases it."""
    lines = source.split("\n")
    hidden = hidden_line_numbers(source, delimiters)
    return "\n".join(line for n, line in enumerate(lines, start=1) if n not in hidden)


@dataclass
class MasterCell:
    """One nbgrader cell of a master, as stored in the gradebook."""

    grade_id: str
    cell_type: str
    source: str
    locked: bool
    checksum: str | None
    points: float | None = None
    solution: bool = False
    task: bool = False
    # The code cells without nbgrader metadata right before this one in the master (e.g. the
    # training run a test checks), as plain_source gives them: a restored cell goes after them.
    code_before: tuple[str, ...] = ()

    @property
    def graded(self) -> bool:
        """True for cells that carry points (tests, autograded answers, tasks)."""
        return self.points is not None

    @property
    def is_test(self) -> bool:
        """True for autograder test cells (graded, read-only, not an answer)."""
        return self.graded and not self.solution and not self.task

    def nbgrader_metadata(self) -> dict:
        """The cell's nbgrader metadata, rebuilt from the gradebook (schema 3)."""
        meta = {
            "grade": self.graded and not self.task,
            "grade_id": self.grade_id,
            "locked": self.locked,
            "schema_version": 3,
            "solution": self.solution,
            "task": self.task,
        }
        if self.graded:
            meta["points"] = self.points
        if self.checksum:
            meta["checksum"] = self.checksum
        return meta


@dataclass
class MasterNotebook:
    """A master notebook: its nbgrader cells in master order (from the master file)."""

    assignment: str
    name: str
    cells: list[MasterCell] = field(default_factory=list)
    sha256: str = ""
    path: Path | None = None  # the master file (None when read from the gradebook alone)
    late_rule: str = ""  # due date and late policy (CourseLatePolicy.rule) when registered
    hidden_tests: tuple[str, str] = DEFAULT_HIDDEN_TESTS  # the course's delimiters

    def cell(self, grade_id: str) -> MasterCell | None:
        """The master cell with this grade id, or None."""
        return next((c for c in self.cells if c.grade_id == grade_id), None)

    @property
    def graded_cells(self) -> list[MasterCell]:
        """Cells that carry points, in master order."""
        return [c for c in self.cells if c.graded]

    @property
    def max_score(self) -> float:
        """Total points of the notebook."""
        return float(sum(c.points for c in self.graded_cells))


def find_masters(course_root: Path, assignment_ids=None) -> dict[str, list[Path]]:
    """{assignment id: its master notebooks} found under course_root/source/."""
    source = Path(course_root) / "source"
    if not source.is_dir():
        raise GradebookError(
            f"{source}: no master notebooks folder; pass the course folder that holds "
            "source/<assignment>/<assignment>.ipynb (--course)"
        )
    masters = {}
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        if folder.name.startswith(".") or (assignment_ids and folder.name not in assignment_ids):
            continue
        notebooks = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
        if notebooks:
            masters[folder.name] = notebooks
    return masters


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plain_source(source: str) -> str:
    """A cell's source without trailing spaces and surrounding blank lines, for matching."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _master_order(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(grade id, the plain code cells since the previous nbgrader cell) of a master notebook,
    in cell order."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    order, code = [], []
    for c in nb.cells:
        meta = c.metadata.get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade_id"):
            order.append((meta["grade_id"], tuple(code)))
            code = []
        elif c.cell_type == "code" and plain_source(c.source):
            code.append(plain_source(c.source))
    return order


def _generate_into_gradebook(db_url: str, course_root: Path, assignment_id: str,
                             course: CourseSettings) -> None:
    """Run nbgrader's GenerateAssignment (with the course's config, as `nbgrader
    generate_assignment` would) so SaveCells stores the master in the gradebook."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    with tempfile.TemporaryDirectory(prefix="linreg-grade-release-") as tmp:
        config = course.generate_config(course_root)
        config.CourseDirectory.root = str(Path(course_root).resolve())
        config.CourseDirectory.course_id = course.course_id
        config.CourseDirectory.source_directory = "source"
        config.CourseDirectory.release_directory = str(Path(tmp) / "release")
        config.CourseDirectory.db_url = db_url
        config.CourseDirectory.assignment_id = assignment_id
        coursedir = CourseDirectory(config=config)
        converter = GenerateAssignment(coursedir=coursedir, config=config)
        converter.force = True
        converter.log = quiet_logger()
        try:
            converter.start()
        except Exception as err:  # NbGraderException / RuntimeError from SaveCells
            raise GradebookError(
                f"{course_root}/source/{assignment_id}: nbgrader could not store the master in "
                f"the gradebook {db_url} ({err}). If the master changed its graded cells after "
                "grading started, grade into a new --out folder."
            ) from err


def _read_master(gb, assignment_id: str, path: Path) -> MasterNotebook:
    """The master's cells as the gradebook holds them, in the master file's order."""
    from nbgrader.api import MissingEntry

    name = path.stem
    notebook = gb.find_notebook(name, assignment_id)
    graded = {c.name: c for c in notebook.grade_cells}
    tasks = {c.name: c for c in notebook.task_cells}
    solutions = {c.name for c in notebook.solution_cells}
    master = MasterNotebook(assignment_id, name, sha256=file_sha256(path), path=path)
    for grade_id, code_before in _master_order(path):
        try:
            src = gb.find_source_cell(grade_id, name, assignment_id)
        except MissingEntry:
            continue
        cell = MasterCell(grade_id, src.cell_type, src.source, bool(src.locked), src.checksum,
                          solution=grade_id in solutions, task=grade_id in tasks,
                          code_before=code_before)
        if grade_id in graded:
            cell.points = float(graded[grade_id].max_score)
        elif grade_id in tasks:
            cell.points = float(tasks[grade_id].max_score)
        master.cells.append(cell)
    return master


def _gradebook_matches(gb, assignment_id: str, paths: list[Path], config) -> bool:
    """True when the gradebook already holds these exact master cells (solutions cleared by
    the course's `config`, as SaveCells stores them)."""
    import nbformat
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import ClearSolutions

    clear = ClearSolutions(log=quiet_logger(), config=config)
    try:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            language = nb.metadata.get("kernelspec", {}).get("language", "python")
            stored = {c.name: c for c in gb.find_notebook(path.stem, assignment_id).source_cells}
            cells = [c for c in nb.cells if isinstance(c.metadata.get("nbgrader"), dict)
                     and c.metadata["nbgrader"].get("grade_id")]
            if len(cells) != len(stored):
                return False
            for cell in cells:
                gid = cell.metadata["nbgrader"]["grade_id"]
                if gid not in stored or stored[gid].source != _released_source(cell, clear,
                                                                               language):
                    return False
    except (MissingEntry, KeyError, RuntimeError):  # RuntimeError: a broken solution region
        return False  # GenerateAssignment then stores it, or names what is wrong
    return True


def _released_source(cell, clear, language: str) -> str:
    """The source SaveCells stores: solutions cleared by `clear` (the course's
    ClearSolutions), hidden tests kept."""
    if not cell.metadata["nbgrader"].get("solution"):
        return cell.source
    clone = cell.copy()
    clone.source = cell.source
    clear.preprocess_cell(clone, {"language": language}, 0)  # a cell without a region: stub
    return clone.source


def alembic_head() -> str:
    """The schema revision nbgrader stamps into a new gradebook, read in this process."""
    import nbgrader
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    return ScriptDirectory.from_config(config).get_current_head()


def use_in_process_alembic_head() -> None:
    """Have nbgrader read that revision with alembic_head: for a new gradebook it runs the
    `alembic` command instead, which takes ~2 s and fails unless the venv's bin is on PATH."""
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head


def course_late_policy(course_root: Path):
    """The course's due dates and late policy (autograding.grading.due_dates), checked
    against its masters; raises GradebookError naming the config file and the fix."""
    from autograding.grading.due_dates import LatePolicyError, load_course_policy

    try:
        policy = load_course_policy(course_root)
        policy.check_assignments(find_masters(course_root))
    except LatePolicyError as err:
        raise GradebookError(str(err)) from None
    return policy


def course_settings(course_root: Path) -> CourseSettings:
    """The course's nbgrader settings (autograding.grading.course_settings); raises
    GradebookError naming the config file and the fix."""
    try:
        return load_course_settings(course_root)
    except CourseConfigError as err:
        raise GradebookError(str(err)) from None


def register_masters(db_url: str, course_root: Path, assignment_ids=None) -> dict:
    """Store the masters in the gradebook (when changed), each assignment with the due date
    of the course's nbgrader_config.py (none if it names none); {assignment: [masters]}.
    Each assignment is one transaction: all of it is stored, or none. A new SQLite gradebook
    starts as a cached copy holding the same masters (grading.gradebook_template)."""
    use_in_process_alembic_head()
    validate_schema_once()  # generate_assignment validates every cell's metadata
    course_root = Path(course_root)
    policy = course_late_policy(course_root)
    course = course_settings(course_root)
    found = find_masters(course_root, assignment_ids)
    template = GradebookTemplate.for_new(db_url, course_root, found)
    if template is None:
        return _store_masters(db_url, course_root, found, policy, course)
    if template.restore():
        try:
            return _store_masters(db_url, course_root, found, policy, course)
        except Exception:  # noqa: BLE001 (a copy that does not work: store them afresh)
            template.discard()
    masters = _store_masters(db_url, course_root, found, policy, course)
    template.save()
    return masters


def _store_masters(db_url: str, course_root: Path, found: dict, policy, course) -> dict:
    """register_masters' work on an open gradebook: the `found` masters stored (when
    changed) with their due dates, each assignment one transaction."""
    from autograding.grading.due_dates import store_due_date

    masters = {}
    with shared_gradebook(db_url, course.course_id) as gb:
        for assignment_id, paths in found.items():
            with one_transaction(gb):
                if not _gradebook_matches(gb, assignment_id, paths, course.config):
                    _generate_into_gradebook(db_url, course_root, assignment_id, course)
                store_due_date(gb, assignment_id, policy.due_date(assignment_id))
            masters[assignment_id] = [_read_master(gb, assignment_id, p) for p in paths]
            for master in masters[assignment_id]:
                master.late_rule = policy.rule(assignment_id)
                master.hidden_tests = course.hidden_tests
    return masters


def masters_from_gradebook(db_url: str) -> dict:
    """{assignment: [MasterNotebook]} from the gradebook alone (cell order by name)."""
    from nbgrader.api import Gradebook

    masters = {}
    with Gradebook(db_url, ANY_COURSE) as gb:
        for assignment in gb.assignments:
            notebooks = []
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                graded = {c.name: c for c in notebook.grade_cells}
                tasks = {c.name: c for c in notebook.task_cells}
                solutions = {c.name for c in notebook.solution_cells}
                master = MasterNotebook(assignment.name, notebook.name)
                for src in sorted(notebook.source_cells, key=lambda c: c.name):
                    cell = MasterCell(src.name, src.cell_type, src.source, bool(src.locked),
                                      src.checksum, solution=src.name in solutions,
                                      task=src.name in tasks)
                    owner = graded.get(src.name) or tasks.get(src.name)
                    if owner is not None:
                        cell.points = float(owner.max_score)
                    master.cells.append(cell)
                notebooks.append(master)
            masters[assignment.name] = notebooks
    return masters
