"""Demo appearance images: a blue handwritten-looking signature and a round red seal.

Real images come from the official's specimen signature and the agency's registered seal;
these stand in for the demo and the tests. Both are PNGs with transparency, drawn with
Pillow (the seal's lettering in Noto Sans Bold) and fully determined by their seed.
Vietnamese seals carry the agency name around the ring and, for state bodies, the national
star in the centre [Decree 99/2016 on seals, Art. 6 describes the content; the drawing here
is only illustrative].
"""

from __future__ import annotations

import io
import math
import random
import unicodedata

from PIL import Image, ImageChops, ImageDraw, ImageFont

__all__ = ["BLUE_INK", "SEAL_RED", "make_seal_png", "make_signature_png"]

BLUE_INK = (16, 48, 170)
SEAL_RED = (206, 24, 36)
SEAL_FONT = "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"
_SUPERSAMPLE = 3


def _png(image: Image.Image, ink: tuple[int, int, int]) -> bytes:
    """One ink everywhere, the shape in the alpha channel: resampling leaves the colour
    plane uniform, so PNG and the PDF image stream deflate it to almost nothing."""
    solid = Image.new("RGB", image.size, ink)
    buffer = io.BytesIO()
    Image.merge("RGBA", (*solid.split(), image.getchannel("A"))).save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()


def make_signature_png(seed: int | str, *, size: tuple[int, int] = (600, 240)) -> bytes:
    """A looping pen stroke with a flourish, in blue ink on a transparent background."""
    rng = random.Random(f"signature:{seed}")  # noqa: S311 - a drawing, not a secret
    width, height = size[0] * _SUPERSAMPLE, size[1] * _SUPERSAMPLE
    image = Image.new("RGBA", (width, height), (*BLUE_INK, 0))  # no dark fringe when scaled
    draw = ImageDraw.Draw(image)
    loops = rng.randint(5, 8)
    points: list[tuple[float, float]] = []
    baseline = height * rng.uniform(0.55, 0.65)
    loop_height = height * 0.25
    for step in range(loops * 24 + 1):
        t = step / 24
        x = width * (0.08 + 0.72 * t / loops) + math.sin(t * 2 * math.pi) * width * 0.025
        if step % 24 == 0:  # each loop its own height, as a hand writes
            loop_height = height * rng.uniform(0.18, 0.32)
        y = baseline - math.sin(t * 2 * math.pi + 0.6) * loop_height * (0.6 + 0.4 * math.cos(t))
        points.append((x, y))
    # the flourish: a long low stroke back under the name
    end_x, end_y = points[-1]
    for step in range(1, 41):
        t = step / 40
        points.append((end_x + width * 0.12 * t - width * 0.75 * t * t,
                       end_y + height * 0.25 * math.sin(t * math.pi / 2)))
    pen = max(4, width // 160)
    for index in range(len(points) - 1):
        wobble = 0.7 + 0.6 * abs(math.sin(index / 9))
        draw.line([points[index], points[index + 1]], fill=(*BLUE_INK, 255),
                  width=max(2, round(pen * wobble)), joint="curve")
    return _png(image.resize(size, Image.Resampling.LANCZOS), BLUE_INK)


def _star(centre: tuple[float, float], radius: float) -> list[tuple[float, float]]:
    corners = []
    for index in range(10):
        angle = -math.pi / 2 + index * math.pi / 5
        r = radius if index % 2 == 0 else radius * 0.382
        corners.append((centre[0] + r * math.cos(angle), centre[1] + r * math.sin(angle)))
    return corners


def _ring_text(image: Image.Image, text: str, *, radius: float, font: ImageFont.FreeTypeFont,
               colour: tuple[int, int, int, int]) -> None:
    """Letters upright along the ring, clockwise from lower left to lower right."""
    centre = image.width / 2
    span = math.radians(300)
    count = len(text)
    for index, char in enumerate(text):
        if char == " ":
            continue
        theta = -span / 2 + span * index / max(1, count - 1)
        left, top, right, bottom = (round(edge) for edge in font.getbbox(char))
        glyph = Image.new("RGBA", (right - left + 8, bottom - top + 8), (*colour[:3], 0))
        ImageDraw.Draw(glyph).text((4 - left, 4 - top), char, font=font, fill=colour)
        rotated = glyph.rotate(-math.degrees(theta), resample=Image.Resampling.BICUBIC, expand=True)
        x = centre + radius * math.sin(theta) - rotated.width / 2
        y = centre - radius * math.cos(theta) - rotated.height / 2
        image.alpha_composite(rotated, (round(x), round(y)))


def make_seal_png(agency_name: str, seed: int | str = 0, *, size: int = 400) -> bytes:
    """A round red seal: double ring, the agency name around it, a star in the centre."""
    rng = random.Random(f"seal:{seed}")  # noqa: S311 - a drawing, not a secret
    big = size * _SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (*SEAL_RED, 0))
    draw = ImageDraw.Draw(image)
    ink = (*SEAL_RED, 255)
    centre = big / 2
    outer = big * 0.48
    draw.ellipse([centre - outer, centre - outer, centre + outer, centre + outer],
                 outline=ink, width=round(big * 0.028))
    inner = big * 0.31
    draw.ellipse([centre - inner, centre - inner, centre + inner, centre + inner],
                 outline=ink, width=round(big * 0.012))
    label = unicodedata.normalize("NFC", agency_name).upper()
    font = ImageFont.truetype(SEAL_FONT, round(big * (0.075 if len(label) < 30 else 0.06)))
    _ring_text(image, label, radius=(outer + inner) / 2 + big * 0.005, font=font, colour=ink)
    draw.polygon(_star((centre, centre), big * 0.2), fill=ink)
    # worn ink: a seeded sprinkle of paler specks, as a rubber stamp leaves
    alpha = image.getchannel("A")
    specks = Image.new("L", image.size, 0)
    speck_draw = ImageDraw.Draw(specks)
    for _ in range(300):
        x, y = rng.uniform(0, big), rng.uniform(0, big)
        r = rng.uniform(1, big * 0.006)
        speck_draw.ellipse([x - r, y - r, x + r, y + r], fill=rng.randint(60, 150))
    image.putalpha(ImageChops.subtract(alpha, specks))
    tilt = rng.uniform(-12, 12)
    image = image.rotate(tilt, resample=Image.Resampling.BICUBIC)
    return _png(image.resize((size, size), Image.Resampling.LANCZOS), SEAL_RED)
