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
import io
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from branchkpi.expectations.rules import Rule
    from branchkpi.tasks.validate.gx import SuiteOutcome

LOG_NAME = "validator.log"


@dataclass
class _Channel:
    """This process's way to its validating process: a spare's socket, or a child's pipes."""

    answers: IO[bytes]
    requests: IO[bytes]
    alive: Callable[[], bool]
    close: Callable[[], None]
    process: subprocess.Popen[bytes] | None = None  # the child, when it is one


_lock = threading.Lock()
_channel: dict[int, _Channel] = {}  # by the pid of the process that started it


def start(home: Path | None = None) -> None:
    """This process's validating process (once; a no-op when it has one): the local server's warm
    spare of this home when there is one (tasks/validate/spare.py), else a child started now."""
    with _lock:
        if os.getpid() in _channel:
            return
        from branchkpi.config import home_dir
        from branchkpi.tasks.validate import spare

        home = home or home_dir()
        taken = spare.connect(home)
        if taken is not None:
            answers, requests, conn = taken
            _channel[os.getpid()] = _Channel(answers, requests, lambda: True, conn.close)
            return
        log = home / "logs" / LOG_NAME
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            process = subprocess.Popen(
                # -P: this installation's branchkpi, never a folder of that name where the command runs
                [sys.executable, "-P", "-m", "branchkpi.tasks.validate.validator"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=out,
            )
        assert process.stdin is not None and process.stdout is not None
        _channel[os.getpid()] = _Channel(
            process.stdout, process.stdin, lambda: process.poll() is None, lambda: _end(process), process
        )


def _end(process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    assert process.stdin is not None
    with contextlib.suppress(OSError):
        process.stdin.close()
    process.wait(timeout)


def running() -> bool:
    channel = _channel.get(os.getpid())
    return channel is not None and channel.alive()


def stop() -> None:
    """End this process's validating process: it writes the Data Docs it still owes, then exits (a
    command need not call this: its end closes the pipe or the socket just the same)."""
    with _lock:
        channel = _channel.pop(os.getpid(), None)
    if channel is None:
        return
    with contextlib.suppress(OSError):
        channel.requests.close()
    channel.close()


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
    # the frame travels as Arrow IPC: a third of the time of pickling it (polars' own format), each way
    wire = io.BytesIO()
    checked.write_ipc(wire)
    request = (wire.getvalue(), suite_name, rule_list, data_docs_dir, gx_dir, run_name, lang)
    with _lock:
        channel = _channel.get(os.getpid())
        if channel is None:
            return None
        try:
            pickle.dump(request, channel.requests, protocol=pickle.HIGHEST_PROTOCOL)
            channel.requests.flush()
            kind, answer = pickle.load(channel.answers)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            del _channel[os.getpid()]
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
    import polars as pl

    from branchkpi.tasks.validate import gx

    gx.warm_up()
    owed: list[tuple[str, Callable[[], None]]] = []
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            break
        try:
            outcome, write_data_docs = gx.check_suite(pl.read_ipc(io.BytesIO(request[0])), *request[1:])
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


def _end_with_the_supervisor(served: threading.Event) -> None:
    """A spare's stdin is a pipe its supervisor never writes: at its end (the supervisor is gone, even
    by SIGKILL) a spare no command has taken ends too, instead of listening for ever; one serving a
    command serves it to the end."""
    sys.stdin.buffer.read()
    if not served.is_set():
        os._exit(0)


def main() -> None:
    # the answers go through a descriptor of their own: whatever a library prints (fd 1) goes to the log
    answers: IO[bytes] = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C ends the command; this one ends with its pipe
    if sys.argv[1:2] == ["--spare"]:  # the local server's spare for the home in argv[2]
        from branchkpi.tasks.validate import gx, spare

        gx.warm_up()
        print(f"{os.getpid()}: a spare, warm, for the commands of {sys.argv[2]}", file=sys.stderr, flush=True)
        served = threading.Event()
        threading.Thread(target=_end_with_the_supervisor, args=(served,), daemon=True).start()
        taken = spare.wait_for_a_command(Path(sys.argv[2]), answers)  # `answers`: to its supervisor
        if taken is None:
            os._exit(0)
        served.set()
        requests, answers = taken
        print(f"{os.getpid()}: the spare serves a command", file=sys.stderr, flush=True)
    else:
        requests = sys.stdin.buffer
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the command ended meanwhile
        _serve(requests, answers)
    os._exit(0)  # nothing to tear down: a second saved, and no stray output of GX's at exit


if __name__ == "__main__":
    main()
