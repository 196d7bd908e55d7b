"""The orchestrator: a grading batch with the reports' writers attached, for the CLI and API.

grading/ never imports reports/; this module hands the batch the reports' writers as hooks:
a feedback page per graded notebook, grades.csv and the plot once the batch is graded. The
public names (`from autograding import ...`) are listed in autograding/__init__.py.
"""

from __future__ import annotations

from autograding.engine.workers import skip_slow_optional_imports

# Before nbformat is imported below: its jsonschema would spend 0.7 s importing an IRI checker
# it never uses, before every batch (the CLI does the same before it imports this module).
skip_slow_optional_imports()

from autograding.grading.grade import grade_batch  # noqa: E402
from autograding.grading.record import BatchHooks  # noqa: E402
from autograding.grading.results import GradingReport  # noqa: E402
from autograding.grading.settings import GradingSettings  # noqa: E402
from autograding.reports.export import export_after_batch  # noqa: E402
from autograding.reports.feedback import feedback_page_writer  # noqa: E402
from autograding.reports.plot import warm_plot  # noqa: E402

# What a batch writes besides the gradebook and autograded/: feedback pages per notebook,
# grades.csv and the plot once graded (matplotlib imported while the first notebooks run).
REPORTS = BatchHooks(notebook_writers=(feedback_page_writer,), batch_writers=(export_after_batch,),
                     warm_ups=(warm_plot,))


def grade_submissions(submitted_dir, out_dir, settings: GradingSettings | None = None,
                      **options) -> GradingReport:
    """Grade submitted/<student>/<assignment>/*.ipynb into `out_dir` with feedback and exports.

    `settings` (autograding.grading.settings.GradingSettings) or its fields as keyword
    options, e.g. `grade_submissions("submitted", "out", workers=2, sandbox="namespaces")`.
    Resumable: run it again after an interruption (autograding.grading.grade says how).
    """
    settings = GradingSettings.from_options(settings, **options)
    return grade_batch(submitted_dir, out_dir, settings, REPORTS)
