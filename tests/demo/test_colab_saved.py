"""Google Colab's saved notebooks: the writer's layout, and the committed fixture it made.

The fixture (tests/fixtures/colab_saved_example.ipynb) is also graded with the sample class,
in test_sample_class.py.
"""

import json
from pathlib import Path

from autograding.demo import COURSE_ROOT, colab_saved

FIXTURE = Path(__file__).parents[1] / "fixtures" / "colab_saved_example.ipynb"
FIXTURE_ASSIGNMENT = "05_mse_gradients"


def test_colab_fixture_matches_the_master():
    path = COURSE_ROOT / "source" / FIXTURE_ASSIGNMENT / f"{FIXTURE_ASSIGNMENT}.ipynb"
    master = json.loads(path.read_text())
    fixture = json.loads(FIXTURE.read_text())
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in master["cells"]]
    fixture_ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in fixture["cells"]]
    assert [i for i in fixture_ids if i] == [i for i in ids if i], (
        "the Colab fixture is stale: regenerate it with `python -c \"from autograding."
        "demo import write_colab_fixture as w; "
        "w('tests/fixtures/colab_saved_example.ipynb')\"`")
    assert fixture["nbformat_minor"] == 0 and "colab" in fixture["metadata"]
    assert any(c["metadata"].get("outputId") for c in fixture["cells"])


def test_colab_saved_layout():
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
          "cells": [{"cell_type": "code", "id": "a1", "execution_count": None, "outputs": [],
                     "metadata": {"nbgrader": {"grade_id": "answer", "solution": True},
                                  "deletable": False},
                     "source": "x = 1\nprint(x)\n"}]}
    executed = {"cells": [dict(nb["cells"][0], outputs=[
        {"output_type": "stream", "name": "stdout", "text": "1\n"}])]}
    text = colab_saved(nb, seed="t", executed=executed, badge_url="https://example.org/nb")
    saved = json.loads(text)
    assert list(saved) == ["nbformat", "nbformat_minor", "metadata", "cells"]
    assert saved["nbformat_minor"] == 0 and saved["metadata"]["accelerator"] == "GPU"
    badge, cell = saved["cells"]
    assert badge["metadata"] == {"id": "view-in-github", "colab_type": "text"}
    assert "id" not in cell and len(cell["metadata"]["id"]) == 12
    assert cell["metadata"]["nbgrader"]["grade_id"] == "answer"
    assert "deletable" not in cell["metadata"] and cell["metadata"]["outputId"]
    assert cell["source"] == ["x = 1\n", "print(x)\n"]
    assert cell["outputs"][0]["text"] == ["1\n"]
    assert text == colab_saved(nb, seed="t", executed=executed, badge_url="https://example.org/nb")
