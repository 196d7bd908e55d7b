"""A sample class built from the masters, with the score every submission must get.

Each student copy starts from the released notebook (nbgrader's generate_assignment, through
autograding.course.release) and gets its answers from the masters' solutions. Expected scores are
never typed in: they are the masters' points of the test cells expected to pass, where
"expected to pass" comes from a reference run ("oracle") of a benign notebook with the same
answers, executed by plain nbclient (no sandbox, no pipeline) with the master's test cells,
as nbgrader's autograde would run it. Oracle results are cached by content hash.

Rules for hostile code (documented because the score must be well defined):
- Code that never finishes or fails before the answer (infinite loop, endless sleep, a 50 GB
  allocation, a fork bomb stopped by the process cap, reading the masters, writing outside
  the scratch folder, opening a connection) goes at the TOP of the first answer cell, followed
  by the correct answer: the cell is interrupted or errors, the correct answer in it never
  runs, the kernel lives on and every later cell runs. Expected: the "first answer void"
  oracle.
- The escape attempts are gated: if the forbidden action succeeds, the student's code runs the
  stolen or correct answer and earns points it must not get, so a leaky sandbox shows up as a
  wrong score. These expectations hold only in a sandbox (`needs_sandbox`, `sandboxed`).
- os._exit(0) or sys.exit() at the top of the first answer, or SIGKILL to its own kernel after
  the middle answer: the kernel dies; test cells before that answer keep the score of the
  correct run, every later graded cell gets zero. (A plain ipykernel turns sys.exit() into a
  SystemExit error and runs on; the grader's contract stops the kernel, as the program asked.)
- Tampered tests (deleted, edited to `pass`, duplicated) are restored from the masters, so they
  score like the untampered answers: deleted tests with correct answers get full marks,
  `pass`-edited and duplicated tests with blank answers get the blank score.
- A notebook that is not JSON, empty, a Python script, missing, or present only under a wrong
  file name gets zero. An nbformat 3 notebook is upgraded to nbformat 4 (as nbformat and
  nbgrader do) and graded like the same answers in a current notebook.
- A million lines of output come after the answer in its cell: the grader must truncate the
  output without losing the answer (a timeout there would only cost the printing).
- Five thousand tiny displays come after the answer in its cell: few bytes, but one feedback
  row each; the grader keeps the first 1,000 and says so.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from autograding.intake import ASSIGNMENT_IDS

COURSE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = COURSE_ROOT.parent
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|$)", re.MULTILINE)
VOID_ANSWER = 'raise RuntimeError("sample class oracle: this answer cell never completes")\n'
ORACLE_TIMEOUT = 120
DEMO_MARKER = ".linreg-demo"


# ------------------------------------------------------------------------ course material --


@dataclass
class Assignment:
    """A master, its released student copy, and the positions of answers and tests."""

    name: str
    master: dict
    student: dict
    answers: list[str]  # grade ids of autograded answer cells, in notebook order
    points: dict[str, float]  # grade id -> points of each graded (test) cell
    order: list[str]  # every grade id, in notebook order

    @property
    def max_score(self) -> float:
        """Points available in this assignment."""
        return float(sum(self.points.values()))

    def cell(self, nb: dict, grade_id: str) -> dict:
        """The cell of `nb` with `grade_id` (the first one)."""
        return next(c for c in nb["cells"] if _grade_id(c) == grade_id)

    def solution(self, grade_id: str) -> str:
        """The master's answer code without the solution markers."""
        return SOLUTION_MARKER.sub("", _source(self.cell(self.master, grade_id)))


def sandboxed(modes: str | None) -> bool:
    """Whether a batch ran every notebook in a sandbox (GradingReport.sandbox lists modes)."""
    used = {m.strip() for m in (modes or "").split(",") if m.strip()}
    return bool(used) and used <= {"bwrap", "namespaces"}


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def available_assignments(course_root=None, assignments=None) -> list[str]:
    """Assignment ids whose master exists, in course order."""
    root = Path(course_root or COURSE_ROOT)
    ids = assignments or ASSIGNMENT_IDS
    return [a for a in ids if (root / "source" / a / f"{a}.ipynb").is_file()]


def load_assignments(course_root=None, assignments=None, released_dir=None
                     ) -> dict[str, Assignment]:
    """Masters and student copies (from `released_dir`, else released afresh)."""
    from autograding.course.release import build_student_notebooks

    root = Path(course_root or COURSE_ROOT)
    ids = available_assignments(root, assignments)
    if not ids:
        raise FileNotFoundError(f"{root / 'source'}: no master notebooks; write or restore them")
    if released_dir is not None:
        released = {f"{a}.ipynb": (Path(released_dir) / f"{a}.ipynb").read_text("utf-8")
                    for a in ids}
    else:
        released = build_student_notebooks(root, ids)
    result = {}
    for name in ids:
        master = json.loads((root / "source" / name / f"{name}.ipynb").read_text("utf-8"))
        student = json.loads(released[f"{name}.ipynb"])
        answers = [
            _grade_id(c) for c in master["cells"]
            if c["cell_type"] == "code" and _nbgrader(c).get("solution")
            and not _nbgrader(c).get("grade")
        ]
        points = {
            _grade_id(c): float(_nbgrader(c).get("points", 0)) for c in master["cells"]
            if _nbgrader(c).get("grade") and c["cell_type"] == "code"
        }
        order = [_grade_id(c) for c in master["cells"] if _grade_id(c)]
        result[name] = Assignment(name, master, student, answers, points, order)
    return result


# ---------------------------------------------------------------------------- transforms --


def fill(assignment: Assignment, answered=None, *, nb: dict | None = None) -> dict:
    """A student copy with the master's solution in the answers `answered` (default: all)."""
    nb = copy.deepcopy(nb or assignment.student)
    answered = assignment.answers if answered is None else answered
    for grade_id in answered:
        assignment.cell(nb, grade_id)["source"] = assignment.solution(grade_id)
    return nb


def set_answer(assignment: Assignment, nb: dict, grade_id: str, code: str) -> dict:
    """Replace one answer cell's code."""
    assignment.cell(nb, grade_id)["source"] = code
    return nb


def restore_tests(assignment: Assignment, nb: dict) -> dict:
    """The master's test cells (hidden tests included) in place of the student's, as graded."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        grade_id = _grade_id(cell)
        if grade_id in assignment.points:
            master_cell = assignment.cell(assignment.master, grade_id)
            cell["source"] = _source(master_cell)
            cell["metadata"] = copy.deepcopy(master_cell["metadata"])
    return nb


def _new_cell(cell_type: str, source: str, seed: str) -> dict:
    """A plain (ungraded) cell with a deterministic nbformat 4.5 id."""
    cell = {"cell_type": cell_type, "id": hashlib.sha1(seed.encode()).hexdigest()[:8],
            "metadata": {}, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook_text(nb: dict) -> str:
    """JSON text as Jupyter writes it (indent 1, newline at the end)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------- hostile code --


def _loop_forever(**_) -> str:
    return "while True:  # never ends: the grader has to time this cell out\n    pass\n"


def _sleep_forever(**_) -> str:
    return "import time\n\ntime.sleep(10**9)  # sleeps for 30 years\n"


def _alloc_50gb(**_) -> str:
    return "hoard = bytearray(50 * 2**30)  # 50 GB\n"


def _sys_exit(**_) -> str:
    return "import sys\n\nsys.exit()\n"


def _os_exit(**_) -> str:
    return "import os\n\nos._exit(0)  # the kernel process ends here\n"


def _fork_bomb(**_) -> str:
    # Forks until the process cap stops it. Bounded so that a missing cap cannot hurt the
    # host (at most 200 sleeping children for 1.5 s), and the parent never blocks on a child
    # (a child forked from a threaded kernel can hang): stragglers are killed. Getting all
    # 200 children without hitting the cap runs the answer (points it must not get).
    return '''import os
import signal
import time

_deadline = time.monotonic() + 1.5
_children, _capped = [], False
for _ in range(200):
    try:
        _pid = os.fork()
    except OSError:
        _capped = True
        break
    if _pid == 0:
        try:
            time.sleep(max(0.0, _deadline - time.monotonic()))
        finally:
            os._exit(0)
    _children.append(_pid)
while _children and time.monotonic() < _deadline + 1.0:
    for _pid in list(_children):
        try:
            if os.waitpid(_pid, os.WNOHANG)[0]:
                _children.remove(_pid)
        except ChildProcessError:
            _children.remove(_pid)
    time.sleep(0.05)
for _pid in _children:
    try:
        os.kill(_pid, signal.SIGKILL)
        os.waitpid(_pid, 0)
    except OSError:
        pass
if _capped:
    raise RuntimeError("the fork bomb was stopped by the process limit")
'''


def _fill_disk(**_) -> str:
    # 4 GiB in files of 200 MiB, each under the per-file cap: only the grader's cap on all the
    # files together stops it (the kernel is stopped). Without that cap it would go on to the
    # answer and get its points.
    return """for _i in range(20):
    with open(f"_filler_{_i}.bin", "wb") as _file:
        for _ in range(25):
            _file.write(bytes(8 * 2**20))
"""


def _read_masters(assignment: str, grade_id: str, paths: list[str], **_) -> str:
    return f'''import glob
import json

_stolen = None
for _pattern in {paths!r}:
    for _path in glob.glob(_pattern):
        try:
            with open(_path, encoding="utf-8") as _file:
                _cells = json.load(_file)["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for _cell in _cells:
            _meta = _cell.get("metadata", {{}}).get("nbgrader", {{}})
            if _meta.get("grade_id") == {grade_id!r}:
                _stolen = "".join(_cell["source"])
if _stolen is None:
    raise PermissionError("could not read the masters or a classmate's notebook")
exec(_stolen)
'''


def _write_outside(paths: list[str], **_) -> str:
    return f'''_escaped = []
for _path in {paths!r}:
    try:
        with open(_path, "a", encoding="utf-8") as _file:
            _file.write("written from inside the grading kernel\\n")
        _escaped.append(_path)
    except OSError:
        pass
if not _escaped:
    raise PermissionError("every write outside the scratch folder was refused")
'''


def _network(**_) -> str:
    # Loopback only: even when graded with --sandbox none (no network namespace),
    # a sample student must not send traffic off this machine. That the sandbox cuts the
    # network is asserted by tests/test_sandbox.py::test_no_network with a live listener.
    return '''import socket

_reached = []
for _host, _port in [("127.0.0.1", 22), ("127.0.0.1", 80), ("127.0.0.1", 8888)]:
    try:
        socket.create_connection((_host, _port), timeout=2).close()
        _reached.append(_host)
    except OSError:
        pass
if not _reached:
    raise ConnectionError("no network from the grading kernel")
'''


def _million_lines(**_) -> str:
    return 'for _line in range(1_000_000):\n    print("spam", _line)\n'


def _skip_tests() -> str:
    # The one-line way to make every later test raise nothing: IPython runs each later cell
    # through this transformer, which empties it. The grader checks that each test cell
    # reaches its last line.
    return "\nget_ipython().input_transformers_cleanup.append(lambda lines: [])\n"


def _display_flood(**_) -> str:
    return "for _shown in range(5_000):\n    display(_shown)\n"


FIRST_ANSWER_HOSTILE = {
    "loop_forever": (_loop_forever, "infinite loop in the first answer", False),
    "sleep_forever": (_sleep_forever, "time.sleep forever in the first answer", False),
    "alloc_50gb": (_alloc_50gb, "allocates 50 GB in the first answer", False),
    "fork_bomb": (_fork_bomb, "fork bomb, gated on escaping the process cap", True),
    "read_masters": (_read_masters, "steals the answer from the masters/classmates", True),
    "write_outside": (_write_outside, "writes outside its scratch, gated on success", True),
    "network": (_network, "opens network connections, gated on success", True),
}


# ------------------------------------------------------------------------ class roster --


@dataclass
class SampleSubmission:
    """One (student, assignment) of the sample class and what it must score."""

    student: str
    assignment: str
    kind: str
    description: str
    files: dict[str, bytes]  # name inside submitted/<student>/<assignment>/ -> content
    oracle: str = ""  # oracle key whose per-cell scores apply
    dead_after: str = ""  # grade id of the answer after which no later cell runs (killed)
    zero: bool = False
    needs_sandbox: bool = False
    canaries: list[str] = field(default_factory=list)  # files that must never appear


@dataclass
class SampleClass:
    """The sample class on disk and the expected score of each submission."""

    submitted_dir: Path
    submissions: list[SampleSubmission]
    expected_cells: dict[tuple[str, str], dict[str, float]]
    max_scores: dict[str, float]
    oracle_seconds: float = 0.0

    @property
    def expected(self) -> dict[tuple[str, str], float]:
        """{(student, assignment): expected total score}."""
        return {key: float(sum(cells.values())) for key, cells in self.expected_cells.items()}

    @property
    def needs_sandbox(self) -> set[tuple[str, str]]:
        """Submissions whose expected score assumes a real sandbox (not --sandbox none)."""
        return {(s.student, s.assignment) for s in self.submissions if s.needs_sandbox}

    @property
    def canaries(self) -> list[Path]:
        """Files a hostile submission tries to create outside its sandbox."""
        return [Path(p) for s in self.submissions for p in s.canaries]

    def describe(self) -> dict[tuple[str, str], str]:
        """{(student, assignment): what the submission does}."""
        return {(s.student, s.assignment): f"{s.kind}: {s.description}" for s in self.submissions}


# Students who hand in every assignment, then one student per hostile or corrupt case.
FULL_STUDENTS = [
    ("ada_correct", "correct"),
    ("ben_alternative", "alternative"),
    ("cai_partial", "partial"),
    ("dana_blank", "blank"),
    ("eli_erroring", "erroring"),
]
SINGLE_STUDENTS = [
    ("fay_loop_forever", "loop_forever"),
    ("gus_sleep_forever", "sleep_forever"),
    ("hal_alloc_50gb", "alloc_50gb"),
    ("ivy_fork_bomb", "fork_bomb"),
    ("jon_sys_exit", "sys_exit"),
    ("kai_os_exit", "os_exit"),
    ("lea_kill_midway", "kill_midway"),
    ("max_delete_tests", "delete_tests"),
    ("nia_edit_tests", "edit_tests"),
    ("oli_duplicate_tests", "duplicate_tests"),
    ("pia_fake_pass", "fake_pass"),
    ("quinn_million_lines", "million_lines"),
    ("rex_read_masters", "read_masters"),
    ("sia_write_outside", "write_outside"),
    ("tom_network", "network"),
    ("uma_not_json", "not_json"),
    ("vic_empty_file", "empty_file"),
    ("wes_nbformat3", "nbformat3"),
    ("xia_text_file", "text_file"),
    ("yan_missing_notebook", "missing_notebook"),
    ("zoe_extra_files", "extra_files"),
    ("abe_odd_names", "odd_names"),
    ("bea_wrong_name", "wrong_name"),
    ("cal_colab_saved", "colab_saved"),
    ("dov_fill_disk", "fill_disk"),
    ("eva_display_flood", "display_flood"),
    ("fin_skip_tests", "skip_tests"),
]
EXTRA_KINDS = ("correct", "partial", "alternative", "blank")
ROSTER_SIZE = len(FULL_STUDENTS) + len(SINGLE_STUDENTS)


def roster(n_students: int, assignments: list[str]) -> list[tuple[str, str, list[str]]]:
    """(student, kind, assignments) for at least `n_students` students."""
    rows = [(s, kind, list(assignments)) for s, kind in FULL_STUDENTS]
    for index, (student, kind) in enumerate(SINGLE_STUDENTS):
        rows.append((student, kind, [assignments[index % len(assignments)]]))
    extra = 0
    while len(rows) < n_students:
        kind = EXTRA_KINDS[extra % len(EXTRA_KINDS)]
        rows.append((f"extra{extra + 1:02d}_{kind}", kind, [assignments[extra % len(assignments)]]))
        extra += 1
    return rows


def make_submission(student: str, kind: str, a: Assignment, *, submitted_dir: Path,
                    course_root: Path, classmate: str) -> SampleSubmission:
    """Build one student's files for one assignment, with what it must score."""
    name = f"{a.name}.ipynb"
    first, last = a.answers[0], a.answers[-1]
    middle = a.answers[(len(a.answers) - 1) // 2]
    sub = SampleSubmission(student, a.name, kind, "", {})

    def notebook(nb: dict, oracle: str, description: str) -> SampleSubmission:
        sub.files[name] = notebook_text(nb).encode()
        sub.oracle, sub.description = oracle, description
        return sub

    if kind == "correct":
        return notebook(fill(a), "correct", "the masters' solutions")
    if kind == "alternative":
        return notebook(_alternative(a), "correct", "correct, with its own cells, notes, prints")
    if kind == "partial":
        return notebook(fill(a, a.answers[::2]), "partial", "every other answer left blank")
    if kind == "blank":
        return notebook(copy.deepcopy(a.student), "blank", "the released notebook unchanged")
    if kind == "erroring":
        nb = fill(a)
        typo = 'print("my result:", my_reslt)  # typo: NameError\n'
        set_answer(a, nb, last, typo + a.solution(last))
        return notebook(nb, "last-void", "NameError at the top of the last answer")
    if kind in FIRST_ANSWER_HOSTILE:
        build, description, gated = FIRST_ANSWER_HOSTILE[kind]
        master_paths = [str(course_root / "source" / a.name / name), f"../../source/{a.name}/*",
                        f"../source/{a.name}/*", str(submitted_dir / classmate / a.name / name)]
        escape_paths = [str(submitted_dir / student / a.name / name),
                        str(submitted_dir.parent / f"ESCAPED_{student}.txt")]
        hostile = build(assignment=a.name, grade_id=first, paths=master_paths
                        if kind == "read_masters" else escape_paths)
        nb = fill(a)
        body = "" if kind == "read_masters" else a.solution(first)
        set_answer(a, nb, first, hostile + "\n" + body)
        sub.needs_sandbox = gated
        if kind == "write_outside":
            sub.canaries = escape_paths[1:]
        return notebook(nb, "first-void", description)
    if kind in ("os_exit", "sys_exit"):
        nb = fill(a)
        code = _os_exit() if kind == "os_exit" else _sys_exit()
        set_answer(a, nb, first, code + a.solution(first))
        sub.dead_after = first
        call = "os._exit(0)" if kind == "os_exit" else "sys.exit()"
        return notebook(nb, "", f"{call} at the top of the first answer: the kernel stops")
    if kind == "fill_disk":
        nb = fill(a)
        set_answer(a, nb, first, _fill_disk() + a.solution(first))
        sub.dead_after = first
        return notebook(nb, "", "writes 4 GiB in files under the per-file cap: stopped")
    if kind == "kill_midway":
        nb = fill(a)
        kill = "\nimport os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)\n"
        set_answer(a, nb, middle, a.solution(middle) + kill)
        sub.dead_after = middle
        return notebook(nb, "", f"kills its own kernel after answer {middle!r}")
    if kind == "skip_tests":
        nb = fill(a)
        set_answer(a, nb, middle, a.solution(middle) + _skip_tests())
        sub.dead_after = middle
        return notebook(nb, "", f"empties every cell after answer {middle!r} (the tests "
                        "too) with an input transformer")
    if kind == "delete_tests":
        nb = fill(a)
        nb["cells"] = [c for c in nb["cells"] if _grade_id(c) not in a.points]
        return notebook(nb, "correct", "correct answers, every test cell deleted")
    if kind == "edit_tests":
        nb = copy.deepcopy(a.student)
        for cell in nb["cells"]:
            if _grade_id(cell) in a.points:
                cell["source"] = "pass\n"
        return notebook(nb, "blank", "blank answers, every test cell edited to `pass`")
    if kind == "duplicate_tests":
        nb = copy.deepcopy(a.student)
        cells = []
        for cell in nb["cells"]:
            if _grade_id(cell) in a.points:
                fake = copy.deepcopy(cell)
                fake["source"] = "pass  # my own copy of the test\n"
                fake["id"] = hashlib.sha1(f"dup-{_grade_id(cell)}".encode()).hexdigest()[:8]
                cells.append(fake)
            cells.append(cell)
        nb["cells"] = cells
        return notebook(nb, "blank", "blank answers, a `pass` copy before every test cell")
    if kind == "fake_pass":
        return notebook(_fake_pass(a), "blank", "blank answers printing fake passing tests")
    if kind == "million_lines":
        nb = fill(a)
        set_answer(a, nb, first, a.solution(first) + "\n" + _million_lines())
        return notebook(nb, "correct", "correct, then prints a million lines")
    if kind == "display_flood":
        nb = fill(a)
        set_answer(a, nb, first, a.solution(first) + "\n" + _display_flood())
        return notebook(nb, "correct", "correct, then shows 5,000 tiny outputs")
    if kind == "extra_files":
        sub.files.update({
            "data.csv": b"x,y\n1,2\n2,4\n",
            "helper.py": b"def linreg(X, w, b):\n    return X @ w + b\n",
            "figures/loss.png": _tiny_png(),
        })
        return notebook(fill(a), "correct", "correct, with extra files and a subfolder")
    if kind == "odd_names":
        sub.files.update({
            "notes – final (1).txt": b"numbers checked twice",
            "数据 файл.csv": b"x,y\n",
            "-rf": b"",
            " leading space;&$(echo).txt": b"odd",
            "x" * 200 + ".txt": b"long name",
            f"Copy of {a.name}.ipynb": notebook_text(a.student).encode(),
        })
        return notebook(fill(a), "correct", "correct, beside files with odd names")
    if kind == "colab_saved":
        sub.files[name] = colab_saved(fill(a), seed=f"{student}/{a.name}").encode()
        sub.oracle, sub.description = "correct", "correct, saved from Google Colab"
        return sub
    return _corrupt(sub, kind, a, name)


def _corrupt(sub: SampleSubmission, kind: str, a: Assignment, name: str) -> SampleSubmission:
    """Broken or missing notebooks: zero."""
    import nbformat

    sub.zero = True
    text = notebook_text(fill(a))
    if kind == "not_json":
        sub.files[name] = text[: len(text) // 2].encode()
        sub.description = "truncated download: not JSON"
    elif kind == "empty_file":
        sub.files[name] = b""
        sub.description = "empty file"
    elif kind == "nbformat3":
        old = nbformat.convert(nbformat.reads(text, as_version=4), 3)
        sub.files[name] = nbformat.writes(old, version=3).encode()
        sub.description = "correct answers in the old nbformat 3: upgraded, then graded"
        sub.zero, sub.oracle = False, "correct"
    elif kind == "text_file":
        code = [_source(c) for c in fill(a)["cells"] if c["cell_type"] == "code"]
        script = "#!/usr/bin/env python\n# coding: utf-8\n\n" + "".join(
            f"# In[ ]:\n\n\n{src}\n\n\n" for src in code)
        sub.files[name] = script.encode()
        sub.description = "a Python script saved as .ipynb"
    elif kind == "missing_notebook":
        sub.files["README.txt"] = b"My laptop died, I will send the notebook later.\n"
        sub.description = "folder without the notebook"
    elif kind == "wrong_name":
        sub.files[f"{a.name.upper()} (1).ipynb"] = text.encode()
        sub.description = "correct notebook under a wrong file name (intake would fix it)"
    else:
        raise ValueError(f"unknown sample submission kind {kind!r}")
    return sub


def _alternative(a: Assignment) -> dict:
    """Correct answers with the student's own scratch cells, notes and debug prints."""
    nb = fill(a)
    cells = []
    for cell in nb["cells"]:
        grade_id = _grade_id(cell)
        if grade_id in a.answers:
            cell["source"] = ("# My answer (I first tried a loop, then vectorized it).\n"
                              + _source(cell) + '\nprint("answer cell ran")\n')
        cells.append(cell)
        if grade_id in a.answers:
            cells.append(_new_cell("code", '_scratch = "trying things out"\nprint(_scratch)\n',
                                   f"scratch-{grade_id}"))
            cells.append(_new_cell("markdown", "Note to self: check the shapes.",
                                   f"note-{grade_id}"))
    nb["cells"] = cells
    return nb


def _fake_pass(a: Assignment) -> dict:
    """Blank answers that print passing-looking text, with fake outputs under the tests."""
    nb = copy.deepcopy(a.student)
    fake = "All tests passed!\nScore: 10/10\n"
    for cell in nb["cells"]:
        grade_id = _grade_id(cell)
        if grade_id in a.answers:
            cell["source"] = f"print({fake!r})\n" + _source(cell)
        elif grade_id in a.points:
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": fake}]
    nb["cells"].append(_new_cell("code", f"print({fake!r})\n", "fake-final"))
    return nb


def _tiny_png() -> bytes:
    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Er"
        "kJggg=="
    )


# ----------------------------------------------------------------------------- Colab save --

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def colab_saved(nb: dict, *, seed: str, executed: dict | None = None,
                badge_url: str = "") -> str:
    """The text Google Colab downloads for `nb` (File > Download > .ipynb).

    Colab writes nbformat 4.0 with 2-space JSON, keys in its own order, a `colab` metadata
    block, its kernelspec {"name": "python3", "display_name": "Python 3"}, `accelerator`,
    12-character cell ids in cell metadata (no top-level cell ids), source as lists of lines,
    per-cell `executionInfo` and `outputId` when a cell ran, and an "Open in Colab" cell
    (`view-in-github`) when the notebook was opened from GitHub. nbgrader metadata is kept.
    """
    rng = random.Random(seed)
    executed_cells = (executed or {}).get("cells", [])
    outputs_by_key = {}
    for cell in executed_cells:
        for key in (_grade_id(cell), cell.get("id"), _source(cell)):
            if key:
                outputs_by_key.setdefault(key, cell.get("outputs", []))
    cells = []
    if badge_url:
        cells.append({"cell_type": "markdown",
                      "metadata": {"id": "view-in-github", "colab_type": "text"},
                      "source": [f'<a href="{badge_url}" target="_parent"><img '
                                 'src="https://colab.research.google.com/assets/colab-badge.svg"'
                                 ' alt="Open In Colab"/></a>']})
    clock = 1763800000000
    for count, cell in enumerate(nb["cells"], start=1):
        meta = copy.deepcopy(cell.get("metadata", {}))
        for key in ("deletable", "editable", "execution", "collapsed", "scrolled"):
            meta.pop(key, None)
        meta["id"] = "".join(rng.choice(_ID_ALPHABET) for _ in range(12))
        lines = _source(cell).splitlines(keepends=True)
        if cell["cell_type"] != "code":
            cells.append({"cell_type": cell["cell_type"], "source": lines, "metadata": meta})
            continue
        found = (outputs_by_key.get(k) for k in (_grade_id(cell), cell.get("id"), _source(cell)))
        outputs = copy.deepcopy(next((o for o in found if o is not None), []))
        if outputs:
            clock += rng.randint(500, 4000)
            meta["colab"] = {"base_uri": "https://localhost:8080/"}
            meta["outputId"] = _uuid(rng)
            meta["executionInfo"] = {
                "status": "ok", "timestamp": clock, "user_tz": -480,
                "elapsed": rng.randint(5, 900),
                "user": {"displayName": "Student Colab", "userId": "0" * 20 + "42"},
            }
        for output in outputs:
            if "text" in output and isinstance(output["text"], str):
                output["text"] = output["text"].splitlines(keepends=True)
        cells.append({"cell_type": "code", "source": lines, "metadata": meta,
                      "execution_count": count if outputs else None, "outputs": outputs})
    document = {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"provenance": [], "gpuType": "T4", "include_colab_link": bool(badge_url)},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
        },
        "cells": cells,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _uuid(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


# -------------------------------------------------------------------------------- oracle --


def oracle_notebooks(a: Assignment) -> dict[str, dict]:
    """The benign reference notebooks whose test results define the expected scores."""
    half = a.answers[::2]
    notebooks = {
        "correct": copy.deepcopy(a.master),
        "blank": copy.deepcopy(a.student),
        "partial": fill(a, half),
        "first-void": set_answer(a, fill(a), a.answers[0], VOID_ANSWER),
        "last-void": set_answer(a, fill(a), a.answers[-1], VOID_ANSWER),
    }
    return {key: restore_tests(a, nb) for key, nb in notebooks.items()}


def _code_fingerprint() -> str:
    """Hash of course_utils' source: oracle results depend on it too."""
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "course_utils").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """Where oracle results are cached ($XDG_CACHE_HOME/linreg-course/oracle)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "linreg-course" / "oracle"


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
        grade_id = _grade_id(cell)
        if grade_id in points and grade_id not in scores:
            score, _ = score_cell(cell)
            scores[grade_id] = float(score or 0.0)
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


# -------------------------------------------------------------------------------- build --


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


# --------------------------------------------------------------------------------- demo --


def grade_table(sample: SampleClass, totals: dict, width: int = 100) -> tuple[str, int]:
    """Students x assignments table of got/expected scores, and the number of mismatches."""
    names = sorted({a for _, a in sample.expected})
    students = sorted({s for s, _ in sample.expected}, key=_student_order(sample))
    header = f"{'student':<22}" + "".join(f"{n[:12]:>13}" for n in names) + "  ok"
    lines = [header, "-" * min(width, len(header))]
    wrong = 0
    for student in students:
        row = f"{student[:21]:<22}"
        fine = True
        for name in names:
            key = (student, name)
            if key not in sample.expected:
                row += f"{'':>13}"
                continue
            got = totals.get(key)
            want = sample.expected[key]
            ok = got is not None and math.isclose(got, want, abs_tol=1e-6)
            fine &= ok
            shown = "-" if got is None else f"{got:g}"
            row += f"{shown + '/' + format(want, 'g') + ('' if ok else '!'):>13}"
        wrong += not fine
        lines.append(row + ("  ✔" if fine else "  ✘ differs"))
    return "\n".join(lines), wrong


def _student_order(sample: SampleClass):
    order = {s.student: i for i, s in enumerate(sample.submissions)}
    return lambda student: order.get(student, 0)


def run_demo(out_dir="demo-out", *, n_students: int = ROSTER_SIZE, workers=None,
             cell_timeout: float = 10.0, course_root=None, echo=print) -> int:
    """`make demo`: run the masters, release, build a sample class, grade it, print the table."""
    from autograding.course.release import release_notebooks

    out = Path(out_dir).resolve()
    if out.exists() and any(out.iterdir()) and not (out / DEMO_MARKER).exists():
        echo(f"{out}: exists and was not made by the demo; pass another folder")
        return 2
    for sub in ("submitted", "graded", "release"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / DEMO_MARKER).write_text("made by `python -m autograding demo`\n")
    started = time.monotonic()
    ids = available_assignments(course_root)
    released = release_notebooks(course_root, out / "release", ids)
    echo(f"1/4 released {len(released)} student notebooks into {out / 'release'}")
    echo("2/4 running the masters and the reference notebooks (cached after the first run)")
    sample = make_sample_class(out / "submitted", n_students, course_root=course_root,
                               workers=workers or 2, released_dir=out / "release", echo=echo)
    for name, points in sample.max_scores.items():
        got = sample.expected.get((FULL_STUDENTS[0][0], name))
        echo(f"  master {name}: {got:g}/{points:g} points"
             + ("" if got == points else "  <- the master fails its own tests"))
    students = {s.student for s in sample.submissions}
    echo(f"  sample class: {len(students)} students, {len(sample.submissions)} submissions "
         f"in {out / 'submitted'}")
    from autograding.engine.executor import Limits
    from autograding.grading.grade import grade_submissions

    limits = Limits(cell_timeout=cell_timeout, notebook_timeout=max(120.0, 6 * cell_timeout))
    echo(f"3/4 grading in parallel (cell timeout {cell_timeout:g} s)")
    report = grade_submissions(out / "submitted", out / "graded", workers=workers,
                               limits=limits, course_root=course_root, force=True)
    table, wrong = grade_table(sample, report.totals())
    echo("4/4 grades (got/expected; ! marks a difference)")
    echo(table)
    echo(f"\n{len(sample.submissions)} submissions graded in {report.seconds:.0f} s "
         f"(sandbox: {report.sandbox or 'n/a'}); total demo time "
         f"{time.monotonic() - started:.0f} s")
    leaky = set() if sandboxed(report.sandbox) else sample.needs_sandbox
    mismatched = [k for k in sample.expected
                  if not math.isclose(report.totals().get(k, -1), sample.expected[k])
                  and k not in leaky]
    if leaky:
        echo(f"note: graded without a sandbox, so {len(leaky)} escape attempts may score "
             "points")
    echo(f"grades CSV : {report.csv_path}")
    echo(f"feedback   : {report.feedback_dir}/<student>/<assignment>/")
    echo(f"plot (PNG) : {report.plot_path}")
    echo(f"gradebook  : {report.db_url}")
    if mismatched:
        echo(f"{len(mismatched)} submissions differ from their expected score:")
        described = sample.describe()
        for key in mismatched:
            result = report.results.get(key)
            cells = report.scores().get(key, {})
            lost = [g for g, v in sample.expected_cells[key].items() if cells.get(g) != v]
            echo(f"  {key[0]}/{key[1]} ({described[key]}): cells {', '.join(lost)}"
                 + (f"; {result.comments[0][:120]}" if result and result.comments else ""))
        return 1
    echo("every submission got exactly its expected score")
    return 0


def add_arguments(parser) -> None:
    """Options of the `demo` command."""
    parser.add_argument("--out", default="demo-out",
                        help="output folder (default ./demo-out; recreated on every run)")
    parser.add_argument("--students", type=int, default=ROSTER_SIZE,
                        help=f"students in the sample class (at least {ROSTER_SIZE}, the "
                        "built-in roster; more adds correct/partial/blank copies)")
    parser.add_argument("--workers", type=int, default=None,
                        help="grading worker processes (default: number of cores)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds per cell before a submission's cell is stopped")


def run(args) -> int:
    """The `demo` command: run_demo with the parsed options."""
    return run_demo(args.out, n_students=args.students, workers=args.workers,
                    cell_timeout=args.timeout)


if __name__ == "__main__":
    import argparse

    _parser = argparse.ArgumentParser(description=run_demo.__doc__)
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))
