"""Run one notebook safely: sandbox, fork-server, executor, kernel output, worker pools.

The engine imports nothing from the rest of autograding: it takes a notebook and limits and
gives back the executed notebook.
"""
