"""Certificates as recipients, organizers and anyone checking one see them: the printed PDF (text, scripts,
the QR that leads to the verification page), revoking, safe placeholders, image uploads, emails and the
recipient's page with its LinkedIn link."""

from __future__ import annotations

import io
import urllib.parse
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from eventsys.certificates import services
from eventsys.certificates.models import Certificate, CertificateKind
from eventsys.common.errors import DomainError
from eventsys.extensions import db
from eventsys.registration.models import Mode
from tests import factories
from tests.certificates.helpers import (
    embedded_fonts,
    gif_bytes,
    jpeg_bytes,
    page_sizes,
    page_texts,
    png_bytes,
    qr_texts,
    rasterize,
)

PERU_CITATION = "in recognition for having secured three Peruvian cities as members of WeGO in 2021"


@pytest.fixture(autouse=True)
def folders(app, tmp_path):
    app.config["CERTIFICATE_IMAGE_DIR"] = str(tmp_path / "images")
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")


@pytest.fixture
def template(event):
    return factories.CertificateTemplateFactory(event=event)


def issue(template, name: str = "Ambassador of Peru", citation: str | None = PERU_CITATION, **person: object):
    recipient = factories.PersonFactory(name=name, **person)
    return services.issue_certificate(None, template, recipient, citation)


def test_the_certificate_prints_the_recipient_the_citation_and_its_code(template):
    certificate = issue(template)
    document = services.certificate_pdf(certificate)

    assert page_sizes(document) == [(297, 210)]  # one A4 landscape page
    (text,) = page_texts(document)
    assert "Ambassador of Peru" in text
    assert PERU_CITATION in text
    assert "CERTIFICATE OF APPRECIATION" in text.upper()
    assert template.event.name.upper() in text.upper()
    assert "Oh Se-hoon" in text and "Secretary General of WeGO" in text
    assert certificate.code in text


NAMES = {
    "hangul": ("박정숙", "CJK"),
    "arabic": ("محمد بن راشد", "Arabic"),
    "cyrillic": ("Наталья Иванова", "Noto-Serif"),
    "spanish": ("José Ñúñez Peña", "Noto-Serif"),
}


@pytest.mark.parametrize("script", list(NAMES))
def test_names_in_every_script_print_with_real_glyphs(template, script):
    name, font = NAMES[script]
    document = services.certificate_pdf(issue(template, name))

    (text,) = page_texts(document)
    if script == "arabic":
        # Extraction gives Arabic in visual order; every word is there in its own letters (no boxes, no ?).
        assert all(word in text or word[::-1] in text for word in name.split()), text
    else:
        assert name in text
    assert PERU_CITATION in text
    fonts = embedded_fonts(document)
    assert any(font in embedded for embedded in fonts), fonts
    assert all("Noto" in embedded for embedded in fonts), fonts


def test_the_printed_qr_leads_to_a_page_that_confirms_the_certificate(template, client, tmp_path):
    certificate = issue(template, "박정숙")
    (page,) = rasterize(services.certificate_pdf(certificate), tmp_path)

    (url,) = qr_texts(page)
    assert url == f"http://127.0.0.1:5000/verify/{certificate.code}"
    response = client.get(urllib.parse.urlsplit(url).path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Valid certificate" in html
    assert "박정숙" in html
    assert template.title in html and template.event.name in html
    assert PERU_CITATION not in html  # minimum data: name, certificate, event and date
    assert certificate.person.email not in html


def test_the_code_is_short_unguessable_and_found_whatever_its_case(template, client):
    codes = {issue(template, f"Person {n}").code for n in range(20)}
    assert len(codes) == 20
    assert all(len(code) == 10 and set(code) <= set(services.CODE_ALPHABET) for code in codes)
    code = next(iter(codes))
    assert client.get(f"/verify/{code.lower()}").status_code == 200


def test_a_revoked_certificate_says_so_with_the_reason(template, client, organizer):
    certificate = issue(template)
    services.revoke_certificate(organizer, certificate, "Issued to the wrong person")

    response = client.get(f"/verify/{certificate.code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Revoked" in html and "no longer valid" in html
    assert "Issued to the wrong person" in html
    assert "Valid certificate" not in html


@pytest.mark.parametrize("code", ["ABCDEFGH23", "nope", "%3Cscript%3E", "A" * 200])
def test_an_unknown_code_says_unknown(client, code):
    response = client.get(f"/verify/{code}")
    assert response.status_code == 404
    assert "Unknown code" in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)


def test_revoking_needs_a_reason_and_an_organizer(template, event):
    certificate = issue(template)
    with pytest.raises(DomainError):
        services.revoke_certificate(None, certificate, "   ")
    stranger = factories.UserFactory()
    with pytest.raises(DomainError) as refused:
        services.revoke_certificate(stranger, certificate, "no")
    assert refused.value.code == "not_allowed"
    assert certificate.live


def test_organizers_revoke_from_the_certificates_page(organizer_client, template):
    certificate = issue(template)
    url = f"/manage/events/{template.event.slug}/certificates/{certificate.id}/revoke"
    assert organizer_client.post(url, {"reason": "Duplicate", "confirm": "no"}).status_code == 400
    assert certificate.live
    response = organizer_client.post(url, {"reason": "Duplicate", "confirm": "revoke"})
    assert response.status_code == 302
    db.session.expire_all()
    assert certificate.revoke_reason == "Duplicate" and not certificate.live


def test_one_live_certificate_per_template_and_person_then_a_new_one_after_revoking(template, organizer):
    certificate = issue(template)
    with pytest.raises(DomainError) as refused:
        services.issue_certificate(organizer, template, certificate.person, "again")
    assert refused.value.code == "already_issued"
    services.revoke_certificate(organizer, certificate, "Wrong citation")
    again = services.issue_certificate(organizer, template, certificate.person, "Right citation")
    assert again.code != certificate.code


# --- Safe placeholders -------------------------------------------------------------------------------------

HOSTILE_TEXTS = [
    "{{ config }}",
    "{{ config.SECRET_KEY }}",
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{0.__class__}",
    "{recipient.__class__}",
    "{% for x in range(3) %}loop{% endfor %}",
    "<b>{recipient}</b>",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_placeholders_print_literally_and_never_run(text):
    filled = services.fill_text(text, {"recipient": "Kim", "citation": "c"})
    assert filled == text.replace("{recipient}", "Kim").strip()
    assert "testing-secret-key" not in filled and "<class" not in filled


@pytest.mark.parametrize("text", HOSTILE_TEXTS[:7])
def test_saving_a_text_with_other_braces_is_refused(event, text):
    data = services.TemplateData(kind=CertificateKind.ATTENDANCE, title="Certificate", body=text)
    with pytest.raises(DomainError) as refused:
        services.create_template(None, event, data)
    assert refused.value.code == "bad_placeholder" and refused.value.field == "body"


def test_a_hostile_text_in_the_pdf_is_printed_as_typed(template):
    """Even a text that bypassed the check (an older row) prints literally: no config, no class, no markup."""
    template.title = "{{ config.SECRET_KEY }}"
    template.intro = "{0.__class__} {{ ''.__class__ }}"
    template.body = "<img src='file:///etc/passwd'> {citation}"
    document = services.certificate_pdf(issue(template, "<b>Kim</b>"))
    (text,) = page_texts(document)
    assert "{{ CONFIG.SECRET_KEY }}" in text  # the title is set in capitals
    assert "testing-secret-key" not in text.lower()
    assert "{0.__class__}" in text and "{{ ''.__class__ }}" in text and "<class" not in text
    assert "<img src='file:///etc/passwd'>" in text and "<b>Kim</b>" in text


def test_the_editor_refuses_unknown_placeholders_and_previews_unsaved_texts(organizer_client, template):
    slug = template.event.slug
    db.session.commit()  # the refused request rolls back its own transaction only
    response = organizer_client.post(
        f"/manage/events/{slug}/certificates/templates/{template.id}",
        {"kind": "appreciation", "language": "en", "title": "Thanks", "body": "Dear {{ config }}"},
    )
    assert response.status_code == 400
    assert "Only these placeholders can be used" in response.get_data(as_text=True)
    db.session.expire_all()
    assert template.title == "Certificate of Appreciation"

    preview = organizer_client.post(
        f"/manage/events/{slug}/certificates/templates/{template.id}/preview",
        {"title": "Merci", "intro": "to", "body": "for {event}"},
    )
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    (text,) = page_texts(preview.data)
    assert "MERCI" in text.upper() and f"for {template.event.name}" in text
    db.session.expire_all()
    assert template.title == "Certificate of Appreciation"  # a preview stores nothing


# --- Uploads: signature images and logo ----------------------------------------------------------------------


def test_signature_images_and_logo_are_checked_by_content_and_printed(event, tmp_path):
    data = services.TemplateData(
        kind=CertificateKind.APPRECIATION,
        title="Certificate of Appreciation",
        body="{citation}",
        signatures=[
            services.SignatureData("Oh Se-hoon", "Mayor of Seoul", image=png_bytes()),
            services.SignatureData("Park Jung-sook", "Secretary General", image=jpeg_bytes()),
        ],
        logo=png_bytes((120, 40)),
    )
    template = services.create_template(None, event, data)
    stored = [block["image"] for block in template.signatures] + [template.logo]
    for name in stored:
        assert (services.image_folder() / name).read_bytes().startswith(b"\x89PNG")  # re-encoded as PNG
    document = services.certificate_pdf(issue(template))
    # The two signatures and the logo are drawn (three images besides the QR).
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(document)).pages[0].images) == 4


@pytest.mark.parametrize(
    "raw",
    [
        b"not an image at all",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,
        gif_bytes(),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
)
def test_uploads_that_are_not_png_or_jpeg_are_refused(event, raw):
    data = services.TemplateData(kind=CertificateKind.APPRECIATION, title="T", logo=raw)
    with pytest.raises(DomainError) as refused:
        services.create_template(None, event, data)
    assert refused.value.code == "not_an_image" and refused.value.field == "logo"
    assert list(services.image_folder().iterdir()) == []


def test_uploads_over_the_size_limit_are_refused(app, event):
    app.config["CERTIFICATE_MAX_IMAGE_BYTES"] = 1000
    signature = services.SignatureData("Oh Se-hoon", "Mayor", image=png_bytes((400, 400), "RGB") + b"\x00" * 2000)
    data = services.TemplateData(kind=CertificateKind.APPRECIATION, title="T", signatures=[signature])
    with pytest.raises(DomainError) as refused:
        services.create_template(None, event, data)
    assert refused.value.code == "image_too_large" and refused.value.field == "signature_1_image"


def test_the_editor_uploads_a_signature_and_refuses_a_disguised_file(organizer_client, template):
    url = f"/manage/events/{template.event.slug}/certificates/templates/{template.id}"
    fields = {
        "kind": "appreciation",
        "language": "en",
        "title": "Thanks",
        "body": "{citation}",
        "signature_1_name": "Oh Se-hoon",
    }
    db.session.commit()  # the refused request rolls back its own transaction only
    bad = organizer_client.post(
        url, {**fields, "signature_1_image": (io.BytesIO(b"GIF89a..."), "sig.png")}, content_type="multipart/form-data"
    )
    assert bad.status_code == 400 and "Upload a PNG or JPEG image." in bad.get_data(as_text=True)
    good = organizer_client.post(
        url, {**fields, "signature_1_image": (io.BytesIO(png_bytes()), "sig.png")}, content_type="multipart/form-data"
    )
    assert good.status_code == 302
    db.session.expire_all()
    assert template.title == "Thanks" and template.signatures[0]["image"].endswith(".png")


# --- Issuing one, emails, the recipient's page -------------------------------------------------------------


def test_organizers_issue_one_with_a_citation_and_it_is_emailed_with_the_pdf(organizer_client, template, mail_outbox):
    url = f"/manage/events/{template.event.slug}/certificates/templates/{template.id}/issue"
    response = organizer_client.post(
        url,
        {
            "email": "ambassador.peru@embassy.example.org",
            "name": "Ambassador of Peru",
            "organization": "Embassy of Peru",
            "citation": PERU_CITATION,
            "send_email": "y",
        },
    )
    assert response.status_code == 302
    certificate = db.session.scalar(sa.select(Certificate).where(Certificate.template_id == template.id))
    assert certificate.citation == PERU_CITATION and certificate.organization_name == "Embassy of Peru"
    (message,) = mail_outbox
    assert isinstance(message, EmailMessage)
    assert message["To"].addresses[0].addr_spec == "ambassador.peru@embassy.example.org"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert PERU_CITATION in page_texts(attachment.get_content())[0]
    assert certificate.code in message.get_body(("plain",)).get_content()


def test_the_recipient_finds_their_certificates_from_the_manage_link(client, event, template):
    registration = factories.RegistrationFactory(event=event)
    manage = client.get(f"/r/{registration.manage_token}").get_data(as_text=True)
    assert "My certificates" not in manage  # shown only once there is one

    certificate = services.issue_certificate(None, template, registration.person, PERU_CITATION)
    manage = client.get(f"/r/{registration.manage_token}").get_data(as_text=True)
    assert f"/r/{registration.manage_token}/certificates" in manage

    page = client.get(f"/r/{registration.manage_token}/certificates").get_data(as_text=True)
    assert certificate.code in page and "Add to LinkedIn profile" in page
    link = next(part for part in page.split('"') if part.startswith("https://www.linkedin.com/profile/add?"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link.replace("&amp;", "&")).query)
    issued = certificate.issued_at.astimezone(event.tz)
    assert query["startTask"] == ["CERTIFICATION_NAME"]
    assert query["name"] == [f"Certificate of Appreciation \u2013 {event.name}"]
    assert query["organizationName"] == [event.name]
    assert query["issueYear"] == [str(issued.year)] and query["issueMonth"] == [str(issued.month)]
    assert query["certUrl"] == [f"http://127.0.0.1:5000/verify/{certificate.code}"]
    assert query["certId"] == [certificate.code]

    pdf = client.get(f"/r/{registration.manage_token}/certificates/{certificate.code}.pdf")
    assert pdf.status_code == 200 and registration.person.name in page_texts(pdf.data)[0]
    other = issue(template, "Someone else")
    assert client.get(f"/r/{registration.manage_token}/certificates/{other.code}.pdf").status_code == 404


def test_online_attendees_who_registered_or_joined(event, template):
    from eventsys.registration import services as registration_services

    joined = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    registration_services.record_join(joined)
    registered = factories.RegistrationFactory(event=event, mode=Mode.ONLINE)
    factories.RegistrationFactory(event=event)  # in person
    assert services.online_attendees(event, joined=True) == [joined.person]
    assert set(services.online_attendees(event, joined=False)) == {joined.person, registered.person}


def test_a_template_written_in_spanish_prints_every_copy_in_spanish(organizer_client, template):
    """The labels and the date follow the language the organizer wrote the texts in, not the viewer's or
    the recipient's, so no certificate mixes two languages."""
    slug = template.event.slug
    db.session.commit()
    url = f"/manage/events/{slug}/certificates/templates/{template.id}"
    fields = {"kind": "appreciation", "title": "Certificado de reconocimiento", "body": "{citation}"}
    refused = organizer_client.post(url, {**fields, "language": "fr"})
    assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert template.language == "en" and template.title == "Certificate of Appreciation"

    assert organizer_client.post(url, {**fields, "language": "es"}).status_code == 302
    db.session.expire_all()
    assert template.language == "es"
    english_speaker = issue(template, name="Kim Min-ji", citation="por su contribución")
    (text,) = page_texts(services.certificate_pdf(english_speaker))
    assert "Código del certificado" in text and "Certificate code" not in text
    preview = organizer_client.client.get(f"{url}/preview.pdf")
    assert "Código del certificado" in page_texts(preview.data)[0]
    # The editor shows the choice it was saved with.
    editor = organizer_client.client.get(url).get_data(as_text=True)
    assert '<option selected value="es">Español</option>' in editor
