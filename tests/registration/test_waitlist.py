"""The waiting list: FIFO promotion, categories, offers with a deadline, expiry, online meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventsys.events.models import Category
from eventsys.registration.models import Mode, Registration, RegistrationStatus
from eventsys.registration.services import (
    InvalidTransition,
    cancel_registration,
    confirm_offer,
    decline_offer,
    expire_offers,
    promote_from_waitlist,
    record_join,
    register_attendee,
    seat_counts,
    set_capacity,
    set_category_quota,
    switch_mode,
    wait_online_meanwhile,
    waiting_list,
)
from tests import factories
from tests.registration.conftest import Sent, data

S = RegistrationStatus
T0 = datetime.now(UTC).replace(microsecond=0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def full(app):
    """An event with 2 seats taken and 3 people waiting, in this order."""
    event = factories.EventFactory(capacity=2, offer_hours=24)
    seated = [register_attendee(event, data(f"s{i}"), now=at(i)) for i in range(2)]
    waiting = [register_attendee(event, data(f"w{i}"), now=at(10 + i)) for i in range(3)]
    assert [r.status for r in waiting] == [S.WAITLISTED] * 3
    return event, seated, waiting


def test_a_cancellation_offers_the_seat_to_the_first_in_line(full, sent: Sent) -> None:
    event, seated, waiting = full
    cancel_registration(seated[0], now=at(60))
    assert [r.status for r in waiting] == [S.OFFERED, S.WAITLISTED, S.WAITLISTED]
    assert waiting[0].offer_expires_at == at(60) + timedelta(hours=24)
    assert sent.kinds_for(waiting[0])[-1] == "offered"
    counts = seat_counts(event)
    assert (counts.in_person_confirmed, counts.in_person_offered, counts.waitlisted) == (1, 1, 2)


def test_confirming_the_offer_before_the_deadline(full, sent: Sent) -> None:
    _event, seated, waiting = full
    cancel_registration(seated[0], now=at(60))
    confirm_offer(waiting[0], now=at(60) + timedelta(hours=23))
    assert waiting[0].status is S.CONFIRMED and waiting[0].waitlisted_at is None
    assert sent.kinds_for(waiting[0])[-1] == "confirmed"
    with pytest.raises(InvalidTransition):
        confirm_offer(waiting[1])


def test_an_offer_cannot_be_confirmed_after_its_deadline(full, sent: Sent) -> None:
    _event, seated, waiting = full
    cancel_registration(seated[0], now=at(60))
    with pytest.raises(InvalidTransition) as error:
        confirm_offer(waiting[0], now=at(60) + timedelta(hours=24))
    assert error.value.code == "offer_expired"
    assert "expired" in error.value.message


def test_expired_offers_go_to_the_next_person(full, sent: Sent) -> None:
    _event, seated, waiting = full
    cancel_registration(seated[0], now=at(60))
    assert expire_offers(now=at(60) + timedelta(hours=23)) == 0
    assert expire_offers(now=at(60) + timedelta(hours=24, seconds=1)) == 1
    assert waiting[0].status is S.CANCELLED and sent.kinds_for(waiting[0])[-1] == "offer_expired"
    assert waiting[1].status is S.OFFERED and waiting[2].status is S.WAITLISTED


def test_declining_an_offer_passes_it_on(full, sent: Sent) -> None:
    _event, seated, waiting = full
    cancel_registration(seated[1], now=at(60))
    decline_offer(waiting[0], now=at(61))
    assert waiting[0].status is S.CANCELLED
    assert waiting[1].status is S.OFFERED
    with pytest.raises(InvalidTransition):
        decline_offer(waiting[2])


def test_promotion_skips_people_whose_category_is_full(app, sent: Sent) -> None:
    event = factories.EventFactory(capacity=3)
    set_category_quota(event, Category.EMBASSY, 1)

    def embassy(n: int, minute: int) -> Registration:
        invitation = factories.InvitationFactory(event=event, category=Category.EMBASSY)
        return register_attendee(
            event, data(f"e{n}", email=invitation.person.email), invitation=invitation, now=at(minute)
        )

    seated_embassy = embassy(0, 0)
    public = [register_attendee(event, data(f"p{i}"), now=at(1 + i)) for i in range(2)]
    waiting_embassy = embassy(1, 10)  # first in line, but the embassy quota is full
    waiting_public = register_attendee(event, data("p9"), now=at(11))
    assert waiting_embassy.status is S.WAITLISTED and waiting_public.status is S.WAITLISTED

    cancel_registration(public[0], now=at(20))
    assert waiting_embassy.status is S.WAITLISTED
    assert waiting_public.status is S.OFFERED

    cancel_registration(seated_embassy, now=at(21))
    assert waiting_embassy.status is S.OFFERED
    assert seat_counts(event).by_category[Category.EMBASSY] == (1, 1)


def test_raising_capacity_promotes_in_order(full, sent: Sent) -> None:
    event, _seated, waiting = full
    offered = set_capacity(event, 4, now=at(60))
    assert offered == waiting[:2]
    assert [r.status for r in waiting] == [S.OFFERED, S.OFFERED, S.WAITLISTED]
    assert promote_from_waitlist(event, now=at(61)) == []


def test_newcomers_never_jump_the_queue(full, sent: Sent) -> None:
    event, _seated, waiting = full
    event.capacity = 3  # changed without promoting (e.g. the event form)
    newcomer = register_attendee(event, data("late"), now=at(70))
    assert waiting[0].status is S.OFFERED
    assert newcomer.status is S.WAITLISTED
    assert waiting_list(event) == [*waiting[1:], newcomer]


def test_online_meanwhile_is_promoted_back_to_in_person(full, sent: Sent) -> None:
    event, seated, waiting = full
    meanwhile = register_attendee(event, data("m"), when_full="online", now=at(5))  # earlier than waiting[0]
    meanwhile.waitlisted_at = at(5)
    assert record_join(meanwhile, now=at(6)) == event.online_url
    cancel_registration(seated[0], now=at(60))
    assert (meanwhile.status, meanwhile.mode) == (S.OFFERED, Mode.IN_PERSON)
    assert record_join(meanwhile, now=at(61)) == event.online_url  # keeps the online place meanwhile
    assert waiting[0].status is S.WAITLISTED
    confirm_offer(meanwhile, now=at(62))
    assert (meanwhile.status, meanwhile.mode, meanwhile.online_meanwhile) == (S.CONFIRMED, Mode.IN_PERSON, False)


def test_an_expired_offer_returns_online_meanwhile_people_to_online(full, sent: Sent) -> None:
    event, seated, waiting = full
    meanwhile = register_attendee(event, data("m"), when_full="online", now=at(5))
    meanwhile.waitlisted_at = at(5)
    cancel_registration(seated[0], now=at(60))
    assert meanwhile.status is S.OFFERED
    assert expire_offers(now=at(60) + timedelta(hours=25)) == 1
    assert (meanwhile.status, meanwhile.mode, meanwhile.online_meanwhile) == (S.CONFIRMED, Mode.ONLINE, False)
    assert record_join(meanwhile) == event.online_url
    assert waiting[0].status is S.OFFERED


def test_waiting_people_can_take_an_online_place_and_keep_their_turn(full, sent: Sent) -> None:
    _event, seated, waiting = full
    wait_online_meanwhile(waiting[0], now=at(30))
    assert (waiting[0].mode, waiting[0].status, waiting[0].online_meanwhile) == (Mode.ONLINE, S.CONFIRMED, True)
    assert waiting[0].waitlisted_at == at(10)
    cancel_registration(seated[0], now=at(60))
    assert waiting[0].status is S.OFFERED


def test_switching_to_online_for_good_leaves_the_waiting_list(full, sent: Sent) -> None:
    event, seated, waiting = full
    switch_mode(waiting[0], Mode.ONLINE, now=at(30))
    assert (waiting[0].status, waiting[0].online_meanwhile, waiting[0].waitlisted_at) == (S.CONFIRMED, False, None)
    cancel_registration(seated[0], now=at(60))
    assert waiting[0].status is S.CONFIRMED and waiting[0].mode is Mode.ONLINE
    assert waiting[1].status is S.OFFERED
    assert seat_counts(event).waitlisted == 1


def test_an_offered_seat_given_up_for_online_goes_to_the_next(full, sent: Sent) -> None:
    _event, seated, waiting = full
    cancel_registration(seated[0], now=at(60))
    switch_mode(waiting[0], Mode.ONLINE, now=at(61))
    assert waiting[0].mode is Mode.ONLINE and waiting[1].status is S.OFFERED
