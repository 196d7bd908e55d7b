"""The feedback exporter gives nbconvert's HTMLExporter page without its BeautifulSoup pass."""

import base64

import nbformat
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter

from autograding.reports.feedback_exporter import (
    MISSING_ALT,
    FeedbackHTMLExporter,
    add_accessibility_attributes,
)

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def _notebook():
    """Code with outputs of every kind the attributes concern, and student HTML."""
    cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nSome *prose* and ![a picture](x.png)."),
        nbformat.v4.new_code_cell("def f(x):\n    return x * 2  # a comment > 1\nf(3)", outputs=[
            nbformat.v4.new_output("execute_result", {"text/plain": "6"}, execution_count=1),
            nbformat.v4.new_output("stream", name="stdout", text="a < b > c\n"),
            nbformat.v4.new_output("display_data", {"image/png": PNG, "text/plain": "fig"}),
            nbformat.v4.new_output("display_data", {
                "text/html": "<div class='jp-OutputArea-output'><img src='y.png'>"
                             "<img alt='kept' src='z.png'/></div>"}),
        ], execution_count=1),
        nbformat.v4.new_code_cell("raise ValueError('no')", outputs=[
            nbformat.v4.new_output("error", ename="ValueError", evalue="no", traceback=["x"])]),
    ]
    return nbformat.v4.new_notebook(cells=cells, metadata={
        "language_info": {"name": "python", "pygments_lexer": "ipython3"}})


def _canonical(page: str) -> str:
    return str(BeautifulSoup(page, features="html.parser"))


def test_same_page_as_nbconvert_for_lab_and_classic_templates():
    """Without the policy, parsed and serialized alike, both pages are identical (the
    accessibility attributes included)."""
    nb = _notebook()
    for template in ("lab", "classic"):
        exporter = FeedbackHTMLExporter(template_name=template, content_security_policy=False)
        ours, _ = exporter.from_notebook_node(nb)
        theirs, _ = HTMLExporter(template_name=template).from_notebook_node(nb)
        assert _canonical(ours) == _canonical(theirs), template
        assert MISSING_ALT in ours


def test_attributes_are_added_only_where_missing():
    page = ('<main class="jp-Notebook" data-x="1">'
            '<img src="a.png"><img alt="" src="b.png"/><IMG SRC=c.png>'
            '<div class="x jp-OutputArea-output y">1</div>'
            '<div class="jp-Cell-inputWrapper" tabindex="-1">2</div>'
            "<div class='jp-OutputArea-outputs'>3</div><span class=jp-OutputArea-output>4</span>")
    soup = BeautifulSoup(add_accessibility_attributes(page), features="html.parser")
    images = soup.find_all("img")
    assert [img.get("alt") for img in images] == [MISSING_ALT, "", MISSING_ALT]
    divs = soup.find_all("div")
    assert [div.get("tabindex") for div in divs] == ["0", "-1", None]
    assert soup.find("span").get("tabindex") is None
    assert add_accessibility_attributes("<p>no tags to change</p>") == "<p>no tags to change</p>"
    outside = '<div class="jp-OutputArea-output">no notebook element</div>'
    assert add_accessibility_attributes(outside) == outside


def test_in_process_alembic_head_is_what_the_alembic_command_prints(monkeypatch):
    """nbgrader stamps new gradebooks by running `alembic heads`; ours reads the same revision
    without a subprocess (and without the venv's bin on PATH)."""
    import os
    import subprocess
    import sys

    from nbgrader.dbutil import _temp_alembic_ini

    from autograding.grading.gradebook import alembic_head

    bin_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:  # as nbgrader.api does it
        printed = subprocess.check_output(["alembic", "-c", ini, "heads"], text=True)
    assert alembic_head() == printed.split("\n")[0].split(" ")[0]


def test_policy_comes_first_and_allows_only_the_moved_mathjax_settings():
    import base64
    import hashlib
    import re

    from autograding.reports.feedback_exporter import MATHJAX_CONFIG, add_content_security_policy

    url = "https://cdn.example/libs/mathjax/2.7.7/latest.js?config=TeX"
    page = ('<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8" />\n'
            f'<script src="{url}"> </script>\n'
            '<script type="text/x-mathjax-config">\nMathJax.Hub.Config({});\n</script>\n'
            '</head>\n<body><script type="text/x-mathjax-config">student()</script></body>')
    guarded = add_content_security_policy(page, url)
    head, body = guarded.split("<body>")
    assert head.index("Content-Security-Policy") < head.index("<script")
    assert "text/x-mathjax-config" not in head  # MathJax would eval() it
    assert "student()" in body  # left as written: without 'unsafe-eval' MathJax cannot run it
    policy = re.search(r'content="([^"]*)"', head).group(1).replace("&#x27;", "'")
    digest = base64.b64encode(hashlib.sha256(MATHJAX_CONFIG.encode()).digest()).decode()
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    assert script_src.split() == ["script-src", f"'sha256-{digest}'",
                                  "https://cdn.example/libs/mathjax/"]
    assert "default-src 'none'" in policy and "unsafe-eval" not in policy
    assert f"<script>{MATHJAX_CONFIG}</script>" in head
    bare = add_content_security_policy("<p>no head</p>", url)
    assert "script-src 'none'" in bare.replace("&#x27;", "'") and "<p>no head</p>" in bare


def test_meta_tags_are_removed_from_the_body_only():
    from autograding.reports.feedback_exporter import remove_body_meta_tags

    page = ('<html><head><meta charset="utf-8" /></head><body><p>x</p>'
            '<META HTTP-EQUIV="refresh" CONTENT="0; url=https://elsewhere.example"><p>y</p>'
            "&lt;meta shown as text&gt;</body></html>")
    cleaned = remove_body_meta_tags(page)
    assert '<meta charset="utf-8" />' in cleaned and "refresh" not in cleaned.lower()
    assert "<p>x</p><p>y</p>&lt;meta shown as text&gt;" in cleaned


def test_remembered_markdown_is_the_same_and_follows_a_changed_cell():
    """One exporter renders the class's pages: the prose is rendered once, an edited markdown
    cell or one with attachments is rendered from its own text."""
    exporter = FeedbackHTMLExporter(template_name="lab", content_security_policy=False)
    nb = _notebook()
    first, _ = exporter.from_notebook_node(nb)
    again, _ = exporter.from_notebook_node(nb)
    assert again == first
    assert _canonical(first) == _canonical(HTMLExporter(template_name="lab").from_notebook_node(
        nb)[0])
    edited = _notebook()
    edited.cells[0].source = "# Title\n\nA student's **own** words."
    page, _ = exporter.from_notebook_node(edited)
    assert "<strong>own</strong>" in page and "Some <em>prose</em>" not in page
    attached = _notebook()
    attached.cells[0].source = "![inline](attachment:dot.png)"
    attached.cells[0].attachments = {"dot.png": {"image/png": PNG}}
    page, _ = exporter.from_notebook_node(attached)
    assert f"data:image/png;base64,{PNG}" in page
