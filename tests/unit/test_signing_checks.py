"""Certificate checks before signing, the demo PKI, credentials and appearance images,
with times injected (the demo PKI is created "in 2025")."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image, ImageStat

from signing import (
    CertificateRefused,
    CredentialRefused,
    DemoPki,
    ProblemCode,
    RevocationFailure,
    ValidationSetup,
    check_signing_certificate,
    load_pkcs12,
    make_seal_png,
    make_signature_png,
    make_timestamper,
    open_pkcs11,
    sign_personal,
)
from tests.fixtures.pki import AGENCY_NAME, PERSONAL_BOX, demo_pki, personal_appearance, sample_pdf

pytestmark = pytest.mark.unit

T0 = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return demo_pki(tmp_path_factory.mktemp("pki2025"), now=T0)


def _cert(pki: DemoPki, key: str) -> x509.Certificate:
    return pki.holders[key].certificate


def test_demo_pki_names_and_profiles(pki: DemoPki) -> None:
    person = _cert(pki, "lanhdao")
    assert person.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Trần Thị Bích Ngọc"
    )
    assert person.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        AGENCY_NAME
    )
    assert pki.root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Motcua Demo Root CA"
    )
    eku = pki.tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    root_crl, ca_crl = (x509.load_der_x509_crl(data) for data in pki.crls())
    assert ca_crl.last_update_utc == T0
    assert ca_crl.issuer == pki.ca.subject
    assert root_crl.issuer == pki.root.subject


def test_demo_pki_reloads_from_its_directory(pki: DemoPki) -> None:
    again = DemoPki.load(pki.directory)
    assert again.root == pki.root
    assert set(again.holders) == set(pki.holders)


def test_a_valid_personal_certificate_passes(pki: DemoPki) -> None:
    check = check_signing_certificate(_cert(pki, "lanhdao"), validation=pki.validation_setup(),
                                      at=T0 + timedelta(hours=2), purpose="personal")
    assert check.ok
    assert check.problems == ()


def test_expired_and_not_yet_valid_are_refused_with_the_date(pki: DemoPki) -> None:
    setup = pki.validation_setup()
    expired = check_signing_certificate(_cert(pki, "lanhdao"), validation=setup,
                                        at=T0 + timedelta(days=3 * 365), purpose="personal")
    assert not expired.ok
    assert expired.problems[0].code is ProblemCode.EXPIRED
    assert expired.problems[0].message.startswith("Chứng thư số đã hết hạn ngày")
    early = check_signing_certificate(_cert(pki, "lanhdao"), validation=setup,
                                      at=T0 - timedelta(days=2), purpose="personal")
    assert early.problems[0].code is ProblemCode.NOT_YET_VALID


def test_untrusted_wrong_purpose_and_key_usage(pki: DemoPki, tmp_path: Path) -> None:
    other = demo_pki(tmp_path / "other", now=T0)
    untrusted = check_signing_certificate(_cert(pki, "lanhdao"),
                                          validation=other.validation_setup(),
                                          at=T0 + timedelta(hours=2), purpose="personal")
    assert [p.code for p in untrusted.problems] == [ProblemCode.UNTRUSTED]
    seal_as_person = check_signing_certificate(_cert(pki, "SNNMT"),
                                               validation=pki.validation_setup(),
                                               at=T0 + timedelta(hours=2), purpose="personal")
    assert ProblemCode.WRONG_PURPOSE in [p.code for p in seal_as_person.problems]
    ca_as_signer = check_signing_certificate(pki.ca, validation=pki.validation_setup(),
                                             at=T0 + timedelta(hours=2), purpose="organisation")
    assert ProblemCode.KEY_USAGE in [p.code for p in ca_as_signer.problems]


def test_revocation_unknown_is_hard_or_soft_as_configured(pki: DemoPki) -> None:
    hard = ValidationSetup(trust_anchors=(pki.root,), intermediates=(pki.ca,))
    check = check_signing_certificate(_cert(pki, "lanhdao"), validation=hard,
                                      at=T0 + timedelta(hours=2), purpose="personal")
    assert not check.ok
    assert check.problems[0].code is ProblemCode.REVOCATION_UNKNOWN
    soft = ValidationSetup(trust_anchors=(pki.root,), intermediates=(pki.ca,),
                           revocation=RevocationFailure.SOFT, allow_fetching=True)
    check = check_signing_certificate(_cert(pki, "lanhdao"), validation=soft,
                                      at=T0 + timedelta(hours=2), purpose="personal")
    assert check.ok
    assert [(p.code, p.blocking) for p in check.problems] == [
        (ProblemCode.REVOCATION_UNKNOWN, False)
    ]


def test_revoked_certificate_is_refused_before_signing(tmp_path: Path) -> None:
    pki = demo_pki(tmp_path / "revoked", now=T0)
    revoked_at = T0 + timedelta(days=10)
    pki.revoke(_cert(pki, "lanhdao2").serial_number, at=revoked_at)
    later = revoked_at + timedelta(hours=1)
    check = check_signing_certificate(_cert(pki, "lanhdao2"), validation=pki.validation_setup(),
                                      at=later, purpose="personal")
    assert [p.code for p in check.problems] == [ProblemCode.REVOKED]
    assert check.problems[0].message == "Chứng thư số đã bị thu hồi ngày 11/06/2025."
    with pytest.raises(CertificateRefused) as refused:
        sign_personal(sample_pdf(1), pki.credential("lanhdao2"), field_name="X",
                      box=PERSONAL_BOX, page=0, appearance=personal_appearance(),
                      timestamper=make_timestamper(pki.tsa_config(clock=lambda: later)),
                      validation=pki.validation_setup(), signing_time=later)
    assert refused.value.code == "revoked"
    assert "thu hồi" in refused.value.message


def test_pkcs12_wrong_passphrase_is_a_typed_refusal(pki: DemoPki) -> None:
    with pytest.raises(CredentialRefused) as refused:
        load_pkcs12(pki.holders["lanhdao"].pkcs12, "sai-mat-khau")
    assert refused.value.code == "passphrase_incorrect"


def test_pkcs12_signer_keeps_its_key(pki: DemoPki, monkeypatch: pytest.MonkeyPatch) -> None:
    credential = pki.credential("lanhdao")

    def no_reload(*args: object, **kwargs: object) -> None:
        raise AssertionError("the key was parsed again")

    monkeypatch.setattr("pyhanko.sign.signers.pdf_cms.serialization.load_der_private_key",
                        no_reload)
    moment = T0 + timedelta(hours=2)
    out = sign_personal(sample_pdf(1), credential, field_name="S", box=PERSONAL_BOX, page=0,
                        appearance=personal_appearance(),
                        timestamper=make_timestamper(pki.tsa_config(clock=lambda: moment)),
                        validation=pki.validation_setup(), signing_time=moment)
    assert out.startswith(b"%PDF")


def test_missing_pkcs11_module_is_a_typed_refusal() -> None:
    with pytest.raises(CredentialRefused) as refused:
        open_pkcs11("/nonexistent/libpkcs11.so", "motcua", "1234")
    assert refused.value.code == "token_unavailable"


def test_images_are_deterministic_transparent_and_coloured() -> None:
    signature = make_signature_png("lanhdao")
    assert signature == make_signature_png("lanhdao") != make_signature_png("other")
    seal = make_seal_png(AGENCY_NAME, seed=1)
    assert seal == make_seal_png(AGENCY_NAME, seed=1) != make_seal_png(AGENCY_NAME, seed=2)
    for png, dominant in ((signature, 2), (seal, 0)):  # blue ink, red seal
        image = Image.open(io.BytesIO(png)).convert("RGBA")
        alpha = image.getchannel("A")
        assert alpha.getextrema()[0] == 0  # transparent background
        opaque = alpha.point(lambda value: 255 if value > 128 else 0)
        means = ImageStat.Stat(image.convert("RGB"), mask=opaque).mean
        assert means.index(max(means)) == dominant
