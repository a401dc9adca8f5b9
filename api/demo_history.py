"""Months of past work for a demo installation, so that the statistics have something to say.

About 300 dossiers received over the past five months at both desks, each taken through the
real workflow engine (``records.lifecycle``: the same guards, local roles and due dates as
the use cases) by the demo staff, at the times it happened: received at the desk or online,
digitised, handled, sometimes asked for a supplement, signed, sealed and returned; a few
refused or withdrawn; the recent ones still open, and a couple stuck past their due date.
Papers are registered in the applicants' data stores, and a citizen's second dossier reuses
the identity card the state already holds. Many citizens rated the service.

Everything is written through the records store port in one transaction, with its history
rows and audit entries (appended in time order, so ``motcua audit verify`` holds). What is
not made: the e-results themselves (signing 300 PDFs would take minutes) and OCR text; the
papers all point at one small placeholder PDF.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

import pikepdf

from api.bootstrap import Services
from api.demo import AGENCY_LAND, AGENCY_WARD, BRANCH_PROVINCE, BRANCH_WARD, DEMO_PASSWORD
from records.accounts import create_user, principal_of
from records.audit import AuditEvent
from records.authz import Principal
from records.calendar import VN_TZ, WorkingCalendar
from records.indexing import document_key
from records.lifecycle import Policy, TransitionRequest, apply_transition, open_dossier
from records.model import (
    CopyKind,
    Document,
    DocumentVersion,
    Dossier,
    DossierStatus,
    HistoryEntry,
    Person,
    Procedure,
    Rating,
    ReuseStatus,
    Role,
    StoredFile,
    StoreItem,
    StoreStatus,
    VersionStatus,
)
from records.repository import RecordsSession

__all__ = ["HISTORY_USERS", "seed_history"]

HISTORY_ACTOR = "demo-history"

# The ward's own staff, who handle its procedures (the demo's main users work for the land
# agency): (username, display name, role, agency, branch).
HISTORY_USERS = (
    ("motcua.halong", "Vũ Thị Mai (cán bộ một cửa phường)", Role.CLERK, None, BRANCH_WARD),
    ("chuyenvien.halong", "Hoàng Văn Nam (công chức tư pháp - hộ tịch)", Role.HANDLER,
     AGENCY_WARD, None),
    ("lanhdao.halong", "Bùi Thị Thu (Phó Chủ tịch UBND phường)", Role.SIGNER, AGENCY_WARD,
     None),
    ("vanthu.halong", "Đặng Thị Yến (văn thư UBND phường)", Role.SEAL_CUSTODIAN, AGENCY_WARD,
     None),
)

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương",
           "Lý")
_MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Quang", "Ngọc", "Hữu", "Thanh", "Xuân")
_GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Khánh", "Lan",
          "Linh", "Long", "Mai", "Nam", "Nga", "Phong", "Phương", "Quân", "Sơn", "Tâm", "Thảo",
          "Trang", "Tuấn", "Việt", "Yến")
_SUPPLEMENTS = (
    "Đề nghị bổ sung trích đo địa chính thửa đất.",
    "Đề nghị bổ sung bản sao giấy tờ về quyền sử dụng đất có chứng thực.",
    "Đề nghị bổ sung hợp đồng thuê địa điểm kinh doanh.",
    "Tờ khai còn thiếu thông tin nơi sinh, đề nghị bổ sung.",
)
_COMMENTS = {5: ("Cán bộ hướng dẫn tận tình, trả kết quả sớm.", "Rất nhanh, không phải đi lại.",
                 ""),
             4: ("Thủ tục thuận tiện.", "Hài lòng, nhưng phải chờ lâu ở quầy.", ""),
             3: ("Thời gian xử lý còn dài.", ""),
             2: ("Phải bổ sung giấy tờ nhiều lần.",),
             1: ("Trả kết quả chậm so với giấy hẹn.",)}


def _placeholder_pdf() -> bytes:
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font,
                                                Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 14 Tf 72 770 Td (Ban so hoa - du lieu lich su "
                                    b"minh hoa cua ban demo) Tj ET")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@dataclass
class _Plan:
    """What happens to one dossier; times are local."""

    procedure: Procedure
    branch: str
    applicant: Person
    online: bool
    received: datetime
    supplement: bool = False
    outcome: str = "returned"  # returned | late | refused | stopped | stuck
    rating: int | None = None


@dataclass
class _World:
    tx: RecordsSession
    services: Services
    calendar: WorkingCalendar
    policy: Policy
    now: datetime
    people: dict[str, Principal]
    procedures: dict[str, Procedure]
    blob: StoredFile
    rng: random.Random
    audit: list[tuple[datetime, AuditEvent]] = field(default_factory=list)
    held: dict[tuple[str, str], str] = field(default_factory=dict)  # (owner, type) -> ref
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1


def _local(day: date, hours: float) -> datetime:
    moment = datetime.combine(day, time(0), tzinfo=VN_TZ) + timedelta(hours=hours)
    return moment.astimezone(UTC)


def _ensure_staff(services: Services) -> None:
    with services.records.store.session(readonly=True) as tx:
        missing = [u for u in HISTORY_USERS if tx.get_user(u[0]) is None]
    for username, name, role, agency, branch in missing:
        create_user(services.accounts, username=username, password=DEMO_PASSWORD,
                    display_name=name, roles=frozenset({role}), agency_code=agency,
                    branch_code=branch, actor=HISTORY_ACTOR)


def _principals(tx: RecordsSession) -> dict[str, Principal]:
    names = ["tiepnhan", "chuyenvien", "lanhdao", "vanthu", *(u[0] for u in HISTORY_USERS)]
    people = {}
    for name in names:
        user = tx.get_user(name)
        if user is None:
            raise LookupError(f"demo user {name} is missing: run seed_demo first")
        people[name] = principal_of(user)
    return people


def _staff(plan: _Plan) -> tuple[str, str, str, str]:
    """(clerk, handler, signer, custodian) for the plan's desk and agency."""
    clerk = "tiepnhan" if plan.branch == BRANCH_PROVINCE else "motcua.halong"
    if plan.procedure.agency_code == AGENCY_LAND:
        return clerk, "chuyenvien", "lanhdao", "vanthu"
    return clerk, "chuyenvien.halong", "lanhdao.halong", "vanthu.halong"


def _step(world: _World, dossier: Dossier, history: list[HistoryEntry], name: str,
          actor: str, at: datetime, **fields: object) -> Dossier | None:
    """Take one step if its time has come; None once the plan runs into the future."""
    if at > world.now:
        return None
    request = TransitionRequest(name=name, **fields)  # type: ignore[arg-type]
    outcome = apply_transition(dossier, request, actor=world.people[actor], now=at,
                               procedure=world.procedures[dossier.procedure_code],
                               policy=world.policy, history=history)
    history.append(outcome.entry)
    _audit_step(world, outcome.entry, outcome.dossier)
    return outcome.dossier


def _audit_step(world: _World, entry: HistoryEntry, dossier: Dossier) -> None:
    world.audit.append((entry.at, AuditEvent(
        actor=entry.actor, action=f"dossier.{entry.action}", object_type="dossier",
        object_id=dossier.code,
        detail={"from": entry.from_status.value if entry.from_status else None,
                "to": entry.to_status.value, "comment": entry.comment,
                "due_at": dossier.due_at.isoformat() if dossier.due_at else None})))


def _papers(world: _World, dossier: Dossier, plan: _Plan, clerk: str, at: datetime) -> None:
    tx = world.tx
    for component in plan.procedure.components:
        if not component.mandatory:
            continue
        key = (dossier.applicant_id, component.document_type)
        source = world.held.get(key) if component.document_type == "can_cuoc_cong_dan" \
            else None
        seq = tx.next_document_seq(dossier.agency_code, component.document_type)
        document = tx.add_document(Document(
            id=0, dossier_id=dossier.id,
            doc_code=f"{dossier.agency_code}_{component.document_type}_{seq:06d}",
            component_code=component.code, document_type=component.document_type,
            owner_id=dossier.applicant_id, created_at=at, created_by=clerk,
            title=component.name,
            copy_kind=CopyKind.CERTIFIED_COPY if source else CopyKind.COPY,
            reuse_status=ReuseStatus.REUSED_FROM_STORE if source else ReuseStatus.NEW,
            reuse_source=source))
        tx.add_version(DocumentVersion(document_id=document.id, version=1,
                                       status=VersionStatus.PROCESSING, files=(world.blob,),
                                       created_at=at, created_by=clerk))
        tx.set_version_outcome(document.id, 1, status=VersionStatus.READY,
                               archival_sha256=world.blob.sha256, page_count=1,
                               resolution_dpi=300,
                               ocr_confidence=round(world.rng.uniform(96.5, 99.6), 1))
        # What records.datastore.on_document_ready does, without reading back the rows
        # just written (it halves the seeding time).
        tx.add_outbox(document_key(document.doc_code), now=at)
        if not source:
            tx.add_store_item(StoreItem(
                id=0, owner_id=document.owner_id, kind="document", ref=document.doc_code,
                document_type=document.document_type, title=document.title,
                source_dossier=dossier.code, status=StoreStatus.VALID, created_at=at))
        if source:
            world.count("papers_reused")
            world.audit.append((at, AuditEvent(
                actor=clerk, action="document.reuse", object_type="document",
                object_id=document.doc_code,
                detail={"dossier": dossier.code, "source": source, "kind": "document"})))
        else:
            world.held[key] = document.doc_code
            world.audit.append((at, AuditEvent(
                actor=clerk, action="document.create", object_type="document",
                object_id=document.doc_code,
                detail={"dossier": dossier.code, "component": component.code, "files": 1,
                        "sha256": world.blob.sha256})))
        world.count("papers")


def _open(world: _World, plan: _Plan) -> tuple[Dossier, list[HistoryEntry]]:
    """Create the dossier: online (submitted, then received at the desk) or at the desk."""
    tx, cal = world.tx, world.calendar
    clerk = _staff(plan)[0]
    submitted = plan.received - timedelta(hours=world.rng.uniform(1, 18)) if plan.online \
        else plan.received
    day = cal.local_date(submitted)
    seq = tx.next_dossier_seq(plan.procedure.agency_code, day)
    code = world.services.records.code_format.render(agency_code=plan.procedure.agency_code,
                                                     day=day, seq=seq)
    creator = f"citizen-{plan.applicant.owner_id}" if plan.online else clerk
    creator_principal = Principal(username=creator, roles=frozenset({Role.CITIZEN}),
                                  owner_id=plan.applicant.owner_id) if plan.online \
        else world.people[clerk]
    draft = Dossier(id=0, code=code, procedure_code=plan.procedure.code,
                    agency_code=plan.procedure.agency_code, branch_code=plan.branch,
                    applicant_id=plan.applicant.owner_id, status=DossierStatus.SUBMITTED,
                    created_at=submitted, created_by=creator, online=plan.online)
    opened = open_dossier(draft, "submit" if plan.online else "receive_at_desk",
                          actor=creator_principal, now=submitted, procedure=plan.procedure,
                          policy=world.policy)
    history = [opened.entry]
    _audit_step(world, opened.entry, opened.dossier)
    dossier = opened.dossier
    if plan.online:
        dossier = _step(world, dossier, history, "receive", clerk, plan.received) or dossier
    return dossier, history


def _run(world: _World, plan: _Plan) -> None:
    tx, cal, rng = world.tx, world.calendar, world.rng
    clerk, handler, signer, custodian = _staff(plan)
    if tx.get_person(plan.applicant.owner_id) is None:
        tx.save_person(plan.applicant)
    dossier, history = _open(world, plan)
    dossier = tx.add_dossier(dossier)
    stored_version = dossier.version
    history = [replace(h, dossier_id=dossier.id) for h in history]
    if dossier.status is DossierStatus.SUBMITTED:  # not yet received at the desk
        _finish(world, dossier, history, stored_version)
        return
    at = plan.received + timedelta(minutes=rng.randint(10, 50))
    _papers(world, dossier, plan, clerk, at)

    def go(name: str, actor: str, when: datetime, **fields: object) -> bool:
        nonlocal dossier
        moved = _step(world, dossier, history, name, actor, when, **fields)
        if moved is None:
            return False
        dossier = moved
        return True

    def later(moment: datetime, low: float, high: float) -> datetime:
        return moment + timedelta(hours=rng.uniform(low, high))

    def working(moment: datetime, days: int, hours: float) -> datetime:
        return _local(cal.add_working_days(cal.local_date(moment), days), hours)

    assigned = later(at, 0.5, 3)
    done = (go("complete_digitisation", clerk, at)
            and go("assign_handler", clerk, assigned, handler=handler))
    at = assigned
    if done and plan.supplement:
        asked = max(working(at, rng.randint(0, 1), rng.uniform(8, 16)), later(at, 0.2, 1))
        supplied = working(asked, rng.randint(1, 4), rng.uniform(8, 16))
        done = (go("request_supplement", handler, asked, comment=rng.choice(_SUPPLEMENTS))
                and go("supply_supplement", clerk, supplied))
        at = supplied
    if not done or plan.outcome == "stuck":
        _finish(world, dossier, history, stored_version)
        return
    if dossier.due_at is None:
        raise RuntimeError(f"demo history: {dossier.code} was received without a due date")
    due = dossier.due_at
    start = dossier.clock_started_at or at
    days = plan.procedure.processing_days
    if plan.outcome == "refused":
        when = working(start, max(0, days // 2), rng.uniform(8, 16))
        go("refuse", handler, max(when, later(at, 1, 3)),
           comment="Thửa đất đang có tranh chấp, chưa đủ điều kiện cấp Giấy chứng nhận."
           if plan.procedure.agency_code == AGENCY_LAND
           else "Hồ sơ không đủ điều kiện theo quy định.")
        _finish(world, dossier, history, stored_version)
        return
    if plan.outcome == "stopped":
        go("request_withdrawal", clerk, later(at, 20, 60),
           comment="Công dân xin rút hồ sơ để bổ sung giấy tờ khác.")
        go("stop", clerk, later(history[-1].at, 1, 4))
        _finish(world, dossier, history, stored_version)
        return
    if plan.outcome == "late":
        published = working(due, rng.randint(1, 3), rng.uniform(8, 16))
    else:
        spare = rng.randint(0, max(0, min(days - 1, days // 3 + 1)))
        published = working(start, max(0, days - spare), rng.uniform(8, 15.5))
        published = min(published, due - timedelta(minutes=30))
    published = max(published, later(at, 3, 5))
    drafted = published - timedelta(hours=rng.uniform(2, 3))
    (go("submit_for_approval", handler, drafted, signer=signer)
     and go("sign", signer, drafted + timedelta(minutes=rng.randint(30, 70)))
     and go("seal", custodian, published - timedelta(minutes=rng.randint(5, 30)))
     and go("publish_result", custodian, published)
     and go("return_result", clerk, max(working(published, rng.randint(0, 3),
                                                rng.uniform(8, 16)),
                                        later(published, 0.5, 2))))
    _finish(world, dossier, history, stored_version)
    if dossier.status is DossierStatus.RETURNED and plan.rating is not None:
        rated = later(history[-1].at, 0.5, 48)
        if rated <= world.now:
            tx.add_rating(Rating(dossier_id=dossier.id, owner_id=dossier.applicant_id,
                                 score=plan.rating, comment=rng.choice(_COMMENTS[plan.rating]),
                                 created_at=rated))
            world.audit.append((rated, AuditEvent(
                actor=f"citizen-{dossier.applicant_id}", action="dossier.rate",
                object_type="dossier", object_id=dossier.code, detail={"score": plan.rating})))
            world.count("ratings")


def _finish(world: _World, dossier: Dossier, history: list[HistoryEntry],
            stored_version: int) -> None:
    for entry in history:
        world.tx.add_history(entry)
    if not world.tx.update_dossier(dossier, expected_version=stored_version):
        raise RuntimeError(f"demo history: dossier {dossier.code} changed underneath")
    world.count(dossier.status.value)


def _people(rng: random.Random, n: int) -> list[Person]:
    people = []
    for i in range(n):
        female = rng.random() < 0.5
        year = rng.randint(1955, 2004)
        century = (0 if year < 2000 else 2) + (1 if female else 0)
        owner = f"022{century}{year % 100:02d}{rng.randint(0, 999_999):06d}"
        middle = "Thị" if female else rng.choice(_MIDDLE)
        name = f"{rng.choice(_FAMILY)} {middle} {rng.choice(_GIVEN)}"
        people.append(Person(owner_id=owner, name=name, phone=f"09{rng.randint(0, 99_999_999):08d}",
                             address=f"Tổ {i % 12 + 1}, khu {i % 7 + 1}, phường Hạ Long"))
    return people


def _plans(world: _World, n: int) -> list[_Plan]:
    rng, cal, now = world.rng, world.calendar, world.now
    procedures = world.procedures
    land = next(p for p in procedures.values() if p.agency_code == AGENCY_LAND)
    ward = sorted((p for p in procedures.values() if p.agency_code == AGENCY_WARD),
                  key=lambda p: p.processing_days)
    today = cal.local_date(now)
    days = [today - timedelta(days=d) for d in range(150, 0, -1)]
    days = [d for d in days if cal.is_working_day(d)]
    people = _people(rng, max(10, n * 3 // 8))
    plans = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.4:
            procedure, branch = land, BRANCH_PROVINCE
        elif roll < 0.75 or len(ward) < 2:
            procedure, branch = ward[0], BRANCH_WARD
        else:
            procedure = ward[-1]
            branch = BRANCH_WARD if rng.random() < 0.6 else BRANCH_PROVINCE
        received = _local(rng.choice(days), rng.choice((rng.uniform(7.5, 11.3),
                                                        rng.uniform(13.5, 16.5))))
        fate = rng.random()
        outcome = ("late" if fate < 0.035 else "refused" if fate < 0.055
                   else "stopped" if fate < 0.065 else "stuck" if fate < 0.08 else "returned")
        score = rng.choices((5, 4, 3, 2, 1), weights=(58, 28, 9, 3, 2))[0]
        plans.append(_Plan(procedure=procedure, branch=branch, applicant=rng.choice(people),
                           online=rng.random() < 0.3, received=received,
                           supplement=rng.random() < 0.1 and outcome != "late",
                           outcome=outcome, rating=score if rng.random() < 0.45 else None))
    # Stuck dossiers are the recent ones a handler forgot: only those can still be open.
    for plan in plans:
        if plan.outcome == "stuck" and (now - plan.received).days > 45:
            plan.outcome = "returned"
    plans.sort(key=lambda p: p.received)
    return plans


def seed_history(services: Services, *, dossiers: int = 300, seed: int = 2026) -> dict[str, int]:
    """Seed ``dossiers`` past dossiers once (a second call adds nothing); returns counts."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    # The first person drawn is saved first: finding them means the history is there.
    marker = _people(random.Random(seed), 1)[0]  # noqa: S311
    with services.records.store.session(readonly=True) as tx:
        if tx.get_person(marker.owner_id) is not None:
            return {"seeded_now": 0}
    _ensure_staff(services)
    data = _placeholder_pdf()
    ref = services.blobs.put(data)
    blob = StoredFile(position=0, sha256=ref.sha256, size=len(data),
                      media_type="application/pdf", filename="ban-so-hoa.pdf")
    now = services.clock.now()
    with services.records.store.session() as tx:
        off, working = tx.holidays()
        calendar = WorkingCalendar(holidays=off, working_weekend_days=working)
        world = _World(tx=tx, services=services, calendar=calendar,
                       policy=Policy(calendar=calendar,
                                     supplement_window_days=services.records
                                     .supplement_window_days),
                       now=now, people=_principals(tx),
                       procedures={p.code: p for p in tx.list_procedures()}, blob=blob,
                       rng=rng)
        tx.save_person(marker)
        plans = _plans(world, dossiers)
        for plan in plans:
            _run(world, plan)
        for at, event in sorted(world.audit, key=lambda pair: pair[0]):
            tx.append_audit(event, at=at, key=services.records.audit_key)
        tx.append_audit(AuditEvent(actor=HISTORY_ACTOR, action="demo.history",
                                   object_type="system", object_id="demo",
                                   detail={"dossiers": len(plans)}),
                        at=now, key=services.records.audit_key)
    return {"seeded_now": len(plans), **world.counts}
