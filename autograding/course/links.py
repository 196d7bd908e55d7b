"""Course cells added to every student notebook at release: Colab badge, setup, self-check.

The repository and branch the badge and the Colab setup cell point to are set in ONE place,
the `[tool.linreg-course]` table of pyproject.toml; `make release` (autograding/course/release.py)
calls `apply_course_links` on each student notebook. The cells carry a `linreg_course` metadata
key and a marker first line, so a new release replaces them instead of adding copies (even
after Colab has rewritten the metadata). They have no nbgrader metadata: nbgrader and our
grader run them like any ungraded cell.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = REPO_ROOT / "pyproject.toml"
CONFIG_TABLE = "linreg-course"
METADATA_KEY = "linreg_course"
# Environment variable the setup cell reads in place of the repository address (tests point
# it at a locally built wheel; a teacher can point it at a fork or a mirror).
PACKAGE_OVERRIDE_ENV = "LINREG_COURSE_PACKAGE"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_MARKER = "# Course setup for Google Colab (added by `make release`)."
SELF_CHECK_MARKER = "# Check all my answers (added by `make release`)."
# First lines: Colab shows a `#@title` cell with "cellView": "form" as a titled, folded cell.
SETUP_TITLE = "#@title Course setup: run this cell first in Google Colab"
SELF_CHECK_TITLE = "#@title Check all my answers"
# Folded code in JupyterLab (the output stays visible) and in Colab.
FOLDED = {"jupyter": {"source_hidden": True}, "cellView": "form"}
HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.DOTALL)
GITHUB_URL = re.compile(r"^https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")
# What the course's tests compare with, taken when it is imported (course_utils/reference.py):
# the setup cell imports it before any answer runs, and the grader before the first cell.
REFERENCE_MODULE = "course_utils.reference"


class LinksConfigError(ValueError):
    """The `[tool.linreg-course]` table of pyproject.toml is missing or malformed."""


def load_course_config(pyproject: Path | None = None) -> dict:
    """Return {"owner", "repo", "branch", "repository", "requirements"} from pyproject.toml."""
    path = Path(pyproject or PYPROJECT)
    try:
        data = _parse_toml(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise LinksConfigError(f"{path}: cannot read it ({err}); run from a clone") from err
    table = data.get("tool", {}).get(CONFIG_TABLE)
    fix = (
        f'add [tool.{CONFIG_TABLE}] with repository = "https://github.com/<owner>/<repo>" '
        'and branch = "main"'
    )
    if not isinstance(table, dict):
        raise LinksConfigError(f"{path}: no [tool.{CONFIG_TABLE}] table; {fix}")
    repository = str(table.get("repository", "")).strip()
    branch = str(table.get("branch", "")).strip()
    match = GITHUB_URL.match(repository)
    if not match or not re.fullmatch(r"[\w./-]+", branch):
        raise LinksConfigError(
            f"{path}: [tool.{CONFIG_TABLE}] repository={repository!r} branch={branch!r} "
            f"is not a GitHub repository address and a branch name; {fix}"
        )
    owner, repo = match.groups()
    requirements = list(data.get("project", {}).get("dependencies", []))
    return {
        "owner": owner,
        "repo": repo,
        "branch": branch,
        "repository": f"https://github.com/{owner}/{repo}",
        "requirements": requirements,
    }


def _parse_toml(text: str) -> dict:
    """Parse pyproject.toml text (tomllib is in the standard library from Python 3.11)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as err:
            raise LinksConfigError(
                f"{PYPROJECT}: reading it needs Python 3.11+ or `pip install tomli`"
            ) from err
    return tomllib.loads(text)


def colab_url(assignment_id: str, config: dict) -> str:
    """Address that opens the student notebook `assignment_id` in Google Colab."""
    return (
        f"https://colab.research.google.com/github/{config['owner']}/{config['repo']}"
        f"/blob/{config['branch']}/notebooks/{assignment_id}.ipynb"
    )


def install_spec(config: dict) -> str:
    """pip requirement that installs this repository's package at the configured branch."""
    return f"git+{config['repository']}@{config['branch']}"


def badge_source(assignment_id: str, config: dict) -> str:
    """Markdown of the top cell: the Colab badge and how to use it."""
    return (
        f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(assignment_id, config)})\n"
        "\n"
        "**In Google Colab:** run the setup cell below first (it installs the course helpers; "
        "elsewhere it does nothing), then work top to bottom. To submit, use "
        "*File > Download > Download .ipynb* and hand in that file under its original name."
    )


def _requirement_name(requirement: str) -> str:
    """Distribution name of a requirement string such as `torch>=2.1`."""
    return re.split(r"[\s<>=!~;\[(@]", requirement.strip(), maxsplit=1)[0]


def setup_source(config: dict) -> str:
    """Code of the setup cell: installs the course package in Colab only."""
    requirements = "".join(
        f"        ({_requirement_name(req)!r}, {req!r}),\n" for req in config["requirements"]
    )
    return f'''{SETUP_TITLE}
{SETUP_MARKER}
# In Colab it installs the course helpers (course_utils) from the course repository and leaves
# Colab's own torch, numpy and matplotlib alone; anywhere else it does nothing.
def _course_setup_for_colab():
    """Install the course package when running in Google Colab; elsewhere say so and return."""
    import importlib.metadata
    import importlib.util
    import os
    import subprocess
    import sys

    try:
        in_colab = "google.colab" in sys.modules or importlib.util.find_spec("google.colab")
    except ImportError:  # no `google` package at all: not Colab
        in_colab = False
    if not in_colab:
        print("Not running in Colab: nothing to install (the course environment has it all).")
        return
    package = os.environ.get({PACKAGE_OVERRIDE_ENV!r}, {install_spec(config)!r})
    requirements = [
{requirements}    ]
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    steps = []
    if importlib.util.find_spec("course_utils") is None:
        # --no-deps: Colab's preinstalled torch, numpy and matplotlib must stay as they are.
        steps.append([*pip, "--no-deps", package])
    missing = []
    for name, requirement in requirements:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    if missing:  # only what this runtime lacks, within the course's version ranges
        steps.append([*pip, *missing])
    for command in steps:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"pip could not install {{command[-1]}}:\\n{{done.stderr[-2000:]}}\\n"
                "Fix: check the internet connection (Runtime > Change runtime type), then "
                "run this cell again."
            )
    importlib.invalidate_caches()
    if importlib.util.find_spec("course_utils") is None:
        raise RuntimeError(f"{{package}} installed no course_utils; check the address above.")
    where = "installed" if steps else "already installed"
    print(f"Colab setup done: course_utils {{where}} ({{package}}).")


_course_setup_for_colab()
# The tests compare your answers with functions taken now, before your code runs: code that
# replaces torch.allclose or a builtin later cannot change them (course_utils/reference.py).
import {REFERENCE_MODULE}  # noqa: F401
'''


def graded_test_cells(nb) -> list[tuple[str, str, float, str]]:
    """(label, grade_id, points, visible test code) of each autograded test cell, in order."""
    checks = []
    heading = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # label: the last heading above the test
            for line in cell.source.splitlines():
                if line.lstrip().startswith("#"):
                    heading = line.lstrip("# ").strip()
            continue
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        grade_id = str(meta.get("grade_id", "")) or f"cell {len(checks) + 1}"
        # A student copy has no hidden tests; strip them anyway in case a master comes here.
        code = HIDDEN_TESTS.sub("", cell.source).rstrip() + "\n"
        label = heading or grade_id
        checks.append((label[:70], grade_id, meta.get("points", 0), code))
    return checks


def _string_lines(text: str, indent: str) -> str:
    """`text` as adjacent string literals, one source line each, for readable generated code."""
    lines = text.splitlines(keepends=True) or [""]
    return "".join(f"{indent}{line!r}\n" for line in lines)


def self_check_source(checks) -> str:
    """Code of the last cell: re-run every visible test on a copy of the globals, summarise."""
    entries = "".join(
        f"    ({label!r}, {grade_id!r}, {points!r}, (\n{_string_lines(code, ' ' * 8)}    )),\n"
        for label, grade_id, points, code in checks
    )
    return f'''{SELF_CHECK_TITLE}
{SELF_CHECK_MARKER}
# Runs the visible tests of every exercise again, each on a copy of your variables, and prints
# one line per exercise. The grader also runs hidden tests on other inputs. Not graded.
# Run All stops at the first exercise that raises an error, so run this cell on its own
# (Shift+Enter) once the cells above have run.
_VISIBLE_TESTS = [
{entries}]


def _check_all_answers(tests, user_globals):
    """Run each visible test in a fresh copy of the globals; print a per-exercise summary."""
    import contextlib
    import io
    import os
    import warnings

    if os.environ.get("NBGRADER_EXECUTION"):
        print("Self-check skipped while grading: the grader runs the tests itself.")
        return
    earned = total = 0
    for label, grade_id, points, code in tests:
        total += points
        printed, errors = io.StringIO(), io.StringIO()  # kept out of the summary
        warned = ""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
                    exec(compile(code, f"<visible tests of {{grade_id}}>", "exec"),
                         dict(user_globals))
            stderr = [f"{{w.category.__name__}}: {{w.message}}" for w in caught]
            stderr += errors.getvalue().strip().splitlines()
            # The course's grader counts only errors; a warning is worth reading, not a failure.
            warned = f" (but it warned: {{stderr[0][:100]}})" if stderr else ""
        except (Exception, SystemExit) as err:
            if isinstance(err, NotImplementedError):
                reason = "not answered yet (NotImplementedError)"
            elif isinstance(err, NameError):
                reason = f"NameError: {{err}} (run the cells above first?)"
            else:
                first = (str(err).strip().splitlines() or [""])[0][:120]
                reason = f"{{type(err).__name__}}: {{first}}" if first else type(err).__name__
            print(f"✘ {{label}} [{{grade_id}}] 0/{{points:g}}: {{reason}}")
        else:
            earned += points
            print(f"✔ {{label}} [{{grade_id}}] {{points:g}}/{{points:g}}{{warned}}")
    print(f"Visible tests: {{earned:g}}/{{total:g}} points. Hidden tests on other inputs decide "
          "the grade.")


_check_all_answers(_VISIBLE_TESTS, globals())
'''


def _course_cell_kind(cell) -> str | None:
    """'badge', 'setup' or 'self-check' for a cell this module added, else None."""
    meta = cell.get("metadata", {}).get(METADATA_KEY)
    if isinstance(meta, dict) and meta.get("cell"):
        return str(meta["cell"])
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    if cell.get("cell_type") == "markdown" and BADGE_IMAGE in source:
        return "badge"
    head = source.splitlines()[:2]  # the marker follows the `#@title` line
    if cell.get("cell_type") == "code" and SETUP_MARKER in head:
        return "setup"
    if cell.get("cell_type") == "code" and SELF_CHECK_MARKER in head:
        return "self-check"
    return None


def _new_cell(kind: str, source: str, nb, code: bool):
    """A course cell with its marker metadata and, where nbformat allows ids, a stable id."""
    make = nbformat.v4.new_code_cell if code else nbformat.v4.new_markdown_cell
    folded = copy.deepcopy(FOLDED) if code else {}
    cell = make(source=source, metadata={METADATA_KEY: {"cell": kind}, **folded})
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = f"linreg-course-{kind}"
    else:
        cell.pop("id", None)
    return cell


def add_self_check_cell(nb):
    """Append (or refresh) the "Check all my answers" cell; none if nothing is autograded."""
    nb.cells = [cell for cell in nb.cells if _course_cell_kind(cell) != "self-check"]
    checks = graded_test_cells(nb)
    if checks:
        nb.cells.append(_new_cell("self-check", self_check_source(checks), nb, code=True))
    return nb


def apply_course_links(nb, assignment_id: str, config: dict | None = None):
    """Put the Colab badge and setup cell on top and the self-check cell last; idempotent."""
    config = config or load_course_config()
    nb.cells = [cell for cell in nb.cells if _course_cell_kind(cell) not in ("badge", "setup")]
    top = [
        _new_cell("badge", badge_source(assignment_id, config), nb, code=False),
        _new_cell("setup", setup_source(config), nb, code=True),
    ]
    nb.cells = top + list(nb.cells)
    return add_self_check_cell(nb)
