"""Re-save a notebook as Google Colab does, so sample students can hand in Colab downloads.

Colab keeps the cells and their nbgrader metadata but changes nearly everything around them;
the grader must read such a file like the same notebook saved by Jupyter.
"""

from __future__ import annotations

import copy
import json
import random

from autograding.demo.assignments import cell_source, grade_id

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def colab_saved(nb: dict, *, seed: str, executed: dict | None = None,
                badge_url: str = "") -> str:
    """The text Google Colab downloads for `nb` (File > Download > .ipynb).

    Colab writes nbformat 4.0 with 2-space JSON, keys in its own order, a `colab` metadata
    block, its kernelspec {"name": "python3", "display_name": "Python 3"}, `accelerator`,
    12-character cell ids in cell metadata (no top-level cell ids), source as lists of lines,
    per-cell `executionInfo` and `outputId` when a cell ran, and an "Open in Colab" cell
    (`view-in-github`) when the notebook was opened from GitHub. nbgrader metadata is kept.
    """
    rng = random.Random(seed)
    executed_cells = (executed or {}).get("cells", [])
    outputs_by_key = {}
    for cell in executed_cells:
        for key in (grade_id(cell), cell.get("id"), cell_source(cell)):
            if key:
                outputs_by_key.setdefault(key, cell.get("outputs", []))
    cells = []
    if badge_url:
        cells.append({"cell_type": "markdown",
                      "metadata": {"id": "view-in-github", "colab_type": "text"},
                      "source": [f'<a href="{badge_url}" target="_parent"><img '
                                 'src="https://colab.research.google.com/assets/colab-badge.svg"'
                                 ' alt="Open In Colab"/></a>']})
    clock = 1763800000000
    for count, cell in enumerate(nb["cells"], start=1):
        meta = copy.deepcopy(cell.get("metadata", {}))
        for key in ("deletable", "editable", "execution", "collapsed", "scrolled"):
            meta.pop(key, None)
        meta["id"] = "".join(rng.choice(_ID_ALPHABET) for _ in range(12))
        lines = cell_source(cell).splitlines(keepends=True)
        if cell["cell_type"] != "code":
            cells.append({"cell_type": cell["cell_type"], "source": lines, "metadata": meta})
            continue
        keys = (grade_id(cell), cell.get("id"), cell_source(cell))
        found = (outputs_by_key.get(k) for k in keys)
        outputs = copy.deepcopy(next((o for o in found if o is not None), []))
        if outputs:
            clock += rng.randint(500, 4000)
            meta["colab"] = {"base_uri": "https://localhost:8080/"}
            meta["outputId"] = _uuid(rng)
            meta["executionInfo"] = {
                "status": "ok", "timestamp": clock, "user_tz": -480,
                "elapsed": rng.randint(5, 900),
                "user": {"displayName": "Student Colab", "userId": "0" * 20 + "42"},
            }
        for output in outputs:
            if "text" in output and isinstance(output["text"], str):
                output["text"] = output["text"].splitlines(keepends=True)
        cells.append({"cell_type": "code", "source": lines, "metadata": meta,
                      "execution_count": count if outputs else None, "outputs": outputs})
    document = {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"provenance": [], "gpuType": "T4", "include_colab_link": bool(badge_url)},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
        },
        "cells": cells,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _uuid(rng: random.Random) -> str:
    """A random UUID drawn from `rng` (reproducible for one seed)."""
    digits = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
