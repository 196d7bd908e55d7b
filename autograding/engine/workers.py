"""Where notebooks execute: a local pool of spawned worker processes, or a Dask cluster.

Both run the same picklable job function, `execute_job`: plain data in (notebook JSON, limits,
sandbox mode, paths the kernel must not see), plain data out (executed notebook JSON, flags,
the executor's notes). Nothing here touches the gradebook: results go back to the parent.
"""

from __future__ import annotations

import sys

SCHEDULER_HINT = ("check the address; start a scheduler with `dask scheduler` and workers with "
                  "`dask worker ADDRESS`, or drop --scheduler to grade on this machine")


class RunnerError(RuntimeError):
    """The workers cannot be reached (e.g. no Dask scheduler at the address)."""


def notebook_json(nb) -> str:
    """A notebook as the JSON text a job carries (the notebooks here come from nbformat or the
    executor: nbformat's schema check of each, done again on every hop, is skipped)."""
    import json

    return json.dumps(nb, ensure_ascii=False)


def notebook_from_json(text: str):
    """The nbformat notebook of a job's JSON text (notebook_json's, or a file's: sources and
    outputs stored as lists of lines are joined, as nbformat.reads joins them)."""
    import json

    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    return rejoin_lines(nbformat.from_dict(json.loads(text)))


def execute_job(job: dict) -> dict:
    """Worker side: execute one sanitized notebook; plain data in, plain data out. The job's
    `files` (name -> bytes, placed beside the notebook), `keep_files` (return what the
    notebook left there as "files") and `references` (modules the kernel imports before the
    first cell) reach executors that take them."""
    import importlib
    import inspect
    import traceback

    module, _, name = job["executor"].partition(":")
    try:
        execute = getattr(importlib.import_module(module), name)
        nb = notebook_from_json(job["notebook"])
        accepted = inspect.signature(execute).parameters
        extra = {key: job[key] for key in ("files", "keep_files", "references")
                 if job.get(key) and key in accepted}
        result = execute(nb, limits=job["limits"], sandbox=job["sandbox"],
                         hidden=job["hidden"], **extra)
        done = {
            "notebook": notebook_json(result.notebook),
            "kernel_died": bool(result.kernel_died),
            "timed_out": bool(result.timed_out),
            "messages": [str(m) for m in result.messages],
            "sandbox": str(result.sandbox),
            "seconds": float(result.seconds),
            "replaced": [str(name) for name in getattr(result, "replaced", [])],
        }
        kept = getattr(result, "files", None)
        if "keep_files" in extra and kept is not None:
            done["files"] = dict(kept)
        return done
    except Exception:  # reported to the parent, which retries once then records an error
        return {"error": traceback.format_exc(limit=8)}


def worker_started() -> bool:
    """A no-op job: submitting one per worker makes the pool start every worker at once."""
    return True


def skip_slow_optional_imports() -> None:
    """Keep jsonschema (imported by nbformat) from importing rfc3987_syntax: an optional IRI
    format checker nbformat never uses, which costs about 2 s per process start."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def exit_with_parent(period: float = 1.0) -> None:
    """In a pool worker: end the process once the pool's process is gone. Killed with -9, the
    pool leaves its workers waiting forever on their task pipe (each holds its write end
    too), and every grader crash would leave two idle processes behind."""
    import multiprocessing
    import os
    import threading
    import time

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        while os.getppid() == parent.pid:
            time.sleep(period)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def warm_worker(executor: str, sandbox: str, hidden: tuple, zygote: str | None = None) -> None:
    """Pool initializer: start the executor's fork-server while the parent sanitizes (forked
    from the pool's zygote, the root of which is `zygote`, when there is one)."""
    import importlib

    exit_with_parent()
    skip_slow_optional_imports()
    module = importlib.import_module(executor.partition(":")[0])
    if hasattr(module, "warm_up"):
        try:
            if zygote:
                module.warm_up(sandbox, hidden, zygote=zygote)
            else:
                module.warm_up(sandbox, hidden)
        except Exception:  # the first job starts it again and reports the error
            pass


def start_zygote(executor: str, sandbox: str, hidden: tuple, preload: tuple = ()):
    """The executor's zygote for a local pool (one warm import shared by its workers, with
    the `preload` modules the notebooks import), or None when it has none or it cannot start
    (each worker then imports on its own)."""
    import importlib

    module = importlib.import_module(executor.partition(":")[0])
    if not hasattr(module, "start_zygote"):
        return None
    try:
        if preload:
            return module.start_zygote(sandbox, hidden, preload=preload)
        return module.start_zygote(sandbox, hidden)
    except Exception:
        return None


def resolve_sandbox(executor: str, preferred: str) -> str:
    """The sandbox mode, decided once in the parent (so the fallback warning shows once)."""
    import importlib

    module = importlib.import_module(executor.partition(":")[0])
    if not hasattr(module, "sandbox_mode"):
        return preferred
    try:
        return module.sandbox_mode(preferred)
    except Exception as err:
        raise RunnerError(f"--sandbox {preferred}: {err}") from err


class PoolRunner:
    """Local worker processes (spawned: no inherited threads, locks or open gradebook), whose
    fork-servers are forked from one zygote when the executor has one."""

    def __init__(self, workers: int, warm_args: tuple, preload: tuple = ()):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        # Started first: it imports torch while the workers start and the parent sanitizes.
        self.zygote = start_zygote(*warm_args, preload)
        initargs = (*warm_args, self.zygote.root if self.zygote else None)
        self._make = lambda: ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=warm_worker, initargs=initargs)
        self.pool = self._start()
        self.capacity = workers
        self._closing = None

    def _start(self):
        """A new pool whose workers start now (and warm up their fork-servers), not at the
        first job: ProcessPoolExecutor spawns a process only when a job finds none idle."""
        pool = self._make()
        for _ in range(self.workers):
            pool.submit(worker_started)
        return pool

    def submit(self, job):
        """Start a job."""
        try:
            return self.pool.submit(execute_job, job)
        except RuntimeError:  # broken pool after a worker died: start a fresh one
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._start()
            return self.pool.submit(execute_job, job)

    def wait(self, futures):
        """Futures that finished (at least one)."""
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(futures, return_when=FIRST_COMPLETED).done

    def close(self, wait: bool = True):
        """Stop the workers, then the zygote; with wait=False in the background until
        join()."""
        import threading

        if self._closing is None:
            self._closing = threading.Thread(target=self._stop, name="pool-shutdown",
                                             daemon=True)
            self._closing.start()
        if wait:
            self._closing.join()

    def _stop(self):
        """The workers stop their servers; the zygote (and any server left) goes last."""
        try:
            self.pool.shutdown(wait=True, cancel_futures=True)
        finally:
            if self.zygote is not None:
                self.zygote.close()

    def join(self):
        """Stop the workers (if not yet asked to) and wait until they are gone."""
        self.close(wait=True)


class DaskRunner:
    """The same jobs on an existing Dask distributed cluster."""

    def __init__(self, address: str):
        hint = SCHEDULER_HINT
        check_reachable(address)
        try:
            from distributed import Client

            self.client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:
            raise RunnerError(f"cannot reach the Dask scheduler at {address!r} ({err}); "
                               f"{hint}") from err
        self.capacity = max(1, sum(self.client.nthreads().values()))

    def submit(self, job):
        """Start a job on the cluster."""
        return self.client.submit(execute_job, job, pure=False)

    def wait(self, futures):
        """Futures that finished (at least one)."""
        from distributed import wait

        return wait(list(futures), return_when="FIRST_COMPLETED").done

    def close(self):
        """Disconnect (the cluster keeps running)."""
        self.client.close()


def check_reachable(address: str, hint: str = SCHEDULER_HINT) -> None:
    """Fail fast (not after Dask's connect timeout) when a tcp:// scheduler refuses."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        return
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=10).close()
    except OSError as err:
        raise RunnerError(f"cannot reach the Dask scheduler at {address!r} "
                           f"({err.strerror or err}); {hint}") from err
