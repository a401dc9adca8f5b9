"""The home page, login and logout, and sending a form kept across an expired session."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.pages.web import (
    CSRF_FIELD,
    SESSION_COOKIE,
    CsrfChecked,
    OptionalPageUser,
    PageServices,
    PageUser,
    csrf_token,
    drop_parked,
    parked_file,
    parked_form,
    redirect,
    render,
    safe_next,
    secure_cookies,
)
from api.ratelimit import TooManyAttempts, client_address
from records.accounts import logout
from records.errors import NotFound, Unauthenticated
from records.identity import PasswordLogin

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, who: OptionalPageUser) -> Response:
    return render(request, "pages/home.html", user=who)


@router.get("/dang-nhap")
def login_form(request: Request, who: OptionalPageUser,
               next_: Annotated[str | None, Query(alias="next", max_length=500)] = None,
               giu: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    if who is not None and not giu:
        return redirect(request, safe_next(next_))
    return render(request, "pages/login.html", {"next": safe_next(next_), "giu": giu or ""},
                  user=None)


@router.post("/dang-nhap", dependencies=[CsrfChecked])
def login_submit(
    request: Request,
    services: PageServices,
    username: Annotated[str, Form(max_length=80)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    otp: Annotated[str, Form(max_length=10)] = "",
    next_: Annotated[str, Form(alias="next", max_length=500)] = "/",
    giu: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = {"username": username, "next": safe_next(next_), "giu": giu}
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Vui lòng nhập tên đăng nhập hoặc số định danh cá nhân."
    if not password:
        errors["password"] = "Vui lòng nhập mật khẩu."  # noqa: S105 - a message
    if errors:
        return render(request, "pages/login.html", {**form, "form": form, "errors": errors},
                      status_code=422)
    try:
        issued = services.login_throttle.attempt(
            address=client_address(request), name=username,
            login=lambda: services.identity.login(
                PasswordLogin(username=username, password=password, otp=otp or None)))
    except TooManyAttempts as exc:
        page = render(request, "pages/login.html",
                      {**form, "form": form, "errors": {"_form": exc.message}},
                      status_code=429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except Unauthenticated as exc:
        need_otp = exc.code in {"otp_required", "otp_invalid"}
        field = "otp" if need_otp and exc.code == "otp_invalid" else "_form"
        return render(request, "pages/login.html",
                      {**form, "form": form, "need_otp": need_otp,
                       "errors": {field: exc.message}}, status_code=401)
    target = safe_next(next_)
    if giu and parked_form(services, giu, issued.principal.username):
        target = f"/khoi-phuc/{giu}"
    response = redirect(request, target)
    response.set_cookie(SESSION_COOKIE, issued.token, httponly=True, samesite="lax",
                        secure=secure_cookies(request), path="/",
                        max_age=services.settings.token_ttl_minutes * 60)
    return response


@router.post("/dang-xuat", dependencies=[CsrfChecked])
def logout_submit(request: Request, services: PageServices, who: PageUser) -> Response:
    del who
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        logout(services.accounts, token)
    response = redirect(request, "/", flash="Bạn đã đăng xuất.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


ParkId = Annotated[str, PathParam(max_length=40)]


@router.get("/khoi-phuc/{park_id}")
def resume_form(request: Request, services: PageServices, who: PageUser,
                park_id: ParkId) -> Response:
    kept = parked_form(services, park_id, who.username)
    if kept is None:
        raise NotFound("parked_form_not_found", "Không còn biểu mẫu nào được giữ lại.")
    return render(request, "pages/resume.html", {"kept": kept}, user=who)


@router.post("/khoi-phuc/{park_id}", dependencies=[CsrfChecked])
async def resend_form(request: Request, services: PageServices, who: PageUser,
                      park_id: ParkId,
                      action: Annotated[str, Form(max_length=10)] = "send") -> Response:
    kept = parked_form(services, park_id, who.username)
    if kept is None:
        raise NotFound("parked_form_not_found", "Không còn biểu mẫu nào được giữ lại.")
    if action != "send":
        drop_parked(services, park_id)
        return redirect(request, "/", flash="Đã bỏ biểu mẫu được giữ lại.")
    # Post it again, inside this process, as the user who is logged in now.
    data = [*kept.fields, (CSRF_FIELD, csrf_token(request))]
    handles = [parked_file(services, kept, stored).open("rb") for *_, stored in kept.files]
    try:
        files = [(field, (filename, handle, ctype or "application/octet-stream"))
                 for (field, filename, ctype, _), handle in zip(kept.files, handles,
                                                                 strict=True)]
        transport = httpx.ASGITransport(app=request.app)
        async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url),
                                     cookies=dict(request.cookies)) as client:
            answer = await client.post(kept.path, data=dict(_grouped(data)),
                                       files=files or None, follow_redirects=False)
    finally:
        for handle in handles:
            handle.close()
    drop_parked(services, park_id)
    response = Response(answer.content, status_code=answer.status_code)
    for key, value in answer.headers.multi_items():
        if key.lower() in {"location", "set-cookie", "content-type", "cache-control"}:
            response.headers.append(key, value)
    return response


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    grouped: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if key in grouped:
            existing = grouped[key]
            grouped[key] = [*existing, value] if isinstance(existing, list) \
                else [existing, value]
        else:
            grouped[key] = value
    return grouped
