"""Collect one cell's outputs as nbclient does, within a byte budget and a count cap."""

from __future__ import annotations

import json
from collections.abc import Mapping

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import output_from_msg

# What nbformat raises for a message that is not a valid output.
NOT_AN_OUTPUT = (ValueError, TypeError, KeyError, AttributeError, nbformat.ValidationError)
KEPT_TEXT = 10_000  # bytes of an error/result kept when the cell is over its output budget


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output with a one-line traceback."""
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


def output_size(out: Mapping) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    if out.get("output_type") == "error":
        return sum(len(line) for line in out.get("traceback", [])) + len(out.get("evalue", ""))
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v))
               for v in out.get("data", {}).values())


class CellOutputs:
    """Collects one cell's outputs like nbclient, within a byte budget and a count cap.

    Consecutive writes to one stream are merged into one output, as Jupyter shows them. The
    count cap matters for floods of tiny displays: 100,000 `display(i)` calls are 0.5 MB but
    made a 14 MB feedback page that took 28 s to render.
    """

    def __init__(self, cell, budget: int, max_outputs: int, over_note: str):
        self.cell = cell
        self.budget = budget
        self.max_outputs = max_outputs
        self.over_note = over_note  # why output past the budget is cut (cell or notebook)
        self.used = 0
        self.truncated = False
        self.clear_on_next = False
        self.display_ids: dict[str, list[int]] = {}
        cell.outputs = []

    def handle(self, msg: dict) -> None:
        msg_type = msg["msg_type"]
        content = msg["content"]
        if msg_type == "clear_output":
            if content.get("wait"):
                self.clear_on_next = True
            else:
                self._clear()
            return
        if msg_type == "update_display_data":
            display_id = content.get("transient", {}).get("display_id")
            if display_id in self.display_ids:
                try:
                    shown = nbformat.v4.new_output("display_data",
                                                   data=content.get("data", {}),
                                                   metadata=content.get("metadata", {}))
                except NOT_AN_OUTPUT:
                    return
                for index in self.display_ids[display_id]:
                    self.cell.outputs[index].data = shown.data
                    self.cell.outputs[index].metadata = shown.metadata
            return
        try:
            out = output_from_msg(msg)
        except NOT_AN_OUTPUT:
            # Comm messages and the like, or an output nbformat rejects: the kernel runs the
            # notebook's code, which can send any message (`{"text/plain": 5}`).
            return
        if self.clear_on_next:
            self._clear()
        self.add(out, content.get("transient", {}).get("display_id"))

    def _clear(self) -> None:
        self.cell.outputs = []
        self.display_ids = {}
        self.clear_on_next = False
        self.used = 0

    def _stream_to_extend(self, out: NotebookNode) -> NotebookNode | None:
        """The last output, when `out` continues the same stream (merged, not appended)."""
        if out.output_type != "stream" or not self.cell.outputs:
            return None
        last = self.cell.outputs[-1]
        same = last.output_type == "stream" and last.name == out.name
        return last if same and not self.truncated else None

    def add(self, out: NotebookNode, display_id: str | None = None) -> None:
        size = output_size(out)
        extend = self._stream_to_extend(out)
        room = extend is not None or len(self.cell.outputs) < self.max_outputs
        if room and self.used + size <= self.budget:
            self.used += size
        elif room and out.output_type == "stream" and self.used < self.budget:
            out.text = out.text[: self.budget - self.used]
            self.used = self.budget
            self._append(out, extend, display_id)
            self._note_truncated(self.over_note)  # after the text it cuts
            return
        else:
            if room:
                self._note_truncated(self.over_note)
            else:
                self.note_too_many()
            extend = None
            # Keep what grading depends on: errors, stderr and results, shortened.
            if out.output_type == "error":
                out.traceback = [line[-KEPT_TEXT:] for line in out.traceback[-20:]]
            elif out.output_type == "execute_result":
                out.data = {k: v[:KEPT_TEXT] if isinstance(v, str) else v
                            for k, v in out.data.items() if len(json.dumps(v)) <= KEPT_TEXT
                            or isinstance(v, str)}
            elif out.output_type == "stream" and out.name == "stderr":
                if any(o.output_type == "stream" and o.name == "stderr" and
                       o.text.endswith("[stderr truncated]\n") for o in self.cell.outputs):
                    return
                out.text = out.text[:200] + "\n[stderr truncated]\n"
            else:
                return
        self._append(out, extend, display_id)

    def _append(self, out: NotebookNode, extend: NotebookNode | None,
                display_id: str | None) -> None:
        if extend is not None:
            extend.text += out.text
            return
        if display_id:
            self.display_ids.setdefault(display_id, []).append(len(self.cell.outputs))
        self.cell.outputs.append(out)

    def note_too_many(self) -> None:
        """Say that the cell made more outputs than are kept (the kernel's reply told us)."""
        self._note_truncated(f"this cell produced more than {self.max_outputs} outputs")

    def _note_truncated(self, why: str) -> None:
        if not self.truncated:
            self.truncated = True
            self.cell.outputs.append(nbformat.v4.new_output(
                "stream", name="stdout", text=f"\n[output truncated: {why}]\n"))
