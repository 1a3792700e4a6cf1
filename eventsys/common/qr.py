"""QR codes for badges and certificates, drawn once per code and kept tiny.

A badge code is upper-case base32 (see ``eventsys.checkin.badges``), which QR's alphanumeric mode packs at
5.5 bits a character: a 128-character code is a version 6 symbol (41x41 modules) at error correction M.

Two outputs, both sharp at any print size:

- ``qr_png``: an 8-bit greyscale PNG with exactly one pixel per module (plus the quiet zone). Shown with
  CSS ``image-rendering: pixelated`` WeasyPrint writes it with ``/Interpolate false``, so PDF viewers and
  printers scale it up without smoothing. Greyscale is what WeasyPrint embeds as it is (a 1-bit PNG would
  be converted to RGB and re-encoded for every badge). A few hundred bytes; badges and certificates use it.
- ``qr_svg``: the same modules as one SVG path (one ``h`` run per row of dark modules), for web pages.

The symbol is encoded here rather than by the ``qrcode`` package, whose pure-Python Reed-Solomon and
module placement cost about 1.5 ms a code (a sixth of a badge's rendering): this encoder keeps one template
per version (function patterns, the order of the data modules and the mask over them) and per code only
packs the bits, computes the error correction with table look-ups and fills the template, in about 0.2 ms.
It uses ``qrcode``'s specification tables (block structure, alignment positions, BCH format bits), and
the tests check it module for module against ``qrcode`` and decode rendered symbols with zxing-cpp.

The mask pattern is fixed (``MASK``) rather than chosen by trying all eight: the choice only lowers a
penalty score, and every decoder reads every mask. Data is one segment: alphanumeric when every character
allows it (badge codes), else UTF-8 bytes (URLs). Error correction is always M.
"""

from __future__ import annotations

import base64
import operator
import struct
import zlib
from collections.abc import Callable
from functools import cache, lru_cache

from qrcode import base as _spec
from qrcode import util as _util
from qrcode.constants import ERROR_CORRECT_M

#: Modules of white around the symbol; the QR specification asks for four.
QUIET_ZONE = 4
#: The fixed mask pattern (0: dark and light swap where row + column is even).
MASK = 0

_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_ALPHANUMERIC_VALUE = {char: value for value, char in enumerate(_ALPHANUMERIC)}
_MODE_ALPHANUMERIC = 0b0010
_MODE_BYTE = 0b0100


class QRTooLong(ValueError):
    """The text does not fit a version 40 symbol at error correction M."""


# --- Galois field GF(256) and Reed-Solomon ------------------------------------------------------------------

_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _power in range(255, 512):
    _EXP[_power] = _EXP[_power - 255]


@cache
def _generator_rows(degree: int) -> tuple[int, ...]:
    """For each byte 0-255: that byte times the generator polynomial of ``degree`` (without its x^degree
    term), as a ``degree``-byte big-endian integer."""
    generator = [1]
    for i in range(degree):
        product = [0] * (len(generator) + 1)
        for j, coefficient in enumerate(generator):
            product[j] ^= coefficient
            if coefficient:
                product[j + 1] ^= _EXP[_LOG[coefficient] + i]
        generator = product
    tail = generator[1:]
    rows = [0]
    for factor in range(1, 256):
        log = _LOG[factor]
        rows.append(int.from_bytes(bytes(_EXP[log + _LOG[c]] if c else 0 for c in tail), "big"))
    return tuple(rows)


def _error_correction(data: list[int], degree: int) -> list[int]:
    """The Reed-Solomon remainder of ``data``: a shift register held in one integer."""
    rows = _generator_rows(degree)
    shift = 8 * (degree - 1)
    keep = (1 << shift) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder & keep) << 8) ^ rows[byte ^ (remainder >> shift)]
    return list(remainder.to_bytes(degree, "big"))


# --- Versions: capacity and block structure at M -------------------------------------------------------------


@cache
def _blocks(version: int) -> tuple[tuple[int, int], ...]:
    """(data codewords, error correction codewords) of each block of ``version`` at M."""
    return tuple(
        (block.data_count, block.total_count - block.data_count) for block in _spec.rs_blocks(version, ERROR_CORRECT_M)
    )


def _data_capacity_bits(version: int) -> int:
    return 8 * sum(data for data, _ in _blocks(version))


def _count_bits(mode: int, version: int) -> int:
    if mode == _MODE_ALPHANUMERIC:
        return 9 if version < 10 else 11 if version < 27 else 13
    return 8 if version < 10 else 16


def _segment(text: str) -> tuple[int, int, int, int]:
    """(mode, character count, payload bits as an integer, payload bit length)."""
    if all(char in _ALPHANUMERIC_VALUE for char in text):
        value = 0
        length = 0
        for i in range(0, len(text) - 1, 2):
            value = (value << 11) | (_ALPHANUMERIC_VALUE[text[i]] * 45 + _ALPHANUMERIC_VALUE[text[i + 1]])
            length += 11
        if len(text) % 2:
            value = (value << 6) | _ALPHANUMERIC_VALUE[text[-1]]
            length += 6
        return _MODE_ALPHANUMERIC, len(text), value, length
    raw = text.encode("utf-8")
    return _MODE_BYTE, len(raw), int.from_bytes(raw, "big") if raw else 0, 8 * len(raw)


def _codewords(text: str) -> tuple[int, list[int]]:
    """The smallest version that holds ``text`` at M, and its final (interleaved) codewords."""
    mode, count, payload, payload_bits = _segment(text)
    for version in range(1, 41):
        count_bits = _count_bits(mode, version)
        used = 4 + count_bits + payload_bits
        capacity = _data_capacity_bits(version)
        if count < (1 << count_bits) and used <= capacity:
            break
    else:
        raise QRTooLong(f"{len(text)} characters do not fit a QR code at error correction M")
    bits = (((mode << count_bits) | count) << payload_bits) | payload
    terminator = min(4, capacity - used)
    bits <<= terminator
    used += terminator
    padding = -used % 8
    bits <<= padding
    used += padding
    data = list(bits.to_bytes(used // 8, "big")) if used else []
    pad = 0xEC
    while len(data) < capacity // 8:
        data.append(pad)
        pad ^= 0xEC ^ 0x11
    blocks = []
    offset = 0
    for data_count, ec_count in _blocks(version):
        chunk = data[offset : offset + data_count]
        offset += data_count
        blocks.append((chunk, _error_correction(chunk, ec_count)))
    out = []
    for i in range(max(len(chunk) for chunk, _ in blocks)):
        out.extend(chunk[i] for chunk, _ in blocks if i < len(chunk))
    for i in range(max(len(ec) for _, ec in blocks)):
        out.extend(ec[i] for _, ec in blocks if i < len(ec))
    return version, out


# --- The symbol's template per version ---------------------------------------------------------------------


@cache
def _template(version: int) -> tuple[Callable[[bytes], tuple[int, ...]], int, int, bytes]:
    """How to draw a symbol of ``version``: (gather, number of data modules, mask bits, function modules).

    The function patterns are fixed per version; the data modules are filled in placement order (up and
    down two-module columns from the bottom right). ``gather`` takes the data bits in placement order as
    ASCII ``0``/``1`` followed by the function modules, and returns every module in reading order; the mask
    bits are an integer with one bit per data module (the first module the highest bit), set where ``MASK``
    inverts it. The function modules are ASCII ``1``/``0`` in reading order (``0`` for data modules).
    """
    size = 17 + 4 * version
    grid: list[bool | None] = [None] * (size * size)

    def put(row: int, col: int, dark: bool) -> None:
        grid[row * size + col] = dark

    for top, left in ((0, 0), (size - 7, 0), (0, size - 7)):
        for r in range(-1, 8):
            for c in range(-1, 8):
                if 0 <= top + r < size and 0 <= left + c < size:
                    ring = max(abs(r - 3), abs(c - 3))
                    put(top + r, left + c, ring != 2 and ring != 4)
    positions = _util.pattern_position(version)
    for row in positions:
        for col in positions:
            if grid[row * size + col] is not None:  # on a finder pattern
                continue
            for r in range(-2, 3):
                for c in range(-2, 3):
                    put(row + r, col + c, max(abs(r), abs(c)) != 1)
    for i in range(8, size - 8):
        if grid[i * size + 6] is None:
            put(i, 6, i % 2 == 0)
        if grid[6 * size + i] is None:
            put(6, i, i % 2 == 0)
    # Format information (error correction M, ``MASK``), and the dark module.
    bits = _util.BCH_type_info((ERROR_CORRECT_M << 3) | MASK)
    for i in range(15):
        dark = (bits >> i) & 1 == 1
        put(i if i < 6 else i + 1 if i < 8 else size - 15 + i, 8, dark)
        put(8, size - i - 1 if i < 8 else 15 - i if i < 9 else 15 - i - 1, dark)
    put(size - 8, 8, True)
    if version >= 7:
        bits = _util.BCH_type_number(version)
        for i in range(18):
            dark = (bits >> i) & 1 == 1
            put(i // 3, i % 3 + size - 11, dark)
            put(i % 3 + size - 11, i // 3, dark)
    order = []
    row = size - 1
    step = -1
    col = size - 1
    while col > 0:
        if col == 6:
            col -= 1
        while 0 <= row < size:
            for c in (col, col - 1):
                if grid[row * size + c] is None:
                    order.append(row * size + c)
            row += step
        row -= step
        step = -step
        col -= 2
    position = {index: n for n, index in enumerate(order)}
    sources = [position[index] if module is None else len(order) + index for index, module in enumerate(grid)]
    mask = 0
    for index in order:
        mask = (mask << 1) | ((index // size + index % size) % 2 == 0)
    function = bytes(0x31 if module else 0x30 for module in grid)
    return operator.itemgetter(*sources), len(order), mask, function


@lru_cache(maxsize=256)
def _modules(text: str) -> tuple[int, bytes]:
    """(size, every module in reading order as ASCII ``1`` dark / ``0`` light)."""
    version, codewords = _codewords(text)
    gather, count, mask, function = _template(version)
    # Remainder modules after the last codeword are light before masking (the shift below).
    value = (int.from_bytes(bytes(codewords), "big") << (count - 8 * len(codewords))) ^ mask
    return 17 + 4 * version, bytes(gather(format(value, f"0{count}b").encode("ascii") + function))


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The modules of ``text``'s QR symbol (True = dark), without the quiet zone; error correction M."""
    size, modules = _modules(text)
    dark = [module == 0x31 for module in modules]
    return tuple(tuple(dark[row * size : (row + 1) * size]) for row in range(size))


def qr_version(text: str) -> int:
    """The QR version (1-40) ``text`` needs at error correction M."""
    return (_modules(text)[0] - 17) // 4


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_GREY = bytes.maketrans(b"01", b"\xff\x00")  # light module: white (255); dark: black (0)


def qr_png(text: str, *, quiet_zone: int = QUIET_ZONE) -> bytes:
    """An 8-bit greyscale PNG of the symbol, one pixel per module, with a white quiet zone."""
    size, modules = _modules(text)
    pixels = modules.translate(_GREY)
    width = size + 2 * quiet_zone
    blank = b"\x00" + b"\xff" * width  # filter byte 0, then a white row
    margin = b"\xff" * quiet_zone
    rows = [blank] * quiet_zone
    rows.extend(b"\x00" + margin + pixels[row * size : (row + 1) * size] + margin for row in range(size))
    rows.extend([blank] * quiet_zone)
    header = struct.pack(">IIBBBBB", width, width, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + _png_chunk(b"IEND", b"")
    )


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
