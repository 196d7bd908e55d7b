"""The course theme set without seaborn equals seaborn's own (course_utils.theme)."""

import sys

import matplotlib as mpl
import matplotlib.colors as mcolors
import pytest

from course_utils import set_theme

# Settings seaborn's theme writes, each changed first so that a setting the course's theme
# forgot shows up as a difference, not as an accidental match with matplotlib's default.
PERTURB = {"axes.facecolor": "#123456", "axes.edgecolor": "#123456", "axes.grid": False,
           "font.size": 5.0, "lines.linewidth": 7.0, "xtick.bottom": True, "grid.color": "red",
           "axes.spines.top": False, "legend.fontsize": 3.0, "font.family": ["serif"]}
CODES = "bgrmyck"


def theme_of(apply):
    """rcParams and one-letter colours after `apply`, from matplotlib's defaults perturbed."""
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(PERTURB)
        apply()
        params = dict(mpl.rcParams)
        codes = {code: mcolors.to_rgb(code) for code in CODES}
    return params, codes


@pytest.fixture
def restore_color_codes():
    named = mcolors.get_named_colors_mapping()
    saved = {code: named[code] for code in CODES}
    yield
    named.update(saved)
    named.cache.clear()


def test_the_course_theme_is_seaborns_whitegrid_without_importing_seaborn(restore_color_codes):
    import seaborn as sns

    ours, our_codes = theme_of(set_theme)
    theirs, their_codes = theme_of(lambda: sns.set_theme(style="whitegrid", context="notebook"))
    differ = sorted(k for k in theirs if ours[k] != theirs[k])
    # The one difference on purpose: seaborn's "rocket" colormap needs seaborn imported.
    assert differ == ["image.cmap"]
    assert ours["image.cmap"] == mpl.rcParamsDefault["image.cmap"]
    assert our_codes == their_codes
    assert ours["axes.prop_cycle"] == theirs["axes.prop_cycle"]


def test_the_course_theme_imports_no_seaborn():
    import subprocess

    code = ("import sys, course_utils; course_utils.set_theme(); "
            "print(sorted(m for m in ('seaborn', 'pandas', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=True)
    assert done.stdout.strip() == "[]"


def test_other_styles_still_come_from_seaborn(restore_color_codes):
    params, _ = theme_of(lambda: set_theme(style="darkgrid"))
    assert mcolors.to_hex(params["axes.facecolor"]) == "#eaeaf2"  # seaborn's darkgrid grey
