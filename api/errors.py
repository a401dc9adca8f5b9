"""Every error leaves the API as ``{"error": {"code", "message", "field"}}`` with a stable
code and a Vietnamese message."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from records.errors import DomainError, Unauthenticated
from records.ports import BlobStoreUnavailable

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    404: ("not_found", "Không tìm thấy trang hoặc tài nguyên yêu cầu."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ."),
    413: ("too_large", "Dữ liệu gửi lên quá lớn."),
}


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, headers=headers,
                        content={"error": {"code": code, "message": message, "field": field}})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return error_response(exc.http_status, exc.code, exc.message, exc.field, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        # Positions (ints) locate a character of malformed JSON, not a field.
        location = [part for part in first.get("loc", ())
                    if isinstance(part, str) and part != "body"]
        field = location[-1] if location else None
        return error_response(422, "invalid_request",
                              f"Dữ liệu không hợp lệ ở trường «{field}»." if field
                              else "Dữ liệu gửi lên không hợp lệ.", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", "Yêu cầu không hợp "
                                                              "lệ."))
        return error_response(exc.status_code, code, message)

    @app.exception_handler(BlobStoreUnavailable)
    async def _storage(_: Request, exc: BlobStoreUnavailable) -> JSONResponse:
        log.warning("blob store unavailable: %s", exc)
        return error_response(503, "storage_unavailable", "Kho lưu trữ tạm thời không truy "
                              "cập được. Vui lòng thử lại sau ít phút.",
                              headers={"Retry-After": "30"})
