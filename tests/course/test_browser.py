"""JupyterLab in a real browser: a student notebook, a master, and the formgrader.

Starts JupyterLab headless on 127.0.0.1 with a token, in a temporary copy of the course
(nbgrader_config.py, the masters, one student notebook), and drives Debian's Chromium with
Playwright (`executable_path`; never `playwright install`). Screenshots go to the test's
tmp_path (and the last run's to $LINREG_SCREENSHOTS when set).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from reference_answers import released_ids

from autograding.course.release import ASSIGNMENT_IDS, COURSE_ROOT, NOTEBOOKS_DIR, master_path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
MASTER_WITH_WORKED_NUMBER = "05_mse_gradients"  # prints "mean: 17/6 = 2.8333..."
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium (apt-get install -y chromium; "
                              ".ci/run installs it)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _copy_course(root: Path) -> Path:
    """A throw-away course folder: nbgrader_config.py, the masters and a student notebook."""
    course = root / "course"
    shutil.copytree(COURSE_ROOT / "source", course / "source")
    shutil.copy2(COURSE_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "notebooks").mkdir()
    for assignment_id in released_ids():
        shutil.copy2(NOTEBOOKS_DIR / f"{assignment_id}.ipynb", course / "notebooks")
    return course


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab (as in `make lab-instructor`, in a copy); yields its base URL."""
    root = tmp_path_factory.mktemp("lab")
    course = _copy_course(root)
    config_dir = root / "jupyter_config"
    (config_dir / "labconfig").mkdir(parents=True)
    # The "Jupyter news" prompt would cover part of every screenshot.
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    token = secrets.token_hex(16)
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
           "LINREG_EXCHANGE_ROOT": str(root / "exchange"), "IPYTHONDIR": str(root / "ipython")}
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
        f"--LabApp.workspaces_dir={root / 'workspaces'}", "--allow-root",
    ]
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited ({server.returncode}):\n"
                            f"{(root / 'lab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer in 90 s; log in {root / 'lab.log'}")
                time.sleep(0.5)
        yield {"base": base, "token": token, "course": course}
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _shut_down_kernels(lab):
    """Stop the kernels a test started, so they do not compete with the next one for CPU."""
    auth = f"?token={lab['token']}"
    with urllib.request.urlopen(f"{lab['base']}/api/sessions{auth}", timeout=10) as answer:
        sessions = json.load(answer)
    for session in sessions:
        request = urllib.request.Request(
            f"{lab['base']}/api/sessions/{session['id']}{auth}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()
    _shut_down_kernels(lab)


def _screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    shared = os.environ.get("LINREG_SCREENSHOTS")
    if shared:
        Path(shared).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(shared) / path.name)
    return path


def _open_and_run_all(page, lab, relative: str):
    """Open a notebook in Lab, wait for its kernel, then Run > Run All Cells."""
    # A fresh workspace per notebook: Lab would otherwise reopen (and restart the kernel of)
    # the notebooks an earlier test had open.
    workspace = re.sub(r"\W", "-", relative)
    page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{relative}?token={lab['token']}")
    # The status bar's "| Idle" shows once the kernel is really up (the toolbar can be early).
    page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator("[data-command='runmenu:run-all']").click()


def _cell_index_of_first_error(page) -> int:
    return page.evaluate("""() => {
        const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden)'
                                                    + ' .jp-Notebook .jp-Cell')];
        return cells.findIndex(c => c.querySelector(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'));
    }""")


def test_student_notebook_stops_at_the_first_exercise(lab, page, tmp_path):
    ids = released_ids()
    if not ids:
        pytest.skip("no released student notebooks yet: run `make release`")
    assignment_id = ids[0]
    _open_and_run_all(page, lab, f"notebooks/{assignment_id}.ipynb")
    error = page.locator(".jp-OutputArea-output", has_text="NotImplementedError").first
    error.wait_for(timeout=120_000)
    error.scroll_into_view_if_needed()
    _screenshot(page, tmp_path, f"student_{assignment_id}_not_implemented")
    cells = nbformat.read(NOTEBOOKS_DIR / f"{assignment_id}.ipynb", 4).cells
    answers = [i for i, cell in enumerate(cells)
               if cell.metadata.get("nbgrader", {}).get("solution")]
    index = _cell_index_of_first_error(page)
    # Run All stops at the first error: the first cell that calls the first unanswered stub.
    assert answers[0] < index < (answers[1] if len(answers) > 1 else len(cells)), (index, answers)
    setup_output = page.locator(".jp-OutputArea-output", has_text="Not running in Colab")
    assert setup_output.count() == 1
    badge = page.locator(f'a[href$="/notebooks/{assignment_id}.ipynb"] img[alt="Open In Colab"]')
    assert badge.count() == 1  # the rendered Colab badge on top
    badge.scroll_into_view_if_needed()
    setup_output.first.wait_for(state="visible")
    page.wait_for_timeout(500)  # Lab paints cells scrolled into view a moment later
    _screenshot(page, tmp_path, f"student_{assignment_id}_badge_and_setup")


def test_master_shows_the_worked_number(lab, page, tmp_path):
    if not master_path(MASTER_WITH_WORKED_NUMBER).is_file():
        pytest.skip(f"master {MASTER_WITH_WORKED_NUMBER} not written yet")
    relative = f"source/{MASTER_WITH_WORKED_NUMBER}/{MASTER_WITH_WORKED_NUMBER}.ipynb"
    _open_and_run_all(page, lab, relative)
    worked = page.locator(".jp-OutputArea-output", has_text="17/6 = 2.8333").first
    worked.wait_for(timeout=120_000)
    worked.scroll_into_view_if_needed()
    _screenshot(page, tmp_path, "master_05_worked_number")
    assert "2.8333" in worked.inner_text()


def test_formgrader_lists_the_five_assignments(lab, page, tmp_path):
    page.goto(f"{lab['base']}/formgrader?token={lab['token']}")
    page.get_by_text("Manage Assignments").first.wait_for(timeout=60_000)
    assert page.title() == "nbgrader formgrade"
    table = page.locator("table")
    for assignment_id in ASSIGNMENT_IDS:  # the five masters in autograding/source/
        table.get_by_text(assignment_id, exact=True).first.wait_for(timeout=60_000)
    _screenshot(page, tmp_path, "formgrader_assignments")


def _record(label: str) -> str:
    """JavaScript that records that student code ran (the test reads window.pwned)."""
    return f"(window.pwned = window.pwned || []).push('{label}')"


def _hostile_feedback_page() -> str:
    """A feedback page of a notebook whose markdown and outputs try to run scripts."""
    from autograding.reports.feedback import feedback_html_exporter

    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
           f'onload="{_record("svg onload")}"><rect width="10" height="10"/></svg>')
    cells = [
        nbformat.v4.new_markdown_cell(
            # The page has no jQuery, which the template's JavaScript outputs need: the
            # student's own script can define `$` for them.
            f"Inline math $w_1 = 2$.\n\n<script>window.$ = function () {{}}; "
            f"{_record('markdown script')}</script>\n\n"
            f'<img src="missing.png" onerror="{_record("img onerror")}">\n\n'
            '<meta http-equiv="refresh" content="1; url=about:blank">'),
        nbformat.v4.new_code_cell("show()", execution_count=1, outputs=[
            nbformat.v4.new_output("display_data", {
                "application/javascript": _record("javascript output")}),
            nbformat.v4.new_output("display_data", {
                "text/html": f"<script>{_record('html script')}</script>"
                             f'<iframe srcdoc="<script>parent.{_record("iframe")}</script>">'
                             "</iframe>"}),
            nbformat.v4.new_output("display_data", {"image/svg+xml": svg}),
        ]),
    ]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    resources = {"nbgrader": {"notebook": "hostile", "score": 0, "max_score": 1,
                              "late_penalty": 0}}
    page, _ = feedback_html_exporter().from_notebook_node(nb, resources=resources)
    return page


def test_feedback_page_runs_no_student_script(browser, tmp_path):
    """Scripts in a submission's markdown and outputs do not run when the feedback page is
    opened (its Content-Security-Policy); the same page without the policy runs them all, so
    the check can fail. The MathJax settings the policy allows by hash still run."""
    page_html = _hostile_feedback_page()
    assert page_html.count('http-equiv="Content-Security-Policy"') == 1
    assert "http-equiv=\"refresh\"" not in page_html  # removed from the body
    # The control page gets the refresh tag back where the markdown had it.
    student_meta = '<meta http-equiv="refresh" content="1; url=about:blank">'
    page_html = page_html.replace("Inline math", "<!-- student's meta -->Inline math", 1)
    guarded = tmp_path / "guarded.html"
    guarded.write_text(page_html, encoding="utf-8")
    unguarded = tmp_path / "unguarded.html"
    unguarded.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "",
                                page_html).replace("<!-- student's meta -->", student_meta),
                         encoding="utf-8")
    context = browser.new_context()
    try:
        ran = {}
        for path in (guarded, unguarded):
            tab = context.new_page()
            tab.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline, fast
            tab.goto(path.as_uri(), wait_until="load")
            tab.wait_for_timeout(500)
            ran[path.stem] = tab.evaluate("[window.pwned || [], typeof window.MathJax]")
            tab.wait_for_timeout(1500)  # the refresh tag's second, and some
            ran[path.stem].append(tab.url == path.as_uri())
            tab.close()
    finally:
        context.close()
    assert ran["guarded"] == [[], "object", True], ran
    assert ran["unguarded"][2] is False, ran  # the refresh tag left the page
    assert {"markdown script", "img onerror", "javascript output",
            "html script"} <= set(ran["unguarded"][0]), ran
