"""One sample submission: its files, what it must score, and what its builder is given.

Each kind of submission (honest, broken, hostile: the modules of those names) has a builder
that takes a SubmissionContext and returns a SampleSubmission. The expected score is never a
number here, only a rule: the per-cell scores of a reference run (`oracle`), or those of the
correct run up to the answer after which the kernel is gone (`dead_after`), or zero; and
whether the grader must flag it for review (`flagged`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograding.demo.assignments import Assignment, notebook_text


@dataclass
class SampleSubmission:
    """One (student, assignment) of the sample class and what it must score."""

    student: str
    assignment: str
    kind: str
    description: str
    files: dict[str, bytes]  # name inside submitted/<student>/<assignment>/ -> content
    oracle: str = ""  # oracle key whose per-cell scores apply
    dead_after: str = ""  # grade id of the answer after which no later cell runs (killed)
    zero: bool = False
    needs_sandbox: bool = False
    flagged: bool = False  # its code replaces what tests compare with: flagged for review
    canaries: list[str] = field(default_factory=list)  # files that must never appear


@dataclass(frozen=True)
class SubmissionContext:
    """Who hands in which assignment as which kind, and where the class and course live."""

    student: str
    kind: str
    assignment: Assignment
    submitted_dir: Path
    course_root: Path
    classmate: str  # a student whose correct notebook a cheat may try to copy

    @property
    def notebook_name(self) -> str:
        """The file name the grader looks for."""
        return f"{self.assignment.name}.ipynb"

    @property
    def first(self) -> str:
        """Grade id of the first answer."""
        return self.assignment.answers[0]

    @property
    def middle(self) -> str:
        """Grade id of the middle answer (the earlier one of two)."""
        answers = self.assignment.answers
        return answers[(len(answers) - 1) // 2]

    @property
    def last(self) -> str:
        """Grade id of the last answer a test depends on (Assignment.last_tested_answer)."""
        return self.assignment.last_tested_answer

    def empty(self) -> SampleSubmission:
        """A submission of this student, assignment and kind with no files yet."""
        return SampleSubmission(self.student, self.assignment.name, self.kind, "", {})

    def notebook(self, nb: dict, oracle: str, description: str) -> SampleSubmission:
        """A submission of one notebook under its right name, scored like `oracle`."""
        sub = self.empty()
        sub.files[self.notebook_name] = notebook_text(nb).encode()
        sub.oracle, sub.description = oracle, description
        return sub


SubmissionBuilder = Callable[[SubmissionContext], SampleSubmission]
