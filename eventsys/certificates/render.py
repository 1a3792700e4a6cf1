"""Certificate PDFs: one for a download or an email, or many in chunks on worker processes.

Like badges (``eventsys.checkin.badge_render``), the caller turns certificates into plain, already translated
``CertificateItem`` values, so rendering needs neither Flask nor the database, and a worker process gets a
list of items and returns PDF bytes. Every certificate is exactly one A4 landscape page, so a chunk of
certificates is one WeasyPrint document, and the per-person PDFs of the ZIP are that document's pages, split
with pypdf (fonts subset once per chunk, not once per person).

What a certificate may load is decided by ``eventsys.common.pdf.SafeURLFetcher``: the app's static files,
``data:`` URIs, and the folder of images organizers uploaded (signatures, logos), which the service checked
and re-encoded as PNG. User text is autoescaped by the template and never becomes markup.
"""

from __future__ import annotations

import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import jinja2

from eventsys.common import pdf, qr
from eventsys.common.pdf import text_direction

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = "certificates/pdf/document.html"
STYLESHEET = ROOT / "static" / "css" / "certificate.css"
#: Certificates per WeasyPrint document in a bulk run.
CHUNK = 25
#: Chunks a worker renders before it is replaced (WeasyPrint's memory is not returned to the OS).
CHUNKS_PER_WORKER = 4
PROCESSES = 2


@dataclass(frozen=True)
class SignatureBlock:
    name: str
    position: str
    #: ``file:`` URL of the re-encoded signature image (inside an allowed folder), or "".
    image_url: str = ""


@dataclass(frozen=True)
class CertificateItem:
    """Everything printed on one certificate, prepared by the caller (translated; escaped by the template)."""

    kind: str
    title: str
    intro: str
    recipient: str
    organization: str
    #: The body text with its placeholders already filled (plain text).
    body: str
    event_name: str
    date_text: str
    place: str
    code: str
    verify_url: str
    verify_label: str
    code_label: str
    signatures: tuple[SignatureBlock, ...] = field(default_factory=tuple)
    logo_url: str = ""
    #: Short file name for this person's PDF in the ZIP (without ".pdf").
    file_stem: str = "certificate"


def name_size_pt(name: str) -> float:
    """The recipient's name as large as fits one line of 230 mm (generous width estimate), 18-40 pt."""
    em = 0.0
    for char in name:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            em += 1.0
        elif char == " ":
            em += 0.26
        elif char.isupper():
            em += 0.72
        elif unicodedata.category(char).startswith("M"):
            continue
        else:
            em += 0.56
    width_pt = 230 / 25.4 * 72
    return round(max(18.0, min(40.0, width_pt / max(em, 1.0) * 0.95)), 1)


def _template() -> jinja2.Template:
    return pdf.template(TEMPLATE)


@pdf.warm_up_workers
def warm_up() -> None:
    """Load the template, the stylesheet and the fonts now: render a sample certificate in every script and
    family (in the workers' fork server, so that each worker starts with them loaded)."""
    _template()
    pdf.stylesheet(STYLESHEET)
    pdf.font_config()
    render_certificates([_SAMPLE])


_SAMPLE = CertificateItem(
    kind="attendance",
    title="Certificate of Attendance 참가 증명서",
    intro="This is to certify that",
    recipient="Zoë Łukasz 김서연 محمد Ольга",
    organization="서울디지털재단 Ciudad de México",
    body="attended the event. في المؤتمر",
    event_name="WeGO 2022",
    date_text="23 Feb 2022",
    place="Seoul",
    code="WARMUP",
    verify_url="https://example.org/verify/WARMUP",
    verify_label="Scan to verify this certificate",
    code_label="Certificate code",
    signatures=(SignatureBlock("Oh Se-hoon", "Mayor of Seoul"),),
)


def document_html(items: Sequence[CertificateItem], *, lang: str = "en", title: str = "Certificates") -> str:
    certificates = []
    for item in items:
        certificates.append(
            {
                **asdict(item),
                "signatures": [asdict(block) for block in item.signatures],
                "name_pt": name_size_pt(item.recipient),
                "name_dir": text_direction(item.recipient),
                "org_dir": text_direction(item.organization),
                "body_dir": text_direction(item.body),
                "qr_uri": qr.qr_png_data_uri(item.verify_url),
            }
        )
    return _template().render(certificates=certificates, lang=lang, title=title)


def _fetcher(image_roots: Sequence[str]) -> pdf.SafeURLFetcher:
    return pdf.safe_url_fetcher(tuple(image_roots))


def render_certificates(
    items: Sequence[CertificateItem],
    *,
    image_roots: Sequence[str] = (),
    lang: str = "en",
    title: str = "Certificates",
    url_fetcher: pdf.SafeURLFetcher | None = None,
) -> bytes:
    """One PDF of ``items`` (one page each), rendered in this process."""
    html = document_html(items, lang=lang, title=title)
    return pdf.render_pdf(
        html, stylesheets=[pdf.stylesheet(STYLESHEET)], url_fetcher=url_fetcher or _fetcher(image_roots)
    )


def _render_chunk(job: tuple[list[CertificateItem], tuple[str, ...], str, str]) -> bytes:
    items, roots, lang, title = job
    return render_certificates(items, image_roots=roots, lang=lang, title=title)


def render_bulk(
    items: Sequence[CertificateItem],
    merged_out: BinaryIO,
    zip_out: BinaryIO | None = None,
    *,
    image_roots: Sequence[str] = (),
    lang: str = "en",
    title: str = "Certificates",
    processes: int = PROCESSES,
    chunk_size: int = CHUNK,
    progress: Callable[[int], Any] | None = None,
) -> int:
    """Render ``items`` into one merged PDF (``merged_out``) and a ZIP of one PDF each (``zip_out``).

    Chunks are rendered on ``processes`` workers by ``eventsys.common.pdf.render_chunks`` (as for badges);
    ``progress(done)`` is called after each chunk. Returns the number of pages.
    """
    # Stored, not deflated: a certificate PDF is mostly font and image streams that are compressed already
    # (deflating 200 of them again took half a second of the merging process for a few per cent).
    archive = zipfile.ZipFile(zip_out, "w", zipfile.ZIP_STORED) if zip_out is not None else None
    roots = tuple(str(root) for root in image_roots)
    jobs = [(chunk, roots, lang, title) for chunk in pdf.chunked(items, chunk_size)]
    done = 0
    used_names: set[str] = set()

    def on_chunk(job: tuple[list[CertificateItem], tuple[str, ...], str, str], reader: Any) -> None:
        nonlocal done
        if len(reader.pages) != len(job[0]):
            raise RuntimeError(f"a certificate took more than one page ({len(reader.pages)} for {len(job[0])})")
        if archive is not None:
            titles = [f"{item.title} \u2013 {item.recipient}" for item in job[0]]
            for item, single in zip(job[0], pdf.split_pages(reader, titles), strict=True):
                archive.writestr(_unique_name(item.file_stem, used_names), single)
        done += len(job[0])
        if progress is not None:
            progress(done)

    try:
        return pdf.render_chunks(
            _render_chunk,
            jobs,
            merged_out,
            title=title,
            processes=processes,
            warm_up=warm_up,
            preload=[__name__],
            chunks_per_worker=CHUNKS_PER_WORKER,
            on_chunk=on_chunk,
        )
    finally:
        if archive is not None:
            archive.close()


def _unique_name(stem: str, used: set[str]) -> str:
    name = f"{stem}.pdf"
    number = 2
    while name in used:
        name = f"{stem}-{number}.pdf"
        number += 1
    used.add(name)
    return name
