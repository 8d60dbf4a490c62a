"""The local server's warm validating process, its handshake alone (tasks/validate/spare.py): one
command of the spare's home takes it, the spare then listens no more, the two agree on the code they
run or part; another home's command finds none. (Served for real: tests/system/test_local_server.py.)"""

from __future__ import annotations

import io
import os
import pickle
import socket
import threading
from pathlib import Path
from typing import Any

from branchkpi.tasks.validate import spare


def _spare(home: Path, told: io.BytesIO, trusted_uid: int | None = None) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}
    listening = threading.Event()

    def run() -> None:
        listening.set()
        out["taken"] = spare.wait_for_a_command(home, told, trusted_uid)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    listening.wait()
    name = "@" + spare.address(home)[1:]  # abstract sockets are listed with an @ in /proc/net/unix
    for _ in range(250):
        if name in Path("/proc/net/unix").read_text():
            break
        threading.Event().wait(0.02)
    return thread, out


def _connect_when_listening(home: Path) -> Any:
    for _ in range(100):
        taken = spare.connect(home)
        if taken is not None:
            return taken
        threading.Event().wait(0.02)
    return None


def test_a_command_of_the_home_takes_the_spare_and_they_talk(tmp_path: Path) -> None:
    told = io.BytesIO()
    thread, out = _spare(tmp_path, told)
    taken = _connect_when_listening(tmp_path)
    assert taken is not None
    thread.join(5)
    assert told.getvalue() == spare.ACCEPTED and out["taken"] is not None
    answers, requests, conn = taken
    pickle.dump("a request", requests)
    requests.flush()
    theirs_in, theirs_out = out["taken"]
    assert pickle.load(theirs_in) == "a request"
    pickle.dump("an answer", theirs_out)
    theirs_out.flush()
    assert pickle.load(answers) == "an answer"
    conn.close()
    assert spare.connect(tmp_path) is None  # taken: it listens no more


def test_another_homes_command_finds_no_spare(tmp_path: Path) -> None:
    assert spare.address(tmp_path / "a") != spare.address(tmp_path / "b")
    assert spare.address(tmp_path / "a") == spare.address(tmp_path / "a" / ".." / "a")
    assert spare.connect(tmp_path / "nobody") is None


def test_a_spare_running_other_code_is_refused(tmp_path: Path) -> None:
    """A command whose gate's sources changed since the spare started (its fingerprint differs): the
    spare says so and ends; the command starts its own process."""
    thread, out = _spare(tmp_path, io.BytesIO())
    for _ in range(100):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(spare.address(tmp_path))
            break
        except OSError:
            conn.close()
            threading.Event().wait(0.02)
    requests, answers = conn.makefile("wb"), conn.makefile("rb")
    pickle.dump("the fingerprint of edited rules", requests)
    requests.flush()
    assert pickle.load(answers) == "stale"
    conn.close()
    thread.join(5)
    assert out["taken"] is None


def test_a_second_spare_of_a_home_stands_down(tmp_path: Path) -> None:
    thread, _ = _spare(tmp_path, io.BytesIO())
    assert spare.wait_for_a_command(tmp_path, io.BytesIO()) is None  # the address is taken
    assert _connect_when_listening(tmp_path) is not None
    thread.join(5)


def test_the_fingerprint_follows_the_gates_sources() -> None:
    assert spare.fingerprint() == spare.fingerprint() and len(spare.fingerprint()) == 64


def test_neither_end_reads_another_users_bytes(tmp_path: Path) -> None:
    """Both ends unpickle: a spare serves only its own user's commands (another user's connection is
    closed unread and it goes on listening), and a command takes only its own user's spare. Another
    user is stood in for by a trusted uid that is not ours."""
    stranger = os.geteuid() + 1
    told = io.BytesIO()
    thread, _ = _spare(tmp_path, told, trusted_uid=stranger)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(100):
        try:
            conn.connect(spare.address(tmp_path))
            break
        except OSError:
            threading.Event().wait(0.02)
    assert conn.recv(1) == b""  # closed by the spare, nothing read, nothing answered
    conn.close()
    assert thread.is_alive() and told.getvalue() == b""  # still listening, not taken

    # a command whose trusted user is not the spare's leaves it be
    assert spare.connect(tmp_path, trusted_uid=stranger) is None
    assert thread.is_alive() and told.getvalue() == b""  # (its thread ends with the session)
    ours, theirs = socket.socketpair()
    assert spare.peer_uid(ours) == spare.peer_uid(theirs) == os.geteuid()
    ours.close(), theirs.close()
