"""What every page shares: the session cookie, CSRF, rendering, flash messages and the
form that survives an expired session.

Pages log in through the same accounts use case as the API: the session cookie carries the
same opaque token a bearer client would (HttpOnly, SameSite=Lax, Secure behind HTTPS). Every
POST carries a CSRF token bound to that session, so another site cannot post forms in the
user's name. When a session has expired by the time a form is posted, the form (uploads
included) is parked on disk for its user; after logging in again the user is offered to send
it, so a clerk never scans a dossier twice because lunch was long.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from api.bootstrap import Services
from api.deps import AppServices, services_of
from records.accounts import authenticate, token_owner
from records.authz import Principal
from records.calendar import VN_TZ
from records.errors import DomainError, Unauthenticated
from records.model import DossierStatus, Role
from records.workflow import STATES

__all__ = [
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "CsrfChecked",
    "FormErrors",
    "LoginRequired",
    "OptionalPageUser",
    "PageServices",
    "PageUser",
    "ParkedForm",
    "form_errors_of",
    "redirect",
    "render",
    "safe_next",
    "templates",
]

SESSION_COOKIE = "motcua_session"
ANON_COOKIE = "motcua_anon"  # binds the login form's CSRF token before there is a session
FLASH_COOKIE = "motcua_flash"
CSRF_FIELD = "csrf"
PARK_TTL_SECONDS = 24 * 3600

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


# -- formatting for templates -----------------------------------------------------------------
def _local(value: datetime | None) -> datetime | None:
    return value.astimezone(VN_TZ) if value is not None else None


def format_datetime(value: datetime | None) -> str:
    local = _local(value)
    return local.strftime("%d/%m/%Y %H:%M") if local else "—"


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return value.strftime("%d/%m/%Y")


def format_vnd(value: int | None) -> str:
    if not value:
        return "Không thu phí"
    return f"{value:,}".replace(",", ".") + " đồng"


def staff_status(value: DossierStatus | str) -> str:
    return STATES[DossierStatus(value)].staff_label


def citizen_status(value: DossierStatus | str) -> str:
    return STATES[DossierStatus(value)].citizen_label


ROLE_LABELS: dict[Role, str] = {
    Role.CLERK: "Cán bộ một cửa",
    Role.HANDLER: "Chuyên viên xử lý",
    Role.SIGNER: "Lãnh đạo ký duyệt",
    Role.SEAL_CUSTODIAN: "Văn thư (con dấu thứ hai)",
    Role.ADMIN: "Quản trị hệ thống",
    Role.CITIZEN: "Công dân",
    Role.AGENCY: "Cơ quan khai thác dữ liệu",
}

templates.env.filters["dt"] = format_datetime
templates.env.filters["d"] = format_date
templates.env.filters["vnd"] = format_vnd
templates.env.filters["staff_status"] = staff_status
templates.env.filters["citizen_status"] = citizen_status
templates.env.filters["role_label"] = lambda role: ROLE_LABELS.get(Role(role), str(role))


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str


# The menu each role sees, in the order of the day's work.
_NAV: tuple[tuple[Role, NavItem], ...] = (
    (Role.CLERK, NavItem("/tiep-nhan", "Tiếp nhận hồ sơ")),
    (Role.CLERK, NavItem("/ho-so", "Danh sách hồ sơ")),
    (Role.HANDLER, NavItem("/xu-ly", "Hồ sơ cần xử lý")),
    (Role.SIGNER, NavItem("/ky-so", "Trình ký")),
    (Role.SEAL_CUSTODIAN, NavItem("/dong-dau", "Đóng dấu số")),
    (Role.CITIZEN, NavItem("/cong-dan", "Hồ sơ của tôi")),
    (Role.CITIZEN, NavItem("/cong-dan/kho-du-lieu", "Kho dữ liệu của tôi")),
    (Role.SIGNER, NavItem("/thong-ke", "Thống kê")),
    (Role.ADMIN, NavItem("/thong-ke", "Thống kê")),
    (Role.ADMIN, NavItem("/quan-tri", "Quản trị")),
)


def nav_for(who: Principal | None) -> list[NavItem]:
    if who is None:
        return []
    items: list[NavItem] = []
    for role, item in _NAV:
        if who.has(role) and item not in items:
            items.append(item)
    return items


# -- services, sessions, CSRF -----------------------------------------------------------------
PageServices = AppServices  # the same dependency as the API's, under the pages' name


def _sign(services: Services, purpose: str, value: str) -> str:
    key = services.settings.secret_key.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:40]


def csrf_token(request: Request) -> str:
    """The token a form of this page must send back: bound to the session (or, before login,
    to the anonymous cookie this response sets)."""
    services = services_of(request)
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return _sign(services, "csrf-session", session)
    anon: str | None = getattr(request.state, "anon", None) or request.cookies.get(ANON_COOKIE)
    if not anon:
        anon = secrets.token_urlsafe(18)
        request.state.anon = anon
    return _sign(services, "csrf-anon", anon)


class CsrfFailed(DomainError):
    http_status = 403

    def __init__(self) -> None:
        super().__init__("csrf_failed", "Biểu mẫu đã hết hiệu lực hoặc không hợp lệ. Vui lòng "
                         "tải lại trang và gửi lại.")


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https" or services_of(request).settings.public_base_url \
        .startswith("https://")


class LoginRequired(Exception):
    """The page needs a logged-in user: redirect to the login page, then back."""

    def __init__(self, next_url: str, *, parked: str | None = None,
                 message: str | None = None) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.parked = parked
        self.message = message


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _page_user(request: Request) -> Principal:
    services = services_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    try:
        return authenticate(services.accounts, token)
    except Unauthenticated as exc:
        if request.method != "POST":
            raise LoginRequired(_here(request), message=exc.message if token else None) \
                from exc
        # A form posted after its session expired: keep it for its user, then log in.
        owner = token_owner(services.accounts, token) if token else None
        parked = await park_form(services, request, owner) if owner else None
        referer = request.headers.get("referer", "")
        back = safe_next(urlsplit(referer).path) if referer else "/"
        raise LoginRequired(back, parked=parked,
                            message="Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại; "
                                    "biểu mẫu bạn vừa gửi đã được giữ lại.") from exc


async def _optional_user(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate(services_of(request).accounts, token)
    except Unauthenticated:
        return None


PageUser = Annotated[Principal, Depends(_page_user)]
OptionalPageUser = Annotated[Principal | None, Depends(_optional_user)]


async def _check_csrf(request: Request) -> None:
    if request.method != "POST":
        return
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise CsrfFailed()


CsrfChecked = Depends(_check_csrf)
"""Add ``dependencies=[CsrfChecked]`` to every page route that accepts a POST (after
``PageUser``, so an expired session parks the form instead of failing CSRF)."""


def safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not send the user elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- rendering --------------------------------------------------------------------------------
FormErrors = dict[str, str]


def form_errors_of(exc: DomainError, default_field: str = "_form") -> FormErrors:
    """A domain refusal as the message to show next to its field."""
    return {exc.field or default_field: exc.message}


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
           user: Principal | None = None, status_code: int = 200) -> HTMLResponse:
    """Render a page with what the layout needs: the user, their menu, the CSRF token and
    the flash message left by the previous step."""
    flash = request.cookies.get(FLASH_COOKIE)
    ctx: dict[str, Any] = {
        "user": user,
        "nav": nav_for(user),
        "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "flash": _unquote_flash(flash) if flash else None,
        "errors": {},
        "form": {},
        "path": request.url.path,
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    anon = getattr(request.state, "anon", None)
    if anon:
        response.set_cookie(ANON_COOKIE, anon, httponly=True, samesite="lax",
                            secure=secure_cookies(request), path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


def _unquote_flash(raw: str) -> str:
    from urllib.parse import unquote

    return unquote(raw)[:500]


def redirect(request: Request, url: str, *, flash: str | None = None) -> RedirectResponse:
    """After a POST: 303 to the page that shows the outcome, with a one-time message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), httponly=True, samesite="lax",
                            secure=secure_cookies(request), path="/", max_age=60)
    return response


def login_redirect(request: Request, exc: LoginRequired) -> Response:
    target = f"/dang-nhap?next={quote(safe_next(exc.next_url), safe='')}"
    if exc.parked:
        target += f"&giu={exc.parked}"
    return redirect(request, target, flash=exc.message)


# -- forms kept across an expired session -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class ParkedForm:
    id: str
    username: str
    path: str
    fields: list[tuple[str, str]]
    files: list[tuple[str, str, str, str]]  # field, filename, content type, stored name
    parked_at: float

    @property
    def summary(self) -> str:
        n = len(self.files)
        return f"{n} tệp tải lên" if n else "dữ liệu biểu mẫu"


def _park_dir(services: Services) -> Path:
    return services.settings.data_dir / "parked"


async def park_form(services: Services, request: Request, username: str) -> str:
    form = await request.form()
    park_id = secrets.token_urlsafe(12)
    folder = _park_dir(services) / park_id
    folder.mkdir(parents=True)
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, str, str, str]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            stored = f"f{len(files)}"
            with (folder / stored).open("wb") as out:
                await value.seek(0)
                shutil.copyfileobj(value.file, out)
            files.append((name, value.filename or stored, value.content_type or "", stored))
        elif name != CSRF_FIELD:
            fields.append((name, value))
    meta = {"username": username, "path": request.url.path, "fields": fields,
            "files": files, "parked_at": time.time()}
    (folder / "form.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    _sweep_parked(services)
    return park_id


def parked_form(services: Services, park_id: str, username: str) -> ParkedForm | None:
    """The form parked under ``park_id`` if it belongs to ``username`` and is fresh."""
    if not park_id.replace("-", "").replace("_", "").isalnum():
        return None
    meta_file = _park_dir(services) / park_id / "form.json"
    if not meta_file.is_file():
        return None
    meta = json.loads(meta_file.read_text("utf-8"))
    if meta["username"] != username or time.time() - meta["parked_at"] > PARK_TTL_SECONDS:
        return None
    return ParkedForm(id=park_id, username=meta["username"], path=meta["path"],
                      fields=[tuple(f) for f in meta["fields"]],
                      files=[tuple(f) for f in meta["files"]],
                      parked_at=meta["parked_at"])


def parked_file(services: Services, form: ParkedForm, stored: str) -> Path:
    return _park_dir(services) / form.id / stored


def drop_parked(services: Services, park_id: str) -> None:
    shutil.rmtree(_park_dir(services) / park_id, ignore_errors=True)


def _sweep_parked(services: Services) -> None:
    root = _park_dir(services)
    now = time.time()
    for folder in root.iterdir() if root.is_dir() else ():
        try:
            if now - folder.stat().st_mtime > PARK_TTL_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            continue
