"""Loss surfaces of the one-feature model y_hat = w x + b and gradient-descent paths on them.

The squared loss of y_hat = w x + b is a quadratic bowl over the plane of (w, b). This module
evaluates it on a grid (`loss_grid`), runs full-batch gradient descent on it (`gd_path`),
gives its curvatures (`curvatures`: the Hessian's eigenvalues, which decide the stable learning
rates) and draws contours with paths (`plot_landscape`), in a view that fits the steps drawn
(`fit_view`); `tidy_log_axis` gives a log axis of losses readable tick labels.

The loss is the squared error of notebooks 03-05 (`nn.MSELoss`): `reduction="mean"` divides
the sum of (w x_i + b - y_i)^2 by n, `reduction="sum"` does not; `halved=True` adds notebook
02's factor 1/2. Everything is computed in float64 with NumPy.
"""

import numpy as np

__all__ = ["curvatures", "first_outside", "fit_view", "gd_path", "hessian", "loss_grid",
           "plot_landscape", "tidy_log_axis"]


def _as_column_data(x, y):
    """x and y as flat float64 arrays of the same length (tensors, lists or arrays)."""
    x = np.asarray(_plain(x), dtype=np.float64).reshape(-1)
    y = np.asarray(_plain(y), dtype=np.float64).reshape(-1)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y need the same positive length, got {len(x)} and {len(y)}")
    return x, y


def _plain(value):
    """A tensor (possibly requiring grad) as a NumPy array; anything else unchanged."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def _scale(n, reduction, halved):
    """The factor in front of sum_i (w x_i + b - y_i)^2."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    return (1.0 / n if reduction == "mean" else 1.0) * (0.5 if halved else 1.0)


def hessian(x, *, reduction="mean", halved=False):
    """The constant 2x2 Hessian of the loss over (w, b): c * 2 [[sum x^2, sum x], [sum x, n]].

    c is 1/n for `reduction="mean"` and 1 for `"sum"`; `halved=True` halves it.
    """
    x = np.asarray(_plain(x), dtype=np.float64).reshape(-1)
    c = 2 * _scale(len(x), reduction, halved)
    return c * np.array([[x @ x, x.sum()], [x.sum(), float(len(x))]])


def curvatures(x, *, reduction="mean", halved=False):
    """The Hessian's eigenvalues (lambda_min, lambda_max): gradient descent with learning rate
    lr multiplies the error along each eigenvector by 1 - lr * lambda, so it is stable for
    lr < 2 / lambda_max and oscillates for 1 / lambda_max < lr < 2 / lambda_max."""
    lam = np.linalg.eigvalsh(hessian(x, reduction=reduction, halved=halved))
    return float(lam[0]), float(lam[-1])


def _minimum(x, y):
    """Least-squares (w*, b*) and the residual sum of squares there."""
    A = np.stack([x, np.ones_like(x)], axis=1)
    theta, *_ = np.linalg.lstsq(A, y, rcond=None)
    rss = float(((A @ theta - y) ** 2).sum())
    return theta, rss


def loss_grid(x, y, w_values, b_values, *, reduction="mean", halved=False):
    """The loss of y_hat = w x + b at every (w, b) of a grid: array L with L[i_b, i_w].

    Uses the exact identity sum (w x + b - y)^2 = RSS* + d^T A^T A d, with d = (w, b) minus
    the least-squares solution and RSS* the residual sum of squares there, so a fine grid on
    a large data set costs no more than on a small one and stays accurate near the minimum.
    """
    x, y = _as_column_data(x, y)
    theta, rss = _minimum(x, y)
    W, B = np.meshgrid(np.asarray(w_values, dtype=np.float64),
                       np.asarray(b_values, dtype=np.float64))
    dw, db = W - theta[0], B - theta[1]
    sxx, sx, n = x @ x, x.sum(), float(len(x))
    quad = sxx * dw**2 + 2 * sx * dw * db + n * db**2
    return _scale(len(x), reduction, halved) * (rss + quad)


def gd_path(x, y, lr, start, num_steps, *, reduction="mean", halved=False, blow_up=1e6):
    """Full-batch gradient descent on the loss from `start` = (w0, b0): array (k, 2) of (w, b).

    Row 0 is the start, row j the parameters after j steps; k = num_steps + 1 unless the run
    diverges: it stops after the first step whose loss exceeds `blow_up` times the starting
    loss (or is not finite), so a diverging path stays drawable.
    """
    x, y = _as_column_data(x, y)
    c = _scale(len(x), reduction, halved)
    w, b = (float(v) for v in start)
    path = [(w, b)]

    def loss(w_, b_):
        return c * float(((w_ * x + b_ - y) ** 2).sum())

    limit = blow_up * max(loss(w, b), np.finfo(np.float64).tiny)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            r = w * x + b - y
            w, b = w - lr * 2 * c * float(x @ r), b - lr * 2 * c * float(r.sum())
            path.append((w, b))
            current = loss(w, b)
            if not np.isfinite(current) or current > limit:
                break
    return np.array(path)


def fit_view(*points, margin=0.12, num=80):
    """Grid values (w_values, b_values) spanning `points` with a margin on every side.

    Each argument is one (w, b) pair or an array (k, 2) of them (e.g. the first steps of a
    path and the least-squares solution); the view reaches `margin` times the points' extent
    beyond them in each direction (at least 1 where all points share a coordinate), with
    `num` values per axis. Use it to zoom a panel onto the steps it draws.
    """
    pts = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in points])
    if not len(pts) or not np.isfinite(pts).all():
        raise ValueError("fit_view needs finite (w, b) points")
    low, high = pts.min(axis=0), pts.max(axis=0)
    extent = np.where(high > low, high - low, 1.0)
    low, high = low - margin * extent, high + margin * extent
    return np.linspace(low[0], high[0], num), np.linspace(low[1], high[1], num)


def first_outside(path, w_values, b_values):
    """The first step k whose (w, b) lies outside the view spanned by the grid values (None
    if the whole path stays inside it)."""
    path = np.asarray(path, dtype=np.float64).reshape(-1, 2)
    w_values, b_values = np.asarray(w_values), np.asarray(b_values)
    inside = ((path[:, 0] >= w_values.min()) & (path[:, 0] <= w_values.max())
              & (path[:, 1] >= b_values.min()) & (path[:, 1] <= b_values.max()))
    return None if inside.all() else int(np.argmin(inside))


def plot_landscape(ax, x, y, paths, *, w_values, b_values, reduction="mean", halved=False,
                   levels=14, span=1e4, cmap="viridis", mark_minimum=True, colors=None,
                   legend=True, steps=None, numbers=0, mark_start=False, step_cmap=None,
                   contour_color=None, linestyles=None, markers=None, until_outside=False):
    """Contours of the loss over the grid (log-spaced above the minimum) with paths on top.

    `paths` maps a legend label to an array (k, 2) of (w, b), e.g. from `gd_path`; `colors`
    (optional) gives one matplotlib color per path, by default C1, C2, ...; `linestyles` and
    `markers` likewise (by default "-", "--", ":", "-." and "o"); `legend=False`
    leaves the legend out (small panels). The first path is drawn on top, so a long path
    cannot hide a shorter one; paths differ in line style too, and each ends in an X. The axes
    keep the grid's limits: a diverging path leaves the picture instead of stretching it, and
    everything drawn is clipped to the axes.

    For following single steps: `steps=k` draws only the start and the first k steps of each
    path (then every iterate gets a marker); `numbers=m` writes the step number next to the
    first m iterates and the last one drawn; `mark_start=True` circles the start;
    `until_outside=True` ends each path with its first step outside the view (a diverging
    run then leaves the picture once, instead of crossing it again and again);
    `step_cmap` (a colormap name) colours each iterate's marker by its step number, from the
    colormap's first colour at the start to its last at the path's last step (also when
    `until_outside` cut it short); `contour_color` draws all contours in one colour (e.g.
    "0.7" when the path's markers carry the colours). Returns `ax`.
    """
    x_, y_ = _as_column_data(x, y)
    w_values, b_values = np.asarray(w_values), np.asarray(b_values)
    L = loss_grid(x_, y_, w_values, b_values, reduction=reduction, halved=halved)
    theta, rss = _minimum(x_, y_)
    floor = _scale(len(x_), reduction, halved) * rss
    top = float(L.max()) - floor
    contour_levels = floor + np.geomspace(top / span, top, levels)
    if contour_color is None:
        ax.contour(w_values, b_values, L, levels=contour_levels, cmap=cmap, linewidths=0.8)
    else:
        ax.contour(w_values, b_values, L, levels=contour_levels, colors=contour_color,
                   linewidths=0.8)
    if mark_minimum:
        # A white rim keeps the star readable among the path markers that crowd around it.
        ax.plot(*theta, marker="*", color="k", ms=12, mec="white", mew=0.8, ls="none",
                label="least squares", zorder=10)
    paths = dict(paths)
    if colors is None:
        colors = [f"C{(i + 1) % 10}" for i in range(len(paths))]
    if linestyles is None:  # paths that run along each other stay apart
        linestyles = [("-", "--", ":", "-.")[i % 4] for i in range(len(paths))]
    if markers is None:
        markers = ["o"] * len(paths)
    for i, ((label, path), color) in enumerate(zip(paths.items(), colors)):
        path = np.asarray(path, dtype=np.float64)
        if steps is not None:
            path = path[:steps + 1]
        last_step = max(len(path) - 1, 1)  # the colour scale of step_cmap
        gone = first_outside(path, w_values, b_values) if until_outside else None
        if gone is not None:
            path = path[:gone + 1]
        # Markers on at most ~30 steps (a long run would be a thick band), the end marked.
        every = 1 if steps is not None else max(1, len(path) // 30)
        order = 3 + len(paths) - i
        ax.plot(path[:, 0], path[:, 1], marker=markers[i] if step_cmap is None else None,
                ms=3 if steps is None else 4, lw=1.2, ls=linestyles[i], markevery=every,
                color=color, label=label, zorder=order)
        if step_cmap is not None:
            ax.scatter(path[::every, 0], path[::every, 1], c=np.arange(len(path))[::every],
                       cmap=step_cmap, vmin=0, vmax=last_step, s=22,
                       edgecolors="k", linewidths=0.4, zorder=order + 0.5)
        ax.plot(*path[-1], marker="X", ms=8, color=color, mec="k", mew=0.5, ls="none",
                zorder=4 + len(paths))
        if mark_start:
            ax.plot(*path[0], marker="o", ms=10, mfc="none", mec="k", mew=1.2, ls="none",
                    zorder=4 + len(paths))
        if numbers:
            shown = sorted({*range(min(numbers, len(path))), len(path) - 1})
            for k in shown:
                ax.annotate(str(k), path[k], textcoords="offset points",
                            xytext=(4, 4 if k % 2 == 0 else -10), fontsize="x-small",
                            color="k", annotation_clip=True, clip_on=True,
                            zorder=5 + len(paths))
    ax.grid(False)  # the contours are the grid
    ax.set_xlim(w_values.min(), w_values.max())
    ax.set_ylim(b_values.min(), b_values.max())
    ax.set_xlabel("weight w")
    ax.set_ylabel("bias b")
    if legend:
        ax.legend(fontsize="small", loc="best")
    return ax


def tidy_log_axis(ax, axis="y"):
    """Readable tick labels on a log-scaled axis: no labels on minor ticks; when the axis
    spans less than two decades, major ticks at 1, 2 and 5 times the powers of ten, written
    as plain numbers (2, 5, 10, 20) instead of 2 x 10^0. Returns `ax`."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    which = ax.yaxis if axis == "y" else ax.xaxis
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    which.set_minor_formatter(NullFormatter())
    if low > 0 and high / low < 100:
        which.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        which.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    return ax
