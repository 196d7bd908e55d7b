"""A class's answer cells per assignment, read safely from submitted/; unreadable ones skipped.

Nothing here runs student code or writes into submitted/: folders are listed without following
links, notebooks are read by the grader's safe reader, and a notebook that cannot be read is a
Skipped entry with the reason, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograding.grading.course_settings import CourseConfigError, load_course_settings
from autograding.grading.gradebook import GradebookError, find_masters
from autograding.grading.submission import SubmissionError
from autograding.similarity.cells import AnswerCode, MasterAnswers, load_master, read_answers


class SimilarityError(ValueError):
    """The similarity report cannot be made; the message names the file and the fix."""


@dataclass(frozen=True)
class Skipped:
    """A hand-in left out of the comparison, and why."""

    assignment: str
    student: str
    reason: str


@dataclass
class ClassAnswers:
    """Every readable hand-in's answers, per assignment and student, and what was skipped."""

    answers: dict[str, dict[str, AnswerCode]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    boilerplate: dict[str, str] = field(default_factory=dict)  # assignment -> released code


def load_masters(course_root: Path, assignments=None) -> dict[str, list[MasterAnswers]]:
    """{assignment: its masters' answer cells and stubs} from course_root/source/."""
    try:
        found = find_masters(course_root, assignments)
    except GradebookError as err:
        raise SimilarityError(str(err)) from err
    if assignments:
        unknown = sorted(set(assignments) - set(found))
        if unknown:
            raise SimilarityError(
                f"{Path(course_root) / 'source'}: no master for {', '.join(unknown)}; "
                f"the assignments are {', '.join(sorted(found)) or '(none)'}")
    if not found:
        raise SimilarityError(f"{Path(course_root) / 'source'}: no master notebooks; pass the "
                              "course folder holding source/<assignment>/<assignment>.ipynb")
    try:  # the course's stub and delimiters decide what its students were given
        config = load_course_settings(course_root).config
    except CourseConfigError as err:
        raise SimilarityError(str(err)) from err
    return {assignment: [load_master(path, assignment, config) for path in paths]
            for assignment, paths in found.items()}


def _folders(folder: Path) -> list[Path]:
    """Visible entries of a folder in name order ([] when it cannot be listed)."""
    try:
        return sorted((p for p in folder.iterdir() if not p.name.startswith(".")),
                      key=lambda p: p.name)
    except OSError:
        return []


def _hand_in(folder: Path, masters: list[MasterAnswers]) -> AnswerCode:
    """One student's answers to one assignment: every master notebook's cells, in order."""
    if folder.is_symlink() or not folder.is_dir():
        raise SubmissionError(f"{folder.name} is a link or a file, not a folder")
    parts = [read_answers(folder / f"{master.name}.ipynb", master) for master in masters]
    if len(parts) == 1:
        return parts[0]
    return AnswerCode("".join(p.text for p in parts), sum((p.cells for p in parts), ()),
                      any(p.by_content for p in parts))


def collect(submitted: Path, masters: dict[str, list[MasterAnswers]]) -> ClassAnswers:
    """The answers of submitted/<student>/<assignment>/ for every assignment with a master."""
    if not Path(submitted).is_dir():
        raise SimilarityError(f"{submitted}: no such folder; pass the submissions folder laid "
                              "out as <student>/<assignment>/<assignment>.ipynb (e.g. from "
                              "`intake`)")
    found = ClassAnswers(answers={assignment: {} for assignment in masters})
    for assignment, notebooks in masters.items():
        found.boilerplate[assignment] = "\n\n".join(m.boilerplate for m in notebooks)
    for student_dir in _folders(Path(submitted)):
        if student_dir.is_symlink() or not student_dir.is_dir():
            continue
        for folder in _folders(student_dir):
            if folder.name not in masters:
                continue
            try:
                answers = _hand_in(folder, masters[folder.name])
            except SubmissionError as err:
                found.skipped.append(Skipped(folder.name, student_dir.name, str(err)))
                continue
            found.answers[folder.name][student_dir.name] = answers
    return found
