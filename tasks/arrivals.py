"""Arrivals in the landing folder (着信): which files are complete, which belong to one send, which kind
each is, and what the landing sensor has already announced. The sensor (branchkpi.flows.landing_sensor)
feeds `Sends` what the folder watcher reports and asks it, once a second, for a send that is ready;
everything here is plain Python on paths, sizes and clocks, so its rules are tested case by case in the
unit tier.

- A file is landable when a run would land it (tasks.landing.is_landable): `.part`, `.tmp`,
  `.crdownload`, Excel's `~$` lock files and hidden files are not, so a copy in progress under a
  temporary name is never seen before it is renamed.
- A file is settled when its size, modification time and inode have not changed for `quiet` seconds
  (and it is not empty): a file still being written keeps changing and is not picked up.
- A send is the settled files, once every landable file in the folder is settled: a burst of files
  copied together becomes one send, one event, one run. A send waits at most `max_wait` seconds for a
  file that keeps changing; then the settled files go without it (it follows in a later send)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from branchkpi.tasks.landing import LandedFile, is_landable

Kind = Literal["statistics", "kpi"]
KINDS: tuple[Kind, ...] = ("statistics", "kpi")
STATE_FILE = ".branchkpi-sensor.json"  # in the landing folder: every watcher of a shared folder reads it
LOCK_FILE = ".branchkpi-sensor.lock"


@dataclass(frozen=True)
class Signature:
    """What a file looks like from outside: a write changes its size or modification time; a file
    replaced by a rename gets another inode."""

    size: int
    mtime_ns: int
    inode: int


def signature(path: Path) -> Signature | None:
    """The file's signature, or None when it is gone (renamed, landed by a run, deleted)."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return Signature(st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class _Pending:
    signature: Signature
    changed_at: float  # when this signature was first seen (monotonic seconds)


@dataclass
class Sends:
    """The files seen in the landing folder and not yet part of a send."""

    quiet: float  # seconds a file must stay unchanged to count as complete
    max_wait: float  # seconds a settled send waits for other files still changing
    pending: dict[Path, _Pending] = field(default_factory=dict)

    def seen(self, path: Path, now: float, sig: Signature | None) -> None:
        """A change the watcher reported (or a file found at start-up); `sig` None: the file is gone."""
        if not is_landable(path):
            return
        known = self.pending.get(path)
        if sig is None:
            self.pending.pop(path, None)
        elif known is None or known.signature != sig:
            self.pending[path] = _Pending(sig, now)

    def _settled(self, item: _Pending, now: float) -> bool:
        return item.signature.size > 0 and now - item.changed_at >= self.quiet

    def ready(self, now: float, look: Callable[[Path], Signature | None] = signature) -> list[Path]:
        """The next send, or [] while its files are still arriving. Every pending file is looked at again
        first: a write the watcher reported late (or not at all) counts as a change now."""
        for path in list(self.pending):
            self.seen(path, now, look(path))
        settled = [p for p, item in self.pending.items() if self._settled(item, now)]
        if not settled:
            return []
        moving = [p for p, item in self.pending.items() if not self._settled(item, now)]
        if moving:
            oldest = min(self.pending[p].changed_at for p in settled) + self.quiet
            if now - oldest < self.max_wait:
                return []  # keep the send together while its last files are still being written
        for path in settled:
            del self.pending[path]
        return sorted(settled)

    @property
    def waiting(self) -> list[Path]:
        return sorted(self.pending)


@dataclass
class Announced:
    """What the sensor has announced and is still in the landing folder: path → sha256, time, event id.
    Kept in the landing folder (STATE_FILE) so a restarted watcher, or the standby watcher of another
    host on a shared folder, does not announce a file twice; what arrived while no watcher ran is not in
    it and is announced at start-up."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, landing_dir: Path) -> Announced:
        try:
            data = json.loads((landing_dir / STATE_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return cls()
        files = data.get("announced") if isinstance(data, dict) else None
        return cls(dict(files) if isinstance(files, dict) else {})

    def save(self, landing_dir: Path) -> None:
        """Write atomically (a temporary file renamed into place), forgetting files no longer there."""
        self.files = {p: v for p, v in self.files.items() if Path(p).exists()}
        target = landing_dir / STATE_FILE
        tmp = target.with_name(f"{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"announced": self.files}, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, target)

    def already(self, path: Path, sha256: str) -> bool:
        entry = self.files.get(str(path))
        return entry is not None and entry.get("sha256") == sha256

    def unchanged(self, path: Path, sig: Signature | None) -> bool:
        """Announced, and still as it was then (same size and modification time)."""
        entry = self.files.get(str(path))
        return (
            entry is not None
            and sig is not None
            and (entry.get("size"), entry.get("mtime_ns")) == (sig.size, sig.mtime_ns)
        )

    def record(self, files: Iterable[tuple[Path, str, Signature | None]], event_id: str) -> None:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        for path, sha256, sig in files:
            self.files[str(path)] = {
                "sha256": sha256,
                "size": sig.size if sig else None,
                "mtime_ns": sig.mtime_ns if sig else None,
                "at": at,
                "event": event_id,
            }


def to_announce(
    files: list[tuple[Path, str]], announced: Announced, loaded: dict[str, str]
) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Of a send's files (path, sha256): those to announce, and those left out with the reason: already
    announced (the same file, same content: its run may still be queued) or already loaded (the same
    checksum is in the warehouse: a second copy makes no run). A file sent twice within one send is
    announced once."""
    keep: list[tuple[Path, str]] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for path, sha256 in files:
        if announced.already(path, sha256):
            skipped.append((path, "already announced"))
        elif sha256 in loaded:
            skipped.append((path, f"already loaded (batch {loaded[sha256]})"))
        elif sha256 in seen:
            skipped.append((path, "the same content as another file of this send"))
        else:
            seen.add(sha256)
            keep.append((path, sha256))
    return keep, skipped


def file_kind(path: Path, content: bytes) -> Kind:
    """statistics or kpi, from the file's headers as `branchkpi ingest` tells them apart; a file that
    cannot be read as either is statistics (the monthly run refuses it with its reason, and alerts)."""
    from branchkpi.tasks.parse.kpi import sniff_kind

    landed = LandedFile(0, "", path.name, path, len(content), False, content)
    return "kpi" if sniff_kind(landed) is not None else "statistics"


def by_kind(files: Iterable[tuple[Path, Kind]]) -> dict[Kind, list[Path]]:
    """A send's files by kind, in the order of KINDS, each kind's files sorted: one event per kind."""
    grouped: dict[Kind, list[Path]] = {}
    for path, kind in files:
        grouped.setdefault(kind, []).append(path)
    return {k: sorted(grouped[k]) for k in KINDS if k in grouped}


def waiting_files(landing_dir: Path, kind: Kind | None = None) -> list[Path]:
    """The landable files in the landing folder (of one kind when given), sorted."""
    if not landing_dir.is_dir():
        return []
    found = sorted(p for p in landing_dir.iterdir() if p.is_file() and is_landable(p))
    if kind is None:
        return found
    out = []
    for path in found:
        try:
            content = path.read_bytes()
        except FileNotFoundError:  # landed by another run meanwhile
            continue
        if file_kind(path, content) == kind:
            out.append(path)
    return out
