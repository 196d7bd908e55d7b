"""The sample class: its composition, and every submission graded to its expected score.

One session fixture builds the class from the masters (reference runs are cached in
~/.cache/linreg-course/oracle) and one grades it with the pipeline, 2 workers, 10 s per cell.
The same batch shows that the masters' answers are not flagged and that the demo's patching
student earns nothing (it was a batch of its own in tests/grading/test_patched_tests.py).
"""

import hashlib
import html
import json
import math
import shutil
from pathlib import Path

import pytest

from autograding.demo import (
    FIRST_ANSWER_HOSTILE,
    FULL_STUDENTS,
    SINGLE_STUDENTS,
    available_assignments,
    grade_table,
    load_assignments,
    make_sample_class,
    sandboxed,
)
from autograding.intake import notebook_problem

pytestmark = pytest.mark.slow
FIXTURE = Path(__file__).parents[1] / "fixtures" / "colab_saved_example.ipynb"
FIXTURE_STUDENT = "colab_fixture"
FIXTURE_ASSIGNMENT = "05_mse_gradients"
# One more student: the wrong answers the patching student hands in, without the patch.
WRONG_STUDENT = "plain_wrong"


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under root."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    if not available_assignments():
        pytest.skip("no master notebooks in autograding/source yet")
    root = tmp_path_factory.mktemp("sample-class")
    return make_sample_class(root / "submitted", 24, workers=2)


@pytest.fixture(scope="session")
def graded(sample, tmp_path_factory):
    """The class (plus the Colab fixture as one more student) graded once."""
    from autograding.api import grade_submissions
    from autograding.course.release import NOTEBOOKS_DIR
    from autograding.demo.assignments import notebook_text, one_off_answers
    from autograding.engine.limits import Limits

    submitted = sample.submitted_dir
    if FIXTURE_ASSIGNMENT in sample.max_scores:
        target = submitted / FIXTURE_STUDENT / FIXTURE_ASSIGNMENT
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURE, target / f"{FIXTURE_ASSIGNMENT}.ipynb")
    name = _patcher(sample).assignment
    (a,) = load_assignments(assignments=[name], released_dir=NOTEBOOKS_DIR).values()
    target = submitted / WRONG_STUDENT / name / f"{name}.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(notebook_text(one_off_answers(a)))
    before = tree_hashes(submitted)
    limits = Limits(cell_timeout=10.0, notebook_timeout=120.0, memory_bytes=int(2.5 * 2**30))
    out = tmp_path_factory.mktemp("graded")
    report = grade_submissions(submitted, out, workers=2, limits=limits, progress=False)
    return report, before, tree_hashes(submitted)


def _patcher(sample):
    """The sample student who replaces what the tests compare with (kind patch_tests)."""
    return next(s for s in sample.submissions if s.kind == "patch_tests")


def test_roster_covers_every_case(sample):
    kinds = {s.kind for s in sample.submissions}
    assert kinds == {k for _, k in FULL_STUDENTS} | {k for _, k in SINGLE_STUDENTS}
    students = {s.student for s in sample.submissions}
    assert len(students) >= 24
    names = set(sample.max_scores)
    for student, _ in FULL_STUDENTS:
        assert {a for s, a in sample.expected if s == student} == names


def test_expected_scores_follow_the_rules(sample):
    by_kind = {}
    for sub in sample.submissions:
        by_kind.setdefault(sub.kind, []).append((sub.student, sub.assignment))
    expected = sample.expected
    for student, name in by_kind["correct"]:
        assert expected[(student, name)] == sample.max_scores[name], (
            f"the master of {name} does not pass its own tests")
        assert expected[("dana_blank", name)] <= expected[("cai_partial", name)]
        assert expected[("cai_partial", name)] <= expected[(student, name)]
        assert expected[("eli_erroring", name)] < sample.max_scores[name]
    zero_kinds = ("not_json", "empty_file", "text_file", "missing_notebook",
                  "wrong_name")
    full_kinds = ("alternative", "delete_tests", "million_lines", "display_flood",
                  "extra_files", "odd_names", "colab_saved", "nbformat3", "skip_tests")
    for kind in zero_kinds:
        assert all(expected[key] == 0 for key in by_kind[kind]), kind
    for kind in full_kinds:
        assert all(expected[key] == sample.max_scores[key[1]] for key in by_kind[kind]), kind
    for kind in ("edit_tests", "duplicate_tests", "fake_pass"):
        for key in by_kind[kind]:
            assert expected[key] == expected[("dana_blank", key[1])], kind
    for kind in FIRST_ANSWER_HOSTILE:
        for key in by_kind[kind]:
            assert expected[key] < sample.max_scores[key[1]], kind
    (key,) = by_kind["kill_midway"]
    assert 0 < expected[key] < sample.max_scores[key[1]]


def _notebook(sample, kind):
    sub = next(s for s in sample.submissions if s.kind == kind)
    return sub, sub.files.get(f"{sub.assignment}.ipynb")


def test_submission_files_do_what_they_say(sample):
    _, data = _notebook(sample, "delete_tests")
    cells = json.loads(data)["cells"]
    assert not any(c["metadata"].get("nbgrader", {}).get("grade") for c in cells)
    _, data = _notebook(sample, "duplicate_tests")
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in json.loads(data)["cells"]]
    graded_ids = [i for i in ids if i and ids.count(i) == 2]
    assert graded_ids
    _, data = _notebook(sample, "loop_forever")
    assert "while True:" in data.decode()
    _, data = _notebook(sample, "colab_saved")
    colab = json.loads(data)
    assert colab["metadata"]["kernelspec"] == {"name": "python3", "display_name": "Python 3"}
    assert "colab" in colab["metadata"] and colab["metadata"]["accelerator"] == "GPU"
    assert all(len(c["metadata"]["id"]) == 12 for c in colab["cells"])
    for kind in ("not_json", "empty_file", "nbformat3", "text_file"):
        _, data = _notebook(sample, kind)
        assert notebook_problem(data), kind
    sub, data = _notebook(sample, "missing_notebook")
    assert data is None and sub.files
    for sub in sample.submissions:
        folder = sample.submitted_dir / sub.student / sub.assignment
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                      if p.is_file()) == sorted(sub.files)


def test_every_submission_gets_its_expected_score(sample, graded):
    report, _, _ = graded
    scores = report.scores()
    leaky = set() if sandboxed(report.sandbox) else sample.needs_sandbox
    wrong = []
    described = sample.describe()
    for key, cells in sorted(sample.expected_cells.items()):
        if key in leaky:
            continue
        got = scores.get(key)
        if got is None or any(not math.isclose(got.get(g, -1), v) for g, v in cells.items()):
            wrong.append(f"{key[0]}/{key[1]} ({described[key]}): expected {cells}, got {got}"
                         f"\n    {why_graded_so(report, key)}")
    assert not wrong, "\n".join(wrong)


def why_graded_so(report, key) -> str:
    """The grader's comments, status and time, and the errors in the graded notebook: what
    a failure on CI, where the files are gone afterwards, needs to be understood."""
    from autograding.grading.files import autograded_path

    result = report.results.get(key)
    if result is None:
        return "no result"
    errors = []
    path = autograded_path(report.out_dir, key[0], key[1], key[1])
    if path.exists():
        for cell in json.loads(path.read_text()).get("cells", []):
            errors += [f"{o.get('ename')}: {o.get('evalue', '')[:300]}"
                       for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return (f"status {result.status}, {result.seconds:.1f} s, comments {result.comments}, "
            f"errors {errors[:4]}")


def test_grading_leaves_submissions_byte_identical(sample, graded):
    _, before, after = graded
    assert before == after
    for canary in sample.canaries:
        assert not canary.exists(), f"a submission escaped its sandbox and wrote {canary}"


def test_output_floods_are_cut_in_the_feedback(sample, graded):
    """The flooding submissions keep their marks (above); their pages say what was cut and
    stay small (100,000 tiny displays uncut made a 14 MB page)."""
    from autograding.reports.feedback import feedback_path

    report, _, _ = graded
    for kind, note in [
        ("million_lines", "... Output truncated ..."),  # nbgrader's LimitOutput: 1,000 lines
        ("display_flood", "[output truncated: this cell produced more than 1000 outputs]"),
    ]:
        sub, _ = _notebook(sample, kind)
        page = feedback_path(report.out_dir, sub.student, sub.assignment, sub.assignment)
        assert note in page.read_text(), kind
        assert page.stat().st_size < 2**20, kind


def test_colab_fixture_is_graded_like_the_original(sample, graded):
    if FIXTURE_ASSIGNMENT not in sample.max_scores:
        pytest.skip(f"master {FIXTURE_ASSIGNMENT} missing")
    report, _, _ = graded
    scores = report.scores()
    original = scores[(FULL_STUDENTS[0][0], FIXTURE_ASSIGNMENT)]
    assert scores[(FIXTURE_STUDENT, FIXTURE_ASSIGNMENT)] == original
    assert sum(original.values()) == sample.max_scores[FIXTURE_ASSIGNMENT]


def test_a_copy_of_the_notebook_beside_it_is_named_as_not_graded(sample, graded):
    report, _, _ = graded
    sub, _ = _notebook(sample, "odd_names")
    comments = report.results[(sub.student, sub.assignment)].comments
    assert any(f"not graded: Copy of {sub.assignment}.ipynb" in c for c in comments), comments


def test_grade_table_marks_differences(sample):
    totals = dict(sample.expected)
    key = next(iter(sorted(totals)))
    totals[key] += 1
    table, wrong = grade_table(sample, totals)
    assert wrong == 1
    assert sum("✘" in line for line in table.splitlines()) == 1
    assert all(len(line) <= 100 for line in table.splitlines())


def test_only_the_patching_hand_ins_are_flagged_and_score_as_without_the_patch(sample,
                                                                                 graded):
    report, _, _ = graded
    assert {key for key, result in report.results.items() if result.replaced} == sample.flagged
    flagged = {s.kind: s for s in sample.submissions if (s.student, s.assignment) in
               sample.flagged}
    assert set(flagged) == {"patch_tests", "skip_tests"}
    # The transformer that emptied the tests was taken out before each of them, and named.
    skipper = flagged["skip_tests"]
    assert any("transform" in name and "restored before each test" in name
               for name in report.results[(skipper.student, skipper.assignment)].replaced)
    sub = flagged["patch_tests"]
    key = (sub.student, sub.assignment)
    assert sub.oracle == "wrong"
    assert sample.expected[key] < sample.max_scores[key[1]]
    assert {"torch.allclose", "fractions.Fraction.__eq__", "builtins.isinstance"} <= set(
        report.results[key].replaced)


def test_the_masters_are_not_flagged_and_the_demo_s_patch_earns_nothing(sample, graded):
    """The correct student's notebooks (the masters' answers) get full marks and no flag; the
    patching student scores what its answers score without the patch, nothing, and its
    feedback names what it replaced."""
    report, _, _ = graded
    for name, max_score in sample.max_scores.items():
        result = report.results[(FULL_STUDENTS[0][0], name)]
        assert (result.total, result.replaced) == (max_score, []), (name, result.comments)
    patcher = _patcher(sample)
    name = patcher.assignment
    assert report.results[(WRONG_STUDENT, name)].replaced == []
    cheat = report.results[(patcher.student, name)]
    assert cheat.total == report.results[(WRONG_STUDENT, name)].total == 0
    assert {"torch.allclose", "torch.equal", "numpy.allclose", "math.isclose",
            "fractions.Fraction.__eq__", "builtins.abs", "builtins.all",
            "builtins.isinstance"} <= set(cheat.replaced)
    from autograding.reports.feedback import feedback_path

    page = feedback_path(report.out_dir, patcher.student, name, name)
    assert html.escape("torch.allclose") in page.read_text()
