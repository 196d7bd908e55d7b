"""nbconvert's HTMLExporter without its BeautifulSoup pass, for feedback pages.

HTMLExporter.from_notebook_node renders the template, then parses the whole page with
BeautifulSoup only to add three accessibility attributes and serializes it again: more than half
of the time of a feedback render, since every highlighted token of the code is a <span>. This
exporter adds the same attributes (`alt` on images that lack one, `tabindex="0"` on input
wrappers and outputs inside the .jp-Notebook element) with one pass over the start tags, and leaves
the rest of the page as the template wrote it.
"""

from __future__ import annotations

import re

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

MISSING_ALT = "No description has been provided for this image"  # nbconvert's text
FOCUSABLE_CLASSES = ("jp-Cell-inputWrapper", "jp-OutputArea-output")
START_TAG = re.compile(r"<(div|img)(\s[^<>]*?)?(/?)>", re.IGNORECASE)
# The lab template's <main class="jp-Notebook" ...>; the classic template has none.
NOTEBOOK_ELEMENT = re.compile(
    r"""<\w+\s[^<>]*\bclass\s*=\s*["'][^"']*\bjp-Notebook\b[^"']*["'][^<>]*>""")
ATTRIBUTE = re.compile(r"""([^\s=/"'<>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


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


class FeedbackHTMLExporter(HTMLExporter):
    """HTMLExporter whose page is the template's output plus the accessibility attributes."""

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
        return add_accessibility_attributes(page), resources
