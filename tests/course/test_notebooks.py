"""The five notebooks run: masters pass their own tests, student copies fail them cleanly.

Each master and each student notebook is executed once per session (cached), with nbclient;
`nbgrader validate` and `nbgrader autograde` each run once for all masters together.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import inspect
import json
import os
import pkgutil
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from fractions import Fraction
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import course_utils
from autograding.course import release

pytestmark = pytest.mark.slow

IDS = release.ASSIGNMENT_IDS
MASTERS = {aid: release.master_path(aid) for aid in IDS}
STUDENTS = {aid: release.NOTEBOOKS_DIR / f"{aid}.ipynb" for aid in IDS}
NBGRADER = str(Path(sys.executable).with_name("nbgrader"))
CELL_TIMEOUT = 300
PROBE_PREFIX = "COURSE-PROBE-JSON:"

# Values read from each executed master: label -> Python expression evaluated in its kernel.
KEY_EXPRESSIONS = {
    "01_vectorization": {
        "speedup": "float(speedup)", "surface_shape": "list(surface.shape)",
        "grid_argmin": "[w_values[i_w].item(), b_values[i_b].item()]",
        "lstsq_line": "[w_ls, b_ls]", "grid_step": "step",
    },
    "02_linreg_scratch": {
        "w": "w.detach().reshape(-1)", "b": "b.detach().reshape(-1)",
        "true_w": "true_w", "true_b": "true_b", "epoch_losses": "epoch_losses",
    },
    "03_linreg_concise": {
        "w": "w.reshape(-1)", "b": "b.reshape(-1)", "true_w": "true_w", "true_b": "true_b",
        "toy_prediction": "prediction",
    },
    "04_loss_functions": {
        "best_constants": "{name: found for name, (found, _, _) in results.items()}",
        "sample": "sample",
        "mae_150": "best_constant(targets, absolute_loss)",
        "mse_150": "best_constant(targets, squared_error)",
        "coverage": "interval_coverage(x_test, y_test, lower, upper)",
        "laplace_minimisers": "laplace_minimisers", "laplace_scale": "laplace_scale",
        "laplace_fit": "list(laplace_fit)", "mae_fit": "list(fits['MAE'])",
        "nll_costs": "[laplace_cost, gauss_cost]", "huber_constants": "huber_constants",
        "kink_slopes": "slopes", "kink_counts": "counted",
        "huber_window": "[huber_window[0], huber_window[-1]]",
        "quantile_window": "[quantile_window[0], quantile_window[-1]]",
        "quantile_constants": "quantile_constants", "mae_last": "mae_last",
        "toy_lr": "toy_lr", "fits": "fits",
    },
    "05_mse_gradients": {
        "loss_mean": "loss_mean", "loss_sum": "loss_sum",
        "grad_mean": "grad_mean", "grad_sum": "grad_sum",
        "batch_loss": "batch_loss", "w_grad": "w_grad", "b_grad": "b_grad",
        "w1": "w1", "b1": "b1",
        "torch_w1": "net[0].weight.detach().reshape(-1)",
        "torch_b1": "net[0].bias.detach().reshape(-1)",
        "losses_big": "[float(v) for v in losses_big]",
        "best_loss": "best_loss",
    },
    "06_real_data": {
        "sizes": "[len(X_train), len(X_val), len(X_test)]", "test_coverage": "test_coverage",
    },
}

PROBE_SOURCE = """
import json as _probe_json
from fractions import Fraction as _ProbeFraction


def _probe_plain(value):
    if isinstance(value, _ProbeFraction):
        return {"fraction": str(value)}
    if hasattr(value, "detach"):
        value = value.detach().cpu().tolist()
    elif hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_probe_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _probe_plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


_probe_values = {}
for _probe_label, _probe_expression in %r.items():
    try:
        _probe_values[_probe_label] = _probe_plain(eval(_probe_expression))
    except Exception as _probe_error:
        _probe_values[_probe_label] = {"error": f"{type(_probe_error).__name__}: {_probe_error}"}
print(%r + _probe_json.dumps(_probe_values))
"""


def graded_points(nb) -> dict[str, float]:
    """{grade_id: points} of a notebook's graded code cells."""
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def answers_not_tested_first(nb) -> list[str]:
    """Graded answer cells whose next cell is not their test: a locked demo that calls a wrong
    answer then fails before the test can say why."""
    tests = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")
             and not c.metadata["nbgrader"].get("solution")]
    late = []
    for index, cell in enumerate(nb.cells[:-1]):
        meta = cell.metadata.get("nbgrader", {})
        # An optional challenge at the end has no test after it.
        if cell.cell_type == "code" and meta.get("solution") and tests and index < tests[-1]:
            following = nb.cells[index + 1].metadata.get("nbgrader", {})
            if not (following.get("grade") and not following.get("solution")):
                late.append(f"cell {index + 1} after the answer {meta['grade_id']}")
    return late


def exercise_points(nb) -> dict[int, int]:
    """{exercise number: points} from the "### Exercise N (P points)" headings, each checked
    against the first graded test cell after its heading."""
    tests = [(i, c) for i, c in enumerate(nb.cells)
             if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    stated_points = {}
    for i, cell in enumerate(nb.cells):
        for number, stated in re.findall(r"### Exercise (\d+) \((\d+) points?\)", cell.source):
            test = next(c for j, c in tests if j > i)  # its test: the first graded cell after
            assert test.metadata["nbgrader"]["points"] == int(stated), number
            stated_points[int(number)] = int(stated)
    return stated_points


def require(path: Path) -> Path:
    """Fail (never skip) naming a notebook that should exist."""
    if not path.is_file():
        pytest.fail(f"{path} is missing: write the master (autograding/source/<id>/<id>.ipynb) "
                    "and run `make release`")
    return path


def kernel_env(**extra) -> dict:
    """Environment of an executed notebook: not grading, no progress bars."""
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    env.update(COURSE_UTILS_QUIET="1", **extra)
    # nbgrader calls `alembic` (next to our python) when it creates a gradebook.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_notebook(nb, folder: Path, **env) -> nbformat.NotebookNode:
    """Execute `nb` top to bottom in `folder`, keeping going after errors."""
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env=kernel_env(**env))
    return nb


def execute(path: Path, extra_cells=(), **env) -> nbformat.NotebookNode:
    """Execute a notebook file top to bottom in its own folder, keeping going after errors."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.extend(extra_cells)
    return run_notebook(nb, path.parent, **env)


def probe_output(nb, prefix: str = PROBE_PREFIX):
    """The JSON an executed notebook's last cell printed after `prefix` (None if nothing)."""
    for output in nb.cells[-1].get("outputs", []):
        if output.output_type == "stream" and prefix in output.text:
            return json.loads(output.text.split(prefix, 1)[1])
    return None


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_graded_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def errors_of(cell) -> list:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def describe(cell, index) -> str:
    meta = nbgrader_meta(cell)
    return f"cell {index}" + (f" ({meta['grade_id']})" if meta.get("grade_id") else "")


# Probe cells of the test_outputs_NN modules, {assignment id: {prefix: source}}: they read
# the same run of the master as the probe above (a master runs 7-25 s; each module used to run
# it once more). Probes only read the master's variables, so each sees what a run of the master
# with only its own probe would show.
SHARED_PROBES: dict[str, dict[str, str]] = {aid: {} for aid in IDS}


def share_master_run(aid: str, prefix: str, source: str) -> None:
    """Append `source` (a cell printing `prefix` + JSON) to master_run(aid). Call it when the
    module is imported: pytest imports every test module before the first test runs."""
    if aid in master_run_started:
        raise RuntimeError(f"{aid} already ran without the probe {prefix!r}")
    SHARED_PROBES[aid][prefix] = source


master_run_started: set[str] = set()


@functools.cache
def master_run(aid: str) -> dict:
    """The master executed once, with the key-value probe cell and every shared probe cell
    appended: {"notebook": the master's cells only, "probes": {prefix: executed probe cell},
    "seconds": the time the run took}."""
    master_run_started.add(aid)
    sources = {PROBE_PREFIX: PROBE_SOURCE % (KEY_EXPRESSIONS[aid], PROBE_PREFIX),
               **SHARED_PROBES[aid]}
    started = time.monotonic()
    nb = execute(require(MASTERS[aid]), [new_code_cell(s) for s in sources.values()])
    seconds = time.monotonic() - started
    probes = dict(zip(sources, nb.cells[-len(sources):], strict=True))
    del nb.cells[-len(sources):]
    return {"notebook": nb, "probes": probes, "seconds": seconds}


def master_probe(aid: str, prefix: str):
    """(The JSON that master_run(aid)'s probe `prefix` printed or None, that probe cell)."""
    cell = master_run(aid)["probes"][prefix]
    return probe_output(new_notebook(cells=[cell]), prefix), cell


def executed_master(aid: str):
    """The master executed with a probe cell appended; returns (notebook, probed values)."""
    return master_run(aid)["notebook"], master_probe(aid, PROBE_PREFIX)[0]


@functools.cache
def executed_student(aid: str):
    """The released notebook, unanswered, run as a student would (Run All)."""
    return execute(require(STUDENTS[aid]))


@pytest.mark.parametrize("aid", IDS)
def test_master_runs_without_errors(aid, nbgrader_runs):
    nb, _ = executed_master(aid)
    problems = []
    for index, cell in enumerate(nb.cells):
        for err in errors_of(cell):
            problems.append(f"{describe(cell, index)} raised {err.ename}: {err.evalue}")
        if is_graded_test(cell):
            stderr = [o.text for o in cell.get("outputs", [])
                      if o.output_type == "stream" and o.name == "stderr"]
            if stderr:
                problems.append(f"{describe(cell, index)} writes to stderr (nbgrader gives the "
                                f"cell 0): {''.join(stderr)[:300]!r}")
    assert not problems, f"{MASTERS[aid]}:\n" + "\n".join(problems)


@pytest.mark.parametrize("aid", IDS)
def test_student_notebook_fails_only_with_not_implemented(aid, nbgrader_runs):
    nb = executed_student(aid)
    first_answer = next((i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("solution")),
                        None)
    assert first_answer is not None, f"{STUDENTS[aid]} has no answer cell"
    problems = []
    for index, cell in enumerate(nb.cells[:first_answer]):
        for err in errors_of(cell):
            problems.append(f"{describe(cell, index)} (before the first exercise) raised "
                            f"{err.ename}: {err.evalue}")
    graded = [(i, c) for i, c in enumerate(nb.cells) if is_graded_test(c)]
    assert graded, f"{STUDENTS[aid]} has no graded test cells"
    for index, cell in graded:
        names = [err.ename for err in errors_of(cell)]
        if names != ["NotImplementedError"]:
            got = ", ".join(f"{e.ename}: {e.evalue}" for e in errors_of(cell)) or "no error"
            problems.append(f"{describe(cell, index)} should fail with NotImplementedError on "
                            f"an unanswered notebook, got {got}")
    assert not problems, f"{STUDENTS[aid]}:\n" + "\n".join(problems)


def probed(aid: str) -> dict:
    """The key values of an executed master, failing clearly when one could not be read."""
    _, values = executed_master(aid)
    assert values is not None, f"{MASTERS[aid]}: the probe cell printed nothing"
    broken = {k: v["error"] for k, v in values.items() if isinstance(v, dict) and "error" in v}
    assert not broken, f"{MASTERS[aid]}: could not read {broken} after running it"
    return values


def exact(value):
    """Probed JSON back to Fractions (nested lists kept)."""
    if isinstance(value, dict) and "fraction" in value:
        return Fraction(value["fraction"])
    if isinstance(value, list):
        return [exact(v) for v in value]
    return value


def test_key_outputs_05_mse_gradients():
    v = {k: exact(x) for k, x in probed("05_mse_gradients").items()}
    third = Fraction(1, 3)
    assert v["loss_mean"] == Fraction(17, 6) and v["loss_sum"] == 17
    assert v["grad_mean"] == [[third, -third], [1, -2 * third], [-third, third]]
    assert v["grad_sum"] == [[2, -2], [6, -4], [-2, 2]]
    assert v["batch_loss"] == 12
    assert v["w_grad"] == [Fraction(32, 3), 16] and v["b_grad"] == Fraction(20, 3)
    assert v["w1"] == [Fraction(-13, 3), -6] and v["b1"] == Fraction(-10, 3)
    assert v["torch_w1"] == pytest.approx([-13 / 3, -6], abs=1e-4)
    assert v["torch_b1"] == pytest.approx([-10 / 3], abs=1e-4)
    losses = v["losses_big"]
    assert losses[:2] == pytest.approx([449 / 6, 1565.8703703703704], rel=1e-12)
    assert all(b > 50 * a for a, b in zip(losses[1:], losses[2:])), "lr = 0.5 must diverge"
    assert v["best_loss"] == pytest.approx(3.7367, abs=1e-4)


def test_key_outputs_01_vectorization():
    assert probed("01_vectorization")["speedup"] > 10


def parameter_errors(values: dict) -> tuple[float, float]:
    """Largest |w - true_w| and |b - true_b| of a trained linear model."""
    w_error = max(abs(a - t) for a, t in zip(values["w"], values["true_w"], strict=True))
    (b_value,) = values["b"]
    return w_error, abs(b_value - values["true_b"])


def test_key_outputs_02_linreg_scratch():
    values = probed("02_linreg_scratch")
    w_error, b_error = parameter_errors(values)
    assert w_error < 5e-3 and b_error < 5e-3, f"scratch SGD missed the truth: {values}"
    # The final epoch loss sits at the noise floor 0.01^2 / 2 = 5e-5, never far below it.
    assert 2.5e-5 < values["epoch_losses"][-1] < 1e-4, values["epoch_losses"]


def test_key_outputs_03_linreg_concise():
    values = probed("03_linreg_concise")
    w_error, b_error = parameter_errors(values)
    assert w_error < 5e-3 and b_error < 5e-3, f"concise training missed the truth: {values}"
    assert abs(values["toy_prediction"] - 8.0) <= 0.01, values["toy_prediction"]


def test_key_outputs_04_loss_functions():
    import numpy as np

    values = probed("04_loss_functions")
    sample = np.array(values["sample"], dtype=np.float64)
    found = values["best_constants"]
    grid_step = (sample.max() - sample.min()) / 2000
    # The minimisers, computed here independently: mean, median, gamma-quantiles.
    expected = {"MSE": sample.mean(), "MAE": np.median(sample)}
    expected.update({f"quantile {g}": np.quantile(sample, g) for g in (0.25, 0.75, 0.95)})
    assert set(found) == set(expected), f"best constants for {sorted(found)}"
    for name, value in expected.items():
        assert abs(found[name] - value) <= 1.01 * grid_step, (name, found[name], value)
    # 90 % of targets at 150, 10 % in 0..30: MAE predicts 150, MSE the mean 136.5.
    assert values["mae_150"] == pytest.approx(150, abs=0.1)
    assert values["mse_150"] == pytest.approx(136.5, abs=0.1)
    assert 0.87 <= values["coverage"] <= 0.93, values["coverage"]


# --- drift between the masters and course_utils -------------------------------------------

def course_utils_objects() -> dict:
    """Every function and class course_utils defines, by name (top level and submodules)."""
    objects = {}
    for info in pkgutil.iter_modules(course_utils.__path__):
        module = importlib.import_module(f"course_utils.{info.name}")
        for name, obj in vars(module).items():
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                    obj.__module__ == module.__name__:
                objects[name] = obj
    return objects


def taught_definitions(nb) -> dict:
    """{name: source} of top-level defs in answer cells and `#@save` cells, markers removed."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if not (nbgrader_meta(cell).get("solution") or "@save" in cell.source):
            continue
        lines = [line for line in cell.source.splitlines()
                 if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
        text = "\n".join(lines)
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue  # a master that does not parse fails test_master_runs_without_errors
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                found[node.name] = "\n".join(lines[start - 1 : node.end_lineno])
    return found


def normalized(source: str) -> list[str]:
    return [line.rstrip() for line in textwrap.dedent(source).strip("\n").splitlines()]


@pytest.mark.parametrize("aid", IDS)
def test_master_teaches_the_code_course_utils_ships(aid):
    nb = nbformat.read(require(MASTERS[aid]), as_version=4)
    shipped = course_utils_objects()
    drifted = []
    for name, text in taught_definitions(nb).items():
        if name not in shipped:
            continue
        expected = normalized(inspect.getsource(shipped[name]))
        if normalized(text) != expected:
            where = inspect.getsourcefile(shipped[name])
            diff = "\n".join(difflib.unified_diff(expected, normalized(text), where,
                                                  str(MASTERS[aid]), lineterm=""))
            drifted.append(f"`{name}` differs between {where} and the master:\n{diff}")
    assert not drifted, "\n\n".join(drifted)


def test_drift_check_finds_a_changed_helper():
    """The drift check compares real text: an edited copy of `sgd` is reported."""
    source = inspect.getsource(course_utils.sgd)
    cell = new_code_cell(source.replace("param.grad.zero_()", "pass"))
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "sgd"}
    found = taught_definitions(new_notebook(cells=[cell]))
    assert normalized(found["sgd"]) != normalized(source)
    cell.source = "#@save\n" + source.replace("    with", "    ### BEGIN SOLUTION\n    with")
    cell.metadata = {}
    found = taught_definitions(new_notebook(cells=[cell]))
    assert normalized(found["sgd"]) == normalized(source)


# --- nbgrader itself: validate and autograde ----------------------------------------------

CANARY = "zz_canary"


def canary_notebook(answer: str) -> nbformat.NotebookNode:
    """A tiny assignment (no torch) whose test fails unless `answer` defines double()."""
    def meta(grade_id, **kw):
        base = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                "solution": False, "task": False}
        return {"nbgrader": {**base, **kw}}

    return new_notebook(cells=[
        new_markdown_cell("Canary", metadata=meta("intro", locked=True)),
        new_code_cell(f"### BEGIN SOLUTION\n{answer}\n### END SOLUTION",
                      metadata=meta("answer", solution=True)),
        new_code_cell("assert double(2) == 4, 'double(2) should be 4'",
                      metadata=meta("check", grade=True, locked=True, points=1)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


RUNNING_NBGRADER: set[subprocess.Popen] = set()  # stopped when the session ends early


def stop_process_group(process: subprocess.Popen) -> None:
    """Kill an nbgrader command together with the kernels it started."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def run_nbgrader(args, cwd: Path, **env) -> str:
    # One pipe for both streams, unbuffered: verdicts (stdout) stay next to their log lines.
    process = subprocess.Popen([NBGRADER, *args], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True,
                               env=kernel_env(PYTHONUNBUFFERED="1", **env))
    RUNNING_NBGRADER.add(process)
    try:
        output, _ = process.communicate(timeout=900)
    finally:
        stop_process_group(process)
        RUNNING_NBGRADER.discard(process)
    return output


def nbgrader_validate(tmp: Path):
    """{notebook path: nbgrader validate's verdict text}, one run for all masters + a canary."""
    canary = tmp / f"{CANARY}.ipynb"
    nbformat.write(canary_notebook("def double(x):\n    return x + 1"), canary)
    paths = [p for p in MASTERS.values() if p.is_file()] + [canary]
    output = run_nbgrader(["validate", *map(str, paths)], release.COURSE_ROOT,
                          LINREG_EXCHANGE_ROOT=str(tmp / "exchange"))
    sections = re.split(r"^\[ValidateApp \| INFO\] Validating '(.+?)'\s*$", output,
                        flags=re.MULTILINE)
    return {Path(path): text for path, text in zip(sections[1::2], sections[2::2])}, canary


def nbgrader_autograde(root: Path):
    """Autograde every master as a student submission in a temporary course copy.

    Returns ({assignment id: {grade_id: (score, max_score)}}, log); a canary assignment with a
    wrong answer is graded too, to show that the scores come from real grading.
    """
    from nbgrader.api import Gradebook

    shutil.copy(release.COURSE_ROOT / "nbgrader_config.py", root)  # root = its own folder
    present = [aid for aid in IDS if MASTERS[aid].is_file()]
    for aid in [*present, CANARY]:
        (root / "source" / aid).mkdir(parents=True)
        (root / "submitted" / "reference" / aid).mkdir(parents=True)
    for aid in present:
        shutil.copy(MASTERS[aid], root / "source" / aid)
        shutil.copy(MASTERS[aid], root / "submitted" / "reference" / aid)
    nbformat.write(canary_notebook("def double(x):\n    return 2 * x"),
                   root / "source" / CANARY / f"{CANARY}.ipynb")
    nbformat.write(canary_notebook("def double(x):\n    return x + 1"),
                   root / "submitted" / "reference" / CANARY / f"{CANARY}.ipynb")
    env = {"LINREG_EXCHANGE_ROOT": str(root / "exchange")}
    log = run_nbgrader(["generate_assignment", "--assignment=*", "--force"], root, **env)
    log += run_nbgrader(["autograde", "--assignment=*", "--student=reference", "--force"],
                        root, **env)
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "linreg-pytorch") as gb:
        for assignment in gb.assignments:
            try:
                submission = gb.find_submission(assignment.name, "reference")
            except Exception:  # not graded: the test reports it with nbgrader's log
                continue
            scores[assignment.name] = {
                grade.name: (grade.score, grade.max_score)
                for notebook in submission.notebooks for grade in notebook.grades
            }
    return scores, log


class BackgroundNbgrader:
    """Runs `nbgrader validate`, then `nbgrader autograde`, in a thread.

    They are subprocesses, so they use the second core while this process executes notebooks
    with nbclient; the tests that need their results wait for them.
    """

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.results = {}
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for name, job in [("validate", nbgrader_validate), ("autograde", nbgrader_autograde)]:
            if self.stopped:
                return
            try:
                folder = self.tmp / name
                folder.mkdir()
                self.results[name] = job(folder)
            except Exception as err:  # re-raised in the test that asks for it
                self.results[name] = err

    def get(self, name: str):
        self.thread.join(timeout=1800)
        result = self.results.get(name)
        if result is None or isinstance(result, Exception):
            pytest.fail(f"nbgrader {name} did not finish: {result!r}")
        return result

    def stop(self):
        """End the session cleanly: no nbgrader or kernel outlives pytest."""
        self.stopped = True
        for process in list(RUNNING_NBGRADER):
            stop_process_group(process)
        self.thread.join(timeout=60)


@pytest.fixture(scope="session")
def nbgrader_runs(tmp_path_factory):
    """Started by the first notebook test, so nbgrader works while nbclient does."""
    runner = BackgroundNbgrader(tmp_path_factory.mktemp("nbgrader"))
    yield runner
    runner.stop()


@pytest.fixture(scope="session")
def validate_report(nbgrader_runs):
    return nbgrader_runs.get("validate")


def test_nbgrader_validate_parser_sees_a_failure(validate_report):
    report, canary = validate_report
    assert canary in report, f"nbgrader validate said nothing about {canary}"
    assert "VALIDATION FAILED" in report[canary] and "Success!" not in report[canary]


@pytest.mark.parametrize("aid", IDS)
def test_nbgrader_validate_passes_on_master(aid, validate_report):
    path = require(MASTERS[aid])
    report, _ = validate_report
    assert path in report, f"nbgrader validate printed no verdict for {path}"
    assert "Success! Your notebook passes all the tests." in report[path], (
        f"nbgrader validate {path}:\n{report[path][-3000:]}")


@pytest.fixture(scope="session")
def autograde_scores(nbgrader_runs):
    return nbgrader_runs.get("autograde")


def test_autograde_scores_are_real(autograde_scores):
    scores, log = autograde_scores
    assert CANARY in scores, f"nbgrader autograde did not grade the canary:\n{log[-3000:]}"
    assert scores[CANARY] == {"check": (0, 1)}


@pytest.mark.parametrize("aid", IDS)
def test_nbgrader_autograde_gives_the_master_full_marks(aid, autograde_scores):
    require(MASTERS[aid])
    scores, log = autograde_scores
    assert aid in scores, f"nbgrader autograde did not grade {aid}:\n{log[-3000:]}"
    lost = {gid: f"{s}/{m}" for gid, (s, m) in scores[aid].items() if s != m}
    assert scores[aid] and not lost, f"{MASTERS[aid]} as a submission lost points: {lost}"
