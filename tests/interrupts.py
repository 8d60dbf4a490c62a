"""An interrupted session ends at once and leaves nothing running (a pytest plugin of the suite).

SIGTERM, SIGHUP (CI cancelling a job, a closed terminal) and SIGINT (Ctrl-C) end the session as Ctrl-C
does: the test in progress is interrupted, pytest tears the session's fixtures down, so PostgreSQL,
the Prefect server and its workers and the browser stop. That alone was not enough:
- Python runs a signal handler only between bytecodes of the main thread: a test blocked in C (a
  SQLite busy wait, a socket read) holds it back for as long. A listener thread hears each signal as
  it arrives (the C-level handler writes it to a wakeup fd) and starts a watchdog;
- a flow run in progress swaps in Prefect's own SIGTERM handler, and the interruption may end as the
  run's Crashed state instead of reaching pytest: the session went on for minutes. So after a signal
  no further test starts (pytest.exit at the next test's setup);
- the watchdog stops every registered service itself and ends the process GRACE seconds after the
  signal, whatever pytest is doing; a second signal does the same at once.
Services register how to stop them with `on_interrupt(name, stop)`, first registered, last stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import pytest

GRACE = 12.0  # seconds for pytest's own teardown before the watchdog takes over (the goal: 30 in all)
SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

_received: list[int] = []  # signals heard by the listener thread, as they arrived
_raised: list[int] = []  # the one KeyboardInterrupt raised in the main thread
_wakeup: list[int] = []  # the pipe the C-level signal handler writes each signal's number to
_stops: dict[str, Callable[[], None]] = {}
_lock = threading.Lock()


def on_interrupt(name: str, stop: Callable[[], None]) -> None:
    """How to stop a service if the session is cut short (idempotent, quick, never raising)."""
    _stops[name] = stop


def forget(name: str) -> None:
    """The service was stopped by its fixture: nothing left to do for it."""
    _stops.pop(name, None)


def interrupted() -> bool:
    return bool(_received)


def stop_group(pgid: int, pids: list[int], grace: float = 3.0) -> None:
    """SIGTERM to a process group, SIGKILL to what is left of it and of `pids` (processes of its that
    left the group: a worker's flow runs run in sessions of their own) after `grace`. Never waits on a
    Popen: the fixture's own teardown may be waiting on it in the main thread, holding its lock."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_all() -> None:
    with _lock:
        for name, stop in reversed(list(_stops.items())):
            try:
                stop()
            except Exception as exc:
                print(f"interrupted: stopping {name} failed: {exc}", file=sys.stderr, flush=True)
        _stops.clear()


def _stop_everything_and_exit() -> None:
    _stop_all()
    signum = _received[0] if _received else signal.SIGTERM
    print(f"interrupted by {signal.Signals(signum).name}: services stopped", file=sys.stderr, flush=True)
    os._exit(128 + signum)


def _watchdog() -> None:
    time.sleep(GRACE)
    _stop_everything_and_exit()


def _listen(fd: int) -> None:
    """Hears each signal as it arrives, whatever the main thread is doing. Python runs a signal's
    handler only when the main thread is between bytecodes: a test blocked in C (a SQLite busy wait of
    30 s, a socket read) would hold it back. The C-level handler also writes the signal's number to
    the wakeup fd (signal.set_wakeup_fd), which this thread reads at once."""
    while True:
        for signum in os.read(fd, 64):
            if signum not in SIGNALS:
                continue
            if _received:  # a second signal: now
                _stop_everything_and_exit()
            _received.append(signum)
            threading.Thread(target=_watchdog, name="interrupt-watchdog", daemon=True).start()


def _on_signal(signum: int, _frame: object) -> None:
    """In the main thread: the test in progress is interrupted (once), as Ctrl-C interrupts it."""
    if not _raised:
        _raised.append(signum)
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _arm() -> None:
    signal.set_wakeup_fd(_wakeup[1], warn_on_full_buffer=False)


def pytest_configure(config: pytest.Config) -> None:
    read, write = os.pipe()
    os.set_blocking(write, False)
    _wakeup[:] = [read, write]
    _arm()
    threading.Thread(target=_listen, args=(read,), name="interrupt-listener", daemon=True).start()
    for sig in SIGNALS:
        signal.signal(sig, _on_signal)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _received or _raised:
        pytest.exit(f"interrupted by {signal.Signals((_received or _raised)[0]).name}: no further test", returncode=2)
    _arm()  # an asyncio loop run in the main thread by a test resets the wakeup fd when it closes


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if _received:  # the fixtures are torn down: what is still registered was not stopped by its own
        _stop_all()
