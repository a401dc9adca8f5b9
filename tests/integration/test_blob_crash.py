"""Crash invariant of ``BlobStore.put``: a writer killed mid-write leaves no blob visible."""

from __future__ import annotations

import hashlib
import os
import select
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from records.adapters.blob_fs import FilesystemBlobStore
from records.adapters.blob_s3 import S3BlobStore
from tests.fixtures.s3 import S3Server

REPO = Path(__file__).resolve().parents[2]
MiB = 1 << 20
WAIT_S = 20.0

# The child writes content(total) slowly, one MiB a read, so the parent can kill it mid-write.
SLOW_SOURCE = textwrap.dedent(
    """
    import sys, time

    def content(total):
        return (bytes(range(256)) * (total // 256 + 1))[:total]

    class SlowSource:
        def __init__(self, total, slow_after_seek=False):
            self.data = content(total)
            self.pos = 0
            self.slow = not slow_after_seek

        def read(self, size=-1):
            if self.slow:
                time.sleep(0.15)
            size = min(size if size > 0 else 1 << 20, 1 << 20)
            chunk = self.data[self.pos:self.pos + size]
            self.pos += len(chunk)
            return chunk

        def seekable(self):
            return True

        def tell(self):
            return self.pos

        def seek(self, pos, whence=0):
            self.pos, self.slow = pos, True
            return pos
    """
)

FS_CHILD = SLOW_SOURCE + textwrap.dedent(
    """
    from pathlib import Path
    from records.adapters.blob_fs import FilesystemBlobStore

    FilesystemBlobStore(Path(sys.argv[1])).put(SlowSource(int(sys.argv[2])))
    """
)

S3_CHILD = SLOW_SOURCE + textwrap.dedent(
    """
    from minio import Minio
    from records.adapters.blob_s3 import S3BlobStore

    upload_part = Minio._upload_part

    def announced_upload_part(self, *args):
        etag = upload_part(self, *args)
        print("part uploaded", flush=True)
        return etag

    Minio._upload_part = announced_upload_part
    endpoint, key, secret, region, bucket, total = sys.argv[1:]
    store = S3BlobStore(
        endpoint=endpoint, access_key=key, secret_key=secret, bucket=bucket,
        secure=False, region=region, part_size=5 << 20,
    )
    # Hashed fast in the first pass, uploaded slowly in the second.
    store.put(SlowSource(int(total), slow_after_seek=True))
    """
)


def content(total: int) -> bytes:
    return (bytes(range(256)) * (total // 256 + 1))[:total]


def spawn(script: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(proc: subprocess.Popen[bytes], ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"writer exited {proc.returncode} before {what}: {err.decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"writer never reached {what}")
        time.sleep(0.02)


def kill_hard(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()  # SIGKILL: no finally blocks, no atexit, no cleanup
    proc.communicate(timeout=10)
    assert proc.returncode == -9


def hash_of(store: FilesystemBlobStore | S3BlobStore, sha: str) -> str:
    digest = hashlib.sha256()

    class Sink:
        def write(self, chunk: bytes) -> int:
            digest.update(chunk)
            return len(chunk)

    store.copy_to(sha, Sink())  # type: ignore[arg-type]
    return digest.hexdigest()


@pytest.mark.integration
@pytest.mark.fault
def test_fs_put_killed_mid_write_leaves_no_blob(tmp_path: Path) -> None:
    total = 16 * MiB
    full_sha = hashlib.sha256(content(total)).hexdigest()
    root = tmp_path / "blobs"
    temp_dir = root / "tmp"

    def partly_written() -> bool:
        return temp_dir.is_dir() and any(f.stat().st_size > 0 for f in temp_dir.iterdir())

    proc = spawn(FS_CHILD, str(root), str(total))
    wait_for(proc, partly_written, "a partly written temp file")
    kill_hard(proc)

    store = FilesystemBlobStore(root)
    leftovers = list(temp_dir.iterdir())
    assert len(leftovers) == 1
    assert leftovers[0].stat().st_size < total
    assert list(store.iter_sha256()) == []
    assert not store.exists(full_sha)

    ref = store.put(content(total))
    assert ref.sha256 == full_sha
    assert hash_of(store, full_sha) == full_sha

    assert store.sweep_temp(max_age=timedelta(0)) == 1
    assert list(temp_dir.iterdir()) == []
    assert list(store.iter_sha256()) == [full_sha]


@pytest.mark.unit
def test_fs_sweep_keeps_fresh_temp_files(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    stale = tmp_path / "tmp" / "put-stale.part"
    fresh = tmp_path / "tmp" / "put-fresh.part"
    stale.write_bytes(b"abandoned")
    fresh.write_bytes(b"being written")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(stale, (two_hours_ago, two_hours_ago))

    assert store.sweep_temp() == 1
    assert list((tmp_path / "tmp").iterdir()) == [fresh]


@pytest.mark.integration
@pytest.mark.s3
@pytest.mark.fault
def test_s3_put_killed_mid_multipart_leaves_no_object(
    s3_server: S3Server, s3_bucket_name: str
) -> None:
    total = 20 * MiB
    full_sha = hashlib.sha256(content(total)).hexdigest()
    store = S3BlobStore(
        endpoint=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        bucket=s3_bucket_name,
        secure=False,
        region=s3_server.region,
        part_size=5 * MiB,
    )
    assert list(store.iter_sha256()) == []  # creates the bucket before the child races for it

    proc = spawn(
        S3_CHILD,
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        s3_server.region,
        s3_bucket_name,
        str(total),
    )
    stdout = proc.stdout
    assert stdout is not None

    def a_part_is_up() -> bool:
        return bool(select.select([stdout], [], [], 0)[0]) and b"part" in stdout.readline()

    wait_for(proc, a_part_is_up, "the first uploaded part")
    kill_hard(proc)

    assert not store.exists(full_sha)
    assert list(store.iter_sha256()) == []
    # The server still holds the abandoned upload: only a lifecycle rule reclaims it.
    pending = s3_server.client()._list_multipart_uploads(s3_bucket_name)
    assert len(pending.uploads) == 1

    ref = store.put(content(total))
    assert ref.sha256 == full_sha
    assert hash_of(store, full_sha) == full_sha
