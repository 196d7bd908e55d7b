"""What the masters import, read without nbgrader (autograding.grading.master_imports)."""

import json

from autograding.grading.master_imports import imported_modules, master_imports


def test_imports_of_a_cell_absolute_only_magics_skipped():
    source = ("%matplotlib inline\n!pip install nothing\nimport numpy as np, torch.nn\n"
              "from sklearn.linear_model import Ridge\nfrom . import sibling\n"
              "def f():\n    import seaborn\n")
    assert imported_modules(source) == {"numpy", "torch.nn", "sklearn.linear_model", "seaborn"}


def test_a_cell_python_cannot_parse_gives_none():
    assert imported_modules("import pandas\nprint(\"unclosed") == set()
    assert imported_modules("") == set()


def write(path, cells):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))


def test_the_masters_of_the_chosen_assignments_broken_ones_skipped(tmp_path):
    code = {"cell_type": "code", "source": ["import seaborn\n", "import torch"]}
    prose = {"cell_type": "markdown", "source": "import pandas"}
    write(tmp_path / "source" / "a" / "a.ipynb", [code, prose])
    write(tmp_path / "source" / "b" / "b.ipynb", [{"cell_type": "code", "source": "import scipy"}])
    (tmp_path / "source" / "c").mkdir()
    (tmp_path / "source" / "c" / "c.ipynb").write_text("{not json")
    write(tmp_path / "source" / "d" / "d.ipynb", [{"cell_type": "code", "source": 7}, "cell"])
    assert master_imports(tmp_path) == ("scipy", "seaborn", "torch")
    assert master_imports(tmp_path, ("a",)) == ("seaborn", "torch")
    assert master_imports(tmp_path / "nowhere") == ()


def test_the_course_masters_name_the_libraries_of_06_only_in_06():
    from autograding.grading.files import DEFAULT_COURSE_ROOT

    assert "seaborn" in master_imports(DEFAULT_COURSE_ROOT, ("06_real_data",))
    assert "seaborn" not in master_imports(DEFAULT_COURSE_ROOT, ("01_vectorization",
                                                                 "05_mse_gradients"))
