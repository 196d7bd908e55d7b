"""The settings of a graded course's nbgrader_config.py that the grader honours as nbgrader does.

The file is loaded once, by autograding.grading.due_dates (traitlets' loader, from the course
folder only, never the working folder). From it the grader takes:
- CourseDirectory.course_id: the course the gradebook's assignments belong to;
- CourseDirectory.ignore and Autograde.exclude_overwriting: which files beside the masters and
  the submissions reach the kernel (autograding.grading.assignment_files);
- ClearHiddenTests.begin_test_delimeter / end_test_delimeter: what the feedback hides;
- Execute.timeout (or ExecutePreprocessor.timeout): the cell time limit when the caller set none;
- the whole config for nbgrader's own steps, as nbgrader makes them: GenerateAssignment when
  the masters are stored (ClearSolutions' code stub and delimiters) and every preprocessor of
  autograding.grading.pipeline (OverwriteCells' add_missing_cells, LimitOutput, the late policy).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import TraitError
from traitlets.config import Config

DEFAULT_HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")  # nbgrader's defaults


class CourseConfigError(RuntimeError):
    """The course's nbgrader_config.py holds a setting the grader cannot use; the message
    names the file, the setting and the fix."""


@dataclass(frozen=True)
class CourseSettings:
    """What the grader takes from one course's nbgrader_config.py (module docstring)."""

    source: str = ""  # the nbgrader_config.py read ("" when the course has none)
    config: Config = field(default_factory=Config)  # the whole file, for nbgrader's steps
    course_id: str = ""  # nbgrader's default: no course
    hidden_tests: tuple[str, str] = DEFAULT_HIDDEN_TESTS
    cell_timeout: float | None = None  # Execute.timeout when the file sets it (0: no limit)
    ignore: tuple[str, ...] = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")
    exclude_overwriting: dict = field(default_factory=dict)  # assignment -> frozenset of names

    def kept_from_student(self, assignment: str) -> frozenset:
        """Files of `assignment` the student's copy wins over the course's (nbgrader's
        Autograde.exclude_overwriting), as relative POSIX paths."""
        return self.exclude_overwriting.get(assignment, frozenset())

    def generate_config(self, course_root: Path) -> Config:
        """A copy of the course's config for nbgrader's GenerateAssignment run in this process:
        a relative IncludeHeaderFooter header or footer is read from the course folder, where
        `nbgrader generate_assignment` (run there) finds it."""
        config = copy.deepcopy(self.config)
        for name in ("header", "footer"):
            value = config.IncludeHeaderFooter.get(name) if "IncludeHeaderFooter" in config \
                else None
            if isinstance(value, str) and value and not os.path.isabs(value):
                config.IncludeHeaderFooter[name] = str(Path(course_root).resolve() / value)
        return config


def _set_in(config: Config, cls, name: str) -> bool:
    """True when `config` sets trait `name` for `cls` or one of the classes it inherits from
    (traitlets applies those sections too: ExecutePreprocessor.timeout sets Execute's)."""
    return any(k.__name__ in config and name in config[k.__name__] for k in cls.mro())


def _exclude_overwriting(config: Config, where: str) -> dict:
    """Autograde.exclude_overwriting, checked: {assignment: frozenset of relative names}."""
    raw = config.Autograde.get("exclude_overwriting", {}) if "Autograde" in config else {}
    fix = ('give it as {"ps1": ["helper.py", "data/extra.csv"]}: assignment ids to lists of '
           "file names relative to source/<assignment>/")
    if not isinstance(raw, dict):
        raise CourseConfigError(f"{where}: c.Autograde.exclude_overwriting is not a dict; {fix}")
    kept = {}
    for assignment, names in raw.items():
        if not isinstance(names, (list, tuple, set, frozenset)) or not all(
                isinstance(n, str) for n in names):
            raise CourseConfigError(f"{where}: c.Autograde.exclude_overwriting[{assignment!r}] "
                                    f"is not a list of file names; {fix}")
        kept[str(assignment)] = frozenset(os.path.normpath(n).replace(os.sep, "/")
                                          for n in names)
    return kept


def settings_from_config(config: Config, source: str) -> CourseSettings:
    """CourseSettings from a loaded config (nbgrader's defaults for what it does not set)."""
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import ClearHiddenTests, Execute

    where = source or "nbgrader_config.py"
    explicit = _set_in(config, Execute, "timeout")
    try:
        coursedir = CourseDirectory(config=config)
        hidden = ClearHiddenTests(config=config)
        value = Execute(config=config).timeout if explicit else None
        course_id, ignore = coursedir.course_id, tuple(coursedir.ignore)
    except TraitError as err:
        raise CourseConfigError(f"{where}: {err}") from None
    delimiters = (hidden.begin_test_delimeter, hidden.end_test_delimeter)
    if not all(d.strip() for d in delimiters):
        raise CourseConfigError(f"{where}: c.ClearHiddenTests.begin_test_delimeter and "
                                "end_test_delimeter must not be empty (every line would be "
                                "hidden); remove them to use nbgrader's defaults")
    # nbclient reads None or -1 as no time limit; the engine reads 0 so.
    timeout = (float(value) if value and value > 0 else 0.0) if explicit else None
    return CourseSettings(source, config, course_id, delimiters, timeout, ignore,
                          _exclude_overwriting(config, where))


def load_course_settings(course_root) -> CourseSettings:
    """The course's settings from its nbgrader_config.py (read by due_dates' loader, cached
    while the file is unchanged); raises CourseConfigError."""
    from autograding.grading.due_dates import LatePolicyError, load_course_policy

    try:
        policy = load_course_policy(course_root)
    except LatePolicyError as err:
        raise CourseConfigError(str(err)) from None
    return settings_from_config(policy.config, policy.source)
