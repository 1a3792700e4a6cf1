"""CSV downloads that spreadsheets open safely and correctly.

The files are what Excel opens correctly: UTF-8 with a byte-order mark, comma-separated, CRLF line ends.
People type the cells, so every cell that a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with a single quote and opens as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

#: First characters that make Excel, LibreOffice or Google Sheets evaluate a cell (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> str:
    """The cell's text, made safe to open in a spreadsheet: formulas become text."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def to_csv_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    """Rows as a CSV file: every cell neutralized, UTF-8 with BOM, comma-separated, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel")
    writer.writerows([neutralize(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def csv_download(rows: Iterable[Iterable[object]], filename: str) -> Response:
    """The rows as a CSV attachment named ``filename`` (ASCII), never cached."""
    response = Response(to_csv_bytes(rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
