"""Revocation and time: OCSP, CRL and RFC 3161 over loopback HTTP, and validation years later.

Times are injected (signing time, TSA clock, validation moment). pyHanko 0.38 still reads the
wall clock inside past-signature validation (``_build_and_past_validate_cert`` passes no
control time), so a validation "in 2040" also freezes the clock at that moment, as pyHanko's
own tests do; certificates and CRLs are made outside the frozen block (cryptography refuses
freezegun's datetime).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from signing import (
    CertificateRefused,
    DemoPki,
    HttpTsa,
    Indication,
    PadesLevel,
    ProblemCode,
    RevocationFailure,
    ValidationSetup,
    VerificationOutcome,
    check_signing_certificate,
    extend_archive,
    make_timestamper,
    sign_personal,
    verify_pdf,
)
from tests.fixtures.pki import PERSONAL_BOX, PkiServer, demo_pki, personal_appearance, sample_pdf

pytestmark = pytest.mark.integration

T0 = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


def _sign(pki: DemoPki, key: str, at: datetime, setup: ValidationSetup) -> bytes:
    return sign_personal(sample_pdf(1), pki.credential(key), field_name="ChuKyLanhDao",
                         box=PERSONAL_BOX, page=0, appearance=personal_appearance(),
                         timestamper=make_timestamper(pki.tsa_config(clock=lambda: at)),
                         validation=setup, signing_time=at)


@pytest.fixture
def online(tmp_path: Path) -> Iterator[tuple[PkiServer, DemoPki]]:
    server = PkiServer()
    with server.running():
        server.pki = demo_pki(tmp_path / "pki", base_url=server.base_url)
        yield server, server.pki


def test_online_ocsp_and_http_tsa_give_b_lt(online: tuple[PkiServer, DemoPki]) -> None:
    server, pki = online
    setup = ValidationSetup(trust_anchors=(pki.root,), intermediates=(pki.ca,),
                            allow_fetching=True)
    tsa = make_timestamper(HttpTsa(url=f"{server.base_url}/tsa"))
    pdf = sign_personal(sample_pdf(1), pki.credential("lanhdao"), field_name="ChuKyLanhDao",
                        box=PERSONAL_BOX, page=0, appearance=personal_appearance(),
                        timestamper=tsa, validation=setup)
    assert server.requests["/ocsp/ca"] >= 1
    assert server.requests["/tsa"] >= 1
    assert server.requests["/crl/root.crl"] >= 1  # the CA and TSA certificates
    report = verify_pdf(pdf, validation=setup)
    assert report.outcome is VerificationOutcome.ALL_PASSED
    assert report.signatures[0].level is PadesLevel.B_LT


def test_revoked_signer_is_refused_through_ocsp(online: tuple[PkiServer, DemoPki]) -> None:
    _server, pki = online
    cert = pki.holders["lanhdao2"].certificate
    pki.revoke(cert.serial_number, at=datetime.now(UTC) - timedelta(minutes=5))
    setup = ValidationSetup(trust_anchors=(pki.root,), intermediates=(pki.ca,),
                            allow_fetching=True)
    check = check_signing_certificate(cert, validation=setup, at=datetime.now(UTC),
                                      purpose="personal")
    assert [p.code for p in check.problems] == [ProblemCode.REVOKED]


def test_unreachable_responder_hard_fails_or_soft_fails(online: tuple[PkiServer, DemoPki]) -> None:
    server, pki = online
    server.down = True
    stamper = make_timestamper(pki.tsa_config())
    hard = ValidationSetup(trust_anchors=(pki.root,), intermediates=(pki.ca,),
                           allow_fetching=True)
    with pytest.raises(CertificateRefused) as refused:
        sign_personal(sample_pdf(1), pki.credential("lanhdao"), field_name="S",
                      box=PERSONAL_BOX, page=0, appearance=personal_appearance(),
                      timestamper=stamper, validation=hard)
    assert refused.value.code == "revocation_unknown"
    soft = ValidationSetup(trust_anchors=(pki.root,), intermediates=(pki.ca,),
                           allow_fetching=True, revocation=RevocationFailure.SOFT)
    pdf = sign_personal(sample_pdf(1), pki.credential("lanhdao"), field_name="S",
                        box=PERSONAL_BOX, page=0, appearance=personal_appearance(),
                        timestamper=stamper, validation=soft)
    assert pdf.startswith(b"%PDF")


def test_signed_before_revocation_still_validates_afterwards(tmp_path: Path) -> None:
    pki = demo_pki(tmp_path / "pki", now=T0)
    signer = pki.holders["lanhdao"].certificate
    t1 = T0 + timedelta(hours=2)
    signed = _sign(pki, "lanhdao", t1, pki.validation_setup(moment=t1, ocsp_for=[signer]))
    t2 = T0 + timedelta(days=30)
    pki.revoke(signer.serial_number, at=t2)
    t3 = t2 + timedelta(days=1)
    later = pki.validation_setup(moment=t3, ocsp_for=[signer])
    check = check_signing_certificate(signer, validation=later, at=t3, purpose="personal")
    assert [p.code for p in check.problems] == [ProblemCode.REVOKED]
    with freeze_time(t3, real_asyncio=True):
        report = verify_pdf(signed, validation=later)
    assert report.signatures[0].indication is Indication.TOTAL_PASSED, report.signatures[0]


def test_in_2040_b_lt_is_indeterminate_and_renewed_b_lta_passes(tmp_path: Path) -> None:
    pki = demo_pki(tmp_path / "pki", now=T0)
    signer = pki.holders["lanhdao"].certificate
    t1 = T0 + timedelta(hours=2)
    b_lt = _sign(pki, "lanhdao", t1, pki.validation_setup(moment=t1))
    # the next day: validation data issued after signing, then the archive timestamp
    t2 = T0 + timedelta(days=1)
    pki.refresh_crls(t2)
    b_lta = extend_archive(b_lt, timestamper=make_timestamper(pki.tsa_config(clock=lambda: t2)),
                           validation=pki.validation_setup(moment=t2, ocsp_for=[signer]))
    # 2033: the TSA certificate (10 years) nears its end; a new TSA key re-timestamps
    t3 = datetime(2033, 1, 1, tzinfo=UTC)
    pki.refresh_crls(t3)
    new_tsa = pki.renew_tsa(t3)
    renewal = pki.validation_setup(moment=t3).with_revocation_data(
        ocsp_responses=[pki.ocsp_response(new_tsa.serial_number, at=t3)])
    b_lta = extend_archive(b_lta, timestamper=make_timestamper(pki.tsa_config(clock=lambda: t3)),
                           validation=renewal)
    t4 = datetime(2040, 1, 1, tzinfo=UTC)
    in_2040 = ValidationSetup(trust_anchors=(pki.root,), moment=t4,
                              ocsp_responses=(pki.ocsp_response(new_tsa.serial_number, at=t4),))
    with freeze_time(t4, real_asyncio=True):
        old = verify_pdf(b_lt, validation=in_2040).signatures[0]
        archived = verify_pdf(b_lta, validation=in_2040)
    assert old.level is PadesLevel.B_LT
    assert old.indication is Indication.INDETERMINATE
    signature = archived.signatures[0]
    assert signature.level is PadesLevel.B_LTA
    assert signature.indication is Indication.TOTAL_PASSED, signature
    assert [t.indication for t in archived.timestamps][-1] is Indication.TOTAL_PASSED
