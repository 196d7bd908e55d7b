"""Notebooks that flood their output (a million printed lines; 100,000 `display()` calls), each
run by a stock kernel (nbclient, as plain nbgrader runs it) and by the grader's kernel
(autograding.engine.executor), side by side in one run.

Prints, for each: the seconds the flooding cell took inside the kernel, and the wall time of
the whole notebook (the grader's fork-server is warmed up first, untimed, as it is after the
first notebook of a batch).
Usage: .venv/bin/python bench/bench_output_flood.py [--lines N] [--displays N]
"""

import argparse
import time

import nbformat
from nbclient import NotebookClient

from autograding.engine.executor import execute_notebook

FLOODS = {
    "printed lines": "print('spam', _i)",
    "display() calls": "display(_i)",
}
FLOOD = ("import time\n_started = time.perf_counter()\nfor _i in range({count}):\n"
         "    {statement}\nflood_seconds = time.perf_counter() - _started")
REPORT = "print('FLOOD', flood_seconds)"


def flood_notebook(count: int, statement: str = FLOODS["printed lines"]):
    """Two cells: the flood, then one line reporting how long the flood took in the kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(FLOOD.format(count=count, statement=statement)),
                nbformat.v4.new_code_cell(REPORT)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def kernel_seconds(nb) -> float:
    """The flood's duration as the kernel measured it (the report cell's output)."""
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    return float(text.split("FLOOD", 1)[1])


def main(argv=None) -> None:
    """Run each flood both ways."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines printed (1e6)")
    parser.add_argument("--displays", type=int, default=100_000,
                        help="display() calls (1e5)")
    args = parser.parse_args(argv)
    execute_notebook(flood_notebook(10))  # start the fork-server (imports torch): not timed
    for what, count in [("printed lines", args.lines), ("display() calls", args.displays)]:
        compare(what, count)


def compare(what: str, count: int) -> None:
    """Run one flood both ways and print the times and ratios."""
    started = time.monotonic()
    stock = NotebookClient(flood_notebook(count, FLOODS[what]), timeout=600).execute()
    stock_wall = time.monotonic() - started
    started = time.monotonic()
    graded = execute_notebook(flood_notebook(count, FLOODS[what])).notebook
    graded_wall = time.monotonic() - started

    stock_kernel, graded_kernel = kernel_seconds(stock), kernel_seconds(graded)
    print(f"{count:,} {what}")
    print(f"  stock kernel (nbclient):  {stock_kernel:6.2f} s in the kernel, "
          f"{stock_wall:6.2f} s for the notebook")
    print(f"  grading kernel:           {graded_kernel:6.2f} s in the kernel, "
          f"{graded_wall:6.2f} s for the notebook")
    print(f"  ratio: {stock_kernel / graded_kernel:.1f}x in the kernel, "
          f"{stock_wall / graded_wall:.1f}x for the notebook")


if __name__ == "__main__":
    main()
