"""Similar answers between students: copydetect fingerprints of answer cells, stub excluded.

Modules:
- cells: a notebook's answer cells, matched to its master by grade id; the released stub;
- collect: every hand-in's answers per assignment, read safely; unreadable ones skipped;
- detect: pairwise scores with copydetect's fingerprints, the boilerplate removed;
- report: similarity.csv and the HTML report of the pairs over the threshold;
- command: the `similarity` command's options and run.
No student code is executed: notebooks are only read and tokenized.
"""

from autograding.similarity.collect import SimilarityError, Skipped
from autograding.similarity.command import add_arguments, run, similarity_report
from autograding.similarity.detect import SimilaritySettings

__all__ = ["SimilarityError", "SimilaritySettings", "Skipped", "add_arguments", "run",
           "similarity_report"]
