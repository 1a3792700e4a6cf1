"""Real files for upload tests: a one-page PDF, a PNG and a JPEG, made by pypdf and Pillow."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfWriter


def tiny_pdf(title: str = "Memorandum of understanding") -> bytes:
    """A valid one-page PDF; ``title`` goes into its metadata, so different titles give different bytes."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_bytes(fmt: str = "PNG", colour: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format=fmt)
    return out.getvalue()
