"""Where things are: the output folder (nbgrader's layout, done-markers, atomic writes, the
one-batch lock), the gradebook and course by default, the user's cache."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path

from autograding.grading.settings import GradingError

STATE_DIR = ".autograding"
DEFAULT_COURSE_ROOT = Path(__file__).resolve().parents[1]  # autograding/


def course_root(settings) -> Path:
    """The course folder of a batch's settings: the one given, else the kit's own."""
    return Path(settings.course_root or DEFAULT_COURSE_ROOT)


def db_url_for(out_dir: Path) -> str:
    """nbgrader's SQLite URL of the gradebook kept in `out_dir`."""
    return f"sqlite:///{Path(out_dir).resolve() / 'gradebook.db'}"


def user_cache_dir() -> Path:
    """The course kit's per-user cache: $XDG_CACHE_HOME/linreg-course (~/.cache by default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "linreg-course"


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write `path` so that readers see the old file or the new one, never a part.

    The file gets the permissions the umask gives a new file (0644 under umask 022, 0640
    under 027), as a plain open() would.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = _new_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _new_temp_file(path: Path) -> tuple[int, str]:
    """(fd, name) of a new empty file next to `path`, named .<name>.<random>.tmp.

    Not tempfile.mkstemp: it creates 0600 whatever the umask, and os.replace keeps that mode,
    so grades.csv, the plot and every feedback page were readable by their owner only.
    O_EXCL with mode 0666 lets the kernel apply the umask.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(100):
        tmp = str(path.parent / f".{path.name[:40]}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: no free temporary file name for {path.name}")


def remove_stale_temp_files(out_dir: Path) -> None:
    """Delete the temporary files of atomic writes a killed batch left behind."""
    for path in out_dir.rglob(".*.tmp"):
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)


def marker_path(out_dir: Path, task) -> Path:
    """Done-marker of a task (autograding.grading.tasks.Task)."""
    return out_dir / STATE_DIR / "done" / task.student / task.assignment / f"{task.notebook}.json"


def autograded_path(out_dir: Path, student: str, assignment: str, notebook: str) -> Path:
    """Autograded notebook path, nbgrader's layout."""
    return out_dir / "autograded" / student / assignment / f"{notebook}.ipynb"


@contextmanager
def batch_lock(out_dir: Path):
    """One batch per output folder: a second one would write the same gradebook rows."""
    import fcntl

    (out_dir / STATE_DIR).mkdir(exist_ok=True)
    with open(out_dir / STATE_DIR / "batch.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise GradingError(f"{out_dir}: another `grade` is writing to this folder; wait "
                               "for it to finish or choose another --out") from err
        yield  # the lock goes with the process, also when it is killed
