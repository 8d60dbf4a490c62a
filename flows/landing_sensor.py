"""The landing sensor (着信監視), `branchkpi watch`: watches the landing folder with watchfiles, makes
the files that arrive into sends (tasks.arrivals: complete files only, one send per burst) and emits
one Prefect event per send and kind, `branchkpi.landing.file-arrived`. The deployments' triggers
(prefect.yaml) run `monthly` for statistics and `quarterly-actuals` for KPI files with exactly those
files as `paths`: nothing of ours polls, Prefect's automations start the run.

The event's resource is the send of one kind (`branchkpi.landing.send.<digest>`, labelled with
`branchkpi.landing.kind`: statistics | kpi); each file is a related resource (`branchkpi.landing.file.<sha256>`,
its name, path and size), and the payload carries the paths. A file already loaded (its checksum is
in the warehouse's landed files) or already announced is not announced again.

One watcher per landing folder: it holds an exclusive lock in the folder (a second one, on this host or
another host sharing the folder, waits as a standby and takes over when the first stops). What it has
announced is kept in the folder (tasks.arrivals.Announced), so a restarted watcher announces what came
while it was down and nothing twice."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from branchkpi.tasks import arrivals
from branchkpi.tasks.arrivals import Announced, Kind, Sends

EVENT = "branchkpi.landing.file-arrived"
RESCAN_SECONDS = 60.0  # a look at the whole folder now and then, in case the watcher missed an event
log = logging.getLogger("branchkpi.landing_sensor")

KIND_TEXT = {"statistics": ("月報（統計）", "statistics"), "kpi": ("KPI ファイル", "KPI files")}


@dataclass(frozen=True)
class Arrived:
    path: Path
    sha256: str
    size: int
    kind: Kind
    signature: arrivals.Signature


def send_event(kind: Kind, files: list[Arrived]) -> dict[str, Any]:
    """The event of one send of one kind (keyword arguments of prefect.events.emit_event)."""
    digest = hashlib.sha256("".join(sorted(f.sha256 for f in files)).encode()).hexdigest()[:16]
    names = ", ".join(f.path.name for f in files)
    ja, en = KIND_TEXT[kind]
    return {
        "event": EVENT,
        "resource": {
            "prefect.resource.id": f"branchkpi.landing.send.{digest}",
            "prefect.resource.name": names if len(files) == 1 else f"{len(files)} files: {names}",
            "branchkpi.landing.kind": kind,
            "branchkpi.landing.files": str(len(files)),
        },
        "related": [
            {
                "prefect.resource.id": f"branchkpi.landing.file.{f.sha256}",
                "prefect.resource.role": "landing-file",
                "prefect.resource.name": f.path.name,
                "branchkpi.landing.kind": kind,
                "branchkpi.landing.path": str(f.path),
                "branchkpi.landing.size": str(f.size),
            }
            for f in files
        ],
        "payload": {
            "kind": kind,
            "paths": [str(f.path) for f in files],
            "files": [{"name": f.path.name, "sha256": f.sha256, "size": f.size} for f in files],
            "ja": f"着信: {ja} {len(files)} 件（{names}）",
            "en": f"arrived: {len(files)} {en} ({names})",
        },
    }


def loaded_in_warehouse(sha256s: list[str]) -> dict[str, str]:
    """The checksums already loaded, by the warehouse the workers use (BRANCHKPI_WAREHOUSE_URL or its
    Secret block); when it cannot be read, none: the runs themselves then record the copy as unchanged."""
    from branchkpi.config import settings
    from branchkpi.warehouse.batches import loaded_checksums
    from branchkpi.warehouse.engine import connect, redacted

    url = ""
    try:
        url = settings().warehouse_url
        return loaded_checksums(connect(url), sha256s)
    except Exception as exc:
        log.warning("could not ask the warehouse %s which files are loaded (%s)", redacted(url) if url else "", exc)
        return {}


def _emit(event: dict[str, Any]) -> str:
    from prefect.events import emit_event

    sent = emit_event(**event)
    return str(sent.id) if sent is not None else ""


@dataclass
class Sensor:
    landing_dir: Path
    quiet: float
    max_wait: float
    emit: Callable[[dict[str, Any]], str] = _emit
    loaded: Callable[[list[str]], dict[str, str]] = loaded_in_warehouse
    sends: Sends = field(init=False)
    announced: Announced = field(init=False)

    def __post_init__(self) -> None:
        self.sends = Sends(self.quiet, self.max_wait)
        self.announced = Announced.load(self.landing_dir)

    def scan(self, now: float) -> None:
        """Every landable file in the folder not announced as it is now becomes pending (at start-up:
        what arrived while no watcher ran; later: anything the watcher missed)."""
        for path in arrivals.waiting_files(self.landing_dir):
            sig = arrivals.signature(path)
            if path not in self.sends.pending and not self.announced.unchanged(path, sig):
                self.sends.seen(path, now, sig)

    def changed(self, path: Path, now: float) -> None:
        self.sends.seen(path, now, arrivals.signature(path))

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Announce the send that is ready, if any; returns the events emitted."""
        send = self.sends.ready(now)
        return self.announce(send, now) if send else []

    def _read(self, path: Path, now: float) -> tuple[bytes, str, arrivals.Signature] | None:
        """The file's bytes and checksum, or None when it changed while read (it goes back to pending)."""
        before = arrivals.signature(path)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            return None
        after = arrivals.signature(path)
        if before != after or after is None or after.size != len(content):
            self.sends.seen(path, now, after)
            return None
        return content, hashlib.sha256(content).hexdigest(), after

    def announce(self, paths: list[Path], now: float) -> list[dict[str, Any]]:
        read: dict[Path, tuple[bytes, str, arrivals.Signature]] = {}
        for path in paths:
            got = self._read(path, now)
            if got is not None:
                read[path] = got
        files = [(p, sha) for p, (_, sha, _) in read.items()]
        keep, skipped = arrivals.to_announce(files, self.announced, self.loaded([sha for _, sha in files]))
        for path, reason in skipped:  # remembered, so that the next look at the folder says nothing more
            log.info("not announced: %s (%s)", path.name, reason)
            _, sha256, sig = read[path]
            self.announced.record([(path, sha256, sig)], f"not announced: {reason}")
        arrived = [Arrived(p, sha, len(read[p][0]), arrivals.file_kind(p, read[p][0]), read[p][2]) for p, sha in keep]
        events = []
        for kind, kind_paths in arrivals.by_kind((a.path, a.kind) for a in arrived).items():
            send = [a for a in arrived if a.path in kind_paths]
            event = send_event(kind, send)
            event_id = self.emit(event)
            self.announced.record(((a.path, a.sha256, a.signature) for a in send), event_id)
            log.info("announced %s: %s (event %s)", kind, ", ".join(a.path.name for a in send), event_id or "?")
            events.append(event)
        if events or skipped:
            self.announced.save(self.landing_dir)
        return events

    def run(self, stop: threading.Event, polling: bool = False) -> None:
        """Watch until `stop` is set: changes as watchfiles reports them, a send announced as soon as it
        is ready (looked for every second), the whole folder looked at again every minute."""
        from watchfiles import watch

        self.landing_dir.mkdir(parents=True, exist_ok=True)
        with folder_lock(self.landing_dir):
            self.announced = Announced.load(self.landing_dir)  # the state as the last watcher left it
            self.scan(time.monotonic())
            log.info("watching %s (quiet %gs, max wait %gs)", self.landing_dir, self.quiet, self.max_wait)
            last_scan = time.monotonic()
            for changes in watch(
                self.landing_dir,
                watch_filter=None,
                stop_event=stop,
                yield_on_timeout=True,
                rust_timeout=1000,
                debounce=1000,
                recursive=False,
                force_polling=polling or None,
            ):
                now = time.monotonic()
                for _change, name in changes:
                    self.changed(Path(name), now)
                if now - last_scan >= RESCAN_SECONDS:
                    self.scan(now)
                    last_scan = now
                self.tick(now)


@contextmanager
def folder_lock(landing_dir: Path) -> Iterator[None]:
    """The folder's one watcher: an exclusive lock on a file in it; a second watcher waits for it."""
    with open(landing_dir / arrivals.LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another watcher holds %s: standing by until it stops", landing_dir)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def drain_events() -> None:
    """Send the events still queued in this process before it exits."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=30)
