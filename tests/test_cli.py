"""`python -m autograding`: --help for every command and option, clear errors with exit code 2."""

import argparse
import subprocess
import sys

import pytest

from autograding.cli import build_parser, main, parse_size

COMMANDS = ["release", "intake", "grade", "feedback", "export", "similarity", "demo"]


def _subparsers(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_main_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for command in COMMANDS:
        assert command in text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help(command, capsys):
    sub = _subparsers(build_parser())[command]
    for action in sub._actions:
        assert action.help and action.help.strip(), (command, action.dest)
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in text


@pytest.mark.parametrize("text, size", [
    ("2G", 2 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", int(1.5 * 2**30)), ("2gb", 2 * 2**30),
    ("134217728", 2**27), ("1T", 2**40),
])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "2X", "-1G", "G", "10", "1.2.3M"])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


@pytest.mark.parametrize("argv, needle", [
    (["grade", "{tmp}/nowhere", "--out", "{tmp}/out"], "nowhere: no such folder"),
    (["grade", "{tmp}", "--out", "{tmp}/out", "--memory", "lots"], "'lots' is not a size"),
    (["grade", "{tmp}", "--out", "{tmp}/out", "--workers", "0"], "'0' is not a whole number"),
    (["grade", "{tmp}", "--out", "{tmp}/out", "--timeout", "-3"], "seconds > 0"),
    (["grade", "{tmp}", "--out", "{tmp}/out", "--course", "{tmp}/c"], "c/source: no such"),
    (["grade", "{tmp}", "--out", "{tmp}/f.txt"], "f.txt: exists and is not a folder"),
    (["grade", "{tmp}", "--out", "{tmp}/o", "--sandbox", "docker"], "invalid choice"),
    (["grade", "{tmp}"], "--out"),
    (["export", "--out", "{tmp}/empty"], "gradebook.db: no gradebook there"),
    (["feedback", "--out", "{tmp}/empty"], "gradebook.db: no gradebook there"),
    (["export", "--out", "{tmp}/empty", "--db", "grades.db"], "not a database URL"),
    (["export", "--out", "{tmp}", "--db", "sqlite:///{tmp}/none.db"], "none.db: no gradebook"),
    (["nonsense"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_a_message_naming_the_problem(argv, needle, tmp_path, capsys):
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    assert code == 2
    err = capsys.readouterr().err
    assert needle.replace("{tmp}", str(tmp_path)) in err
    assert "Traceback" not in err


def test_module_entry_point_reports_errors_without_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "autograding", "grade", str(tmp_path / "missing"), "--out",
         str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert str(tmp_path / "missing") in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    from grading_helpers import build_course, student_notebook, write_submission

    build_course(tmp_path)
    write_submission(tmp_path / "submitted", "amy", student_notebook())
    code = main(["grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "out"),
                 "--course", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "tcp://127.0.0.1:9" in err and "dask scheduler" in err
