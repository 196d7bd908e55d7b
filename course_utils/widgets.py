"""Interactive figures: a slider over one parameter, or static small multiples when nobody watches.

    explore(draw, name, values, *, value=None, ncols=3, panel_size=(3.2, 2.6), title=None,
            static_values=None, fmt=None)

`draw(ax, v)` draws one panel onto a matplotlib Axes for the parameter value `v`.

- In JupyterLab, Notebook or Colab with ipywidgets installed (and not grading): one figure
  and a slider over `values`, starting at `value` (default: the first value); moving the
  slider clears the axes and calls `draw` again. The box (slider + image) is displayed at
  once and returned. Its display also carries a PNG of the starting panel (and plain text):
  a front end without a widget manager (nbconvert's HTML, GitHub) shows that picture. The
  PNG is cropped to what was drawn (`bbox_inches="tight"`), so a title wider than the
  panel is not cut.
- Otherwise (a plain script, `jupyter nbconvert --execute` with COURSE_UTILS_QUIET=1,
  nbgrader, no ipywidgets): one static figure of small multiples, one panel per value of
  `static_values` (default: `values`; a slider's fine grid is too many panels), titled
  "name = v", left open for Jupyter's inline backend (or `plt.show()`) to show.
  `fmt` formats v in titles and slider labels (default: `{:g}` for floats, so 2.0 prints
  "2"; pass e.g. `fmt="{:.1f}"` to keep one decimal).
  Returns the figure. While grading the figure is closed before anything renders it.

Either way explore shows its result itself: end the call with `;` (or assign the result)
so that Jupyter does not show it a second time as the cell's value.
Nothing is written to stderr and nothing is downloaded.
"""

import base64
import io
import math
import os

from .quiet import interactive, is_grading

__all__ = ["explore"]


def explore(draw, name, values, *, value=None, ncols=3, panel_size=(3.2, 2.6), title=None,
            static_values=None, fmt=None):
    """Show `draw(ax, v)` for each v in `values`: a slider when someone watches, else panels."""
    values = list(values)
    static_values = values if static_values is None else list(static_values)
    if not values or not static_values:
        raise ValueError("explore needs at least one value")
    if value is None:
        value = values[0]
    elif not any(_same(value, v) for v in values):
        raise ValueError(f"value {value!r} is not one of {values!r}")
    widgets = _widgets_module()
    if widgets is not None:
        return _interactive(widgets, draw, name, values, value, panel_size, title, fmt)
    return _static(draw, name, static_values, ncols, panel_size, title, fmt)


def _label(name, v, fmt=None):
    """A panel's title: "name = v", with floats printed briefly (0.1, not 0.1000000001)."""
    if fmt is not None:
        text = fmt.format(v)
    else:
        text = f"{v:g}" if isinstance(v, float) else str(v)
    return f"{name} = {text}"


def _same(a, b):
    try:
        return bool(a == b)
    except Exception:  # arrays or tensors compare element-wise
        return a is b


def _widget_frontend():
    """True in a Jupyter kernel (JupyterLab, Notebook, Colab) with someone watching."""
    if is_grading() or not interactive():
        return False
    import sys

    if "IPython" not in sys.modules:  # a plain script in a terminal
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widgets_module():
    """ipywidgets when a widget front end shows it, else None (imported only then)."""
    if os.environ.get("NBGRADER_EXECUTION") or not _widget_frontend():
        return None
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def _static(draw, name, values, ncols, panel_size, title, fmt=None):
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, len(values)))
    nrows = math.ceil(len(values) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
        squeeze=False, layout="constrained",
    )
    flat = axes.ravel()
    for ax, v in zip(flat, values):
        draw(ax, v)
        ax.set_title(_label(name, v, fmt))
    for ax in flat[len(values):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    if is_grading():
        plt.close(fig)  # no one looks: never rendered
    return fig


def _interactive(widgets, draw, name, values, value, panel_size, title, fmt=None):
    # A Figure outside pyplot: the inline backend never shows it as a stray static image.
    from matplotlib.figure import Figure

    fig = Figure(figsize=panel_size, layout="constrained")
    ax = fig.add_subplot()
    if title:
        fig.suptitle(title)
    image = widgets.Image(format="png")
    options = [(_label(name, v, fmt).split(" = ", 1)[1], i) for i, v in enumerate(values)]
    start = next(i for i, v in enumerate(values) if _same(v, value))
    slider = widgets.SelectionSlider(
        options=options, value=start, description=name, continuous_update=False,
    )

    def render(index):
        ax.clear()
        draw(ax, values[index])
        ax.set_title(_label(name, values[index], fmt))
        buffer = io.BytesIO()
        # Cropped to what was drawn: a long title or label is never cut at the figure's edge.
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.05)
        image.value = buffer.getvalue()

    slider.observe(lambda change: render(change["new"]), names="value")
    render(start)
    box = widgets.VBox([slider, image])
    box.figure, box.axes, box.slider = fig, ax, slider
    _display(box)
    return box


def _mime_bundle(box):
    """The box's display data: the widget view, plus its current picture for static viewers.

    A front end with a widget manager (JupyterLab, Notebook, Colab) prefers the widget view
    and shows the slider; one without (nbconvert's HTML, GitHub, an executed copy opened
    later) falls back to image/png, the panel at the slider's starting value.
    """
    bundle = dict(box._repr_mimebundle_() or {})
    png = box.children[1].value
    if png:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    slider = box.slider
    bundle["text/plain"] = (f"<slider over {slider.description}, showing "
                            f"{slider.label}; a static copy of this panel is attached>")
    return bundle


def _display(widget):
    """Show a widget now, in a Jupyter kernel (the caller's `;` keeps it from showing twice)."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is not None:
        display(_mime_bundle(widget), raw=True)
