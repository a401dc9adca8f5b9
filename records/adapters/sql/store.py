"""The records store on SQLAlchemy Core: one transaction per ``session()``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from records.adapters.sql import tables as t
from records.adapters.sql.admin import AdminRows
from records.adapters.sql.counters import dialect_insert, next_in_sequence
from records.adapters.sql.documents import DocumentRows
from records.adapters.sql.engine import READONLY
from records.adapters.sql.integrity import IntegrityRows
from records.adapters.sql.jobs import JobRows
from records.adapters.sql.results import ResultRows
from records.adapters.sql.statistics import StatisticsRows
from records.adapters.sql.store_items import StoreRows
from records.audit import AuditEntry, AuditEvent, canonical_detail, next_entry
from records.model import (
    Agency,
    Branch,
    Dossier,
    DossierStatus,
    HistoryEntry,
    Person,
    PersonKind,
    Procedure,
    Rating,
    RequiredComponent,
    Role,
)
from records.repository import DossierQuery, StoredToken, User
from records.workflow import STATES

__all__ = ["SqlRecordsSession", "SqlRecordsStore"]

_DOSSIER_FIELDS = (
    "code", "procedure_code", "agency_code", "branch_code", "applicant_id", "status",
    "created_at", "created_by", "received_at", "clock_started_at", "due_at", "extended_at",
    "finished_at", "handler", "signer", "online", "version",
)


def _dossier(row: Row[Any]) -> Dossier:
    m = row._mapping
    return Dossier(id=m["id"], status=DossierStatus(m["status"]),
                   **{k: m[k] for k in _DOSSIER_FIELDS if k != "status"})


def _dossier_values(d: Dossier) -> dict[str, Any]:
    values = {k: getattr(d, k) for k in _DOSSIER_FIELDS}
    values["status"] = d.status.value
    return values


# The statements every request runs, built once: SQLAlchemy then skips building each
# statement and its cache key on every call (about 0.1 ms a query; docs/benchmarks.md).
_tok, _proc, _comp = t.api_tokens.c, t.procedures.c, t.procedure_components.c
_TOKEN_WITH_USER = (
    select(t.users, _tok.token_sha256, _tok.created_at, _tok.expires_at, _tok.revoked)
    .join(t.api_tokens, _tok.username == t.users.c.username)
    .where(_tok.token_sha256 == bindparam("token")))
_AGENCY = select(t.agencies).where(t.agencies.c.code == bindparam("code"))
_PERSON = select(t.persons).where(t.persons.c.owner_id == bindparam("owner_id"))
_DOSSIER_BY_CODE = select(t.dossiers).where(t.dossiers.c.code == bindparam("code"))
_DOSSIER_BY_ID = select(t.dossiers).where(t.dossiers.c.id == bindparam("id"))
_HISTORY = (select(t.dossier_history)
            .where(t.dossier_history.c.dossier_id == bindparam("dossier_id"))
            .order_by(t.dossier_history.c.id))
_PROCEDURES = (
    select(_proc.code, _proc.name, _proc.agency_code, _proc.processing_days, _proc.fee_vnd,
           _proc.result_type, _comp.code.label("c_code"), _comp.name.label("c_name"),
           _comp.document_type, _comp.mandatory)
    .outerjoin(t.procedure_components, _comp.procedure_code == _proc.code)
    .order_by(_proc.code, _comp.position))
_PROCEDURE = _PROCEDURES.where(_proc.code == bindparam("code"))
_AUDIT_HEAD_FOR_UPDATE = select(t.audit_head).where(t.audit_head.c.id == 1).with_for_update()
CHANGE_TAKES_QUEUED = 1000  # records of reads a change chains ahead of itself, at most
_AUDIT_HEAD_TRY_LOCK = (select(t.audit_head).where(t.audit_head.c.id == 1)
                        .with_for_update(skip_locked=True))
_INBOX_TAKE = (delete(t.audit_inbox)
               .where(t.audit_inbox.c.id.in_(select(t.audit_inbox.c.id)
                                             .order_by(t.audit_inbox.c.id)
                                             .limit(bindparam("limit")).scalar_subquery()))
               .returning(*t.audit_inbox.c))
_AUDIT_HEAD_MOVE = (update(t.audit_head).where(t.audit_head.c.id == 1)
                    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))


def _user(row: Row[Any]) -> User:
    m = row._mapping
    roles = frozenset(Role(r) for r in m["roles"].split(",") if r)
    return User(username=m["username"], password_hash=m["password_hash"],
                display_name=m["display_name"], roles=roles, agency_code=m["agency_code"],
                branch_code=m["branch_code"], owner_id=m["owner_id"], active=m["active"],
                failed_logins=m["failed_logins"], locked_until=m["locked_until"],
                totp_secret=m["totp_secret"])


def _user_values(u: User) -> dict[str, Any]:
    return {"username": u.username, "password_hash": u.password_hash,
            "display_name": u.display_name, "roles": ",".join(sorted(r.value for r in u.roles)),
            "agency_code": u.agency_code, "branch_code": u.branch_code,
            "owner_id": u.owner_id, "active": u.active, "failed_logins": u.failed_logins,
            "locked_until": u.locked_until, "totp_secret": u.totp_secret}


def _audit(row: Row[Any]) -> AuditEntry:
    m = row._mapping
    return AuditEntry(seq=m["seq"], at=m["at"], actor=m["actor"], action=m["action"],
                      object_type=m["object_type"], object_id=m["object_id"],
                      detail=m["detail"], prev_hash=m["prev_hash"], hash=m["hash"])


class SqlRecordsSession(DocumentRows, JobRows, ResultRows, StoreRows, AdminRows, StatisticsRows,
                        IntegrityRows):
    """``RecordsSession`` on one open connection and transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    # -- reference data -------------------------------------------------------------------
    def add_agency(self, agency: Agency) -> None:
        self._c.execute(insert(t.agencies).values(code=agency.code, name=agency.name))

    def get_agency(self, code: str) -> Agency | None:
        row = self._c.execute(_AGENCY, {"code": code}).first()
        return Agency(code=row.code, name=row.name) if row else None

    def add_branch(self, branch: Branch) -> None:
        self._c.execute(insert(t.branches).values(code=branch.code, name=branch.name,
                                                  agency_code=branch.agency_code))

    def get_branch(self, code: str) -> Branch | None:
        row = self._c.execute(select(t.branches).where(t.branches.c.code == code)).first()
        return Branch(code=row.code, name=row.name, agency_code=row.agency_code) if row else None

    def list_branches(self) -> list[Branch]:
        rows = self._c.execute(select(t.branches).order_by(t.branches.c.code))
        return [Branch(code=r.code, name=r.name, agency_code=r.agency_code) for r in rows]

    def add_procedure(self, procedure: Procedure) -> None:
        self._c.execute(insert(t.procedures).values(
            code=procedure.code, name=procedure.name, agency_code=procedure.agency_code,
            processing_days=procedure.processing_days, fee_vnd=procedure.fee_vnd,
            result_type=procedure.result_type))
        if procedure.components:
            self._c.execute(insert(t.procedure_components), [
                {"procedure_code": procedure.code, "code": c.code, "position": i,
                 "name": c.name, "document_type": c.document_type, "mandatory": c.mandatory}
                for i, c in enumerate(procedure.components)])

    def _procedures(self, code: str | None) -> list[Procedure]:
        # One round trip: each procedure joined with its required papers, in order.
        query = _PROCEDURES if code is None else _PROCEDURE
        rows = self._c.execute(query, {"code": code} if code is not None else {})
        heads: dict[str, Any] = {}
        components: dict[str, list[RequiredComponent]] = {}
        for r in rows:
            heads.setdefault(r.code, r)
            papers = components.setdefault(r.code, [])
            if r.c_code is not None:
                papers.append(RequiredComponent(code=r.c_code, name=r.c_name,
                                                document_type=r.document_type,
                                                mandatory=r.mandatory))
        return [Procedure(code=r.code, name=r.name, agency_code=r.agency_code,
                          processing_days=r.processing_days, fee_vnd=r.fee_vnd,
                          result_type=r.result_type, components=tuple(components[code]))
                for code, r in heads.items()]

    def get_procedure(self, code: str) -> Procedure | None:
        found = self._procedures(code)
        return found[0] if found else None

    def list_procedures(self) -> list[Procedure]:
        return self._procedures(None)

    def save_person(self, person: Person) -> None:
        values = {"name": person.name, "kind": person.kind.value, "phone": person.phone,
                  "email": person.email, "address": person.address}
        # An upsert: two first dossiers of one applicant at once must not collide.
        self._c.execute(dialect_insert(self._c, t.persons)
                        .values(owner_id=person.owner_id, **values)
                        .on_conflict_do_update(index_elements=["owner_id"], set_=values))

    def get_person(self, owner_id: str) -> Person | None:
        row = self._c.execute(_PERSON, {"owner_id": owner_id}).first()
        if row is None:
            return None
        return Person(owner_id=row.owner_id, name=row.name, kind=PersonKind(row.kind),
                      phone=row.phone, email=row.email, address=row.address)

    def holidays(self) -> tuple[frozenset[date], frozenset[date]]:
        rows = list(self._c.execute(select(t.holidays)))
        return (frozenset(r.day for r in rows if not r.working),
                frozenset(r.day for r in rows if r.working))

    def set_holiday(self, day: date, name: str, *, working: bool = False) -> None:
        done = self._c.execute(update(t.holidays).where(t.holidays.c.day == day)
                               .values(name=name, working=working))
        if done.rowcount == 0:
            self._c.execute(insert(t.holidays).values(day=day, name=name, working=working))

    # -- accounts ---------------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        self._c.execute(insert(t.users).values(**_user_values(user)))

    def get_user(self, username: str) -> User | None:
        row = self._c.execute(select(t.users).where(t.users.c.username == username)).first()
        return _user(row) if row else None

    def update_user(self, user: User) -> None:
        self._c.execute(update(t.users).where(t.users.c.username == user.username)
                        .values(**_user_values(user)))

    def add_token(self, token: StoredToken) -> None:
        self._c.execute(insert(t.api_tokens).values(
            token_sha256=token.token_sha256, username=token.username,
            created_at=token.created_at, expires_at=token.expires_at, revoked=token.revoked))

    def get_token(self, token_sha256: str) -> StoredToken | None:
        row = self._c.execute(select(t.api_tokens)
                              .where(t.api_tokens.c.token_sha256 == token_sha256)).first()
        if row is None:
            return None
        return StoredToken(token_sha256=row.token_sha256, username=row.username,
                           created_at=row.created_at, expires_at=row.expires_at,
                           revoked=row.revoked)

    def token_with_user(self, token_sha256: str) -> tuple[StoredToken, User] | None:
        # Every authenticated request asks this: one round trip, not two.
        row = self._c.execute(_TOKEN_WITH_USER, {"token": token_sha256}).first()
        if row is None:
            return None
        return StoredToken(token_sha256=row.token_sha256, username=row.username,
                           created_at=row.created_at, expires_at=row.expires_at,
                           revoked=row.revoked), _user(row)

    def revoke_token(self, token_sha256: str) -> None:
        self._c.execute(update(t.api_tokens).where(t.api_tokens.c.token_sha256 == token_sha256)
                        .values(revoked=True))

    def user_by_owner(self, owner_id: str) -> User | None:
        row = self._c.execute(select(t.users).where(t.users.c.owner_id == owner_id)
                              .order_by(t.users.c.username).limit(1)).first()
        return _user(row) if row else None

    # -- idempotent requests, ratings ---------------------------------------------------------
    def recall_request(self, username: str, key: str) -> str | None:
        k = t.idempotency_keys.c
        found: str | None = self._c.execute(select(k.dossier_code).where(
            k.username == username, k.key == key)).scalar()
        return found

    def remember_request(self, username: str, key: str, dossier_code: str, *,
                         now: datetime) -> None:
        self._c.execute(insert(t.idempotency_keys).values(
            username=username, key=key, dossier_code=dossier_code, created_at=now))

    def add_rating(self, rating: Rating) -> bool:
        # ON CONFLICT DO NOTHING: of two ratings sent at once, the second is told, not crashed.
        done = self._c.execute(dialect_insert(self._c, t.ratings).values(
            dossier_id=rating.dossier_id, owner_id=rating.owner_id, score=rating.score,
            comment=rating.comment, created_at=rating.created_at,
        ).on_conflict_do_nothing(index_elements=["dossier_id"]).returning(t.ratings.c.dossier_id))
        return done.first() is not None

    def get_rating(self, dossier_id: int) -> Rating | None:
        row = self._c.execute(select(t.ratings).where(t.ratings.c.dossier_id == dossier_id)
                              ).first()
        if row is None:
            return None
        return Rating(dossier_id=row.dossier_id, owner_id=row.owner_id, score=row.score,
                      comment=row.comment, created_at=row.created_at)

    # -- dossiers ---------------------------------------------------------------------------
    def next_dossier_seq(self, agency_code: str, day: date) -> int:
        return next_in_sequence(self._c, t.dossier_counters, agency_code=agency_code, day=day)

    def add_dossier(self, dossier: Dossier) -> Dossier:
        new_id = self._c.execute(insert(t.dossiers).values(**_dossier_values(dossier))
                                 .returning(t.dossiers.c.id)).scalar_one()
        return replace(dossier, id=int(new_id))

    def get_dossier(self, code: str) -> Dossier | None:
        row = self._c.execute(_DOSSIER_BY_CODE, {"code": code}).first()
        return _dossier(row) if row else None

    def get_dossier_by_id(self, dossier_id: int) -> Dossier | None:
        row = self._c.execute(_DOSSIER_BY_ID, {"id": dossier_id}).first()
        return _dossier(row) if row else None

    def update_dossier(self, dossier: Dossier, *, expected_version: int) -> bool:
        done = self._c.execute(
            update(t.dossiers)
            .where(t.dossiers.c.id == dossier.id, t.dossiers.c.version == expected_version)
            .values(**_dossier_values(dossier)))
        return done.rowcount == 1

    def list_dossiers(self, query: DossierQuery) -> Sequence[Dossier]:
        d = t.dossiers.c
        stmt = select(t.dossiers)
        if query.scope is not None:
            scope = query.scope
            stmt = stmt.where(or_(d.branch_code.in_(scope.branch_codes),
                                  d.agency_code.in_(scope.agency_codes),
                                  d.applicant_id.in_(scope.owner_ids)))
        if query.statuses is not None:
            stmt = stmt.where(d.status.in_([s.value for s in query.statuses]))
        if query.procedure_code is not None:
            stmt = stmt.where(d.procedure_code == query.procedure_code)
        if query.overdue_at is not None:
            # The same rule as records.lifecycle.is_overdue, in SQL so that paging is right.
            running = [s.value for s, spec in STATES.items() if spec.clock_running]
            stmt = stmt.where(d.status.in_(running), d.finished_at.is_(None),
                              d.due_at < query.overdue_at)
        stmt = stmt.order_by(d.id.desc()).limit(query.limit).offset(query.offset)
        return [_dossier(r) for r in self._c.execute(stmt)]

    def add_history(self, entry: HistoryEntry) -> None:
        self._c.execute(insert(t.dossier_history).values(
            dossier_id=entry.dossier_id, at=entry.at, actor=entry.actor, action=entry.action,
            from_status=entry.from_status.value if entry.from_status else None,
            to_status=entry.to_status.value, comment=entry.comment))

    def history(self, dossier_id: int) -> list[HistoryEntry]:
        rows = self._c.execute(_HISTORY, {"dossier_id": dossier_id})
        return [HistoryEntry(dossier_id=r.dossier_id, at=r.at, actor=r.actor, action=r.action,
                             from_status=DossierStatus(r.from_status) if r.from_status else None,
                             to_status=DossierStatus(r.to_status), comment=r.comment)
                for r in rows]

    # -- audit chain ------------------------------------------------------------------------
    def append_audit(self, event: AuditEvent, *, at: datetime, key: bytes) -> AuditEntry:
        return self.append_audits([(event, at)], key=key)[0]

    def append_audits(self, events: Sequence[tuple[AuditEvent, datetime]], *,
                      key: bytes) -> list[AuditEntry]:
        # Locking the head row serialises appenders on PostgreSQL; SQLite's BEGIN IMMEDIATE
        # already holds the database's write lock. However many entries, three statements.
        head = self._c.execute(_AUDIT_HEAD_FOR_UPDATE).first()
        if head is None:
            raise RuntimeError("the audit head row is missing: run the migrations")
        # Reads recorded before this change go onto the chain before it: the chain keeps the
        # order in which things were committed (unless a backlog exceeds one batch).
        queued = self._take_queued(CHANGE_TAKES_QUEUED)
        return self._chain(head, [*queued, *events], key=key)[len(queued):]

    def _take_queued(self, limit: int) -> list[tuple[AuditEvent, datetime]]:
        # Taken and removed in one statement: a row committed meanwhile is left for the next
        # batch, never removed unchained.
        rows = sorted(self._c.execute(_INBOX_TAKE, {"limit": limit}), key=lambda r: r.id)
        return [(AuditEvent(actor=r.actor, action=r.action, object_type=r.object_type,
                            object_id=r.object_id, detail=json.loads(r.detail)), r.at)
                for r in rows]

    def _chain(self, head: Row[Any], events: Sequence[tuple[AuditEvent, datetime]], *,
               key: bytes) -> list[AuditEntry]:
        prev = (int(head.seq), str(head.hash)) if head.seq > 0 else None
        entries = []
        for event, at in events:
            entry = next_entry(key=key, prev=prev, at=at, event=event)
            entries.append(entry)
            prev = (entry.seq, entry.hash)
        rows = [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                 "object_type": e.object_type, "object_id": e.object_id, "detail": e.detail,
                 "prev_hash": e.prev_hash, "hash": e.hash} for e in entries]
        last = entries[-1]
        if self._c.dialect.name == "postgresql":
            # Entries and head in one statement: the head stays locked one round trip less.
            moved = (update(t.audit_head).where(t.audit_head.c.id == 1)
                     .values(seq=last.seq, hash=last.hash).cte("moved_head"))
            self._c.execute(insert(t.audit_log).values(rows).add_cte(moved))
        else:
            self._c.execute(insert(t.audit_log), rows)
            self._c.execute(_AUDIT_HEAD_MOVE, {"new_seq": last.seq, "new_hash": last.hash})
        return entries

    def queue_audits(self, events: Sequence[tuple[AuditEvent, datetime]]) -> None:
        self._c.execute(insert(t.audit_inbox), [
            {"at": at, "actor": e.actor, "action": e.action, "object_type": e.object_type,
             "object_id": e.object_id, "detail": canonical_detail(e.detail)}
            for e, at in events])

    def chain_queued_audits(self, *, key: bytes, limit: int) -> int:
        # SKIP LOCKED: while another process chains (or a change appends), this one has
        # nothing to do; it comes back later rather than queueing behind the lock.
        head = self._c.execute(_AUDIT_HEAD_TRY_LOCK).first()
        if head is None:
            return 0
        queued = self._take_queued(limit)
        if queued:
            self._chain(head, queued, key=key)
        return len(queued)

    def queued_audits(self) -> tuple[int, datetime | None]:
        i = t.audit_inbox.c
        count, oldest = self._c.execute(select(func.count(), func.min(i.at))).one()
        return int(count), oldest

    def audit_entries(self, *, after_seq: int = 0) -> Iterator[AuditEntry]:
        batch = 1000
        last = after_seq
        while True:
            rows = list(self._c.execute(select(t.audit_log).where(t.audit_log.c.seq > last)
                                        .order_by(t.audit_log.c.seq).limit(batch)))
            for row in rows:
                yield _audit(row)
            if len(rows) < batch:
                return
            last = int(rows[-1].seq)

    def audit_head(self) -> tuple[int, str] | None:
        head = self._c.execute(select(t.audit_head).where(t.audit_head.c.id == 1)).first()
        if head is None or head.seq == 0:
            return None
        return int(head.seq), str(head.hash)

    def audit_hash_exists(self, digest: str) -> bool:
        found = self._c.execute(select(func.count()).select_from(t.audit_log)
                                .where(t.audit_log.c.hash == digest)).scalar_one()
        return bool(found)

    def audit_for_object(self, object_type: str, object_id: str) -> list[AuditEntry]:
        a = t.audit_log.c
        rows = self._c.execute(select(t.audit_log).where(
            a.object_type == object_type, a.object_id == object_id).order_by(a.seq))
        return [_audit(r) for r in rows]


class SqlRecordsStore:
    """``RecordsStore`` on an engine; ``session(readonly=True)`` takes no write lock.

    On PostgreSQL a read-only session runs in autocommit: under READ COMMITTED every
    statement sees its own snapshot whether or not a transaction wraps it, so the wrapper
    would only cost two round trips (BEGIN, COMMIT) per request.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        options: dict[str, object] = {READONLY: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        self._reader = engine.execution_options(**options)

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[SqlRecordsSession]:
        with (self._reader if readonly else self.engine).begin() as connection:
            yield SqlRecordsSession(connection)

