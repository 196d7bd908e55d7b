"""Build the sample class on disk, with the score every submission must get.

Each student copy starts from the released notebook (nbgrader's generate_assignment, through
autograding.course.release) and gets its answers from the masters' solutions. Expected scores
are never typed in: they are the masters' points of the test cells expected to pass in a
reference run (autograding.demo.oracles), or zero, as each submission's rule says; a late
hand-in (autograding.demo.late.hand_in_late) then loses what the course's late policy takes.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograding.course.release import COURSE_ROOT
from autograding.demo.assignments import fill, load_assignments
from autograding.demo.colab import colab_saved
from autograding.demo.oracles import run_oracles
from autograding.demo.roster import FULL_STUDENTS, make_submission, roster
from autograding.demo.submission import SampleSubmission


@dataclass
class SampleClass:
    """The sample class on disk and the expected score of each submission."""

    submitted_dir: Path
    submissions: list[SampleSubmission]
    expected_cells: dict[tuple[str, str], dict[str, float]]
    max_scores: dict[str, float]
    oracle_seconds: float = 0.0
    penalties: dict[tuple[str, str], float] = field(default_factory=dict)  # late hand-ins

    @property
    def expected(self) -> dict[tuple[str, str], float]:
        """{(student, assignment): expected total score, after any late penalty}."""
        return {key: round(float(sum(cells.values())) - self.penalties.get(key, 0.0), 6)
                for key, cells in self.expected_cells.items()}

    @property
    def needs_sandbox(self) -> set[tuple[str, str]]:
        """Submissions whose expected score assumes a real sandbox (not --sandbox none)."""
        return {(s.student, s.assignment) for s in self.submissions if s.needs_sandbox}

    @property
    def flagged(self) -> set[tuple[str, str]]:
        """Submissions the grader must flag for review (and no others)."""
        return {(s.student, s.assignment) for s in self.submissions if s.flagged}

    @property
    def canaries(self) -> list[Path]:
        """Files a hostile submission tries to create outside its sandbox."""
        return [Path(p) for s in self.submissions for p in s.canaries]

    def describe(self) -> dict[tuple[str, str], str]:
        """{(student, assignment): what the submission does}."""
        return {(s.student, s.assignment): f"{s.kind}: {s.description}" for s in self.submissions}


def sandboxed(modes: str | None) -> bool:
    """Whether a batch ran every notebook in a sandbox (GradingReport.sandbox lists modes)."""
    used = {m.strip() for m in (modes or "").split(",") if m.strip()}
    return bool(used) and used <= {"bwrap", "namespaces"}


def make_sample_class(submitted_dir, n_students: int = 24, *, course_root=None,
                      assignments=None, cache_dir=None, workers: int = 2, released_dir=None,
                      echo=print) -> SampleClass:
    """Write the sample class into `submitted_dir` and compute every expected score."""
    submitted_dir = Path(submitted_dir).resolve()
    course_root = Path(course_root or COURSE_ROOT).resolve()
    material = load_assignments(course_root, assignments, released_dir)
    names = list(material)
    submissions = []
    for student, kind, chosen in roster(n_students, names):
        for name in chosen:
            sub = make_submission(student, kind, material[name], submitted_dir=submitted_dir,
                                  course_root=course_root, classmate=FULL_STUDENTS[0][0])
            submissions.append(sub)
    needed = {(s.assignment, s.oracle) for s in submissions if s.oracle}
    needed |= {(s.assignment, "correct") for s in submissions if s.dead_after}
    started = time.monotonic()
    oracles = run_oracles(material, needed, cache_dir=cache_dir, workers=workers, echo=echo)
    expected = {}
    for sub in submissions:
        a = material[sub.assignment]
        if sub.zero:
            cells = {g: 0.0 for g in a.points}
        elif sub.dead_after:
            correct = oracles[(sub.assignment, "correct")][0]
            cut = a.order.index(sub.dead_after)
            cells = {g: (correct[g] if a.order.index(g) < cut else 0.0) for g in a.points}
        else:
            cells = dict(oracles[(sub.assignment, sub.oracle)][0])
        expected[(sub.student, sub.assignment)] = cells
    _write_class(submitted_dir, submissions)
    max_scores = {name: a.max_score for name, a in material.items()}
    return SampleClass(submitted_dir, submissions, expected, max_scores,
                       time.monotonic() - started)


def build_sample_class(submitted_dir, n_students: int = 24, **kwargs) -> dict:
    """Write the sample class; return {(student, assignment): expected total score}."""
    return make_sample_class(submitted_dir, n_students, **kwargs).expected


def _write_class(submitted_dir: Path, submissions: list[SampleSubmission]) -> None:
    """Replace the class's folders under submitted_dir (other folders are left alone)."""
    for sub in submissions:
        folder = submitted_dir / sub.student / sub.assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for rel, data in sub.files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def write_colab_fixture(path, *, course_root=None, assignment: str = "05_mse_gradients",
                        cache_dir=None) -> Path:
    """(Re)generate the Colab-saved test fixture: a correct notebook, run, saved by Colab."""
    material = load_assignments(course_root, [assignment])[assignment]
    executed = run_oracles({assignment: material}, {(assignment, "correct")},
                           cache_dir=cache_dir)[(assignment, "correct")][1]
    from autograding.course.links import colab_url, load_course_config

    text = colab_saved(fill(material), seed=f"fixture/{assignment}", executed=executed,
                       badge_url=colab_url(assignment, load_course_config()))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", "utf-8")
    return path
