"""A small planted class for the similarity tests: 04_loss_functions answered by hand.

Three students answer four exercises independently (different code, each correct), one hands
in a disguised copy of ben's answers (other variable names, other comments, blank lines, two
statements swapped), two hand in the released copy untouched, and one file is corrupt.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

from autograding.course.release import COURSE_ROOT
from autograding.similarity.cells import released_copy

ASSIGNMENT = "04_loss_functions"
MASTER = COURSE_ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"

ANA = {
    "huber_loss": """\
    r = _residual(y_hat, y).abs()
    return torch.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))""",
    "quantile_loss": """\
    u = -_residual(y_hat, y)
    return torch.maximum(gamma * u, (gamma - 1) * u)""",
    "best_constant": """\
    y = y.reshape(-1)
    candidates = torch.linspace(y.min().item(), y.max().item(), num_candidates)
    grid = candidates.reshape(-1, 1).expand(-1, len(y))
    mean_losses = loss(grid, y.expand(num_candidates, -1)).mean(dim=1)
    return candidates[mean_losses.argmin()].item()""",
    "fit_line": """\
    w = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    trainer = torch.optim.Adam([w, b], lr=lr)
    for epoch in range(num_epochs):
        trainer.param_groups[0]["lr"] = lr * (1 - epoch / num_epochs)
        value = loss(x * w + b, y).mean()
        trainer.zero_grad()
        value.backward()
        trainer.step()
    return w.item(), b.item()""",
}

BEN = {
    "huber_loss": """\
    out = []
    for r in _residual(y_hat, y).reshape(-1):
        if r.abs() <= delta:
            out.append(0.5 * r * r)
        else:
            out.append(delta * (r.abs() - 0.5 * delta))
    return torch.stack(out).reshape(y_hat.shape)""",
    "quantile_loss": """\
    u = y.reshape(y_hat.shape) - y_hat
    return torch.where(u >= 0, gamma * u, (gamma - 1) * u)""",
    "best_constant": """\
    y = y.flatten()
    lo, hi = y.min().item(), y.max().item()
    best_c, best_value = lo, float("inf")
    for k in range(num_candidates):
        c = lo + (hi - lo) * k / (num_candidates - 1)
        value = loss(torch.full_like(y, c), y).mean().item()
        if value < best_value:
            best_c, best_value = c, value
    return best_c""",
    "fit_line": """\
    theta = torch.zeros(2, requires_grad=True)
    for epoch in range(num_epochs):
        step = lr * (1 - epoch / num_epochs)  # shrink the step
        value = loss(theta[0] * x + theta[1], y).mean()
        (grad,) = torch.autograd.grad(value, theta)
        with torch.no_grad():
            theta -= step * grad
    return theta[0].item(), theta[1].item()""",
}

# ben's answers, disguised: renamed, recommented, spread out, two statements swapped.
DAN = {
    "huber_loss": """\
    # collect one loss per residual
    values = []

    for res in _residual(y_hat, y).reshape(-1):
        # quadratic part
        if res.abs() <= delta:
            values.append(0.5 * res * res)

        else:  # linear part
            values.append(delta * (res.abs() - 0.5 * delta))

    return torch.stack(values).reshape(y_hat.shape)""",
    "quantile_loss": """\
    diff = y.reshape(y_hat.shape) - y_hat

    return torch.where(diff >= 0, gamma * diff, (gamma - 1) * diff)""",
    "best_constant": """\
    y = y.flatten()
    low, high = y.min().item(), y.max().item()
    answer, smallest = low, float("inf")

    # try every candidate on the grid
    for i in range(num_candidates):
        const = low + (high - low) * i / (num_candidates - 1)
        score = loss(torch.full_like(y, const), y).mean().item()
        if score < smallest:
            answer, smallest = const, score
    return answer""",
    "fit_line": """\
    params = torch.zeros(2, requires_grad=True)

    for it in range(num_epochs):
        objective = loss(params[0] * x + params[1], y).mean()
        rate = lr * (1 - it / num_epochs)
        (g,) = torch.autograd.grad(objective, params)

        with torch.no_grad():
            params -= rate * g
    return params[0].item(), params[1].item()""",
}

CHO = {
    "huber_loss": """\
    a = (y_hat - y.reshape(y_hat.shape)).abs()
    quad = torch.clamp(a, max=delta)
    return 0.5 * quad ** 2 + delta * (a - quad)""",
    "quantile_loss": """\
    r = _residual(y_hat, y)
    return gamma * torch.relu(-r) + (1 - gamma) * torch.relu(r)""",
    "best_constant": """\
    flat = y.reshape(-1)
    grid = torch.linspace(float(flat.min()), float(flat.max()), num_candidates)
    losses = torch.stack([loss(c.expand_as(flat), flat).mean() for c in grid])
    return float(grid[torch.argmin(losses)])""",
    "fit_line": """\
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    optimizer = torch.optim.Adam([w, b], lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
    for _ in range(num_epochs):
        optimizer.zero_grad()
        loss(w * x + b, y).mean().backward()
        optimizer.step()
        scheduler.step()
    return float(w), float(b)""",
}

ANSWERS = {"ana": ANA, "ben": BEN, "cho": CHO, "dan": DAN, "eve": {}, "fay": {}}
PLANTED = frozenset({"ben", "dan"})
BLANK = ("eve", "fay")


def student_notebook(answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released copy with these answer cells filled in (the stub replaced)."""
    nb = released_copy(nbformat.read(MASTER, as_version=4), ASSIGNMENT)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            assert STUB in cell.source, grade_id
            cell.source = cell.source.replace(STUB, answers[grade_id])
    return nb


def write_class(submitted: Path) -> dict[str, Path]:
    """Write the planted class into `submitted`; returns {student: notebook path}."""
    paths = {}
    for student, answers in ANSWERS.items():
        path = submitted / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_notebook(answers), path)
        paths[student] = path
    corrupt = submitted / "zed" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b'{"cells": [{"cell_type": "code", "source": ')
    paths["zed"] = corrupt
    return paths


def without_metadata(nb: nbformat.NotebookNode) -> dict:
    """The notebook as an editor that drops cell metadata saves it (plain JSON)."""
    raw = json.loads(nbformat.writes(copy.deepcopy(nb)))
    for cell in raw["cells"]:
        cell["metadata"] = {}
    return raw
