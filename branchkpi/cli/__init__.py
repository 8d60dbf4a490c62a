"""The `branchkpi` command line (entry point branchkpi.cli:main, the app is branchkpi.cli:app). Importing
the command modules registers their commands on the app, in the order `--help` lists them: the daily
ones first."""

# isort: skip_file
import atexit
import contextlib
import logging
import os
import sys

from branchkpi.cli import ingest, read, evaluate, initiatives, operations, admin, server, worker  # noqa: F401  (each registers its commands)
from branchkpi.cli.app import app

__all__ = ["app", "main"]

# the exit status when the app ends otherwise than by SystemExit (an uncaught error: Python's own 1)
_UNCAUGHT = 1


def main() -> None:
    """The console script: run the app, then end the process once everything that must happen at exit
    has happened (non-daemon threads joined, Prefect's log and event workers drained, atexit handlers
    run, output flushed), without tearing the interpreter down: freeing the objects of Prefect, polars,
    pandas and Great Expectations one by one costs a second or more after the answer is printed
    (docs/performance.md). Tests drive `app` itself, in-process; this is only the process's end."""
    status = {"code": _UNCAUGHT}
    # atexit runs its handlers last registered first: registered now, this one runs after every
    # handler the command's libraries register (Prefect's ephemeral server stop among them)
    atexit.register(_end_now, status)
    try:
        app()
    except SystemExit as exc:
        status["code"] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise


def _end_now(status: dict[str, int]) -> None:
    logging.shutdown()  # registered with atexit before this handler: it would not run after it
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (| head): nothing more can be said
            stream.flush()
    os._exit(status["code"])
