"""Badge PDFs: the QR on a printed badge scans and verifies, names in every script have real glyphs,
the three layouts have the right paper, and user text never turns into markup or fetches anything."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from eventsys.checkin import badge_render, badges
from eventsys.checkin.models import Badge, BadgeBatch, BadgeBatchStatus
from eventsys.common import pdf
from eventsys.events.models import Category, EventFormat
from eventsys.extensions import db
from eventsys.registration import services as registration_services
from eventsys.registration.models import Mode, RegistrationStatus
from tests import factories

MM = 72 / 25.4
A6 = (105, 148)
A4 = (210, 297)


def rasterize(pdf_bytes: bytes, tmp_path: Path, *, dpi: int = 150) -> list[Image.Image]:
    """Every page as an image, through poppler's pdftoppm (as a print shop's RIP would see it)."""
    source = tmp_path / "in.pdf"
    source.write_bytes(pdf_bytes)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(tmp_path / "page")], check=True, timeout=60)
    return [Image.open(path).convert("L") for path in sorted(tmp_path.glob("page-*.png"))]


def decoded_texts(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image) if result.format == zxingcpp.BarcodeFormat.QRCode]


def page_sizes(pdf_bytes: bytes) -> list[tuple[int, int]]:
    """Each page's size in whole mm."""
    return [
        (round(float(page.mediabox.width) / MM), round(float(page.mediabox.height) / MM))
        for page in PdfReader(io.BytesIO(pdf_bytes)).pages
    ]


def page_text(pdf_bytes: bytes, index: int = 0) -> str:
    """A page's text with line breaks (a wrapped name) folded into spaces."""
    return " ".join(PdfReader(io.BytesIO(pdf_bytes)).pages[index].extract_text().split())


def embedded_fonts(pdf_bytes: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf_bytes)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            names.add(str(font["/BaseFont"]))
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), "font not embedded"
    return names


def item(name: str = "Kim Min-ji", *, code: str | None = None, category: str = "speaker", **fields: str):
    values = {
        "name": name,
        "organization": "Seoul Metropolitan Government",
        "title": "Director, Smart City Policy",
        "category_key": category,
        "category_label": "Speaker",
        "event_name": "WeGO 2022 Kick-off",
        "event_dates": "3 Mar 2022",
        "code": code or badges.sign_code(b"\x01" * 32, 1, 1),
        "qr_alt": "Badge code",
    }
    values.update(fields)
    return badge_render.BadgeSheetItem(**values)


@pytest.fixture
def registration(app):
    event = factories.EventFactory(name="WeGO 2022 Kick-off", format=EventFormat.HYBRID)
    person = factories.PersonFactory(name="김민지", title="Policy officer")
    return factories.RegistrationFactory(event=event, person=person, category=Category.MEMBER_CITY)


def test_printed_badge_scans_and_verifies(registration, tmp_path):
    badge = badges.ensure_badge(registration)
    db.session.flush()

    document = badges.badge_pdf(badge)
    [page] = rasterize(document, tmp_path)
    [text] = decoded_texts(page)

    assert text == badge.code
    verified = badges.verify_code(text)
    assert (verified.event_id, verified.badge_id) == (registration.event_id, badge.id)
    assert badges.find_badge(text) == badge and badge.live


def test_the_qr_is_at_least_25_mm_with_a_quiet_zone(registration, tmp_path):
    badge = badges.ensure_badge(registration)
    [page] = rasterize(badges.badge_pdf(badge), tmp_path, dpi=300)
    [result] = zxingcpp.read_barcodes(page)
    xs = [point.x for point in (result.position.top_left, result.position.bottom_right)]
    symbol_mm = (max(xs) - min(xs)) / 300 * 25.4
    assert symbol_mm >= 25
    # Four modules of white around it: the pixels just outside the symbol are white.
    module = (max(xs) - min(xs)) / 41
    left, top = result.position.top_left.x, result.position.top_left.y
    strip = page.crop((int(left - 3.5 * module), int(top), int(left - 0.5 * module), int(top + 20 * module)))
    assert strip.getextrema()[0] > 200


def test_the_qr_is_drawn_without_smoothing(registration):
    """One pixel per module, with /Interpolate false: sharp at any print size."""
    badge = badges.ensure_badge(registration)
    reader = PdfReader(io.BytesIO(badges.badge_pdf(badge)))
    images = [obj.get_object() for obj in reader.pages[0]["/Resources"]["/XObject"].values()]
    [qr_image] = [image for image in images if image["/Width"] == 49]
    assert qr_image["/Height"] == 49
    assert qr_image.get("/Interpolate") in (None, False)


def test_a_reissued_badge_prints_the_new_code_and_the_old_one_is_revoked(registration, tmp_path):
    old = badges.ensure_badge(registration)
    old_code = old.code
    new = badges.reissue_badge(old, actor=factories.organizer_of(registration.event))
    db.session.flush()

    [page] = rasterize(badges.badge_pdf(new), tmp_path)
    [text] = decoded_texts(page)
    assert text == new.code != old_code
    assert badges.find_badge(old_code).revoked_at is not None


def test_cancelling_revokes_the_printed_code(registration, tmp_path):
    badge = badges.ensure_badge(registration)
    [page] = rasterize(badges.badge_pdf(badge), tmp_path)
    [text] = decoded_texts(page)
    registration_services.cancel_registration(registration)
    db.session.flush()
    assert badges.find_badge(text).revoked_at is not None


NAMES = {
    "hangul": ("김민지", "Noto-Sans-CJK-KR-Bold"),
    "chinese": ("王小明", "Noto-Sans-CJK-KR-Bold"),
    "arabic": ("محمد بن راشد", "Arabic-Bold"),
    "cyrillic": ("Наталья Иванова", "Noto-Sans-Bold"),
    "latin": ("José Ñúñez Ångström-Çelik", "Noto-Sans-Bold"),
}


@pytest.mark.parametrize("script", list(NAMES))
def test_names_in_every_script_have_real_glyphs(script):
    name, font = NAMES[script]
    document = badge_render.render_badges([item(name)], "a6")

    text = page_text(document)
    if script == "arabic":
        # Extraction gives Arabic in visual order; every word is there, in its letters (no boxes, no ?).
        for word in name.split():
            assert word in text or word[::-1] in text
    else:
        assert name in text
    fonts = embedded_fonts(document)
    # The name's font (bold) is the Noto family that covers the script; no other family stood in for it.
    assert any(embedded.endswith(font) for embedded in fonts), fonts
    assert all("Noto" in embedded for embedded in fonts), fonts


def test_the_whole_design_is_on_the_badge():
    document = badge_render.render_badges(
        [
            item(
                "Maria Fernanda Rodríguez",
                organization="Ciudad de México",
                title="Directora",
                category_label="Member city",
            )
        ],
        "a6",
    )
    text = page_text(document)
    for expected in (
        "Maria Fernanda Rodríguez",
        "Ciudad de México",
        "Directora",
        "MEMBER CITY",
        "WeGO 2022 Kick-off",
        "3 Mar 2022",
    ):
        assert expected in text


def test_long_names_shrink_and_never_spill_onto_another_page():
    short = badge_render.name_font_size("Kim", "a6")
    long = badge_render.name_font_size("Maria Fernanda de los Ángeles Rodríguez-Villanueva y Castellanos", "a6")
    extreme = badge_render.name_font_size("W" * 300, "a6")
    assert short.pt > long.pt >= extreme.pt >= badge_render.NAME_BOX["a6"][3]
    assert long.long and not short.long

    names = ["Kim", "Maria Fernanda de los Ángeles Rodríguez-Villanueva y Castellanos", "W" * 300, "가" * 120]
    document = badge_render.render_badges([item(name) for name in names], "a6")
    assert page_sizes(document) == [A6] * 4


def test_right_to_left_names_are_set_right_to_left():
    assert badge_render.text_direction("محمد بن راشد") == "rtl"
    assert badge_render.text_direction("Kim") == "ltr"
    assert 'dir="rtl"' in badge_render.document_html([item("محمد بن راشد")], "a6")


def test_layouts_have_their_paper_sizes():
    five = [item(f"Person {n}") for n in range(5)]
    eleven = [item(f"Person {n}") for n in range(11)]
    assert page_sizes(badge_render.render_badges(five, "a6")) == [A6] * 5
    assert page_sizes(badge_render.render_badges(five, "a4x4")) == [A4] * 2
    assert page_sizes(badge_render.render_badges(eleven, "labels")) == [A4] * 2


def test_every_badge_on_a_four_up_sheet_and_a_label_sheet_scans(tmp_path):
    codes = [badges.sign_code(b"\x02" * 32, 7, n) for n in range(1, 11)]
    sheet = badge_render.render_badges([item(f"Person {n}", code=code) for n, code in enumerate(codes[:4])], "a4x4")
    [page] = rasterize(sheet, tmp_path / "a4")
    assert sorted(decoded_texts(page)) == sorted(codes[:4])

    labels = badge_render.render_badges([item(f"Person {n}", code=code) for n, code in enumerate(codes)], "labels")
    [page] = rasterize(labels, tmp_path / "labels")
    assert sorted(decoded_texts(page)) == sorted(codes)


@pytest.fixture
def tmp_path(tmp_path: Path) -> Path:  # rasterize() writes into sub-folders too
    for sub in ("a4", "labels"):
        (tmp_path / sub).mkdir()
    return tmp_path


HOSTILE = [
    '<img src="file:///etc/passwd">',
    '<img src="http://169.254.169.254/latest/meta-data/">',
    '<link rel="stylesheet" href="http://169.254.169.254/x.css">',
    "<style>@import url(file:///etc/passwd);</style>",
    '<svg><image href="file:///dev/urandom"/></svg>',
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_markup_in_a_name_prints_as_text_and_fetches_nothing(hostile):
    fetcher = pdf.safe_url_fetcher()
    document = badge_render.render_badges(
        [item(hostile, organization=hostile, title=hostile)], "a6", url_fetcher=fetcher
    )
    # The only thing loaded is the QR, as a data: URI generated by us.
    assert fetcher.calls and all(url.startswith("data:image/png;base64,") for url in fetcher.calls)
    assert hostile in page_text(document)


def test_a_second_badge_reuses_the_parsed_stylesheet_and_fonts(registration, monkeypatch):
    """What keeps one download fast (bench/badges.py times it): nothing is parsed or loaded twice."""
    badge = badges.ensure_badge(registration)
    badges.badge_pdf(badge)  # the first render in a process parses the stylesheet and loads fonts
    parsed: list[object] = []
    real_init = pdf.CSS.__init__

    def counting_init(self: object, *args: object, **kwargs: object) -> None:
        parsed.append(kwargs.get("filename") or args)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(pdf.CSS, "__init__", counting_init)
    fonts = pdf.font_config()

    badges.badge_pdf(badge)

    assert parsed == []
    assert pdf.font_config() is fonts


# --- Downloads ------------------------------------------------------------------------------------------------


def test_an_attendee_downloads_their_own_badge_from_the_manage_link(registration, client, tmp_path):
    page = client.get(f"/r/{registration.manage_token}").get_data(as_text=True)
    assert f"/r/{registration.manage_token}/badge.pdf" in page

    response = client.get(f"/r/{registration.manage_token}/badge.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    [page_image] = rasterize(response.data, tmp_path)
    [text] = decoded_texts(page_image)
    assert badges.find_badge(text) == badges.live_badge(registration)
    # Downloading again gives the same badge, not a new code.
    again = client.get(f"/r/{registration.manage_token}/badge.pdf")
    assert again.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Badge)) == 1


def test_an_online_attendee_has_no_badge_link(app, client):
    online = factories.RegistrationFactory(mode=Mode.ONLINE)
    assert "badge.pdf" not in client.get(f"/r/{online.manage_token}").get_data(as_text=True)
    response = client.get(f"/r/{online.manage_token}/badge.pdf")
    assert response.status_code == 409
    assert "Only confirmed in-person registrations have a badge." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Badge)) == 0


def _bulk(browser, event, **fields):
    data = {"layout": "a6", "category": "", **fields}
    response = browser.post(f"/manage/events/{event.slug}/badges/batches", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    batch = db.session.scalars(sa.select(BadgeBatch).order_by(BadgeBatch.id.desc())).first()
    db.session.refresh(batch)
    assert batch.status is BadgeBatchStatus.DONE, batch.error
    status = browser.client.get(f"/manage/events/{event.slug}/badges/batches/{batch.id}/status").get_json()
    assert status == {"id": batch.id, "status": "done", "total": batch.total, "done": batch.total, "finished": True}
    download = browser.client.get(f"/manage/events/{event.slug}/badges/batches/{batch.id}.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    return batch, download.data


def test_organizers_print_in_bulk_by_category_and_only_what_is_not_printed_yet(organizer_client, event, app, tmp_path):
    app.config["BADGE_PDF_DIR"] = str(tmp_path / "pdfs")
    names = {"Ana Pérez": Category.SPEAKER, "이서연": Category.MEMBER_CITY, "Олег Петров": Category.MEMBER_CITY}
    for name, category in names.items():
        factories.RegistrationFactory(event=event, person=factories.PersonFactory(name=name), category=category)
    factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    factories.RegistrationFactory(event=event, status=RegistrationStatus.CANCELLED)
    db.session.flush()

    page = organizer_client.client.get(f"/manage/events/{event.slug}/badges").get_data(as_text=True)
    assert 'data-count="confirmed">3<' in page

    batch, document = _bulk(organizer_client, event)
    assert batch.total == 3 and page_sizes(document) == [A6] * 3
    text = " ".join(page_text(document, index) for index in range(3))
    assert all(name in text for name in names)
    # Kept under the instance folder (here the test's), never under static/.
    assert (tmp_path / "pdfs" / batch.file_name).is_file()
    assert all(badge.printed_at is not None for badge in db.session.scalars(sa.select(Badge)))

    # A late registrant: "only those not printed yet" prints just that one.
    factories.RegistrationFactory(event=event, person=factories.PersonFactory(name="Late Comer"))
    db.session.flush()
    batch, document = _bulk(organizer_client, event, only_unprinted="y")
    assert batch.total == 1 and "Late Comer" in page_text(document)

    batch, document = _bulk(organizer_client, event, category="speaker", layout="labels")
    assert batch.total == 1 and page_sizes(document) == [A4] and "Ana Pérez" in page_text(document)


def test_the_bulk_renderer_uses_worker_processes_and_keeps_the_order():
    items = [item(f"Person {n:02d}") for n in range(10)]
    progress: list[int] = []
    out = io.BytesIO()
    pages = badge_render.render_bulk(items, "a6", out, processes=2, chunk_size=3, progress=progress.append)
    assert pages == 10
    assert progress == [3, 6, 9, 10]
    document = out.getvalue()
    assert [page_text(document, n).count(f"Person {n:02d}") for n in range(10)] == [1] * 10


def test_organizers_reissue_a_lost_badge(organizer_client, event, tmp_path):
    registration = factories.RegistrationFactory(event=event)
    old = badges.ensure_badge(registration)
    old_code = old.code
    db.session.flush()
    response = organizer_client.post(
        f"/manage/events/{event.slug}/badges/reissue/{registration.id}", data={"confirm": "yes"}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    [image] = rasterize(response.data, tmp_path)
    [text] = decoded_texts(image)
    assert text != old_code and badges.find_badge(text) == badges.live_badge(registration)
    assert badges.find_badge(old_code).revoked_at is not None
