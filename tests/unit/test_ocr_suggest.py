"""Metadata suggestions from OCR text: owner id, full name, dates, number/notation."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from ocr_pipeline.suggest import fold, suggest_metadata
from tests.fixtures.pages import PageSpec, make_page

pytestmark = pytest.mark.unit

APPLICATION = """CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
ĐƠN ĐĂNG KÝ ĐẤT ĐAI
Họ và tên: Nguyễn Thị Hương
Số định danh cá nhân: 022190001234
Ngày sinh: 12/08/1990
Hà Nội, ngày 05 tháng 3 năm 2024
"""


def test_an_application() -> None:
    found = suggest_metadata(APPLICATION)
    assert found.owner_id == "022190001234"
    assert found.full_name == "Nguyễn Thị Hương"
    assert found.dates == (date(1990, 8, 12), date(2024, 3, 5))
    assert found.issue_date == date(2024, 3, 5)
    assert found.number is None


def test_text_is_normalised_to_nfc_first() -> None:
    decomposed = unicodedata.normalize("NFD", APPLICATION)
    assert decomposed != APPLICATION
    found = suggest_metadata(decomposed)
    assert found.full_name == "Nguyễn Thị Hương"
    assert found.full_name == unicodedata.normalize("NFC", found.full_name)
    assert found.dates[-1] == date(2024, 3, 5)


@pytest.mark.parametrize(("line", "name"), [
    ("Họ và tên: NGUYỄN THỊ HƯƠNG", "Nguyễn Thị Hương"),
    ("Họ, chữ đệm và tên người yêu cầu: trần văn đức", "Trần Văn Đức"),
    ("Họ tên: Lý Thị Mỹ Duyên", "Lý Thị Mỹ Duyên"),
    ("Họ và tên Phạm Quốc Bảo", "Phạm Quốc Bảo"),  # no colon
    ("Họ và tên: Võ Thị Thu Hằng    Giới tính: Nữ", "Võ Thị Thu Hằng"),
    ("Họ và tên: Huỳnh Văn Lực, sinh năm 1970", "Huỳnh Văn Lực"),
    ("Họ và tên: Đặng Minh Khôi.........", "Đặng Minh Khôi"),
    ("Ho va ten: Nguyen Van An", "Nguyen Van An"),  # OCR lost the marks of the label too
])
def test_full_name_after_each_label(line: str, name: str) -> None:
    assert suggest_metadata(f"ĐƠN\n{line}\nKính gửi: UBND").full_name == name


@pytest.mark.parametrize("line", [
    "Họ và tên:",  # nothing after the label
    "Họ và tên: 0221 9000 1234",  # not a name
    "Số định danh cá nhân: 022190001234",  # no name label at all
])
def test_no_name(line: str) -> None:
    assert suggest_metadata(line).full_name is None


def test_owner_id_is_exactly_twelve_digits() -> None:
    text = ("Số tài khoản: 1903456789012345\nMã hồ sơ 0012345678901234\n"
            "Điện thoại 0912345678\n")
    assert suggest_metadata(text).owner_id is None
    assert suggest_metadata(text + "CCCD số 079088004521\n").owner_id == "079088004521"


def test_the_labelled_id_wins_over_an_earlier_one() -> None:
    text = "Mã biên nhận 000123456789\nSố định danh cá nhân: 048085007712\n"
    assert suggest_metadata(text).owner_id == "048085007712"
    assert suggest_metadata("Mã biên nhận 000123456789\n").owner_id == "000123456789"


@pytest.mark.parametrize(("text", "expected"), [
    ("sinh ngày 21/11/2023", (date(2023, 11, 21),)),
    ("từ 1/2/2024 đến 03-04-2024 và 5.6.2024", (date(2024, 2, 1), date(2024, 4, 3),
                                                  date(2024, 6, 5))),
    ("Đà Nẵng, ngày 20 tháng 02 năm 2024", (date(2024, 2, 20),)),
    ("Ngày 05 tháng 3 năm 2024", (date(2024, 3, 5),)),
    ("NGÀY 5 THÁNG 3 NĂM 2024", (date(2024, 3, 5),)),
    ("ngay 5 thang 3 nam 2024", (date(2024, 3, 5),)),  # marks lost by OCR
    ("31/02/2024 không có thật", ()),
    ("mã 12/05/20245", ()),  # a longer digit run is not a year
])
def test_dates(text: str, expected: tuple[date, ...]) -> None:
    assert suggest_metadata(text).dates == expected


def test_repeated_dates_are_listed_once_in_reading_order() -> None:
    text = "ngày 14/02/2024\nHà Nội, ngày 05 tháng 3 năm 2024\nký ngày 14/02/2024"
    assert suggest_metadata(text).dates == (date(2024, 2, 14), date(2024, 3, 5))


@pytest.mark.parametrize(("text", "number"), [
    ("Số: 123/QĐ-UBND", "123/QĐ-UBND"),
    ("Số: 1234/QĐ-UBND\nXét Tờ trình số 87/TTr-QLĐT", "1234/QĐ-UBND"),
    ("Xét Tờ trình số 87/TTr-QLĐT ngày 14/02/2024", "87/TTr-QLĐT"),
    ("Số:15/2024/NĐ-CP", "15/2024/NĐ-CP"),
    ("Số: 56/XNTTHN", "56/XNTTHN"),
    ("Số định danh cá nhân: 022190001234", None),
    ("số 14/02/2024", None),  # a date, not a notation
])
def test_number_and_notation(text: str, number: str | None) -> None:
    assert suggest_metadata(text).number == number


def test_fold_keeps_one_character_for_one() -> None:
    text = "Đặng Thị Ứng, ĐƯỜNG Hồ"
    assert fold(text) == "dang thi ung, duong ho"
    assert len(fold(text)) == len(text)


@pytest.mark.parametrize("document", range(4))
def test_on_the_generated_papers(document: int) -> None:
    truth = make_page(PageSpec(document=document)).text
    found = suggest_metadata(truth)
    assert found.owner_id is not None
    assert len(found.owner_id) == 12
    assert found.issue_date is not None
    assert found.issue_date.year in {2023, 2024}
