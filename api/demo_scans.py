"""Sample scans for the demo: Vietnamese application papers drawn as 300-dpi page images."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["write_sample_scans"]

_FONT = Path("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf")
_BOLD = Path("/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf")

_PAGES = (
    ("ĐƠN ĐĂNG KÝ ĐẤT ĐAI, TÀI SẢN GẮN LIỀN VỚI ĐẤT", (
        "Kính gửi: Văn phòng đăng ký đất đai tỉnh Quảng Ninh",
        "Họ và tên: Nguyễn Thị Hương",
        "Số định danh cá nhân: 022190001234",
        "Địa chỉ thường trú: Tổ 5, khu 3, phường Hạ Long, tỉnh Quảng Ninh",
        "Đề nghị đăng ký quyền sử dụng thửa đất số 125, tờ bản đồ số 07,",
        "diện tích 96,5 mét vuông, mục đích sử dụng: đất ở tại đô thị.",
        "Nguồn gốc sử dụng đất: được thừa kế quyền sử dụng đất.",
        "Tôi xin cam đoan nội dung kê khai trên là đúng sự thật.",
        "Hạ Long, ngày 05 tháng 11 năm 2026",
    )),
    ("GIẤY TỜ VỀ QUYỀN SỬ DỤNG ĐẤT", (
        "Văn bản thỏa thuận phân chia di sản thừa kế",
        "Số công chứng: 1523/2026, quyển số 02/2026 TP/CC-SCC/HĐGD",
        "Người nhận thừa kế: Nguyễn Thị Hương, sinh năm 1990",
        "Thửa đất số 125, tờ bản đồ số 07, phường Hạ Long",
        "Các đồng thừa kế thống nhất để bà Hương đứng tên quyền sử dụng đất.",
        "Công chứng viên: Trần Văn Đức",
        "Ngày 20 tháng 10 năm 2026",
    )),
)


def write_sample_scans(folder: Path) -> list[Path]:
    """Write the sample pages as PNG (300 dpi) into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    regular = ImageFont.truetype(str(_FONT), 42)
    bold = ImageFont.truetype(str(_BOLD), 46)
    paths = []
    for number, (title, lines) in enumerate(_PAGES, start=1):
        page = Image.new("RGB", (2480, 3508), "white")
        draw = ImageDraw.Draw(page)
        draw.text((1240, 220), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=bold, fill="black",
                  anchor="mm")
        draw.text((1240, 300), "Độc lập - Tự do - Hạnh phúc", font=bold, fill="black",
                  anchor="mm")
        draw.text((1240, 520), title, font=bold, fill="black", anchor="mm")
        for row, line in enumerate(lines):
            draw.text((300, 720 + row * 110), line, font=regular, fill="black")
        path = folder / f"trang-{number}.png"
        page.save(path, dpi=(300, 300))
        paths.append(path)
    return paths
