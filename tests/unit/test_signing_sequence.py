"""The result signing sequence on a 2-page Vietnamese PDF with the offline demo PKI:
personal signature, seal, verification, tampering, refusals, attachment seal, archive."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf
import pytest

from signing import (
    AttachmentAppearance,
    CertificateRefused,
    DemoPki,
    DocumentRefused,
    Indication,
    ModificationLevel,
    PadesLevel,
    SealRefused,
    ValidationSetup,
    VerificationOutcome,
    apply_seal,
    extend_archive,
    make_timestamper,
    seal_box_over,
    sign_attachment_seal,
    sign_personal,
    verify_pdf,
)
from signing.timestamps import EmbeddedTimeStamper
from tests.fixtures.pki import (
    AGENCY_NAME,
    PERSONAL_BOX,
    personal_appearance,
    sample_pdf,
    seal_appearance,
    shared_pki,
)

pytestmark = pytest.mark.unit

NOT_SIGNED = "Văn bản chưa có chữ ký số của người có thẩm quyền: không được đóng dấu."


@dataclass
class Signed:
    pki: DemoPki
    setup: ValidationSetup
    stamper: EmbeddedTimeStamper
    original: bytes
    personal: bytes
    sealed: bytes


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    pki = shared_pki(lambda: tmp_path_factory.mktemp("pki"))
    setup = pki.validation_setup()
    stamper = make_timestamper(pki.tsa_config())
    assert isinstance(stamper, EmbeddedTimeStamper)
    original = sample_pdf(2)
    personal = sign_personal(
        original, pki.credential("lanhdao"), field_name="ChuKyLanhDao", box=PERSONAL_BOX,
        page=1, appearance=personal_appearance(), timestamper=stamper, validation=setup,
    )
    sealed = apply_seal(
        personal, pki.credential("SNNMT"), field_name="DauCoQuan",
        box=seal_box_over(PERSONAL_BOX), page=1, appearance=seal_appearance(),
        timestamper=stamper, validation=setup,
    )
    return Signed(pki, setup, stamper, original, personal, sealed)


def _appearance_text(pdf: bytes, field: str) -> list[str]:
    """The ActualText spans of a signature widget's appearance stream."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            for annot in page.get("/Annots", []):
                if str(annot.get("/T", "")) == field:
                    stream = annot["/AP"]["/N"]
                    texts = []
                    for operands, operator in pikepdf.parse_content_stream(stream):
                        if str(operator) == "BDC" and "/ActualText" in operands[1]:
                            texts.append(str(operands[1]["/ActualText"]))
                    inner = [
                        obj for obj in stream.get("/Resources", {}).get("/XObject", {}).values()
                        if obj.get("/Subtype") == "/Form"
                    ]
                    for form in inner:
                        for operands, operator in pikepdf.parse_content_stream(form):
                            if str(operator) == "BDC" and "/ActualText" in operands[1]:
                                texts.append(str(operands[1]["/ActualText"]))
                    return texts
    raise AssertionError(f"no widget {field}")


def test_both_signatures_pass_and_the_seal_is_an_acceptable_later_change(signed: Signed) -> None:
    report = verify_pdf(signed.sealed, validation=signed.setup)
    assert report.outcome is VerificationOutcome.ALL_PASSED
    personal, seal = report.signatures
    assert (personal.field_name, seal.field_name) == ("ChuKyLanhDao", "DauCoQuan")
    assert personal.indication is Indication.TOTAL_PASSED
    assert seal.indication is Indication.TOTAL_PASSED
    assert personal.label == "Hợp lệ"
    assert personal.signer == "Trần Thị Bích Ngọc"
    assert personal.organisation == AGENCY_NAME
    assert not personal.organisation_signature
    assert seal.organisation_signature
    assert personal.modification is ModificationLevel.FORM_FILLING
    assert personal.modification_acceptable
    assert seal.modification is ModificationLevel.NONE
    assert personal.level is PadesLevel.B_LT
    assert seal.level is PadesLevel.B_LT
    assert personal.timestamp_valid
    assert personal.timestamp_time is not None
    assert personal.intact
    assert personal.signature_valid


def test_personal_signature_is_pades_self_locked_and_not_a_certification(signed: Signed) -> None:
    with pikepdf.open(io.BytesIO(signed.sealed)) as doc:
        assert "/Perms" not in doc.Root  # no DocMDP: the seal may follow
        fields = {str(f.get("/T")): f for f in doc.Root.AcroForm.Fields}
        personal = fields["ChuKyLanhDao"]
        assert personal.Lock.Action == "/Include"
        assert [str(name) for name in personal.Lock.Fields] == ["ChuKyLanhDao"]
        value = personal.V
        assert value.SubFilter == "/ETSI.CAdES.detached"
        assert value.Reference[0].TransformMethod == "/FieldMDP"
        assert "/Lock" not in fields["DauCoQuan"]


def test_personal_appearance_prints_titles_name_and_vietnam_time(signed: Signed) -> None:
    texts = _appearance_text(signed.personal, "ChuKyLanhDao")
    assert "KT. GIÁM ĐỐC" in texts
    assert "PHÓ GIÁM ĐỐC" in texts
    assert "Trần Thị Bích Ngọc" in texts
    stamped = [text for text in texts if text.startswith("Ký ngày: ")]
    assert len(stamped) == 1
    assert stamped[0].endswith("+07:00")
    assert len(stamped[0]) == len("Ký ngày: 2026-11-22T09:15:02+07:00")


def test_seal_appearance_is_an_image_without_text(signed: Signed) -> None:
    assert _appearance_text(signed.sealed, "DauCoQuan") == []
    with pikepdf.open(io.BytesIO(signed.sealed)) as doc:
        images = [obj for obj in doc.objects
                  if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image"
                  and obj.get("/SMask") is not None]
        assert len(images) == 2  # the blue signature and the red seal, both transparent


@pytest.mark.parametrize("where", ["header", "producer", "personal_date"])
def test_changing_a_signed_byte_fails_the_signature(signed: Signed, where: str) -> None:
    data = bytearray(signed.sealed)
    offset = {
        "header": data.index(b"%PDF-") + 5,
        "producer": data.index(b"Motcua tests") + 1,
        "personal_date": data.index(b"/M (D") + 10,  # a digit of the year
    }[where]
    data[offset] = ord("7") if data[offset] != ord("7") else ord("8")
    report = verify_pdf(bytes(data), validation=signed.setup)
    assert report.outcome is VerificationOutcome.PROBLEMS
    assert report.signatures[0].indication is Indication.TOTAL_FAILED
    assert report.signatures[0].subindication == "HASH_FAILURE"
    assert not report.signatures[0].intact


def test_sealing_an_unsigned_pdf_is_refused(signed: Signed) -> None:
    with pytest.raises(SealRefused) as refused:
        apply_seal(signed.original, signed.pki.credential("SNNMT"), field_name="DauCoQuan",
                   box=seal_box_over(PERSONAL_BOX), page=1, appearance=seal_appearance(),
                   timestamper=signed.stamper, validation=signed.setup)
    assert refused.value.message == NOT_SIGNED
    assert refused.value.code == "not_signed_by_official"


def test_sealing_twice_is_refused(signed: Signed) -> None:
    with pytest.raises(SealRefused) as refused:
        apply_seal(signed.sealed, signed.pki.credential("SNNMT"), field_name="DauCoQuan2",
                   box=seal_box_over(PERSONAL_BOX), page=1, appearance=seal_appearance(),
                   timestamper=signed.stamper, validation=signed.setup)
    assert refused.value.code == "already_sealed"


def test_sealing_over_a_broken_personal_signature_is_refused(signed: Signed) -> None:
    data = bytearray(signed.personal)
    offset = data.index(b"Motcua tests") + 1
    data[offset] ^= 0x01
    with pytest.raises(SealRefused) as refused:
        apply_seal(bytes(data), signed.pki.credential("SNNMT"), field_name="DauCoQuan",
                   box=seal_box_over(PERSONAL_BOX), page=1, appearance=seal_appearance(),
                   timestamper=signed.stamper, validation=signed.setup)
    assert refused.value.message == NOT_SIGNED


def test_an_organisation_certificate_cannot_sign_as_the_official(signed: Signed) -> None:
    with pytest.raises(CertificateRefused) as refused:
        sign_personal(signed.original, signed.pki.credential("SNNMT"), field_name="X",
                      box=PERSONAL_BOX, page=1, appearance=personal_appearance(),
                      timestamper=signed.stamper, validation=signed.setup)
    assert refused.value.code == "wrong_purpose"


def test_attachment_seal_is_text_top_right_of_page_one(signed: Signed) -> None:
    out = sign_attachment_seal(signed.original, signed.pki.credential("SNNMT"),
                               field_name="DauBanSao", appearance=AttachmentAppearance(),
                               timestamper=signed.stamper, validation=signed.setup)
    texts = _appearance_text(out, "DauBanSao")
    assert texts[0] == AGENCY_NAME
    assert texts[1].startswith("Thời gian ký: ")
    with pikepdf.open(io.BytesIO(out)) as doc:
        widget = next(a for a in doc.pages[0].Annots if str(a.get("/T")) == "DauBanSao")
        _x1, _y1, x2, y2 = (float(v) for v in widget.Rect)
        width, height = (float(v) for v in doc.pages[0].MediaBox[2:])
        assert x2 > width * 0.8
        assert y2 > height * 0.9
    report = verify_pdf(out, validation=signed.setup)
    assert report.outcome is VerificationOutcome.ALL_PASSED


def test_archive_extension_reaches_b_lta(signed: Signed) -> None:
    archived = extend_archive(signed.sealed, timestamper=signed.stamper, validation=signed.setup)
    report = verify_pdf(archived, validation=signed.setup)
    assert report.outcome is VerificationOutcome.ALL_PASSED
    assert [s.level for s in report.signatures] == [PadesLevel.B_LTA, PadesLevel.B_LTA]
    assert all(s.modification_acceptable for s in report.signatures)
    assert len(report.timestamps) == 1
    assert report.timestamps[0].indication is Indication.TOTAL_PASSED
    assert report.timestamps[0].authority == "Motcua Demo TSA"


def test_not_a_pdf_and_unsigned_pdf_are_outcomes(signed: Signed) -> None:
    assert verify_pdf(b"hello", validation=signed.setup).outcome is VerificationOutcome.NOT_A_PDF
    assert verify_pdf(b"%PDF-1.7\n garbage", validation=signed.setup).outcome is (
        VerificationOutcome.NOT_A_PDF
    )
    unsigned = verify_pdf(signed.original, validation=signed.setup)
    assert unsigned.outcome is VerificationOutcome.NO_SIGNATURES
    assert unsigned.message == "Văn bản không có chữ ký số."


def test_signing_a_non_pdf_is_refused(signed: Signed) -> None:
    with pytest.raises(DocumentRefused):
        sign_personal(b"not a pdf", signed.pki.credential("lanhdao"), field_name="X",
                      box=PERSONAL_BOX, page=0, appearance=personal_appearance(),
                      timestamper=signed.stamper, validation=signed.setup)
