"""The score-distribution plot: per assignment and graded cell, full, partial and zero scores."""

from __future__ import annotations

import io
from pathlib import Path


def distribution(db_url: str) -> dict[str, tuple[dict, int, int]]:
    """{assignment: ({cell label: [(score, max score) per submission]}, handed in, missing)}
    for the assignments that have rows (module docstring): a missing row is counted as
    missing, never as a zero."""
    from nbgrader.api import Gradebook

    from autograding.grading.gradebook import ANY_COURSE

    data = {}
    with Gradebook(db_url, ANY_COURSE) as gb:
        students = len(gb.students)
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            per_cell = {}
            for submission in assignment.submissions:
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        label = f"{grade.cell.name} ({float(grade.max_score):g} pt)"
                        per_cell.setdefault(label, []).append(
                            (float(grade.score), float(grade.max_score)))
            if per_cell:
                handed_in = len(assignment.submissions)
                data[assignment.name] = (dict(sorted(per_cell.items())), handed_in,
                                         students - handed_in)
    return data


def warm_plot() -> None:
    """Import matplotlib (Agg) and load its fonts: a batch does it while its first notebooks
    run (BatchHooks.warm_ups), not after the last one, when the plot is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    fig.text(0.5, 0.5, "0 pt")
    fig.savefig(io.BytesIO(), format="png", dpi=20)
    plt.close(fig)


def plot_distribution(path: Path, db_url: str) -> Path | None:
    """PNG with, per assignment, how many submissions got full, partial or zero points on each
    graded cell, and how many students handed it in; None when nothing was graded yet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counted = distribution(db_url)
    data = {name: cells for name, (cells, _, _) in counted.items()}
    if not data:
        return None
    fig, axes = plt.subplots(len(data), 1, squeeze=False,
                             figsize=(8, 1.2 + sum(0.35 * len(c) + 0.8 for c in data.values())),
                             gridspec_kw={"height_ratios": [len(c) + 1 for c in data.values()]})
    colors = {"full": "#2e7d32", "partial": "#f9a825", "zero": "#c62828"}
    for ax, (assignment, cells) in zip(axes[:, 0], data.items(), strict=True):
        names = list(cells)
        counts = {k: [] for k in colors}
        for name in names:
            scores = cells[name]
            full = sum(1 for s, m in scores if m > 0 and s >= m)
            zero = sum(1 for s, m in scores if s <= 0)
            counts["full"].append(full)
            counts["zero"].append(zero)
            counts["partial"].append(len(scores) - full - zero)
        left = [0] * len(names)
        for kind, color in colors.items():
            ax.barh(names, counts[kind], left=left, color=color, label=kind)
            left = [a + b for a, b in zip(left, counts[kind], strict=True)]
        ax.invert_yaxis()
        _, handed_in, missing = counted[assignment]
        ax.set_title(f"{assignment}: {handed_in} handed in, {missing} missing", fontsize=10,
                     loc="left")
        ax.set_xlabel("submissions")
        ax.tick_params(axis="y", labelsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Score distribution per graded cell", x=0.02, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    from autograding.grading.files import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, buffer.getvalue())
    return path
