"""The executor's side of patch_check.py: record the originals, then check after every test.

Before the first cell the kernel imports the course's reference modules and records what the
watched functions are; each test cell's request also asks what differs now (evaluated right
after the test, so a patch undone later is seen too), and one silent request asks again after
the last cell. What the checks name ends up in the result's `replaced`.
"""

from __future__ import annotations

import secrets
import time

from autograding.engine.patch_check import (
    capture_expression,
    check_expression,
    read_answer,
    read_report,
    reference_bindings,
    restore_expression,
)

# s for the kernel to import the reference modules and record the originals, and to answer
# the check after the last cell.
CAPTURE_TIMEOUT = 60.0
CHECK_TIMEOUT = 10.0


class PatchWatch:
    """What one notebook run replaced of what its tests compare with."""

    def __init__(self, references=()):
        self.references = tuple(references)  # modules the kernel imports before the first cell
        self.watching = False  # the kernel recorded the originals: checks can run
        self.replaced: list[str] = []

    def start(self, run) -> None:
        """Before the first cell of `run` (a NotebookRun): import and record."""
        answer = silent(run, {"capture": capture_expression(self.references)}, CAPTURE_TIMEOUT)
        ok, text = read_answer(answer, "capture")
        if not ok:
            run.messages.append("the grader could not record the functions the tests compare "
                                f"with ({text}), so it did not check whether the notebook "
                                "replaced any")
            return
        if text:
            run.messages.append("the tests' references could not be imported before the first "
                                f"cell: {'; '.join(text.splitlines())}")
        self.watching = True

    def before_test(self, run) -> None:
        """Just before a test cell: IPython's transformers back as recorded (named later)."""
        if self.watching:
            silent(run, {"restore": restore_expression()}, CHECK_TIMEOUT)

    def ask(self, source: str, expressions: dict) -> str | None:
        """Add the check to a test cell's user expressions; its token (None: no check)."""
        if not self.watching:
            return None
        token = secrets.token_hex(8)
        expressions["replaced"] = check_expression(token, reference_bindings(source,
                                                                        self.references))
        return token

    def read(self, expressions, token: str | None) -> None:
        """Note what a check's answer names."""
        if token is None:
            return
        names = read_report(expressions, "replaced", token)
        if names is None:
            names = ["(the check gave no answer: code in the notebook changed how the kernel "
                     "answers)"]
        self.replaced += [name for name in names if name not in self.replaced]

    def finish(self, run) -> None:
        """After the last cell, while the kernel lives: what is replaced now."""
        if not self.watching or run.kernel_died or run.exit_code is not None:
            return
        token = secrets.token_hex(8)
        answer = silent(run, {"replaced": check_expression(token)}, CHECK_TIMEOUT)
        if answer is not None:
            self.read(answer, token)


def silent(run, expressions: dict, timeout: float):
    """Evaluate `expressions` in `run`'s kernel between cells (an empty, silent request: no
    output, no history, no execution count); their answers, or None without a reply."""
    kc = run.kc
    msg_id = kc.execute("", silent=True, store_history=False, allow_stdin=False,
                        user_expressions=expressions)
    deadline = time.monotonic() + timeout
    while run.exit_code is None and time.monotonic() < deadline:
        for sock in run._wait(deadline):
            if sock is kc.iopub_channel.socket:
                kc.iopub_channel.get_msg(timeout=0)  # this request's busy and idle
                continue
            msg = kc.shell_channel.get_msg(timeout=0)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"].get("user_expressions")
    return None
