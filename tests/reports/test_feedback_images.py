"""Images beside a notebook in its feedback page: embedded as data URIs when they are images
inside the folder; anything else (links, traversal, non-images, huge files) is left alone,
and a page with hostile references still renders. Hidden tests between a course's own
delimiters are hidden."""

import base64
import json
import os
import struct
import zlib

import nbformat
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograding.reports import feedback_images
from autograding.reports.feedback import hidden_test_delimiters, redact_hidden_cell
from autograding.reports.feedback_images import PageImages, embed_images, image_type, local_name


def png() -> bytes:
    """A 1x1 PNG."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x01\x02\x03")) + chunk(b"IEND", b""))


def uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_image_types_by_their_bytes_and_local_names():
    assert image_type(png()) == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert image_type(b"<svg onload=alert(1)>") is None
    assert local_name("./img/a%20b.png") == "img/a b.png"
    assert local_name("<plot.png>") == "plot.png"
    assert [local_name(u) for u in ("../x.png", "/etc/x.png", "https://e.org/x.png",
                                    "javascript:alert(1)", "#top", "a/../../x.png")] == [None] * 6


def test_markdown_html_and_reference_images_are_embedded(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "plot.png").write_bytes(png())
    (tmp_path / "img" / "b.png").write_bytes(png())
    source = ('![a plot](plot.png "title")\n<img src="img/b.png" alt="b">\n![ref][r]\n\n'
              "[r]: ./plot.png\n![web](https://example.org/x.png)")
    out = PageImages(tmp_path).embed(source)
    assert out.count(uri(png())) == 3
    assert '"title")' in out and "https://example.org/x.png" in out


def test_hostile_references_are_left_alone(tmp_path, monkeypatch):
    folder = tmp_path / "autograded"
    folder.mkdir()
    (tmp_path / "secret.png").write_bytes(png())
    (folder / "fake.png").write_bytes(b"<script>alert(1)</script>")
    os.symlink(tmp_path / "secret.png", folder / "link.png")
    (folder / "sub").symlink_to(tmp_path)
    monkeypatch.setattr(feedback_images, "MAX_IMAGE_BYTES", 100)
    (folder / "big.png").write_bytes(png() + b"\0" * 200)
    for ref in ("../secret.png", "link.png", "sub/secret.png", "fake.png", "big.png",
                "/etc/passwd", "missing.png"):
        assert PageImages(folder).embed(f"![x]({ref})") == f"![x]({ref})", ref


def test_a_page_keeps_to_its_image_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(feedback_images, "MAX_PAGE_BYTES", len(png()) * 2)
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes(png())
    out = PageImages(tmp_path).embed("![](a.png) ![](b.png) ![](c.png) ![](a.png)")
    assert out.count("data:image/png") == 3 and out.endswith("![](c.png) " + f"![]({uri(png())})")


def test_a_page_with_embedded_and_broken_images_renders(tmp_path):
    (tmp_path / "plot.png").write_bytes(png())
    nb = new_notebook(cells=[
        new_markdown_cell("![plot](plot.png)\n![pasted](attachment:gone.png)\n"
                          '<img src="x.png" onerror="alert(1)">'),
        new_code_cell("1")])
    embed_images(nb, tmp_path)
    page, _ = HTMLExporter().from_notebook_node(nb)  # nbconvert's markdown, mistune's URLs
    assert f'src="{uri(png())}"' in page, "mistune keeps a PNG data URI"
    assert "attachment:gone.png" not in page


def test_hidden_tests_between_the_courses_delimiters_are_redacted():
    nb = new_notebook(cells=[new_code_cell(
        "assert f(1) == 1\n# BEGIN SECRET CHECKS\nassert f(7) == 'secret-value'\n"
        "# END SECRET CHECKS\nprint('done')")])
    assert hidden_test_delimiters(nb) == ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    nb.metadata["autograding"] = {"hidden_tests": ["BEGIN SECRET CHECKS", "END SECRET CHECKS"]}
    delimiters = hidden_test_delimiters(nb)
    cell = nbformat.from_dict(nb.cells[0])
    redact_hidden_cell(cell, delimiters)
    assert "secret-value" not in cell.source and "print('done')" in cell.source
    nb.metadata["autograding"]["hidden_tests"] = ["", "x"]
    assert hidden_test_delimiters(nb) == ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def test_pasted_images_survive_the_rebuild_and_show_in_the_page(tmp_path):
    from autograding.grading.submission import parse_notebook

    pasted = base64.b64encode(png()).decode()
    svg = base64.b64encode(b"<svg onload='alert(1)'/>").decode()
    raw = new_notebook(cells=[new_markdown_cell(
        "![mine](attachment:pasted.png) ![vector](attachment:drawing.svg)"
        " ![bad](attachment:bad.png)")])
    raw.cells[0]["attachments"] = {"pasted.png": {"image/png": pasted},
                                   "drawing.svg": {"image/svg+xml": svg},
                                   "bad.png": {"image/png": "not base64 at all!"},
                                   "odd": "not a bundle"}
    nb, _ = parse_notebook(json.dumps(raw).encode(), "answers.ipynb")
    assert nb.cells[0]["attachments"] == {"pasted.png": {"image/png": pasted}}
    nbformat.validate(nb)
    embed_images(nb, tmp_path)
    page, _ = HTMLExporter().from_notebook_node(nb)
    assert f"data:image/png;base64,{pasted}" in page
    assert svg not in page and "attachment:drawing.svg" not in page
