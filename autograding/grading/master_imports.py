"""The modules the masters import: the workers import the heavy ones once, before forking.

Read with the standard library alone (json and ast), before nbgrader is imported: the workers
start with this list (autograding.engine.forkserver.PRELOAD_IF_IMPORTED says which of them are
taken), so a batch of notebooks without seaborn does not wait for seaborn.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

MAX_MASTER_BYTES = 50 * 2**20  # a master larger than this is not read here (nbgrader will)


def imported_modules(source: str) -> set[str]:
    """Absolute module names a code cell imports (IPython magics and shell lines skipped; a
    cell Python cannot parse gives none)."""
    if "import" not in source:  # most cells: no parse needed (it is on the batch's start path)
        return set()
    lines = ["" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def master_imports(course: Path, assignments=()) -> tuple[str, ...]:
    """The sorted module names the code cells of course/source/<assignment>/*.ipynb import
    (only `assignments`, when given). An unreadable master adds none: it is reported when the
    batch reads it with nbgrader."""
    found: set[str] = set()
    for path in sorted(Path(course, "source").glob("*/*.ipynb")):
        if assignments and path.parent.name not in assignments:
            continue
        try:
            if path.stat().st_size > MAX_MASTER_BYTES:
                continue
            cells = json.loads(path.read_bytes()).get("cells", [])
        except (OSError, ValueError, AttributeError):
            continue
        for cell in cells if isinstance(cells, list) else ():
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                found |= imported_modules("".join(source) if isinstance(source, list)
                                          else str(source))
    return tuple(sorted(found))
