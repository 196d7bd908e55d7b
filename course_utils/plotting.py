"""Plotting with d2l's names (`set_figsize`, `plot`, `Animator`) and a seaborn theme."""

import matplotlib.pyplot as plt

from .quiet import interactive, is_grading
from .theme import apply_course_theme


def use_svg_display():
    """Use the svg format to display a plot in Jupyter (d2l)."""
    try:
        from matplotlib_inline import backend_inline

        backend_inline.set_matplotlib_formats("svg")
    except ImportError:  # outside Jupyter: nothing to configure
        pass


def set_theme(style="whitegrid", context="notebook"):
    """Apply the course's seaborn theme to every later figure, in one call."""
    if (style, context) == ("whitegrid", "notebook"):
        apply_course_theme()  # the same settings without importing seaborn (course_utils.theme)
        return
    import seaborn as sns

    sns.set_theme(style=style, context=context)


def show_figure(fig):
    """Display a finished figure; while grading nobody looks, so close it without drawing."""
    if is_grading():
        plt.close(fig)
    else:
        plt.show()


def set_figsize(figsize=(3.5, 2.5)):
    """Set the figure size for matplotlib (d2l)."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend, title=None):
    """Set the axes for matplotlib (d2l, plus an optional title)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    if title:
        axes.set_title(title)
    axes.grid(True)


def _has_one_axis(X):
    """True if X is a single series (d2l's helper inside `plot`)."""
    if hasattr(X, "ndim"):
        return X.ndim == 1
    return isinstance(X, list) and not hasattr(X[0], "__len__")


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
         xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"), figsize=(3.5, 2.5),
         axes=None, title=None):
    """Plot data points (d2l): X and Y may be lists of series; returns the axes."""
    if legend is None:
        legend = []
    set_figsize(figsize)
    axes = axes if axes is not None else plt.gca()
    if _has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts * len(Y)):
        x, y = _to_numpy(x), _to_numpy(y)
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend, title)
    return axes


def _to_numpy(values):
    """Detach tensors so matplotlib can draw them."""
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return values


class Animator:
    """Plot data in animation (d2l): redraws in place in JupyterLab and Colab.

    When nobody is watching (nbgrader, a script) it only records the points; call `show()`
    to draw the final figure once.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
                 xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"),
                 nrows=1, ncols=1, figsize=(3.5, 2.5), title=None):
        if legend is None:
            legend = []
        use_svg_display()
        self.fig, self.axes = plt.subplots(nrows, ncols, figsize=figsize)
        if nrows * ncols == 1:
            self.axes = [self.axes]
        self.config_axes = lambda: set_axes(self.axes[0], xlabel, ylabel, xlim, ylim,
                                            xscale, yscale, legend, title)
        self.X, self.Y, self.fmts = None, None, fmts
        self.live = interactive()
        self._display = None
        # Keep the figure from also showing as a static image at the end of the cell.
        plt.close(self.fig)

    def add(self, x, y):
        """Add one point (or one point per line) and redraw when someone is watching."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        if self.live:
            self._draw()

    def _draw(self):
        from IPython import display

        self.axes[0].cla()
        for x, y, fmt in zip(self.X, self.Y, self.fmts):
            self.axes[0].plot(x, y, fmt)
        self.config_axes()
        if self._display is None:
            self._display = display.display(self.fig, display_id=True)
        else:
            self._display.update(self.fig)

    def show(self):
        """Draw the final figure (once, when it was not drawn live)."""
        if self.X is None:
            return
        if not self.live:
            self.live = True
            self._draw()
