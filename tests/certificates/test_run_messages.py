"""What organizers read after a bulk run: counts in proper plurals, in English, Spanish and Korean."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest

from eventsys.certificates import services
from eventsys.certificates.models import CertificateKind
from eventsys.extensions import db
from tests.conftest import Browser


@pytest.fixture(autouse=True)
def folders(app, tmp_path):
    app.config["CERTIFICATE_IMAGE_DIR"] = str(tmp_path / "images")
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")
    app.config["CERTIFICATE_PROCESSES"] = 1


@pytest.fixture
def template(event):
    made = services.create_template(
        None, event, services.TemplateData(kind=CertificateKind.COMPLETION, title="Completion", body="{citation}")
    )
    db.session.commit()
    return made


def _csv(*names: str) -> bytes:
    return ("name,email\n" + "".join(f"{name},{name.lower()}@example.org\n" for name in names)).encode()


def _run(browser: Browser, event, template, names: tuple[str, ...], language: str = "en"):  # type: ignore[no-untyped-def]
    return browser.client.post(
        f"/manage/events/{event.slug}/certificates/templates/{template.id}/runs",
        data={"csrf_token": browser.csrf_token(), "source": "csv", "file": (io.BytesIO(_csv(*names)), "list.csv")},
        headers={"Accept-Language": language},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_counts_read_as_proper_plurals(organizer_client: Browser, event, template) -> None:
    one = _text(_run(organizer_client, event, template, ("Ana",)))
    assert "1 certificate issued. The PDFs are being prepared." in one
    assert "1 certificates" not in one and "already held" not in one.split("prepared.")[0]
    assert "1 issued, 0 already held one" in one  # the runs table

    more = _text(_run(organizer_client, event, template, ("Ana", "Bora", "Chen")))
    assert "2 certificates issued. 1 person already held one. The PDFs are being prepared." in more

    refused = _run(organizer_client, event, template, ("Ana",))
    assert refused.status_code == 400
    assert "Nobody to issue to: 1 person matches and already holds this certificate." in _text(refused)
    refused = _run(organizer_client, event, template, ("Ana", "Bora", "Chen"))
    assert "Nobody to issue to: 3 people match, and all of them already hold this certificate." in _text(refused)


def test_spanish_and_korean_organizers_read_their_own_plurals(organizer_client: Browser, event, template) -> None:
    spanish = _text(_run(organizer_client, event, template, ("Ana",), "es"))
    assert "1 certificado emitido." in spanish
    spanish = _text(_run(organizer_client, event, template, ("Ana", "Bora", "Chen"), "es"))
    assert "2 certificados emitidos. 1 persona ya tenía uno." in spanish
    korean = _text(_run(organizer_client, event, template, ("Dana", "Eun"), "ko"))
    assert "증서 2건을 발급했습니다." in korean
