"""In-memory ``BlobStore`` for unit tests: a fake that passes the same contract suite."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from records.adapters.clock import SystemClock
from records.ports import (
    BlobCorrupt,
    BlobMissing,
    BlobRef,
    Clock,
    RetentionOutcome,
    check_retention_date,
    check_sha256,
)

__all__ = ["MemoryBlobStore"]

_CHUNK = 1 << 20



def _verify(sha256: str, data: bytes) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise BlobCorrupt(f"blob {sha256} now hashes to {actual}")



class MemoryBlobStore:
    """Blobs in a dict; retention is recorded and enforced like the filesystem store's."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._blobs: dict[str, bytes] = {}
        self._retained: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def put(self, source: bytes | BinaryIO) -> BlobRef:
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
        else:
            data = b"".join(iter(lambda: source.read(_CHUNK), b""))
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._blobs.setdefault(sha, data)
        return BlobRef(sha256=sha, size=len(data))

    def get(self, sha256: str) -> bytes:
        data = self._stored(sha256)
        _verify(sha256, data)
        return data

    def copy_to(self, sha256: str, dest: BinaryIO) -> int:
        data = self._stored(sha256)
        # Write before verifying, as the streaming stores do, so tests see the same behaviour.
        dest.write(data)
        _verify(sha256, data)
        return len(data)

    def exists(self, sha256: str) -> bool:
        return check_sha256(sha256) in self._blobs

    def size(self, sha256: str) -> int:
        return len(self._stored(sha256))

    def delete(self, sha256: str) -> None:
        sha = check_sha256(sha256)
        with self._lock:
            until = self._retained.get(sha)
            if until is not None and until > self._clock.now():
                raise PermissionError(f"blob {sha} is retained until {until.isoformat()}")
            self._blobs.pop(sha, None)
            self._retained.pop(sha, None)

    def retain(self, sha256: str, until: datetime) -> RetentionOutcome:
        sha = check_sha256(sha256)
        check_retention_date(until, self._clock.now())
        with self._lock:
            if sha not in self._blobs:
                raise BlobMissing(sha)
            current = self._retained.get(sha)
            self._retained[sha] = until if current is None else max(current, until)
        return RetentionOutcome.RECORDED

    def iter_sha256(self) -> Iterator[str]:
        with self._lock:
            names = sorted(self._blobs)
        yield from names

    def _corrupt(self, sha256: str) -> None:
        """Damage a stored blob in place, as bit rot would (tests only)."""
        data = self._stored(sha256)
        damaged = bytes([data[0] ^ 0xFF]) + data[1:] if data else b"\x00"
        with self._lock:
            self._blobs[sha256] = damaged

    def _stored(self, sha256: str) -> bytes:
        try:
            return self._blobs[check_sha256(sha256)]
        except KeyError:
            raise BlobMissing(sha256) from None
