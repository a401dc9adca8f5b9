"""Visible appearances of the signatures [Decree 30/2020 Appendix I, DOMAIN "E-signatures"].

- personal signature: title lines, the blue signature image, the signer's name, the signing
  time in ISO 8601 with the Vietnam offset ("Ký ngày: 2026-11-22T09:15:02+07:00");
- seal: the red seal image alone, no text, no border;
- organisation signature on an attachment or copy: organisation name and time, no image.

Text uses Noto Sans through pyHanko's OpenType engine (DejaVu, at 2048 units per em, came out
letter-spaced in pyHanko stamps; FINDINGS "Signing"). What costs time per document is cached
per process: the font is cut once to the Vietnamese repertoire (a few hundred glyphs instead
of 3,300, so pyHanko's per-document subsetting is cheap) and each image is decoded and
deflated once, then written into each new PDF as ready streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.font.api import FontEngine
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import BaseStamp, BaseStampStyle

from records.calendar import VN_TZ
from signing._resources import FontCache, ImageCache

__all__ = [
    "AttachmentAppearance",
    "PersonalAppearance",
    "SealAppearance",
    "format_signing_time",
]

REGULAR_FONT = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
BOLD_FONT = "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"
_FONTS = FontCache()
_IMAGES = ImageCache()
_MARGIN = 3.0


def format_signing_time(moment: datetime) -> str:
    """ISO 8601 in Vietnam time, to the second: ``2026-11-22T09:15:02+07:00``."""
    return moment.astimezone(VN_TZ).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class PersonalAppearance:
    """What the official's signature shows. ``signer_name`` defaults to the certificate CN."""

    title_lines: tuple[str, ...]  # e.g. ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")
    signature_image: bytes  # PNG, blue ink
    signer_name: str | None = None
    # False where the document prints the title and name around the stamp (the result
    # template does): the stamp then holds the signature image and the signing time only.
    show_name: bool = True
    time_label: str = "Ký ngày"
    regular_font: str = REGULAR_FONT
    bold_font: str = BOLD_FONT


@dataclass(frozen=True, kw_only=True)
class SealAppearance:
    """The organisation's seal: a red PNG with transparency, drawn alone."""

    seal_image: bytes


@dataclass(frozen=True, kw_only=True)
class AttachmentAppearance:
    """Organisation signature on an attachment or copy: text only, top right of page 1."""

    organisation_name: str | None = None  # defaults to the certificate's O
    time_label: str = "Thời gian ký"
    regular_font: str = REGULAR_FONT
    bold_font: str = BOLD_FONT


# -- drawing ----------------------------------------------------------------------------


class _Canvas:
    """Collects drawing operators and resources for one stamp."""

    def __init__(self, stamp: BaseStamp, writer: BasePdfFileWriter, all_text: str) -> None:
        self.stamp = stamp
        self.writer = writer
        self.all_text = all_text  # picks the cut-down font only if it has every character
        self.ops: list[bytes] = []
        self._fonts: dict[str, tuple[str, FontEngine]] = {}

    def _font(self, path: str) -> tuple[str, FontEngine]:
        if path not in self._fonts:
            name = f"F{len(self._fonts) + 1}"
            engine = _FONTS.engine(path, self.writer, self.all_text)
            self.stamp.set_resource(
                ResourceType.FONT, generic.pdf_name("/" + name), engine.as_resource()
            )
            self._fonts[path] = (name, engine)
        return self._fonts[path]

    def text(self, line: str, *, font: str, size: float, y: float, width: float,
             align: str = "center") -> None:
        """One line, shrunk to fit ``width``, its baseline at ``y``."""
        name, engine = self._font(font)
        engine.font_size = size  # type: ignore[assignment]
        shaped = engine.shape(line)
        advance = shaped.x_advance * size
        if advance > width - 2 * _MARGIN and advance > 0:
            size *= (width - 2 * _MARGIN) / advance
            engine.font_size = size  # type: ignore[assignment]
            shaped = engine.shape(line)
            advance = shaped.x_advance * size
        x = (width - advance) / 2 if align == "center" else width - _MARGIN - advance
        self.ops.append(
            b"BT /%s %g Tf 1 0 0 1 %g %g Tm %s ET"
            % (name.encode("ascii"), size, x, y, shaped.graphics_ops)
        )

    def image(self, png: bytes, *, x: float, y: float, width: float, height: float) -> None:
        """Fit the image into the box, keeping its aspect ratio, centred."""
        ref, (px_w, px_h) = _IMAGES.embed(png, self.writer)
        scale = min(width / px_w, height / px_h)
        draw_w, draw_h = px_w * scale, px_h * scale
        left, bottom = x + (width - draw_w) / 2, y + (height - draw_h) / 2
        name = f"Im{len(self.ops)}"
        self.stamp.set_resource(ResourceType.XOBJECT, generic.pdf_name("/" + name), ref)
        self.ops.append(
            b"q %g 0 0 %g %g %g cm /%s Do Q" % (draw_w, draw_h, left, bottom, name.encode("ascii"))
        )


class _DrawnStamp(BaseStamp):
    """A stamp whose content is drawn by its style's ``draw`` method."""

    def __init__(self, writer: BasePdfFileWriter, style: _DrawnStyle, box: layout.BoxConstraints,
                 text_params: dict[str, Any]) -> None:
        super().__init__(writer=writer, style=style, box=box)
        self.text_params = text_params

    def _render_inner_content(self) -> list[bytes]:
        texts = [str(value) for value in self.text_params.values()]
        canvas = _Canvas(self, self._ensure_writer, "".join(texts) + self.style.static_text())
        self.style.draw(canvas, self.box.width, self.box.height, self.text_params)
        return canvas.ops


@dataclass(frozen=True)
class _DrawnStyle(BaseStampStyle):
    border_width: int = 0

    def create_stamp(self, writer: BasePdfFileWriter, box: layout.BoxConstraints,
                     text_params: dict[str, Any]) -> _DrawnStamp:
        return _DrawnStamp(writer, self, box, text_params)

    def draw(self, canvas: _Canvas, width: float, height: float, params: dict[str, Any]) -> None:
        raise NotImplementedError

    def static_text(self) -> str:
        return ""


@dataclass(frozen=True, kw_only=True)
class PersonalStyle(_DrawnStyle):
    appearance: PersonalAppearance

    def static_text(self) -> str:
        return "".join(self.appearance.title_lines) + self.appearance.time_label

    def draw(self, canvas: _Canvas, width: float, height: float, params: dict[str, Any]) -> None:
        spec = self.appearance
        size = max(6.0, min(10.0, height * 0.075))
        leading = size * 1.3
        y = height - _MARGIN - size
        for line in spec.title_lines:
            canvas.text(line, font=spec.bold_font, size=size, y=y, width=width)
            y -= leading
        small = size * 0.75
        time_y = _MARGIN + small * 0.3
        canvas.text(f"{spec.time_label}: {params['signed_at']}", font=spec.regular_font,
                    size=small, y=time_y, width=width)
        top = y + size * 0.2
        if spec.show_name:
            name_y = time_y + small * 1.2 + size * 0.3
            canvas.text(params["signer"], font=spec.bold_font, size=size * 1.05, y=name_y,
                        width=width)
            bottom = name_y + size * 1.3
        else:
            bottom = time_y + small * 1.4
        if top - bottom > 4:
            canvas.image(spec.signature_image, x=_MARGIN, y=bottom, width=width - 2 * _MARGIN,
                         height=top - bottom)


@dataclass(frozen=True, kw_only=True)
class SealStyle(_DrawnStyle):
    appearance: SealAppearance

    def draw(self, canvas: _Canvas, width: float, height: float, params: dict[str, Any]) -> None:
        canvas.image(self.appearance.seal_image, x=0, y=0, width=width, height=height)


@dataclass(frozen=True, kw_only=True)
class AttachmentStyle(_DrawnStyle):
    appearance: AttachmentAppearance

    def static_text(self) -> str:
        return self.appearance.time_label

    def draw(self, canvas: _Canvas, width: float, height: float, params: dict[str, Any]) -> None:
        spec = self.appearance
        size = max(6.0, min(9.0, height * 0.3))
        canvas.text(params["signer"], font=spec.bold_font, size=size,
                    y=height - _MARGIN - size, width=width, align="right")
        canvas.text(f"{spec.time_label}: {params['signed_at']}", font=spec.regular_font,
                    size=size * 0.85, y=height - _MARGIN - size * 2.4, width=width, align="right")
