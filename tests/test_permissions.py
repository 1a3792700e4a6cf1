"""Every route declares who may use it, and nobody else gets in; no input makes a POST route fail or write.

ROUTES is the table of every endpoint. A new route that is not added here fails
``test_every_route_is_in_the_table``, so none is forgotten. Later features add their routes here.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from eventsys.accounts.models import Role
from eventsys.agenda import services as agenda_services
from eventsys.agenda.models import FeedScope, SpeakerRole
from eventsys.certificates import services as certificate_services
from eventsys.checkin import badges
from eventsys.checkin import services as checkin_services
from eventsys.common.access import ACCESS_ATTR
from eventsys.extensions import db
from eventsys.mou.services import attach_document
from tests import factories
from tests.conftest import Browser
from tests.mou.files import tiny_pdf

PUBLIC = "public"
LOGIN = "login"
SITE_ADMIN = "site_admin"
ORGANIZER = "event:organizer"
DOOR = "event:door"
PERSONAL = "personal_link"
#: Door staff by session (CSRF header) or a door device by its bearer token; refusals are JSON 401/403.
DOOR_DEVICE = "event:door_or_device"


@dataclass(frozen=True)
class Route:
    access: str
    url: str
    methods: tuple[str, ...] = ("GET",)
    #: For POST-only routes: the fields the real form sends (routes with a GET page are parsed from it).
    fields: tuple[str, ...] = field(default_factory=tuple)


ROUTES: dict[str, Route] = {
    "static": Route(PUBLIC, "/static/css/main.css"),
    "site.healthz": Route(PUBLIC, "/healthz"),
    "site.set_language": Route(PUBLIC, "/language", ("POST",), ("language", "next")),
    "events.index": Route(PUBLIC, "/"),
    "events.show": Route(PUBLIC, "/events/{slug}"),
    "accounts.login": Route(PUBLIC, "/login", ("GET", "POST")),
    "accounts.logout": Route(LOGIN, "/logout", ("POST",)),
    "events.manage_list": Route(LOGIN, "/manage/"),
    # Any logged-in user reaches the view; it then admits site admins and organizers only (checked below).
    "events.create": Route(LOGIN, "/manage/events/new", ("GET", "POST")),
    "events.manage": Route(ORGANIZER, "/manage/events/{slug}/"),
    "events.edit": Route(ORGANIZER, "/manage/events/{slug}/edit", ("GET", "POST")),
    "events.publish": Route(ORGANIZER, "/manage/events/{slug}/publish", ("POST",)),
    "events.close": Route(ORGANIZER, "/manage/events/{slug}/close", ("POST",)),
    "accounts.team": Route(ORGANIZER, "/manage/events/{slug}/team", ("GET", "POST")),
    "accounts.team_remove": Route(ORGANIZER, "/manage/events/{slug}/team/{user_id}/remove", ("POST",)),
    "accounts.users": Route(SITE_ADMIN, "/admin/users"),
    "accounts.user_new": Route(SITE_ADMIN, "/admin/users/new", ("GET", "POST")),
    "invitations.index": Route(ORGANIZER, "/manage/events/{slug}/invitations"),
    "invitations.bulk_status": Route(ORGANIZER, "/manage/events/{slug}/invitations/bulk-status"),
    "invitations.new": Route(ORGANIZER, "/manage/events/{slug}/invitations/new", ("GET", "POST")),
    "invitations.import_upload": Route(ORGANIZER, "/manage/events/{slug}/invitations/import", ("GET", "POST")),
    "invitations.import_confirm": Route(
        ORGANIZER, "/manage/events/{slug}/invitations/import/confirm", ("POST",), ("payload",)
    ),
    "invitations.send": Route(ORGANIZER, "/manage/events/{slug}/invitations/{invitation_id}/send", ("POST",)),
    "invitations.send_all": Route(ORGANIZER, "/manage/events/{slug}/invitations/send-all", ("POST",)),
    "invitations.remind": Route(ORGANIZER, "/manage/events/{slug}/invitations/remind", ("POST",)),
    "invitations.respond": Route(PERSONAL, "/i/{invitation_token}"),
    "invitations.decline": Route(PERSONAL, "/i/{invitation_token}/decline", ("POST",)),
    # Registration: the public form, attendees' personal links, the organizer's list.
    "registration.privacy": Route(PUBLIC, "/privacy"),
    "registration.register": Route(PUBLIC, "/events/{slug}/register", ("GET", "POST")),
    "registration.register_invited": Route(PERSONAL, "/i/{invitation_token}/register", ("GET", "POST")),
    "registration.registered": Route(PERSONAL, "/r/{manage_token}/registered"),
    "registration.manage": Route(PERSONAL, "/r/{manage_token}"),
    "registration.switch_mode": Route(PERSONAL, "/r/{manage_token}/mode", ("POST",), ("mode", "when_full")),
    "registration.details": Route(PERSONAL, "/r/{manage_token}/details", ("GET", "POST")),
    "registration.cancel": Route(PERSONAL, "/r/{manage_token}/cancel", ("GET", "POST")),
    "registration.answer_offer": Route(PERSONAL, "/r/{manage_token}/offer", ("POST",), ("decision",)),
    "registration.calendar": Route(PERSONAL, "/r/{manage_token}/calendar.ics"),
    # Redirects (302) to the event's platform.
    "registration.join": Route(PERSONAL, "/join/{join_token}"),
    "registration.organizer_list": Route(ORGANIZER, "/manage/events/{slug}/registrations"),
    "registration.organizer_export": Route(ORGANIZER, "/manage/events/{slug}/registrations.csv"),
    "registration.organizer_action": Route(
        ORGANIZER, "/manage/events/{slug}/registrations/{registration_id}/action", ("POST",), ("action", "next")
    ),
    "registration.organizer_settings": Route(
        ORGANIZER, "/manage/events/{slug}/registrations/settings", ("GET", "POST")
    ),
    # Check-in: organizers' lists, devices and dashboard; the scanner page; a device's setup link; the JSON API.
    "checkin.dashboard": Route(ORGANIZER, "/manage/events/{slug}/checkin/"),
    "checkin.dashboard_data": Route(ORGANIZER, "/manage/events/{slug}/checkin/dashboard.json"),
    "checkin.lists": Route(ORGANIZER, "/manage/events/{slug}/checkin/lists", ("GET", "POST")),
    "checkin.list_exits": Route(
        ORGANIZER, "/manage/events/{slug}/checkin/lists/{list_id}/exits", ("POST",), ("allows_exit",)
    ),
    "checkin.devices": Route(ORGANIZER, "/manage/events/{slug}/checkin/devices", ("GET", "POST")),
    "checkin.device_revoke": Route(ORGANIZER, "/manage/events/{slug}/checkin/devices/{device_id}/revoke", ("POST",)),
    "checkin.device_rename": Route(
        ORGANIZER, "/manage/events/{slug}/checkin/devices/{device_id}/rename", ("POST",), ("name",)
    ),
    "checkin.scanner": Route(DOOR, "/manage/events/{slug}/checkin/scan"),
    "checkin.door": Route(PERSONAL, "/door/{device_token}"),
    "checkin_api.create_checkin": Route(
        DOOR_DEVICE, "/api/v1/events/{slug}/checkins", ("POST",), ("code", "list", "door", "nonce", "scanned_at")
    ),
    "checkin_api.annul_checkin": Route(DOOR_DEVICE, "/api/v1/events/{slug}/checkins/{checkin_id}/annul", ("POST",)),
    "checkin_api.search": Route(DOOR_DEVICE, "/api/v1/events/{slug}/attendees?q=person"),
    "checkin_api.lists": Route(DOOR_DEVICE, "/api/v1/events/{slug}/checkin-lists"),
    "checkin_api.print_badge": Route(
        DOOR_DEVICE, "/api/v1/events/{slug}/attendees/{registration_id}/badge", ("POST",), ("reissue",)
    ),
    "checkin_api.badge_pdf": Route(DOOR_DEVICE, "/api/v1/events/{slug}/badges/{badge_id}.pdf"),
    # The offline scanner: its service worker, the door pack and uploads of queued scans.
    "checkin.service_worker": Route(PUBLIC, "/scanner-sw.js"),
    "checkin_api.door_pack": Route(DOOR_DEVICE, "/api/v1/events/{slug}/door-pack?list={list_id}"),
    "checkin_api.checkin_batch": Route(DOOR_DEVICE, "/api/v1/events/{slug}/checkins/batch", ("POST",), ("scans",)),
    # Badges: an attendee's own badge from the manage link; organizers' bulk PDFs and re-issue.
    "badges.my_badge": Route(PERSONAL, "/r/{badge_manage_token}/badge.pdf"),
    "badges.index": Route(ORGANIZER, "/manage/events/{slug}/badges"),
    "badges.start_batch": Route(
        ORGANIZER, "/manage/events/{slug}/badges/batches", ("POST",), ("layout", "category", "only_unprinted")
    ),
    "badges.batch_status": Route(ORGANIZER, "/manage/events/{slug}/badges/batches/{badge_batch_id}/status"),
    "badges.batch_download": Route(ORGANIZER, "/manage/events/{slug}/badges/batches/{badge_batch_id}.pdf"),
    "badges.reissue": Route(
        ORGANIZER, "/manage/events/{slug}/badges/reissue/{badge_registration_id}", ("POST",), ("confirm",)
    ),
    # MOU records: organizers' pages per event; the public list, record pages, downloads and "verify a copy"
    # are public routes whose views admit the public only to public signed MOUs (tests/mou/test_views.py).
    "mou.organizer_list": Route(ORGANIZER, "/manage/events/{slug}/mous"),
    "mou.create": Route(ORGANIZER, "/manage/events/{slug}/mous/new", ("GET", "POST")),
    "mou.manage": Route(ORGANIZER, "/manage/events/{slug}/mous/{mou_id}"),
    "mou.edit": Route(ORGANIZER, "/manage/events/{slug}/mous/{mou_id}/edit", ("GET", "POST")),
    "mou.change_status": Route(ORGANIZER, "/manage/events/{slug}/mous/{mou_id}/status", ("POST",), ("status-status",)),
    "mou.add_party": Route(
        ORGANIZER, "/manage/events/{slug}/mous/{mou_id}/parties", ("POST",), ("party-organization_id", "party-reason")
    ),
    "mou.remove_party": Route(
        ORGANIZER, "/manage/events/{slug}/mous/{mou_id}/parties/{party_id}/remove", ("POST",), ("remove-reason",)
    ),
    "mou.add_signatory": Route(
        ORGANIZER,
        "/manage/events/{slug}/mous/{mou_id}/signatories",
        ("POST",),
        (
            "signatory-party_id",
            "signatory-person_id",
            "signatory-new_person_name",
            "signatory-title_at_signing",
            "signatory-role",
            "signatory-reason",
        ),
    ),
    "mou.remove_signatory": Route(
        ORGANIZER,
        "/manage/events/{slug}/mous/{mou_id}/signatories/{signatory_id}/remove",
        ("POST",),
        ("remove-reason",),
    ),
    "mou.upload_document": Route(
        ORGANIZER, "/manage/events/{slug}/mous/{mou_id}/documents", ("POST",), ("document-file",)
    ),
    "mou.export_csv": Route(ORGANIZER, "/manage/events/{slug}/mous.csv"),
    "mou.public_index": Route(PUBLIC, "/mous"),
    "mou.public_event_list": Route(PUBLIC, "/events/{slug}/mous"),
    "mou.show": Route(PUBLIC, "/events/{slug}/mous/{mou_id}"),
    "mou.document": Route(PUBLIC, "/events/{slug}/mous/{mou_id}/documents/{document_id}"),
    "mou.verify": Route(PUBLIC, "/events/{slug}/mous/{mou_id}/verify", ("GET", "POST")),
    # Agenda: the organizer's builder and forms, the public agenda and feeds, the attendee's personal agenda.
    "agenda.builder": Route(ORGANIZER, "/manage/events/{slug}/agenda"),
    "agenda.session_new": Route(ORGANIZER, "/manage/events/{slug}/agenda/sessions/new", ("GET", "POST")),
    "agenda.session_edit": Route(ORGANIZER, "/manage/events/{slug}/agenda/sessions/{session_id}/edit", ("GET", "POST")),
    "agenda.session_delete": Route(
        ORGANIZER, "/manage/events/{slug}/agenda/sessions/{session_id}/delete", ("GET", "POST")
    ),
    "agenda.rooms": Route(ORGANIZER, "/manage/events/{slug}/agenda/rooms", ("GET", "POST")),
    "agenda.room_edit": Route(ORGANIZER, "/manage/events/{slug}/agenda/rooms/{room_id}/edit", ("GET", "POST")),
    "agenda.room_delete": Route(
        ORGANIZER, "/manage/events/{slug}/agenda/rooms/{room_id}/delete", ("POST",), ("confirm",)
    ),
    "agenda.programme_preview": Route(ORGANIZER, "/manage/events/{slug}/agenda/programme.pdf?size=a5"),
    "agenda.speakers": Route(ORGANIZER, "/manage/events/{slug}/agenda/speakers"),
    "agenda.speaker_new": Route(ORGANIZER, "/manage/events/{slug}/agenda/speakers/new", ("GET", "POST")),
    "agenda.speaker_edit": Route(ORGANIZER, "/manage/events/{slug}/agenda/speakers/{person_id}/edit", ("GET", "POST")),
    "agenda.publish": Route(ORGANIZER, "/manage/events/{slug}/agenda/publish", ("GET", "POST")),
    "agenda.api_schedule": Route(
        ORGANIZER,
        "/manage/events/{slug}/agenda/api/sessions/{session_id}",
        ("POST",),
        ("starts_at", "ends_at", "room_id"),
    ),
    "agenda.show": Route(PUBLIC, "/events/{slug}/agenda"),
    "agenda.session": Route(PUBLIC, "/events/{slug}/agenda/sessions/{session_id}"),
    "agenda.ics": Route(PUBLIC, "/events/{slug}/agenda.ics"),
    "agenda.programme_pdf": Route(PUBLIC, "/events/{slug}/programme.pdf?size=a5"),
    "agenda.session_ics": Route(PUBLIC, "/events/{slug}/agenda/sessions/{session_id}.ics"),
    "agenda.speaker": Route(PUBLIC, "/events/{slug}/speakers/{person_id}"),
    "agenda.speaker_photo": Route(PUBLIC, "/speakers/photos/{photo}"),
    "agenda.personal": Route(PERSONAL, "/r/{manage_token}/agenda"),
    "agenda.star": Route(PERSONAL, "/r/{manage_token}/agenda/star", ("POST",), ("session_id", "starred")),
    "agenda.feed": Route(PERSONAL, "/r/{manage_token}/agenda/feed", ("POST",), ("scope",)),
    "agenda.feed_renew": Route(PERSONAL, "/r/{manage_token}/agenda/feed/renew", ("POST",), ("confirm",)),
    "agenda.personal_feed": Route(PERSONAL, "/agenda/feed/{feed_token}.ics"),
    # Redirects (302) to the session's stream.
    "agenda.session_join": Route(PERSONAL, "/join/{join_token}/sessions/{session_id}"),
    # Certificates: organizers' templates, issuing, bulk runs; the public verification page; the recipient's list.
    "certificates.index": Route(ORGANIZER, "/manage/events/{slug}/certificates"),
    "certificates.template_new": Route(ORGANIZER, "/manage/events/{slug}/certificates/templates/new", ("GET", "POST")),
    "certificates.template_edit": Route(
        ORGANIZER, "/manage/events/{slug}/certificates/templates/{certificate_template_id}", ("GET", "POST")
    ),
    "certificates.template_preview": Route(
        ORGANIZER, "/manage/events/{slug}/certificates/templates/{certificate_template_id}/preview.pdf"
    ),
    "certificates.preview_texts": Route(
        ORGANIZER,
        "/manage/events/{slug}/certificates/templates/{certificate_template_id}/preview",
        ("POST",),
        ("title", "intro", "body"),
    ),
    "certificates.issue": Route(
        ORGANIZER, "/manage/events/{slug}/certificates/templates/{certificate_template_id}/issue", ("GET", "POST")
    ),
    "certificates.start_run": Route(
        ORGANIZER, "/manage/events/{slug}/certificates/templates/{certificate_template_id}/runs", ("GET", "POST")
    ),
    "certificates.run_status": Route(ORGANIZER, "/manage/events/{slug}/certificates/runs/{certificate_run_id}/status"),
    "certificates.run_pdf": Route(ORGANIZER, "/manage/events/{slug}/certificates/runs/{certificate_run_id}.pdf"),
    "certificates.run_zip": Route(ORGANIZER, "/manage/events/{slug}/certificates/runs/{certificate_run_id}.zip"),
    "certificates.certificate_pdf": Route(ORGANIZER, "/manage/events/{slug}/certificates/{certificate_id}.pdf"),
    "certificates.revoke": Route(
        ORGANIZER, "/manage/events/{slug}/certificates/{certificate_id}/revoke", ("POST",), ("reason",)
    ),
    "certificates.verify": Route(PUBLIC, "/verify/{certificate_code}"),
    "certificates.mine": Route(PERSONAL, "/r/{manage_token}/certificates"),
    "certificates.my_pdf": Route(PERSONAL, "/r/{manage_token}/certificates/{certificate_code}.pdf"),
}

# The door API answers 401 in JSON instead of redirecting to the login page: checked in its own tests below.
RESTRICTED = {name: route for name, route in ROUTES.items() if route.access not in (PUBLIC, PERSONAL, DOOR_DEVICE)}


def test_every_route_is_in_the_table(app) -> None:
    assert set(app.view_functions) == set(ROUTES), "add new routes to ROUTES in tests/test_permissions.py"


def test_every_view_declares_who_may_use_it(app) -> None:
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        declared = getattr(view, ACCESS_ATTR, None)
        assert declared == ROUTES[endpoint].access, f"{endpoint} declares {declared!r}"


def test_every_method_is_in_the_table(app) -> None:
    for rule in app.url_map.iter_rules():
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        assert methods == set(ROUTES[rule.endpoint].methods), rule.endpoint


@pytest.fixture
def world(app, tmp_path):
    """An event with an organizer and door staff, another event with its own organizer, and a site admin."""
    event = factories.EventFactory()
    organizer = factories.organizer_of(event)
    door = factories.door_staff_of(event)
    other_event = factories.EventFactory()
    other_organizer = factories.organizer_of(other_event)
    admin = factories.UserFactory(is_site_admin=True)
    # Declined: the hostile-input pass may post to every invitation route without a bulk send starting.
    invitation = factories.InvitationFactory(event=event, state=factories.InvitationState.DECLINED)
    # Online and confirmed, so its manage and join links both work.
    registration = factories.RegistrationFactory(event=event, mode=factories.Mode.ONLINE)
    # Signed, two parties with one signatory each: the hostile-input pass cannot remove a party or the last
    # signatory (the rules refuse), and a signed record changes only with a reason.
    mou = factories.signed_mou(event)
    app.config["MOU_DOCUMENTS_DIR"] = str(tmp_path / "mou-documents")
    mou_document = attach_document(None, mou, "signed.pdf", io.BytesIO(tiny_pdf()))
    # A published agenda with one hybrid session and its speaker; the registration's private feed.
    session = factories.SessionFactory(event=event, room=factories.RoomFactory(event=event))
    agenda_services.set_speakers(session, [(factories.PersonFactory(), SpeakerRole.SPEAKER)])
    agenda_services.publish_agenda(event, organizer, agenda_services.draft_digest(event))
    feed = agenda_services.set_feed(registration, FeedScope.ALL)
    # Check-in: a badge checked in on a list by a door device; another event's device.
    checkin_list = factories.CheckInListFactory(event=event)
    device = factories.DoorDeviceFactory(event=event, name="North door")
    badge = badges.issue_badge(factories.RegistrationFactory(event=event))
    checkin = checkin_services.redeem_badge(event, badge.code, checkin_list, device=device).checkin
    assert checkin is not None
    # Badges: a finished bulk PDF in a folder of this test's own.
    app.config["BADGE_PDF_DIR"] = str(tmp_path / "badge-pdfs")
    badge_batch = factories.BadgeBatchFactory(event=event, file_name="done.pdf")
    badges.batch_folder().joinpath("done.pdf").write_bytes(tiny_pdf())
    # Certificates: a template, one issued to the registration's person, a finished bulk run with its files.
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "certificate-pdfs")
    app.config["CERTIFICATE_IMAGE_DIR"] = str(tmp_path / "certificate-images")
    certificate_template = factories.CertificateTemplateFactory(event=event)
    certificate = certificate_services.issue_certificate(None, certificate_template, registration.person, "For help")
    certificate_run = factories.CertificateRunFactory(template=certificate_template)
    certificate_services.output_folder().joinpath("run.pdf").write_bytes(tiny_pdf())
    certificate_services.output_folder().joinpath("run.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    return {
        "certificate_template": certificate_template,
        "certificate": certificate,
        "certificate_run": certificate_run,
        "checkin_list": checkin_list,
        "device": device,
        "other_device": factories.DoorDeviceFactory(event=other_event),
        "badge": badge,
        "checkin": checkin,
        "badge_batch": badge_batch,
        "session": session,
        "feed": feed,
        "registration": registration,
        "event": event,
        "organizer": organizer,
        "door": door,
        "other_organizer": other_organizer,
        "admin": admin,
        "no_role": factories.UserFactory(),
        "invitation": invitation,
        "mou": mou,
        "mou_document": mou_document,
    }


def _url(route: Route, world: dict) -> str:
    return route.url.format(
        slug=world["event"].slug,
        user_id=world["organizer"].id,
        invitation_id=world["invitation"].id,
        invitation_token=world["invitation"].token,
        manage_token=world["registration"].manage_token,
        join_token=world["registration"].join_token,
        registration_id=world["registration"].id,
        session_id=world["session"].id,
        room_id=world["session"].room_id,
        person_id=world["session"].speakers[0].person_id,
        feed_token=world["feed"].token,
        photo="0" * 32 + ".jpg",
        mou_id=world["mou"].id,
        party_id=world["mou"].parties[0].id,
        signatory_id=world["mou"].parties[0].signatories[0].id,
        document_id=world["mou_document"].id,
        list_id=world["checkin_list"].id,
        device_id=world["device"].id,
        device_token=world["device"].token,
        checkin_id=world["checkin"].id,
        badge_id=world["badge"].id,
        badge_manage_token=world["badge"].registration.manage_token,
        badge_registration_id=world["badge"].registration_id,
        badge_batch_id=world["badge_batch"].id,
        certificate_template_id=world["certificate_template"].id,
        certificate_run_id=world["certificate_run"].id,
        certificate_id=world["certificate"].id,
        certificate_code=world["certificate"].code,
    )


def _request(browser: Browser, method: str, url: str):
    if method == "GET":
        return browser.client.get(url)
    return browser.post(url)


@pytest.mark.parametrize("endpoint", sorted(RESTRICTED))
def test_anonymous_users_are_sent_to_login(endpoint: str, browser: Browser, world) -> None:
    route = ROUTES[endpoint]
    for method in route.methods:
        response = _request(browser, method, _url(route, world))
        assert response.status_code == 302, (endpoint, method)
        assert response.headers["Location"].startswith("/login"), (endpoint, method)


def _refused(status: int) -> bool:
    return status in (403, 404)


@pytest.mark.parametrize("endpoint", sorted(n for n, r in ROUTES.items() if r.access == ORGANIZER))
@pytest.mark.parametrize("who", ["door", "other_organizer", "no_role"])
def test_organizer_pages_refuse_everyone_else(endpoint: str, who: str, browser: Browser, world, db) -> None:
    route = ROUTES[endpoint]
    assert browser.login(world[who].email).status_code == 302
    before = _snapshot()
    for method in route.methods:
        response = _request(browser, method, _url(route, world))
        assert _refused(response.status_code), (endpoint, who, method, response.status_code)
    assert _snapshot() == before


@pytest.mark.parametrize("endpoint", sorted(n for n, r in ROUTES.items() if r.access == SITE_ADMIN))
@pytest.mark.parametrize("who", ["organizer", "door", "no_role"])
def test_site_admin_pages_refuse_everyone_else(endpoint: str, who: str, browser: Browser, world) -> None:
    route = ROUTES[endpoint]
    assert browser.login(world[who].email).status_code == 302
    for method in route.methods:
        assert _request(browser, method, _url(route, world)).status_code == 403, (endpoint, who, method)


@pytest.mark.parametrize("who", ["door", "no_role"])
def test_only_organizers_and_admins_may_create_events(who: str, browser: Browser, world) -> None:
    assert browser.login(world[who].email).status_code == 302
    assert browser.client.get("/manage/events/new").status_code == 403
    assert browser.post("/manage/events/new").status_code == 403


@pytest.mark.parametrize("endpoint", sorted(n for n, r in ROUTES.items() if r.access == ORGANIZER))
@pytest.mark.parametrize("who", ["organizer", "admin"])
def test_organizers_and_site_admins_get_in(endpoint: str, who: str, browser: Browser, world) -> None:
    """The positive control: the same requests succeed for those who may use the page."""
    route = ROUTES[endpoint]
    assert browser.login(world[who].email).status_code == 302
    for method in route.methods:
        if method == "GET":
            assert browser.client.get(_url(route, world)).status_code == 200, (endpoint, who)


@pytest.mark.parametrize("endpoint", sorted(n for n, r in ROUTES.items() if r.access == PERSONAL))
def test_personal_links_need_no_account_and_a_wrong_token_is_404(endpoint: str, browser: Browser, world) -> None:
    route = ROUTES[endpoint]
    good = _url(route, world)
    tokens = [
        world["invitation"].token,
        world["registration"].manage_token,
        world["registration"].join_token,
        world["feed"].token,
        world["device"].token,
        world["badge"].registration.manage_token,
    ]
    token = next(t for t in tokens if t in good)
    wrong = good.replace(token, "x" * len(token))
    for method in route.methods:
        if method == "GET":
            expected = 302 if endpoint in ("registration.join", "agenda.session_join") else 200
            assert browser.client.get(good).status_code == expected, endpoint
        assert _request(browser, method, wrong).status_code == 404, (endpoint, method)
        assert _request(browser, method, good.replace(token, "short")).status_code == 404


def test_unknown_event_is_404_for_an_organizer(browser: Browser, world) -> None:
    assert browser.login(world["organizer"].email).status_code == 302
    assert browser.client.get("/manage/events/no-such-event/").status_code == 404


@pytest.mark.parametrize("endpoint", sorted(n for n, r in ROUTES.items() if r.access == DOOR))
def test_door_pages_admit_the_events_door_staff_and_organizers_only(endpoint: str, browser: Browser, world) -> None:
    url = _url(ROUTES[endpoint], world)
    allowed = [("door", 200), ("organizer", 200), ("admin", 200), ("other_organizer", 403), ("no_role", 403)]
    for who, expected in allowed:
        assert browser.login(world[who].email).status_code == 302
        assert browser.client.get(url).status_code == expected, (endpoint, who)
        browser.logout()


@pytest.mark.parametrize("endpoint", sorted(n for n, r in ROUTES.items() if r.access == DOOR_DEVICE))
def test_the_door_api_admits_door_staff_and_the_events_own_devices_only(endpoint: str, browser: Browser, world) -> None:
    route = ROUTES[endpoint]
    url = _url(route, world)
    before = _snapshot()

    def call(method: str, **headers: str):
        if method == "GET":
            return browser.client.get(url, headers=headers)
        return browser.client.post(url, json={}, headers={"X-CSRFToken": browser.csrf_token(), **headers})

    for method in route.methods:
        assert call(method).status_code == 401, (endpoint, method, "anonymous")
        for token in (world["other_device"].token, "x" * 43):
            response = call(method, Authorization=f"Bearer {token}")
            assert response.status_code == 401 and response.is_json, (endpoint, method, token)
    for who in ("other_organizer", "no_role"):
        assert browser.login(world[who].email).status_code == 302
        for method in route.methods:
            response = call(method)
            assert response.status_code == 403 and response.get_json()["error"] == "forbidden", (endpoint, who)
        browser.logout()
    assert _snapshot() == before
    if "GET" in route.methods:
        assert browser.client.get(url, headers={"Authorization": f"Bearer {world['device'].token}"}).status_code == 200
        assert browser.login(world["door"].email).status_code == 302
        assert browser.client.get(url).status_code == 200
        checkin_services.revoke_device(world["device"])
        assert browser.client.get(url, headers={"Authorization": f"Bearer {world['device'].token}"}).status_code == 401


# --- The second pass: hostile input to every POST route, as someone who may use it -------------------

#: Who may use each POST route, for the hostile-input pass.
POSTER = {
    PUBLIC: None,
    PERSONAL: None,
    LOGIN: "organizer",
    ORGANIZER: "organizer",
    SITE_ADMIN: "admin",
    DOOR: "door",
    DOOR_DEVICE: "door",
}

NAME_RE = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')


def _snapshot() -> dict[str, int]:
    """Row counts of every table: the test's proof that nothing was written."""
    db.session.expire_all()
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def _form_fields(browser: Browser, route: Route, url: str) -> list[str]:
    if "GET" in route.methods:
        page = browser.client.get(url).get_data(as_text=True)
        main = page.split('<main id="main"', 1)[-1]
        names = set(NAME_RE.findall(main)) - {"csrf_token"}
        return sorted(names)
    return list(route.fields)


POST_ROUTES = sorted(n for n, r in ROUTES.items() if "POST" in r.methods)
HOSTILE = {
    "empty": lambda names: dict.fromkeys(names, ""),
    "very_long": lambda names: dict.fromkeys(names, "x" * 10_000),
    "impossible_dates": lambda names: dict.fromkeys(names, "2023-02-30T25:61"),
    "control_characters": lambda names: dict.fromkeys(names, "name\x00\x1b[31m"),
}


@pytest.mark.parametrize("endpoint", POST_ROUTES)
def test_hostile_input_never_fails_or_writes(endpoint: str, browser: Browser, world) -> None:
    route = ROUTES[endpoint]
    who = POSTER[route.access]
    if who:
        assert browser.login(world[who].email).status_code == 302
    url = _url(route, world)
    names = _form_fields(browser, route, url)
    status_before = world["event"].status
    before = _snapshot()
    token = browser.csrf_token()

    for label, make in HOSTILE.items():
        response = browser.client.post(url, data={"csrf_token": token, **make(names)})
        assert response.status_code < 500, (endpoint, label, response.status_code)
        assert b"Traceback" not in response.data
        assert _snapshot() == before, (endpoint, label)

    raw = "&".join([f"csrf_token={token}", *(f"{name}=%FF%FE%C3%28" for name in names)]).encode() + b"\xff\xfe"
    response = browser.client.post(url, data=raw, content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500, (endpoint, "non-utf-8", response.status_code)
    assert _snapshot() == before, (endpoint, "non-utf-8")

    response = browser.client.post(url, data=HOSTILE["empty"](names))  # no CSRF token
    assert response.status_code == 400, (endpoint, "missing csrf")
    assert _snapshot() == before, (endpoint, "missing csrf")
    db.session.expire_all()
    if endpoint not in ("events.publish", "events.close"):
        assert world["event"].status is status_before


def test_a_post_without_csrf_token_changes_nothing(browser: Browser, world) -> None:
    """The publish button without its token: 400, and the event stays as it was."""
    draft = factories.EventFactory(status=factories.EventStatus.DRAFT)
    factories.EventRoleFactory(event=draft, user=world["organizer"], role=Role.ORGANIZER)
    assert browser.login(world["organizer"].email).status_code == 302
    response = browser.client.post(f"/manage/events/{draft.slug}/publish")
    assert response.status_code == 400
    db.session.expire_all()
    assert draft.status is factories.EventStatus.DRAFT
