"""How planted copies rank against independent work in `python -m autograding similarity`.

For three assignments (02_linreg_scratch, 04_loss_functions, 05_mse_gradients) this builds a
class from the released student copies: independent students, each answering every exercise
with one of four correct answers written for this bench (the master's and three genuinely
different ones: loops against vectorized code, other library calls, other structure), drawn at
random per student and exercise; a blank hand-in (the stub); a corrupt file; and planted
copies, each of one independent student, disguised by renamed variables, rewritten comments,
blank lines, reordered functions and statements, or all of these at once.

It then scores every pair as the command does and reports, per assignment and per noise
threshold k, where the planted pairs rank: the lowest planted score, the highest independent
score, the gap between them, and whether every planted pair ranks above every independent one.

    .venv/bin/python bench/bench_similarity.py             # the measurement (~10 s)
    .venv/bin/python bench/bench_similarity.py --check     # also run every hand-in's answers
                                                           # against the master's tests (~4 min)
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import tokenize
from itertools import combinations
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograding.course.release import COURSE_ROOT  # noqa: E402
from autograding.similarity.cells import released_copy  # noqa: E402
from autograding.similarity.collect import collect, load_masters  # noqa: E402
from autograding.similarity.detect import (  # noqa: E402
    DEFAULT_NOISE,
    SimilaritySettings,
    compare_assignment,
)

SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$",
                      re.MULTILINE | re.DOTALL)

# Correct answers per exercise: each is the code of the cell's solution region(s) (a list when
# the cell has several), indented by the bench. Index 0 is the master's own answer.
VARIANTS: dict[str, dict[str, list]] = {
    "02_linreg_scratch": {
        "synthetic_data": [
            None,
            """\
            w = torch.as_tensor(w, dtype=torch.float32).flatten()
            features = torch.randn(num_examples, w.numel())
            noise = noise_std * torch.randn(num_examples, 1)
            labels = features @ w.unsqueeze(1) + b + noise
            return features, labels
            """,
            """\
            weights = [float(v) for v in torch.as_tensor(w).reshape(-1)]
            X = torch.empty(num_examples, len(weights)).normal_(0.0, 1.0)
            y = torch.full((num_examples, 1), float(b))
            for j, wj in enumerate(weights):
                y[:, 0] += wj * X[:, j]
            y = y + torch.empty_like(y).normal_(0.0, noise_std)
            return X, y
            """,
            """\
            w_col = torch.as_tensor(w).float().view(-1, 1)
            n_features = w_col.shape[0]
            X = torch.normal(mean=0.0, std=1.0, size=(num_examples, n_features))
            y = torch.addmm(torch.full((num_examples, 1), float(b)), X, w_col)
            y.add_(torch.normal(mean=0.0, std=noise_std, size=y.shape))
            return X, y
            """,
        ],
        "data_iter": [
            None,
            """\
            perm = torch.randperm(len(features))
            for start in range(0, len(perm), batch_size):
                idx = perm[start:start + batch_size]
                yield features[idx], labels[idx]
            """,
            """\
            n = features.shape[0]
            order = random.sample(range(n), n)
            batch = []
            for i in order:
                batch.append(i)
                if len(batch) == batch_size:
                    yield features[batch], labels[batch]
                    batch = []
            if batch:
                yield features[batch], labels[batch]
            """,
            """\
            shuffled = torch.randperm(features.size(0))
            for chunk in torch.split(shuffled, batch_size):
                yield features.index_select(0, chunk), labels.index_select(0, chunk)
            """,
        ],
        "linreg": [
            None,
            "return X @ w + b\n",
            "return (X.unsqueeze(-1) * w.reshape(1, -1, 1)).sum(dim=1) + b\n",
            """\
            y_hat = torch.mm(X, w)
            return y_hat + b
            """,
        ],
        "squared_loss": [
            None,
            """\
            diff = y_hat - y.reshape(-1, 1)
            return 0.5 * diff * diff
            """,
            "return torch.square(y_hat - y.reshape_as(y_hat)) / 2\n",
            "return (y_hat - y.reshape_as(y_hat)).pow(2).div(2)\n",
        ],
        "sgd": [
            None,
            """\
            for p in params:
                with torch.no_grad():
                    p.sub_(lr * p.grad / batch_size)
                p.grad = None
            """,
            """\
            with torch.no_grad():
                step = lr / batch_size
                for tensor in params:
                    tensor.add_(tensor.grad, alpha=-step)
            for tensor in params:
                tensor.grad.zero_()
            """,
            """\
            scale = lr / batch_size
            for param in params:
                param.data -= scale * param.grad.data
                param.grad.data.zero_()
            """,
        ],
        "grad_by_hand": [
            None,
            """\
            y_hat = torch.matmul(X, w) + b
            err = y_hat - y.reshape(-1, 1)
            dw = torch.matmul(X.t(), err)
            db = err.sum(dim=0)
            return dw, db
            """,
            """\
            n = X.shape[0]
            dw = torch.zeros_like(w)
            db = torch.zeros(1, dtype=X.dtype)
            targets = y.reshape(-1)
            for i in range(n):
                r = (X[i] @ w).item() + b.item() - targets[i].item()
                dw[:, 0] += r * X[i]
                db += r
            return dw, db
            """,
            """\
            residual = torch.einsum("ij,jk->ik", X, w) + b - y.reshape(len(y), 1)
            return torch.einsum("ij,ik->jk", X, residual), residual.sum().unsqueeze(0)
            """,
        ],
        "normal_equation": [
            None,
            """\
            A = torch.cat([torch.as_tensor(X).double(),
                           torch.ones(X.shape[0], 1, dtype=torch.float64)], 1)
            target = torch.as_tensor(y).double().view(-1, 1)
            gram = A.t() @ A
            rhs = A.t() @ target
            solution = torch.linalg.inv(gram) @ rhs
            return solution[:-1].clone(), solution[-1:].reshape(1).clone()
            """,
            """\
            X64 = torch.as_tensor(X, dtype=torch.float64)
            y64 = torch.as_tensor(y, dtype=torch.float64).flatten()
            x_mean, y_mean = X64.mean(0), y64.mean()
            Xc, yc = X64 - x_mean, y64 - y64.mean()
            w = torch.linalg.solve(Xc.T @ Xc, Xc.T @ yc).unsqueeze(1)
            b = (y_mean - x_mean @ w[:, 0]).reshape(1)
            return w, b
            """,
            """\
            design = torch.column_stack([torch.as_tensor(X, dtype=torch.float64),
                                         torch.ones(len(X), dtype=torch.float64)])
            labels64 = torch.as_tensor(y, dtype=torch.float64).reshape(len(X), 1)
            factor = torch.linalg.cholesky(design.mT @ design)
            theta = torch.cholesky_solve(design.mT @ labels64, factor)
            d = design.shape[1] - 1
            return theta[:d], theta[d]
            """,
        ],
        "largest_stable_lr": [
            None,
            """\
            Z = torch.as_tensor(X).double()
            Z = Z.reshape(Z.shape[0], -1)
            n = Z.shape[0]
            Z1 = torch.hstack([Z, torch.ones(n, 1, dtype=Z.dtype)])
            if reduction not in ("mean", "sum"):
                raise ValueError("reduction is 'mean' or 'sum'")
            scale = 1.0 / n if reduction == "mean" else 1.0
            top = torch.linalg.eigvalsh(scale * Z1.T @ Z1).max()
            return float(2.0 / top)
            """,
            """\
            rows = torch.as_tensor(X, dtype=torch.float64).reshape(len(X), -1)
            design = torch.cat([rows, rows.new_ones(len(rows), 1)], dim=1)
            # The largest eigenvalue of A^T A is the square of A's largest singular value.
            sigma = torch.linalg.svdvals(design)[0].item()
            curvature = sigma ** 2 / (len(rows) if reduction == "mean" else 1)
            if reduction not in {"mean", "sum"}:
                raise ValueError(reduction)
            return 2 / curvature
            """,
            """\
            A = torch.as_tensor(X, dtype=torch.float64).reshape(len(X), -1)
            A = torch.nn.functional.pad(A, (0, 1), value=1.0)
            H = A.T @ A / (len(A) if reduction == "mean" else 1)
            if reduction != "mean" and reduction != "sum":
                raise ValueError(f"unknown reduction {reduction}")
            v = torch.ones(H.shape[0], 1, dtype=torch.float64)
            for _ in range(500):  # power iteration: H is symmetric positive semi-definite
                v = H @ v
                v = v / v.norm()
            return 2.0 / float(v.T @ H @ v)
            """,
        ],
        "newton_step": [
            None,
            """\
            Xd = torch.as_tensor(X).double().reshape(len(X), -1)
            yd = torch.as_tensor(y).double().reshape(-1)
            wd = torch.as_tensor(w).double().reshape(-1)
            bd = torch.as_tensor(b).double().reshape(-1)
            A = torch.cat([Xd, torch.ones(len(Xd), 1, dtype=torch.float64)], 1)
            r = A @ torch.cat([wd, bd]) - yd
            step = torch.linalg.lstsq(A, r.unsqueeze(1)).solution.reshape(-1)
            theta = torch.cat([wd, bd]) - step
            return theta[:-1].reshape(-1, 1), theta[-1:].clone()
            """,
            """\
            X = torch.as_tensor(X, dtype=torch.float64).reshape(len(X), -1)
            y = torch.as_tensor(y, dtype=torch.float64).reshape(-1, 1)
            w = torch.as_tensor(w, dtype=torch.float64).reshape(-1, 1).clone().requires_grad_()
            b = torch.as_tensor(b, dtype=torch.float64).reshape(1).clone().requires_grad_()

            def loss_of(theta):
                return ((X @ theta[:-1].unsqueeze(1) + theta[-1] - y) ** 2).mean() / 2

            theta = torch.cat([w.detach().reshape(-1), b.detach()])
            grad = torch.autograd.functional.jacobian(loss_of, theta)
            hess = torch.autograd.functional.hessian(loss_of, theta)
            theta = theta - torch.linalg.solve(hess, grad)
            return theta[:-1].reshape(-1, 1), theta[-1:]
            """,
            """\
            n = len(X)
            A = torch.ones(n, torch.as_tensor(X).reshape(n, -1).shape[1] + 1, dtype=torch.float64)
            A[:, :-1] = torch.as_tensor(X, dtype=torch.float64).reshape(n, -1)
            theta = torch.ones(A.shape[1], 1, dtype=torch.float64)
            theta[:-1, 0] = torch.as_tensor(w, dtype=torch.float64).reshape(-1)
            theta[-1, 0] = torch.as_tensor(b, dtype=torch.float64).reshape(-1)[0]
            residual = A @ theta - torch.as_tensor(y, dtype=torch.float64).reshape(n, 1)
            newton = torch.linalg.solve(A.T @ A, A.T @ residual)  # the 1/n cancels
            theta = theta - newton
            return theta[:-1], theta[-1]
            """,
        ],
    },
    "04_loss_functions": {
        "absolute_loss": [
            None,
            "return torch.abs(y_hat - y.reshape(y_hat.shape))\n",
            """\
            r = _residual(y_hat, y)
            return torch.where(r >= 0, r, -r)
            """,
            'return nn.functional.l1_loss(y_hat, y.reshape(y_hat.shape), reduction="none")\n',
        ],
        "huber_loss": [
            None,
            """\
            r = _residual(y_hat, y)
            small = r.abs() <= delta
            return small * (r ** 2 / 2) + (~small) * delta * (r.abs() - delta / 2)
            """,
            """\
            a = (y_hat - y.reshape(y_hat.shape)).abs()
            quad = torch.clamp(a, max=delta)
            lin = a - quad
            return 0.5 * quad ** 2 + delta * lin
            """,
            """\
            out = []
            for r in _residual(y_hat, y).reshape(-1):
                if r.abs() <= delta:
                    out.append(0.5 * r * r)
                else:
                    out.append(delta * (r.abs() - 0.5 * delta))
            return torch.stack(out).reshape(y_hat.shape)
            """,
        ],
        "log_cosh_loss": [
            None,
            """\
            a = _residual(y_hat, y).abs()
            return a + torch.log1p(torch.exp(-2 * a)) - math.log(2)
            """,
            """\
            r = _residual(y_hat, y)
            return torch.logaddexp(r, -r) - math.log(2.0)
            """,
            """\
            r = (y_hat - y.reshape(y_hat.shape)).abs()
            big = r > 20
            safe = torch.where(big, torch.zeros_like(r), r)
            return torch.where(big, r - math.log(2.0), torch.log(torch.cosh(safe)))
            """,
        ],
        "quantile_loss": [
            None,
            """\
            u = y.reshape(y_hat.shape) - y_hat
            return torch.where(u >= 0, gamma * u, (gamma - 1) * u)
            """,
            """\
            u = -_residual(y_hat, y)
            return u * (gamma - (u < 0).float())
            """,
            """\
            r = _residual(y_hat, y)
            return gamma * torch.relu(-r) + (1 - gamma) * torch.relu(r)
            """,
        ],
        "best_constant": [
            None,
            """\
            y = y.flatten()
            lo, hi = y.min().item(), y.max().item()
            best_c, best_value = lo, float("inf")
            for k in range(num_candidates):
                c = lo + (hi - lo) * k / (num_candidates - 1)
                value = loss(torch.full_like(y, c), y).mean().item()
                if value < best_value:
                    best_c, best_value = c, value
            return best_c
            """,
            """\
            flat = y.reshape(-1)
            grid = torch.linspace(float(flat.min()), float(flat.max()), num_candidates)
            losses = torch.stack([loss(c.expand_as(flat), flat).mean() for c in grid])
            return float(grid[torch.argmin(losses)])
            """,
            """\
            y = y.reshape(1, -1)
            c = torch.linspace(y.min().item(), y.max().item(), num_candidates).unsqueeze(1)
            scores = loss(c.expand(-1, y.shape[1]), y.expand(num_candidates, -1)).mean(dim=1)
            return c[scores.argmin(), 0].item()
            """,
        ],
        "fit_line": [
            None,
            """\
            params = torch.zeros(2, requires_grad=True)
            opt = torch.optim.Adam([params], lr=lr)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / num_epochs)
            for _ in range(num_epochs):
                opt.zero_grad()
                loss(params[0] * x + params[1], y).mean().backward()
                opt.step()
                sched.step()
            return params[0].item(), params[1].item()
            """,
            """\
            w = torch.tensor(0.0, requires_grad=True)
            b = torch.tensor(0.0, requires_grad=True)
            optimizer = torch.optim.Adam([w, b], lr=lr)
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
            for step in range(num_epochs):
                objective = loss(w * x + b, y).mean()
                optimizer.zero_grad()
                objective.backward()
                optimizer.step()
                scheduler.step()
            return float(w), float(b)
            """,
            """\
            theta = torch.zeros(2, requires_grad=True)
            for epoch in range(num_epochs):
                step = lr * (1 - epoch / num_epochs)
                value = loss(theta[0] * x + theta[1], y).mean()
                (grad,) = torch.autograd.grad(value, theta)
                with torch.no_grad():
                    theta -= step * grad
            return theta[0].item(), theta[1].item()
            """,
        ],
        "quantile_interval": [
            None,
            [
                """\
                fits = []
                for gamma in (low, high):
                    fits.append(fit_line(x, y, lambda a, b, g=gamma: quantile_loss(a, b, g)))
                return fits[0], fits[1]
                """,
                """\
                lo_w, lo_b = lower
                hi_w, hi_b = upper
                above = y >= lo_w * x + lo_b
                below = y <= hi_w * x + hi_b
                return (above & below).sum().item() / y.numel()
                """,
            ],
            [
                """\
                def pinball(gamma):
                    return lambda y_hat, target: quantile_loss(y_hat, target, gamma)

                return fit_line(x, y, pinball(low)), fit_line(x, y, pinball(high))
                """,
                """\
                count = 0
                for xi, yi in zip(x.reshape(-1).tolist(), y.reshape(-1).tolist()):
                    if lower[0] * xi + lower[1] <= yi <= upper[0] * xi + upper[1]:
                        count += 1
                return count / len(x)
                """,
            ],
            [
                """\
                lines = {q: fit_line(x, y, lambda a, t, q=q: quantile_loss(a, t, q))
                         for q in (low, high)}
                return lines[low], lines[high]
                """,
                """\
                x, y = x.reshape(-1), y.reshape(-1)
                bottom = lower[0] * x + lower[1]
                top = upper[0] * x + upper[1]
                return torch.logical_and(bottom <= y, y <= top).double().mean().item()
                """,
            ],
        ],
    },
    "05_mse_gradients": {
        "mse-by-hand": [
            None,
            """\
            total = Fraction(0)
            count = 0
            for row_x, row_y in zip(X, Y):
                for x, y in zip(row_x, row_y):
                    total += (Fraction(x) - Fraction(y)) ** 2
                    count += 1
            if reduction == "mean":
                return total / count
            elif reduction == "sum":
                return total
            else:
                raise ValueError("unknown reduction " + str(reduction))
            """,
            """\
            squares = [(Fraction(a) - Fraction(b)) ** 2
                       for a, b in zip(sum(map(list, X), []), sum(map(list, Y), []))]
            if reduction not in ("mean", "sum"):
                raise ValueError(reduction)
            total = sum(squares, Fraction(0))
            return total if reduction == "sum" else total / len(squares)
            """,
            """\
            flat = [(Fraction(x), Fraction(y)) for rx, ry in zip(X, Y) for x, y in zip(rx, ry)]
            s = Fraction(0)
            for x, y in flat:
                diff = x - y
                s += diff * diff
            return {"sum": s, "mean": s / len(flat)}[reduction]
            """,
        ],
        "mse-grad-by-hand": [
            None,
            """\
            n = sum(len(r) for r in X)
            factor = Fraction(2, n) if reduction == "mean" else Fraction(2)
            grad = []
            for row_x, row_y in zip(X, Y):
                grad.append([factor * (Fraction(a) - Fraction(b)) for a, b in zip(row_x, row_y)])
            return grad
            """,
            """\
            rows = [[Fraction(a) - Fraction(b) for a, b in zip(rx, ry)] for rx, ry in zip(X, Y)]
            count = len(rows) * len(rows[0])
            if reduction == "sum":
                return [[2 * d for d in row] for row in rows]
            return [[Fraction(2, count) * d for d in row] for row in rows]
            """,
            """\
            result = []
            size = 0
            for row in X:
                size += len(row)
            for i in range(len(X)):
                line = []
                for j in range(len(X[i])):
                    g = 2 * (Fraction(X[i][j]) - Fraction(Y[i][j]))
                    if reduction == "mean":
                        g = g / size
                    line.append(g)
                result.append(line)
            return result
            """,
        ],
        "autograd-x-grad": [
            None,
            """\
            inputs = torch.tensor(X, dtype=torch.float64).requires_grad_(True)
            targets = torch.tensor(Y, dtype=torch.float64)
            loss = nn.functional.mse_loss(inputs, targets, reduction=reduction)
            (grad,) = torch.autograd.grad(loss, inputs)
            return grad
            """,
            """\
            x = torch.as_tensor(X, dtype=torch.float64).clone().requires_grad_()
            criterion = nn.MSELoss(reduction=reduction)
            criterion(x, torch.as_tensor(Y, dtype=torch.float64)).backward()
            return x.grad.detach()
            """,
            """\
            leaf = torch.tensor([[float(v) for v in row] for row in X], dtype=torch.float64,
                                requires_grad=True)
            target = torch.tensor([[float(v) for v in row] for row in Y], dtype=torch.float64)
            diff = leaf - target
            total = (diff ** 2).sum()
            if reduction == "mean":
                total = total / diff.numel()
            total.backward()
            return leaf.grad
            """,
        ],
        "linear-batch-grads": [
            None,
            """\
            B = len(X)
            w = list(map(Fraction, w))
            b = Fraction(b)
            preds = [sum((Fraction(xj) * wj for xj, wj in zip(row, w)), Fraction(0)) + b
                     for row in X]
            res = [p - Fraction(t) for p, t in zip(preds, y)]
            loss = sum(r ** 2 for r in res) / B
            w_grad = []
            for j in range(len(w)):
                w_grad.append(2 * sum(r * Fraction(row[j]) for r, row in zip(res, X)) / B)
            b_grad = 2 * sum(res) / B
            return loss, w_grad, b_grad
            """,
            """\
            n = len(X)
            d = len(w)
            w_grad = [Fraction(0)] * d
            b_grad = Fraction(0)
            loss = Fraction(0)
            for i in range(n):
                r = Fraction(b) - Fraction(y[i])
                for j in range(d):
                    r += Fraction(X[i][j]) * Fraction(w[j])
                loss += r * r
                for j in range(d):
                    w_grad[j] += 2 * r * Fraction(X[i][j])
                b_grad += 2 * r
            return loss / n, [g / n for g in w_grad], b_grad / n
            """,
            """\
            wf = [Fraction(v) for v in w]
            bf = Fraction(b)
            errors = []
            for features, label in zip(X, y):
                guess = bf
                for xj, wj in zip(features, wf):
                    guess += Fraction(xj) * wj
                errors.append(guess - Fraction(label))
            size = len(errors)
            loss = sum(e * e for e in errors) / size
            w_grad = [sum(2 * e * Fraction(f[j]) for e, f in zip(errors, X)) / size
                      for j in range(len(wf))]
            b_grad = sum(2 * e for e in errors) / size
            return loss, w_grad, b_grad
            """,
        ],
        "sgd-step-exact": [
            None,
            """\
            step = Fraction(lr)
            new_w = [Fraction(a) - step * Fraction(g) for a, g in zip(w, w_grad)]
            return new_w, Fraction(b) - step * Fraction(b_grad)
            """,
            """\
            new_w = []
            for i in range(len(w)):
                new_w.append(Fraction(w[i]) - Fraction(lr) * Fraction(w_grad[i]))
            new_b = Fraction(b) - Fraction(lr) * Fraction(b_grad)
            return new_w, new_b
            """,
            """\
            rate = Fraction(lr)
            updated = list(map(lambda p: Fraction(p[0]) - rate * Fraction(p[1]), zip(w, w_grad)))
            return updated, Fraction(b) - rate * Fraction(b_grad)
            """,
        ],
        "sgd-epoch-exact": [
            None,
            """\
            order = list(order)
            history = []
            i = 0
            while i < len(order):
                batch = order[i:i + batch_size]
                Xb = [features[k] for k in batch]
                yb = [labels[k] for k in batch]
                grads = linear_batch_grads(Xb, yb, w, b)
                w, b = sgd_step_exact(w, b, grads[1], grads[2], lr)
                history.append((w, b))
                i += batch_size
            return history
            """,
            """\
            idx = list(order)
            batches = [idx[s:s + batch_size] for s in range(0, len(idx), batch_size)]
            result = []
            for batch in batches:
                X_b = [features[j] for j in batch]
                y_b = [labels[j] for j in batch]
                _, gw, gb = linear_batch_grads(X_b, y_b, w, b)
                w, b = sgd_step_exact(w, b, gw, gb, lr)
                result.append((w, b))
            return result
            """,
            """\
            rows = list(order)
            steps, X_batch, y_batch = [], [], []
            for position, row in enumerate(rows, start=1):
                X_batch.append(features[row])
                y_batch.append(labels[row])
                if len(X_batch) == batch_size or position == len(rows):
                    _, w_grad, b_grad = linear_batch_grads(X_batch, y_batch, w, b)
                    w, b = sgd_step_exact(w, b, w_grad, b_grad, lr)
                    steps.append((w, b))
                    X_batch, y_batch = [], []
            return steps
            """,
        ],
        "hessian-exact": [
            None,
            """\
            B = len(X)
            A = [list(map(Fraction, row)) + [Fraction(1)] for row in X]
            H = []
            for j in range(len(A[0])):
                H.append([])
                for k in range(len(A[0])):
                    total = Fraction(0)
                    for row in A:
                        total += row[j] * row[k]
                    H[j].append(2 * total / B)
            return H
            """,
            """\
            columns = list(zip(*[[Fraction(v) for v in row] for row in X]))
            columns.append(tuple(Fraction(1) for _ in X))
            return [[Fraction(2, len(X)) * sum(a * c for a, c in zip(col_j, col_k))
                     for col_k in columns] for col_j in columns]
            """,
            """\
            n = len(X)
            d = len(X[0]) + 1
            H = [[Fraction(0)] * d for _ in range(d)]
            for row in X:
                a = [Fraction(v) for v in row] + [Fraction(1)]
                for j in range(d):
                    for k in range(j, d):
                        H[j][k] += Fraction(2, n) * a[j] * a[k]
            for j in range(d):
                for k in range(j):
                    H[j][k] = H[k][j]
            return H
            """,
        ],
        "epoch-matrix": [
            None,
            """\
            eta = Fraction(lr)
            first = hessian_exact([SIX_FEATURES[i] for i in SIX_BATCH_ORDER[:3]])
            second = hessian_exact([SIX_FEATURES[i] for i in SIX_BATCH_ORDER[3:]])
            d = len(first)
            S1 = [[(1 if r == c else 0) - eta * first[r][c] for c in range(d)] for r in range(d)]
            S2 = [[(1 if r == c else 0) - eta * second[r][c] for c in range(d)] for r in range(d)]
            M = [[Fraction(0)] * d for _ in range(d)]
            for r in range(d):
                for c in range(d):
                    for m in range(d):
                        M[r][c] += S2[r][m] * S1[m][c]
            return M
            """,
            """\
            rate = Fraction(lr)

            def minus_lr_h(rows):
                H = hessian_exact([SIX_FEATURES[i] for i in rows])
                n = len(H)
                return [[Fraction(j == k) - rate * H[j][k] for k in range(n)] for j in range(n)]

            def matmul(P, Q):
                return [[sum(p * q for p, q in zip(row, col)) for col in zip(*Q)] for row in P]

            return matmul(minus_lr_h(SIX_BATCH_ORDER[3:]), minus_lr_h(SIX_BATCH_ORDER[:3]))
            """,
            """\
            halves = [SIX_BATCH_ORDER[:3], SIX_BATCH_ORDER[3:]]
            size = len(SIX_FEATURES[0]) + 1
            M = [[Fraction(int(j == k)) for k in range(size)] for j in range(size)]
            for rows in halves:  # each step multiplies on the left
                H = hessian_exact([SIX_FEATURES[i] for i in rows])
                step = [[Fraction(int(j == k)) - Fraction(lr) * H[j][k] for k in range(size)]
                        for j in range(size)]
                M = [[sum(step[j][m] * M[m][k] for m in range(size)) for k in range(size)]
                     for j in range(size)]
            return M
            """,
        ],
    },
}
ASSIGNMENTS = tuple(VARIANTS)
DISGUISES = ("renamed", "comments", "blank_lines", "reordered", "all")


# ---- building answers -------------------------------------------------------------------


def fill_cell(master_source: str, bodies) -> str:
    """The master cell with its solution region(s) replaced by `bodies` (None: the master's)."""
    if bodies is None:
        return re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", master_source,
                      flags=re.MULTILINE).rstrip() + "\n"
    bodies = iter([bodies] if isinstance(bodies, str) else bodies)
    return SOLUTION.sub(lambda m: textwrap.indent(textwrap.dedent(next(bodies)).rstrip(),
                                                  m.group(1)), master_source).rstrip() + "\n"


def _function_args(tree) -> set[str]:
    """Every parameter name of every function and lambda in the tree."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.Lambda):
            args = node.args
            names |= {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
            names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    return names


def rename_locals(source: str, rng: random.Random) -> str:
    """Rename the variables a cell assigns inside its functions (not parameters)."""
    tree = ast.parse(source)
    local = set()
    for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(func):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                local.add(node.id)
    local -= _function_args(tree) | {"_"}
    words = ["tmp", "val", "res", "acc", "part", "cur", "thing", "stuff", "out", "data"]
    mapping = {name: f"{rng.choice(words)}_{i}" for i, name in enumerate(sorted(local))}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    lines = source.splitlines(keepends=True)
    depth, edits = 0, []
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if tok.type != tokenize.NAME or tok.string not in mapping:
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if before is not None and before.string == ".":
            continue
        if depth and after is not None and after.string == "=":  # a keyword argument
            continue
        edits.append((tok.start, tok.end, mapping[tok.string]))
    for (row, col), (_, end), new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[end:]
    return "".join(lines)


def _statement_lines(source: str) -> list[int]:
    """1-based first lines of the statements inside function bodies."""
    tree = ast.parse(source)
    found = set()
    for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(func):
            if isinstance(node, ast.stmt) and node is not func and not (
                    isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
                found.add(node.lineno)
    return sorted(found)


def rewrite_comments(source: str, rng: random.Random) -> str:
    """Drop every comment and add new ones above some statements."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    lines = source.splitlines(keepends=True)
    for tok in reversed([t for t in tokens if t.type == tokenize.COMMENT]):
        row, col = tok.start
        line = lines[row - 1]
        lines[row - 1] = (line[:col].rstrip() + "\n") if line[:col].strip() else "\n"
    source = "".join(lines)
    phrases = ["compute the result", "main step", "loop over the data", "as in the lecture",
               "see exercise text", "careful with shapes", "TODO check", "works"]
    lines = source.splitlines(keepends=True)
    for number in reversed(_statement_lines(source)):
        if rng.random() < 0.5:
            line = lines[number - 1]
            indent = line[:len(line) - len(line.lstrip())]
            lines.insert(number - 1, f"{indent}# {rng.choice(phrases)}\n")
    return "".join(lines)


def add_blank_lines(source: str, rng: random.Random) -> str:
    """Blank lines between statements, and trailing spaces here and there."""
    lines = source.splitlines(keepends=True)
    for number in reversed(_statement_lines(source)):
        lines.insert(number - 1, "\n" * rng.randint(1, 2))
    return "".join(lines)


def _names(node) -> tuple[set[str], set[str]]:
    """(assigned, used) names of one statement."""
    stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)}
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return stored, used


def reorder(source: str) -> str:
    """Reverse the functions of a cell that has several; swap independent assignments."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    swaps = []
    for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        body, i = func.body, 0
        while i + 1 < len(body):
            one, two = body[i], body[i + 1]
            stored1, used1 = _names(one)
            stored2, used2 = _names(two)
            if (isinstance(one, ast.Assign) and isinstance(two, ast.Assign)
                    and two.lineno == one.end_lineno + 1
                    and not stored1 & used2 and not stored2 & used1):
                swaps.append((one.lineno, one.end_lineno, two.end_lineno))
                i += 2
            else:
                i += 1
    for start, middle, end in sorted(swaps, reverse=True):
        lines[start - 1:end] = lines[middle:end] + lines[start - 1:middle]
    source = "".join(lines)
    tree = ast.parse(source)
    top = tree.body
    if len(top) >= 2 and all(isinstance(n, ast.FunctionDef | ast.ClassDef) for n in top):
        lines = source.splitlines(keepends=True)
        blocks = ["".join(lines[(n.decorator_list[0].lineno if n.decorator_list else n.lineno)
                                - 1:n.end_lineno]).rstrip() + "\n" for n in top]
        source = "\n\n".join(reversed(blocks))
    return source


def disguise(source: str, how: str, rng: random.Random) -> str:
    """A planted copy of one cell."""
    steps = {"renamed": [rename_locals], "comments": [rewrite_comments],
             "blank_lines": [add_blank_lines], "reordered": [lambda s, _: reorder(s)],
             "all": [lambda s, _: reorder(s), rename_locals, rewrite_comments,
                     add_blank_lines]}[how]
    for step in steps:
        source = step(source, rng)
    ast.parse(source)  # a disguise must stay valid Python
    return source


# ---- the class ---------------------------------------------------------------------------


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def build_class(folder: Path, independent: int, seed: int) -> dict:
    """Write submitted/ under `folder`; return {assignment: {"planted": [...], ...}}."""
    rng = random.Random(seed)
    truth = {}
    for assignment, exercises in VARIANTS.items():
        master = nbformat.read(COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb",
                               as_version=4)
        sources = {_grade_id(c): c.source for c in master.cells if _grade_id(c)}
        released = released_copy(master, assignment)
        answers, choices = {}, {}
        for s in range(independent):
            student = f"indep{s:02d}"
            pick = {gid: rng.randrange(len(options)) for gid, options in exercises.items()}
            choices[student] = pick
            answers[student] = {gid: fill_cell(sources[gid], exercises[gid][v])
                                for gid, v in pick.items()}
        planted = []
        originals = rng.sample(sorted(answers), len(DISGUISES))
        for how, original in zip(DISGUISES, originals):
            student = f"copy_{how}"
            answers[student] = {gid: disguise(code, how, rng)
                                for gid, code in answers[original].items()}
            planted.append((original, student, how))
        answers["blank"] = {}  # hands in the released copy untouched
        for student, cells in answers.items():
            nb = released_copy(master, assignment)
            for cell in nb.cells:
                if _grade_id(cell) in cells:
                    cell.source = cells[_grade_id(cell)]
            target = folder / "submitted" / student / assignment / f"{assignment}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
        broken = folder / "submitted" / "corrupt" / assignment / f"{assignment}.ipynb"
        broken.parent.mkdir(parents=True, exist_ok=True)
        broken.write_text('{"cells": [', encoding="utf-8")
        truth[assignment] = {"planted": planted, "choices": choices, "released": released,
                             "answers": answers}
    return truth


# ---- checking that every answer is correct -------------------------------------------------

RUNNER = """
import json, sys
import matplotlib
matplotlib.use("Agg")
cells = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for grade_id, source in cells:
    try:
        exec(compile(source, grade_id or "cell", "exec"), namespace)
    except Exception as err:
        print(f"{grade_id}: {type(err).__name__}: {err}"[:300])
        sys.exit(1)
"""


def check_answers(truth: dict, only=None) -> list[str]:
    """Run each hand-in's answers with the master's other cells (tests included)."""
    failures = []
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    for assignment, info in truth.items():
        if only and assignment not in only:
            continue
        master = nbformat.read(COURSE_ROOT / "source" / assignment / f"{assignment}.ipynb",
                               as_version=4)
        for student, cells in info["answers"].items():
            if not cells:
                continue
            run = [(_grade_id(c), cells.get(_grade_id(c), c.source)) for c in master.cells
                   if c.cell_type == "code"]
            proc = subprocess.run(["nice", sys.executable, "-c", RUNNER],
                                  input=json.dumps(run), capture_output=True, text=True,
                                  cwd=COURSE_ROOT / "source" / assignment, env=env,
                                  timeout=600)
            if proc.returncode:
                failures.append(f"{assignment}/{student}: {proc.stdout.strip()[-300:]} "
                                f"{proc.stderr.strip()[-300:]}")
            print(f"  checked {assignment}/{student}: "
                  f"{failures[-1] if proc.returncode else 'ok'}", flush=True)
    return failures


# ---- the measurement ---------------------------------------------------------------------

SCORES = {"mean": lambda p: p.similarity, "min": lambda p: min(p.share_a, p.share_b),
          "max": lambda p: max(p.share_a, p.share_b)}


def measure(folder: Path, truth: dict, noise: int, score: str = "mean") -> dict:
    """Per assignment: how the planted pairs rank among all pairs, scored as `score`."""
    masters = load_masters(COURSE_ROOT, list(truth))
    found = collect(folder / "submitted", masters)
    result = {}
    for assignment, info in truth.items():
        texts = {s: a.text for s, a in found.answers[assignment].items()}
        pairs, failed = compare_assignment(texts, found.boilerplate[assignment],
                                           SimilaritySettings(noise=noise))
        assert not failed, failed
        planted = {frozenset((a, b)) for a, b, _ in info["planted"]}
        scored = sorted(((SCORES[score](p), frozenset((p.student_a, p.student_b)))
                         for p in pairs), key=lambda item: -item[0])
        planted_scores = [s for s, pair in scored if pair in planted]
        independent = [s for s, pair in scored if pair not in planted]
        ranks = [i + 1 for i, (_, pair) in enumerate(scored) if pair in planted]
        by_disguise = {how: next(SCORES[score](p) for p in pairs
                                 if {p.student_a, p.student_b} == {a, b})
                       for a, b, how in info["planted"]}
        result[assignment] = {
            "students": len(texts), "pairs": len(pairs), "planted": len(planted_scores),
            "planted_min": min(planted_scores), "independent_max": max(independent),
            "independent_mean": sum(independent) / len(independent),
            "gap": min(planted_scores) - max(independent),
            "planted_first": max(ranks) == len(planted_scores), "planted_ranks": ranks,
            "by_disguise": by_disguise, "planted_scores": planted_scores,
            "independent_scores": independent,
            "skipped": [s.student for s in found.skipped if s.assignment == assignment],
        }
    return result


def shared_exercises(truth: dict) -> dict:
    """Per assignment: the most exercises two independent students answered alike."""
    most = {}
    for assignment, info in truth.items():
        choices = info["choices"]
        most[assignment] = max(sum(choices[a][g] == choices[b][g] for g in choices[a])
                               for a, b in combinations(sorted(choices), 2))
    return most


def _table(results: list[dict], noise: int, score: str) -> list[str]:
    """Per assignment over the seeds: worst planted, worst independent, smallest gap."""
    lines = [f"score {score}, k = {noise}:",
             f"  {'assignment':20} {'planted min':>11} {'indep max':>9} {'indep mean':>10} "
             f"{'gap min':>8} {'gap mean':>8}  planted all first"]
    for assignment in results[0]:
        rows = [r[assignment] for r in results]
        gaps = [r["gap"] for r in rows]
        lines.append(
            f"  {assignment:20} {min(r['planted_min'] for r in rows):11.3f} "
            f"{max(r['independent_max'] for r in rows):9.3f} "
            f"{sum(r['independent_mean'] for r in rows) / len(rows):10.3f} "
            f"{min(gaps):8.3f} {sum(gaps) / len(gaps):8.3f}  "
            f"{sum(r['planted_first'] for r in rows)}/{len(rows)} seeds")
    return lines


def _thresholds(results: list[dict]) -> list[str]:
    """How many planted and independent pairs a report threshold would show."""
    planted = [s for r in results for a in r.values() for s in a["planted_scores"]]
    independent = [s for r in results for a in r.values() for s in a["independent_scores"]]
    lines = ["  threshold  planted pairs shown  independent pairs shown"]
    for threshold in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        shown = sum(s >= threshold for s in planted)
        wrong = sum(s >= threshold for s in independent)
        lines.append(f"  {threshold:9.2f}  {shown:>6} of {len(planted):<11} "
                     f"{wrong:>6} of {len(independent)}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8,
                        help="independent students per assignment (default 8)")
    parser.add_argument("--seeds", type=int, default=5,
                        help="classes to build, with random seeds 0..N-1 (default 5)")
    parser.add_argument("--noise", type=int, nargs="+", default=[10, 15, 20, 25, 30],
                        help="noise thresholds k to measure (default 10 15 20 25 30)")
    parser.add_argument("--check", action="store_true",
                        help="first run every hand-in of the first class against the "
                        "master's tests")
    parser.add_argument("--check-only", nargs="+", metavar="ASSIGNMENT",
                        help="with --check: check only these assignments")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    numbers: dict[str, list] = {f"{score} k={noise}": [] for score in SCORES
                                for noise in args.noise}
    start = time.monotonic()
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory(prefix="bench-similarity-") as tmp:
            truth = build_class(Path(tmp), args.students, seed)
            if args.check and seed == 0:
                failures = check_answers(truth, args.check_only)
                print("every hand-in passes the master's tests" if not failures
                      else "FAILED:\n" + "\n".join(failures))
                if failures:
                    return 1
            print(f"seed {seed}: most exercises two independent students answered alike: "
                  + ", ".join(f"{a} {n}/{len(VARIANTS[a])}"
                              for a, n in shared_exercises(truth).items()), flush=True)
            for score in SCORES:
                for noise in args.noise:
                    numbers[f"{score} k={noise}"].append(measure(Path(tmp), truth, noise,
                                                                  score))
    print(f"\n{args.seeds} classes, each per assignment: {args.students} independent "
          f"students, {len(DISGUISES)} planted copies ({', '.join(DISGUISES)}), 1 blank, "
          f"1 corrupt (skipped); {time.monotonic() - start:.0f} s")
    for key, results in numbers.items():
        score, noise = key.split(" k=")
        print("\n" + "\n".join(_table(results, int(noise), score)))
    default = f"mean k={DEFAULT_NOISE}"
    if default in numbers:
        print(f"\n{default} (the command's score): planted pairs by disguise, lowest over "
              "the seeds")
        for assignment in numbers[default][0]:
            print(f"  {assignment}: " + ", ".join(
                f"{how} {min(r[assignment]['by_disguise'][how] for r in numbers[default]):.2f}"
                for how in DISGUISES))
        print("\n".join(_thresholds(numbers[default])))
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
