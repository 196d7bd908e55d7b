"""execute_notebook: outputs like nbclient, errors, dead kernels, timeouts, output floods."""

import nbformat.v4 as v4
import pytest

from autograding.engine.executor import ExecutionResult, Limits, execute_notebook
from autograding.grading.scoring import score_cell

pytestmark = pytest.mark.slow

SHORT = Limits(cell_timeout=3, notebook_timeout=30)


def notebook(*sources):
    """A notebook with a markdown cell first and one code cell per source."""
    cells = [v4.new_markdown_cell("# title")] + [v4.new_code_cell(s) for s in sources]
    return v4.new_notebook(cells=cells)


def code_outputs(result: ExecutionResult):
    return [c.outputs for c in result.notebook.cells if c.cell_type == "code"]


def enames(outputs):
    return [o.ename for o in outputs if o.output_type == "error"]


def test_outputs_look_like_nbclient():
    result = execute_notebook(notebook(
        "import torch\nx = torch.arange(3.0)\nprint(x.sum().item())",
        "x.tolist()",
        "import sys; print('careful', file=sys.stderr)",
        "from IPython.display import display, HTML; display(HTML('<b>hi</b>'))",
        "import os, pathlib; print(os.environ['NBGRADER_EXECUTION'], sorted(os.listdir('.')),"
        " pathlib.Path('data.csv').read_text())",
    ), files={"data.csv": b"1,2\n"})
    outs = code_outputs(result)
    assert result.notebook.cells[0].cell_type == "markdown"
    assert outs[0] == [{"output_type": "stream", "name": "stdout", "text": "3.0\n"}]
    assert outs[1][0]["output_type"] == "execute_result"
    assert outs[1][0]["data"]["text/plain"] == "[0.0, 1.0, 2.0]"
    assert outs[1][0]["execution_count"] == 2
    assert outs[2] == [{"output_type": "stream", "name": "stderr", "text": "careful\n"}]
    assert outs[3][0]["output_type"] == "display_data"
    assert outs[3][0]["data"]["text/html"] == "<b>hi</b>"
    assert outs[4][0]["text"] == "autograde ['data.csv'] 1,2\n\n"
    counts = [c.execution_count for c in result.notebook.cells if c.cell_type == "code"]
    assert counts == [1, 2, 3, 4, 5]
    assert not result.kernel_died and not result.timed_out and result.messages == []


def test_error_cell_then_later_cells_still_run():
    result = execute_notebook(notebook("x = 1", "1 / 0", "print(x + 1)", "   "))
    outs = code_outputs(result)
    assert outs[1][0]["output_type"] == "error"
    assert outs[1][0]["ename"] == "ZeroDivisionError"
    assert outs[1][0]["traceback"]
    assert outs[2][0]["text"] == "2\n"
    assert outs[3] == []  # blank cells are skipped, like nbclient
    assert not result.kernel_died


@pytest.mark.parametrize("killer", [
    "import sys; sys.exit()",
    "exit()",
    "import os; os._exit(1)",
    "import os; os.kill(os.getpid(), 9)",
    "import ctypes; ctypes.string_at(0)",
])
def test_kernel_death_fails_that_cell_and_every_later_one(killer):
    result = execute_notebook(notebook("print('before')", f"print('dying')\n{killer}",
                                       "print('graded test passed')", "assert True"))
    outs = code_outputs(result)
    assert outs[0][0]["text"] == "before\n"
    for cell_outputs in outs[1:]:
        assert enames(cell_outputs), cell_outputs  # never a clean cell after the death
        assert not any(o.get("text") == "graded test passed\n" for o in cell_outputs)
    assert enames(outs[2]) == ["DeadKernelError"] and enames(outs[3]) == ["DeadKernelError"]
    assert result.kernel_died
    assert result.messages and "cell 2" in result.messages[0]


@pytest.mark.parametrize("stuck", ["while True:\n    pass", "import time; time.sleep(10**6)"])
def test_cell_timeout_interrupts_and_later_cells_run(stuck):
    result = execute_notebook(notebook("x = 41", stuck, "print(x + 1)"), limits=SHORT)
    outs = code_outputs(result)
    assert enames(outs[1]) == ["TimeoutError"]
    assert "timed out after 3 s" in outs[1][-1]["evalue"]
    assert outs[2][0]["text"] == "42\n"
    assert result.timed_out and not result.kernel_died
    assert result.seconds < 15
    assert code_outputs(execute_notebook(notebook("print('next')")))[0][0]["text"] == "next\n"


def test_timeout_that_ignores_interrupts_kills_the_kernel():
    stubborn = ("import time\nwhile True:\n    try:\n        time.sleep(100)\n"
                "    except BaseException:\n        pass")
    result = execute_notebook(notebook(stubborn, "print('after')"), limits=SHORT)
    outs = code_outputs(result)
    assert enames(outs[0]) == ["TimeoutError"]
    assert enames(outs[1]) == ["DeadKernelError"]
    assert result.timed_out and result.kernel_died


def test_notebook_time_limit_fails_the_rest():
    limits = Limits(cell_timeout=10, notebook_timeout=2)
    result = execute_notebook(notebook("import time; time.sleep(1.2)", "time.sleep(1.2)",
                                       "print('never')"), limits=limits)
    outs = code_outputs(result)
    assert outs[0] == []
    assert enames(outs[1]) == ["TimeoutError"]
    assert enames(outs[2]) == ["DeadKernelError"]
    assert any("notebook time limit" in m for m in result.messages)


def test_huge_allocation_fails_without_hurting_the_machine():
    result = execute_notebook(notebook("x = bytearray(50 * 2**30)", "print('alive')"))
    outs = code_outputs(result)
    assert enames(outs[0]) in (["MemoryError"], ["DeadKernelError"])
    assert enames(outs[1]) == [] if not result.kernel_died else enames(outs[1])


def test_million_lines_are_truncated_and_errors_kept():
    limits = Limits(max_output_bytes=20_000)
    result = execute_notebook(notebook(
        "import sys\nsys.stdout.write('line\\n' * 10**6)\nfor i in range(20_000):\n"
        "    print(i)\nraise ValueError('after the flood')",
        "print('small')"), limits=limits)
    outs = code_outputs(result)
    text = "".join(o.get("text", "") for o in outs[0])
    assert len(text) < 21_000
    assert "[output truncated" in text
    assert enames(outs[0]) == ["ValueError"]  # the error is never dropped
    assert outs[1][0]["text"] == "small\n"


def test_kernel_stops_sending_a_flood_past_the_budget_and_keeps_no_copy():
    """Past the budget the kernel drops a cell's prints instead of sending them (ipykernel's
    write and IPython's in-memory output history made a million lines cost 13 s); stderr has
    its own count, the next cell starts afresh, and the shell keeps no copy of the streams."""
    limits = Limits(max_output_bytes=20_000)
    result = execute_notebook(notebook(
        "import sys\nfor i in range(100_000):\n    print('spam', i)\n"
        "sent = sys.stdout._written\nsys.stderr.write('after the flood\\n')",
        "history = getattr(get_ipython().history_manager, 'outputs', {})\n"
        "kept = sum(o.output_type.endswith('_stream') for v in history.values() for o in v)\n"
        "print('next', sent, kept, type(sys.stdout).__name__)"), limits=limits)
    outs = code_outputs(result)
    assert "[output truncated" in "".join(o.get("text", "") for o in outs[0])
    assert any(o.get("name") == "stderr" and "after the flood" in o["text"] for o in outs[0])
    label, sent, kept, stream = outs[1][0]["text"].split()
    assert label == "next" and stream == "BudgetedOutStream"
    assert 20_000 < int(sent) <= 20_000 + 20  # about the budget, not the 1.1 MB printed
    assert kept == "0"


def test_flood_of_displays_is_capped_by_count_and_errors_kept():
    """Thousands of tiny displays are few bytes but one feedback row each: capped by count."""
    limits = Limits(max_outputs=50)
    result = execute_notebook(notebook(
        "for i in range(2000):\n    display(i)\nshown = get_ipython().display_pub._shown\n"
        "raise ValueError('after the displays')",
        "print('small', shown)"), limits=limits)
    outs = code_outputs(result)
    assert len(outs[0]) <= 52  # 50 displays, the note, the error
    assert [o["data"]["text/plain"] for o in outs[0][:3]] == ["0", "1", "2"]
    notes = [o["text"] for o in outs[0] if o.get("name") == "stdout"]
    assert notes == ["\n[output truncated: this cell produced more than 50 outputs]\n"]
    assert enames(outs[0]) == ["ValueError"]
    # The kernel sent one display past the cap (so the grader saw the overflow), not 2,000.
    assert outs[1][0]["text"] == "small 51\n"


def test_live_display_redrawn_past_the_cap_stays_live():
    """clear_output restarts the count, in the kernel and the grader: a display redrawn at
    every step (d2l's Animator, a progress table) ends on its last frame."""
    limits = Limits(max_outputs=50)
    result = execute_notebook(notebook(
        "from IPython.display import clear_output\nfor i in range(300):\n"
        "    clear_output(wait=True)\n    display(f'step {i}')\n"
        "handle = display('update 0', display_id=True)\nfor i in range(300):\n"
        "    handle.update(f'update {i}')"), limits=limits)
    outs = code_outputs(result)
    assert [o["data"]["text/plain"] for o in outs[0]] == ["'step 299'", "'update 299'"]


def test_malformed_outputs_from_the_notebook_are_dropped():
    """The notebook's code can send any message; one nbformat rejects is not an output and
    must not stop the grading of the notebook."""
    result = execute_notebook(notebook(
        "handle = display('fine', display_id=True)\npub = get_ipython().display_pub\n"
        "pub.publish({'text/plain': 5})\n"
        "pub.publish({'text/plain': 5}, transient={'display_id': handle.display_id},"
        " update=True)",
        "print('next')"))
    outs = code_outputs(result)
    assert [o.data["text/plain"] for o in outs[0]] == ["'fine'"]
    assert outs[1][0]["text"] == "next\n"


def stall_the_grader(monkeypatch, after: int, seconds: float, drop: str = ""):
    """Make the grader stop reading IOPub for `seconds` at message `after` (a busy machine),
    and optionally never see messages of type `drop`."""
    import time

    from autograding.engine import cell_outputs

    handle, seen = cell_outputs.CellOutputs.handle, [0]

    def slow_handle(self, msg):
        seen[0] += 1
        if seen[0] == after:
            time.sleep(seconds)
        if msg["msg_type"] != drop:
            handle(self, msg)

    monkeypatch.setattr(cell_outputs.CellOutputs, "handle", slow_handle)


def test_grader_falling_behind_loses_output_not_the_cell(monkeypatch):
    """ZeroMQ drops IOPub messages once ~2,000 wait, the cell's "idle" among them: the cell
    still counts as finished (its reply came), its error is kept, and the next cells run."""
    stall_the_grader(monkeypatch, after=10, seconds=8)  # the kernel is done by then
    result = execute_notebook(notebook(
        "handle = display(0, display_id=True)\nfor i in range(5000):\n    handle.update(i)\n"
        "raise ValueError('after the updates')",
        "print('next')"), limits=Limits(cell_timeout=30, notebook_timeout=60))
    outs = code_outputs(result)
    assert not result.kernel_died and not result.timed_out
    assert enames(outs[0]) == ["ValueError"]
    assert any("some output of this cell was lost" in o.get("text", "") for o in outs[0])
    assert any("output was lost" in m for m in result.messages)
    assert outs[1][0]["text"] == "next\n"


def test_error_whose_output_was_lost_still_fails_the_cell(monkeypatch):
    """The reply, which ZeroMQ never drops, says the cell raised: a test cell whose error
    output was lost on the way must not pass."""
    stall_the_grader(monkeypatch, after=0, seconds=0, drop="error")
    result = execute_notebook(notebook("assert 1 == 2, 'wrong answer'", "print('next')"))
    outs = code_outputs(result)
    assert enames(outs[0]) == ["AssertionError"]
    error = [o for o in outs[0] if o.output_type == "error"][0]
    assert error.evalue == "wrong answer" and error.traceback
    assert outs[1][0]["text"] == "next\n"


def test_display_flood_is_noted_even_when_its_displays_were_lost(monkeypatch):
    """The reply says the kernel stopped sending displays: the feedback says the cell was
    cut although the displays that showed it never reached the grader (a busy machine)."""
    stall_the_grader(monkeypatch, after=0, seconds=0, drop="display_data")
    result = execute_notebook(notebook("for i in range(1500):\n    display(i)",
                                       "display('one')"))
    outs = code_outputs(result)
    assert [o["text"] for o in outs[0]] == [
        "\n[output truncated: this cell produced more than 1000 outputs]\n"]
    assert outs[1] == []  # a cell under the cap gets no note (its display was dropped too)


def test_consecutive_prints_are_one_output_per_stream():
    result = execute_notebook(notebook(
        "import sys, time\nfor i in range(3):\n    print(i)\n    time.sleep(0.3)\n"
        "sys.stdout.flush()\nprint('oops', file=sys.stderr, flush=True)\nprint('done')"))
    outs = code_outputs(result)
    assert [(o["name"], o["text"]) for o in outs[0]] == [
        ("stdout", "0\n1\n2\n"), ("stderr", "oops\n"), ("stdout", "done\n")]


def test_notebook_output_budget_truncates_later_cells():
    limits = Limits(max_output_bytes=10_000, max_notebook_output_bytes=25_000)
    result = execute_notebook(notebook(*["print('x' * 7999)"] * 4), limits=limits)
    texts = ["".join(o["text"] for o in cell) for cell in code_outputs(result)]
    assert texts[:3] == ["x" * 7999 + "\n"] * 3
    assert texts[3].startswith("x" * 1000 + "\n[output truncated: the notebook produced more "
                               "than 25000 bytes of output]")


def test_same_notebook_twice_gives_identical_outputs():
    nb = notebook("import random, numpy, torch\n"
                  "print(random.random(), numpy.random.rand(), torch.rand(1).item())",
                  "print({'a', 'b', 'c', 'd'})", "1/0")
    first, second = execute_notebook(nb), execute_notebook(nb)
    assert code_outputs(first) == code_outputs(second)
    assert first.notebook.cells[1].execution_count == 1


def test_input_notebook_is_not_modified():
    nb = notebook("print(1)")
    execute_notebook(nb)
    assert nb.cells[1].outputs == []


@pytest.mark.parametrize("sandbox", ["auto", "none"])
def test_disk_filling_notebook_is_stopped_at_the_disk_limit(sandbox):
    """Each file is under the per-file cap, together they are over the disk cap: the kernel is
    stopped with a message saying so, and the same writes under the cap pass."""
    write = ("import os\nfor i in range({n}):\n    with open(f'f{{i}}.bin', 'wb') as f:\n"
             "        f.write(os.urandom(8 * 2**20))\n    time.sleep(0.05)\nprint('wrote')")
    limits = Limits(cell_timeout=60, notebook_timeout=120, max_file_bytes=16 * 2**20,
                    max_disk_bytes=64 * 2**20)
    result = execute_notebook(notebook("import time", write.format(n=40), "print('after')"),
                              limits=limits, sandbox=sandbox)
    outs = code_outputs(result)
    assert enames(outs[1]) == ["DeadKernelError"] and enames(outs[2]) == ["DeadKernelError"]
    assert result.kernel_died
    assert any("to disk, over the limit of 64 MiB" in m for m in result.messages), result.messages
    small = execute_notebook(notebook("import time", write.format(n=4), "print('after')"),
                             limits=limits, sandbox=sandbox)
    assert [o.get("text") for o in code_outputs(small)[2]] == ["after\n"]
    assert not small.kernel_died


@pytest.mark.parametrize("sandbox", ["auto", "none"])
def test_files_hidden_in_a_locked_folder_still_count_toward_the_disk_limit(sandbox):
    """chmod 000 on its own folder must not hide a notebook's files from the disk count."""
    hide = ("import os, time\nos.mkdir('hidden')\nos.chmod('hidden', 0)\n"
            "os.chmod('hidden', 0o700)\n"  # made, then locked again after each file
            "for i in range(12):\n    os.chmod('hidden', 0o700)\n"
            "    with open(f'hidden/f{i}.bin', 'wb') as f:\n"
            "        f.write(os.urandom(8 * 2**20))\n"
            "    os.chmod('hidden', 0)\n    time.sleep(0.1)\n"
            "time.sleep(3)\nprint('hid them')")
    limits = Limits(cell_timeout=60, notebook_timeout=120, max_file_bytes=16 * 2**20,
                    max_disk_bytes=64 * 2**20)
    result = execute_notebook(notebook(hide, "print('after')"), limits=limits, sandbox=sandbox)
    assert result.kernel_died
    assert any("over the limit of 64 MiB" in m for m in result.messages), result.messages


def graded_test_cell(source: str, grade_id: str = "test_it"):
    """An nbgrader autograder-tests cell."""
    cell = v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "points": 1, "grade_id": grade_id, "schema_version": 3}
    return cell


@pytest.mark.parametrize("hack", [
    "get_ipython().user_expressions = lambda expressions: {'ran': None}",
])
def test_tests_emptied_by_earlier_code_do_not_pass(hack):
    """Earlier code that makes later cells run nothing makes every test raise nothing: each
    test cell must be seen reaching its last line, or it fails (and a reply shaped by the
    notebook's code fails the test, not the grader)."""
    nb = notebook("x = 1")
    nb.cells += [graded_test_cell("assert x == 1"), v4.new_code_cell(hack),
                 graded_test_cell("assert x == 1\n0.5", "test_two"),
                 v4.new_code_cell("print(x)")]
    result = execute_notebook(nb)
    outs = code_outputs(result)
    assert outs[1] == []  # ran before the hack: passes, and shows nothing extra
    assert enames(outs[3]) == ["TestDidNotRun"]
    assert score_cell(result.notebook.cells[4]) == (0, 1.0)  # also when its result showed
    note = "1 test cell(s) did not run to their end: cell 4 (test_two)."
    assert any(note in m for m in result.messages)


@pytest.mark.parametrize(("hack", "named"), [
    ("get_ipython().input_transformers_cleanup.append(lambda lines: [])", "cleanup_transforms"),
    ("import ast\nclass Nothing(ast.NodeTransformer):\n"
     "    def visit_Module(self, node):\n        node.body = []\n        return node\n"
     "get_ipython().ast_transformers.append(Nothing())", "ast_transformers"),
])
def test_transformers_that_empty_the_tests_are_taken_out_before_each(hack, named):
    """A transformer that empties every later cell would make each test pass while still
    reaching its last line: IPython's lists are put back before each test, so the tests run
    as written (a wrong answer fails), and the notebook is named for the change."""
    nb = notebook("x = 1")
    nb.cells += [v4.new_code_cell(hack), graded_test_cell("assert x == 2, 'wrong'"),
                 graded_test_cell("assert x == 1", "test_two")]
    result = execute_notebook(nb)
    outs = code_outputs(result)
    assert enames(outs[2]) == ["AssertionError"] and outs[3] == []
    assert f"IPython's {named} (changed; restored before each test)" in result.replaced


def test_tests_that_run_are_not_flagged():
    nb = notebook("x = 1\nglobals = locals = eval = 'names a student may reuse'")
    nb.cells += [graded_test_cell("for i in range(3):\n    assert x == 1"),
                 graded_test_cell("assert x == 2, 'wrong'", "test_two"),
                 graded_test_cell("%%capture\nassert x == 1", "test_magic"),
                 graded_test_cell("print('checked')", "test_print"),
                 # nbgrader gives partial credit from a test cell's result: it must stay.
                 graded_test_cell("assert x == 1\nx / (\n    2)  # ½", "test_partial"),
                 graded_test_cell("x / 2;", "test_quiet")]
    result = execute_notebook(nb)
    outs = code_outputs(result)
    assert outs[1] == [] and enames(outs[2]) == ["AssertionError"] and outs[3] == []
    assert outs[4] == [{"output_type": "stream", "name": "stdout", "text": "checked\n"}]
    assert [(o.output_type, o.data["text/plain"]) for o in outs[5]] == [("execute_result",
                                                                          "0.5")]
    assert outs[6] == []
    assert result.messages == []
    assert "_autograding_ran" not in result.notebook.cells[2].source


def test_result_shown_by_the_students_code_in_a_failing_test_scores_zero():
    """End to end: nbgrader reads the first result of a test cell as partial credit, and a
    non-number as full credit, even when the test then fails."""
    from nbgrader.utils import determine_grade

    nb = notebook("import sys\ndef f():\n    sys.displayhook('full marks')\n    return 1")
    nb.cells.append(graded_test_cell("assert f() == 2"))
    cell = execute_notebook(nb).notebook.cells[-1]
    assert [o.output_type for o in cell.outputs] == ["execute_result", "error"]
    assert determine_grade(cell) == (1.0, 1.0), "nbgrader's rule, which this grader fixes"
    assert score_cell(cell) == (0, 1.0)
