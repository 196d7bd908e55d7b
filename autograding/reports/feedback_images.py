"""Images beside a notebook shown in its feedback page: markdown references become data URIs.

nbgrader's feedback copies the autograded folder's files next to the HTML page, so
`![](plot.png)` or `<img src="data/fig.png">` in a markdown cell finds them. A feedback page
here is one self-contained file whose Content-Security-Policy loads no image from anywhere but
`data:` URIs, so each relative image reference of a markdown cell is replaced by the file's
bytes from out/autograded/<student>/<assignment>/ (the course's files, the student's, and those
the notebook wrote: autograding.grading.assignment_files). Only files that stay inside that
folder, are no links, are at most MAX_IMAGE_BYTES and start like a PNG, JPEG, GIF or WebP image
are embedded (MAX_PAGE_BYTES per page); anything else keeps its reference and shows as a
missing image. Pasted images (cell attachments: the raster ones autograding.grading.submission
keeps) render from the cell; a reference to an attachment the cell does not have (dropped, or
never there) is pointed nowhere instead of stopping the page from rendering.
"""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path
from urllib.parse import unquote

from autograding.grading.assignment_files import safe_name

MAX_IMAGE_BYTES = 5 * 2**20
MAX_PAGE_BYTES = 20 * 2**20
NOT_KEPT = "#attachment-not-kept"
# ![alt](url "title"): the url, bare or in <...>.
MARKDOWN_IMAGE = re.compile(r"(!\[[^\]\n]*\]\(\s*)(<[^<>\n]*>|[^\s()<>]+)")
# [label]: url, a reference an image may use.
REFERENCE = re.compile(r"^( {0,3}\[[^\]\n]+\]:[ \t]*)(<[^<>\n]*>|\S+)", re.MULTILINE)
HTML_IMAGE = re.compile(r"""(<img\b[^<>]*?\bsrc\s*=\s*)(["'])([^"'<>]*)\2""", re.IGNORECASE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def image_type(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG, GIF or WebP file by its first bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def local_name(url: str) -> str | None:
    """The relative file name a reference points at, or None for anything else (a scheme,
    an absolute path, a path out of the folder, an anchor)."""
    url = url.strip().removeprefix("<").removesuffix(">").split("#", 1)[0].split("?", 1)[0]
    if not url or SCHEME.match(url) or url.startswith("/"):
        return None
    name = unquote(url)
    while name.startswith("./"):
        name = name[2:]
    return name if safe_name(name) else None


class PageImages:
    """The images one feedback page may embed, read from one autograded folder."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self.left = MAX_PAGE_BYTES
        self._uris: dict[str, str | None] = {}

    def data_uri(self, name: str) -> str | None:
        """`data:` URI of the image `name` in the folder, or None (see the module docstring)."""
        if name not in self._uris:
            data = self._read(name)
            kind = image_type(data) if data is not None else None
            if kind is None or len(data) > self.left:
                self._uris[name] = None
            else:
                self.left -= len(data)
                self._uris[name] = f"data:{kind};base64,{base64.b64encode(data).decode()}"
        return self._uris[name]

    def _read(self, name: str) -> bytes | None:
        """The file's bytes when it is a regular file inside the folder, not a link."""
        if self.folder is None:
            return None
        path = self.folder / name
        try:
            if path.resolve().parent != (self.folder.resolve() / name).parent:
                return None  # a linked folder on the way
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            data = fh.read(MAX_IMAGE_BYTES + 1)
        return data if len(data) <= MAX_IMAGE_BYTES else None

    def _replace(self, url: str, attachments) -> str:
        """The reference to put in place of `url`."""
        bare = url.strip().removeprefix("<").removesuffix(">")
        if bare.startswith("attachment:"):
            return url if bare[len("attachment:"):] in attachments else NOT_KEPT
        name = local_name(url)
        uri = self.data_uri(name) if name else None
        return uri or url

    def embed(self, source: str, attachments=()) -> str:
        """A markdown cell's source with its local images as data URIs."""
        def inline(match: re.Match) -> str:
            return match.group(1) + self._replace(match.group(2), attachments)

        def tag(match: re.Match) -> str:
            quote = match.group(2)
            return match.group(1) + quote + self._replace(match.group(3), attachments) + quote

        source = MARKDOWN_IMAGE.sub(inline, source)
        source = REFERENCE.sub(inline, source)
        return HTML_IMAGE.sub(tag, source)


def embed_images(nb, folder: Path | None) -> None:
    """Embed the images of `nb`'s markdown cells found in `folder` (module docstring)."""
    images = PageImages(folder)
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown" and isinstance(cell.get("source"), str):
            cell.source = images.embed(cell.source, cell.get("attachments") or {})
