"""Badge codes: signed, compact, free of personal data; issued only to confirmed in-person registrations,
revoked when a registration is cancelled, switched to online or its badge is re-issued."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from eventsys.checkin import badges
from eventsys.checkin.models import Badge, EventKey
from eventsys.common.errors import NotAllowed
from eventsys.common.qr import qr_version
from eventsys.events.models import EventFormat
from eventsys.extensions import db
from eventsys.registration import services as registration_services
from eventsys.registration.models import Mode, RegistrationStatus
from tests import factories


@pytest.fixture
def registration(app):
    event = factories.EventFactory(format=EventFormat.HYBRID)
    person = factories.PersonFactory(name="Kim Min-ji", email="minji@example.org")
    return factories.RegistrationFactory(event=event, person=person)


def test_code_is_base32_upper_case_of_a_signed_16_byte_payload(registration):
    badge = badges.issue_badge(registration)

    assert len(badge.code) == 128
    assert badge.code == badge.code.upper() and "=" not in badge.code
    raw = base64.b32decode(badge.code)
    payload, signature = raw[:16], raw[16:]
    assert payload[0] == 1
    assert int.from_bytes(payload[1:5], "big") == registration.event_id
    assert int.from_bytes(payload[5:9], "big") == badge.id
    # The event's public key alone checks it (as an offline scanner does), and it is a version 6 QR at M.
    Ed25519PublicKey.from_public_bytes(badges.event_public_key(registration.event)).verify(signature, payload)
    assert qr_version(badge.code) <= 7


def test_code_carries_no_personal_data(registration):
    badge = badges.issue_badge(registration)
    raw = base64.b32decode(badge.code)
    for secret in ("Kim", "Min-ji", "minji", "example.org", registration.manage_token):
        assert secret.encode() not in raw
        assert secret.upper() not in badge.code


def test_verify_code_names_the_event_and_the_badge(registration):
    badge = badges.issue_badge(registration)
    verified = badges.verify_code(badge.code)
    assert (verified.event_id, verified.badge_id, verified.badge_serial) == (registration.event_id, badge.id, badge.id)
    # Scanners may send lower case or surrounding whitespace (a keyboard wedge's newline).
    assert badges.verify_code(" " + badge.code.lower() + "\n").badge_id == badge.id
    assert badges.find_badge(badge.code) == badge


@pytest.mark.parametrize("position", [0, 3, 20, 27, 60, 127])
def test_a_changed_character_is_invalid(registration, position):
    code = badges.issue_badge(registration).code
    replacement = "A" if code[position] != "A" else "B"
    forged = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(badges.InvalidCode):
        badges.verify_code(forged)
    assert badges.find_badge(forged) is None


def test_a_changed_byte_is_invalid(registration):
    code = badges.issue_badge(registration).code
    raw = bytearray(base64.b32decode(code))
    for index in (0, 8, 15, 16, 79):
        changed = bytearray(raw)
        changed[index] ^= 0x01
        with pytest.raises(badges.InvalidCode):
            badges.verify_code(base64.b32encode(bytes(changed)).decode())


def test_a_code_signed_with_another_events_key_is_invalid(registration):
    badge = badges.issue_badge(registration)
    other_event = factories.EventFactory()
    other_key = badges.event_key(other_event)
    # Claims this event and this badge, but is signed with the other event's key.
    forged = badges.sign_code(other_key.private_key, registration.event_id, badge.id)
    with pytest.raises(badges.InvalidCode):
        badges.verify_code(forged)
    # And with a key that belongs to no event at all.
    stranger = Ed25519PrivateKey.generate().private_bytes_raw()
    with pytest.raises(badges.InvalidCode):
        badges.verify_code(badges.sign_code(stranger, registration.event_id, badge.id))


@pytest.mark.parametrize("garbage", ["", "hello", "A" * 128, "1" * 128, "A" * 127, "Ä" * 128, "A" * 10_000])
def test_garbage_is_invalid_not_an_error(registration, garbage):
    badges.issue_badge(registration)
    with pytest.raises(badges.InvalidCode):
        badges.verify_code(garbage)


def test_one_key_per_event(registration):
    first = badges.event_public_key(registration.event)
    badges.issue_badge(registration)
    assert badges.event_public_key(registration.event) == first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EventKey)) == 1


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        (Mode.ONLINE, RegistrationStatus.CONFIRMED),
        (Mode.IN_PERSON, RegistrationStatus.PENDING),
        (Mode.IN_PERSON, RegistrationStatus.WAITLISTED),
        (Mode.IN_PERSON, RegistrationStatus.OFFERED),
        (Mode.IN_PERSON, RegistrationStatus.CANCELLED),
        (Mode.IN_PERSON, RegistrationStatus.REJECTED),
    ],
)
def test_only_confirmed_in_person_registrations_get_badges(app, mode, status):
    registration = factories.RegistrationFactory(mode=mode, status=status)
    with pytest.raises(badges.NotEligible):
        badges.issue_badge(registration)
    with pytest.raises(badges.NotEligible):
        badges.ensure_badge(registration)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Badge)) == 0


def test_ensure_badge_returns_the_live_badge(registration):
    first = badges.ensure_badge(registration)
    assert badges.ensure_badge(registration) == first
    assert badges.issue_badge(registration) == first  # at most one live badge


def test_reissue_revokes_the_old_code(registration):
    organizer = factories.organizer_of(registration.event)
    old = badges.issue_badge(registration)
    old_code = old.code

    new = badges.reissue_badge(old, actor=organizer, reason="lost")
    db.session.flush()

    assert new.id != old.id and new.code != old_code
    assert old.revoked_at is not None and old.revoke_reason == "lost"
    assert new.revoked_at is None
    assert badges.live_badge(registration) == new
    # The old code still verifies (we signed it) and is found, revoked: the door says "revoked", not "invalid".
    assert badges.find_badge(old_code) == old and not old.live


def test_door_staff_may_reissue_but_not_strangers(registration):
    badge = badges.issue_badge(registration)
    door = factories.door_staff_of(registration.event)
    stranger = factories.UserFactory()
    with pytest.raises(NotAllowed):
        badges.reissue_badge(badge, actor=stranger)
    assert badge.revoked_at is None
    assert badges.reissue_badge(registration, actor=door).id != badge.id


def test_cancelling_revokes_the_badge(registration):
    badge = badges.issue_badge(registration)
    registration_services.cancel_registration(registration)
    db.session.flush()
    assert badge.revoked_at is not None and badge.revoke_reason == "cancelled"
    assert badges.live_badge(registration) is None
    with pytest.raises(badges.NotEligible):
        badges.ensure_badge(registration)


def test_switching_to_online_revokes_the_badge(registration):
    badge = badges.issue_badge(registration)
    registration_services.switch_mode(registration, Mode.ONLINE)
    db.session.flush()
    assert registration.mode is Mode.ONLINE
    assert badge.revoked_at is not None and badge.revoke_reason == "online"


def test_a_rejected_registration_loses_its_badge_whatever_changed_it(registration):
    badge = badges.issue_badge(registration)
    registration.status = RegistrationStatus.REJECTED
    db.session.flush()
    assert badge.revoked_at is not None and badge.revoke_reason == "rejected"


def test_unrelated_changes_keep_the_badge(registration):
    badge = badges.issue_badge(registration)
    registration.dietary_needs = "vegetarian"
    registration.language = "ko"
    db.session.flush()
    assert badge.revoked_at is None


def test_registering_again_after_cancelling_gets_a_new_badge(registration):
    old = badges.issue_badge(registration)
    registration_services.cancel_registration(registration)
    db.session.flush()
    registration.status = RegistrationStatus.CONFIRMED  # as a fresh registration of the same row would
    db.session.flush()
    new = badges.ensure_badge(registration)
    assert new.id != old.id and old.revoked_at is not None


def test_the_doors_verifier_and_the_badge_module_agree(registration):
    """The door checks its own event's codes with libsodium (services._verify), the badge module with the
    cryptography package: the same answer for a genuine code, every changed byte, another key, garbage."""
    from eventsys.checkin import services

    event = registration.event
    badge = badges.issue_badge(registration)
    other_key = badges.event_key(factories.EventFactory())
    candidates = [badge.code, badge.code.lower(), badges.sign_code(other_key.private_key, event.id, badge.id)]
    raw = base64.b32decode(badge.code)
    for index in range(len(raw)):
        changed = bytearray(raw)
        changed[index] ^= 0x01
        candidates.append(base64.b32encode(bytes(changed)).decode())
    candidates += ["", "A" * 128, "hello"]

    def answer(verify, code):
        try:
            return verify(code)
        except badges.InvalidCode:
            return "invalid"

    answers = [(answer(badges.verify_code, c), answer(lambda c: services._verify(event, c), c)) for c in candidates]
    assert all(mine == theirs for mine, theirs in answers), answers
    assert answers[0][1] != "invalid" and answers[2][1] == "invalid"  # genuine passes; another key fails
    assert sum(door == "invalid" for _, door in answers) == len(candidates) - 2


def test_codes_decode_as_base32_does(app):
    """parse_code decodes base32 with int(): the same bytes as base64.b32decode, for any payload and signature."""
    import os

    for _ in range(200):
        raw = bytes([badges.CODE_VERSION]) + os.urandom(badges.PAYLOAD_BYTES - 1 + badges.SIGNATURE_BYTES)
        code = base64.b32encode(raw).decode()
        claims, payload, signature = badges.parse_code(code.lower())
        assert payload + signature == raw == base64.b32decode(code)
        assert claims.code == code
