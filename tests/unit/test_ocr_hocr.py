"""Reading tesseract's hOCR, the OCR-image filter and the progress bar of the plugin."""

from __future__ import annotations

import random
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from ocr_pipeline import ocrmypdf_plugin
from ocr_pipeline.hocr import parse_hocr
from tests.fixtures.pages import cer, cer_without_diacritics, levenshtein, strip_diacritics

pytestmark = pytest.mark.unit

# The shape tesseract 5.3 writes (trimmed); the third block is a seal fragment.
HOCR = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head><meta name='ocr-system' content='tesseract 5.3.0' /></head>
 <body>
  <div class='ocr_page' id='page_1' title='image "x.png"; bbox 0 0 2480 1754; ppageno 0'>
   <div class='ocr_carea' id='block_1_1' title="bbox 667 240 1814 385">
    <p class='ocr_par' id='par_1_1' lang='vie' title="bbox 667 240 1814 385">
     <span class='ocr_line' id='line_1_1' title="bbox 667 240 1814 305">
      <span class='ocrx_word' id='word_1_1' title='bbox 667 243 825 305; x_wconf 96'>CỘNG</span>
      <span class='ocrx_word' id='word_1_2' title='bbox 842 243 967 295; x_wconf 90'>HÒA</span>
     </span>
     <span class='ocr_line' id='line_1_2' title="bbox 866 330 1613 385">
      <span class='ocrx_word' id='word_1_3' title='bbox 866 330 966 383; x_wconf 92'>-</span>
      <span class='ocrx_word' id='word_1_4' title='bbox 983 330 1065 385; x_wconf 80'
       ><strong>Tự</strong></span>
      <span class='ocrx_word' id='word_1_5' title='bbox 1083 354 1097 360; x_wconf 70'
       >A&amp;B</span>
     </span>
    </p>
   </div>
   <div class='ocr_carea' id='block_1_2' title="bbox 919 436 1560 490">
    <p class='ocr_par' id='par_1_2' lang='vie' title="bbox 919 436 1560 490">
     <span class='ocr_line' id='line_1_3' title="bbox 919 436 1560 490">
      <span class='ocrx_word' id='word_1_6' title='bbox 919 447 1047 490; x_wconf 60'>ĐƠN</span>
     </span>
    </p>
   </div>
   <div class='ocr_carea' id='block_1_3' title="bbox 1900 1500 2000 1560">
    <p class='ocr_par' id='par_1_3' lang='eng' title="bbox 1900 1500 2000 1560">
     <span class='ocr_line' id='line_1_4' title="bbox 1900 1500 2000 1560">
      <span class='ocrx_word' id='word_1_7' title='bbox 1900 1500 2000 1560; x_wconf 21'>`—</span>
     </span>
    </p>
   </div>
  </div>
 </body>
</html>
"""


def test_text_in_reading_order_with_lines_and_paragraphs() -> None:
    page = parse_hocr(HOCR)
    assert page.text == "CỘNG HÒA\n- Tự A&B\n\nĐƠN"
    assert (page.width_px, page.height_px) == (2480, 1754)


def test_confidence_is_the_mean_over_kept_words() -> None:
    page = parse_hocr(HOCR)
    assert page.word_confidences == (96, 90, 92, 80, 70, 60)  # the seal fragment is dropped
    assert page.confidence == pytest.approx(488 / 6)


def test_text_is_nfc() -> None:
    decomposed = HOCR.replace("CỘNG", unicodedata.normalize("NFD", "CỘNG"))
    assert parse_hocr(decomposed).text.startswith("CỘNG HÒA")


def test_an_empty_hocr_has_no_words() -> None:
    # What ocrmypdf writes when tesseract times out on a page.
    page = parse_hocr("")
    assert (page.text, page.confidence, page.width_px) == ("", None, None)


# --- the OCR image filter -----------------------------------------------------------------


def scan(*, seal: bool = False, specks: float = 0.0) -> Image.Image:
    image = Image.new("RGB", (1200, 800), (253, 253, 250))
    draw = ImageDraw.Draw(image)
    for row in range(8):
        draw.rectangle((100, 80 + row * 80, 1000, 110 + row * 80), fill=(20, 20, 20))
    if seal:
        draw.ellipse((500, 200, 900, 600), outline=(215, 35, 45), width=14)
        draw.line((450, 650, 1100, 300), fill=(30, 60, 190), width=7)
    rng = random.Random(7)  # noqa: S311 (reproducible specks)
    for _ in range(int(specks * image.width * image.height)):
        image.putpixel((rng.randrange(image.width), rng.randrange(image.height)), (0, 0, 0))
    image.info["dpi"] = (300, 300)
    return image


def test_a_clean_black_and_white_page_is_left_alone() -> None:
    image = scan()
    assert ocrmypdf_plugin.clean_for_ocr(image) is image


def test_seal_and_blue_ink_are_whitened_and_print_is_kept() -> None:
    image = scan(seal=True)
    assert ocrmypdf_plugin.coloured_ink(image) >= ocrmypdf_plugin.COLOURED_INK
    cleaned = ocrmypdf_plugin.clean_for_ocr(image)
    assert cleaned.mode == "L"
    assert cleaned.getpixel((700, 207)) == 255  # on the red ring
    assert cleaned.getpixel((1050, 327)) == 255  # on the blue stroke, off the print
    assert cleaned.getpixel((300, 95)) == 20  # print stays as dark as it was
    assert cleaned.info["dpi"] == (300, 300)  # ocrmypdf places the text layer with it


def test_a_speckled_page_is_median_filtered() -> None:
    image = scan(specks=0.03)
    assert ocrmypdf_plugin.noise_level(image) >= ocrmypdf_plugin.LIGHT_NOISE
    cleaned = ocrmypdf_plugin.clean_for_ocr(image)
    assert ocrmypdf_plugin.noise_level(cleaned) < ocrmypdf_plugin.LIGHT_NOISE
    assert cleaned.getpixel((300, 95)) == 20


# --- progress ------------------------------------------------------------------------------


def test_progress_counts_whole_pages_of_the_ocr_pass_only() -> None:
    calls: list[tuple[int, int]] = []
    with ocrmypdf_plugin.reporting_progress(lambda done, total: calls.append((done, total))):
        bar_class = ocrmypdf_plugin.get_progressbar_class()
        with bar_class(total=2, desc="Scanning contents", unit="page") as other:
            other.update(2)
        with bar_class(total=2, desc="OCR", unit="page") as bar:
            for _ in range(4):
                bar.update(0.5)  # ocrmypdf: half when OCR'd, half when grafted
    assert calls == [(1, 2), (2, 2)]


# --- the CER helpers of tests/fixtures/pages.py ---------------------------------------------


def reference_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


@given(st.text(alphabet="aăâđơư ", max_size=80), st.text(alphabet="aăâđơư ", max_size=80))
def test_the_bit_vector_levenshtein_matches_the_textbook_one(a: str, b: str) -> None:
    assert levenshtein(a, b) == reference_distance(a, b)


def test_cer_ignores_layout_and_can_ignore_marks() -> None:
    assert cer("Họ và tên:\nNguyễn  Thị", "Họ và tên: Nguyễn Thị") == 0.0
    assert cer("đơn", "don") == pytest.approx(2 / 3)
    assert cer_without_diacritics("đơn", "don") == 0.0
    assert strip_diacritics("Đặng Ưng") == "Dang Ung"
