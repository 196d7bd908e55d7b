"""Reference runs ("oracles"): the per-cell scores that define every expected score.

An oracle is a benign notebook with the answers of some submissions (correct, blank, partial,
first or last answer void, wrong) and the master's test cells, executed by plain nbclient (no
sandbox, no pipeline) as nbgrader's autograde would run it. Results are cached by the
notebook's content and a fingerprint of the code that decides them.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograding.course.release import REPO_ROOT
from autograding.demo.assignments import (
    Assignment,
    fill,
    grade_id,
    notebook_text,
    one_off_answers,
    restore_tests,
    set_answer,
)
from autograding.grading.files import user_cache_dir

VOID_ANSWER = 'raise RuntimeError("sample class oracle: this answer cell never completes")\n'
ORACLE_TIMEOUT = 120


def oracle_notebooks(a: Assignment) -> dict[str, dict]:
    """The benign reference notebooks whose test results define the expected scores."""
    half = a.answers[::2]
    notebooks = {
        "correct": copy.deepcopy(a.master),
        "blank": copy.deepcopy(a.student),
        "partial": fill(a, half),
        "first-void": set_answer(a, fill(a), a.answers[0], VOID_ANSWER),
        "last-void": set_answer(a, fill(a), a.last_tested_answer, VOID_ANSWER),
        "wrong": one_off_answers(a),
    }
    return {key: restore_tests(a, nb) for key, nb in notebooks.items()}


def fingerprinted_files() -> list[Path]:
    """The code an oracle result depends on besides its notebook.

    course_utils (imported by the notebooks), every module of this package (they build the
    reference notebooks and read their scores) and the grader's cell scoring.
    """
    from autograding.grading.scoring import score_cell

    files = sorted((REPO_ROOT / "course_utils").glob("*.py"))
    files += sorted(Path(__file__).resolve().parent.glob("*.py"))
    return files + [Path(inspect.getsourcefile(score_cell)).resolve()]


def _code_fingerprint() -> str:
    """Hash of the code in fingerprinted_files(): a change there invalidates the cache."""
    digest = hashlib.sha256()
    for path in fingerprinted_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """Where oracle results are cached ($XDG_CACHE_HOME/linreg-course/oracle)."""
    return user_cache_dir() / "oracle"


def execute_plain(notebooks: list[dict], timeout: float = ORACLE_TIMEOUT) -> list[dict]:
    """Run notebooks top to bottom with nbclient, as nbgrader autograde does (no sandbox).

    They share one kernel, one after the other, with IPython's namespace reset in between:
    their first cell seeds every generator, and kernel start plus `import torch` would
    otherwise cost more than the notebooks themselves. The first one runs in a fresh kernel.
    """
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    nodes = [nbformat.reads(json.dumps(nb), as_version=4) for nb in notebooks]
    env = dict(os.environ, NBGRADER_EXECUTION="autograde")
    env.pop("COURSE_UTILS_QUIET", None)
    reset = nbformat.v4.new_code_cell("get_ipython().run_line_magic('reset', '-f')")
    with tempfile.TemporaryDirectory(prefix="linreg-oracle-") as scratch:
        # IPC transport: no TCP port, and no "running over TCP" warning on the terminal.
        config = Config()
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(scratch, "kernel-ipc")
        client = NotebookClient(nodes[0], timeout=timeout, allow_errors=True, config=config,
                                kernel_name="python3", resources={"metadata": {"path": scratch}})
        with client.setup_kernel(env=env):
            for number, node in enumerate(nodes):
                client.nb = node
                if number:
                    client.execute_cell(copy.deepcopy(reset), 0, store_history=False)
                for index, cell in enumerate(node.cells):
                    client.execute_cell(cell, index)
    return [json.loads(json.dumps(node)) for node in nodes]


def cell_scores(nb: dict, points: dict[str, float]) -> dict[str, float]:
    """The grader's score of each graded cell of an executed notebook (errors -> 0)."""
    import nbformat

    from autograding.grading.scoring import score_cell

    scores = {}
    for cell in nbformat.from_dict(nb).cells:
        cell_id = grade_id(cell)
        if cell_id in points and cell_id not in scores:
            score, _ = score_cell(cell)
            scores[cell_id] = float(score or 0.0)
    return {g: scores.get(g, 0.0) for g in points}


def run_oracles(assignments: dict[str, Assignment], needed: set[tuple[str, str]], *,
                cache_dir=None, workers: int = 2, echo=print) -> dict:
    """{(assignment, oracle key): (per-cell scores, executed notebook)}, cached by content."""
    cache = Path(cache_dir or default_cache_dir())
    cache.mkdir(parents=True, exist_ok=True)
    code = _code_fingerprint()
    jobs, results = {}, {}
    for name, key in sorted(needed):
        nb = oracle_notebooks(assignments[name])[key]
        digest = hashlib.sha256((code + notebook_text(nb)).encode()).hexdigest()
        path = cache / f"{name}-{key}-{digest[:24]}.json"
        if path.is_file():
            cached = json.loads(path.read_text("utf-8"))
            results[(name, key)] = (cached["scores"], cached["executed"])
        else:
            jobs[(name, key)] = (nb, path)

    def run(name):
        keys = sorted(key for (n, key) in jobs if n == name)
        keys.sort(key=lambda key: key != "correct")  # the masters first, in a fresh kernel
        started = time.monotonic()
        executed = execute_plain([jobs[(name, key)][0] for key in keys])
        done = {}
        for key, nb in zip(keys, executed, strict=True):
            scores = cell_scores(nb, assignments[name].points)
            path = jobs[(name, key)][1]
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"scores": scores, "executed": nb}), "utf-8")
            os.replace(tmp, path)
            done[(name, key)] = (scores, nb)
        summary = ", ".join(f"{key} {sum(done[(name, key)][0].values()):g}" for key in keys)
        echo(f"  reference runs of {name} (of {assignments[name].max_score:g} points): "
             f"{summary} [{time.monotonic() - started:.0f} s]")
        return done

    if jobs:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for done in pool.map(run, sorted({name for name, _ in jobs})):
                results.update(done)
    return results
