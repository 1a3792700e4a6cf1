"""MOU rules: the status machine, signing requirements, amendments after signing and their audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from eventsys.common.errors import DomainError
from eventsys.extensions import db
from eventsys.mou import services
from eventsys.mou.models import Mou, MouAuditEntry, MouStatus, MouVisibility, SignatoryRole
from tests import factories

S = MouStatus
YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)


def draft_between_two(event=None, **data: object) -> Mou:
    event = event or factories.EventFactory()
    organizer = factories.organizer_of(event)
    first, second = (
        factories.OrganizationFactory(name="WeGO"),
        factories.OrganizationFactory(name="Edgelands Institute"),
    )
    mou = services.create_mou(
        organizer, event, services.MouData(title="MOU on urban security", **data), [first.id, second.id]
    )
    return mou


def ready_to_sign(mou: Mou) -> Mou:
    mou.signing_date = YESTERDAY
    for party in mou.parties:
        services.add_signatory(None, mou, party.id, person_id=factories.PersonFactory().id)
    return mou


def test_the_life_of_an_mou(app: Flask) -> None:
    mou = ready_to_sign(draft_between_two())
    assert mou.status is S.DRAFT
    services.change_status(None, mou, S.SCHEDULED)
    services.sign_mou(None, mou)
    services.change_status(None, mou, S.RENEWED)
    db.session.expire_all()
    assert mou.status is S.RENEWED
    statuses = [(e.before, e.after) for e in mou.audit_entries if e.action == "status"]
    assert statuses == [
        ({"status": "signed"}, {"status": "renewed"}),
        ({"status": "scheduled"}, {"status": "signed"}),
        ({"status": "draft"}, {"status": "scheduled"}),
    ]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.DRAFT, S.EXPIRED),
        (S.DRAFT, S.RENEWED),
        (S.SCHEDULED, S.TERMINATED),
        (S.SIGNED, S.DRAFT),
        (S.SIGNED, S.SCHEDULED),
        (S.EXPIRED, S.SIGNED),
        (S.TERMINATED, S.RENEWED),
        (S.RENEWED, S.EXPIRED),
        (S.SIGNED, S.SIGNED),
    ],
)
def test_invalid_transitions_are_refused(app: Flask, start: MouStatus, target: MouStatus) -> None:
    mou = ready_to_sign(draft_between_two())
    mou.status = start
    db.session.flush()
    with pytest.raises(DomainError) as refused:
        services.change_status(None, mou, target)
    assert refused.value.code == "invalid_transition"
    assert mou.status is start


def test_the_buttons_offer_only_valid_next_statuses(app: Flask) -> None:
    mou = draft_between_two()
    assert services.allowed_transitions(mou) == [S.SCHEDULED, S.SIGNED]
    mou.status = S.SIGNED
    assert services.allowed_transitions(mou) == [S.EXPIRED, S.TERMINATED, S.RENEWED]
    mou.status = S.TERMINATED
    assert services.allowed_transitions(mou) == []


def test_no_signed_without_a_signing_date(app: Flask) -> None:
    mou = ready_to_sign(draft_between_two())
    mou.signing_date = None
    with pytest.raises(DomainError, match="Give the signing date") as refused:
        services.sign_mou(None, mou)
    assert refused.value.code == "not_ready_to_sign"
    assert mou.status is S.DRAFT


def test_no_signed_without_a_signatory_for_every_party(app: Flask) -> None:
    mou = draft_between_two(signing_date=YESTERDAY)
    wego, edgelands = mou.parties
    services.add_signatory(None, mou, wego.id, person_id=factories.PersonFactory().id)
    services.add_signatory(None, mou, edgelands.id, person_id=factories.PersonFactory().id, role=SignatoryRole.WITNESS)
    with pytest.raises(DomainError, match="Add a signatory for Edgelands Institute"):
        services.sign_mou(None, mou)
    assert mou.status is S.DRAFT


def test_a_signing_date_in_the_future_is_refused(app: Flask) -> None:
    mou = ready_to_sign(draft_between_two())
    mou.signing_date = datetime.now(UTC).date() + timedelta(days=5)
    with pytest.raises(DomainError, match="in the future"):
        services.sign_mou(None, mou)


def test_the_database_refuses_a_signed_mou_without_signing_date(app: Flask) -> None:
    mou = factories.MouFactory()
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.execute(sa.update(Mou).where(Mou.id == mou.id).values(status="signed", signing_date=None))


def test_an_unnamed_representative_counts_as_a_signatory_but_a_witness_must_be_named(app: Flask) -> None:
    mou = draft_between_two(signing_date=YESTERDAY)
    for party in mou.parties:
        services.add_signatory(None, mou, party.id)
    services.sign_mou(None, mou)
    assert mou.status is S.SIGNED
    with pytest.raises(DomainError) as refused:
        services.add_signatory(None, mou, mou.parties[0].id, role=SignatoryRole.WITNESS, reason="Witness added")
    assert refused.value.code == "witness_unnamed"


def test_an_mou_needs_two_parties(app: Flask) -> None:
    event = factories.EventFactory()
    only = factories.OrganizationFactory()
    with pytest.raises(DomainError) as refused:
        services.create_mou(None, event, services.MouData(title="Alone"), [only.id, only.id])
    assert refused.value.field == "organizations"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Mou)) == 0


def test_end_date_cannot_precede_start_date(app: Flask) -> None:
    with pytest.raises(DomainError) as refused:
        draft_between_two(start_date=date(2022, 3, 1), end_date=date(2022, 2, 1))
    assert refused.value.field == "end_date"


def test_before_signing_parties_and_signatories_change_freely(app: Flask) -> None:
    mou = draft_between_two()
    third = factories.OrganizationFactory()
    party = services.add_party(None, mou, third.id)
    services.remove_party(None, mou, party.id)
    assert [e.reason for e in mou.audit_entries] == [None, None, None]


def test_after_signing_a_change_of_signatories_needs_an_amendment_with_a_reason(app: Flask) -> None:
    mou = ready_to_sign(draft_between_two())
    services.sign_mou(None, mou)
    wego = mou.parties[0]
    actor = factories.organizer_of(mou.event)
    with pytest.raises(DomainError) as refused:
        services.add_signatory(actor, mou, wego.id, new_person_name="Jung Sook Park")
    assert refused.value.code == "amendment_required"
    assert len(wego.signatories) == 1

    services.add_signatory(
        actor,
        mou,
        wego.id,
        new_person_name="Jung Sook Park",
        title_at_signing="Secretary General of WeGO",
        reason="The Secretary General co-signed; the first entry missed her.",
    )
    db.session.expire_all()
    entry = db.session.scalars(
        sa.select(MouAuditEntry).where(MouAuditEntry.mou_id == mou.id).order_by(MouAuditEntry.id.desc())
    ).first()
    assert entry.action == "signatory_added"
    assert entry.is_amendment
    assert entry.reason == "The Secretary General co-signed; the first entry missed her."
    assert entry.actor_id == actor.id and entry.actor_name == actor.name
    assert entry.after == {
        "party": "WeGO",
        "person": "Jung Sook Park",
        "title_at_signing": "Secretary General of WeGO",
        "role": "signatory",
    }


def test_after_signing_each_party_keeps_a_signatory(app: Flask) -> None:
    mou = ready_to_sign(draft_between_two())
    services.sign_mou(None, mou)
    only = mou.parties[0].signatories[0]
    with pytest.raises(DomainError) as refused:
        services.remove_signatory(None, mou, only.id, reason="Wrong person")
    assert refused.value.code == "last_signatory"


def test_after_signing_the_signed_facts_change_only_by_amendment(app: Flask) -> None:
    mou = ready_to_sign(draft_between_two(place="Seoul"))
    services.sign_mou(None, mou)
    data = services.MouData(
        title=mou.title, place="Seoul City Hall", signing_date=mou.signing_date, visibility=mou.visibility
    )
    with pytest.raises(DomainError) as refused:
        services.update_mou(None, mou, data)
    assert refused.value.field == "reason"
    db.session.expire_all()
    assert mou.place == "Seoul"

    services.update_mou(None, mou, data, reason="The press release names the venue.")
    db.session.expire_all()
    [entry] = [e for e in mou.audit_entries if e.action == "amended"]
    assert (entry.before, entry.after) == ({"place": "Seoul"}, {"place": "Seoul City Hall"})
    # Notes and visibility are not signed facts: they change without a reason.
    data.internal_notes = "Original kept in the Secretariat's safe."
    data.visibility = MouVisibility.PUBLIC
    services.update_mou(None, mou, data)
    db.session.expire_all()
    assert mou.audit_entries[0].action == "updated" and mou.audit_entries[0].reason is None
