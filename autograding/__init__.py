"""Course kit 'Linear Regression with PyTorch': release, intake, grading and reports.

Public API, imported on first use (so `python -m autograding` and the grading kernels do not
pay for modules they do not need); ARCHITECTURE.md maps the packages:

    grade_submissions(submitted, out, settings=None, **options) -> GradingReport
    GradingSettings, Limits, GradingReport, GradingError
    release_notebooks(...)       masters -> notebooks/ (autograding.course.release)
    intake_uploads(...)          an LMS export -> submitted/ (autograding.intake)
    regenerate_feedback(out)     feedback pages again (autograding.reports.feedback)
    export_outputs(out)          grades.csv and the plot again (autograding.reports.export)
    run_demo(...)                the course end to end on a sample class (autograding.demo)
"""

from importlib import import_module

_PUBLIC = {
    "grade_submissions": "autograding.api",
    "GradingSettings": "autograding.grading.settings",
    "GradingReport": "autograding.grading.results",
    "GradingError": "autograding.grading.settings",
    "Limits": "autograding.engine.limits",
    "release_notebooks": "autograding.course.release",
    "intake_uploads": "autograding.intake",
    "regenerate_feedback": "autograding.reports.feedback",
    "export_outputs": "autograding.reports.export",
    "run_demo": "autograding.demo",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    """Import a public name from its module on first use."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'autograding' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
