"""Files in and out of the web layer: uploads spooled to disk under the size limit, blobs
sent to the browser after their hash is checked. Shared by the API and the pages."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from fastapi import UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.bootstrap import Services
from records.authz import Principal
from records.documents import Upload, refuse_upload
from records.errors import TooLarge

__all__ = ["BodyLimit", "send_blob", "spooled_uploads"]


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
    try:
        with path.open("wb") as out:
            services.blobs.copy_to(sha256, out)  # verified against its hash while copying
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # no scratch copy left by a failed read
        raise
    return FileResponse(path, media_type=media_type, filename=filename,
                        background=BackgroundTask(shutil.rmtree, folder, True))


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413 while it streams in.

    Starlette parses a multipart body to temporary files before any route runs, so the
    per-file check of ``spooled_uploads`` comes after the whole body was written out: a
    10 GB request would fill the disk first. Here a declared Content-Length over the limit
    is refused before a byte is read, and an undeclared (chunked) body when it passes it.
    Nothing is stored and nothing audited: the request is refused before anyone is known.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received, too_long, refused = 0, False, False

        async def counted() -> Message:
            # FastAPI turns any error raised while it reads the body into a 400, so the
            # overflow is remembered and the body ends as if the client had gone.
            nonlocal received, too_long
            if too_long:
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                too_long = True
                return {"type": "http.disconnect"}
            return message

        async def answered(message: Message) -> None:
            nonlocal refused
            if not too_long:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(send)

        await self.app(scope, counted, answered)
        if too_long and not refused:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": {
            "code": "request_too_large", "field": None,
            "message": f"Dữ liệu gửi lên vượt quá dung lượng cho phép "
                       f"({_size(self.limit)}). Vui lòng gửi ít tệp hơn trong mỗi lần.",
        }}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
