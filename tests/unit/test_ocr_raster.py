"""The scan page's own image stands in for a rendering only when it is exactly the same."""

from __future__ import annotations

import io
from pathlib import Path

import img2pdf
import pikepdf
import pytest
from PIL import Image, ImageDraw

from ocr_pipeline.raster import sole_page_png

pytestmark = pytest.mark.unit

DPI = (300.0, 300.0)


def scan(mode: str) -> Image.Image:
    image = Image.new("RGB", (600, 400), (250, 250, 245))
    ImageDraw.Draw(image).text((40, 40), "Số: 123/QĐ-UBND", fill=(200, 20, 30))
    return image.convert(mode)


def page_pdf(tmp_path: Path, image: Image.Image, fmt: str) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, fmt, dpi=(300, 300))
    path = tmp_path / f"page-{image.mode}-{fmt}.pdf"
    path.write_bytes(img2pdf.convert(buffer.getvalue()))
    return path


@pytest.mark.parametrize(("mode", "fmt", "device"), [
    ("RGB", "PNG", "png16m"), ("L", "PNG", "pnggray"), ("RGB", "JPEG", "png16m"),
])
def test_the_embedded_image_comes_out_pixel_for_pixel(tmp_path: Path, mode: str, fmt: str,
                                                      device: str) -> None:
    original = scan(mode)
    pdf = page_pdf(tmp_path, original, fmt)
    png = sole_page_png(pdf, 1, DPI, device)
    assert png is not None
    with Image.open(io.BytesIO(png)) as raster:
        assert raster.format == "PNG"
        assert raster.size == original.size
        assert raster.info["dpi"] == pytest.approx(DPI, abs=0.01)
        with pikepdf.open(pdf) as doc:
            [embedded] = doc.pages[0].get_images().values()
            expected = pikepdf.PdfImage(embedded).as_pil_image().convert(mode)
        assert raster.convert(mode).tobytes() == expected.tobytes()


def test_another_resolution_is_left_to_the_renderer(tmp_path: Path) -> None:
    pdf = page_pdf(tmp_path, scan("RGB"), "PNG")
    assert sole_page_png(pdf, 1, (150.0, 150.0), "png16m") is None


def test_a_page_with_more_than_the_image_is_left_to_the_renderer(tmp_path: Path) -> None:
    pdf_path = page_pdf(tmp_path, scan("RGB"), "PNG")
    with pikepdf.open(pdf_path, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0]
        page.contents_add(pdf.make_stream(b"0 0 m 100 100 l S"))  # a drawn line
        pdf.save(pdf_path)
    assert sole_page_png(pdf_path, 1, DPI, "png16m") is None


def test_a_rotated_page_is_left_to_the_renderer(tmp_path: Path) -> None:
    pdf_path = page_pdf(tmp_path, scan("RGB"), "PNG")
    with pikepdf.open(pdf_path, allow_overwriting_input=True) as pdf:
        pdf.pages[0].obj.Rotate = 90
        pdf.save(pdf_path)
    assert sole_page_png(pdf_path, 1, DPI, "png16m") is None
