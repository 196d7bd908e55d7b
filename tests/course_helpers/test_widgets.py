import subprocess
import sys

import matplotlib
import matplotlib.pyplot as plt
import pytest

from course_utils import widgets
from course_utils.widgets import explore

_REAL_DISPLAY = widgets._display  # some tests replace widgets._display


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _recorder():
    calls = []

    def draw(ax, v):
        calls.append(v)
        ax.plot([0, 1], [0, v])
        ax.set_xlabel("x")

    return draw, calls


def _watched(monkeypatch):
    """Pretend a person watches in a Jupyter kernel with a widget front end."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(widgets, "interactive", lambda: True)
    monkeypatch.setattr(widgets, "_widget_frontend", lambda: True)


def test_static_draws_one_panel_per_value_with_titles():
    assert matplotlib.get_backend().lower() == "agg"
    draw, calls = _recorder()
    fig = explore(draw, "delta", [0.1, 1.0, 10.0, 2], ncols=3, title="Huber")
    assert isinstance(fig, matplotlib.figure.Figure)
    assert calls == [0.1, 1.0, 10.0, 2]
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["delta = 0.1", "delta = 1", "delta = 10",
                                                "delta = 2"]
    assert len(fig.axes) == 6 and len(shown) == 4  # 2 rows of 3, the spare panels hidden
    assert all(len(ax.lines) == 1 for ax in shown)
    assert fig._suptitle.get_text() == "Huber"
    width, height = fig.get_size_inches()
    assert (width, height) == pytest.approx((3 * 3.2, 2 * 2.6))


def test_static_without_a_front_end_even_if_watched_in_a_terminal(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(widgets, "interactive", lambda: True)
    draw, calls = _recorder()
    fig = explore(draw, "gamma", [0.25, 0.5])  # pytest is no Jupyter kernel
    assert isinstance(fig, matplotlib.figure.Figure) and calls == [0.25, 0.5]


def test_interactive_slider_redraws_with_the_new_value(monkeypatch):
    pytest.importorskip("ipywidgets")
    _watched(monkeypatch)
    draw, calls = _recorder()
    box = explore(draw, "gamma", [0.05, 0.5, 0.95], value=0.5, title="quantile loss")
    assert calls == [0.5]  # drawn once, at the starting value
    slider = box.slider
    assert [label for label, _ in slider.options] == ["0.05", "0.5", "0.95"]
    assert box.axes.get_title() == "gamma = 0.5"
    first_image = box.children[1].value
    assert first_image[:8] == b"\x89PNG\r\n\x1a\n"
    slider.value = 2  # the front end sets the index of the chosen option
    assert calls == [0.5, 0.95]
    assert box.axes.get_title() == "gamma = 0.95"
    assert len(box.axes.lines) == 1, "the axes are cleared before each redraw"
    assert box.children[1].value != first_image
    assert not plt.get_fignums(), "no pyplot figure to show twice"


def test_interactive_displays_the_box_in_a_kernel(monkeypatch):
    pytest.importorskip("ipywidgets")
    _watched(monkeypatch)
    shown = []
    monkeypatch.setattr(widgets, "_display", shown.append)
    box = explore(lambda ax, v: ax.plot([0, v]), "delta", [1, 2])
    assert shown == [box]


def test_static_values_are_the_panels_and_the_slider_keeps_the_fine_grid(monkeypatch):
    fine = [round(0.1 * k, 1) for k in range(1, 24)]
    draw, calls = _recorder()
    fig = explore(draw, "lr", fine, value=1.9, static_values=[0.5, 2.2])
    assert calls == [0.5, 2.2] and len(fig.axes) == 2  # two panels, not 23
    pytest.importorskip("ipywidgets")
    _watched(monkeypatch)
    draw, calls = _recorder()
    box = explore(draw, "lr", fine, value=1.9, static_values=[0.5, 2.2])
    assert calls == [1.9] and len(box.slider.options) == 23


def test_interactive_starts_at_the_first_value_by_default(monkeypatch):
    pytest.importorskip("ipywidgets")
    _watched(monkeypatch)
    draw, calls = _recorder()
    box = explore(draw, "lr", [0.01, 0.1])
    assert calls == [0.01] and box.slider.value == 0


def test_grading_is_always_static(monkeypatch):
    _watched(monkeypatch)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    draw, calls = _recorder()
    fig = explore(draw, "delta", [1, 5])
    assert isinstance(fig, matplotlib.figure.Figure) and calls == [1, 5]
    assert not plt.get_fignums(), "closed while grading: nothing renders it"


def test_value_must_be_one_of_the_values():
    with pytest.raises(ValueError):
        explore(lambda ax, v: None, "k", [1, 2], value=3)
    with pytest.raises(ValueError):
        explore(lambda ax, v: None, "k", [])
    with pytest.raises(ValueError):
        explore(lambda ax, v: None, "k", [1, 2], static_values=[])


def test_no_stderr_and_ipywidgets_not_imported_when_static():
    code = (
        "import matplotlib; matplotlib.use('Agg'); import sys\n"
        "from course_utils.widgets import explore\n"
        "fig = explore(lambda ax, v: ax.plot([0, v]), 'delta', [0.1, 1, 10], title='t')\n"
        "fig.savefig(__import__('io').BytesIO())\n"
        "assert 'ipywidgets' not in sys.modules\n"
    )
    for env in ({}, {"NBGRADER_EXECUTION": "autograde"}):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**_base_env(), **env}, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""


def _base_env():
    import os

    return {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}


def test_the_display_carries_the_picture_for_viewers_without_widgets(monkeypatch):
    import base64

    pytest.importorskip("ipywidgets")
    _watched(monkeypatch)
    monkeypatch.setattr(widgets, "_display", lambda box: None)
    box = explore(lambda ax, v: ax.plot([0, v]), "lr", [0.5, 1.5], value=1.5)
    bundle = widgets._mime_bundle(box)
    # A widget manager shows the slider; nbconvert's HTML and GitHub show the picture.
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    png = base64.b64decode(bundle["image/png"])
    assert png == box.children[1].value and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "lr" in bundle["text/plain"] and "1.5" in bundle["text/plain"]
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda *args, **kwargs: shown.append((args, kwargs)))
    monkeypatch.setattr("IPython.get_ipython", lambda: object())  # as if in a kernel
    _REAL_DISPLAY(box)
    assert shown == [((bundle,), {"raw": True})]


def test_the_slider_picture_keeps_a_title_wider_than_the_panel(monkeypatch):
    import io

    pytest.importorskip("ipywidgets")
    from matplotlib.image import imread

    _watched(monkeypatch)
    monkeypatch.setattr(widgets, "_display", lambda box: None)
    title = "A long title that is much wider than a small panel of 2.4 inches"
    box = explore(lambda ax, v: ax.plot([0, v]), "lr", [1.0], panel_size=(2.4, 2.0),
                  title=title)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = box.figure
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    text = fig._suptitle.get_window_extent(canvas.get_renderer())
    assert text.width > fig.bbox.width, "the title should overflow the panel for this test"
    width = imread(io.BytesIO(box.children[1].value)).shape[1]
    assert width >= text.width, "the picture is cropped to what was drawn, title included"


def test_fmt_formats_titles_and_slider_labels(monkeypatch):
    fig = explore(lambda ax, v: None, "lr * lam", [0.5, 2.0], fmt="{:.1f}")
    assert [ax.get_title() for ax in fig.axes] == ["lr * lam = 0.5", "lr * lam = 2.0"]
    pytest.importorskip("ipywidgets")
    _watched(monkeypatch)
    monkeypatch.setattr(widgets, "_display", lambda box: None)
    box = explore(lambda ax, v: None, "lr", [0.5, 2.0], fmt="{:.1f}")
    assert [label for label, _ in box.slider.options] == ["0.5", "2.0"]
