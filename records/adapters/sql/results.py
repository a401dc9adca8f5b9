"""E-results, the certificate registry and seal authorisations in the records database."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from records.adapters.sql import tables as t
from records.adapters.sql.counters import next_in_sequence
from records.model import (
    Box,
    CertificateKind,
    CertificateRecord,
    Result,
    ResultStatus,
    SealAuthorisation,
)

__all__ = ["ResultRows"]

_R, _C, _A = t.results.c, t.certificates.c, t.seal_authorisations.c
# Built once: every download and public check runs them (see store.py).
_RESULT_BY_CODE = select(t.results).where(_R.code == bindparam("code"))
_RESULT_OF_DOSSIER = select(t.results).where(_R.dossier_id == bindparam("dossier_id"))
_RESULT_FIELDS = (
    "dossier_id", "code", "result_type", "title", "number", "issue_date", "draft_sha256",
    "blob_sha256", "signed_sha256", "content_sha256", "digest", "page_count",
    "signature_page", "signer_name", "signer_title", "signed_by", "signed_at", "sealed_by",
    "sealed_at", "seal_certificate_id", "created_at", "created_by",
)
_CERT_FIELDS = ("fingerprint", "subject", "organisation", "serial", "issuer", "not_before",
                "not_after", "pem", "store", "location", "label", "owner_username",
                "agency_code", "active")


def _box(text: str) -> Box:
    x1, y1, x2, y2 = (float(v) for v in text.split(","))
    return (x1, y1, x2, y2)


def _box_text(box: Box) -> str:
    return ",".join(f"{v:.2f}" for v in box)


def _result(row: Row[Any]) -> Result:
    m = row._mapping
    return Result(id=m["id"], status=ResultStatus(m["status"]),
                  personal_box=_box(m["personal_box"]), seal_box=_box(m["seal_box"]),
                  **{k: m[k] for k in _RESULT_FIELDS})


def _result_values(r: Result) -> dict[str, Any]:
    values = {k: getattr(r, k) for k in _RESULT_FIELDS}
    values.update(status=r.status.value, personal_box=_box_text(r.personal_box),
                  seal_box=_box_text(r.seal_box))
    return values


def _certificate(row: Row[Any]) -> CertificateRecord:
    m = row._mapping
    return CertificateRecord(id=m["id"], kind=CertificateKind(m["kind"]),
                             **{k: m[k] for k in _CERT_FIELDS})


def _authorisation(row: Row[Any]) -> SealAuthorisation:
    m = row._mapping
    return SealAuthorisation(**{k: m[k] for k in (
        "id", "agency_code", "certificate_id", "custodian_username", "valid_from", "valid_to",
        "reference", "handover_reference", "granted_by", "granted_at")})


class ResultRows:
    """Session methods for results and certificates (mixed into ``SqlRecordsSession``)."""

    _c: Connection

    def next_result_seq(self, agency_code: str, year: int) -> int:
        return next_in_sequence(self._c, t.result_counters, agency_code=agency_code, year=year)

    def add_result(self, result: Result) -> Result:
        new_id = self._c.execute(insert(t.results).values(**_result_values(result))
                                 .returning(_R.id)).scalar_one()
        return replace(result, id=int(new_id))

    def get_result(self, code: str) -> Result | None:
        row = self._c.execute(_RESULT_BY_CODE, {"code": code}).first()
        return _result(row) if row else None

    def result_of_dossier(self, dossier_id: int) -> Result | None:
        row = self._c.execute(_RESULT_OF_DOSSIER, {"dossier_id": dossier_id}).first()
        return _result(row) if row else None

    def results_awaiting(self, *, agency_code: str, status: ResultStatus,
                         dossier_status: str, limit: int = 200) -> list[Result]:
        """Results of an agency in ``status`` whose dossier is in ``dossier_status``:
        the signer's and the seal custodian's queues."""
        d = t.dossiers.c
        rows = self._c.execute(
            select(t.results).join(t.dossiers, d.id == _R.dossier_id)
            .where(d.agency_code == agency_code, d.status == dossier_status,
                   _R.status == status.value).order_by(_R.id).limit(limit))
        return [_result(r) for r in rows]

    def results_in(self, statuses: frozenset[ResultStatus]) -> list[Result]:
        rows = self._c.execute(select(t.results).where(
            _R.status.in_([s.value for s in statuses])).order_by(_R.id))
        return [_result(r) for r in rows]

    def update_result(self, result: Result, *, expected_status: ResultStatus) -> bool:
        """Write ``result`` if it is still in ``expected_status``: a second signing of the
        same result, by a double click or a parallel batch, changes nothing."""
        done = self._c.execute(update(t.results).where(
            _R.id == result.id, _R.status == expected_status.value)
            .values(**_result_values(result)))
        return done.rowcount == 1

    def add_certificate(self, record: CertificateRecord) -> CertificateRecord:
        values = {k: getattr(record, k) for k in _CERT_FIELDS}
        new_id = self._c.execute(insert(t.certificates).values(kind=record.kind.value, **values)
                                 .returning(_C.id)).scalar_one()
        return replace(record, id=int(new_id))

    def get_certificate(self, certificate_id: int) -> CertificateRecord | None:
        row = self._c.execute(select(t.certificates).where(_C.id == certificate_id)).first()
        return _certificate(row) if row else None

    def certificate_by_fingerprint(self, fingerprint: str) -> CertificateRecord | None:
        row = self._c.execute(select(t.certificates)
                              .where(_C.fingerprint == fingerprint)).first()
        return _certificate(row) if row else None

    def certificates(self, *, owner_username: str | None = None,
                     agency_code: str | None = None,
                     kind: CertificateKind | None = None) -> list[CertificateRecord]:
        stmt = select(t.certificates).where(_C.active.is_(True)).order_by(_C.id)
        if owner_username is not None:
            stmt = stmt.where(_C.owner_username == owner_username)
        if agency_code is not None:
            stmt = stmt.where(_C.agency_code == agency_code)
        if kind is not None:
            stmt = stmt.where(_C.kind == kind.value)
        return [_certificate(r) for r in self._c.execute(stmt)]

    def add_authorisation(self, authorisation: SealAuthorisation) -> SealAuthorisation:
        values = {k: getattr(authorisation, k) for k in (
            "agency_code", "certificate_id", "custodian_username", "valid_from", "valid_to",
            "reference", "handover_reference", "granted_by", "granted_at")}
        new_id = self._c.execute(insert(t.seal_authorisations).values(**values)
                                 .returning(_A.id)).scalar_one()
        return replace(authorisation, id=int(new_id))

    def authorisations(self, *, custodian_username: str | None = None,
                       agency_code: str | None = None) -> list[SealAuthorisation]:
        stmt = select(t.seal_authorisations).order_by(_A.id)
        if custodian_username is not None:
            stmt = stmt.where(_A.custodian_username == custodian_username)
        if agency_code is not None:
            stmt = stmt.where(_A.agency_code == agency_code)
        return [_authorisation(r) for r in self._c.execute(stmt)]
