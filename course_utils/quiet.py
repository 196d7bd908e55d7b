"""Whether to show live output (progress bars, animations) or stay quiet."""

import os
import sys


def is_grading():
    """True while nbgrader (or this course's grader) executes the notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def interactive():
    """True when a person is watching: a notebook frontend or a terminal, and not grading."""
    if is_grading() or os.environ.get("COURSE_UTILS_QUIET"):
        return False
    shell = sys.modules.get("IPython") and _ipython_shell_name()
    if shell == "ZMQInteractiveShell":  # JupyterLab, Notebook, Colab
        return True
    return sys.stderr.isatty()


def _ipython_shell_name():
    from IPython import get_ipython

    ip = get_ipython()
    return type(ip).__name__ if ip is not None else None
