"""Colab: badge, Colab-only setup cell and self-check cell; the notebooks in a Colab-like venv."""

from __future__ import annotations

import copy
import importlib
import json
import os
import shutil
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from reference_answers import (
    failures,
    filled_student_notebook,
    graded_test_cells,
    released_ids,
    stdout_text,
)

from autograding.course import links
from autograding.course.release import NOTEBOOKS_DIR, REPO_ROOT

# What Colab preinstalls and the course uses; versions come from requirements.lock.
COLAB_PREINSTALLED = ("torch", "numpy", "pandas", "matplotlib", "seaborn", "scikit-learn",
                      "ipykernel")


def _nbgrader(grade_id, **flags):
    meta = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
            "solution": False, "task": False, **flags}
    return {"nbgrader": meta}


def small_student_notebook():
    """A released-looking notebook: an answer stub and two graded tests."""
    return new_notebook(cells=[
        new_markdown_cell("# Demo", metadata=_nbgrader("title", locked=True)),
        new_markdown_cell("### Exercise 1: double", metadata=_nbgrader("md-ex1", locked=True)),
        new_code_cell("def double(x):\n    raise NotImplementedError()",
                      metadata=_nbgrader("double", solution=True)),
        new_code_cell(
            "print('checking')\n_probe = 1\n"
            "assert double(2) == 4, 'double(2) should be 4\\nsecond line'",
            metadata=_nbgrader("test-double", grade=True, locked=True, points=2)),
        new_markdown_cell("### Exercise 2: half", metadata=_nbgrader("md-ex2", locked=True)),
        new_code_cell("def half(x):\n    return x / 2", metadata=_nbgrader("half", solution=True)),
        new_code_cell(
            "assert half(3) == 1.5\n### BEGIN HIDDEN TESTS\nassert half(-8) == -4  # HIDDEN\n"
            "### END HIDDEN TESTS",
            metadata=_nbgrader("test-half", grade=True, locked=True, points=1.5)),
        new_code_cell("import warnings as _w\n\n_w.warn('float precision lost', stacklevel=1)",
                      metadata=_nbgrader("test-noisy", grade=True, locked=True, points=1)),
    ])


def kinds(nb):
    return [links._course_cell_kind(cell) for cell in nb.cells]


def test_config_comes_from_pyproject_table():
    pyproject = links._parse_toml((REPO_ROOT / "pyproject.toml").read_text())
    table = pyproject["tool"]["linreg-course"]
    config = links.load_course_config()
    assert config["repository"] == table["repository"].rstrip("/")
    assert config["branch"] == table["branch"]
    url = links.colab_url("02_linreg_scratch", config)
    assert url == (f"https://colab.research.google.com/github/{config['owner']}/"
                   f"{config['repo']}/blob/{config['branch']}/notebooks/02_linreg_scratch.ipynb")
    assert links.install_spec(config) == f"git+{config['repository']}@{config['branch']}"


@pytest.mark.parametrize("table", ["", '[tool.linreg-course]\nrepository = "gitlab.com/x"\n'])
def test_bad_config_names_the_file_and_the_fix(tmp_path, table):
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n' + table)
    with pytest.raises(links.LinksConfigError, match=r"pyproject\.toml.*repository = "):
        links.load_course_config(path)


def test_cells_are_added_once_and_refreshed_after_colab_rewrites_metadata():
    config = links.load_course_config()
    nb = links.apply_course_links(small_student_notebook(), "01_vectorization", config)
    assert kinds(nb)[:2] == ["badge", "setup"] and kinds(nb)[-1] == "self-check"
    text = nbformat.writes(nb)
    assert nbformat.writes(links.apply_course_links(nb, "01_vectorization", config)) == text
    assert links.colab_url("01_vectorization", config) in nb.cells[0].source
    # Colab on save: new cell ids, a `colab` block, its own kernelspec; worst case it drops
    # our metadata key. The cells stay recognisable by their marker lines.
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"colab{number:07d}"
        kept = {"nbgrader": cell.metadata["nbgrader"]} if "nbgrader" in cell.metadata else {}
        cell.metadata = {**kept, "id": cell["id"], "colab": {"base_uri": "https://localhost/"}}
    nb.metadata["colab"] = {"provenance": []}
    resaved = nbformat.reads(nbformat.writes(nb), 4)
    assert kinds(resaved)[:2] == ["badge", "setup"] and kinds(resaved)[-1] == "self-check"
    refreshed = links.apply_course_links(resaved, "01_vectorization", config)
    assert [k for k in kinds(refreshed) if k] == ["badge", "setup", "self-check"]


def test_setup_cell_outside_colab_prints_one_line_and_installs_nothing(monkeypatch, capsys):
    if "google.colab" in sys.modules:
        pytest.skip("this test runs outside Colab")

    def no_pip(*args, **kwargs):
        raise AssertionError(f"setup cell ran a command outside Colab: {args}")

    # The cell's last line imports it (and so matplotlib, which runs fc-list on a fresh font
    # cache): imported first, so that only a command of the cell itself is caught.
    importlib.import_module(links.REFERENCE_MODULE)
    monkeypatch.setattr(subprocess, "run", no_pip)
    exec(links.setup_source(links.load_course_config()), {"__name__": "__main__"})
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and "Not running in Colab" in out and err == ""


def _run_self_check(nb, user_globals, capsys):
    exec(nb.cells[-1].source, user_globals)
    return capsys.readouterr()


def test_self_check_reports_each_exercise_without_stderr(capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = links.add_self_check_cell(small_student_notebook())
    source = nb.cells[-1].source
    assert "HIDDEN" not in source and "half(-8)" not in source
    user = {"__name__": "__main__", "double": lambda x: 5, "half": lambda x: x / 2}
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        out, err = _run_self_check(nb, user, capsys)
    lines = out.splitlines()
    assert err == "" and "checking" not in out
    assert lines[0] == (
        "✘ Exercise 1: double [test-double] 0/2: AssertionError: double(2) should be 4")
    assert lines[1] == "✔ Exercise 2: half [test-half] 1.5/1.5"
    # As the grader scores it: a warning is shown, but only an error costs the points.
    assert lines[2] == ("✔ Exercise 2: half [test-noisy] 1/1 (but it warned: UserWarning: "
                        "float precision lost)")
    assert lines[3].startswith("Visible tests: 2.5/4.5 points.")
    assert "_probe" not in user  # the tests ran on a copy of the student's globals

    def stub(x):
        raise NotImplementedError()

    out, _ = _run_self_check(nb, {"__name__": "__main__", "double": stub}, capsys)
    assert out.count("not answered yet (NotImplementedError)") == 1
    assert "NameError: name 'half' is not defined (run the cells above first?)" in out
    assert out.count("✘") == 2  # test-noisy only warns: it passes without `half`
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    out, _ = _run_self_check(nb, {"__name__": "__main__"}, capsys)
    assert out.startswith("Self-check skipped while grading")


@pytest.mark.parametrize("assignment_id", released_ids())
def test_released_notebook_self_check_embeds_exactly_the_visible_tests(assignment_id):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{assignment_id}.ipynb", 4)
    assert kinds(nb)[:2] == ["badge", "setup"] and kinds(nb)[-1] == "self-check"
    embedded = _embedded_tests(nb.cells[-1].source)
    visible = [cell.source.rstrip() + "\n" for cell in graded_test_cells(nb)]
    assert embedded == visible and visible
    assert all("HIDDEN TESTS" not in code for code in embedded)
    course_cells = [cell for cell in nb.cells if links._course_cell_kind(cell)]
    assert len(course_cells) == 3
    assert all(not cell.metadata.get("nbgrader") for cell in course_cells)


# ---- A Colab-like runtime: a fresh venv with only Colab's preinstalled stack ----------------


def _locked_versions():
    """The lock's pins for this Python (its markers evaluated), as "name==version" lines."""
    from test_environment import lock_lines

    return {line.partition("==")[0].lower(): line for line in lock_lines()}


def _freeze(python: Path) -> dict:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                         capture_output=True, text=True, check=True).stdout
    return {row["name"].lower(): row["version"] for row in json.loads(out)}


def _requirement_closure(names) -> dict:
    """{name: distribution} of this Python's installed distributions that `pip install names`
    puts into an empty venv: `names` and their requirements, recursively (markers evaluated
    for this Python, extras followed)."""
    from importlib.metadata import distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found, seen, todo = {}, set(), [(name, "") for name in names]
    while todo:
        name, extra = todo.pop()
        dist = distribution(name)
        key = canonicalize_name(dist.metadata["Name"])
        if (key, extra) in seen:
            continue
        seen.add((key, extra))
        found[key] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(req.name, "")] + [(req.name, e) for e in sorted(req.extras)]
    return found


def _install_from_this_venv(dists: dict, python: Path) -> None:
    """Put the files of `dists` (as their RECORD lists them) into the site-packages of the
    venv of `python`: the same files pip unpacks from the same wheels, hard-linked where the
    file system allows (pip replaces files, it never writes into them, so nothing here can
    change). Console scripts stay out: their first line names this venv's Python."""
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip()
    made = set()
    for key, dist in dists.items():
        assert dist.files, f"{key} has no RECORD: it was not installed by pip"
        root = os.path.normpath(dist.locate_file(""))
        for file in dist.files:  # 40,000 of them: os.path, not pathlib
            relative = os.path.normpath(str(file))
            if relative.startswith(".."):
                continue  # bin/ scripts
            target = os.path.join(site, relative)
            folder = os.path.dirname(target)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            try:
                os.link(os.path.join(root, relative), target)
            except FileNotFoundError:
                continue  # a .pyc listed but since removed
            except OSError:
                shutil.copy2(os.path.join(root, relative), target)


@pytest.fixture(scope="session")
def colab_python(tmp_path_factory) -> Path:
    """Python of a fresh venv holding only what Colab preinstalls (locked versions) and pip.

    Its packages come from this venv, which holds the lock (test_environment checks it):
    `pip install` of the same pins from the same wheels took a minute (unpacking torch), a copy
    of the installed files two seconds."""
    reuse = os.environ.get("LINREG_TEST_COLAB_VENV")  # developers: keep one between runs
    venv = Path(reuse) if reuse else tmp_path_factory.mktemp("colab") / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        # pip from the lock rather than ensurepip's: torch needs the lock's setuptools anyway
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        from packaging.utils import canonicalize_name

        pins = {canonicalize_name(name): line.partition("==")[2]
                for name, line in _locked_versions().items()}
        dists = _requirement_closure([*COLAB_PREINSTALLED, "pip"])
        unlocked = {key: dist.version for key, dist in dists.items()
                    if dist.version.split("+")[0] != pins.get(key)}  # torch is 2.13.0+cpu
        assert not unlocked, f"not the lock's versions: {unlocked} (run `make venv`)"
        _install_from_this_venv(dists, python)
    else:  # a reused venv: take back what an earlier run's setup cell installed
        subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "-y", "linreg-course"],
                       capture_output=True)
    return python


@pytest.fixture(scope="session")
def course_wheel(tmp_path_factory) -> Path:
    """A wheel of this project built from a copy of the working tree (`pip wheel --no-deps`)."""
    tmp = tmp_path_factory.mktemp("wheel")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    if listed.returncode == 0:  # the files of the checkout, not .venv or build leftovers
        for name in listed.stdout.splitlines():
            if (REPO_ROOT / name).is_file():
                (tmp / "src" / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO_ROOT / name, tmp / "src" / name)
    else:  # not a git checkout (an unpacked archive)
        shutil.copytree(REPO_ROOT, tmp / "src", ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp / "dist"), str(tmp / "src")],
                   check=True, capture_output=True)
    (wheel,) = (tmp / "dist").glob("linreg_course-*.whl")
    return wheel


@pytest.fixture(scope="session")
def colab_kernel(tmp_path_factory, colab_python, course_wheel):
    """A kernelspec running the Colab-like venv with a stand-in `google.colab` module."""
    root = tmp_path_factory.mktemp("colab-kernel")
    fake = root / "fake_colab" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text('"""Stand-in for Colab\'s module in tests."""\n')
    spec_dir = root / "kernels" / "colab"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [str(colab_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Colab-like)",
        "language": "python",
        "env": {"PYTHONPATH": str(root / "fake_colab"),
                links.PACKAGE_OVERRIDE_ENV: str(course_wheel)},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    work = root / "content"  # Colab's working folder; holds no course code
    work.mkdir()
    return {"kernels": root / "kernels", "cwd": work, "python": colab_python}


def run_in_colab(nb, colab_kernel):
    """Execute `nb` in the Colab-like kernel, errors kept in the outputs."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    ksm = KernelSpecManager(kernel_dirs=[str(colab_kernel["kernels"])])
    km = KernelManager(kernel_name="colab", kernel_spec_manager=ksm)
    client = NotebookClient(nb, km=km, timeout=300, startup_timeout=120, allow_errors=True,
                            resources={"metadata": {"path": str(colab_kernel["cwd"])}})
    try:
        client.execute()
    finally:  # nbclient leaves a kernel it was given running: one per call, until pytest ends
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


@pytest.fixture(scope="session")
def colab_setup_run(colab_kernel):
    """Run the setup cell once in the fresh runtime, with pip's view before and after."""
    python = colab_kernel["python"]
    before = _freeze(python)
    nb = links.apply_course_links(new_notebook(), "01_vectorization")
    nb.cells = nb.cells[:2]
    first = run_in_colab(copy.deepcopy(nb), colab_kernel)
    after = _freeze(python)
    second = run_in_colab(copy.deepcopy(nb), colab_kernel)
    return {"before": before, "after": after, "first": first, "second": second}


@pytest.mark.slow
def test_setup_cell_in_colab_installs_the_course_and_keeps_colabs_stack(colab_setup_run):
    setup_cell = colab_setup_run["first"].cells[1]
    assert failures(setup_cell) == []
    assert "Colab setup done: course_utils installed" in stdout_text(setup_cell)
    assert "already installed" in stdout_text(colab_setup_run["second"].cells[1])
    before, after = colab_setup_run["before"], colab_setup_run["after"]
    assert {name: after[name] for name in before} == before  # torch, numpy, ... untouched
    added = set(after) - set(before)
    assert "linreg-course" in added
    # besides the course, only requirements Colab lacks (tqdm in this stand-in runtime)
    config = links.load_course_config()
    allowed = {links._requirement_name(req).lower() for req in config["requirements"]}
    assert added - {"linreg-course"} <= allowed


@pytest.fixture(scope="session")
def colab_notebook_runs(colab_kernel, colab_setup_run):
    """{assignment id: future of its filled student notebook run in the Colab-like runtime}
    once the setup cell has installed the course: two at a time, each in a kernel of its own
    (one runs on one core; the 2-core machine took 100 s for the six one after another)."""
    pool = ThreadPoolExecutor(2)
    yield {aid: pool.submit(run_in_colab, filled_student_notebook(aid), colab_kernel)
           for aid in released_ids()}
    pool.shutdown(cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id", released_ids())
def test_student_notebook_with_reference_answers_passes_in_colab(
    assignment_id, colab_notebook_runs
):
    nb = colab_notebook_runs[assignment_id].result()  # its error, if any, is raised here
    tests = graded_test_cells(nb)
    assert tests
    for cell in tests:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        assert failures(cell) == [], f"{assignment_id} {grade_id}"
    summary = stdout_text(nb.cells[-1])
    assert summary.count("✔") == len(tests) and "✘" not in summary, summary


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COLAB_FIXTURE = FIXTURES / "colab_saved_example.ipynb"


def _embedded_tests(self_check_source: str) -> list[str]:
    namespace = {}
    exec(self_check_source.split("\n\n\ndef _check_all_answers")[0], namespace)
    return [code for _, _, _, code in namespace["_VISIBLE_TESTS"]]


@pytest.mark.skipif(not COLAB_FIXTURE.is_file(), reason="helper F's Colab-saved fixture")
def test_badge_setup_and_self_check_survive_a_colab_save(monkeypatch, capsys):
    saved = nbformat.read(COLAB_FIXTURE, 4)
    assert "colab" in saved.metadata  # really a Colab-saved file (nbformat 4.0, no cell ids)
    found = [(i, k) for i, k in enumerate(kinds(saved)) if k]
    assert [k for _, k in found if k != "badge"] == ["setup", "self-check"]
    assert found[-1] == (len(saved.cells) - 1, "self-check")
    assert all(i < 3 for i, k in found if k in ("badge", "setup"))  # after Colab's own link
    setup = next(saved.cells[i].source for i, k in found if k == "setup")
    assert links.install_spec(links.load_course_config()) in setup
    importlib.import_module(links.REFERENCE_MODULE)  # as above: its imports may run commands
    monkeypatch.setattr(subprocess, "run", None)  # must not be called outside Colab
    exec(setup, {"__name__": "__main__"})
    assert "Not running in Colab" in capsys.readouterr().out
    visible = [cell.source.rstrip() + "\n" for cell in graded_test_cells(saved)]
    assert _embedded_tests(saved.cells[-1].source) == visible and visible
    refreshed = links.apply_course_links(saved, "05_mse_gradients")
    assert [k for k in kinds(refreshed) if k] == ["badge", "setup", "self-check"]
    nbformat.validate(refreshed)
