"""Landing: every file that arrives is read once, checksummed, and archived under var/archive before
anything else happens. The archive is content-addressed, so the same file landed twice is stored once;
nothing is ever deleted from it. A file dropped into var/landing is moved to the archive; a file given
by path elsewhere is copied (the sender keeps theirs)."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from branchkpi.config import Settings
from branchkpi.tasks.failures import ClearFailure
from branchkpi.warehouse import batches

ACCEPTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
MAX_FILE_BYTES = 256 * 1024 * 1024


class LandingError(ClearFailure):
    """A path that cannot be landed (missing, a folder without files, too large)."""


@dataclass
class LandedFile:
    id: int
    sha256: str
    file_name: str  # as it arrived (sanitised for display)
    archive_path: Path
    size_bytes: int
    previously_loaded: bool
    content: bytes = field(repr=False, default=b"")

    def without_content(self) -> LandedFile:
        """The same file once parsed: its bytes stay in the archive, not in the run's memory."""
        return replace(self, content=b"")


def safe_file_name(name: str) -> str:
    """A file name fit for display and for the archive: no folders, control characters or NUL."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch if unicodedata.category(ch)[0] != "C" else "_" for ch in base)
    base = re.sub(r"^\.+", "", base).strip() or "unnamed"
    return base[:200]


def is_landable(path: Path) -> bool:
    """Whether a file in a folder is one to land: an accepted suffix (so never a copy in progress under
    a temporary name: x.csv.part, .tmp, .crdownload), not hidden, not Excel's lock file (~$book.xlsx)."""
    return path.suffix.lower() in ACCEPTED_SUFFIXES and not path.name.startswith((".", "~$"))


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files to land: each file as given; each folder's accepted files, sorted, not recursing."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(c for c in p.iterdir() if c.is_file() and is_landable(c)))
        elif p.is_file():
            out.append(p)
        else:
            raise LandingError(f"{str(p)!r}: no such file or folder")
    return out


def files_to_land(paths: list[str] | None, landing_dir: Path) -> list[Path]:
    """The files a run lands: those it was given (files, or folders' files), else those waiting in the
    landing folder; a landing folder that does not exist yet (a fresh BRANCHKPI_HOME) holds none. A
    given file of the landing folder that is gone was landed by another run meanwhile (the landing
    sensor's run and a scheduled one can both name it): it is left out, not an error."""
    if paths:
        return expand_paths([Path(p) for p in paths if not taken_from_landing(Path(p), landing_dir)])
    return expand_paths([landing_dir]) if landing_dir.is_dir() else []


def taken_from_landing(path: Path, landing_dir: Path) -> bool:
    """A file named in the landing folder that is no longer there (a run moved it into the archive)."""
    return not path.exists() and path.parent.resolve() == landing_dir.resolve()


def land_files(paths: list[Path], batch_id: str, engine: sa.Engine, cfg: Settings) -> list[LandedFile]:
    """Archive and register each file; returns them with their content read exactly once."""
    landed: list[LandedFile] = []
    landing_dir = cfg.landing_dir.resolve()
    for path in paths:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LandingError(f"{safe_file_name(path.name)}: {size:,} bytes is over the {MAX_FILE_BYTES:,} byte limit")
        name = safe_file_name(path.name)
        content, digest = _read_unchanged(path, name)
        relative = Path(datetime.now(UTC).strftime("%Y-%m")) / f"{digest[:16]}-{name}"
        with batches.file_registration(engine, digest) as registration:
            row = registration.existing
            if row is None:
                target = cfg.archive_dir / relative
                _write_archive(target, content)
                file_id = registration.add(digest, name, str(relative), size, batch_id)
                archive_path, previously_loaded = target, False
            else:
                file_id = row.id
                archive_path = cfg.archive_dir / row.archive_path
                if not archive_path.exists():  # archive lost by hand: restore it from what we read
                    _write_archive(archive_path, content)
                previously_loaded = row.loaded_batch_id is not None
        if path.resolve().parent == landing_dir:
            path.unlink()  # it is safe in the archive now
        landed.append(LandedFile(file_id, digest, name, archive_path, size, previously_loaded, content))
    return landed


def _read_unchanged(path: Path, name: str) -> tuple[bytes, str]:
    """The file's bytes and sha256, refused when the file changed while we read it (a sender still
    writing it, a copy truncated it): its size and modification time are compared before and after
    the read, and the file on disk is hashed again and compared with the bytes read. A torn read is
    never landed: the sender still has the file, and lands it again once it is complete."""
    before = path.stat()
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    after = path.stat()
    again = _sha256_of(path)
    if (
        len(content) != before.st_size
        or (after.st_size, after.st_mtime_ns, after.st_ino) != (before.st_size, before.st_mtime_ns, before.st_ino)
        or again != digest
    ):
        raise LandingError(
            f"{name}: the file changed while it was being read ({before.st_size:,} bytes when opened, "
            f"{len(content):,} read with sha256 {digest[:12]}…, {after.st_size:,} bytes with sha256 {again[:12]}… "
            "on disk after): refused, nothing of it was landed or loaded; land it again once its sender "
            "has finished writing it"
        )
    return content, digest


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_archive(target: Path, content: bytes) -> None:
    """Write atomically (a .part file renamed into place), so a full disk or a killed process never
    leaves a half file under the archive's name; a failed write removes its .part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")
    for stale in target.parent.glob(f"{glob.escape(target.name)}.*.part"):  # left by a killed run
        stale.unlink(missing_ok=True)
    try:
        with open(tmp, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
