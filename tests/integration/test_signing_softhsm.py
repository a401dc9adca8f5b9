"""Signing with a key on a PKCS#11 token: SoftHSM2 in a temporary token directory.

The key pair is generated on the token (it never leaves it), the demo CA certifies the
public key, the certificate and the CA certificate are stored on the token, and the
credential is opened once for a batch (one PIN entry). Skipped only if the SoftHSM2 module
is absent.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pkcs11
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import Encoding
from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass

from signing import (
    CredentialRefused,
    DemoPki,
    Indication,
    make_timestamper,
    open_pkcs11,
    sign_personal,
    verify_pdf,
)
from tests.fixtures.pki import (
    AGENCY_NAME,
    PERSONAL_BOX,
    personal_appearance,
    sample_pdf,
    shared_pki,
)

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
pytestmark = [
    pytest.mark.integration,
]


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPki]:
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n", encoding="utf-8")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "motcua",
                    "--pin", "1234", "--so-pin", "5678"], check=True, capture_output=True)
    pki = shared_pki(lambda: tmp_path_factory.mktemp("pki"))
    token = pkcs11.lib(MODULE).get_token(token_label="motcua")
    with token.open(rw=True, user_pin="1234") as session:
        public, _ = session.generate_keypair(KeyType.RSA, 2048, store=True, label="lanhdao",
                                             id=b"\x01")
        numbers = RSAPublicNumbers(int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                                   int.from_bytes(public[Attribute.MODULUS], "big"))
        cert = pki.issue(numbers.public_key(), common_name="Phạm Minh Khoa",
                         organisation=AGENCY_NAME, title="Phó Giám đốc",
                         not_before=datetime.now(UTC) - timedelta(minutes=30))
        for label, item, ident in (("lanhdao", cert, b"\x01"), ("ca", pki.ca, b"\x02")):
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: label,
                Attribute.ID: ident,
                Attribute.SUBJECT: item.subject.public_bytes(),
                Attribute.VALUE: item.public_bytes(Encoding.DER),
            })
    yield pki
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def test_a_batch_is_signed_on_the_token_with_one_login(token: DemoPki) -> None:
    setup, stamper = token.validation_setup(), make_timestamper(token.tsa_config())
    with open_pkcs11(MODULE, "motcua", "1234", key_label="lanhdao") as credential:
        assert credential.common_name == "Phạm Minh Khoa"
        assert [c.subject for c in credential.chain] == [token.ca.subject]
        results = [
            sign_personal(sample_pdf(pages), credential, field_name="ChuKyLanhDao",
                          box=PERSONAL_BOX, page=0, appearance=personal_appearance(),
                          timestamper=stamper, validation=setup)
            for pages in (1, 2)
        ]
    for pdf in results:
        report = verify_pdf(pdf, validation=setup)
        assert report.signatures[0].indication is Indication.TOTAL_PASSED
        assert report.signatures[0].signer == "Phạm Minh Khoa"


def test_the_only_key_is_found_without_labels(token: DemoPki) -> None:
    with open_pkcs11(MODULE, "motcua", "1234") as credential:
        assert credential.common_name == "Phạm Minh Khoa"


def test_wrong_pin_is_refused_in_vietnamese(token: DemoPki) -> None:
    with pytest.raises(CredentialRefused) as refused:
        open_pkcs11(MODULE, "motcua", "0000", key_label="lanhdao")
    assert refused.value.code == "pin_incorrect"
    assert refused.value.message == "Mã PIN không đúng."


def test_unknown_token_is_refused(token: DemoPki) -> None:
    with pytest.raises(CredentialRefused) as refused:
        open_pkcs11(MODULE, "khong-co", "1234")
    assert refused.value.code == "token_unavailable"
