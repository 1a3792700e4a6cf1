"""The PDF module's URL fetcher: only data: URIs and the app's own static files; nothing from the network,
nothing else from the disk, not even when the HTML itself asks for it."""

from __future__ import annotations

import base64
import io
import os
import socket
from pathlib import Path

import pytest
from pypdf import PdfReader

from eventsys.common import pdf, qr


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any attempt to open a connection is recorded and fails."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, *args: refuse(*args))
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/logo.png",
        "ftp://example.org/x",
        "file:///etc/passwd",
        "file:///dev/urandom",
        "file://remote-host/share/x.png",
        (pdf.STATIC_ROOT / ".." / ".." / "etc" / "passwd").as_uri(),
        pdf.STATIC_ROOT.as_uri() + "/../config.py",
        pdf.STATIC_ROOT.as_uri() + "/%2e%2e/config.py",
        pdf.STATIC_ROOT.as_uri() + "/css",  # a directory
        "javascript:alert(1)",
        "about:blank",
    ],
)
def test_the_fetcher_refuses_everything_outside_static(url, no_network):
    fetcher = pdf.safe_url_fetcher()
    with pytest.raises(pdf.URLRefused):
        fetcher(url)
    assert no_network == []


def test_the_fetcher_refuses_a_symlink_out_of_static(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "innocent.css").symlink_to("/etc/passwd")
    fetcher = pdf.SafeURLFetcher([root])
    with pytest.raises(pdf.URLRefused):
        fetcher((root / "innocent.css").as_uri())


def test_the_fetcher_serves_static_files_and_data_uris():
    fetcher = pdf.safe_url_fetcher()
    response = fetcher((pdf.STATIC_ROOT / "css" / "badge.css").as_uri())
    assert b"@page" in response.read() and response.content_type == "text/css"
    response = fetcher("data:text/plain;base64,aGVsbG8=")
    assert response.read() == b"hello"
    response = fetcher("data:text/plain,hello%20there")
    assert response.read() == b"hello there"


HOSTILE_HTML = """<!doctype html><html><head>
<link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/iam.css">
<link rel="stylesheet" href="file:///etc/passwd">
<style>@import url("file:///etc/shadow"); body { background: url(http://169.254.169.254/bg.png); }</style>
</head><body>
<p>Before</p>
<img src="file:///etc/passwd" alt="x"><img src="http://169.254.169.254/" alt="y">
<img src="file:///dev/urandom" alt="z">
<object data="file:///etc/hostname"></object>
<svg width="10" height="10"><image href="file:///etc/passwd" width="10" height="10"/></svg>
<p>After</p>
</body></html>"""


def test_hostile_html_renders_without_reading_or_fetching(no_network, monkeypatch):
    opened: list[str] = []
    real_open = open

    def watch_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    fetcher = pdf.safe_url_fetcher()
    monkeypatch.setattr("builtins.open", watch_open)
    document = pdf.render_pdf(HOSTILE_HTML, url_fetcher=fetcher)

    text = PdfReader(io.BytesIO(document)).pages[0].extract_text()
    assert "Before" in text and "After" in text
    assert "root:" not in text
    assert fetcher.calls  # WeasyPrint asked, and was refused each time
    assert no_network == []
    assert not [path for path in opened if path.startswith(("/etc", "/dev"))]


def test_render_pdf_uses_static_stylesheets_parsed_once():
    sheet = pdf.STATIC_ROOT / "css" / "badge.css"
    assert pdf.stylesheet(sheet) is pdf.stylesheet(sheet)
    document = pdf.render_pdf("<p>hi</p>", stylesheets=[sheet])
    assert PdfReader(io.BytesIO(document)).pages[0].extract_text().strip() == "hi"


def test_a_stylesheet_outside_static_is_refused(tmp_path: Path):
    outside = tmp_path / "evil.css"
    outside.write_text("body { color: red }")
    with pytest.raises(pdf.URLRefused):
        pdf.stylesheet(outside)


def test_relative_urls_resolve_inside_static():
    fetcher = pdf.safe_url_fetcher()
    pdf.render_pdf('<link rel="stylesheet" href="css/badge.css"><p>x</p>', url_fetcher=fetcher)
    assert fetcher.calls == [(pdf.STATIC_ROOT / "css" / "badge.css").as_uri()]
    assert os.path.isfile(pdf.STATIC_ROOT / "css" / "badge.css")


def test_page_margin_boxes_with_content_still_print():
    """Pages without margin boxes skip building them; a page number in @bottom-center still prints."""
    numbered = "@page { size: A6; margin: 20mm; @bottom-center { content: 'Page ' counter(page) } }"
    html = f"<style>{numbered}</style><p>one</p><p style='break-before: page'>two</p>"
    reader = PdfReader(io.BytesIO(pdf.render_pdf(html)))
    assert [" ".join(page.extract_text().split()) for page in reader.pages] == ["one Page 1", "two Page 2"]
    plain = PdfReader(io.BytesIO(pdf.render_pdf("<style>@page { size: A6 }</style><p>three</p>")))
    assert plain.pages[0].extract_text().strip() == "three"


def test_generated_images_are_not_kept_after_a_render_but_files_are(tmp_path: Path):
    """A logo is decoded once per process; a QR code (a new data: URI every badge) is dropped after its render."""
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (40, 20), (0, 90, 60)).save(logo)
    fetcher = pdf.safe_url_fetcher([tmp_path])
    for n in range(3):
        qr_png = base64.b64encode(qr.qr_png(f"CODE {n}")).decode()
        html = f'<img src="{logo.as_uri()}"><img src="data:image/png;base64,{qr_png}">'
        pdf.render_pdf(html, url_fetcher=fetcher)
    assert logo.as_uri() in pdf.IMAGE_CACHE
    assert not [key for key in pdf.IMAGE_CACHE if key.startswith("data:")]
    kept = len(pdf.IMAGE_CACHE)
    pdf.render_pdf(f'<img src="{logo.as_uri()}">', url_fetcher=fetcher)
    assert len(pdf.IMAGE_CACHE) == kept


def _chunk(job: tuple[str, int]) -> bytes:
    """A render job for the worker tests: ``count`` pages titled ``label``."""
    label, count = job
    pages = "".join(f"<p style='break-after: page'>{label} page {n}</p>" for n in range(count))
    return pdf.render_pdf(f"<html lang='ko'><body>{pages}</body></html>")


def _worker_modules() -> list[str]:
    import sys

    return sorted(name for name in ("flask", "sqlalchemy", "alembic", "weasyprint") if name in sys.modules)


def test_chunks_render_on_workers_and_stream_into_one_pdf_in_order():
    out = io.BytesIO()
    seen: list[tuple[str, int]] = []
    jobs = [("first", 2), ("second", 3), ("third", 1)]
    title = "All \u2013 모두"
    pages = pdf.render_chunks(
        _chunk, jobs, out, title=title, processes=2, preload=[__name__], on_chunk=lambda job, _: seen.append(job)
    )
    assert pages == 6 and seen == jobs
    reader = PdfReader(io.BytesIO(out.getvalue()), strict=True)
    texts = [page.extract_text().strip() for page in reader.pages]
    assert texts == [f"{label} page {n}" for label, count in jobs for n in range(count)]
    assert reader.metadata.title == title and reader.trailer["/Root"]["/Lang"] == "ko"
    assert pdf.peak_rss_mb() > 20  # the workers reported their resident set


def test_render_workers_are_forked_without_the_web_stack():
    """The fork server imports WeasyPrint and the renderers, not Flask/SQLAlchemy (55 MB in every worker)."""
    context = pdf._pool_context([__name__])
    with context.Pool(1) as pool:
        assert pool.apply(_worker_modules) == ["weasyprint"]


def test_split_pages_gives_one_pdf_a_page_with_only_what_it_draws():
    pages = "".join(
        f"<p style='break-after: page'>Person {n}<img src='data:image/png;base64,"
        f"{base64.b64encode(qr.qr_png(f'CODE {n}')).decode()}'></p>"
        for n in range(3)
    )
    reader = PdfReader(io.BytesIO(pdf.render_pdf(f"<html lang='es'>{pages}</html>")))
    assert len(reader.pages[0]["/Resources"]["/XObject"]) == 3  # WeasyPrint shares all images between pages
    singles = pdf.split_pages(reader, ["One", "Two", "Three"])
    for n, (data, title) in enumerate(zip(singles, ["One", "Two", "Three"], strict=True)):
        single = PdfReader(io.BytesIO(data), strict=True)
        [page] = single.pages
        assert page.extract_text().strip() == f"Person {n}"
        assert len(page["/Resources"]["/XObject"]) == 1 and len(page["/Resources"]["/Font"]) >= 1
        assert single.metadata.title == title and single.trailer["/Root"]["/Lang"] == "es"
