from fractions import Fraction

import torch
from torch import nn

from course_utils import is_grading, lecture_toy, mse_example, six_example_batches, six_examples
from course_utils.quiet import interactive


def test_mse_example_reproduces_the_worked_numbers():
    X, Y = mse_example()
    loss = nn.MSELoss()(X, Y)
    loss.backward()
    assert Fraction(loss.item()).limit_denominator(100) == Fraction(17, 6)
    assert torch.allclose(X.grad, (X - Y).detach() / 3)
    assert X.grad[2, 1].item() > 0, "the last entry is +1/3 (erratum 1), not -1"


def test_six_examples_first_batch_and_step():
    features, labels = six_examples()
    assert features.shape == (6, 2) and labels.shape == (6, 1)
    X, y = next(six_example_batches())
    assert X.tolist() == [[1, 3], [4, 2], [1, 2]] and y.flatten().tolist() == [3, 6, 1]
    net = nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 2.0]]))
        net.bias.zero_()
    loss = nn.MSELoss(reduction="sum")(net(X), y) / len(y)
    loss.backward()
    assert loss.item() == 12
    assert torch.allclose(net.weight.grad, torch.tensor([[32 / 3, 16.0]]))
    assert torch.allclose(net.bias.grad, torch.tensor([20 / 3]))


def test_six_example_batches_cover_each_example_once():
    rows = torch.cat([X for X, _ in six_example_batches()])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, six_examples()[0].tolist()))


def test_examples_return_fresh_tensors():
    X, _ = mse_example()
    X.data.zero_()
    assert mse_example()[0].sum() == 18
    x, y = lecture_toy()
    assert x.shape == y.shape == (3, 1) and torch.equal(y, 2 * x)


def test_quiet_under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert is_grading() and not interactive()
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert not is_grading()


def test_a_kernel_shell_or_a_subclass_of_it_counts_as_watched(monkeypatch):
    import IPython
    from ipykernel.zmqshell import ZMQInteractiveShell

    class Shell(ZMQInteractiveShell):  # Colab's is google.colab._shell.Shell, a subclass
        pass

    class TerminalShell:
        pass

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_UTILS_QUIET", raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    for shell, watched in ((Shell.__new__(Shell), True),
                           (ZMQInteractiveShell.__new__(ZMQInteractiveShell), True),
                           (TerminalShell(), False), (None, False)):
        monkeypatch.setattr(IPython, "get_ipython", lambda shell=shell: shell)
        assert interactive() is watched, type(shell).__name__
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert not interactive()


def test_a_graded_run_gets_a_silent_text_bar_and_never_imports_ipywidgets():
    import subprocess
    import sys

    code = ("import os, sys; os.environ['NBGRADER_EXECUTION'] = 'autograde'\n"
            "import torch, course_utils\n"
            "from course_utils.training import progress_bar\n"
            "bar = progress_bar(range(3), desc='epochs')\n"
            "assert list(bar) == [0, 1, 2] and bar.disable, bar\n"
            "from course_utils import LinearRegression, train\n"
            "X = torch.ones(4, 1); net = LinearRegression(1)\n"
            "train(net, torch.nn.MSELoss(), [(X, X)], torch.optim.SGD(net.parameters(), 0.1),"
            " 2, X, X)\n"
            "print(type(bar).__module__, 'ipywidgets' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["tqdm.std", "False"]


def test_a_watched_notebook_gets_the_widget_bar(monkeypatch):
    import tqdm.notebook

    import course_utils.training as training

    monkeypatch.setattr(training, "interactive", lambda: True)
    bar = training.progress_bar(range(2), desc="epochs")
    try:
        assert isinstance(bar, tqdm.notebook.tqdm) and not bar.disable
    finally:
        bar.close()
