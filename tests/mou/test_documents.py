"""Signed documents: checked by content, size-limited with nothing stored on refusal, SHA-256 recorded and
verified, and served only to those allowed."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from eventsys.common.errors import DomainError
from eventsys.extensions import db
from eventsys.mou import services
from eventsys.mou.models import MouDocument, MouVisibility
from tests import factories
from tests.conftest import Browser
from tests.mou.files import image_bytes, tiny_pdf

ROOT = Path(__file__).resolve().parents[2]


def stored(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def document_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(MouDocument))


def upload(browser: Browser, mou, name: str, content: bytes):
    """Post the file as the page's form does. The body is built in memory: the test client would spool a
    large body to a temporary file that nobody closes."""
    url = f"/manage/events/{mou.event.slug}/mous/{mou.id}/documents"
    fields = {"csrf_token": browser.csrf_token(), "document-file": FileStorage(io.BytesIO(content), name)}
    boundary, body = encode_multipart(fields)
    return browser.client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_signed_pdf_is_stored_outside_static_with_its_sha256(organizer_client: Browser, event, documents_dir) -> None:
    mou = factories.signed_mou(event)
    content = tiny_pdf()
    response = upload(organizer_client, mou, "MOU WeGO-Edgelands (signed).pdf", content)
    assert response.status_code == 302
    [doc] = db.session.scalars(sa.select(MouDocument)).all()
    assert doc.sha256 == hashlib.sha256(content).hexdigest()
    assert doc.size == len(content) and doc.content_type == "application/pdf"
    assert doc.original_filename == "MOU WeGO-Edgelands (signed).pdf"
    [path] = stored(documents_dir)
    assert path.read_bytes() == content
    assert path.name == doc.stored_name and "Edgelands" not in path.name  # a generated name
    assert not path.resolve().is_relative_to(ROOT / "static")
    page = organizer_client.client.get(f"/manage/events/{event.slug}/mous/{mou.id}").get_data(as_text=True)
    assert doc.sha256 in page  # shown on the record


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_scans_are_accepted_when_their_name_agrees(app: Flask, fmt: str) -> None:
    mou = factories.signed_mou(factories.EventFactory())
    name = "scan.png" if fmt == "PNG" else "scan.jpeg"
    doc = services.attach_document(None, mou, name, io.BytesIO(image_bytes(fmt)))
    assert doc.content_type == f"image/{fmt.lower()}"


def test_a_png_renamed_to_pdf_is_rejected_and_nothing_is_stored(
    organizer_client: Browser, event, documents_dir
) -> None:
    mou = factories.signed_mou(event)
    response = upload(organizer_client, mou, "signed-mou.pdf", image_bytes("PNG"))
    assert response.status_code == 400
    assert "named .pdf, but its content is PNG" in response.get_data(as_text=True)
    assert document_count() == 0 and stored(documents_dir) == []


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\nthis is not really a PDF\n%%EOF",  # the magic bytes alone are not enough
        b"MZ\x90\x00" + b"\x00" * 200,  # a program
        image_bytes("PNG")[:40],  # a truncated image
        b"<html><script>alert(1)</script></html>",
    ],
)
def test_content_that_is_not_a_valid_pdf_or_image_is_rejected(app: Flask, documents_dir, content: bytes) -> None:
    mou = factories.signed_mou(factories.EventFactory())
    with pytest.raises(DomainError) as refused:
        services.attach_document(None, mou, "document.pdf", io.BytesIO(content))
    assert refused.value.code in ("file_type", "file_type_mismatch")
    assert document_count() == 0 and stored(documents_dir) == []


def test_a_25_mb_file_is_rejected_with_a_clear_message_and_nothing_stored(
    organizer_client: Browser, event, documents_dir
) -> None:
    mou = factories.signed_mou(event)
    content = tiny_pdf() + b"\n%" + b"x" * (25_000_000)
    response = upload(organizer_client, mou, "huge.pdf", content)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "This file is larger than 20 MB, the most a document may be. Nothing was stored." in text
    assert document_count() == 0 and stored(documents_dir) == []
    db.session.expire_all()
    assert [e.action for e in mou.audit_entries if e.action == "document_added"] == []


def test_a_body_beyond_the_request_limit_gets_the_same_clear_message(
    organizer_client: Browser, event, documents_dir, app: Flask
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    mou = factories.signed_mou(event)
    response = upload(organizer_client, mou, "huge.pdf", b"%PDF-" + b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert "Nothing was stored." in response.get_data(as_text=True)
    assert document_count() == 0 and stored(documents_dir) == []


def test_the_limit_is_configurable(app: Flask, documents_dir) -> None:
    app.config["MOU_MAX_UPLOAD_BYTES"] = 1000
    mou = factories.signed_mou(factories.EventFactory())
    with pytest.raises(DomainError, match="This file is larger than"):
        services.attach_document(None, mou, "a.pdf", io.BytesIO(tiny_pdf() + b"%" + b"x" * 1000))
    assert stored(documents_dir) == []


def test_a_rolled_back_upload_leaves_no_file(app: Flask, documents_dir) -> None:
    mou = factories.signed_mou(factories.EventFactory())
    services.attach_document(None, mou, "a.pdf", io.BytesIO(tiny_pdf()))
    assert len(stored(documents_dir)) == 1
    db.session.rollback()
    assert stored(documents_dir) == []


def verify(browser_or_client, mou, content: bytes):
    client = getattr(browser_or_client, "client", browser_or_client)
    page = client.get(f"/events/{mou.event.slug}/mous/{mou.id}/verify").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page
    )
    return client.post(
        f"/events/{mou.event.slug}/mous/{mou.id}/verify",
        data={"csrf_token": token.group(1), "file": (io.BytesIO(content), "copy.pdf")},
        content_type="multipart/form-data",
    )


def test_verify_a_copy_match_and_mismatch(client, app: Flask) -> None:
    mou = factories.signed_mou(factories.EventFactory(), visibility=MouVisibility.PUBLIC)
    original = tiny_pdf("Signed MOU")
    services.attach_document(None, mou, "signed.pdf", io.BytesIO(original))
    db.session.commit()

    matching = verify(client, mou, original)
    assert matching.status_code == 200
    text = matching.get_data(as_text=True)
    assert 'data-verified="yes"' in text and "signed.pdf" in text
    assert hashlib.sha256(original).hexdigest() in text

    altered = tiny_pdf("Signed MOU, altered")
    mismatch = verify(client, mou, altered)
    text = mismatch.get_data(as_text=True)
    assert 'data-verified="no"' in text and 'data-verified="yes"' not in text
    assert hashlib.sha256(altered).hexdigest() in text
    assert document_count() == 1  # verification stores nothing


def test_public_documents_download_for_anyone(client, app: Flask) -> None:
    mou = factories.signed_mou(factories.EventFactory(), visibility=MouVisibility.PUBLIC)
    content = tiny_pdf()
    doc = services.attach_document(None, mou, "signed.pdf", io.BytesIO(content))
    db.session.commit()
    response = client.get(f"/events/{mou.event.slug}/mous/{mou.id}/documents/{doc.id}")
    assert response.status_code == 200
    assert response.data == content
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    response.close()
