"""The grading pipeline end to end on a small nbgrader course: scores, hostile and corrupt
submissions, feedback without hidden tests, determinism, kill-and-resume, Dask."""

import copy
import csv
import html
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from grading_helpers import (
    ASSIGNMENT,
    HIDDEN_INPUT,
    HIDDEN_MESSAGE,
    HIDDEN_NAME,
    build_course,
    colab_copy,
    master_notebook,
    student_notebook,
    tree_hashes,
    v3_bytes,
    write_submission,
)

from autograding import GradingSettings, grade_submissions
from autograding.cli import main
from autograding.engine.limits import Limits
from autograding.reports.grades_csv import NBGRADER_COLUMNS

# Its courses' notebooks import none of torch, numpy, matplotlib (tests/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.without_course_libraries]
LIMITS = Limits(cell_timeout=20, notebook_timeout=60)


def _deleted_test():
    nb = student_notebook()
    del nb.cells[3]
    return nb


def _edited_test():
    nb = student_notebook(square_body="return 0")
    nb.cells[3].source = "print('All tests passed!')"
    return nb


def _duplicated_test():
    nb = student_notebook(square_body="return 0")
    fake = nbformat.v4.new_code_cell("pass", metadata=copy.deepcopy(nb.cells[3].metadata))
    nb.cells.insert(4, fake)
    return nb


def _tampered_points():
    nb = student_notebook(cube_body="return 0")
    nb.cells[5].metadata["nbgrader"]["points"] = 100
    return nb


# student -> (submission, expected {grade_id: score}); square_test is worth 2, cube_test 3.
CLASS = {
    "a_correct": (student_notebook(), {"square_test": 2, "cube_test": 3}),
    "b_hidden_wrong": (student_notebook(square_body="return 9 if x == 3 else 0"),
                       {"square_test": 0, "cube_test": 3}),
    "c_printer": (student_notebook(square_body="print('got', x); return 9"),
                  {"square_test": 0, "cube_test": 3}),
    "d_visible_wrong": (student_notebook(square_body="return 0"),
                        {"square_test": 0, "cube_test": 3}),
    # A warning on stderr does not fail a correct answer (nbgrader itself would give 0).
    "e_stderr": (student_notebook(square_body="import sys; sys.stderr.write('w'); return x * x"),
                 {"square_test": 2, "cube_test": 3}),
    "f_deleted_test": (_deleted_test(), {"square_test": 2, "cube_test": 3}),
    "g_edited_test": (_edited_test(), {"square_test": 0, "cube_test": 3}),
    "h_duplicated_test": (_duplicated_test(), {"square_test": 0, "cube_test": 3}),
    "i_tampered_points": (_tampered_points(), {"square_test": 2, "cube_test": 0}),
    "j_colab": (colab_copy(student_notebook()), {"square_test": 2, "cube_test": 3}),
    "k_nbformat3": (v3_bytes(student_notebook()), {"square_test": 2, "cube_test": 3}),
    "l_not_json": (b"{'cells': oops", {"square_test": 0, "cube_test": 0}),
    "m_empty": (b"", {"square_test": 0, "cube_test": 0}),
    "n_not_notebook": (b'{"hello": "world"}', {"square_test": 0, "cube_test": 0}),
    "o_dead_kernel": (student_notebook(cube_body="return x ** 3\nimport os; os._exit(1)"),
                      {"square_test": 2, "cube_test": 0}),
}
EXPECTED = {s: exp for s, (_, exp) in CLASS.items()}
EXPECTED["p_missing"] = {"square_test": 0, "cube_test": 0}
EXPECTED["q_symlink"] = {"square_test": 0, "cube_test": 0}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The synthetic course and its submitted/ folder."""
    root = tmp_path_factory.mktemp("course")
    build_course(root)
    submitted = root / "submitted"
    for student, (nb, _) in CLASS.items():
        write_submission(submitted, student, nb)
    (submitted / "p_missing" / ASSIGNMENT).mkdir(parents=True)
    (submitted / "p_missing" / ASSIGNMENT / "Copy of squares.ipynb").write_bytes(b"{}")
    (submitted / "q_symlink" / ASSIGNMENT).mkdir(parents=True)
    os.symlink(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
               submitted / "q_symlink" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return root, submitted


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """The class graded once with 2 workers; the submissions' hashes before and after."""
    root, submitted = course
    before = tree_hashes(submitted)
    out = tmp_path_factory.mktemp("out2")
    report = grade_submissions(submitted, out, workers=2, limits=LIMITS, course_root=root,
                               progress=False)
    return report, out, before, tree_hashes(submitted)


def test_every_submission_gets_its_expected_score(graded):
    report, _, _, _ = graded
    assert report.errors == 0, report.notes
    got = {s: {g: score for g, score in r.scores.items()} for (s, _), r in report.results.items()}
    assert got == EXPECTED
    for result in report.results.values():
        assert result.max_total == 5.0


def test_submissions_on_disk_are_unchanged(graded):
    _, _, before, after = graded
    assert before == after


def test_comments_explain_what_happened(graded):
    report, _, _, _ = graded
    comments = {s: " ".join(r.comments) for (s, _), r in report.results.items()}
    assert "missing" in comments["f_deleted_test"] and "restored" in comments["f_deleted_test"]
    assert "edited" in comments["g_edited_test"]
    assert "more than once" in comments["h_duplicated_test"]
    assert "changed" in comments["i_tampered_points"]
    assert "format 3" in comments["k_nbformat3"]
    assert "not valid JSON" in comments["l_not_json"]
    assert "empty" in comments["m_empty"]
    assert "not a Jupyter notebook" in comments["n_not_notebook"]
    assert "Copy of squares.ipynb" in comments["p_missing"]
    assert "symbolic link" in comments["q_symlink"]
    assert re.search(r"die|dead|died", comments["o_dead_kernel"], re.IGNORECASE)
    assert comments["a_correct"] == ""


def test_colab_copy_grades_exactly_like_the_original(graded):
    report, out, _, _ = graded
    assert report.results[("j_colab", ASSIGNMENT)].scores == \
        report.results[("a_correct", ASSIGNMENT)].scores

    def sources(student):
        nb = nbformat.read(out / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
        return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]

    assert sources("j_colab") == sources("a_correct")


def plain(page: str) -> str:
    """The text of an HTML page (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_feedback_never_shows_hidden_tests(graded):
    _, out, _, _ = graded
    pages = sorted((out / "feedback").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.html"))
    assert len(pages) == len(EXPECTED)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for secret in (HIDDEN_MESSAGE, HIDDEN_NAME, HIDDEN_INPUT, "BEGIN HIDDEN TESTS"):
            assert secret not in text and secret not in plain(text), (page, secret)
    printer = (out / "feedback" / "c_printer" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "a hidden test in this cell failed" in plain(printer)
    visible = (out / "feedback" / "d_visible_wrong" / ASSIGNMENT / f"{ASSIGNMENT}.html")
    assert "square(3) should be 9" in plain(visible.read_text())


def test_feedback_shows_points_code_and_comments(graded):
    _, out, _, _ = graded
    page = plain((out / "feedback" / "f_deleted_test" / ASSIGNMENT / f"{ASSIGNMENT}.html")
                 .read_text())
    assert "square_test" in page and "2 / 2" in page and "restored" in page
    assert "return x * x" in page


def test_csv_has_nbgrader_columns_and_one_per_graded_cell(graded):
    report, out, _, _ = graded
    with open(out / "grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    column = f"{ASSIGNMENT}/{ASSIGNMENT}"
    assert header == NBGRADER_COLUMNS + ["status", "flags", f"{column}:cube_test",
                                         f"{column}:square_test"]
    assert {r["status"] for r in rows} == {"graded"}
    by_student = {r["student_id"]: r for r in rows}
    for student, expected in EXPECTED.items():
        row = by_student[student]
        assert float(row["score"]) == sum(expected.values())
        assert float(row[f"{column}:square_test"]) == expected["square_test"]
    assert (out / "score_distribution.png").read_bytes()[:4] == b"\x89PNG"


def test_second_run_grades_nothing_and_force_regrades_the_same(graded, course):
    root, submitted = course
    report, out, _, _ = graded
    again = grade_submissions(submitted, out, limits=LIMITS, course_root=root, progress=False)
    assert again.graded == 0 and again.skipped == len(EXPECTED)
    assert again.scores() == report.scores()
    forced = grade_submissions(submitted, out, limits=LIMITS, course_root=root, progress=False,
                               force=True, students=["b_hidden_wrong"])
    assert forced.graded == 1
    assert forced.scores() == {k: v for k, v in report.scores().items()
                               if k[0] == "b_hidden_wrong"}


def test_one_worker_gives_the_same_scores(graded, course, tmp_path):
    root, submitted = course
    report, _, _, _ = graded
    students = ["a_correct", "b_hidden_wrong", "f_deleted_test", "j_colab", "o_dead_kernel"]
    single = grade_submissions(submitted, tmp_path / "out1", workers=1, limits=LIMITS,
                               course_root=root, progress=False, students=students)
    assert single.scores() == {k: v for k, v in report.scores().items() if k[0] in students}


def test_export_and_feedback_commands_rebuild_from_the_gradebook(graded, capsys):
    _, out, _, _ = graded
    csv_before = (out / "grades.csv").read_bytes()
    page = out / "feedback" / "a_correct" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    html_before = page.read_bytes()
    (out / "grades.csv").unlink()
    shutil.rmtree(out / "feedback")
    assert main(["export", "--out", str(out)]) == 0
    assert "a_correct" in capsys.readouterr().out
    assert main(["feedback", "--out", str(out)]) == 0
    assert (out / "grades.csv").read_bytes() == csv_before
    assert page.read_bytes() == html_before


def _subset(submitted: Path, target: Path, students) -> Path:
    for student in students:
        shutil.copytree(submitted / student, target / student, symlinks=True)
    return target


KILL_STUDENTS = ["a_correct", "b_hidden_wrong", "c_printer", "d_visible_wrong"]


def test_sigkill_then_rerun_loses_nothing_and_grades_nothing_twice(graded, course, tmp_path):
    root, submitted = course
    report, _, _, _ = graded
    sub = _subset(submitted, tmp_path / "submitted", KILL_STUDENTS)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograding", "grade", str(sub), "--out", str(out),
               "--course", str(root), "--workers", "1", "--quiet", "--timeout", "20"]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    done_dir = out / ".autograding" / "done"
    deadline = time.monotonic() + 240
    while not list(done_dir.glob("*/*/*.json")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no submission finished in time"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    markers = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in done_dir.glob("*/*/*.json")}
    assert 1 <= len(markers) < len(KILL_STUDENTS)
    resumed = grade_submissions(sub, out, workers=1, limits=LIMITS, course_root=root,
                                progress=False)
    assert resumed.skipped == len(markers)
    assert resumed.graded == len(KILL_STUDENTS) - len(markers)
    for path, (mtime, content) in markers.items():
        assert path.stat().st_mtime_ns == mtime and path.read_bytes() == content
    assert resumed.scores() == {k: v for k, v in report.scores().items()
                                if k[0] in KILL_STUDENTS}


def test_dask_cluster_gives_the_same_scores_as_the_local_pool(graded, course, tmp_path):
    distributed = pytest.importorskip("distributed")
    root, submitted = course
    report, _, _, _ = graded
    students = ["a_correct", "b_hidden_wrong", "f_deleted_test", "l_not_json"]
    sub = _subset(submitted, tmp_path / "submitted", students)
    with distributed.LocalCluster(processes=True, host="127.0.0.1", n_workers=2,
                                  threads_per_worker=1, dashboard_address=":0") as cluster:
        on_dask = grade_submissions(sub, tmp_path / "out", scheduler=cluster.scheduler_address,
                                    limits=LIMITS, course_root=root, progress=False)
    assert on_dask.errors == 0, on_dask.notes
    assert on_dask.scores() == {k: v for k, v in report.scores().items() if k[0] in students}


def test_a_done_marker_counts_only_with_its_scores_in_the_gradebook(graded, course, tmp_path):
    from nbgrader.api import Gradebook

    from autograding.grading.files import marker_path, remove_stale_temp_files
    from autograding.grading.gradebook import ANY_COURSE, masters_from_gradebook
    from autograding.grading.tasks import discover, is_done

    _, submitted = course
    _, out, _, _ = graded
    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    masters = masters_from_gradebook(f"sqlite:///{out / 'gradebook.db'}")
    tasks, _ = discover(submitted, masters, GradingSettings(students=["a_correct"]))
    (task,) = tasks
    task.fingerprint = json.loads(marker_path(out, task).read_text())["fingerprint"]
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", ANY_COURSE) as gb:
        assert is_done(out, task, gb)
    with Gradebook(fresh_url, ANY_COURSE) as gb:
        assert not is_done(out, task, gb)
    stale = out / "feedback" / "a_correct" / ".squares.html.abc123.tmp"
    stale.write_text("half written")
    remove_stale_temp_files(out)
    assert not stale.exists()


def test_master_check_warns_when_the_sandbox_breaks_a_correct_solution(tmp_path):
    """A master whose test only passes outside the grader (here: it refuses to run under
    NBGRADER_EXECUTION) is reported, with the failing cell, before students are blamed."""
    from nbformat.v4 import new_code_cell, new_notebook

    meta = {"nbgrader": {"grade": True, "grade_id": "env_test", "locked": True, "points": 1,
                         "schema_version": 3, "solution": False, "task": False}}
    master = new_notebook(cells=[new_code_cell(
        "import os\nassert 'NBGRADER_EXECUTION' not in os.environ, 'needs a plain kernel'",
        metadata=meta)])
    path = tmp_path / "source" / "env" / "env.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(master, path)
    submission = tmp_path / "submitted" / "amy" / "env" / "env.ipynb"
    submission.parent.mkdir(parents=True)
    nbformat.write(master, submission)
    report = grade_submissions(tmp_path / "submitted", tmp_path / "out", workers=1,
                               limits=LIMITS, course_root=tmp_path, progress=False,
                               check_masters=True)
    assert report.master_checks == {"env/env": (0.0, 1.0)}
    (note,) = [n for n in report.notes if n.startswith("master check")]
    assert "env_test" in note and "needs a plain kernel" in note
    assert report.totals() == {("amy", "env"): 0.0}


def test_a_grader_bug_in_one_notebook_is_noted_and_the_rerun_grades_it(graded, course,
                                                                        tmp_path, monkeypatch):
    from autograding.grading.record import NotebookRecorder

    root, submitted = course
    report, _, _, _ = graded
    students = ["a_correct", "d_visible_wrong"]
    sub = _subset(submitted, tmp_path / "submitted", students)
    original_finish = NotebookRecorder.finish

    def finish_with_a_bug(self, task, result, comments):
        if task.student == "a_correct":
            raise KeyError("simulated grader bug")
        return original_finish(self, task, result, comments)

    monkeypatch.setattr(NotebookRecorder, "finish", finish_with_a_bug)
    first = grade_submissions(sub, tmp_path / "out", workers=1, limits=LIMITS,
                              course_root=root, progress=False)
    assert first.errors == 1 and first.graded == 1
    assert any("a_correct" in note and "simulated grader bug" in note for note in first.notes)
    monkeypatch.setattr(NotebookRecorder, "finish", original_finish)
    rerun = grade_submissions(sub, tmp_path / "out", workers=1, limits=LIMITS,
                              course_root=root, progress=False)
    assert rerun.errors == 0 and rerun.graded == 1, "only the failed notebook is graded again"
    assert rerun.scores() == {k: v for k, v in report.scores().items() if k[0] in students}


def test_pool_starts_every_worker_before_the_first_job(tmp_path):
    """Workers warm up (start their fork-servers) while the parent sets up the gradebook:
    ProcessPoolExecutor alone would start them only as jobs arrive."""
    import time

    from autograding.engine.workers import PoolRunner

    runner = PoolRunner(2, ("grading_helpers:nbclient_execute", "none", (str(tmp_path),)))
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("worker-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list(tmp_path.glob("worker-*"))) == 2
    finally:
        runner.close()


# Who handed in what: squares by amy and bob; cubes by amy and by dan, whose folder lacks the
# notebook (a zero, with a comment); carl's folder is empty; nobody handed in `unused`.
PARTIAL_STATUS = {
    ("amy", "squares"): "graded", ("amy", "cubes"): "graded",
    ("bob", "squares"): "graded", ("bob", "cubes"): "missing",
    ("carl", "squares"): "missing", ("carl", "cubes"): "missing",
    ("dan", "squares"): "missing", ("dan", "cubes"): "invalid",
}


def _hand_in(submitted: Path, student: str, assignment: str, nb) -> None:
    path = submitted / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _csv_rows(out: Path) -> dict:
    with open(out / "grades.csv", newline="") as fh:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    """Three assignments, handed in unevenly (PARTIAL_STATUS), graded under umask 022."""
    root = build_course(tmp_path_factory.mktemp("partial"))
    for name in ("cubes", "unused"):
        path = root / "source" / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(master_notebook(), path)
    submitted = root / "submitted"
    _hand_in(submitted, "amy", ASSIGNMENT, student_notebook())
    _hand_in(submitted, "amy", "cubes", student_notebook(cube_body="return 0"))
    _hand_in(submitted, "bob", ASSIGNMENT, student_notebook(square_body="return 0"))
    (submitted / "carl").mkdir()
    (submitted / "dan" / "cubes").mkdir(parents=True)
    out = tmp_path_factory.mktemp("partial_out") / "out"
    previous = os.umask(0o022)
    try:
        report = grade_submissions(submitted, out, workers=2, limits=LIMITS, course_root=root,
                                   progress=False)
    finally:
        os.umask(previous)
    return root, submitted, out, report


def test_rows_only_for_assignments_someone_handed_in(partial):
    _, _, out, report = partial
    assert report.errors == 0, report.notes
    rows = _csv_rows(out)
    header = list(next(iter(rows.values())))
    assert header == NBGRADER_COLUMNS + ["status", "flags", "cubes/cubes:cube_test",
                                         "cubes/cubes:square_test",
                                         f"{ASSIGNMENT}/{ASSIGNMENT}:cube_test",
                                         f"{ASSIGNMENT}/{ASSIGNMENT}:square_test"]
    assert {k: r["status"] for k, r in rows.items()} == {
        k: "missing" if status == "missing" else "graded" for k, status in PARTIAL_STATUS.items()}
    assert [rows[k]["score"] for k in [("amy", ASSIGNMENT), ("amy", "cubes"),
                                       ("bob", ASSIGNMENT), ("dan", "cubes")]] == [
        "5.0", "2.0", "3.0", "0.0"]
    for key, status in PARTIAL_STATUS.items():
        if status == "missing":
            assert rows[key]["max_score"] == "5.0"
            assert [v for c, v in rows[key].items() if v and c not in (
                "assignment", "student_id", "max_score", "status")] == [], key


def test_report_marks_who_did_not_hand_in_as_missing(partial):
    _, _, _, report = partial
    assert {k: r.status for k, r in report.results.items()} == PARTIAL_STATUS
    for key, status in PARTIAL_STATUS.items():
        result = report.results[key]
        assert result.max_total == 5.0
        if status == "missing":
            assert result.scores == {} and result.comments == []
    assert "no such notebook" in report.results[("dan", "cubes")].comments[0]


def test_missing_rows_get_no_feedback_and_are_not_plotted_as_zeros(partial):
    from autograding.reports.feedback import regenerate_feedback
    from autograding.reports.plot import distribution

    _, _, out, report = partial
    handed_in = {k for k, status in PARTIAL_STATUS.items() if status != "missing"}
    pages = {(p.parent.parent.name, p.parent.name) for p in (out / "feedback").glob("*/*/*")}
    assert pages == handed_in
    rewritten = regenerate_feedback(out, report.db_url)
    assert {(p.parent.parent.name, p.parent.name) for p in rewritten} == handed_in
    data = distribution(report.db_url)
    assert {name: counts for name, (_, *counts) in data.items()} == {
        "cubes": [2, 2], ASSIGNMENT: [2, 2]}
    assert all(len(scores) == 2 for cells, _, _ in data.values() for scores in cells.values())


def _modes(out: Path) -> dict:
    """{path under out: its permission bits}, files and folders."""
    return {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*")}


def test_every_output_follows_the_umask_and_export_keeps_the_rule(partial, tmp_path, capsys):
    root, submitted, out, _ = partial
    modes = _modes(out)
    suffixes = {Path(p).suffix for p in modes}
    assert suffixes >= {".db", ".csv", ".png", ".ipynb", ".html", ".json", ".lock"}, modes
    assert modes == {p: 0o755 if (out / p).is_dir() else 0o644 for p in modes}
    # Under 027, with plain nbclient standing in for the sandbox: only the files matter here.
    previous = os.umask(0o027)
    try:
        strict = grade_submissions(submitted, tmp_path / "out", workers=1, limits=LIMITS,
                                   course_root=root, progress=False, students=["amy", "dan"],
                                   executor="grading_helpers:nbclient_execute")
    finally:
        os.umask(previous)
    assert strict.errors == 0, strict.notes
    modes = _modes(tmp_path / "out")
    assert {Path(p).suffix for p in modes} == suffixes
    assert modes == {p: 0o750 if (tmp_path / "out" / p).is_dir() else 0o640 for p in modes}
    # The export and feedback commands replace files with the mode of the umask they run under.
    csv_before = (out / "grades.csv").read_bytes()
    with open(out / "grades.csv", "rb+") as fh:
        os.chmod(fh.fileno(), 0o600)
    previous = os.umask(0o027)
    try:
        assert main(["export", "--out", str(out)]) == 0
        assert main(["feedback", "--out", str(out)]) == 0
    finally:
        os.umask(previous)
    assert (out / "grades.csv").read_bytes() == csv_before, "export applies grade's rule"
    for path in [out / "grades.csv", out / "score_distribution.png",
                 *(out / "feedback").rglob("*.html")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    table = capsys.readouterr().out
    assert "unused" not in table
    assert re.search(r"^carl +missing +missing$", table, re.MULTILINE), table


def test_filters_limit_the_batch_and_its_missing_rows(partial, capsys):
    root, submitted, out, _ = partial
    bob = grade_submissions(submitted, out, limits=LIMITS, course_root=root, progress=False,
                            students=["bob"])
    assert {k: r.status for k, r in bob.results.items()} == {
        ("bob", ASSIGNMENT): "graded", ("bob", "cubes"): "missing"}
    code = main(["grade", str(submitted), "--out", str(out), "--course", str(root),
                 "--assignment", ASSIGNMENT])
    assert code == 0
    table = capsys.readouterr().out
    assert "cubes" not in table and "unused" not in table
    assert re.search(r"^dan +missing$", table, re.MULTILINE), table
    assert re.search(r"^handed in +2/4$", table, re.MULTILINE), table


def test_a_later_batch_into_the_same_gradebook_keeps_the_rule(partial, tmp_path):
    root, _, out, _ = partial
    shutil.copytree(out, tmp_path / "out")
    later = tmp_path / "submitted"
    _hand_in(later, "erin", "cubes", student_notebook())
    report = grade_submissions(later, tmp_path / "out", limits=LIMITS, course_root=root,
                               progress=False)
    assert report.errors == 0, report.notes
    assert {k: r.status for k, r in report.results.items()} == {
        ("erin", "cubes"): "graded", ("erin", ASSIGNMENT): "missing"}
    rows = _csv_rows(tmp_path / "out")
    assert {k: r["status"] for k, r in rows.items() if k[0] != "erin"} == \
        {k: r["status"] for k, r in _csv_rows(out).items()}
    assert rows[("erin", "cubes")]["score"] == "5.0"
    assert rows[("erin", ASSIGNMENT)]["status"] == "missing"
    assert not any(a == "unused" for _, a in rows)
    written = (tmp_path / "out" / "grades.csv").read_bytes()
    assert main(["export", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "grades.csv").read_bytes() == written
