"""course_utils: the helpers of the "Linear Regression with PyTorch" course.

Names and signatures follow d2l (Dive into Deep Learning) where d2l has the helper.
"""

from .checks import check_close, check_fraction, check_shape, check_true
from .closed_form import fit_least_squares, ridge_closed_form
from .data import data_iter, load_array, synthetic_data
from .device import seed_everything, try_gpu
from .examples import (
    TRUE_B,
    TRUE_W,
    lecture_toy,
    mse_example,
    six_example_batches,
    six_examples,
)
from .intervals import coverage
from .losses import absolute_loss, huber_loss, log_cosh_loss, quantile_loss, squared_loss
from .models import LinearRegression, least_squares, linreg
from .optim import sgd
from .plotting import (
    Animator,
    plot,
    set_axes,
    set_figsize,
    set_theme,
    show_figure,
    use_svg_display,
)
from .quiet import interactive, is_grading
from .scaling import standardize_splits
from .split import train_val_test_split
from .timing import Timer, best_time
from .training import evaluate_loss, train, train_epoch, train_scratch
from .weight_decay import ridge_sgd

__version__ = "0.1.0"

__all__ = [
    "TRUE_B", "TRUE_W", "Animator", "LinearRegression", "Timer", "absolute_loss", "best_time",
    "check_close", "check_fraction", "check_shape", "check_true", "coverage", "data_iter",
    "evaluate_loss", "fit_least_squares", "huber_loss", "interactive", "is_grading",
    "least_squares", "lecture_toy", "linreg", "load_array", "log_cosh_loss", "mse_example", "plot",
    "quantile_loss", "ridge_closed_form", "ridge_sgd", "seed_everything", "set_axes",
    "set_figsize", "set_theme", "sgd", "show_figure", "six_example_batches", "six_examples",
    "squared_loss", "standardize_splits", "synthetic_data", "train", "train_epoch", "train_scratch",
    "train_val_test_split", "try_gpu", "use_svg_display",
]
