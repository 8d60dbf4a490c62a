"""The validating process: Great Expectations in a process of its own, beside a command.

Importing GX costs seconds (scipy, pandas, altair: 4–5 s on this 2-core machine), more than everything
else `branchkpi ingest` does for a month's file. So the commands that validate (`ingest`, `run
monthly`, `backfill`) start this process first thing (`start()`): it imports GX on the other core
while the command imports Prefect, lands and parses the files. The quality gate then sends it the
checked columns of the batch (`check()`, from tasks/validate/gx.py) and gets back what each
expectation found; the command builds the findings from its own frame. The run's Data Docs (page and
index) are written off the gate's path: once the command has ended (its end of the pipe closes), so
that no page competes with the command for the machine; then the process exits. The page a command
prints is there a second or two after it returns. Its output goes to BRANCHKPI_HOME/logs/validator.log.

A process that has not started one (a flow run in a worker, the tests) validates in itself, as before;
so does a command whose validating process died (a warning says so). `python -m
branchkpi.tasks.validate.validator` is the process; this module imports nothing heavy, so that a
command can start it before it imports anything else."""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from branchkpi.expectations.rules import Rule
    from branchkpi.tasks.validate.gx import SuiteOutcome

LOG_NAME = "validator.log"

_lock = threading.Lock()
_process: dict[int, subprocess.Popen[bytes]] = {}  # by the pid of the process that started it


def start(home: Path | None = None) -> None:
    """Start this process's validating process (once; a no-op when it runs)."""
    with _lock:
        if os.getpid() in _process:
            return
        from branchkpi.config import home_dir

        log = (home or home_dir()) / "logs" / LOG_NAME
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            _process[os.getpid()] = subprocess.Popen(
                # -P: this installation's branchkpi, never a folder of that name where the command runs
                [sys.executable, "-P", "-m", "branchkpi.tasks.validate.validator"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=out,
            )


def running() -> bool:
    process = _process.get(os.getpid())
    return process is not None and process.poll() is None


def stop(timeout: float = 120.0) -> None:
    """End this process's validating process: it writes the Data Docs it still owes, then exits (a
    command need not call this: its end closes the pipe just the same)."""
    with _lock:
        process = _process.pop(os.getpid(), None)
    if process is None:
        return
    assert process.stdin is not None
    with contextlib.suppress(OSError):
        process.stdin.close()
    process.wait(timeout)


def check(
    checked: pl.DataFrame,
    suite_name: str,
    rule_list: list[Rule],
    data_docs_dir: Path,
    gx_dir: Path,
    run_name: str,
    lang: str,
) -> SuiteOutcome | None:
    """The checkpoint run in the validating process; None when this process has none (or it died:
    the gate then validates in this process)."""
    request = (checked, suite_name, rule_list, data_docs_dir, gx_dir, run_name, lang)
    with _lock:
        process = _process.get(os.getpid())
        if process is None:
            return None
        assert process.stdin is not None and process.stdout is not None
        try:
            pickle.dump(request, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.flush()
            kind, answer = pickle.load(process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            del _process[os.getpid()]
            logging.getLogger("branchkpi.validator").warning(
                "the validating process is gone (%s); validating here instead", exc or type(exc).__name__
            )
            return None
    if kind == "error":
        raise answer
    outcome: SuiteOutcome = answer
    return outcome


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer each request with its checkpoint run; write the Data Docs owed once the pipe closes (the
    command has ended: no page competes with it for the machine)."""
    from branchkpi.tasks.validate import gx

    gx.warm_up()
    owed: list[tuple[str, Callable[[], None]]] = []
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            break
        try:
            outcome, write_data_docs = gx.check_suite(*request)
            owed.append((request[5], write_data_docs))
            answer: tuple[str, Any] = ("ok", outcome)
        except Exception as exc:
            answer = ("error", _picklable(exc))
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()
    for run_name, write_data_docs in owed:
        try:
            write_data_docs()
        except Exception as exc:  # the page is only a view: the gate's answer stands
            print(f"Data Docs not written for {run_name}: {exc!r}", file=sys.stderr, flush=True)


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def main() -> None:
    # the answers go through a descriptor of their own: whatever a library prints (fd 1) goes to the log
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C ends the command; this one ends with its pipe
    with contextlib.suppress(BrokenPipeError):  # the command ended while an answer was on its way
        _serve(sys.stdin.buffer, answers)
    os._exit(0)  # nothing to tear down: a second saved, and no stray output of GX's at exit


if __name__ == "__main__":
    main()
