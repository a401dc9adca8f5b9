"""Signing benchmark: ms per document, median of N runs, on one core.

(a) naive pyHanko as in its quick-start: credentials loaded for every call
    (``SimpleSigner.load_pkcs12``), a fresh ``DummyTimeStamper``, pyHanko's text stamp with
    Noto Sans through ``GlyphAccumulatorFactory``; personal signature then seal, both B-LT.
(b) ``signing``: personal signature + seal with the visible stamps, timestamps from the
    embedded TSA, validation data embedded (B-LT), credentials opened once.
(c) ``signing.verify_pdf`` on the result of (b).

Usage: ``.venv/bin/python bench/sign.py [N] [--json PATH]`` (default 15). Targets: (b) <= 150 ms,
(c) <= 60 ms.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.stamp import TextStampStyle

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signing import (
    DemoPki,
    apply_seal,
    make_timestamper,
    seal_box_over,
    sign_personal,
    verify_pdf,
)
from signing._asn1 import certificate_to_asn1, private_key_to_asn1
from tests.fixtures.pki import (
    PERSONAL_BOX,
    demo_pki,
    personal_appearance,
    sample_pdf,
    seal_appearance,
)

NOTO = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"


def _median_ms(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    run()  # warm-up: imports, font cut, image cache, TSA certificate discovery
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def _naive(pki: DemoPki, pdf: bytes) -> bytes:
    setup = pki.validation_setup()
    stamp = TextStampStyle(
        stamp_text="KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC\n%(signer)s\nKý ngày: %(ts)s",
        text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(NOTO)),
    )
    for key, field, box in (("lanhdao", "ChuKyLanhDao", PERSONAL_BOX),
                            ("SNNMT", "DauCoQuan", seal_box_over(PERSONAL_BOX))):
        signer = signers.SimpleSigner.load_pkcs12(str(pki.holders[key].pkcs12),
                                                  passphrase=b"motcua-demo")
        stamper = DummyTimeStamper(tsa_cert=certificate_to_asn1(pki.tsa),
                                   tsa_key=private_key_to_asn1(pki.tsa_key))
        meta = signers.PdfSignatureMetadata(
            field_name=field, subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True, validation_context=setup.validation_context(),
        )
        spec = fields.SigFieldSpec(field, on_page=1, box=tuple(round(v) for v in box))
        out = signers.PdfSigner(meta, signer, timestamper=stamper, stamp_style=stamp,
                                new_field_spec=spec).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf)))
        pdf = out.getvalue()
    return pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeat", nargs="?", type=int, default=15, help="runs per case")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()
    repeat = args.repeat
    logging.disable(logging.WARNING)  # pyHanko warns that fetching is off, by design
    with tempfile.TemporaryDirectory() as folder:
        pki = demo_pki(Path(folder))
        pdf = sample_pdf(2)
        setup = pki.validation_setup()
        stamper = make_timestamper(pki.tsa_config())
        person, agency = pki.credential("lanhdao"), pki.credential("SNNMT")
        appearance, seal = personal_appearance(), seal_appearance()

        def ours() -> bytes:
            signed = sign_personal(pdf, person, field_name="ChuKyLanhDao", box=PERSONAL_BOX,
                                   page=1, appearance=appearance, timestamper=stamper,
                                   validation=setup)
            return apply_seal(signed, agency, field_name="DauCoQuan",
                              box=seal_box_over(PERSONAL_BOX), page=1, appearance=seal,
                              timestamper=stamper, validation=setup)

        result = ours()
        assert verify_pdf(result, validation=setup).outcome.value == "all_passed"
        rows = [
            ("(a) naive pyHanko, personal + seal", _median_ms(lambda: _naive(pki, pdf), repeat),
             None),
            ("(b) signing: personal + seal", _median_ms(ours, repeat), 150.0),
            ("(c) verify_pdf (2 signatures)",
             _median_ms(lambda: verify_pdf(result, validation=setup), repeat), 60.0),
        ]
    print(f"{len(pdf)} byte 2-page PDF, RSA-2048, N={repeat}, result {len(result)} bytes")
    print(f"{'case':40} {'median ms':>10} {'min ms':>8} {'target':>8}")
    for name, (median, fastest), target in rows:
        goal = f"<= {target:.0f}" if target else ""
        print(f"{name:40} {median:10.1f} {fastest:8.1f} {goal:>8}")
    if args.json:
        Path(args.json).write_text(json.dumps({"repeat": repeat, "pdf_bytes": len(pdf), "rows": [
            {"case": name, "median_ms": median, "min_ms": fastest, "target_ms": target}
            for name, (median, fastest), target in rows]}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
