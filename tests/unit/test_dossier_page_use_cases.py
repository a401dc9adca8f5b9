"""The use cases behind the shared dossier page: which steps a user is offered, the papers
with their digitisation state, and a flagged page confirmed or corrected by a person."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from api.bootstrap import Services
from api.demo import PROCEDURES
from records.adapters.clock import ManualClock
from records.adapters.sql import tables
from records.authz import Principal
from records.documents import PaperState, dossier_documents, get_document, review_page
from records.errors import Conflict, Forbidden, InvalidInput, NotFound
from records.model import (
    Document,
    DocumentVersion,
    Dossier,
    DossierStatus,
    PageText,
    Role,
    StoredFile,
    VersionStatus,
)
from records.services import CreateDossier, allowed_actions, create_dossier
from tests.fixtures.app import count_rows, principal, seeded

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 19, 3, 0, tzinfo=UTC)
S = DossierStatus
DOSSIER = Dossier(id=1, code="X-261119-0001", procedure_code="p", agency_code="LAND",
                  branch_code="DESK", applicant_id="022190001234", status=S.RECEIVED,
                  created_at=T0, created_by="tiepnhan")
CLERK = Principal(username="tiepnhan", roles=frozenset({Role.CLERK}), branch_code="DESK")
OTHER_DESK = Principal(username="mai", roles=frozenset({Role.CLERK}), branch_code="WARD")
HANDLER = Principal(username="chuyenvien", roles=frozenset({Role.HANDLER}),
                    agency_code="LAND")
SIGNER = Principal(username="lanhdao", roles=frozenset({Role.SIGNER}), agency_code="LAND")


def _steps(who: Principal, status: DossierStatus, **fields: str) -> set[str]:
    dossier = replace(DOSSIER, status=status, **fields)
    return {spec.name for spec in allowed_actions(who, dossier).transitions}


def test_each_user_is_offered_only_the_steps_the_workflow_gives_them() -> None:
    assert _steps(CLERK, S.RECEIVED) == {"complete_digitisation", "request_withdrawal"}
    assert _steps(CLERK, S.RESULT_READY) == {"return_result"}
    assert _steps(OTHER_DESK, S.RECEIVED) == set()
    assert _steps(HANDLER, S.IN_REVIEW, handler="chuyenvien") == {
        "request_supplement", "request_fee", "submit_for_approval", "refuse", "extend"}
    assert _steps(HANDLER, S.IN_REVIEW, handler="someone-else") == set()
    # Signing and sealing are done on the signing queues, never as a plain step.
    assert _steps(SIGNER, S.PENDING_APPROVAL, signer="lanhdao") == {"return_for_revision"}
    assert _steps(Principal(username="vanthu", roles=frozenset({Role.SEAL_CUSTODIAN}),
                            agency_code="LAND"), S.SIGNED) == set()


def test_only_the_desk_may_change_papers_and_only_while_the_state_allows() -> None:
    assert allowed_actions(CLERK, DOSSIER).edit_documents
    assert not allowed_actions(CLERK, replace(DOSSIER, status=S.IN_REVIEW)).edit_documents
    assert not allowed_actions(OTHER_DESK, DOSSIER).edit_documents
    assert not allowed_actions(HANDLER, DOSSIER).edit_documents


# --- papers and their flagged pages, on a real store -----------------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = seeded(tmp_path, clock=ManualClock(T0))
    yield built
    built.close()


PAGES = [PageText(number=1, text="Họ và tên: Nguyễn Thị Hương", confidence=93.0,
                  needs_review=False, ocr_done=True),
         PageText(number=2, text="", confidence=None, needs_review=True, ocr_done=True),
         PageText(number=3, text="Só định danh: O22190001234", confidence=41.0,
                  needs_review=True, ocr_done=True)]


def _paper(services: Services) -> tuple[str, str]:
    """A dossier with one digitised paper whose pages 2 and 3 were flagged by OCR."""
    view = create_dossier(services.records, principal(services, "tiepnhan"), CreateDossier(
        procedure_code=PROCEDURES[0].code, applicant_id="022190001234",
        applicant_name="Nguyễn Thị Hương"))
    sha = "ab" * 32
    with services.records.store.session() as tx:
        document = tx.add_document(Document(
            id=0, dossier_id=view.dossier.id, doc_code="LAND_can_cuoc_cong_dan_000001",
            component_code="CCCD", document_type="can_cuoc_cong_dan",
            owner_id="022190001234", created_at=T0, created_by="tiepnhan", title="CCCD"))
        tx.add_version(DocumentVersion(
            document_id=document.id, version=1, status=VersionStatus.PROCESSING,
            files=(StoredFile(position=0, sha256=sha, size=10, media_type="image/png",
                              filename="cccd.png"),), created_at=T0, created_by="tiepnhan"))
        tx.save_pages(document.id, 1, PAGES)
        tx.set_version_outcome(document.id, 1, status=VersionStatus.READY, page_count=3)
    return view.dossier.code, document.doc_code


def test_a_papers_state_shows_its_flagged_pages(services: Services) -> None:
    code, doc = _paper(services)
    clerk = principal(services, "tiepnhan")
    (paper,) = dossier_documents(services.documents, clerk, code)
    assert (paper.document.doc_code, paper.pages_to_review, paper.state, paper.pending) == (
        doc, (2, 3), PaperState.NEEDS_REVIEW, False)
    with pytest.raises(NotFound):
        dossier_documents(services.documents, principal(services, "congdan"), "nope")


def test_a_flagged_page_is_confirmed_or_corrected_and_logged(services: Services) -> None:
    code, doc = _paper(services)
    clerk = principal(services, "tiepnhan")
    outbox = count_rows(services.engine, "outbox")
    review_page(services.documents, clerk, doc, 2)
    corrected = review_page(services.documents, clerk, doc, 3,
                            text="Số định danh: 022190001234\r\n")
    assert [(p.number, p.text, p.needs_review) for p in corrected.pages] == [
        (1, PAGES[0].text, False), (2, "", False), (3, "Số định danh: 022190001234\n", False)]
    (paper,) = dossier_documents(services.documents, clerk, code)
    assert paper.state is PaperState.READY
    # Only the corrected text goes to the search index again.
    assert count_rows(services.engine, "outbox") == {
        "outbox": outbox["outbox"] + 1}
    log = tables.audit_log.c
    with services.engine.connect() as connection:
        rows = connection.execute(select(log.actor, log.detail).where(
            log.action == "document.page_review").order_by(log.seq)).all()
    assert [(r.actor, json.loads(r.detail)["page"], json.loads(r.detail)["corrected"])
            for r in rows] == [("tiepnhan", 2, 0), ("tiepnhan", 3, 1)]


def test_reviewing_is_refused_to_others_and_before_ocr_ends(services: Services) -> None:
    _, doc = _paper(services)
    with pytest.raises(Forbidden):
        review_page(services.documents, principal(services, "chuyenvien"), doc, 2)
    with pytest.raises(NotFound):  # a citizen of another dossier sees no such document
        review_page(services.documents, Principal(username="x", roles=frozenset(
            {Role.CITIZEN}), owner_id="038190004321"), doc, 2)
    with pytest.raises(NotFound) as missing:
        review_page(services.documents, principal(services, "tiepnhan"), doc, 9)
    assert missing.value.code == "page_not_found"
    with pytest.raises(InvalidInput):
        review_page(services.documents, principal(services, "tiepnhan"), doc, 2,
                    text="x" * 100_001)
    assert get_document(services.documents, principal(services, "tiepnhan"),
                        doc).pages[1].needs_review
    _, busy = _paper_processing(services)
    with pytest.raises(Conflict):
        review_page(services.documents, principal(services, "tiepnhan"), busy, 1)


def _paper_processing(services: Services) -> tuple[str, str]:
    view = create_dossier(services.records, principal(services, "tiepnhan"), CreateDossier(
        procedure_code=PROCEDURES[0].code, applicant_id="022190001234",
        applicant_name="Nguyễn Thị Hương"))
    with services.records.store.session() as tx:
        document = tx.add_document(Document(
            id=0, dossier_id=view.dossier.id, doc_code="LAND_can_cuoc_cong_dan_000002",
            component_code="CCCD", document_type="can_cuoc_cong_dan",
            owner_id="022190001234", created_at=T0, created_by="tiepnhan", title="CCCD"))
        tx.add_version(DocumentVersion(
            document_id=document.id, version=1, status=VersionStatus.PROCESSING,
            files=(StoredFile(position=0, sha256="cd" * 32, size=10, media_type="image/png",
                              filename="cccd.png"),), created_at=T0, created_by="tiepnhan"))
    return view.dossier.code, document.doc_code
