"""Files in and out of the web layer: uploads spooled to disk under the size limit, blobs
sent to the browser after their hash is checked. Shared by the API and the pages."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from fastapi import UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.bootstrap import Services
from records.authz import Principal
from records.documents import Upload, refuse_upload
from records.errors import TooLarge

__all__ = ["send_blob", "spooled_uploads"]


def _size(limit: int) -> str:
    return f"{limit / (1 << 20):.0f} MB" if limit >= 1 << 20 else f"{limit / 1024:.0f} KB"


@contextmanager
def spooled_uploads(services: Services, who: Principal, dossier_code: str,
             files: list[UploadFile]) -> Iterator[list[Upload]]:
    """Copy the uploads to files on disk, refusing any over the size limit as it streams."""
    limit = services.settings.max_upload_bytes
    tmp_root = services.settings.data_dir / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=tmp_root)))
        uploads = []
        for n, upload in enumerate(files):
            path = folder / f"{n:04d}"
            written = 0
            with path.open("wb") as out:
                while chunk := upload.file.read(1 << 20):
                    written += len(chunk)
                    if written > limit:
                        refused = TooLarge("file_too_large", f"Tệp «{upload.filename}» vượt "
                                           f"quá dung lượng cho phép ({_size(limit)}).",
                                           field="files")
                        raise refuse_upload(services.documents, who, dossier_code,
                                            upload.filename or "", refused)
                    out.write(chunk)
            uploads.append(Upload(path=path, filename=upload.filename or f"tep-{n + 1}"))
        yield uploads


def send_blob(services: Services, sha256: str, media_type: str, filename: str) -> FileResponse:
    tmp_root = services.settings.data_dir / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=tmp_root))
    path = folder / "blob"
    with path.open("wb") as out:
        services.blobs.copy_to(sha256, out)  # verified against its hash while copying
    return FileResponse(path, media_type=media_type, filename=filename,
                        background=BackgroundTask(shutil.rmtree, folder, True))
