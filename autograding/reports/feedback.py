"""Feedback HTML that shows the student's work and nothing of the hidden tests.

Built from nbgrader's feedback pieces (GetGrades, ClearHiddenTests' delimiters, nbconvert's HTML
exporter with nbgrader's `feedback` template) plus a redaction pass nbgrader lacks (nbgrader
#917, #1363): in every cell that holds hidden tests the hidden lines are removed from the source,
its outputs are withheld (a student function called by a hidden test could print the hidden
inputs), and an error keeps its type and message only when every frame of that cell is in the
visible part; otherwise the student reads "a hidden test in this cell failed". A last scrub
replaces any hidden-test line that still shows up anywhere. A table at the top lists each graded
cell with its points and result, and the grader's comments (time-outs, dead kernel, restored
cells, unreadable file); when the assignment has a due date, the submission's lines above
them: due date, submitted, late by, late penalty. The hidden-test delimiters are the course's
(ClearHiddenTests' in its nbgrader_config.py), which the grader notes in each autograded
notebook; images beside the notebook show as data URIs (autograding.reports.feedback_images).
"""

from __future__ import annotations

import copy
import html
import re
import threading
from pathlib import Path

from autograding.grading.course_settings import DEFAULT_HIDDEN_TESTS
from autograding.grading.gradebook import (
    ANY_COURSE,
    hidden_line_numbers,
    masters_from_gradebook,
    quiet_logger,
    shared_gradebook,
    visible_source,
)

HIDDEN_FAILED = "a hidden test in this cell failed"
HIDDEN_OUTPUT_NOTE = "(the output of this test cell is not shown: it contains hidden tests)"
STDERR_NOTE = ("this test cell wrote to stderr (for example a warning); only errors fail a test, "
               "so this does not cost points")
HIDDEN_SOURCE_NOTE = "# (hidden tests of this cell are not shown)"
# Errors the executor writes itself (no frames). A student can print a frameless error too
# (`%xmode Minimal`), so their message is never shown: the executor's own notes reach the
# student through the comments, which come from the executor process, not from the kernel.
EXECUTOR_ERRORS = {
    "TimeoutError": "this test cell ran into the time limit (see the comments above)",
    "DeadKernelError": "the kernel died before this test cell finished (see the comments above)",
}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FRAME = re.compile(r"Cell In\s*\[(\d+)\],\s*line (\d+)")
SCRUB_MIN_CHARS = 6


def _frames_in_cell(output, execution_count) -> list[int] | None:
    """Line numbers of the traceback frames that point into this cell (None: none found)."""
    if execution_count is None:
        return None
    lines = []
    for entry in output.get("traceback", []) or []:
        for match in FRAME.finditer(ANSI.sub("", str(entry))):
            if int(match.group(1)) == int(execution_count):
                lines.append(int(match.group(2)))
    return lines or None


def _redact_error(output, execution_count, hidden: set[int]) -> dict:
    """An error output of a hidden-test cell, reduced to what the student may see."""
    ename = str(output.get("ename", "Error"))
    evalue = str(output.get("evalue", ""))
    frames = _frames_in_cell(output, execution_count)
    if frames is None:
        if ename in EXECUTOR_ERRORS:
            return {"output_type": "error", "ename": ename, "evalue": EXECUTOR_ERRORS[ename],
                    "traceback": [f"{ename}: {EXECUTOR_ERRORS[ename]}"]}
    elif not any(line in hidden for line in frames):
        where = f"line {frames[0]} of this test cell"
        return {"output_type": "error", "ename": ename, "evalue": evalue,
                "traceback": [f"{ename}: {evalue}", f"(at {where})"]}
    return {"output_type": "error", "ename": "HiddenTestFailure", "evalue": HIDDEN_FAILED,
            "traceback": [HIDDEN_FAILED]}


def redact_hidden_cell(cell, delimiters=DEFAULT_HIDDEN_TESTS) -> None:
    """Strip a hidden-test cell's source and outputs down to what the student may see."""
    hidden = hidden_line_numbers(cell.source, delimiters)
    cell.source = visible_source(cell.source, delimiters).rstrip("\n") + "\n" + HIDDEN_SOURCE_NOTE
    if cell.cell_type != "code":
        return
    kept, withheld, stderr = [], False, False
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "error":
            kept.append(_redact_error(output, cell.get("execution_count"), hidden))
        else:
            withheld = True
            stderr = stderr or (kind == "stream" and output.get("name") == "stderr")
    notes = [HIDDEN_OUTPUT_NOTE] if withheld else []
    if stderr:
        notes.append(STDERR_NOTE)
    if notes:
        kept.insert(0, {"output_type": "stream", "name": "stdout", "text": "\n".join(notes)})
    cell.outputs = kept


def _hidden_lines(masters: list, delimiters=DEFAULT_HIDDEN_TESTS) -> list[str]:
    """Hidden-test lines (stripped) that appear nowhere in the visible parts of the masters."""
    visible, hidden = set(), set()
    for master in masters:
        for mcell in master.cells:
            numbers = hidden_line_numbers(mcell.source, delimiters)
            for n, line in enumerate(mcell.source.split("\n"), start=1):
                (hidden if n in numbers else visible).add(line.strip())
    lines = {h for h in hidden - visible
             if len(h) >= SCRUB_MIN_CHARS and not any(d in h for d in delimiters)}
    return sorted(lines, key=len, reverse=True)


def hidden_test_delimiters(nb) -> tuple[str, str]:
    """The course's hidden-test delimiters the grader noted in an autograded notebook
    (nbgrader's when it noted none)."""
    noted = nb.metadata.get("autograding", {}).get("hidden_tests")
    if (isinstance(noted, list) and len(noted) == 2
            and all(isinstance(d, str) and d.strip() for d in noted)):
        return noted[0], noted[1]
    return DEFAULT_HIDDEN_TESTS


def _scrub_text(text: str, lines: list[str]) -> str:
    """Replace every hidden line inside `text`."""
    for line in lines:
        if line in text:
            text = text.replace(line, "[hidden]")
    return text


def _scrub(value, lines: list[str]):
    """Recursively scrub strings of a notebook structure."""
    if isinstance(value, str):
        return _scrub_text(value, lines)
    if isinstance(value, list):
        return [_scrub(v, lines) for v in value]
    if isinstance(value, dict):
        for key in list(value):
            value[key] = _scrub(value[key], lines)
    return value


def _cell_result(cell) -> str:
    """One-line result of a graded cell for the summary table."""
    meta = cell.metadata.get("nbgrader", {})
    score, points = meta.get("score"), meta.get("points")
    if meta.get("solution"):
        return "answer cell"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        first = errors[0]
        return f"{first.get('ename')}: {first.get('evalue')}".strip()
    if any(o.get("output_type") == "stream" and o.get("text", "").find(STDERR_NOTE) >= 0
           for o in cell.get("outputs", [])):
        return STDERR_NOTE
    if score is not None and points is not None and float(score) >= float(points):
        return "passed"
    return "failed"


def late_lines(gb, student: str, assignment: str, notebook: str) -> list[str]:
    """The submission's lines of the summary, from an open nbgrader Gradebook: due date,
    submitted, late by, late penalty (none when the assignment has no due date and no
    penalty)."""
    from nbgrader.api import MissingEntry

    from autograding.grading.late_policy import describe_delay, format_utc

    try:
        submission = gb.find_submission(assignment, student)
        scored = gb.find_submission_notebook(notebook, assignment, student)
    except MissingEntry:
        return []
    penalty = float(scored.late_submission_penalty or 0.0)
    if submission.duedate is None and not penalty:
        return []
    extended = " (with your extension)" if submission.extension else ""
    lines = [f"Due: {format_utc(submission.duedate) or 'no due date'}{extended}"]
    if submission.timestamp is None:
        lines.append("Submitted: no submission time recorded, so not counted as late")
    else:
        lines.append(f"Submitted: {format_utc(submission.timestamp)}")
        late = submission.total_seconds_late
        lines.append(f"Late by: {describe_delay(late)}" if late > 0 else "Late by: on time")
    if penalty:
        raw = float(scored.score)
        lines.append(f"Late penalty: -{penalty:g} points ({raw:g} before, "
                     f"{max(0.0, raw - penalty):g} after)")
    elif submission.timestamp is not None and submission.total_seconds_late > 0:
        lines.append("Late penalty: none under the course's policy")
    return lines


# The flag line; the names follow (autograding.engine.patch_check words them).
REPLACED_NOTE = ("This notebook is flagged for the instructor's review: its code replaced what "
                 "tests compare with: ")


def summary_html(nb, comments: list[str], absent=(), late=(), replaced=()) -> str:
    """The table of graded cells and the grader's comments, as escaped HTML.

    `absent` lists (grade_id, score, points) of graded cells the notebook does not hold (a
    missing or unreadable submission); `late` the submission's lines (late_lines); `replaced`
    what the notebook's code replaced of what tests compare with (flagged for review).
    """
    rows = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("grade") or meta.get("task")):
            continue
        score = meta.get("score")
        score_text = "-" if score is None else f"{float(score):g}"
        rows.append("<li><a href='#{gid}'>{gid}</a>: <b>{s} / {p:g}</b> &#8212; {r}</li>".format(
            gid=html.escape(str(meta.get("grade_id"))), s=score_text,
            p=float(meta.get("points") or 0), r=html.escape(_cell_result(cell)[:300])))
    for grade_id, score, points in absent:
        rows.append(f"<li>{html.escape(grade_id)}: <b>{score:g} / {points:g}</b> &#8212; "
                    "not graded: no notebook</li>")
    # Only tags nbconvert's raw-HTML cleaner keeps (no headings, p, th or tbody).
    parts = ["<div class='panel panel-info autograder-summary'><div class='panel-heading'>"
             "<b>Autograder results</b></div><div class='panel-body'>"]
    if late:
        parts.append("<div><b>Submission</b></div><ul class='autograder-late'>"
                     + "".join(f"<li>{html.escape(line)}</li>" for line in late) + "</ul>")
    if rows:
        parts.append("<div><b>Graded cells</b></div><ul>" + "".join(rows) + "</ul>")
    if replaced:
        parts.append("<div><b>For the instructor's review</b></div><ul class='autograder-flag'>"
                     f"<li>{html.escape(REPLACED_NOTE + ', '.join(replaced))}</li></ul>")
    if comments:
        parts.append("<div><b>Comments</b></div><ul>"
                     + "".join(f"<li>{html.escape(c)}</li>" for c in comments) + "</ul>")
    parts.append("</div></div>")
    return "".join(parts)


def feedback_html_exporter(highlight=None):
    """nbconvert's HTML exporter (without its slow re-parse, with a Content-Security-Policy:
    see feedback_exporter) configured as nbgrader's GenerateFeedback configures it."""
    import nbgrader
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from traitlets.config import Config

    from autograding.reports.feedback_exporter import FeedbackHTMLExporter

    base = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(base / "templates")]
    # bootstrap.min.css, which the feedback template inlines: nbgrader 0.9.6 ships it under
    # node_modules/, 0.9.5 (the newest for Python 3.10) under components/.
    config.HTMLExporter.extra_template_paths = [
        str(base / "static" / "node_modules" / "bootstrap" / "dist" / "css"),
        str(base / "static" / "components" / "bootstrap" / "css")]
    filters = {"highlight_code": highlight} if highlight is not None else {}
    exporter = FeedbackHTMLExporter(config=config, filters=filters)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(), enabled=True)
    return exporter


def feedback_path(out_dir: Path, student: str, assignment: str, notebook: str) -> Path:
    """Feedback HTML path, nbgrader's layout."""
    return out_dir / "feedback" / student / assignment / f"{notebook}.html"


class FeedbackWriter:
    """Renders feedback HTML for autograded notebooks of one gradebook."""

    def __init__(self, db_url: str, gradebook=None, out_dir: Path | None = None):
        self.db_url = db_url
        self.gradebook = gradebook  # an open nbgrader Gradebook to reuse, else one per call
        self.out_dir = out_dir  # its autograded/ holds the images a page may embed
        self._masters = None
        self._exporter = None
        from autograding.reports.feedback_exporter import CachedHighlight

        self._highlight = CachedHighlight()  # shared by every page of the batch
        self._exporting = threading.Lock()  # the exporter is warmed in another thread (warm)

    def _master_cells(self, assignment: str):
        """Master notebooks of an assignment, read from the gradebook once."""
        if self._masters is None:
            self._masters = masters_from_gradebook(self.db_url)
        return self._masters.get(assignment, [])

    def _html_exporter(self):
        """The page exporter, made once (see feedback_html_exporter); with _exporting held."""
        if self._exporter is None:
            self._exporter = feedback_html_exporter(self._highlight)
        return self._exporter

    def warm(self) -> None:
        """Make the exporter and compile its templates, the markdown renderer and the lexer
        (a page of two cells), touching no gradebook: a batch does it while its first
        notebooks run, instead of at the first page."""
        import nbformat

        page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("*text*"),
                                               nbformat.v4.new_code_cell("x = 1")])
        page.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
        with self._exporting:
            self._highlight.lexer = "ipython3"
            # What nbgrader's GetGrades gives the feedback template.
            grades = {"notebook": "warm-up", "score": 0.0, "max_score": 0.0, "late_penalty": 0.0}
            self._html_exporter().from_notebook_node(page, resources={"nbgrader": grades})

    def _absent_grades(self, nb, student, assignment, notebook) -> list[tuple]:
        """(grade_id, score, points) of the graded cells `nb` lacks, from the gradebook."""
        from contextlib import nullcontext

        from nbgrader.api import Gradebook, MissingEntry

        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        absent = []
        opened = nullcontext(self.gradebook) if self.gradebook else Gradebook(self.db_url,
                                                                            ANY_COURSE)
        with opened as gb:
            try:
                submitted = gb.find_submission_notebook(notebook, assignment, student)
            except MissingEntry:
                return []
            for grade in sorted(submitted.grades, key=lambda g: g.cell.name):
                if grade.cell.name not in present:
                    absent.append((grade.cell.name, float(grade.score),
                                   float(grade.max_score)))
        return absent

    def _late_lines(self, student, assignment, notebook) -> list[str]:
        """The submission's lines of the summary (late_lines), from the gradebook."""
        from contextlib import nullcontext

        from nbgrader.api import Gradebook

        opened = nullcontext(self.gradebook) if self.gradebook else Gradebook(self.db_url,
                                                                            ANY_COURSE)
        with opened as gb:
            return late_lines(gb, student, assignment, notebook)

    def render(self, autograded_nb, student: str, assignment: str, notebook: str) -> str:
        """Feedback HTML of one autograded notebook (the notebook itself is not changed)."""
        import nbformat
        from nbgrader.preprocessors import GetGrades

        from autograding.reports.feedback_images import embed_images

        nb = copy.deepcopy(autograded_nb)
        delimiters = hidden_test_delimiters(nb)
        comments = list(nb.metadata.get("autograding", {}).get("comments", []))
        resources = {"nbgrader": {"notebook": notebook, "assignment": assignment,
                                  "student": student, "db_url": self.db_url}}
        nb, resources = GetGrades(log=quiet_logger()).preprocess(nb, resources)
        masters = self._master_cells(assignment)
        for cell in nb.cells:
            if hidden_line_numbers(cell.source, delimiters):
                redact_hidden_cell(cell, delimiters)
        lines = _hidden_lines(masters, delimiters)
        for cell in nb.cells:
            _scrub(cell, lines)
        comments = [_scrub_text(c, lines) for c in comments]
        replaced = [_scrub_text(str(name), lines)
                    for name in nb.metadata.get("autograding", {}).get("replaced", [])]
        nb.metadata.pop("autograding", None)
        folder = self.out_dir / "autograded" / student / assignment if self.out_dir else None
        embed_images(nb, folder)
        absent = self._absent_grades(nb, student, assignment, notebook)
        late = self._late_lines(student, assignment, notebook)
        nb.cells.insert(0, nbformat.v4.new_raw_cell(
            summary_html(nb, comments, absent, late, replaced),
            metadata={"raw_mimetype": "text/html"}))
        langinfo = nb.metadata.get("language_info", {})
        try:
            with self._exporting:
                self._highlight.lexer = langinfo.get("pygments_lexer",
                                                     langinfo.get("name", None))
                body, _ = self._html_exporter().from_notebook_node(nb, resources=resources)
        except Exception as err:  # hostile content nbconvert cannot render: scores still show
            comments.append(f"The notebook could not be rendered as HTML ({type(err).__name__});"
                            " only the results are shown.")
            body = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
                    f"{html.escape(notebook)}</title></head><body>"
                    f"{summary_html(nb, comments, absent, late, replaced)}</body></html>")
        return body


def regenerate_feedback(out_dir: Path, db_url: str | None = None) -> list[Path]:
    """Rewrite out/feedback/ from out/autograded/ and the gradebook; returns the files."""
    import nbformat

    from autograding.grading.files import atomic_write, db_url_for

    out_dir = Path(out_dir)
    db_url = db_url or db_url_for(out_dir)
    written = []
    with shared_gradebook(db_url) as gradebook:
        writer = FeedbackWriter(db_url, gradebook, out_dir)
        for path in sorted((out_dir / "autograded").glob("*/*/*.ipynb")):
            student, assignment = path.parent.parent.name, path.parent.name
            nb = nbformat.read(path, as_version=4)
            target = feedback_path(out_dir, student, assignment, path.stem)
            atomic_write(target, writer.render(nb, student, assignment, path.stem))
            written.append(target)
    return written


class FeedbackPages:
    """A notebook writer for a grading batch (autograding.grading.record): each graded
    notebook's feedback page, written before its done-marker."""

    def __init__(self, plan, gradebook):
        self.out_dir = plan.out_dir
        self.writer = FeedbackWriter(plan.db_url, gradebook, plan.out_dir)

    def __call__(self, nb, task) -> None:
        from autograding.grading.files import atomic_write

        html_page = self.writer.render(nb, task.student, task.assignment, task.notebook)
        atomic_write(feedback_path(self.out_dir, task.student, task.assignment, task.notebook),
                     html_page)

    def warm(self) -> None:
        """The page exporter ready before the first page (FeedbackWriter.warm)."""
        self.writer.warm()


feedback_page_writer = FeedbackPages  # the factory a batch's hooks name
