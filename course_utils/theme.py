"""The course's figure theme: seaborn's "whitegrid" look at its "notebook" scale, set directly.

Importing seaborn takes 1-2 s (it brings pandas and SciPy), in every kernel that calls
set_theme and in every notebook the grader runs; these are the settings seaborn 0.13 applies
for that theme, checked against seaborn itself in tests/course_helpers/test_theme.py. One
difference on purpose: the default colormap stays matplotlib's viridis (seaborn's "rocket" exists
only once seaborn is imported); every course figure names its colormap anyway.
"""

import matplotlib as mpl
import matplotlib.colors as mcolors
from cycler import cycler

# seaborn's "deep" palette: the colour cycle of every line, bar and scatter.
DEEP = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3",
        "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
# What the one-letter colours ("r", "b-", color="g") mean under the theme: the deep shades.
COLOR_CODES = {"b": DEEP[0], "g": DEEP[2], "r": DEEP[3], "m": DEEP[4], "y": DEEP[8],
               "c": DEEP[9], "k": (0.1, 0.1, 0.1)}
INK = ".15"  # near-black text, labels and ticks
LINES = ".8"  # light grey grid and frame

WHITEGRID = {  # white axes with a light grid drawn below the data, no tick marks
    "figure.facecolor": "white", "axes.facecolor": "white", "axes.edgecolor": LINES,
    "axes.grid": True, "axes.axisbelow": True, "grid.color": LINES, "grid.linestyle": "-",
    "axes.labelcolor": INK, "text.color": INK, "xtick.color": INK, "ytick.color": INK,
    "xtick.direction": "out", "ytick.direction": "out",
    "xtick.bottom": False, "xtick.top": False, "ytick.left": False, "ytick.right": False,
    "axes.spines.left": True, "axes.spines.bottom": True, "axes.spines.right": True,
    "axes.spines.top": True,
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                        "sans-serif"],
    "lines.solid_capstyle": "round", "patch.edgecolor": "w", "patch.force_edgecolor": True,
}
NOTEBOOK_SCALE = {  # sizes for a figure read on a screen
    "font.size": 12, "axes.labelsize": 12, "axes.titlesize": 12, "legend.title_fontsize": 12,
    "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 11,
    "axes.linewidth": 1.25, "grid.linewidth": 1, "lines.linewidth": 1.5, "patch.linewidth": 1,
    "lines.markersize": 6,
    "xtick.major.width": 1.25, "ytick.major.width": 1.25, "xtick.minor.width": 1,
    "ytick.minor.width": 1, "xtick.major.size": 6, "ytick.major.size": 6,
    "xtick.minor.size": 4, "ytick.minor.size": 4,
}


def apply_course_theme():
    """Set the theme for every later figure (as seaborn.set_theme() with the course's style)."""
    mpl.rcParams.update({**WHITEGRID, **NOTEBOOK_SCALE,
                         "axes.prop_cycle": cycler(color=[mcolors.to_rgb(c) for c in DEEP])})
    named = mcolors.get_named_colors_mapping()
    for code, color in COLOR_CODES.items():
        named[code] = mcolors.to_rgb(color)
    # Colours already looked up are cached by name: forget them, or "r" keeps its old shade.
    getattr(named, "cache", {}).clear()
