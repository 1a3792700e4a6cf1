"""QR codes for badges, drawn once per code and kept tiny.

A badge code is upper-case base32 (see ``eventsys.checkin.badges``), which QR's alphanumeric mode packs at
5.5 bits a character: a 128-character code is a version 6 symbol (41x41 modules) at error correction M.

Two outputs, both sharp at any print size:

- ``qr_png``: a 1-bit PNG with exactly one pixel per module (plus the quiet zone). Shown with CSS
  ``image-rendering: pixelated`` WeasyPrint writes it with ``/Interpolate false``, so PDF viewers and
  printers scale it up without smoothing. A few hundred bytes; this is what badges use.
- ``qr_svg``: the same modules as one SVG path (one ``h`` run per row of dark modules), for web pages.

The mask pattern is fixed (``MASK``) rather than chosen by trying all eight: the choice only lowers a
penalty score, every decoder reads every mask, and trying eight costs about 5 ms a code in pure Python
(a quarter of a 1,000-badge print run). Tests decode rendered badges with zxing-cpp.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache

import qrcode
import qrcode.util
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

#: Modules of white around the symbol; the QR specification asks for four.
QUIET_ZONE = 4
#: The fixed mask pattern (see the module docstring).
MASK = 0

_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


#: How many alphanumeric characters versions 1-10 hold at error correction M.
_ALPHANUMERIC_CAPACITY_M = (20, 38, 61, 90, 122, 154, 178, 221, 262, 311)


@lru_cache(maxsize=64)
def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The modules of ``text``'s QR symbol (True = dark), without the quiet zone; error correction M."""
    if set(text) <= _ALPHANUMERIC:
        # The version is known from the length: spares qrcode's trial encodings (best_fit).
        version = next((v for v, cap in enumerate(_ALPHANUMERIC_CAPACITY_M, 1) if len(text) <= cap), None)
        symbol = qrcode.QRCode(
            version=version, error_correction=ERROR_CORRECT_M, box_size=1, border=0, mask_pattern=MASK
        )
        symbol.add_data(qrcode.util.QRData(text.encode("ascii"), mode=qrcode.util.MODE_ALPHA_NUM, check_data=False))
    else:
        symbol = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=0, mask_pattern=MASK)
        symbol.add_data(text)
    symbol.make(fit=version is None if set(text) <= _ALPHANUMERIC else True)
    return tuple(tuple(row) for row in symbol.get_matrix())


def qr_version(text: str) -> int:
    """The QR version (1-40) ``text`` needs at error correction M."""
    return (len(qr_matrix(text)) - 17) // 4


def qr_png(text: str, *, quiet_zone: int = QUIET_ZONE) -> bytes:
    """A 1-bit PNG of the symbol, one pixel per module, with a white quiet zone."""
    matrix = qr_matrix(text)
    size = len(matrix) + 2 * quiet_zone
    row_bytes = (size + 7) // 8
    blank = bytes([0xFF]) * row_bytes
    rows = [blank] * quiet_zone
    for modules in matrix:
        bits = 0
        for dark in (False,) * quiet_zone + modules + (False,) * (quiet_zone + row_bytes * 8 - size):
            bits = (bits << 1) | (not dark)  # mode "1": 1 is white
        rows.append(bits.to_bytes(row_bytes, "big"))
    rows.extend([blank] * quiet_zone)
    image = Image.frombytes("1", (size, size), b"".join(rows))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def qr_png_data_uri(text: str, *, quiet_zone: int = QUIET_ZONE) -> str:
    """``qr_png`` as a ``data:`` URI, ready for an ``<img src>`` in a PDF template."""
    return "data:image/png;base64," + base64.b64encode(qr_png(text, quiet_zone=quiet_zone)).decode("ascii")


def qr_svg(text: str, *, quiet_zone: int = QUIET_ZONE, title: str | None = None) -> str:
    """The symbol as a standalone SVG: one path, one unit per module, crisp edges."""
    from markupsafe import escape

    matrix = qr_matrix(text)
    size = len(matrix) + 2 * quiet_zone
    parts = []
    for y, modules in enumerate(matrix):
        x = 0
        width = len(modules)
        while x < width:
            if modules[x]:
                start = x
                while x < width and modules[x]:
                    x += 1
                parts.append(f"M{start + quiet_zone} {y + quiet_zone}h{x - start}v1h{start - x}z")
            else:
                x += 1
    label = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'{label}<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{"".join(parts)}"/></svg>'
    )
