"""nbconvert's HTMLExporter for feedback pages: no BeautifulSoup pass, each text rendered once.

HTMLExporter.from_notebook_node renders the template, then parses the whole page with
BeautifulSoup only to add three accessibility attributes and serializes it again: more than half
of the time of a feedback render, since every highlighted token of the code is a <span>. This
exporter adds the same attributes (`alt` on images that lack one, `tabindex="0"` on input
wrappers and outputs inside the .jp-Notebook element) with one pass over the start tags, and leaves
the rest of the page as the template wrote it.

It also puts a Content-Security-Policy in the page's head. A feedback page shows what the student
wrote: markdown cells, HTML, JavaScript and SVG outputs. Without a policy, a `<script>`, an
`onerror=` handler or a `display(Javascript(...))` in a submission would run in the browser of
whoever opens the page (the instructor too). The policy lets only the template's MathJax load
scripts, and lets nothing load from the network except MathJax's own files, so student content
can neither run code nor send anything anywhere (images must be inline `data:` URLs, as plots are).
<meta> tags in the body are removed: a refresh tag would send the reader elsewhere.

Most cells (prose, tests, demos) are the same in every submission of a batch: their markdown
(FeedbackHTMLExporter.markdown2html) and highlighted code (CachedHighlight) are made once.
"""

from __future__ import annotations

import re

from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from traitlets import Bool

MISSING_ALT = "No description has been provided for this image"  # nbconvert's text
FOCUSABLE_CLASSES = ("jp-Cell-inputWrapper", "jp-OutputArea-output")
START_TAG = re.compile(r"<(div|img)(\s[^<>]*?)?(/?)>", re.IGNORECASE)
# The lab template's <main class="jp-Notebook" ...>; the classic template has none.
NOTEBOOK_ELEMENT = re.compile(
    r"""<\w+\s[^<>]*\bclass\s*=\s*["'][^"']*\bjp-Notebook\b[^"']*["'][^<>]*>""")
ATTRIBUTE = re.compile(r"""([^\s=/"'<>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
HEAD_START = re.compile(r"<head(\s[^<>]*)?>", re.IGNORECASE)
BODY_START = re.compile(r"<body\b", re.IGNORECASE)
# The template's MathJax configuration: MathJax 2 runs it with eval(), which a policy that stops
# student scripts must forbid (MathJax would eval a student's config block just the same).
MATHJAX_CONFIG_BLOCK = re.compile(
    r'<script type="text/x-mathjax-config">.*?</script>', re.DOTALL)
# The same settings as a plain object MathJax 2 reads at start-up (it then typesets the page).
MATHJAX_CONFIG = (
    "window.MathJax = {TeX: {equationNumbers: {autoNumber: 'AMS', useLabelIds: true}}, "
    "tex2jax: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], "
    "displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true, "
    "processEnvironments: true}, displayAlign: 'center', messageStyle: 'none', "
    "CommonHTML: {linebreaks: {automatic: true}}};"
)
NONE = "'none'"
MARKDOWN_CACHE_SIZE = 4096
HIGHLIGHT_CACHE_SIZE = 4096
BODY_META = re.compile(r"<meta\b[^<>]*>", re.IGNORECASE)


def content_security_policy(mathjax_url: str, inline_scripts=()) -> str:
    """The policy for a feedback page: scripts only from MathJax's folder at `mathjax_url`
    and the given inline scripts (by hash); nothing else loads from anywhere."""
    sources = [f"'sha256-{_sha256_base64(text)}'" for text in inline_scripts]
    if mathjax_url.startswith(("https://", "http://")):
        folder = mathjax_url.split("?", 1)[0].rsplit("/", 1)[0]
        # The parent folder: MathJax's latest.js may load a newer 2.x from a sibling folder.
        sources.append(folder.rsplit("/", 1)[0] + "/")
    mathjax = " ".join(s for s in sources if not s.startswith("'"))
    return "; ".join(part.strip() for part in (
        "default-src 'none'",
        f"script-src {' '.join(sources) or NONE}",
        f"style-src 'unsafe-inline' {mathjax}",
        f"font-src data: {mathjax}",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ))


def _sha256_base64(text: str) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def add_content_security_policy(page: str, mathjax_url: str) -> str:
    """`page` with a CSP <meta> first in its <head> (before any script), and the template's
    MathJax configuration block (in the head, before any student content) replaced by the same
    settings as a plain object, allowed by its hash, ahead of the MathJax loader."""
    import html

    head = HEAD_START.search(page)
    if head is None:  # not a template page: ship it without any script
        policy = content_security_policy("")
        meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">'
        return f"<!DOCTYPE html><html><head>{meta}</head><body>{page}</body></html>"
    body = BODY_START.search(page, head.end())
    config = MATHJAX_CONFIG_BLOCK.search(page, head.end(), body.start() if body else len(page))
    scripts, first = (), ""
    if config:  # moved up, before the MathJax loader reads it
        scripts = (MATHJAX_CONFIG,)
        first = f"\n<script>{MATHJAX_CONFIG}</script>"
        page = page[:config.start()] + page[config.end():]
    policy = content_security_policy(mathjax_url, scripts)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">'
    return page[:head.end()] + "\n" + meta + first + page[head.end():]


def remove_body_meta_tags(page: str) -> str:
    """`page` without <meta> tags after its <head>: a policy cannot stop a student's
    `<meta http-equiv="refresh">` from sending the reader to another page."""
    body = re.search(r"</head\s*>", page, re.IGNORECASE)
    if body is None:
        return BODY_META.sub("", page)
    return page[:body.end()] + BODY_META.sub("", page[body.end():])


def _attributes(text: str) -> dict[str, str]:
    """Attribute names (lower case) and values of a start tag's attribute text."""
    found = {}
    for match in ATTRIBUTE.finditer(text or ""):
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        found.setdefault(match.group(1).lower(), value)
    return found


def _accessible_tag(match: re.Match, focusable: bool) -> str:
    """The start tag with nbconvert's accessibility attributes added where they are missing
    (`tabindex` only when `focusable`: inside the notebook's .jp-Notebook element)."""
    name, attrs, slash = match.group(1), match.group(2) or "", match.group(3)
    found = _attributes(attrs)
    if name.lower() == "img":
        extra = "" if "alt" in found else f' alt="{MISSING_ALT}"'
    else:
        classes = found.get("class", "").split()
        wanted = (focusable and "tabindex" not in found
                  and any(c in classes for c in FOCUSABLE_CLASSES))
        extra = ' tabindex="0"' if wanted else ""
    if not extra:
        return match.group(0)
    return f"<{name}{attrs.rstrip()}{extra}{slash}>"


def add_accessibility_attributes(page: str) -> str:
    """What HTMLExporter's BeautifulSoup pass adds, without re-parsing the page."""
    notebook = NOTEBOOK_ELEMENT.search(page)
    start = notebook.end() if notebook else len(page)
    head = START_TAG.sub(lambda m: _accessible_tag(m, False), page[:start])
    return head + START_TAG.sub(lambda m: _accessible_tag(m, True), page[start:])


class CachedHighlight:
    """nbconvert's `highlight_code` filter, memoized: most cells (prose, tests, demos) are the
    same in every submission, and pygments was a third of the time of a feedback render."""

    def __init__(self):
        self.lexer = None  # the notebook's pygments lexer, set before each render
        self._filters = {}
        self._cache = {}

    def __call__(self, source, language=None, metadata=None):
        """Highlighted HTML, as nbconvert's Highlight2HTML(pygments_lexer=lexer) gives it."""
        # Highlight2HTML reads only these from the cell metadata.
        magics = metadata.get("magics_language") if metadata else None
        key = (self.lexer, source, language, magics)
        if key not in self._cache:
            if self.lexer not in self._filters:
                self._filters[self.lexer] = Highlight2HTML(pygments_lexer=self.lexer)
            if len(self._cache) >= HIGHLIGHT_CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = self._filters[self.lexer](source, language, metadata)
        return self._cache[key]


class FeedbackHTMLExporter(HTMLExporter):
    """HTMLExporter whose page is the template's output plus the accessibility attributes and a
    Content-Security-Policy against scripts in student content."""

    content_security_policy = Bool(
        True, help="Add a Content-Security-Policy that blocks scripts in student content."
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._markdown_cache = {}

    @pass_context
    def markdown2html(self, context, source):
        """HTMLExporter.markdown2html, memoized for cells without attachments: the course's
        prose is the same in every submission, and mistune took ~15 % of a feedback render."""
        cell = context.get("cell", {})
        if cell.get("attachments") or self.embed_images:  # depends on more than the text
            return super().markdown2html(context, source)
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        key = (source, path)
        if key not in self._markdown_cache:
            if len(self._markdown_cache) >= MARKDOWN_CACHE_SIZE:
                self._markdown_cache.clear()
            self._markdown_cache[key] = super().markdown2html(context, source)
        return self._markdown_cache[key]

    def _validate_preprocessor(self, nbc, preprocessor):
        """No schema check of the whole notebook after each of nbconvert's ~13 preprocessors
        (most of them off): a fifth of a page's time. The autograded notebook it renders was
        checked when written, and the page does not depend on it."""

    def from_notebook_node(self, nb, resources=None, **kw):
        """HTMLExporter.from_notebook_node with the BeautifulSoup pass replaced (see above)."""
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        page = add_accessibility_attributes(page)
        if self.content_security_policy:
            page = add_content_security_policy(remove_body_meta_tags(page), self.mathjax_url)
        return page, resources
