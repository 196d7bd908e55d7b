"""Notebooks as a job carries them (engine.workers.notebook_json / notebook_from_json)."""

import json

import nbformat
import nbformat.v4 as v4

from autograding.engine.workers import notebook_from_json, notebook_json


def test_a_notebook_comes_back_as_nbformat_reads_gives_it():
    nb = v4.new_notebook(cells=[v4.new_code_cell("a = 1\nb = 2"), v4.new_markdown_cell("*x*")])
    nb.cells[0].outputs = [v4.new_output("stream", name="stdout", text="one\ntwo\n"),
                           v4.new_output("display_data", data={"text/plain": "p\nq"})]
    for text in (notebook_json(nb), nbformat.writes(nb)):  # ours, and lines as lists (a file)
        back = notebook_from_json(text)
        assert back == nbformat.reads(nbformat.writes(nb), as_version=4)
        assert back.cells[0].source == "a = 1\nb = 2" and back.cells[0].outputs[0].text == \
            "one\ntwo\n"
        assert back.cells[1].source == "*x*" and isinstance(back.cells[0], dict)


def test_the_json_keeps_text_as_it_is():
    nb = v4.new_notebook(cells=[v4.new_code_cell("print('é')")])
    assert json.loads(notebook_json(nb))["cells"][0]["source"] == "print('é')"
