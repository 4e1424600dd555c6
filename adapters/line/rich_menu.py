"""Rich menu layout and a plain generated image for it, written as PNG with zlib and struct.

The menu is a title strip over a grid of buttons. `menu_layout` gives the button areas,
used both for drawing and for the rich menu's tap areas, so the two always agree. Labels
are drawn with a built-in 5×7 pixel font (letters, digits, a little punctuation): a brand
that wants its own artwork (and CJK labels) passes an image of the same layout instead.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

Color = tuple[int, int, int]
WIDTH, HEIGHT, TITLE_HEIGHT = 2500, 843, 90
GAP = 12

# 5×7 glyphs: one hex number per row, bit 4 the leftmost pixel.
# fmt: off
GLYPHS = {
    "A": "0E 11 11 1F 11 11 11", "B": "1E 11 11 1E 11 11 1E", "C": "0E 11 10 10 10 11 0E",
    "D": "1E 11 11 11 11 11 1E", "E": "1F 10 10 1E 10 10 1F", "F": "1F 10 10 1E 10 10 10",
    "G": "0E 11 10 17 11 11 0F", "H": "11 11 11 1F 11 11 11", "I": "0E 04 04 04 04 04 0E",
    "J": "07 02 02 02 02 12 0C", "K": "11 12 14 18 14 12 11", "L": "10 10 10 10 10 10 1F",
    "M": "11 1B 15 15 11 11 11", "N": "11 11 19 15 13 11 11", "O": "0E 11 11 11 11 11 0E",
    "P": "1E 11 11 1E 10 10 10", "Q": "0E 11 11 11 15 12 0D", "R": "1E 11 11 1E 14 12 11",
    "S": "0F 10 10 0E 01 01 1E", "T": "1F 04 04 04 04 04 04", "U": "11 11 11 11 11 11 0E",
    "V": "11 11 11 11 11 0A 04", "W": "11 11 11 15 15 15 0A", "X": "11 11 0A 04 0A 11 11",
    "Y": "11 11 11 0A 04 04 04", "Z": "1F 01 02 04 08 10 1F", "0": "0E 11 13 15 19 11 0E",
    "1": "04 0C 04 04 04 04 0E", "2": "0E 11 01 02 04 08 1F", "3": "1F 02 04 02 01 11 0E",
    "4": "02 06 0A 12 1F 02 02", "5": "1F 10 1E 01 01 11 0E", "6": "06 08 10 1E 11 11 0E",
    "7": "1F 01 02 04 08 08 08", "8": "0E 11 11 0E 11 11 0E", "9": "0E 11 11 0F 01 02 0C",
    "-": "00 00 00 1F 00 00 00", " ": "00 00 00 00 00 00 00", ".": "00 00 00 00 00 0C 0C",
    "!": "04 04 04 04 04 00 04", "?": "0E 11 01 02 04 00 04", "/": "00 01 02 04 08 10 00",
    "&": "0C 12 14 08 15 12 0D", "+": "00 04 04 1F 04 04 00", ":": "00 0C 0C 00 0C 0C 00",
    "'": "0C 04 08 00 00 00 00",
}
# fmt: on


@dataclass(frozen=True)
class Area:
    x: int
    y: int
    width: int
    height: int


def menu_layout(count: int, *, columns: int = 3) -> list[Area]:
    """Tap areas for `count` buttons in rows of `columns`, under the title strip."""
    if count < 1:
        raise ValueError("a rich menu needs at least one button")
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    areas = []
    for index in range(count):
        row, column = divmod(index, columns)
        x0, x1 = WIDTH * column // columns, WIDTH * (column + 1) // columns
        top = TITLE_HEIGHT + (HEIGHT - TITLE_HEIGHT) * row // rows
        bottom = TITLE_HEIGHT + (HEIGHT - TITLE_HEIGHT) * (row + 1) // rows
        areas.append(Area(x0, top, x1 - x0, bottom - top))
    return areas


def drawable(text: str) -> str:
    """The part of `text` the built-in font can draw (upper-cased)."""
    return "".join(char for char in text.upper() if char in GLYPHS).strip()


def menu_image(
    labels: list[str], *, title: str = "", accent: Color = (6, 199, 85), columns: int = 3
) -> bytes:
    """A PNG of WIDTH×HEIGHT: the title on an accent strip, one tile per label."""
    canvas = Canvas(WIDTH, HEIGHT, (248, 249, 250))
    canvas.fill(0, 0, WIDTH, TITLE_HEIGHT, accent)
    canvas.write(drawable(title), Area(0, 0, WIDTH, TITLE_HEIGHT), (255, 255, 255), max_scale=8)
    tile = _tint(accent, 0.88)
    for area, label in zip(menu_layout(len(labels), columns=columns), labels, strict=True):
        inner = Area(area.x + GAP, area.y + GAP, area.width - 2 * GAP, area.height - 2 * GAP)
        canvas.fill(inner.x, inner.y, inner.width, inner.height, tile)
        canvas.fill(inner.x, inner.y + inner.height - 10, inner.width, 10, accent)
        canvas.write(drawable(label), inner, (33, 37, 41), max_scale=14)
    return canvas.png()


def _tint(color: Color, amount: float) -> Color:
    red, green, blue = (round(c + (255 - c) * amount) for c in color)
    return red, green, blue


class Canvas:
    """An RGB pixel buffer that knows rectangles and the built-in font."""

    def __init__(self, width: int, height: int, background: Color) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def fill(self, x: int, y: int, width: int, height: int, color: Color) -> None:
        x, y = max(0, x), max(0, y)
        width, height = min(width, self.width - x), min(height, self.height - y)
        if width <= 0 or height <= 0:
            return
        run = bytes(color) * width
        for row in range(y, y + height):
            start = (row * self.width + x) * 3
            self.pixels[start : start + width * 3] = run

    def write(self, text: str, box: Area, color: Color, *, max_scale: int) -> None:
        """`text` centred in `box`, as large as fits up to `max_scale` pixels per dot."""
        if not text:
            return
        columns = len(text) * 6 - 1
        scale = min(max_scale, (box.width * 9 // 10) // columns, (box.height * 7 // 10) // 7)
        if scale < 1:
            return
        left = box.x + (box.width - columns * scale) // 2
        top = box.y + (box.height - 7 * scale) // 2
        for position, char in enumerate(text):
            for row, bits in enumerate(GLYPHS[char].split()):
                value = int(bits, 16)
                for column in range(5):
                    if value & (0x10 >> column):
                        x = left + (position * 6 + column) * scale
                        self.fill(x, top + row * scale, scale, scale, color)

    def png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[row * stride : (row + 1) * stride])
            for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)
