"""The masters and student notebooks are well formed, and notebooks/ is a fresh release."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograding.course import links, release

MASTERS = {aid: release.master_path(aid) for aid in release.ASSIGNMENT_IDS}
STUDENTS = {aid: release.NOTEBOOKS_DIR / f"{aid}.ipynb" for aid in release.ASSIGNMENT_IDS}
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def read_notebook(path: Path):
    """Read a notebook as stored, failing with the path and the fix when it is missing."""
    if not path.is_file():
        pytest.fail(f"{path} is missing: every assignment needs its master in "
                    "autograding/source/<id>/<id>.ipynb and its student copy (`make release`)")
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata, or {} for a plain cell."""
    return cell.metadata.get("nbgrader", {})


def is_graded_test(cell) -> bool:
    """An autograded test cell: graded, not an answer cell."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_scratch_cell(cell) -> bool:
    """A code cell left to the student, announced by a first-line comment: "... not graded"."""
    first = cell.source.strip().partition("\n")[0]
    return cell.cell_type == "code" and first.startswith("#") and "not graded" in first.lower()


def lint_problems(path: Path, *, master: bool) -> list[str]:
    """Everything wrong with one notebook file, as messages naming the cell."""
    nb = read_notebook(path)
    problems = []
    if nb.nbformat != 4:
        problems.append(f"nbformat {nb.nbformat}, expected 4")
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as err:
        problems.append(f"not valid nbformat 4: {err.message}")
    grade_ids = {}
    points = 0
    for index, cell in enumerate(nb.cells):
        where = f"cell {index}"
        if cell.cell_type == "code":
            lines = cell.source.splitlines()
            long_lines = [n for n, line in enumerate(lines, 1) if len(line) > 100]
            if master and long_lines:  # the course's style; ruff skips E501 in notebooks
                problems.append(f"{where}: lines {long_lines} are longer than 100 characters")
            if master and ".tight_layout(" in cell.source:
                # Laid out when drawn instead (plt.subplots(layout="tight")): while grading no
                # figure is drawn, and an eager tight_layout measures every text (0.3-0.9 s).
                problems.append(f"{where}: calls tight_layout(); create the figure with "
                                "layout='tight' (or 'constrained') instead")
            if cell.get("outputs"):
                problems.append(f"{where} stores outputs (clear them before committing)")
            if cell.get("execution_count") is not None:
                problems.append(f"{where} stores an execution count")
        meta = nbgrader_meta(cell)
        if not meta:
            # Locked cells are restored from the master at grading, so a changed demo cell
            # cannot break the tests after it; only scratch cells that say so stay free, and
            # the Colab badge, setup and self-check cells `make release` adds to student copies.
            if not is_scratch_cell(cell) and links.METADATA_KEY not in cell.metadata:
                problems.append(f"{where}: neither an answer nor locked; lock it, or start it "
                                "with a comment saying it is not graded")
            continue
        grade_id = meta.get("grade_id")
        where = f"cell {index} ({grade_id})"
        if meta.get("schema_version") != 3:
            problems.append(f"{where}: nbgrader schema_version {meta.get('schema_version')}, "
                            "expected 3")
        if not grade_id:
            problems.append(f"{where}: nbgrader cell without a grade_id")
        elif grade_id in grade_ids:
            problems.append(f"{where}: grade_id also used by cell {grade_ids[grade_id]}")
        else:
            grade_ids[grade_id] = index
        if meta.get("grade"):
            cell_points = meta.get("points")
            if not isinstance(cell_points, (int, float)) or cell_points <= 0:
                problems.append(f"{where}: graded cell needs positive points, has {cell_points}")
            else:
                points += cell_points
        if is_graded_test(cell) and not meta.get("locked"):
            problems.append(f"{where}: a graded test cell must be locked")
        text = cell.source
        if master and meta.get("solution") and cell.cell_type == "code":
            if "### BEGIN SOLUTION" not in text or "### END SOLUTION" not in text:
                problems.append(f"{where}: answer cell without ### BEGIN/END SOLUTION")
        if not master:
            for marker in SOLUTION_MARKERS:
                if marker in text:
                    problems.append(f"{where}: the student copy contains `{marker}`")
    graded = sum(is_graded_test(cell) for cell in nb.cells)
    if master and not 4 <= graded <= 8:
        problems.append(f"{graded} graded test cells; the course asks for 4-8 per notebook")
    if master and not any("### BEGIN HIDDEN TESTS" in c.source for c in nb.cells):
        problems.append("no hidden tests: a hard-coded answer would pass")
    if graded and not points:
        problems.append("graded cells carry no points")
    return [f"{path}: {problem}" for problem in problems]


@pytest.mark.parametrize("assignment_id", release.ASSIGNMENT_IDS)
def test_master_is_well_formed(assignment_id):
    problems = lint_problems(MASTERS[assignment_id], master=True)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("assignment_id", release.ASSIGNMENT_IDS)
def test_student_notebook_is_well_formed(assignment_id):
    problems = lint_problems(STUDENTS[assignment_id], master=False)
    assert not problems, "\n".join(problems)


def test_no_stray_notebooks():
    """Every notebook in source/ and notebooks/ belongs to one of the five assignments."""
    known = set(release.ASSIGNMENT_IDS)
    stray = [p for p in release.COURSE_ROOT.glob("source/*/*.ipynb")
             if p.parent.name not in known or p.stem != p.parent.name]
    stray += [p for p in release.NOTEBOOKS_DIR.glob("*.ipynb") if p.stem not in known]
    assert not stray, f"notebooks outside the five assignments: {stray}"


def test_student_copies_have_stubs_where_masters_have_solutions():
    missing = [aid for aid in release.ASSIGNMENT_IDS
               if not (MASTERS[aid].is_file() and STUDENTS[aid].is_file())]
    assert not missing, f"missing master or student notebook for {missing}; run `make release`"
    for aid in release.ASSIGNMENT_IDS:
        master = read_notebook(MASTERS[aid])
        student = {nbgrader_meta(c).get("grade_id"): c for c in read_notebook(STUDENTS[aid]).cells}
        for cell in master.cells:
            meta = nbgrader_meta(cell)
            if meta.get("solution") and cell.cell_type == "code":
                copy = student.get(meta["grade_id"])
                assert copy is not None, f"{STUDENTS[aid]}: answer cell {meta['grade_id']} lost"
                assert "raise NotImplementedError()" in copy.source, (
                    f"{STUDENTS[aid]}: answer cell {meta['grade_id']} has no stub")


@functools.cache
def fresh_release() -> dict:
    """{file name: text} of one release of every master that exists (made once per session)."""
    present = [aid for aid in release.ASSIGNMENT_IDS if MASTERS[aid].is_file()]
    return release.build_student_notebooks(assignment_ids=present) if present else {}


@pytest.mark.parametrize("assignment_id", release.ASSIGNMENT_IDS)
def test_release_is_up_to_date(assignment_id):
    """notebooks/ equals a fresh release of the masters, byte for byte."""
    if not MASTERS[assignment_id].is_file():
        pytest.fail(f"{MASTERS[assignment_id]} is missing, so notebooks/ cannot be released")
    name = f"{assignment_id}.ipynb"
    problems = release.compare_with_release({name: fresh_release()[name]})
    assert not problems, "\n".join(problems)


def test_release_is_deterministic_and_writes_clean_files(tmp_path):
    aid = next((a for a in reversed(release.ASSIGNMENT_IDS) if MASTERS[a].is_file()), None)
    assert aid, "no master notebook exists yet"
    written = release.release_notebooks(out_dir=tmp_path, assignment_ids=[aid])
    assert written == [tmp_path / f"{aid}.ipynb"]
    text = written[0].read_text(encoding="utf-8")
    assert text == fresh_release()[f"{aid}.ipynb"], "two releases of one master differ"
    assert text.endswith("}\n")
    nb = json.loads(text)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb["cells"] if c["cell_type"] == "code")


def test_missing_master_is_reported_with_its_path(tmp_path):
    with pytest.raises(release.ReleaseError, match=r"05_mse_gradients\.ipynb: master notebook"):
        release.release_notebooks(course_root=tmp_path, out_dir=tmp_path / "out",
                                  assignment_ids=["05_mse_gradients"])
    assert not (tmp_path / "out" / "05_mse_gradients.ipynb").exists()


def test_broken_master_is_reported_with_the_nbgrader_command(tmp_path):
    """A master with invalid nbgrader metadata fails with the file and the command to run."""
    source = release.master_path("05_mse_gradients", tmp_path)
    source.parent.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "schema_version": 3,
        "grade_id": "no-points", "task": False}}))
    nbformat.write(nb, source)
    with pytest.raises(release.ReleaseError, match="nbgrader generate_assignment"):
        release.release_notebooks(course_root=tmp_path, out_dir=tmp_path / "out",
                                  assignment_ids=["05_mse_gradients"])


def test_student_notebooks_pass_ruff():
    """Stripping solutions and hidden tests must not leave unused imports behind."""
    ruff = Path(sys.executable).with_name("ruff")
    paths = [str(p) for p in STUDENTS.values() if p.is_file()]
    assert paths, "no student notebooks: run `make release`"
    done = subprocess.run([str(ruff), "check", "--no-cache", *paths], capture_output=True,
                          text=True, cwd=release.REPO_ROOT)
    assert done.returncode == 0, (
        "ruff finds problems in the released notebooks; fix the masters (e.g. an import used "
        f"only in a solution or in hidden tests), then `make release`:\n{done.stdout[-3000:]}")


def test_readme_outline_lists_every_notebook_with_its_points():
    """The README's course table names each assignment once, with its master's total points."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \d\d \| \[[^]]*\]\(notebooks/(\w+)\.ipynb\) \|[^|]*\| ([\d.]+) \|",
                      readme, re.MULTILINE)
    assert [aid for aid, _ in rows] == list(release.ASSIGNMENT_IDS)
    for aid, claimed in rows:
        total = sum(nbgrader_meta(c).get("points", 0) for c in read_notebook(MASTERS[aid]).cells
                    if nbgrader_meta(c).get("grade"))
        assert float(claimed) == total, f"README says {aid} has {claimed} points, it has {total}"
