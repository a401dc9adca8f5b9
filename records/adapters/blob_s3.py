"""S3 ``BlobStore`` on the MinIO Python SDK, coded to the S3 API (any S3 server will do).

Key layout: ``sha256/ab/abcd...`` for the blob whose sha256 is ``abcd...``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import math
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, BinaryIO, Literal, cast

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import DictType
from minio.retention import Retention

from records.ports import (
    BlobCorrupt,
    BlobMissing,
    BlobRef,
    BlobStoreUnavailable,
    RetentionOutcome,
    check_retention_date,
    check_sha256,
    is_sha256,
)

__all__ = ["S3BlobStore"]

_log = logging.getLogger(__name__)

_MiB = 1 << 20
_MIN_PART, _MAX_PARTS = 5 * _MiB, 10_000  # S3's multipart limits
_SPOOL_IN_MEMORY = 8 * _MiB
_PREFIX = "sha256/"
_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchVersion"})
_RETAIN_UNTIL = "x-amz-object-lock-retain-until-date"



def _key(sha256: str) -> str:
    sha = check_sha256(sha256)
    return f"{_PREFIX}{sha[:2]}/{sha}"


@contextmanager
def _translated(sha256: str | None = None) -> Iterator[None]:
    """Turn the SDK's errors into the port's: unreachable server, missing blob."""
    try:
        yield
    except S3Error as exc:
        if sha256 is not None and exc.code in _MISSING:
            raise BlobMissing(sha256) from exc
        raise
    except InvalidResponseError as exc:
        # A non-S3 answer: a gateway's 502/504 page is transient, a 4xx a wrong endpoint.
        if getattr(exc, "_code", 0) >= 500:
            raise BlobStoreUnavailable(f"S3 server unavailable: {exc}") from exc
        raise
    except (ServerError, urllib3.exceptions.HTTPError) as exc:
        raise BlobStoreUnavailable(f"S3 server unavailable: {exc}") from exc


@dataclass(frozen=True, kw_only=True, slots=True)
class _Staged:
    stream: IO[bytes]
    sha256: str
    size: int


class _VerifyingReader:
    """Re-hash the bytes as the SDK reads them; fail before the last byte leaves.

    A seekable source is hashed in a first pass and uploaded in a second; if it changed in
    between, the object would be stored under a name its bytes do not have.
    """

    def __init__(self, staged: _Staged) -> None:
        self._staged = staged
        self._digest = hashlib.sha256()
        self._left = staged.size

    def read(self, size: int = -1) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        data = self._staged.stream.read(want)
        self._digest.update(data)
        self._left -= len(data)
        if self._left == 0 and self._digest.hexdigest() != self._staged.sha256:
            # Raising aborts the upload: minio aborts a multipart upload on any exception.
            raise ValueError("the source changed while it was being uploaded")
        return data


class S3BlobStore:
    """The scale-out ``BlobStore``: one S3 bucket, optionally with object lock."""

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str | None = None,
        object_lock: bool = False,
        retention_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE",
        part_size: int = 16 * _MiB,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
    ) -> None:
        if retention_mode not in (COMPLIANCE, GOVERNANCE):
            raise ValueError(f"unknown retention mode {retention_mode!r}")
        if part_size < _MIN_PART:
            raise ValueError(f"part_size must be at least {_MIN_PART} bytes")
        self._bucket = bucket
        self._region = region
        self._object_lock = object_lock
        self._mode = retention_mode
        self._part_size = part_size
        # minio's own default (5 min timeouts, 5 retries) takes minutes to give up on a dead
        # server; one connect retry and short timeouts fail within a few seconds.
        retries = urllib3.Retry(
            total=3, connect=1, backoff_factor=0.25, status_forcelist=(500, 502, 503, 504)
        )
        timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        http = urllib3.PoolManager(timeout=timeout, retries=retries, maxsize=10)
        self._client = Minio(
            endpoint, access_key, secret_key, secure=secure, region=region, http_client=http
        )
        self._ready = threading.Lock()
        self._locking: bool | None = None  # known after the first call reaches the bucket
        self._versioned = False

    def put(self, source: bytes | BinaryIO) -> BlobRef:
        locking = self._ensure_bucket()
        with _staged(source) as staged:
            ref = BlobRef(sha256=staged.sha256, size=staged.size)
            if not self.exists(ref.sha256):
                self._upload(staged, locking=locking)
        return ref

    def _upload(self, staged: _Staged, *, locking: bool) -> None:
        fewest_parts = _MIN_PART * math.ceil(staged.size / _MAX_PARTS / _MIN_PART)
        part_size = max(self._part_size, fewest_parts)
        headers: DictType = {}
        if locking and staged.size <= part_size:
            # A locked bucket with default retention refuses a PutObject without Content-MD5
            # or x-amz-sdk-checksum-algorithm. minio-py sends Content-MD5 only over TLS and
            # passes extra headers only as x-amz-* `metadata`; its multipart parts take none.
            headers = {
                "x-amz-sdk-checksum-algorithm": "SHA256",
                "x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(staged.sha256)).decode(),
            }
        with _translated():
            self._client.put_object(
                self._bucket,
                _key(staged.sha256),
                cast(BinaryIO, _VerifyingReader(staged)),
                staged.size,
                metadata=headers or None,
                part_size=part_size,
                num_parallel_uploads=2,
            )

    def get(self, sha256: str) -> bytes:
        buffer = io.BytesIO()
        self.copy_to(sha256, buffer)
        return buffer.getvalue()

    def copy_to(self, sha256: str, dest: BinaryIO) -> int:
        key = _key(sha256)
        self._ensure_bucket()
        digest = hashlib.sha256()
        size = 0
        with _translated(sha256):
            response = self._client.get_object(self._bucket, key)
            try:
                for chunk in response.stream(_MiB):
                    digest.update(chunk)
                    dest.write(chunk)
                    size += len(chunk)
            finally:
                response.close()
                response.release_conn()
        if digest.hexdigest() != sha256:
            raise BlobCorrupt(f"blob {sha256} now hashes to {digest.hexdigest()}")
        return size

    def exists(self, sha256: str) -> bool:
        try:
            self._stat(sha256)
        except BlobMissing:
            return False
        return True

    def size(self, sha256: str) -> int:
        return cast(int, self._stat(sha256).size)

    def delete(self, sha256: str) -> None:
        """Remove every version of the blob; a version under retention refuses first."""
        key = _key(sha256)
        self._ensure_bucket()
        with _translated():
            try:
                if self._versioned:
                    # A plain DELETE on a versioned bucket only hides the object behind a
                    # delete marker and succeeds even under object lock; deleting each
                    # version (newest first) is what the lock actually refuses.
                    versions = self._client.list_objects(
                        self._bucket, prefix=key, include_version=True
                    )
                    for version in list(versions):
                        if version.object_name == key:
                            self._client.remove_object(
                                self._bucket, key, version_id=version.version_id
                            )
                else:
                    self._client.remove_object(self._bucket, key)
            except S3Error as exc:
                if exc.code == "AccessDenied":
                    raise PermissionError(f"blob {sha256} may not be deleted: {exc}") from exc
                raise

    def retain(self, sha256: str, until: datetime) -> RetentionOutcome:
        """Lock the blob's current version until ``until`` (never shortening a lock)."""
        check_retention_date(until, datetime.now(UTC))
        stat = self._stat(sha256)
        if not self._ensure_bucket():
            return RetentionOutcome.UNSUPPORTED
        current = _retained_until(stat)
        if current is not None and current >= until:
            # Checked here because moto lets even a COMPLIANCE date be shortened.
            return RetentionOutcome.LOCKED
        with _translated(sha256):
            self._client.set_object_retention(
                self._bucket,
                _key(sha256),
                Retention(self._mode, until.astimezone(UTC)),
                version_id=stat.version_id,
            )
        return RetentionOutcome.LOCKED

    def iter_sha256(self) -> Iterator[str]:
        self._ensure_bucket()
        with _translated():
            for obj in self._client.list_objects(self._bucket, prefix=_PREFIX, recursive=True):
                name = cast(str, obj.object_name)
                sha = name.rsplit("/", 1)[-1]
                if is_sha256(sha) and name == _key(sha):
                    yield sha

    def _stat(self, sha256: str) -> Object:
        key = _key(sha256)
        self._ensure_bucket()
        with _translated(sha256):
            return self._client.stat_object(self._bucket, key)

    def _ensure_bucket(self) -> bool:
        """Create the bucket on first use; return whether it enforces object lock."""
        if self._locking is not None:
            return self._locking
        with self._ready, _translated():
            if self._locking is not None:
                return self._locking
            if not self._client.bucket_exists(self._bucket):
                try:
                    self._client.make_bucket(
                        self._bucket, location=self._region, object_lock=self._object_lock
                    )
                except S3Error as exc:
                    if exc.code != "BucketAlreadyOwnedByYou":
                        raise
            status = self._client.get_bucket_versioning(self._bucket).status
            self._versioned = status in ("Enabled", "Suspended")
            self._locking = self._object_lock and self._bucket_has_lock()
            return self._locking

    def _bucket_has_lock(self) -> bool:
        try:
            self._client.get_object_lock_config(self._bucket)
        except S3Error as exc:
            if exc.code != "ObjectLockConfigurationNotFoundError":
                raise
            _log.warning(
                "bucket %s has no object lock; retention will not be enforced", self._bucket
            )
            return False
        return True


def _retained_until(stat: Object) -> datetime | None:
    # moto lacks GetObjectRetention; the HEAD response carries the same date on any server.
    value = (stat.metadata or {}).get(_RETAIN_UNTIL)
    if not value:
        return None
    return datetime.fromisoformat(str(value))


@contextmanager
def _staged(source: bytes | BinaryIO) -> Iterator[_Staged]:
    """Learn the sha256 and size before uploading, since they name the object."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        sha = hashlib.sha256(data).hexdigest()
        yield _Staged(stream=io.BytesIO(data), sha256=sha, size=len(data))
        return
    try:
        start = source.tell() if source.seekable() else None
    except (AttributeError, OSError):  # a pipe or a minimal reader
        start = None
    if start is not None:
        sha, size = _hash_copy(source, None)
        source.seek(start)
        yield _Staged(stream=source, sha256=sha, size=size)
        return
    # Unknown length: keep a copy while hashing, so the source is read only once.
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        sha, size = _hash_copy(source, spool)
        spool.seek(0)
        yield _Staged(stream=spool, sha256=sha, size=size)


def _hash_copy(source: BinaryIO, sink: IO[bytes] | None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(_MiB):
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    return digest.hexdigest(), size
