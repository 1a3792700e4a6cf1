"""The QR encoder: module for module the symbol the ``qrcode`` package draws (same mask, same mode), and
PNGs that a real decoder (zxing-cpp) reads back."""

from __future__ import annotations

import base64
import io
import random
import string

import pytest
import qrcode
import qrcode.util
import zxingcpp
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from eventsys.common import qr

BASE32 = string.ascii_uppercase + "234567"
URL_CHARS = string.ascii_letters + string.digits + "/:.-_?=&%#"


def reference(text: str) -> tuple[tuple[bool, ...], ...]:
    """The ``qrcode`` package's symbol for ``text`` in one segment, error correction M, mask 0."""
    alphanumeric = all(char in qr._ALPHANUMERIC_VALUE for char in text)
    symbol = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=0, mask_pattern=qr.MASK)
    mode = qrcode.util.MODE_ALPHA_NUM if alphanumeric else qrcode.util.MODE_8BIT_BYTE
    symbol.add_data(qrcode.util.QRData(text.encode("utf-8"), mode=mode, check_data=False))
    symbol.make(fit=True)
    return tuple(tuple(row) for row in symbol.get_matrix())


def texts() -> list[str]:
    rng = random.Random(5)
    out = ["", "A", "HELLO WORLD", "https://example.org/verify/AB12", "서울 2022 \u2013 Ñuñoa", "محمد"]
    # Every length up to version 10 and beyond, in both modes: versions 1-25, with and without version info.
    for length in [*range(1, 160, 3), *range(160, 1300, 61)]:
        out.append("".join(rng.choice(BASE32) for _ in range(length)))
        out.append("".join(rng.choice(URL_CHARS) for _ in range(length // 2 + 1)))
    return out


@pytest.mark.parametrize("text", texts())
def test_the_symbol_is_the_one_qrcode_draws(text):
    assert qr.qr_matrix(text) == reference(text)


def test_a_badge_code_is_a_version_6_symbol():
    code = base64.b32encode(bytes(range(80))).decode()
    assert len(code) == 128 and qr.qr_version(code) == 6


@pytest.mark.parametrize(
    "text",
    [
        base64.b32encode(bytes(range(80))).decode(),  # a badge code: alphanumeric, version 6
        "https://events.example.org/verify/7KQ2-M9XD",  # a verification URL: bytes
        "서울디지털재단 \u2013 Ñuñoa",  # UTF-8
        "X" * 400,  # version 10+: with the version information blocks
    ],
)
def test_the_png_has_one_pixel_a_module_and_decodes(text):
    image = Image.open(io.BytesIO(qr.qr_png(text)))
    matrix = qr.qr_matrix(text)
    size = len(matrix) + 2 * qr.QUIET_ZONE
    assert image.mode == "L" and image.size == (size, size)
    pixels = image.load()
    assert all(
        (pixels[x + qr.QUIET_ZONE, y + qr.QUIET_ZONE] == 0) == dark
        for y, row in enumerate(matrix)
        for x, dark in enumerate(row)
    )
    assert all(pixels[x, 0] == 255 and pixels[0, x] == 255 for x in range(size))  # the quiet zone is white
    [decoded] = zxingcpp.read_barcodes(image.resize((size * 5, size * 5), Image.NEAREST))
    assert decoded.text == text


def test_too_long_a_text_is_refused():
    with pytest.raises(qr.QRTooLong):
        qr.qr_matrix("A" * 4000)
