"""A validating process kept warm by the local server, so a command's quality gate waits for no import.

The validating process (tasks/validate/validator.py) imports Great Expectations in seconds; a command
that starts its own waits for that before its gate can answer. So the local server's supervisor
(`branchkpi server run`) keeps one spare ready per home: GX imported and warmed up, listening on a
Unix socket named after BRANCHKPI_HOME (abstract: no file, no path length). The first command of that
home to connect takes it (the spare stops listening at once and the supervisor starts the next); the
two check that they run the same code (a fingerprint of the interpreter and of the gate's sources),
else the command starts its own process as before. What is served is the validating process's own
exchange, over the socket instead of a pipe; the spare writes its Data Docs when the command has gone.

Both ends unpickle what the other sends, so each checks the other is the same user (SO_PEERCRED) before
reading a byte: an abstract socket is open to every user of the machine, and its name is predictable."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import socket
import struct
import sys
from pathlib import Path
from typing import IO

ACCEPTED = b"accepted\n"  # what a spare tells its supervisor once a command has taken it
CONNECT_TIMEOUT = 2.0  # seconds for a spare to answer a command's connection


def address(home: Path) -> str:
    """The abstract socket of `home`'s spare."""
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:20]
    return f"\0branchkpi-validator-{digest}"


def fingerprint() -> str:
    """The interpreter and the gate's sources as they are now (a spare started before an edit of the
    rules must not validate with the old ones)."""
    import branchkpi

    package = Path(branchkpi.__file__).parent
    sources = sorted(
        p for folder in ("tasks/validate", "expectations", "domain") for p in (package / folder).glob("*.py")
    )
    stamp = "|".join(f"{p.name}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in sources)
    return hashlib.sha256(f"{sys.executable}|{package}|{stamp}".encode()).hexdigest()


def peer_uid(conn: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket, as the kernel saw it connect."""
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return int(uid)


def connect(home: Path, trusted_uid: int | None = None) -> tuple[IO[bytes], IO[bytes], socket.socket] | None:
    """The spare of `home`, taken for this command: (its answers, our requests, the socket), or None
    (none listens, it is another user's (`trusted_uid`, default ours), or it runs other code)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(CONNECT_TIMEOUT)
    try:
        conn.connect(address(home))
        if peer_uid(conn) != (os.geteuid() if trusted_uid is None else trusted_uid):
            raise ConnectionError("the spare is another user's")
        answers, requests = conn.makefile("rb"), conn.makefile("wb")
        pickle.dump(fingerprint(), requests, protocol=pickle.HIGHEST_PROTOCOL)
        requests.flush()
        if pickle.load(answers) != "ok":
            raise ConnectionError("the spare runs other code")
    except (OSError, EOFError, pickle.UnpicklingError, ConnectionError):
        conn.close()
        return None
    conn.settimeout(None)
    return answers, requests, conn


def wait_for_a_command(
    home: Path, told: IO[bytes], trusted_uid: int | None = None
) -> tuple[IO[bytes], IO[bytes]] | None:
    """In the spare: listen until a command of `home` run by our user (`trusted_uid`, default ours)
    connects, stop listening, tell the supervisor (`told`), check the command's code is ours; returns
    (its requests, our answers), or None when another spare already listens or the command runs other
    code. Another user's connection is closed unread, and the spare goes on listening."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(address(home))
    except OSError:  # another spare of this home is waiting
        listener.close()
        return None
    listener.listen(8)
    trusted = os.geteuid() if trusted_uid is None else trusted_uid
    while True:
        conn, _ = listener.accept()
        if peer_uid(conn) == trusted:
            break
        conn.close()
    listener.close()  # the next command finds the next spare, or starts its own process
    with contextlib.suppress(OSError):
        told.write(ACCEPTED)
        told.flush()
    requests, answers = conn.makefile("rb"), conn.makefile("wb")
    try:
        same = pickle.load(requests) == fingerprint()
        pickle.dump("ok" if same else "stale", answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()
    except (OSError, EOFError, pickle.UnpicklingError):
        return None
    return (requests, answers) if same else None
