"""The ``BlobStore`` contract (records/ports.py), run against every implementation."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from records.adapters.blob_fs import FilesystemBlobStore
from records.adapters.blob_memory import MemoryBlobStore
from records.adapters.blob_s3 import S3BlobStore
from records.ports import (
    BlobCorrupt,
    BlobMissing,
    BlobStore,
    BlobStoreUnavailable,
    RetentionOutcome,
)
from tests.fixtures.s3 import S3Server

MiB = 1 << 20
S3_MARKS = [pytest.mark.s3, pytest.mark.integration]


@dataclass(frozen=True, kw_only=True)
class Harness:
    """A store under test and a way to damage one of its blobs behind its back."""

    kind: str
    store: BlobStore
    corrupt: Callable[[str], None]


def _fs_harness(root: Path) -> Harness:
    store = FilesystemBlobStore(root)

    def corrupt(sha: str) -> None:
        path = store.path_for(sha)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        with path.open("r+b") as blob:
            first = blob.read(1)
            blob.seek(0)
            blob.write(bytes([first[0] ^ 0xFF]))
        path.chmod(0o444)

    return Harness(kind="fs", store=store, corrupt=corrupt)


def _memory_harness() -> Harness:
    store = MemoryBlobStore()
    return Harness(kind="memory", store=store, corrupt=store._corrupt)


def s3_store(server: S3Server, bucket: str, *, object_lock: bool, **options: object) -> S3BlobStore:
    return S3BlobStore(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=bucket,
        secure=False,
        region=server.region,
        object_lock=object_lock,
        **options,  # type: ignore[arg-type]
    )


def _s3_harness(server: S3Server, bucket: str, *, object_lock: bool) -> Harness:
    # The smallest part size S3 allows, so the several-MiB tests go multipart.
    store = s3_store(server, bucket, object_lock=object_lock, part_size=5 * MiB)
    raw = server.client()

    def corrupt(sha: str) -> None:
        damaged = b"not the original bytes"
        key = f"sha256/{sha[:2]}/{sha}"
        raw.put_object(bucket, key, io.BytesIO(damaged), len(damaged))

    kind = "s3-locked" if object_lock else "s3"
    return Harness(kind=kind, store=store, corrupt=corrupt)


@pytest.fixture(
    params=[
        pytest.param("fs", marks=pytest.mark.unit),
        pytest.param("memory", marks=pytest.mark.unit),
        pytest.param("s3", marks=S3_MARKS),
        pytest.param("s3-locked", marks=S3_MARKS),
    ]
)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    kind: str = request.param
    if kind == "fs":
        return _fs_harness(tmp_path / "blobs")
    if kind == "memory":
        return _memory_harness()
    server: S3Server = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket_name")
    return _s3_harness(server, bucket, object_lock=kind == "s3-locked")


@pytest.fixture
def store(harness: Harness) -> BlobStore:
    return harness.store


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def in_a_week() -> datetime:
    return datetime.now(UTC) + timedelta(days=7)


class NonSeekable(io.RawIOBase):
    """A pipe-like source: ``read`` only, so the length is unknown until the end."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._inner.read(min(len(buffer), 300_000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_put_then_get_returns_the_bytes(store: BlobStore) -> None:
    data = "Giấy chứng nhận quyền sử dụng đất".encode()

    ref = store.put(data)

    assert ref.sha256 == sha256(data)
    assert ref.size == len(data)
    assert store.get(ref.sha256) == data
    assert store.exists(ref.sha256)
    assert store.size(ref.sha256) == len(data)


def test_empty_blob_round_trips(store: BlobStore) -> None:
    ref = store.put(b"")

    assert ref.size == 0
    assert store.get(ref.sha256) == b""


def test_put_is_idempotent(store: BlobStore) -> None:
    first = store.put(b"same bytes")
    second = store.put(io.BytesIO(b"same bytes"))

    assert first == second
    assert list(store.iter_sha256()) == [first.sha256]


def test_put_streams_a_large_file(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(12 * MiB + 17)
    source = tmp_path / "scan.pdf"
    source.write_bytes(data)

    with source.open("rb") as stream:
        ref = store.put(stream)

    assert ref.sha256 == sha256(data)
    assert ref.size == len(data)
    sink = io.BytesIO()
    assert store.copy_to(ref.sha256, sink) == len(data)
    assert sink.getvalue() == data


def test_put_from_a_stream_of_unknown_length(store: BlobStore) -> None:
    data = os.urandom(6 * MiB + 5)

    ref = store.put(NonSeekable(data))  # type: ignore[arg-type]

    assert ref.sha256 == sha256(data)
    assert store.get(ref.sha256) == data


def test_get_of_a_missing_blob_raises_blob_missing(store: BlobStore) -> None:
    absent = sha256(b"never stored")

    with pytest.raises(BlobMissing):
        store.get(absent)
    with pytest.raises(BlobMissing):
        store.copy_to(absent, io.BytesIO())
    with pytest.raises(BlobMissing):
        store.size(absent)
    assert not store.exists(absent)


def test_corruption_is_detected_on_get(harness: Harness) -> None:
    ref = harness.store.put(b"original scan bytes")
    harness.corrupt(ref.sha256)

    with pytest.raises(BlobCorrupt):
        harness.store.get(ref.sha256)


def test_corruption_is_detected_on_copy_to(harness: Harness) -> None:
    ref = harness.store.put(b"original scan bytes")
    harness.corrupt(ref.sha256)

    with pytest.raises(BlobCorrupt):
        harness.store.copy_to(ref.sha256, io.BytesIO())


def test_iter_sha256_lists_exactly_what_was_put(store: BlobStore) -> None:
    refs = {store.put(f"hồ sơ {n}".encode()).sha256 for n in range(5)}

    assert sorted(store.iter_sha256()) == sorted(refs)


def test_delete_removes_the_blob(store: BlobStore) -> None:
    keep = store.put(b"keep")
    gone = store.put(b"gone")

    store.delete(gone.sha256)

    assert not store.exists(gone.sha256)
    assert list(store.iter_sha256()) == [keep.sha256]
    with pytest.raises(BlobMissing):
        store.get(gone.sha256)


def test_delete_of_a_missing_blob_is_not_an_error(store: BlobStore) -> None:
    store.delete(sha256(b"never stored"))


def test_put_after_delete_stores_again(store: BlobStore) -> None:
    ref = store.put(b"second life")
    store.delete(ref.sha256)

    assert store.put(b"second life") == ref
    assert store.get(ref.sha256) == b"second life"


def test_retained_blob_refuses_deletion_when_enforced(store: BlobStore) -> None:
    ref = store.put(b"decision 123/QD-UBND")

    outcome = store.retain(ref.sha256, in_a_week())

    if outcome is RetentionOutcome.UNSUPPORTED:
        store.delete(ref.sha256)
        assert not store.exists(ref.sha256)
    else:
        with pytest.raises(PermissionError):
            store.delete(ref.sha256)
        assert store.get(ref.sha256) == b"decision 123/QD-UBND"
        assert list(store.iter_sha256()) == [ref.sha256]


def test_retain_never_shortens(store: BlobStore) -> None:
    ref = store.put(b"record")
    store.retain(ref.sha256, in_a_week())

    outcome = store.retain(ref.sha256, datetime.now(UTC) + timedelta(hours=1))

    if outcome is not RetentionOutcome.UNSUPPORTED:
        with pytest.raises(PermissionError):
            store.delete(ref.sha256)


def test_retain_of_a_missing_blob_raises_blob_missing(store: BlobStore) -> None:
    with pytest.raises(BlobMissing):
        store.retain(sha256(b"never stored"), in_a_week())


@pytest.mark.parametrize(
    "until",
    [datetime(2030, 1, 1), datetime.now(UTC) - timedelta(days=1)],  # noqa: DTZ001 - naive on purpose
    ids=["naive", "past"],
)
def test_retain_refuses_a_naive_or_past_date(store: BlobStore, until: datetime) -> None:
    ref = store.put(b"record")

    with pytest.raises(ValueError, match="retention date"):
        store.retain(ref.sha256, until)


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "A" * 64,
        "0" * 63,
        "0" * 65,
        "g" * 64,
        "0" * 63 + "/",
        "0" * 64 + "\n",
        "",
    ],
)
def test_malformed_sha256_is_refused_everywhere(store: BlobStore, bad: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.get(bad),
        lambda: store.copy_to(bad, io.BytesIO()),
        lambda: store.exists(bad),
        lambda: store.size(bad),
        lambda: store.delete(bad),
        lambda: store.retain(bad, in_a_week()),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="sha256"):
            call()


def test_expected_retention_outcome(harness: Harness) -> None:
    ref = harness.store.put(b"record")
    expected = {
        "fs": RetentionOutcome.RECORDED,
        "memory": RetentionOutcome.RECORDED,
        "s3": RetentionOutcome.UNSUPPORTED,
        "s3-locked": RetentionOutcome.LOCKED,
    }[harness.kind]

    assert harness.store.retain(ref.sha256, in_a_week()) is expected


# ------------------------------------------------------------------ only some implementations


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


@pytest.mark.unit
@pytest.mark.parametrize("kind", ["fs", "memory"])
def test_recorded_retention_expires(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    store: BlobStore = (
        FilesystemBlobStore(tmp_path, clock=clock) if kind == "fs" else MemoryBlobStore(clock=clock)
    )
    ref = store.put(b"record")
    store.retain(ref.sha256, clock.current + timedelta(days=30))

    clock.current += timedelta(days=31)
    store.delete(ref.sha256)

    assert not store.exists(ref.sha256)


@pytest.mark.unit
def test_fs_layout_and_permissions(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)

    ref = store.put(b"layout")

    path = tmp_path / ref.sha256[:2] / ref.sha256[2:4] / ref.sha256
    assert store.path_for(ref.sha256) == path
    assert path.read_bytes() == b"layout"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.unit
def test_fs_put_reads_the_source_in_bounded_chunks(tmp_path: Path) -> None:
    sizes: list[int] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(-1 if size is None else size)
            return super().read(size)

    FilesystemBlobStore(tmp_path).put(Recording(os.urandom(5 * MiB)))

    assert sizes
    assert all(0 < size <= MiB for size in sizes)


@pytest.mark.unit
def test_fs_ignores_stray_files(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    ref = store.put(b"real")
    (tmp_path / "tmp" / "put-leftover.part").write_bytes(b"half")
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "notes.txt").write_text("not a blob")

    assert list(store.iter_sha256()) == [ref.sha256]


@pytest.mark.unit
def test_fs_unreadable_retention_record_keeps_the_blob(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    ref = store.put(b"record")
    store.retain(ref.sha256, in_a_week())
    record = tmp_path / "retention" / ref.sha256[:2] / ref.sha256[2:4] / ref.sha256
    record.chmod(0o644)
    record.write_text("garbage")

    with pytest.raises(PermissionError):
        store.delete(ref.sha256)


@pytest.mark.integration
def test_s3_unreachable_server_fails_fast() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"127.0.0.1:{sock.getsockname()[1]}"
    store = S3BlobStore(
        endpoint=endpoint, access_key="k", secret_key="s", bucket="motcua-x", secure=False
    )
    started = time.monotonic()

    with pytest.raises(BlobStoreUnavailable):
        store.exists(sha256(b"x"))
    assert time.monotonic() - started < 5


class Always503(http.server.BaseHTTPRequestHandler):
    def _refuse(self) -> None:
        self.send_response(503)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"<html>Service Unavailable</html>")

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _refuse  # noqa: N815 - http.server names

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.mark.integration
def test_s3_overloaded_server_is_unavailable() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Always503)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = S3BlobStore(
            endpoint=f"127.0.0.1:{server.server_address[1]}",
            access_key="k",
            secret_key="s",
            bucket="motcua-x",
            secure=False,
            region="us-east-1",
        )
        with pytest.raises(BlobStoreUnavailable):
            store.put(b"x")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.integration
@pytest.mark.s3
def test_s3_locked_bucket_with_default_retention_accepts_uploads(
    s3_server: S3Server, s3_bucket_name: str
) -> None:
    from minio.commonconfig import GOVERNANCE
    from minio.objectlockconfig import DAYS, ObjectLockConfig

    raw = s3_server.client()
    raw.make_bucket(s3_bucket_name, object_lock=True)
    raw.set_object_lock_config(s3_bucket_name, ObjectLockConfig(GOVERNANCE, 1, DAYS))
    store = s3_store(s3_server, s3_bucket_name, object_lock=True, part_size=5 * MiB)

    small = store.put(b"small, single PUT: needs the checksum header")
    large = store.put(os.urandom(6 * MiB))

    assert store.exists(small.sha256)
    assert store.exists(large.sha256)
    with pytest.raises(PermissionError):
        store.delete(small.sha256)


@pytest.mark.integration
@pytest.mark.s3
def test_s3_refuses_a_source_that_changes_during_upload(
    s3_server: S3Server, s3_bucket_name: str
) -> None:
    class Shifty(io.BytesIO):
        """Hashes as one content, then uploads another (a file rewritten meanwhile)."""

        def seek(self, offset: int, whence: int = 0) -> int:
            self.getbuffer()[0] ^= 0xFF
            return super().seek(offset, whence)

    store = s3_store(s3_server, s3_bucket_name, object_lock=False)

    with pytest.raises(ValueError, match="changed"):
        store.put(Shifty(b"original content"))
    assert list(store.iter_sha256()) == []


def test_a_fresh_store_is_empty_and_is_a_blob_store(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)
    assert list(store.iter_sha256()) == []
