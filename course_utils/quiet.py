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
    if sys.modules.get("IPython") and _in_kernel():  # JupyterLab, Notebook, Colab
        return True
    return sys.stderr.isatty()


def _in_kernel():
    """True in a Jupyter kernel's shell: ipykernel's ZMQInteractiveShell or a subclass of it
    (Colab's shell is `google.colab._shell.Shell`), found by name to import nothing."""
    from IPython import get_ipython

    ip = get_ipython()
    return ip is not None and any(k.__name__ == "ZMQInteractiveShell"
                                  for k in type(ip).__mro__)
