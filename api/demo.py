"""Demo data for ``make run`` and the scripted ``motcua demo`` flow.

Agencies and branches of Quảng Ninh with a few real procedure types. Procedure codes and
agency e-ID codes here are illustrative, in the national format; an administrator loads the
real ones from the national procedure list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from api.bootstrap import Services
from api.demo_scans import write_sample_scans
from records.accounts import create_user, principal_of
from records.authz import Principal
from records.certificates import CertificateDeps, grant_seal_authorisation, register_certificate
from records.documents import Upload, add_document
from records.errors import DomainError
from records.indexing import publish_outbox
from records.lifecycle import TransitionRequest
from records.model import Agency, Branch, CertificateKind, Procedure, RequiredComponent, Role
from records.repository import RecordsSession
from records.result_reads import open_result
from records.results import DraftRequest, draft_result, seal_results, sign_results
from records.services import CreateDossier, create_dossier, transition_dossier, verify_audit
from signing import DemoPki, verify_pdf
from signing.demo_pki import DEMO_PASSPHRASE
from signing.service import describe_certificate

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "DemoUser", "run_demo", "seed_demo", "seed_history"]

DEMO_PASSWORD = "motcua-demo"  # noqa: S105 - printed to the operator of a demo install

AGENCY_LAND = "000.00.15.H40"  # Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh
AGENCY_WARD = "000.01.02.H40"  # UBND phường Hạ Long
BRANCH_PROVINCE = "TTPVHCC-QN"
BRANCH_WARD = "MC-HALONG"

AGENCIES = (
    Agency(code="000.00.00.H40", name="Ủy ban nhân dân tỉnh Quảng Ninh"),
    Agency(code=AGENCY_LAND, name="Sở Nông nghiệp và Môi trường tỉnh Quảng Ninh"),
    Agency(code=AGENCY_WARD, name="Ủy ban nhân dân phường Hạ Long"),
)

BRANCHES = (
    Branch(code=BRANCH_PROVINCE, name="Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
           agency_code="000.00.00.H40"),
    Branch(code=BRANCH_WARD, name="Bộ phận một cửa phường Hạ Long", agency_code=AGENCY_WARD),
)

PROCEDURES = (
    Procedure(
        code="1.012736.000.00.00.H40", agency_code=AGENCY_LAND, processing_days=20,
        name="Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền "
             "với đất lần đầu",
        fee_vnd=100_000, result_type="Giấy chứng nhận quyền sử dụng đất",
        components=(
            RequiredComponent(code="DON", name="Đơn đăng ký đất đai, tài sản gắn liền với đất "
                              "(Mẫu số 04/ĐK)", document_type="don_dang_ky_dat_dai"),
            RequiredComponent(code="GTNGUONGOC", name="Giấy tờ về quyền sử dụng đất",
                              document_type="giay_to_quyen_su_dung_dat"),
            RequiredComponent(code="CCCD", name="Căn cước công dân của người đề nghị",
                              document_type="can_cuoc_cong_dan"),
            RequiredComponent(code="NGHIAVUTC", name="Chứng từ thực hiện nghĩa vụ tài chính",
                              document_type="chung_tu_tai_chinh", mandatory=False),
        ),
    ),
    Procedure(
        code="1.001193.000.00.00.H40", agency_code=AGENCY_WARD, processing_days=1,
        name="Đăng ký khai sinh", fee_vnd=0, result_type="Giấy khai sinh",
        components=(
            RequiredComponent(code="TOKHAI", name="Tờ khai đăng ký khai sinh",
                              document_type="to_khai_khai_sinh"),
            RequiredComponent(code="CHUNGSINH", name="Giấy chứng sinh",
                              document_type="giay_chung_sinh"),
            RequiredComponent(code="KETHON", name="Giấy chứng nhận kết hôn của cha mẹ",
                              document_type="giay_chung_nhan_ket_hon", mandatory=False),
        ),
    ),
    Procedure(
        code="2.000575.000.00.00.H40", agency_code=AGENCY_WARD, processing_days=3,
        name="Đăng ký thành lập hộ kinh doanh", fee_vnd=100_000,
        result_type="Giấy chứng nhận đăng ký hộ kinh doanh",
        components=(
            RequiredComponent(code="GIAYDENGHI", name="Giấy đề nghị đăng ký hộ kinh doanh",
                              document_type="giay_de_nghi_dang_ky_hkd"),
            RequiredComponent(code="CCCD", name="Căn cước công dân của chủ hộ kinh doanh",
                              document_type="can_cuoc_cong_dan"),
            RequiredComponent(code="HOPDONGTHUE", name="Hợp đồng thuê địa điểm kinh doanh",
                              document_type="hop_dong_thue", mandatory=False),
        ),
    ),
)

# Public holidays of 2026 as announced for state employees; the administrator keeps this
# list current each year (Labour Code 2019 Art. 112 and the annual Tết notice).
HOLIDAYS_2026 = (
    (date(2026, 1, 1), "Tết Dương lịch"),
    *((date(2026, 2, d), "Tết Nguyên đán") for d in range(16, 21)),
    (date(2026, 4, 27), "Giỗ Tổ Hùng Vương (nghỉ bù)"),
    (date(2026, 4, 30), "Ngày Chiến thắng"),
    (date(2026, 5, 1), "Ngày Quốc tế Lao động"),
    (date(2026, 9, 1), "Quốc khánh"),
    (date(2026, 9, 2), "Quốc khánh"),
    (date(2027, 1, 1), "Tết Dương lịch"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    agency_code: str | None = None
    branch_code: str | None = None
    owner_id: str | None = None


DEMO_USERS = (
    DemoUser(username="tiepnhan", display_name="Trần Thị Lan (cán bộ một cửa)",
             role=Role.CLERK, branch_code=BRANCH_PROVINCE),
    DemoUser(username="chuyenvien", display_name="Phạm Văn Minh (chuyên viên xử lý)",
             role=Role.HANDLER, agency_code=AGENCY_LAND),
    DemoUser(username="lanhdao", display_name="Nguyễn Văn Hùng (Phó Giám đốc Sở)",
             role=Role.SIGNER, agency_code=AGENCY_LAND),
    DemoUser(username="vanthu", display_name="Lê Thị Hoa (văn thư giữ con dấu thứ hai)",
             role=Role.SEAL_CUSTODIAN, agency_code=AGENCY_LAND),
    DemoUser(username="quantri", display_name="Đỗ Quang Huy (quản trị hệ thống)",
             role=Role.ADMIN),
    DemoUser(username="congdan", display_name="Nguyễn Thị Hương", role=Role.CITIZEN,
             owner_id="022190001234"),
    DemoUser(username="coquankhac", display_name="Cục Thuế tỉnh Quảng Ninh (hệ thống)",
             role=Role.AGENCY, agency_code="000.00.00.H40"),
)


def _seed_reference(tx: RecordsSession) -> None:
    for agency in AGENCIES:
        tx.add_agency(agency)
    for branch in BRANCHES:
        tx.add_branch(branch)
    for procedure in PROCEDURES:
        tx.add_procedure(procedure)
    for day, name in HOLIDAYS_2026:
        tx.set_holiday(day, name)


def seed_demo(services: Services) -> dict[str, Any]:
    """Load the demo data once; a second call changes nothing. Returns what exists."""
    with services.records.store.session() as tx:
        seeded = tx.get_agency(AGENCY_LAND) is not None
        if not seeded:
            _seed_reference(tx)
    if not seeded:
        for user in DEMO_USERS:
            create_user(services.accounts, username=user.username, password=DEMO_PASSWORD,
                        display_name=user.display_name, roles=frozenset({user.role}),
                        agency_code=user.agency_code, branch_code=user.branch_code,
                        owner_id=user.owner_id, actor="demo-seed")
    seed_demo_pki(services)
    return {"seeded_now": not seeded,
            "users": [{"username": u.username, "role": u.role.value} for u in DEMO_USERS],
            "password": DEMO_PASSWORD}


SEAL_AUTHORISATION = "Quyết định số 15/QĐ-SNNMT ngày 01/11/2026 giao quản lý con dấu thứ hai"
SEAL_HANDOVER = "Biên bản bàn giao số 02/BB-TTPVHCC ngày 02/11/2026"
DEMO_SIGNERS = (("lanhdao", "Nguyễn Văn Hùng", "Phó Giám đốc", AGENCY_LAND),)


def seed_demo_pki(services: Services) -> None:
    """With the demo PKI: create it once, register its certificates and the custodian's
    written authorisation to apply the land agency's seal."""
    if services.settings.pki != "demo":
        return
    directory = services.settings.data_dir / "pki"
    now = services.clock.now()
    if not (directory / "manifest.json").exists():
        DemoPki.create(directory, agencies=[(a.code, a.name) for a in AGENCIES[1:]],
                       people=list(DEMO_SIGNERS), now=now, reuse=True)
    pki = DemoPki.load(directory)
    deps = CertificateDeps(store=services.records.store, clock=services.clock,
                           audit_key=services.records.audit_key)
    admin = Principal(username="demo-seed", roles=frozenset({Role.ADMIN}))
    with services.records.store.session(readonly=True) as tx:
        known = {c.fingerprint for c in tx.certificates()}
    for key, holder in pki.holders.items():
        personal = holder.kind.value == "personal"
        record = describe_certificate(
            holder.certificate.public_bytes(Encoding.PEM),
            kind=CertificateKind.PERSONAL if personal else CertificateKind.ORGANISATION,
            store="pkcs12", location=str(holder.pkcs12.resolve()),
            owner_username=key if personal else None, agency_code=None if personal else key)
        if record.fingerprint in known:
            continue
        stored = register_certificate(deps, admin, record)
        if stored.agency_code == AGENCY_LAND:
            grant_seal_authorisation(
                deps, admin, certificate_id=stored.id, custodian_username="vanthu",
                valid_from=now - timedelta(days=1), valid_to=now + timedelta(days=730),
                reference=SEAL_AUTHORISATION, handover_reference=SEAL_HANDOVER)


def run_demo(services: Services, scans: list[Path] | None = None) -> dict[str, Any]:
    """The whole flow once, each step taken by the demo user whose job it is: papers
    scanned and OCR'd, a result drafted, signed by the official, sealed by the custodian
    with the second seal, and returned."""
    seed_demo(services)
    with services.records.store.session(readonly=True) as tx:
        users = {u.username: tx.get_user(u.username) for u in DEMO_USERS}
    people = {name: principal_of(user) for name, user in users.items() if user is not None}
    procedure = PROCEDURES[0]
    view = create_dossier(services.records, people["tiepnhan"], CreateDossier(
        procedure_code=procedure.code, applicant_id="022190001234",
        applicant_name="Nguyễn Thị Hương", phone="0912345678"))
    code = view.dossier.code
    if not scans:
        scans = write_sample_scans(services.settings.data_dir / "demo-scans")
    documents = [add_document(services.documents, people["tiepnhan"], code,
                              procedure.components[min(n, len(procedure.components) - 1)].code,
                              [Upload(path=path, filename=path.name)])
                 for n, path in enumerate(scans)]
    services.finish_jobs([d.job.id for d in documents if d.job], timeout=600)
    step = partial(transition_dossier, services.records)
    step(people["tiepnhan"], code, TransitionRequest(name="complete_digitisation"))
    step(people["tiepnhan"], code, TransitionRequest(name="assign_handler",
                                                     handler="chuyenvien"))
    step(people["chuyenvien"], code, TransitionRequest(
        name="request_supplement", comment="Đề nghị bổ sung trích đo địa chính thửa đất."))
    step(people["congdan"], code, TransitionRequest(
        name="supply_supplement", comment="Đã nộp bổ sung trích đo địa chính."))
    result = draft_result(services.results, people["chuyenvien"], code, DraftRequest(
        subject="Về việc cấp Giấy chứng nhận quyền sử dụng đất cho bà Nguyễn Thị Hương",
        body=("Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024;",
              "Xét đề nghị của Văn phòng đăng ký đất đai tỉnh Quảng Ninh,",
              "Cấp Giấy chứng nhận quyền sử dụng đất thửa đất số 125, tờ bản đồ số 07, "
              "diện tích 96,5 m², mục đích sử dụng đất ở tại đô thị, cho bà Nguyễn Thị Hương, "
              "số định danh cá nhân 022190001234."),
        signer="lanhdao"))
    step(people["chuyenvien"], code, TransitionRequest(name="submit_for_approval",
                                                       signer="lanhdao"))
    signing = [*sign_results(services.results, people["lanhdao"], [result.code],
                             secret=DEMO_PASSPHRASE),
               *seal_results(services.results, people["vanthu"], [result.code],
                             secret=DEMO_PASSPHRASE)]
    failed = [item for item in signing if not item.ok]
    if failed:
        raise DomainError(failed[0].error_code or "signing_failed", failed[0].message or "")
    step(people["vanthu"], code, TransitionRequest(name="publish_result"))
    final = step(people["tiepnhan"], code, TransitionRequest(name="return_result"))
    sealed = open_result(services.results, people["congdan"], dossier_code=code)
    exports = services.settings.data_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    result_pdf = exports / f"{sealed.result.code}.pdf"
    result_pdf.write_bytes(services.blobs.get(sealed.sha256))
    report = verify_pdf(result_pdf.read_bytes(), validation=services.trust.validation())
    publish_outbox(services.search)  # the result too is searchable when the demo returns
    audit = verify_audit(services.records, people["quantri"])
    return {
        "dossier_code": code,
        "status": final.dossier.status.value,
        "status_label": final.staff_label,
        "steps": [f"{h.actor}: {h.action}" for h in final.history],
        "documents": [{"document_id": d.version_id, "doc_code": d.document.doc_code}
                      for d in documents],
        "result_code": sealed.result.code,
        "result_pdf": str(result_pdf.resolve()),
        "verification_url": f"{services.settings.public_base_url.rstrip('/')}/xac-minh/"
                            f"{sealed.result.code}?d={sealed.result.digest}",
        "signatures": [{"signer": s.signer, "organisation": s.organisation,
                        "indication": s.indication.value, "level": s.level.value
                        if s.level else None} for s in report.signatures],
        "audit": {"intact": audit.intact, "checked": audit.checked},
    }


def seed_history(services: Services, *, dossiers: int = 300) -> dict[str, int]:
    """Months of past dossiers for the statistics (``motcua init --demo`` only: 300 dossiers
    take about six seconds, far too long for every test's seed). See ``api.demo_history``."""
    from api.demo_history import seed_history as seed  # it builds on this module's data

    return seed(services, dossiers=dossiers)
