"""Pages: the certificate registry and seal authorisations (/quan-tri/chung-thu-so):
registering a signer's or an agency's certificate, and authorising a custodian to apply the
agency's one (the second seal). Included in ``api.pages.admin``'s router, under its
/quan-tri prefix."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from api.bootstrap import Services
from api.pages.admin_common import Admin, Text, admin_deps, field_errors, refusal_status
from api.pages.web import CsrfChecked, FormErrors, PageServices, redirect, render
from records.admin import EXPIRY_WARNING, list_agencies
from records.admin_accounts import list_accounts
from records.admin_seals import (
    AuthorisationDraft,
    certificate_deps,
    grant_authorisation,
    list_authorisations,
    list_certificates,
)
from records.authz import Principal
from records.calendar import VN_TZ
from records.certificates import register_certificate
from records.errors import DomainError
from records.model import CertificateKind, Role
from signing.service import describe_certificate

router = APIRouter(include_in_schema=False)

MAX_CERTIFICATE_BYTES = 64 * 1024


@router.get("/chung-thu-so")
def certificates(request: Request, services: PageServices, who: Admin) -> Response:
    deps = admin_deps(services)
    now = services.clock.now()
    certs = list_certificates(deps, who)
    by_id = {c.id: c for c in certs}
    agencies = {a.code: a.name for a in list_agencies(deps, who)}
    return render(request, "pages/admin/certificates.html",
                  {"certificates": certs, "by_id": by_id, "agencies": agencies,
                   "authorisations": list_authorisations(deps, who), "now": now,
                   "soon": now + EXPIRY_WARNING}, user=who)


def _people(services: Services, who: Principal, role: Role) -> list[tuple[str, str]]:
    return [(u.username, f"{u.display_name} ({u.username})")
            for u in list_accounts(admin_deps(services), who, role=role, limit=1000)
            if u.active]


def _certificate_page(request: Request, services: Services, who: Principal, *,
                      form: dict[str, Any] | None = None, errors: FormErrors | None = None,
                      status_code: int = 200) -> Response:
    agencies = list_agencies(admin_deps(services), who)
    return render(request, "pages/admin/certificate_form.html",
                  {"form": form or {"kind": "organisation", "store": "pkcs12"},
                   "errors": errors or {},
                   "owner_options": [("", "— Lãnh đạo sở hữu chứng thư —"),
                                     *_people(services, who, Role.SIGNER)],
                   "agency_options": [("", "— Cơ quan sở hữu con dấu —"),
                                      *((a.code, a.name) for a in agencies)]},
                  user=who, status_code=status_code)


@router.get("/chung-thu-so/dang-ky")
def certificate_new(request: Request, services: PageServices, who: Admin) -> Response:
    return _certificate_page(request, services, who)


def _pem_of(data: bytes) -> bytes:
    """The certificate of a PEM or DER file, as PEM; ValueError if it is neither."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.PEM)
    return x509.load_der_x509_certificate(data).public_bytes(Encoding.PEM)


@router.post("/chung-thu-so/dang-ky", dependencies=[CsrfChecked])
def certificate_register(request: Request, services: PageServices, who: Admin,
                         file: Annotated[UploadFile | None, File()] = None,
                         kind: Annotated[str, Form(max_length=20)] = "",
                         owner_username: Text = "", agency_code: Text = "",
                         store: Annotated[str, Form(max_length=20)] = "",
                         location: Text = "", label: Text = "") -> Response:
    form = {"kind": kind, "owner_username": owner_username, "agency_code": agency_code,
            "store": store, "location": location, "label": label}
    errors: FormErrors = {}
    data = file.file.read(MAX_CERTIFICATE_BYTES + 1) if file is not None else b""
    pem = b""
    if not data:
        errors["file"] = "Vui lòng chọn tệp chứng thư số (.pem, .crt hoặc .cer)."
    elif len(data) > MAX_CERTIFICATE_BYTES:
        errors["file"] = "Tệp quá lớn để là một chứng thư số."
    else:
        try:
            pem = _pem_of(data)
        except ValueError:
            errors["file"] = "Tệp không phải chứng thư số X.509 dạng PEM hoặc DER."
    if kind not in {k.value for k in CertificateKind}:
        errors["kind"] = "Vui lòng chọn loại chứng thư số."
    if not location.strip():
        errors["location"] = ("Vui lòng nhập nơi lưu khóa bí mật (đường dẫn tệp PKCS#12 hoặc "
                              "thư viện PKCS#11).")
    if errors:
        return _certificate_page(request, services, who, form=form, errors=errors,
                                 status_code=422)
    personal = kind == CertificateKind.PERSONAL.value
    record = describe_certificate(
        pem, kind=CertificateKind(kind), store=store, location=location.strip(),
        label=label.strip(), owner_username=owner_username.strip() if personal else None,
        agency_code=None if personal else agency_code.strip())
    try:
        stored = register_certificate(certificate_deps(admin_deps(services)), who, record)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        return _certificate_page(request, services, who, form=form,
                                 errors=field_errors(exc, "file"),
                                 status_code=refusal_status(exc))
    return redirect(request, "/quan-tri/chung-thu-so",
                    flash=f"Đã đăng ký chứng thư số «{stored.subject}».")


def _authorisation_page(request: Request, services: Services, who: Principal, *,
                        form: dict[str, Any] | None = None, errors: FormErrors | None = None,
                        status_code: int = 200) -> Response:
    deps = admin_deps(services)
    now = services.clock.now()
    agencies = {a.code: a.name for a in list_agencies(deps, who)}
    seals = [(str(c.id), f"{c.subject} — {agencies.get(c.agency_code or '', c.agency_code)}")
             for c in list_certificates(deps, who)
             if c.kind is CertificateKind.ORGANISATION and c.not_after > now]
    today = now.astimezone(VN_TZ).date()
    return render(request, "pages/admin/authorisation_form.html",
                  {"form": form or {"valid_from": today.isoformat(),
                                    "valid_to": (today + timedelta(days=365)).isoformat()},
                   "errors": errors or {},
                   "certificate_options": [("", "— Chọn chứng thư số tổ chức —"), *seals],
                   "custodian_options": [("", "— Chọn văn thư —"),
                                         *_people(services, who, Role.SEAL_CUSTODIAN)]},
                  user=who, status_code=status_code)


@router.get("/chung-thu-so/uy-quyen")
def authorisation_new(request: Request, services: PageServices, who: Admin) -> Response:
    return _authorisation_page(request, services, who)


@router.post("/chung-thu-so/uy-quyen", dependencies=[CsrfChecked])
def authorisation_grant(request: Request, services: PageServices, who: Admin,
                        certificate_id: Annotated[str, Form(max_length=20)] = "",
                        custodian_username: Text = "",
                        valid_from: Annotated[str, Form(max_length=20)] = "",
                        valid_to: Annotated[str, Form(max_length=20)] = "",
                        reference: Text = "", handover_reference: Text = "") -> Response:
    draft = AuthorisationDraft(certificate_id=certificate_id,
                               custodian_username=custodian_username,
                               valid_from=valid_from, valid_to=valid_to,
                               reference=reference, handover_reference=handover_reference)
    try:
        granted = grant_authorisation(admin_deps(services), who, draft)
    except DomainError as exc:
        if exc.http_status not in (409, 422):
            raise
        form = {"certificate_id": certificate_id, "custodian_username": custodian_username,
                "valid_from": valid_from, "valid_to": valid_to, "reference": reference,
                "handover_reference": handover_reference}
        return _authorisation_page(request, services, who, form=form,
                                   errors=field_errors(exc), status_code=refusal_status(exc))
    return redirect(request, "/quan-tri/chung-thu-so",
                    flash=f"Đã giao quyền sử dụng con dấu số cho «{granted.custodian_username}».")
