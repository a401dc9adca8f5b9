"""Per-process caches for what stamps embed: a cut-down font and ready image streams.

FINDINGS "Signing": a visible stamp with an embedded Noto font added about 230 ms per
document, most of it fontTools subsetting the whole 3,300-glyph font for every PDF. Here the
font is cut once to the characters Vietnamese administrative text uses; pyHanko still
subsets per document (so each PDF embeds only the glyphs it shows), but from a small font.
Images are decoded, scaled and deflated once; each PDF gets the finished streams.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zlib
from functools import cache

from fontTools import subset, ttLib  # type: ignore[import-untyped]
from PIL import Image, ImageStat
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.writer import BasePdfFileWriter

__all__ = ["VIETNAMESE_REPERTOIRE", "FontCache", "ImageCache"]

# Basic Latin, Latin-1, Latin Extended-A (Ă Đ Ĩ Ũ), Ơ Ư, combining marks, Latin Extended
# Additional (Vietnamese precomposed letters), general punctuation, ₫ and №.
VIETNAMESE_REPERTOIRE: frozenset[int] = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x1A0, 0x1B1), *range(0x300, 0x324),
     *range(0x1EA0, 0x1EFA), *range(0x2010, 0x2027), 0x20AB, 0x2116]
)
_MAX_IMAGE_PX = 900  # plenty for a 5 cm stamp at 300 dpi


@cache
def _cut_font(path: str) -> tuple[bytes, frozenset[int]]:
    font = ttLib.TTFont(path)
    options = subset.Options()
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.drop_tables += ["GSUB", "GPOS", "GDEF"]
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=sorted(VIETNAMESE_REPERTOIRE))
    subsetter.subset(font)
    covered = frozenset(font.getBestCmap())
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue(), covered


class FontCache:
    """Font engines for a writer, built from the cut-down font when the text fits it."""

    def engine(self, path: str, writer: BasePdfFileWriter, text: str = "") -> GlyphAccumulator:
        program, covered = _cut_font(path)
        if any(ord(char) not in covered for char in text):
            with open(path, "rb") as handle:
                program = handle.read()
        return GlyphAccumulator(writer, io.BytesIO(program), font_size=10)


def _number(value: int) -> generic.NumberObject:
    return generic.NumberObject(value)  # type: ignore[no-untyped-call]


def _flatten(rgba: Image.Image) -> Image.Image:
    """RGB with the mean ink colour under mostly transparent pixels: (nearly) invisible
    behind the soft mask, and an image in one ink then deflates to almost nothing."""
    rgb = rgba.convert("RGB")
    visible = rgba.getchannel("A").point(lambda value: 255 if value >= 128 else 0)
    if visible.getbbox() is None:
        return rgb
    red, green, blue = (round(value) for value in ImageStat.Stat(rgb, mask=visible).mean)
    return Image.composite(rgb, Image.new("RGB", rgba.size, (red, green, blue)), visible)


class _Prepared:
    def __init__(self, png: bytes) -> None:
        image = Image.open(io.BytesIO(png))
        image.load()
        if max(image.size) > _MAX_IMAGE_PX:
            image.thumbnail((_MAX_IMAGE_PX, _MAX_IMAGE_PX), Image.Resampling.LANCZOS)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        rgba = image.convert("RGBA" if has_alpha else "RGB")
        self.size = rgba.size
        rgb = _flatten(rgba) if has_alpha else rgba
        self.rgb = zlib.compress(rgb.tobytes(), 6)
        self.alpha = zlib.compress(rgba.getchannel("A").tobytes(), 6) if has_alpha else None

    def _stream(self, data: bytes, colour_space: str) -> generic.StreamObject:
        width, height = self.size
        return generic.StreamObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/XObject"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Image"),
                generic.pdf_name("/Width"): _number(width),
                generic.pdf_name("/Height"): _number(height),
                generic.pdf_name("/ColorSpace"): generic.pdf_name(colour_space),
                generic.pdf_name("/BitsPerComponent"): _number(8),
                generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode"),
            },
            encoded_data=data,
        )

    def embed(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        stream = self._stream(self.rgb, "/DeviceRGB")
        if self.alpha is not None:
            # ISO 32000-1 §11.6.5.3: the alpha channel as a soft-mask image
            stream[generic.pdf_name("/SMask")] = writer.add_object(
                self._stream(self.alpha, "/DeviceGray")
            )
        return writer.add_object(stream)


class ImageCache:
    """PNG bytes -> image XObjects, decoded and deflated once per process."""

    def __init__(self, limit: int = 64) -> None:
        self._prepared: dict[str, _Prepared] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def embed(
        self, png: bytes, writer: BasePdfFileWriter
    ) -> tuple[generic.IndirectObject, tuple[int, int]]:
        key = hashlib.sha256(png).hexdigest()
        with self._lock:
            prepared = self._prepared.get(key)
        if prepared is None:
            prepared = _Prepared(png)
            with self._lock:
                if len(self._prepared) >= self._limit:
                    self._prepared.pop(next(iter(self._prepared)))
                self._prepared[key] = prepared
        return prepared.embed(writer), prepared.size
