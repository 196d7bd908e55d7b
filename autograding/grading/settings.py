"""A batch's settings (one frozen object from the CLI or API) and its plan, decided once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from autograding.engine.limits import Limits
from autograding.engine.sandbox import MODES as SANDBOX_MODES
from autograding.grading.course_settings import (
    CourseConfigError,
    CourseSettings,
    load_course_settings,
)

DEFAULT_EXECUTOR = "autograding.engine.executor:execute_notebook"


class GradingError(RuntimeError):
    """The batch cannot start (bad folder, no sandbox, unreachable scheduler); the message says
    the fix."""


@dataclass(frozen=True)
class GradingSettings:
    """How to grade: where to run, with which limits, what to grade and what to check first."""

    workers: int | None = None  # local worker processes (default: the number of cores)
    scheduler: str | None = None  # a Dask scheduler address instead of local workers
    limits: Limits = field(default_factory=Limits)
    force: bool = False  # grade again what a done-marker says is graded and unchanged
    course_root: Path | None = None  # folder holding source/<assignment>/ (default: the kit's)
    progress: bool = True  # progress bar on stderr
    assignments: tuple[str, ...] = ()  # only these (empty: all)
    students: tuple[str, ...] = ()  # only these (empty: all)
    sandbox: str = "auto"  # auto | bwrap | namespaces | none
    executor: str = DEFAULT_EXECUTOR  # "module:function" that runs one job in a worker
    db_url: str | None = None  # nbgrader gradebook (default: sqlite:///<out>/gradebook.db)
    # Run each master in the sandbox first and note lost points (the CLI's default is True,
    # `--no-master-check`; off here so library callers and tests run only what they ask for).
    check_masters: bool = False
    # The course's Execute.timeout as the cell time limit: None (the default) when
    # limits.cell_timeout is Limits' default, True always, False never (the CLI's --timeout).
    course_timeout: bool | None = None

    def __post_init__(self):
        # Callers pass lists or None; a frozen settings object keeps tuples.
        for name in ("assignments", "students"):
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))
        if self.limits is None:
            object.__setattr__(self, "limits", Limits())
        if self.course_root is not None:
            object.__setattr__(self, "course_root", Path(self.course_root))
        if self.sandbox not in SANDBOX_MODES:
            raise GradingError(f"sandbox {self.sandbox!r}: choose one of "
                               f"{', '.join(SANDBOX_MODES)}")

    @classmethod
    def from_options(cls, settings: GradingSettings | None = None,
                     **options) -> GradingSettings:
        """`settings` (or the defaults) with the given fields replaced; unknown names fail."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown grading option(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(known))}")
        base = {f.name: getattr(settings, f.name) for f in fields(cls)} if settings else {}
        return cls(**{**base, **options})

    def wants_assignment(self, assignment: str) -> bool:
        """True when the assignment filter lets `assignment` into the batch."""
        return not self.assignments or assignment in self.assignments

    def wants_student(self, student: str) -> bool:
        """True when the student filter lets `student` into the batch."""
        return not self.students or student in self.students

    def worker_count(self, jobs: int) -> int:
        """Local workers for `jobs` notebooks: as asked (default: cores), at most one per job."""
        return max(1, min(self.workers or os.cpu_count() or 1, jobs))

    def batch_limits(self, course: CourseSettings) -> Limits:
        """The limits of a batch: these settings' limits, with the course's Execute.timeout
        as the cell time limit when course_timeout says so (see the field)."""
        use = self.course_timeout
        if use is None:
            use = self.limits.cell_timeout == Limits().cell_timeout
        if not use or course.cell_timeout is None:
            return self.limits
        return replace(self.limits, cell_timeout=course.cell_timeout)


@dataclass(frozen=True)
class BatchPlan:
    """One batch: its folders and gradebook, the sandbox decided, the paths kernels must not see."""

    submitted: Path
    out_dir: Path
    course: Path
    db_url: str
    sandbox: str  # resolved ("bwrap", ...), or as asked when Dask workers choose
    hidden: tuple[str, ...]
    settings: GradingSettings
    # The course's nbgrader_config.py as the grader honours it, and the limits it gives the
    # notebooks (both read from `course` and `settings` when not given).
    course_settings: CourseSettings | None = None
    limits: Limits | None = None

    def __post_init__(self):
        if self.course_settings is None:
            try:
                object.__setattr__(self, "course_settings", load_course_settings(self.course))
            except CourseConfigError as err:
                raise GradingError(str(err)) from None
        if self.limits is None:
            object.__setattr__(self, "limits", self.settings.batch_limits(self.course_settings))
