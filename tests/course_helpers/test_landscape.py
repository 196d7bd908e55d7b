"""course_utils.landscape against brute force (NumPy loops) and torch autograd."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.landscape import (  # noqa: E402
    curvatures,
    first_outside,
    fit_view,
    gd_path,
    hessian,
    loss_grid,
    plot_landscape,
    tidy_log_axis,
)

RNG = np.random.default_rng(0)
X_RAW = RNG.uniform(0, 20, 64)  # notebook 02's unnormalized feature
Y_RAW = 2 * X_RAW + 1 + 3 * RNG.standard_normal(64)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def brute_force_loss(x, y, w, b, reduction, halved):
    total = sum((w * xi + b - yi) ** 2 for xi, yi in zip(x, y))
    return total / (len(x) if reduction == "mean" else 1) / (2 if halved else 1)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("halved", [False, True])
def test_loss_grid_matches_brute_force(reduction, halved):
    w_values, b_values = np.linspace(-1, 5, 7), np.linspace(-10, 10, 5)
    grid = loss_grid(X_RAW, Y_RAW, w_values, b_values, reduction=reduction, halved=halved)
    assert grid.shape == (5, 7)  # [i_b, i_w]
    for i_b, b in enumerate(b_values):
        for i_w, w in enumerate(w_values):
            want = brute_force_loss(X_RAW, Y_RAW, w, b, reduction, halved)
            assert grid[i_b, i_w] == pytest.approx(want, rel=1e-10)


def test_loss_grid_accepts_tensors_and_stays_accurate_at_the_noise_floor():
    # Notebook 02's scale: loss ~ 5e-5 at the minimum while y^2 ~ 20.
    x = torch.randn(1000, 1, generator=torch.Generator().manual_seed(1), requires_grad=True)
    y = 2 * x.detach() + 4.2 + 0.01 * torch.randn(1000, 1, generator=torch.Generator())
    grid = loss_grid(x, y, [2.0], [4.2], halved=True)
    want = float(((2 * x.detach().double() + 4.2 - y.double()) ** 2).mean() / 2)
    assert grid[0, 0] == pytest.approx(want, rel=1e-9)


def torch_gd(x, y, lr, start, num_steps, reduction):
    net = torch.nn.Linear(1, 1).double()
    with torch.no_grad():
        net.weight.fill_(start[0])
        net.bias.fill_(start[1])
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    X = torch.tensor(x, dtype=torch.float64).reshape(-1, 1)
    Y = torch.tensor(y, dtype=torch.float64).reshape(-1, 1)
    path = [start]
    for _ in range(num_steps):
        opt.zero_grad()
        torch.nn.MSELoss(reduction=reduction)(net(X), Y).backward()
        opt.step()
        path.append((net.weight.item(), net.bias.item()))
    return np.array(path)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gd_path_matches_torch_autograd(reduction):
    x, y = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]  # notebook 03's toy problem
    path = gd_path(x, y, 0.01, (0.3, -0.2), 50, reduction=reduction)
    assert path.shape == (51, 2)
    np.testing.assert_allclose(path, torch_gd(x, y, 0.01, (0.3, -0.2), 50, reduction),
                               rtol=1e-10, atol=1e-12)


def test_gd_path_halved_is_the_mean_loss_at_half_the_rate():
    full = gd_path(X_RAW, Y_RAW, 0.002, (0, 0), 20)
    halved = gd_path(X_RAW, Y_RAW, 0.004, (0, 0), 20, halved=True)
    np.testing.assert_allclose(full, halved, rtol=1e-12)


def test_curvatures_are_the_eigenvalues_of_autograds_hessian():
    x = torch.tensor(X_RAW)
    y = torch.tensor(Y_RAW)
    for reduction, halved in [("mean", False), ("sum", True)]:
        def loss(theta, reduction=reduction, halved=halved):
            r = theta[0] * x + theta[1] - y
            value = (r**2).mean() if reduction == "mean" else (r**2).sum()
            return value / 2 if halved else value

        H = torch.autograd.functional.hessian(loss, torch.zeros(2, dtype=torch.float64))
        np.testing.assert_allclose(hessian(X_RAW, reduction=reduction, halved=halved),
                                   H.numpy(), rtol=1e-12)
        lam = torch.linalg.eigvalsh(H).tolist()
        assert curvatures(X_RAW, reduction=reduction, halved=halved) == pytest.approx(lam)


def test_learning_rate_thresholds_from_the_curvature():
    lam_min, lam_max = curvatures(X_RAW)
    assert lam_max / lam_min > 100  # x in [0, 20): badly conditioned
    start, steps = (0.0, 0.0), 60
    below = gd_path(X_RAW, Y_RAW, 0.9 / lam_max, start, steps)
    oscillating = gd_path(X_RAW, Y_RAW, 1.9 / lam_max, start, steps)
    above = gd_path(X_RAW, Y_RAW, 2.5 / lam_max, start, steps)
    assert len(below) == len(oscillating) == steps + 1
    # Between 1/lam_max and 2/lam_max w overshoots: its steps alternate in sign.
    signs = np.sign(np.diff(oscillating[-10:, 0]))
    assert (signs[1:] == -signs[:-1]).all()
    assert (np.sign(np.diff(below[-10:, 0])) == np.sign(below[-1, 0] - below[-2, 0])).all()
    # Above 2/lam_max the run stops early, once the loss has grown a millionfold.
    assert len(above) < steps + 1
    start_loss = loss_grid(X_RAW, Y_RAW, [0.0], [0.0])[0, 0]
    end_loss = loss_grid(X_RAW, Y_RAW, [above[-1, 0]], [above[-1, 1]])[0, 0]
    assert end_loss > 1e6 * start_loss


def test_gd_path_stops_at_non_finite_values():
    path = gd_path([1e150, 1.0], [0.0, 1.0], 1.0, (1.0, 0.0), 10, blow_up=np.inf)
    assert len(path) < 11


def test_plot_landscape_draws_contours_paths_and_legend():
    fig, ax = plt.subplots()
    w_values, b_values = np.linspace(-1, 5, 30), np.linspace(-10, 10, 20)
    paths = {"lr small": gd_path(X_RAW, Y_RAW, 1e-3, (0, 0), 10),
             "lr large": gd_path(X_RAW, Y_RAW, 1e-2, (0, 0), 10)}
    out = plot_landscape(ax, X_RAW, Y_RAW, paths, w_values=w_values, b_values=b_values)
    assert out is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["least squares", "lr small", "lr large"]
    assert ax.get_xlim() == (-1, 5) and ax.get_ylim() == (-10, 10)  # not stretched
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.collections) >= 1  # the contour set


def test_plot_landscape_colors_and_no_legend_for_small_panels():
    fig, ax = plt.subplots()
    path = gd_path(X_RAW, Y_RAW, 1e-3, (0, 0), 5)
    plot_landscape(ax, X_RAW, Y_RAW, {"run": path}, w_values=np.linspace(-1, 5, 10),
                   b_values=np.linspace(-10, 10, 10), colors=["C3"], legend=False)
    assert ax.get_legend() is None
    (line,) = [ln for ln in ax.lines if ln.get_label() == "run"]
    assert matplotlib.colors.same_color(line.get_color(), "C3")
    assert not ax.xaxis._major_tick_kw.get("gridOn", False)  # contours replace the grid


def test_fit_view_spans_the_points_with_a_margin():
    path = np.array([[1.0, 8.0], [2.0, 8.05], [1.2, 7.9]])
    w_values, b_values = fit_view(path, (1.5, 7.5), margin=0.1, num=50)
    assert len(w_values) == len(b_values) == 50
    assert w_values[0] == pytest.approx(1.0 - 0.1) and w_values[-1] == pytest.approx(2.0 + 0.1)
    assert b_values[0] == pytest.approx(7.5 - 0.055) and b_values[-1] == pytest.approx(8.105)
    w_values, b_values = fit_view((3.0, 3.0))  # one point: a view of width 1 + margins
    assert w_values[0] < 3.0 < w_values[-1] and b_values[0] < 3.0 < b_values[-1]
    with pytest.raises(ValueError):
        fit_view(np.array([[0.0, np.inf]]))


def test_first_outside_finds_the_step_that_leaves_the_view():
    w_values, b_values = np.linspace(0, 1, 5), np.linspace(0, 1, 5)
    assert first_outside([[0.5, 0.5], [1.0, 0.0]], w_values, b_values) is None  # edges count
    assert first_outside([[0.5, 0.5], [0.9, 0.9], [1.5, 0.5], [0.5, 0.5]],
                         w_values, b_values) == 2


def _path_line(ax, label):
    (line,) = [ln for ln in ax.lines if ln.get_label() == label]
    return line


def test_plot_landscape_few_steps_numbered_with_start_and_style():
    fig, ax = plt.subplots()
    path = gd_path(X_RAW, Y_RAW, 1.9 / curvatures(X_RAW)[1], (1.0, 8.0), 200)
    w_values, b_values = fit_view(path[:11])
    plot_landscape(ax, X_RAW, Y_RAW, {"run": path}, w_values=w_values, b_values=b_values,
                   steps=10, numbers=4, mark_start=True, colors=["C3"], linestyles=[":"],
                   markers=["^"], legend=False)
    line = _path_line(ax, "run")
    np.testing.assert_array_equal(line.get_xydata(), path[:11])  # start + 10 steps
    assert line.get_linestyle() == ":" and line.get_marker() == "^"
    assert line.get_markevery() == 1  # a marker at every drawn step
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "10", "2", "3"]
    assert all(t.get_clip_on() for t in ax.texts)
    # The start circle: an open marker at path[0].
    assert any(ln.get_marker() == "o" and ln.get_mfc() == "none"
               and np.allclose(ln.get_xydata(), [path[0]]) for ln in ax.lines)


def test_plot_landscape_until_outside_and_step_colours():
    fig, ax = plt.subplots()
    path = gd_path(X_RAW, Y_RAW, 2.2 / curvatures(X_RAW)[1], (1.0, 8.0), 20)
    w_values, b_values = fit_view(path[:5])
    plot_landscape(ax, X_RAW, Y_RAW, {"run": path}, w_values=w_values, b_values=b_values,
                   steps=20, until_outside=True, step_cmap="plasma", contour_color="0.7",
                   legend=False)
    gone = first_outside(path[:21], w_values, b_values)
    assert gone is not None and gone <= 6
    assert len(_path_line(ax, "run").get_xydata()) == gone + 1  # stops at the first exit
    (dots,) = [c for c in ax.collections if len(c.get_offsets()) == gone + 1]
    # Colours by absolute step: the last dot is step `gone` of 20, not the colormap's end.
    assert dots.get_array().tolist() == list(range(gone + 1)) and dots.norm.vmax == 20


def test_tidy_log_axis_drops_minor_labels():
    fig, (narrow, wide) = plt.subplots(1, 2)
    narrow.semilogy([0, 1], [1.5, 20])
    wide.semilogy([0, 1], [1e-12, 1e3])
    for ax in (narrow, wide):
        tidy_log_axis(ax)
        fig.canvas.draw()
        assert not any(ax.yaxis.get_minor_formatter()(t, 0)
                       for t in ax.yaxis.get_minorticklocs())
    labels = [narrow.yaxis.get_major_formatter()(t, 0) for t in narrow.get_yticks()
              if narrow.get_ylim()[0] <= t <= narrow.get_ylim()[1]]
    assert labels == ["2", "5", "10", "20"]
