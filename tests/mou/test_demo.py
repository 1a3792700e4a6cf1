"""The demo's two kick-off MOUs: signed, public, and only what the press release says."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Flask

from eventsys.demo import KICKOFF_SLUG, load_demo
from eventsys.extensions import db
from eventsys.mou.models import Mou, MouStatus, MouVisibility


def test_the_kickoff_mous(app: Flask, client, tmp_path) -> None:
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")  # the demo renders its attendance certificates
    load_demo(password="demo-password-for-tests")
    db.session.commit()
    mous = db.session.scalars(sa.select(Mou).order_by(Mou.id)).all()
    assert [[p.organization.name for p in m.parties] for m in mous] == [
        ["WeGO Secretariat", "Edgelands Institute"],
        ["Seoul National University Graduate School of Public Administration", "WeGO Secretariat"],
    ]
    for mou in mous:
        assert mou.event.slug == KICKOFF_SLUG
        assert mou.status is MouStatus.SIGNED and mou.visibility is MouVisibility.PUBLIC
        assert mou.signing_date == date(2022, 2, 23) and mou.place == "Seoul"
        assert mou.end_date is None  # the press release gives no term
        # Each party signed; the press release does not say who signed for it.
        assert [[s.person for s in p.signatories] for p in mou.parties] == [[None], [None]]
    assert "Smart City Champions" in mous[1].title
    # Linked to the ceremonies on the demo agenda.
    assert mous[0].session.title == "MOU signing with Edgelands Institute"
    assert mous[1].session.title.startswith("Signing ceremony: Seoul National University")
    page = client.get(f"/events/{KICKOFF_SLUG}/mous").get_data(as_text=True)
    assert "MOU between WeGO and Edgelands Institute" in page and "Smart City Champions" in page
