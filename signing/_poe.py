"""Proofs of existence the validator holds at the moment of validation.

ETSI EN 319 102-1 §5.6.2.3: objects the validator has in hand exist at the validation time.
pyHanko 0.38 registers such a proof lazily, reading the wall clock when it first looks an
object up (``POEManager.__getitem__``), after it has already fixed the control time of the
past-signature validation from the same clock. The object then "appears" microseconds after
the control time, and ``ades_lta_validation`` downgrades a signature that passed at the
current time to INDETERMINATE/NO_POE (its step 6 runs past validation even on PASSED).
pyHanko's own tests never see it: they freeze the clock. Registering the proofs up front, at
the validation moment, gives the intended result without freezing anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from pyhanko.sign.validation import EmbeddedPdfSignature, generic_cms
from pyhanko_certvalidator.ltv.poe import KnownPOE, POEType, digest_for_poe

from signing._asn1 import der_certificates
from signing._dss import DssContents
from signing.trust import ValidationSetup

__all__ = ["held_objects_poes"]


def _cms_certificates(signed_data: Any) -> Iterator[bytes]:
    for choice in signed_data["certificates"] or ():
        if choice.name == "certificate":
            yield choice.chosen.dump()


def _signature_objects(signature: EmbeddedPdfSignature) -> Iterator[bytes]:
    yield from _cms_certificates(signature.signed_data)
    if signature.sig_object_type == "/DocTimeStamp":
        return
    for token in generic_cms.extract_tst_data_iter(signature.signer_info, signed=False):
        yield from _cms_certificates(token)


def held_objects_poes(
    dss: DssContents,
    signatures: Iterable[EmbeddedPdfSignature],
    setup: ValidationSetup,
    moment: datetime,
) -> list[KnownPOE]:
    held: set[bytes] = set(der_certificates(setup.trust_anchors + setup.intermediates))
    held.update(setup.crls, setup.ocsp_responses)
    held.update(dss.certificates, dss.crls, dss.ocsp_responses)
    for signature in signatures:
        held.update(_signature_objects(signature))
    return [
        KnownPOE(poe_type=POEType.PROVIDED, digest=digest_for_poe(data), poe_time=moment)
        for data in held
    ]
