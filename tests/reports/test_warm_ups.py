"""What a batch prepares while its first notebooks run (BatchHooks.warm_ups)."""

import threading
from types import SimpleNamespace

from autograding.grading.record import NotebookRecorder
from autograding.reports.feedback import FeedbackWriter


def test_warm_ups_run_in_a_thread_of_their_own_and_a_failing_one_is_skipped():
    seen = []

    def failing():
        raise RuntimeError("only a head start")

    recorder = SimpleNamespace(warm_ups=[failing, lambda: seen.append(
        threading.current_thread().name)])
    NotebookRecorder.warm_in_background(recorder).join(timeout=30)
    assert seen == ["warm-writers"]


def test_a_warmed_feedback_writer_touches_no_gradebook_and_renders_the_same(tmp_path):
    nowhere = f"sqlite:///{tmp_path / 'no-such-folder' / 'gradebook.db'}"
    writer = FeedbackWriter(nowhere)
    writer.warm()  # would fail on opening the gradebook
    assert not (tmp_path / "no-such-folder").exists()
    cold = FeedbackWriter(nowhere)
    assert cold._html_exporter() is not writer._html_exporter()
    assert writer._highlight("x = 1") == cold._highlight("x = 1")


def test_the_plot_warm_up_leaves_matplotlib_ready_on_agg():
    from autograding.reports.plot import warm_plot

    warm_plot()
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"
