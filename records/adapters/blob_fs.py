"""Filesystem ``BlobStore``: content-addressed, read-only files under one root directory.

Layout: ``root/ab/cd/abcd...`` holds the blob whose sha256 is ``abcd...``; ``root/tmp`` holds
writes in progress; ``root/retention/ab/cd/abcd...`` holds the recorded retention date.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from records.adapters.clock import SystemClock
from records.ports import (
    BlobCorrupt,
    BlobMissing,
    BlobRef,
    BlobStoreUnavailable,
    Clock,
    RetentionOutcome,
    check_retention_date,
    check_sha256,
    is_sha256,
)

__all__ = ["BlobStoreFull", "FilesystemBlobStore"]

_CHUNK = 1 << 20
_FANOUT = re.compile(r"[0-9a-f]{2}")
_BLOB_MODE = 0o444
# The volume has no room left: worth retrying once an operator frees or grows it.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class BlobStoreFull(BlobStoreUnavailable):
    """The blob volume is full (ENOSPC, EDQUOT): nothing was stored, and the write may
    succeed once space is freed."""


@contextlib.contextmanager
def _room_needed() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL:
            raise BlobStoreFull(f"blob volume full: {exc}") from exc
        raise


def _fsync_dir(path: Path) -> None:
    # A rename or unlink is durable only once the directory entry itself is flushed.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(_CHUNK):
        yield chunk



class FilesystemBlobStore:
    """The embedded ``BlobStore``: one directory tree, crash-safe by write-then-rename."""

    def __init__(self, root: Path, *, clock: Clock | None = None) -> None:
        self._root = Path(root)
        self._tmp = self._root / "tmp"
        self._retention = self._root / "retention"
        self._clock: Clock = clock or SystemClock()
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._retention.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        return self._root

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this sha256 lives (whether or not it exists)."""
        sha = check_sha256(sha256)
        return self._root / sha[:2] / sha[2:4] / sha

    def put(self, source: bytes | BinaryIO) -> BlobRef:
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            sha = hashlib.sha256(data).hexdigest()
            if self.path_for(sha).is_file():
                return BlobRef(sha256=sha, size=len(data))
            chunks: Iterable[bytes] = (data,)
        else:
            chunks = _read_chunks(source)
        with _room_needed():
            tmp, sha, size = self._write_temp(chunks)
            try:
                self._publish(tmp, self.path_for(sha))
            finally:
                tmp.unlink(missing_ok=True)
        return BlobRef(sha256=sha, size=size)

    def get(self, sha256: str) -> bytes:
        parts: list[bytes] = []
        self._read_verified(sha256, parts.append)
        return b"".join(parts)

    def copy_to(self, sha256: str, dest: BinaryIO) -> int:
        return self._read_verified(sha256, dest.write)

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self.path_for(sha256).stat().st_size
        except FileNotFoundError:
            raise BlobMissing(sha256) from None

    def delete(self, sha256: str) -> None:
        until = self._retained_until(sha256)
        if until is not None and until > self._clock.now():
            raise PermissionError(f"blob {sha256} is retained until {until.isoformat()}")
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        else:
            _fsync_dir(path.parent)
        self._retention_path(sha256).unlink(missing_ok=True)

    def retain(self, sha256: str, until: datetime) -> RetentionOutcome:
        """Record ``until``; ``delete`` refuses the blob before then. Never shortens."""
        check_retention_date(until, self._clock.now())
        if not self.exists(sha256):
            raise BlobMissing(sha256)
        current = self._retained_until(sha256)
        if current is not None and current >= until:
            return RetentionOutcome.RECORDED
        stamp = until.astimezone(UTC).isoformat().encode()
        with _room_needed():
            tmp, _, _ = self._write_temp((stamp,))
            try:
                self._publish(tmp, self._retention_path(sha256), replace=True)
            finally:
                tmp.unlink(missing_ok=True)
        return RetentionOutcome.RECORDED

    def iter_sha256(self) -> Iterator[str]:
        for first in _subdirs(self._root):
            for second in _subdirs(first):
                for entry in sorted(os.scandir(second), key=lambda e: e.name):
                    name = entry.name
                    if (
                        entry.is_file(follow_symlinks=False)
                        and is_sha256(name)
                        and name[:2] == first.name
                        and name[2:4] == second.name
                    ):
                        yield name

    def sweep_temp(self, max_age: timedelta = timedelta(hours=1)) -> int:
        """Remove temp files not written to for ``max_age``; return how many were removed.

        A live ``put`` keeps touching its temp file, so only writes abandoned by a crash age.
        ``max_age=0`` removes live writes too: use it only when no ``put`` can be running.
        """
        # File mtimes are wall-clock time, so compare with the wall clock, not self._clock.
        cutoff = time.time() - max_age.total_seconds()
        removed = 0
        for entry in os.scandir(self._tmp):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime <= cutoff:
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
                removed += 1
        return removed

    def _write_temp(self, chunks: Iterable[bytes]) -> tuple[Path, str, int]:
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-", suffix=".part")
        tmp = Path(name)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fchmod(out.fileno(), _BLOB_MODE)
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, digest.hexdigest(), size

    def _publish(self, tmp: Path, final: Path, *, replace: bool = False) -> None:
        if not replace and final.is_file():
            return  # content-addressed: an equal blob is already there
        self._make_dirs(final.parent)
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    def _make_dirs(self, leaf: Path) -> None:
        missing: list[Path] = []
        path = leaf
        while not path.is_dir():
            missing.append(path)
            path = path.parent
        for path in reversed(missing):
            path.mkdir(exist_ok=True)
            _fsync_dir(path.parent)

    def _read_verified(self, sha256: str, write: Callable[[bytes], object]) -> int:
        path = self.path_for(sha256)
        try:
            source = path.open("rb")
        except FileNotFoundError:
            raise BlobMissing(sha256) from None
        digest = hashlib.sha256()
        size = 0
        with source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                write(chunk)
                size += len(chunk)
        if digest.hexdigest() != sha256:
            raise BlobCorrupt(f"blob {sha256} now hashes to {digest.hexdigest()}")
        return size

    def _retention_path(self, sha256: str) -> Path:
        sha = check_sha256(sha256)
        return self._retention / sha[:2] / sha[2:4] / sha

    def _retained_until(self, sha256: str) -> datetime | None:
        record = self._retention_path(sha256)
        try:
            text = record.read_text(encoding="ascii")
            until = datetime.fromisoformat(text.strip())
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError):
            # An unreadable record must not unlock the blob: treat it as retained for ever.
            return datetime.max.replace(tzinfo=UTC)
        return until if until.tzinfo is not None else datetime.max.replace(tzinfo=UTC)


def _subdirs(parent: Path) -> list[Path]:
    return [
        Path(entry.path)
        for entry in sorted(os.scandir(parent), key=lambda e: e.name)
        if entry.is_dir(follow_symlinks=False) and _FANOUT.fullmatch(entry.name)
    ]
