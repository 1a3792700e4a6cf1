"""Registration rules as a registrant or organizer meets them: modes, capacity, quotas, moderation, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eventsys.common.errors import DomainError, NotAllowed
from eventsys.events.models import Category, EventFormat, EventStatus, Person
from eventsys.extensions import db
from eventsys.invitations.models import InvitationState
from eventsys.registration import services
from eventsys.registration.models import Mode, Registration, RegistrationStatus
from eventsys.registration.services import (
    AlreadyRegistered,
    ConsentRequired,
    InPersonFull,
    InvalidTransition,
    InvitationRequired,
    ModeNotOffered,
    OnlineFull,
    RegistrationClosed,
    approve_registration,
    cancel_registration,
    find_registration_by_join_token,
    find_registration_by_manage_token,
    record_join,
    register_attendee,
    reject_registration,
    seat_counts,
    set_capacity,
    set_category_quota,
    switch_mode,
    update_details,
)
from tests import factories
from tests.registration.conftest import data

S = RegistrationStatus


def fill(event, count: int, start: int = 0, **kwargs: object) -> list[Registration]:
    return [register_attendee(event, data(f"fill{start + i}-{event.id}"), **kwargs) for i in range(count)]


@pytest.fixture
def small_event(app):
    return factories.EventFactory(capacity=2)


# --- registering --------------------------------------------------------------------------------------


def test_a_registrant_with_a_free_seat_is_confirmed_in_person(small_event, sent) -> None:
    reg = register_attendee(
        small_event,
        data(1, organization="Seoul Metropolitan Government", title="Director", dietary_needs="Vegetarian"),
    )
    assert reg.status is S.CONFIRMED and reg.mode is Mode.IN_PERSON
    assert reg.confirmed_at is not None and reg.consent_at is not None
    assert reg.manage_token and reg.join_token is None
    assert reg.dietary_needs == "Vegetarian"
    assert reg.person.organization.name == "Seoul Metropolitan Government"
    assert sent.kinds_for(reg) == ["confirmed"]
    assert find_registration_by_manage_token(reg.manage_token) is reg


def test_an_online_registrant_gets_a_personal_join_link_and_no_dietary_needs(small_event, sent) -> None:
    reg = register_attendee(small_event, data(1, mode=Mode.ONLINE, dietary_needs="Halal"))
    assert reg.status is S.CONFIRMED and reg.mode is Mode.ONLINE
    assert reg.join_token and reg.dietary_needs is None
    assert find_registration_by_join_token(reg.join_token) is reg
    assert record_join(reg) == small_event.online_url
    assert reg.first_joined_at is not None and reg.last_joined_at == reg.first_joined_at


def test_the_join_link_records_first_and_last_join(small_event, sent) -> None:
    reg = register_attendee(small_event, data(1, mode=Mode.ONLINE))
    first = datetime.now(UTC)
    record_join(reg, now=first)
    record_join(reg, now=first + timedelta(minutes=40))
    assert reg.first_joined_at == first and reg.last_joined_at == first + timedelta(minutes=40)


def test_the_join_link_refuses_in_person_attendees(small_event, sent) -> None:
    reg = register_attendee(small_event, data(1))
    with pytest.raises(DomainError) as error:
        record_join(reg)
    assert error.value.code == "join_not_allowed"
    assert "online" in error.value.message


def test_wrong_tokens_find_nothing(app) -> None:
    assert find_registration_by_manage_token("x" * 43) is None
    assert find_registration_by_join_token("not a token") is None


def test_one_person_per_email_across_registrations(app, sent) -> None:
    first, second = factories.EventFactory(), factories.EventFactory()
    a = register_attendee(first, data(1, email="Kim@Example.org", title="Mayor"))
    b = register_attendee(second, data(1, email="kim@example.org ", name="Someone Else", organization="Busan"))
    assert a.person is b.person
    assert b.person.email == "kim@example.org"
    assert b.person.name == "Attendee 1"  # a registration never overwrites what we know
    assert b.person.title == "Mayor" and b.person.organization.name == "Busan"  # blanks are filled in
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.email == "kim@example.org")) == 1
    )


def test_an_existing_person_is_merged_not_doubled(small_event, sent) -> None:
    person = factories.PersonFactory(email="ambassador@embassy.example")
    reg = register_attendee(small_event, data(1, email="AMBASSADOR@embassy.example"))
    assert reg.person is person


def test_registering_twice_is_refused(small_event, sent) -> None:
    register_attendee(small_event, data(1))
    with pytest.raises(AlreadyRegistered) as error:
        register_attendee(small_event, data(1, mode=Mode.ONLINE))
    assert error.value.code == "already_registered"
    assert "already registered" in error.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 1


def test_re_registering_after_cancelling_reuses_the_registration(small_event, sent) -> None:
    reg = register_attendee(small_event, data(1))
    cancel_registration(reg)
    token = reg.manage_token
    again = register_attendee(small_event, data(1, mode=Mode.ONLINE))
    assert again is reg
    assert again.status is S.CONFIRMED and again.mode is Mode.ONLINE
    assert again.cancelled_at is None and again.manage_token == token
    assert again.ics_sequence == 2  # cancelled (1), registered again (2)


def test_consent_is_required(small_event, sent) -> None:
    with pytest.raises(ConsentRequired) as error:
        register_attendee(small_event, data(1, consent=False))
    assert error.value.field == "consent"
    assert "privacy notice" in error.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_name_and_email_are_checked(small_event, sent) -> None:
    with pytest.raises(DomainError) as error:
        register_attendee(small_event, data(1, name="  "))
    assert error.value.field == "name"
    with pytest.raises(DomainError) as error:
        register_attendee(small_event, data(1, email="not-an-address"))
    assert error.value.field == "email"


@pytest.mark.parametrize(
    ("opens", "closes", "status"),
    [
        (timedelta(days=1), None, EventStatus.PUBLISHED),  # not open yet
        (-timedelta(days=3), -timedelta(days=1), EventStatus.PUBLISHED),  # closed
        (None, None, EventStatus.DRAFT),  # not published
        (None, None, EventStatus.CLOSED),
    ],
)
def test_registration_only_while_open(app, sent, opens, closes, status) -> None:
    now = datetime.now(UTC)
    event = factories.EventFactory(
        status=status,
        registration_opens_at=now + opens if opens is not None else None,
        registration_closes_at=now + closes if closes is not None else None,
    )
    with pytest.raises(RegistrationClosed) as error:
        register_attendee(event, data(1))
    assert error.value.message == "Registration for this event is closed."


def test_invitation_only_events_need_the_invitation(app, sent) -> None:
    event = factories.EventFactory(invitation_only=True)
    with pytest.raises(InvitationRequired) as error:
        register_attendee(event, data(1))
    assert "invitation" in error.value.message

    elsewhere = factories.InvitationFactory()
    with pytest.raises(InvitationRequired) as error:
        register_attendee(event, data(1, email=elsewhere.person.email), invitation=elsewhere)
    assert error.value.message == "This invitation is for another event."

    invitation = factories.InvitationFactory(event=event, category=Category.EMBASSY)
    reg = register_attendee(event, data(1, email=invitation.person.email), invitation=invitation)
    assert reg.status is S.CONFIRMED and reg.person is invitation.person
    assert reg.category is Category.EMBASSY and reg.invitation is invitation
    assert invitation.state is InvitationState.ACCEPTED and invitation.responded_at is not None


def test_an_invitation_is_for_its_own_address(app, sent) -> None:
    invitation = factories.InvitationFactory(event=factories.EventFactory(invitation_only=True))
    with pytest.raises(DomainError) as error:
        register_attendee(invitation.event, data(1, email="someone.else@example.org"), invitation=invitation)
    assert error.value.code == "invitation_email_mismatch"
    assert invitation.person.email in error.value.message


@pytest.mark.parametrize(
    ("event_format", "mode", "offered"),
    [
        (EventFormat.HYBRID, Mode.IN_PERSON, True),
        (EventFormat.HYBRID, Mode.ONLINE, True),
        (EventFormat.IN_PERSON, Mode.IN_PERSON, True),
        (EventFormat.IN_PERSON, Mode.ONLINE, False),
        (EventFormat.ONLINE, Mode.ONLINE, True),
        (EventFormat.ONLINE, Mode.IN_PERSON, False),
    ],
)
def test_the_mode_must_be_offered_by_the_format(app, sent, event_format, mode, offered) -> None:
    event = factories.EventFactory(format=event_format)
    if offered:
        assert register_attendee(event, data(1, mode=mode)).mode is mode
        return
    with pytest.raises(ModeNotOffered) as error:
        register_attendee(event, data(1, mode=mode))
    expected = "in person only" if event_format is EventFormat.IN_PERSON else "online only"
    assert expected in error.value.message and error.value.field == "mode"


# --- capacity -----------------------------------------------------------------------------------------


def test_a_full_event_puts_people_on_the_waiting_list(small_event, sent) -> None:
    fill(small_event, 2)
    reg = register_attendee(small_event, data(1))
    assert reg.status is S.WAITLISTED and reg.mode is Mode.IN_PERSON and reg.waitlisted_at is not None
    assert sent.kinds_for(reg) == ["waitlisted"]
    counts = seat_counts(small_event)
    assert (counts.in_person_confirmed, counts.waitlisted, counts.in_person_free) == (2, 1, 0)


def test_a_full_event_can_refuse_with_a_message_that_offers_alternatives(small_event, sent) -> None:
    fill(small_event, 2)
    with pytest.raises(InPersonFull) as error:
        register_attendee(small_event, data(1), when_full="refuse")
    assert "waiting list" in error.value.message and "online" in error.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 2


def test_an_in_person_only_event_does_not_suggest_online(app, sent) -> None:
    event = factories.EventFactory(format=EventFormat.IN_PERSON, capacity=0)
    with pytest.raises(InPersonFull) as error:
        register_attendee(event, data(1), when_full="refuse")
    assert "online" not in error.value.message
    with pytest.raises(InPersonFull):
        register_attendee(event, data(1), when_full="online")


def test_online_meanwhile_takes_an_online_place_and_keeps_waiting(small_event, sent) -> None:
    fill(small_event, 2)
    reg = register_attendee(small_event, data(1, dietary_needs="No nuts"), when_full="online")
    assert (reg.mode, reg.status, reg.online_meanwhile) == (Mode.ONLINE, S.CONFIRMED, True)
    assert reg.waitlisted_at is not None and reg.join_token
    assert reg.dietary_needs == "No nuts"  # kept for when a seat frees up
    counts = seat_counts(small_event)
    assert (counts.online_confirmed, counts.waitlisted, counts.in_person_confirmed) == (1, 1, 2)


def test_online_places_can_be_limited(app, sent) -> None:
    event = factories.EventFactory(capacity=1, online_capacity=1)
    register_attendee(event, data(1, mode=Mode.ONLINE))
    with pytest.raises(OnlineFull) as error:
        register_attendee(event, data(2, mode=Mode.ONLINE))
    assert error.value.message == "All online places are taken."
    register_attendee(event, data(3))
    with pytest.raises(OnlineFull):
        register_attendee(event, data(4), when_full="online")


def test_no_capacity_means_no_limit(app, sent) -> None:
    event = factories.EventFactory(capacity=None)
    regs = fill(event, 5)
    assert all(r.status is S.CONFIRMED for r in regs)
    assert seat_counts(event).in_person_free is None


def test_a_category_quota_keeps_seats_and_bounds_the_category(app, sent) -> None:
    event = factories.EventFactory(capacity=4)
    set_category_quota(event, Category.EMBASSY, 2)

    def embassy(n: int) -> Registration:
        invitation = factories.InvitationFactory(event=event, category=Category.EMBASSY)
        return register_attendee(event, data(n, email=invitation.person.email), invitation=invitation)

    others = fill(event, 3)  # only 4 - 2 = 2 seats are shared
    assert [r.status for r in others] == [S.CONFIRMED, S.CONFIRMED, S.WAITLISTED]
    diplomats = [embassy(n) for n in range(3)]
    assert [r.status for r in diplomats] == [S.CONFIRMED, S.CONFIRMED, S.WAITLISTED]
    counts = seat_counts(event)
    assert counts.by_category[Category.EMBASSY] == (2, 2)
    assert counts.in_person_confirmed == 4 and counts.waitlisted == 2


def test_a_category_without_quota_shares_the_common_seats(app, sent) -> None:
    event = factories.EventFactory(capacity=2)
    factories.CategoryQuotaFactory(event=event, category=Category.EMBASSY, seats=1)
    invitation = factories.InvitationFactory(event=event, category=Category.PRESS)
    press = register_attendee(event, data(1, email=invitation.person.email), invitation=invitation)
    public = register_attendee(event, data(2))
    assert press.status is S.CONFIRMED and public.status is S.WAITLISTED


def test_quotas_must_fit_the_capacity_and_the_seats_taken(app, sent) -> None:
    event = factories.EventFactory(capacity=3)
    with pytest.raises(DomainError) as error:
        set_category_quota(event, Category.EMBASSY, 4)
    assert error.value.code == "quotas_exceed_capacity"
    fill(event, 2)
    with pytest.raises(DomainError) as error:
        set_category_quota(event, Category.EMBASSY, 2)  # would leave 1 shared seat for 2 people seated
    assert error.value.code == "quota_no_room"
    set_category_quota(event, Category.EMBASSY, 1)
    set_category_quota(event, Category.EMBASSY, None)
    assert seat_counts(event).by_category == {}
    with pytest.raises(DomainError):
        set_category_quota(event, Category.EMBASSY, -1)


def test_capacity_cannot_drop_below_the_seats_taken(small_event, sent) -> None:
    fill(small_event, 2)
    with pytest.raises(DomainError) as error:
        set_capacity(small_event, 1)
    assert error.value.code == "capacity_below_held"
    assert "2 people" in error.value.message
    assert small_event.capacity == 2


# --- moderation ---------------------------------------------------------------------------------------


@pytest.fixture
def moderated(app):
    event = factories.EventFactory(capacity=1, moderation=True)
    return event, factories.organizer_of(event)


def test_moderated_registrations_wait_for_approval(moderated, sent) -> None:
    event, organizer = moderated
    reg = register_attendee(event, data(1))
    assert reg.status is S.PENDING and sent.kinds_for(reg) == ["pending"]
    assert seat_counts(event).pending == 1 and seat_counts(event).in_person_confirmed == 0
    approve_registration(reg, organizer)
    assert reg.status is S.CONFIRMED and sent.kinds_for(reg) == ["pending", "confirmed"]


def test_approval_checks_capacity(moderated, sent) -> None:
    event, organizer = moderated
    first, second = register_attendee(event, data(1)), register_attendee(event, data(2))
    approve_registration(first, organizer)
    approve_registration(second, organizer)
    assert first.status is S.CONFIRMED and second.status is S.WAITLISTED


def test_rejection_and_who_may_moderate(moderated, sent) -> None:
    event, organizer = moderated
    reg = register_attendee(event, data(1))
    door = factories.door_staff_of(event)
    with pytest.raises(NotAllowed):
        approve_registration(reg, door)
    with pytest.raises(NotAllowed):
        reject_registration(reg, factories.UserFactory())
    reject_registration(reg, organizer)
    assert reg.status is S.REJECTED and sent.kinds_for(reg)[-1] == "rejected"
    with pytest.raises(InvalidTransition):
        approve_registration(reg, organizer)
    with pytest.raises(AlreadyRegistered) as error:
        register_attendee(event, data(1))
    assert "declined" in error.value.message


def test_invitations_may_skip_moderation(moderated, sent) -> None:
    event, _ = moderated
    invitation = factories.InvitationFactory(event=event, skip_moderation=True)
    reg = register_attendee(event, data(1, email=invitation.person.email), invitation=invitation)
    assert reg.status is S.CONFIRMED
    other = factories.InvitationFactory(event=event, skip_moderation=False)
    assert register_attendee(event, data(2, email=other.person.email), invitation=other).status is S.PENDING


# --- self-service -------------------------------------------------------------------------------------


def test_switching_to_online_frees_the_seat_for_the_waiting_list(small_event, sent) -> None:
    first, _second = fill(small_event, 2)
    waiting = register_attendee(small_event, data(1))
    switch_mode(first, Mode.ONLINE)
    assert (first.mode, first.status) == (Mode.ONLINE, S.CONFIRMED) and first.join_token
    assert first.ics_sequence == 1 and sent.kinds_for(first)[-1] == "changed"
    assert waiting.status is S.OFFERED and sent.kinds_for(waiting)[-1] == "offered"


def test_switching_to_in_person_needs_a_seat(small_event, sent) -> None:
    online = register_attendee(small_event, data(1, mode=Mode.ONLINE))
    switch_mode(online, Mode.IN_PERSON)
    assert (online.mode, online.status) == (Mode.IN_PERSON, S.CONFIRMED)
    fill(small_event, 1)
    other = register_attendee(small_event, data(2, mode=Mode.ONLINE))
    with pytest.raises(InPersonFull):
        switch_mode(other, Mode.IN_PERSON, when_full="refuse")
    assert (other.mode, other.status) == (Mode.ONLINE, S.CONFIRMED)
    switch_mode(other, Mode.IN_PERSON, when_full="online")
    assert other.online_meanwhile and other.waitlisted_at is not None
    switch_mode(other, Mode.IN_PERSON)  # gives up the online place, waits for a seat
    assert (other.mode, other.status) == (Mode.IN_PERSON, S.WAITLISTED)


def test_switching_respects_the_format_and_online_limit(app, sent) -> None:
    event = factories.EventFactory(format=EventFormat.IN_PERSON)
    reg = register_attendee(event, data(1))
    with pytest.raises(ModeNotOffered):
        switch_mode(reg, Mode.ONLINE)
    hybrid = factories.EventFactory(online_capacity=0)
    reg = register_attendee(hybrid, data(2))
    with pytest.raises(OnlineFull):
        switch_mode(reg, Mode.ONLINE)
    assert reg.mode is Mode.IN_PERSON


def test_cancelled_registrations_cannot_be_changed(small_event, sent) -> None:
    reg = register_attendee(small_event, data(1))
    cancel_registration(reg)
    assert reg.status is S.CANCELLED and reg.cancelled_at is not None
    assert sent.kinds_for(reg)[-1] == "cancelled"
    for change in (
        lambda: switch_mode(reg, Mode.ONLINE),
        lambda: cancel_registration(reg),
        lambda: update_details(reg, data(1)),
    ):
        with pytest.raises(InvalidTransition) as error:
            change()
        assert error.value.message == "This registration has been cancelled."


def test_details_can_change_but_not_the_email(small_event, sent) -> None:
    reg = register_attendee(small_event, data(1))
    update_details(reg, data(1, name="Attendee One", title="Ambassador", dietary_needs="Vegan", language="ko"))
    assert reg.person.name == "Attendee One" and reg.person.title == "Ambassador"
    assert reg.dietary_needs == "Vegan" and reg.language == "ko"
    assert reg.ics_sequence == 1 and sent.kinds_for(reg)[-1] == "changed"
    with pytest.raises(DomainError) as error:
        update_details(reg, data(1, email="new@example.org"))
    assert error.value.code == "email_change_not_allowed" and error.value.field == "email"


def test_every_seat_decision_locks_the_event_once_per_transaction(small_event, sent, monkeypatch) -> None:
    calls: list[int] = []
    real = services.lock_event
    monkeypatch.setattr(services, "lock_event", lambda event_id: (calls.append(event_id), real(event_id)))
    reg = register_attendee(small_event, data(1))
    cancel_registration(reg)
    assert calls == [small_event.id]  # same transaction: locked once
    db.session.commit()  # ends the transaction (the test's outer one is still rolled back afterwards)
    register_attendee(small_event, data(2))
    assert calls == [small_event.id, small_event.id]


def test_the_lock_is_taken_before_counting(small_event, sent, monkeypatch) -> None:
    order: list[str] = []
    monkeypatch.setattr(services, "lock_event", lambda event_id: order.append("lock"))
    real_tally = services._tally
    monkeypatch.setattr(
        services, "_tally", lambda event, **kwargs: (order.append("count"), real_tally(event, **kwargs))[1]
    )
    register_attendee(small_event, data(1))
    assert order == ["lock", "count"]
