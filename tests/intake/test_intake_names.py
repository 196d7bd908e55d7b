"""Names of uploaded files: LMS layouts land in nbgrader's layout, student ids are safe."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from intake_helpers import notebook_bytes, submitted_file, write

from autograding.intake import SAFE_ID, intake_uploads, safe_student_id
from autograding.intake.names import parse_name


@pytest.fixture
def course(tmp_path):
    """A fake course root whose masters carry distinctive grade ids, for content matching."""
    root = tmp_path / "course"
    for assignment, ids in (("02_linreg_scratch", ("linreg_answer", "linreg_test")),
                            ("05_mse_gradients", ("mse_answer", "mse_test"))):
        write(root, f"source/{assignment}/{assignment}.ipynb", notebook_bytes(assignment, ids))
    return root


def test_lms_layouts_land_in_nbgrader_layout(tmp_path, course):
    uploads = tmp_path / "export"
    files = {
        "alice_01_vectorization.ipynb": "alice-01",
        "Bob Smith - 02_LinReg_Scratch (1).ipynb": "bob-02",
        "smithjohn_12345_67890_03_linreg_concise.ipynb": "canvas-03",
        "smithjohn_late_12345_67891_04_loss_functions-2.ipynb": "canvas-04",
        "HW 5_jdoe_attempt_2026-11-20-14-03-22_05_mse_gradients.ipynb": "bb-05",
        "José Núñez_4711_assignsubmission_file_/04 loss functions.ipynb": "moodle-04",
        "carol/05_mse_gradients/my answers.ipynb": "nested-05",
        "submitted/dave/02_linreg_scratch/02_linreg_scratch.ipynb": "nbgrader-02",
        "erin/Copy of 03_linreg_concise.ipynb": "colab-copy-03",
        "张伟_01_vectorization.ipynb": "cjk-01",
        "frank/homework.ipynb": "content-02",
    }
    for rel, marker in files.items():
        grade_ids = ("linreg_answer",) if marker == "content-02" else ("answer_a",)
        write(uploads, rel, notebook_bytes(marker, grade_ids))
    junk = ["__MACOSX/._alice_01_vectorization.ipynb", ".DS_Store",
            "carol/.ipynb_checkpoints/my answers-checkpoint.ipynb"]
    for rel in junk:
        write(uploads, rel, b"junk")
    submitted = tmp_path / "submitted"
    report = intake_uploads(uploads, submitted, course_root=course, echo=False)

    expected = {
        ("alice", "01_vectorization"): "alice-01",
        ("bob_smith", "02_linreg_scratch"): "bob-02",
        ("smithjohn_12345", "03_linreg_concise"): "canvas-03",
        ("smithjohn_12345", "04_loss_functions"): "canvas-04",
        ("jdoe", "05_mse_gradients"): "bb-05",
        ("jose_nunez", "04_loss_functions"): "moodle-04",
        ("carol", "05_mse_gradients"): "nested-05",
        ("dave", "02_linreg_scratch"): "nbgrader-02",
        ("erin", "03_linreg_concise"): "colab-copy-03",
        ("frank", "02_linreg_scratch"): "content-02",
    }
    for (student, assignment), marker in expected.items():
        text = submitted_file(submitted, student, assignment).read_text()
        assert f"# {marker}" in text, (student, assignment)
    cjk = [e for e in report.accepted if e.source.startswith("张伟")]
    assert len(cjk) == 1 and SAFE_ID.match(cjk[0].student) and cjk[0].action == "renamed"
    assert {e.source for e in report.entries if e.action == "ignored"} == set(junk)
    dave = next(e for e in report.entries if e.student == "dave")
    assert dave.action == "taken"
    assert next(e for e in report.entries if e.student == "frank").reason.startswith(
        "student from folder")
    assert len(report.accepted) == len(files)
    assert (submitted / "jdoe" / "05_mse_gradients" / "timestamp.txt").read_text().startswith(
        "2026-11-20 14:03:22")


@given(st.text(max_size=80))
def test_student_ids_are_always_safe(raw):
    student = safe_student_id(raw)
    assert SAFE_ID.match(student)
    assert "/" not in student and ".." not in student and not student.startswith("-")
    assert safe_student_id(raw) == student


IDS = ("01_vectorization", "03_linreg_concise", "04_loss_functions", "05_mse_gradients")


@pytest.mark.parametrize(
    ("stem", "folders", "expected"),
    [
        ("smithjohn_late_12345_67891_04_loss_functions-2", [],
         ("smithjohn_12345", "04_loss_functions", None, 2, "Canvas export name")),
        ("HW 5_jdoe_attempt_2026-11-20-14-03-22_05_mse_gradients", [],
         ("jdoe", "05_mse_gradients", 1795183402.0, 0, "Blackboard export name")),
        ("04 loss functions", ["José Núñez_4711_assignsubmission_file_"],
         ("José Núñez", "04_loss_functions", None, 0, "Moodle submission folder")),
        ("my answers", ["carol", "05_mse_gradients"],
         ("carol", "05_mse_gradients", None, 0, "student from folder 'carol'")),
        ("Copy of alice_01_vectorization (3)", [],
         ("alice", "01_vectorization", None, 3, "student and assignment from the file name")),
        ("bob_03_linreg_concise_2026-01-02_10-00", [],
         ("bob", "03_linreg_concise", 1767348000.0, 0,
          "student and assignment from the file name")),
        ("homework", ["frank"], ("frank", "", None, 0, "student from folder 'frank'")),
    ],
)
def test_parse_name_reads_each_layout_from_names_alone(stem, folders, expected):
    """The name parser needs no file: student, assignment, timestamp, copy and how, raw."""
    info = parse_name(stem, folders, IDS)
    assert (info["student"], info["assignment"], info["timestamp"], info["copy"],
            info["how"]) == expected
