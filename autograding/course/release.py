"""`make release`: generate the student notebooks in notebooks/ from the nbgrader masters.

nbgrader's GenerateAssignment converter runs in-process on each master in
autograding/source/<id>/<id>.ipynb, with a throw-away gradebook and release folder, so a release
never touches the course's own gradebook.db or release/. The student copies are then written
with outputs cleared and a fixed JSON layout: releasing twice gives byte-identical files, and a
test compares a fresh release with the committed notebooks/.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

COURSE_ROOT = Path(__file__).resolve().parents[1]  # autograding/: nbgrader's course
REPO_ROOT = COURSE_ROOT.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
COURSE_ID = "linreg-pytorch"  # the course's id: its nbgrader_config.py sets it from here
ASSIGNMENT_IDS = (
    "01_vectorization",
    "02_linreg_scratch",
    "03_linreg_concise",
    "04_loss_functions",
    "05_mse_gradients",
    "06_real_data",
)


class ReleaseError(RuntimeError):
    """A master could not be turned into a student notebook."""


def master_path(assignment_id: str, course_root: Path | None = None) -> Path:
    """Path of the master notebook of `assignment_id`."""
    root = Path(course_root or COURSE_ROOT)
    return root / "source" / assignment_id / f"{assignment_id}.ipynb"


def _put_alembic_on_path() -> None:
    """nbgrader runs the `alembic` command when it creates a gradebook; find it in our venv."""
    bin_dir = str(Path(sys.executable).parent)
    if shutil.which("alembic") is None and bin_dir not in os.environ.get("PATH", ""):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


def generate_student_notebook(
    assignment_id: str, course_root: Path | None = None, workdir: Path | None = None
):
    """Run nbgrader's generate_assignment on one master and return the student notebook.

    nbgrader writes into `workdir` (its release folder and a gradebook); pass the same folder
    for several assignments to create that gradebook once. Default: a temporary folder.
    """
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="linreg-release-") as tmp:
            return generate_student_notebook(assignment_id, course_root, Path(tmp))
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    course_root = Path(course_root or COURSE_ROOT).resolve()
    source = master_path(assignment_id, course_root)
    if not source.is_file():
        raise ReleaseError(
            f"{source}: master notebook missing; write it (nbgrader source layout "
            f"source/<id>/<id>.ipynb) or drop {assignment_id!r} from the assignment ids"
        )
    _put_alembic_on_path()
    workdir = Path(workdir)
    config = Config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.source_directory = "source"
    config.CourseDirectory.release_directory = str(workdir / "release")  # absolute: outside
    config.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    config.CourseDirectory.assignment_id = assignment_id
    coursedir = CourseDirectory(config=config)
    converter = GenerateAssignment(coursedir=coursedir, config=config)
    converter.force = True
    converter.log.setLevel(logging.WARNING)
    try:
        converter.start()
    except Exception as err:  # nbgrader raises NbGraderException with the log above it
        raise ReleaseError(
            f"{source}: nbgrader generate_assignment failed ({err}); run "
            f"`cd autograding && nbgrader generate_assignment {assignment_id} --force` "
            "to see nbgrader's full message"
        ) from err
    released = workdir / "release" / assignment_id / f"{assignment_id}.ipynb"
    if not released.is_file():
        raise ReleaseError(f"{source}: nbgrader produced no {released.name}")
    return nbformat.read(released, as_version=4)


def clean_notebook(nb, assignment_id: str):
    """Clear outputs and execution counts and apply the course links (Colab badge, setup)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
    # Hook for helper G: autograding/course/links.py fills the Colab badge and the setup cell from
    # one config. The release works without it, so it is optional here.
    if importlib.util.find_spec("autograding.course.links") is not None:
        links = importlib.import_module("autograding.course.links")
        nb = links.apply_course_links(nb, assignment_id)
    return nb


def render_notebook(nb) -> str:
    """The exact text written for a notebook: nbformat's JSON layout, newline at the end."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def build_student_notebooks(course_root: Path | None = None, assignment_ids=None) -> dict:
    """Return {file name: text} of the student notebooks, without writing anything."""
    ids = tuple(assignment_ids or ASSIGNMENT_IDS)
    texts = {}
    with tempfile.TemporaryDirectory(prefix="linreg-release-") as tmp:
        for assignment_id in ids:
            nb = generate_student_notebook(assignment_id, course_root, Path(tmp))
            nb = clean_notebook(nb, assignment_id)
            texts[f"{assignment_id}.ipynb"] = render_notebook(nb)
    return texts


def release_notebooks(
    course_root: Path | None = None, out_dir: Path | None = None, assignment_ids=None
) -> list[Path]:
    """Generate the student notebooks into `out_dir` (notebooks/) and return their paths."""
    out_dir = Path(out_dir or NOTEBOOKS_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in build_student_notebooks(course_root, assignment_ids).items():
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_release_up_to_date(
    course_root: Path | None = None, notebooks_dir: Path | None = None, assignment_ids=None
) -> list[str]:
    """Return one message per student notebook that a fresh release would change."""
    return compare_with_release(build_student_notebooks(course_root, assignment_ids),
                                notebooks_dir)


def compare_with_release(texts: dict, notebooks_dir: Path | None = None) -> list[str]:
    """Messages for the files in `notebooks_dir` that differ from released `texts`."""
    notebooks_dir = Path(notebooks_dir or NOTEBOOKS_DIR)
    problems = []
    for name, text in texts.items():
        path = notebooks_dir / name
        if not path.is_file():
            problems.append(f"{path}: missing; run `make release` and commit notebooks/")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(
                f"{path}: differs from a fresh release of its master; "
                "run `make release` and commit notebooks/"
            )
    return problems


def main(argv=None) -> int:
    """Command-line entry: `python -m autograding release [ids...]`."""
    ids = list(argv or []) or None
    try:
        paths = release_notebooks(assignment_ids=ids)
    except ReleaseError as err:
        print(f"release failed: {err}")
        return 1
    for path in paths:
        print(f"wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return 0
