"""Shared steps of the certificate tests: reading PDFs as a person or a printer would."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import zxingcpp
from PIL import Image
from pypdf import PdfReader

MM = 72 / 25.4


def page_texts(pdf_bytes: bytes) -> list[str]:
    """Each page's text, line breaks folded into spaces."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf_bytes)).pages]


def page_sizes(pdf_bytes: bytes) -> list[tuple[int, int]]:
    """Each page's size in whole mm."""
    return [
        (round(float(page.mediabox.width) / MM), round(float(page.mediabox.height) / MM))
        for page in PdfReader(io.BytesIO(pdf_bytes)).pages
    ]


def embedded_fonts(pdf_bytes: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf_bytes)).pages:
        for font in page["/Resources"].get_object().get("/Font", {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def rasterize(pdf_bytes: bytes, folder: Path, *, dpi: int = 150) -> list[Image.Image]:
    """Every page as an image, through poppler's pdftoppm."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "in.pdf"
    source.write_bytes(pdf_bytes)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(folder / "page")], check=True, timeout=60)
    return [Image.open(path).convert("L") for path in sorted(folder.glob("page-*.png"))]


def qr_texts(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def png_bytes(size: tuple[int, int] = (40, 20), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 20, 30, 255) if mode == "RGBA" else (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def gif_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="GIF")
    return out.getvalue()
