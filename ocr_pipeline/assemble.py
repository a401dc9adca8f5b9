"""Put a clerk's scans into one PDF, in the order given, without touching a pixel.

Images are wrapped by img2pdf, which embeds JPEG data as it is and PNG/TIFF losslessly, at
the image's own resolution (300 dpi when it has none or an incredible one). PDFs are
concatenated page by page with pikepdf. One image per paper page, in order, complete
[Circular 01/2023 Art. 8; DOMAIN "Digitisation rules"].
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import img2pdf
import pikepdf
from PIL import Image, ImageSequence

from ocr_pipeline import pdfscan
from ocr_pipeline.intake import sniff_media_type
from records.errors import InvalidInput

__all__ = ["SIGNED_PDF_CODE", "assemble_pdf", "image_dpi"]

SIGNED_PDF_CODE = "pdf_signed"
MIN_CREDIBLE_DPI = 70.0  # below this a "dpi" is a placeholder (1, 0), not a scanner setting


def assemble_pdf(inputs: Sequence[Path], output: Path, *, default_dpi: int) -> int:
    """Write ``inputs`` as one PDF at ``output``; return its page count.

    Raises ``InvalidInput`` for a signed PDF (it must never be OCR'd) or a file that is
    neither PDF nor a supported image; run ``intake.inspect_upload`` first.
    """
    with ExitStack() as stack:
        combined = stack.enter_context(pikepdf.new())
        for path in inputs:
            with path.open("rb") as stream:
                media_type = sniff_media_type(stream.read(1024))
            if media_type == "application/pdf":
                part = stack.enter_context(pikepdf.open(path))
                if pdfscan.is_signed(part):
                    raise InvalidInput(SIGNED_PDF_CODE,
                                       "Tệp PDF đã được ký số nên không được nhận dạng lại "
                                       "(sẽ làm hỏng chữ ký); hãy lưu kèm văn bản của tệp.")
            elif media_type is not None:
                part = stack.enter_context(pikepdf.open(io.BytesIO(
                    _image_pdf(path, default_dpi))))
            else:
                raise InvalidInput("unsupported_type",
                                   f"Định dạng tệp không được hỗ trợ: {path.name}.")
            combined.pages.extend(part.pages)
        combined.save(output)
        return len(combined.pages)


def image_dpi(image: Image.Image) -> tuple[float, float] | None:
    """The image's resolution if it is credible, else ``None``."""
    dpi = image.info.get("dpi")
    if (isinstance(dpi, tuple) and len(dpi) == 2
            and all(float(v) >= MIN_CREDIBLE_DPI for v in dpi)):
        return float(dpi[0]), float(dpi[1])
    return None


def _image_pdf(path: Path, default_dpi: int) -> bytes:
    with Image.open(path) as image:
        dpi = image_dpi(image)
        if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
            flat: bytes = img2pdf.convert(_flatten(image, dpi or (default_dpi, default_dpi)))
            return flat
        # EXIF orientation turns the page as the camera held it. img2pdf looks for it by
        # decoding the whole image, 60 ms an A4 PNG; a PNG's eXIf chunk before the pixels is
        # in ``info`` already, and one after them is ignored (rare; scanners write none).
        rotation = (img2pdf.Rotation.none if image.format == "PNG" and "exif" not in image.info
                    else img2pdf.Rotation.ifvalid)
    if dpi is None:
        fixed = img2pdf.get_fixed_dpi_layout_fun((default_dpi, default_dpi))
        pdf: bytes = img2pdf.convert(str(path), layout_fun=fixed, rotation=rotation)
        return pdf
    kept: bytes = img2pdf.convert(str(path), rotation=rotation)
    return kept


def _flatten(image: Image.Image, dpi: tuple[float, float]) -> bytes:
    """Put a transparent image on white paper (img2pdf refuses alpha); what is visible is
    unchanged and the result stays lossless."""
    frames = []
    for frame in ImageSequence.Iterator(image):
        rgba = frame.convert("RGBA")
        paper = Image.new("RGB", rgba.size, (255, 255, 255))
        paper.paste(rgba, mask=rgba.getchannel("A"))
        frames.append(paper)
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:], dpi=dpi,
                   compression="tiff_deflate")
    return buffer.getvalue()
