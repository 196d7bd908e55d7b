"""Prove that a test cell ran to its end: a random marker set by its last statement."""

from __future__ import annotations

import ast
import secrets


def cell_name(index: int, cell) -> str:
    """How messages name a cell: its index and nbgrader grade id."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


def is_test_cell(cell) -> bool:
    """An nbgrader autograder-tests cell (graded, not an answer), unless it is a cell magic
    (whose body is not Python, so no line can be appended to it)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return (isinstance(meta, dict) and bool(meta.get("grade")) and not meta.get("solution")
            and not cell.source.lstrip().startswith("%%"))


def with_ran_marker(source: str, name: str, token: str) -> str:
    """`source` that sets `name` to `token` once its last statement has run.

    A last expression keeps its value and its display (nbgrader reads partial credit from a
    test cell's result): `[(expr), (name := token)][0]`, both evaluated left to right. Any
    other cell gets one more line. So does a cell that is not plain Python (line magics):
    a value shown by its last line is then not displayed.
    """
    marker = f"({name} := {token!r})"
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        body = []
    if not body or not isinstance(body[-1], ast.Expr):
        return f"{source}\n{name} = {token!r}\n"
    node = body[-1]
    raw = source.encode()  # ast counts columns in UTF-8 bytes
    starts = [0]
    for line in raw.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    begin = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset
    expr = raw[begin:end].decode()
    return raw[:begin].decode() + f"[({expr}), {marker}][0]" + raw[end:].decode()


def marked_source(cell) -> tuple[str, dict, str | None]:
    """What to execute for `cell`: (source, user_expressions, token); a test cell gets the
    marker, any other cell runs as written (token None)."""
    if not is_test_cell(cell):
        return cell.source, {}, None
    token, name = secrets.token_hex(16), f"_autograding_ran_{secrets.token_hex(4)}"
    # A bare random name: a student's variable can't shadow it (one called `globals` would
    # break `globals().pop(...)`).
    return with_ran_marker(cell.source, name, token), {"ran": name}, token


def marker_seen(reply: dict, token: str) -> bool:
    """Whether the execute reply's user_expressions read back `token`."""
    # Shaped by the kernel, which the notebook's code can change: check every level.
    expressions = reply.get("user_expressions")
    ran = expressions.get("ran") if isinstance(expressions, dict) else None
    data = ran.get("data") if isinstance(ran, dict) and ran.get("status") == "ok" else None
    return isinstance(data, dict) and data.get("text/plain") == repr(token)
