"""similarity.csv and the HTML report: every pair in order, hostile text shown as text."""

import csv
import io

import numpy as np

from autograding.similarity.collect import Skipped
from autograding.similarity.detect import Pair, SimilaritySettings
from autograding.similarity.report import (
    CSV_COLUMNS,
    AssignmentPairs,
    csv_text,
    highlighted,
    html_text,
    write_reports,
)

HOSTILE = "<img src=x onerror=alert(1)>"
CODE = "def f(x):\n    # </script><script>alert('x')</script>\n    return x & 1 < 2\n"


def _pair(a, b, score, slices=None):
    slices = np.zeros((2, 0), dtype=int) if slices is None else np.array(slices)
    return Pair(a, b, score, score, score, slices, slices)


def _results():
    texts = {HOSTILE: CODE, "bob": CODE, "cy": "y = 2\n"}
    one = AssignmentPairs("01_x", [_pair(HOSTILE, "bob", 0.95, [[0, 20], [10, 40]]),
                                   _pair("bob", "cy", 0.1), _pair(HOSTILE, "cy", 0.1)],
                          texts, {"cy"})
    two = AssignmentPairs("02_y", [_pair("a", "b", 0.5)], {"a": "", "b": ""}, set())
    return [one, two]


def test_csv_has_every_pair_highest_first():
    rows = list(csv.DictReader(io.StringIO(csv_text(_results()))))
    assert list(rows[0]) == CSV_COLUMNS == ["assignment", "student_a", "student_b",
                                            "similarity"]
    assert [(r["assignment"], r["similarity"]) for r in rows] == [
        ("01_x", "0.9500"), ("02_y", "0.5000"), ("01_x", "0.1000"), ("01_x", "0.1000")]
    assert rows[0]["student_a"] == HOSTILE  # the CSV keeps names as they are


def test_highlighting_escapes_and_merges_overlapping_matches():
    text = "a < b </script>"
    # starts 0 and 2, ends 4 and 6: one mark over "a < b "
    assert highlighted(text, np.array([[0, 2], [4, 6]])) == (
        "<mark>a &lt; b </mark>&lt;/script&gt;")
    assert highlighted(text, np.array([[-5], [999]])) == "<mark>a &lt; b &lt;/script&gt;</mark>"
    assert highlighted(text, np.zeros((2, 0), dtype=int)) == "a &lt; b &lt;/script&gt;"


def test_html_shows_pairs_over_the_threshold_and_nothing_runs():
    skipped = [Skipped("01_x", "<b>zed</b>", "zed.ipynb: not valid JSON <script>")]
    page = html_text(_results(), skipped, SimilaritySettings(threshold=0.9))
    assert "<script" not in page and "<img" not in page and "<b>zed" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b&gt;zed&lt;/b&gt;" in page
    assert "default-src 'none'" in page  # no script, no outside resource, even if escaped badly
    assert page.count('class="pair"') == 1  # only the 0.95 pair of 01_x
    assert "&lt;/script&gt;" in page and "<mark>" in page
    assert "not valid JSON &lt;script&gt;" in page


def test_html_caps_the_pairs_per_assignment():
    page = html_text(_results(), [], SimilaritySettings(threshold=0.0, max_pairs=1))
    assert page.count('class="pair"') == 2  # one per assignment
    assert "3 at or above the threshold; the 1 highest are shown" in page


def test_write_reports_replaces_both_files(tmp_path):
    csv_path, html_path = write_reports(tmp_path / "similarity", _results(), [],
                                        SimilaritySettings())
    assert csv_path.read_text().startswith("assignment,student_a,student_b,similarity\n")
    assert html_path.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in (tmp_path / "similarity").iterdir()) == [
        "similarity.csv", "similarity.html"]
