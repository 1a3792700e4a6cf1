"""Bulk issuing: who gets a certificate (speakers, check-ins on a list or on N days in the event's zone, online
attendance, a CSV list), who is skipped, and the merged PDF and ZIP a run leaves for organizers."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eventsys.agenda import services as agenda_services
from eventsys.agenda.models import SpeakerRole
from eventsys.certificates import services
from eventsys.certificates.models import Certificate, CertificateKind, CertificateRun, RunSource, RunStatus
from eventsys.checkin import badges
from eventsys.checkin import services as checkin_services
from eventsys.common.errors import DomainError
from eventsys.extensions import db
from tests import factories
from tests.certificates.helpers import page_sizes, page_texts

SEOUL_OFFSET = timedelta(hours=9)


@pytest.fixture(autouse=True)
def folders(app, tmp_path):
    app.config["CERTIFICATE_IMAGE_DIR"] = str(tmp_path / "images")
    app.config["CERTIFICATE_PDF_DIR"] = str(tmp_path / "pdfs")
    app.config["CERTIFICATE_PROCESSES"] = 1


@pytest.fixture
def conference():
    """Three days in Seoul: 1-3 March 2022, 09:00-18:00 local time."""
    starts = datetime(2022, 3, 1, 9, 0, tzinfo=UTC) - SEOUL_OFFSET
    return factories.EventFactory(starts_at=starts, ends_at=starts + timedelta(days=2, hours=9), timezone="Asia/Seoul")


def attendance_template(event):
    return services.create_template(
        None,
        event,
        services.TemplateData(
            kind=CertificateKind.ATTENDANCE,
            title="Certificate of Attendance",
            intro="This is to certify that",
            body="attended {event} on {date}.",
        ),
    )


def attendee(event, name: str):
    registration = factories.RegistrationFactory(event=event, person=factories.PersonFactory(name=name))
    return badges.issue_badge(registration)


def scan(event, badge, checkin_list, local: str):
    """Check ``badge`` in on ``checkin_list`` at ``local`` time in Seoul (e.g. "2022-03-01T23:30")."""
    at = datetime.fromisoformat(local).replace(tzinfo=UTC) - SEOUL_OFFSET
    result = checkin_services.redeem_badge(event, badge.code, checkin_list, scanned_at=at, now=at)
    assert result.result == "ok", result.result
    return result.checkin


def run_files(run: CertificateRun) -> tuple[bytes, zipfile.ZipFile]:
    merged = services.run_path(run, "pdf").read_bytes()
    return merged, zipfile.ZipFile(io.BytesIO(services.run_path(run, "zip").read_bytes()))


def test_attendance_on_a_list_skips_those_who_never_checked_in(conference):
    template = attendance_template(conference)
    door = factories.CheckInListFactory(event=conference, name="Main door")
    other = factories.CheckInListFactory(event=conference, name="Workshop")
    came = [attendee(conference, name) for name in ("Ana Pérez", "박정숙", "محمد بن راشد")]
    never = attendee(conference, "Never Came")
    elsewhere = attendee(conference, "Only The Workshop")
    undone = attendee(conference, "Scanned By Mistake")
    for badge in came:
        scan(conference, badge, door, "2022-03-01T09:10")
    scan(conference, elsewhere, other, "2022-03-01T10:00")
    mistake = scan(conference, undone, door, "2022-03-01T09:15")
    checkin_services.annul_checkin(conference, mistake.id)
    # One left and came back: the closed entry still counts.
    checkin_services.set_allows_exit(door, True)
    checkin_services.record_exit(conference, came[0].code, door, scanned_at=datetime(2022, 3, 1, 3, 0, tzinfo=UTC))

    run = services.start_run(None, template, RunSource.CHECKED_IN_LIST, list_id=door.id)
    db.session.commit()  # the run is rendered on the (eager) task queue after commit

    db.session.refresh(run)
    assert run.status is RunStatus.DONE and run.issued == 3 and run.skipped == 0 and run.done == run.total == 3
    holders = set(db.session.scalars(sa.select(Certificate.recipient_name).where(Certificate.run_id == run.id)))
    assert holders == {"Ana Pérez", "박정숙", "محمد بن راشد"}
    merged, archive = run_files(run)
    assert page_sizes(merged) == [(297, 210)] * 3
    assert "attended" in page_texts(merged)[0] and conference.name in page_texts(merged)[0]
    names = archive.namelist()
    assert len(names) == 3 and all(name.endswith(".pdf") for name in names)
    assert any(name.startswith("Ana-Perez-") for name in names)
    for name in names:
        assert len(page_texts(archive.read(name))) == 1

    # A second run finds nobody new, and says so without writing anything.
    with pytest.raises(DomainError) as refused:
        services.start_run(None, template, RunSource.CHECKED_IN_LIST, list_id=door.id)
    assert refused.value.code == "nobody"
    # A late check-in: the next run issues just that one, skipping the three who hold one.
    scan(conference, never, door, "2022-03-01T16:00")
    late = services.start_run(None, template, RunSource.CHECKED_IN_LIST, list_id=door.id)
    assert (late.issued, late.skipped) == (1, 3)


def test_a_list_of_another_event_is_refused(conference):
    template = attendance_template(conference)
    foreign = factories.CheckInListFactory(event=factories.EventFactory())
    with pytest.raises(DomainError) as refused:
        services.start_run(None, template, RunSource.CHECKED_IN_LIST, list_id=foreign.id)
    assert refused.value.code == "unknown_list"


def test_at_least_n_days_counts_distinct_days_in_the_events_zone(conference):
    template = attendance_template(conference)
    morning = factories.CheckInListFactory(event=conference, name="Morning")
    evening = factories.CheckInListFactory(event=conference, name="Evening")
    # 23:30 on 1 March and 00:30 on 2 March in Seoul: the same UTC day (14:30 and 15:30 UTC), two days in Seoul.
    night_owl = attendee(conference, "Night Owl")
    scan(conference, night_owl, evening, "2022-03-01T23:30")
    scan(conference, night_owl, morning, "2022-03-02T00:30")
    # Twice on 1 March: one day.
    twice = attendee(conference, "Twice One Day")
    scan(conference, twice, morning, "2022-03-01T09:00")
    scan(conference, twice, evening, "2022-03-01T18:00")
    # Three days, one of them annulled: two days.
    annulled = attendee(conference, "One Undone")
    scan(conference, annulled, morning, "2022-03-01T09:00")
    undone = scan(conference, annulled, evening, "2022-03-03T09:00")
    checkin_services.annul_checkin(conference, undone.id)
    # UTC would say two different days (00:30 and 23:30 on 1 March in Seoul are 28 Feb and 1 March in UTC).
    same_local_day = attendee(conference, "Same Local Day")
    scan(conference, same_local_day, morning, "2022-03-01T00:30")
    scan(conference, same_local_day, evening, "2022-03-01T23:30")

    counts = services.days_checked_in(conference)
    by_name = {
        badge.registration.person.name: counts.get(badge.registration.person_id)
        for badge in (night_owl, twice, annulled, same_local_day)
    }
    assert by_name == {"Night Owl": 2, "Twice One Day": 1, "One Undone": 1, "Same Local Day": 1}

    run = services.start_run(None, template, RunSource.CHECKED_IN_DAYS, min_days=2)
    issued = set(db.session.scalars(sa.select(Certificate.recipient_name).where(Certificate.run_id == run.id)))
    assert issued == {"Night Owl"}


def test_speakers_of_the_event_get_speaker_certificates(event):
    template = services.create_template(
        None,
        event,
        services.TemplateData(kind=CertificateKind.SPEAKER, title="Speaker", body="for speaking at {event}"),
    )
    session = factories.SessionFactory(event=event)
    speaker, moderator = factories.PersonFactory(name="Speaker One"), factories.PersonFactory(name="Moderator Two")
    agenda_services.set_speakers(session, [(speaker, SpeakerRole.SPEAKER), (moderator, SpeakerRole.MODERATOR)])
    other_event_session = factories.SessionFactory()
    agenda_services.set_speakers(other_event_session, [(factories.PersonFactory(), SpeakerRole.SPEAKER)])

    run = services.start_run(None, template, RunSource.SPEAKERS)
    issued = set(db.session.scalars(sa.select(Certificate.person_id).where(Certificate.run_id == run.id)))
    assert issued == {speaker.id, moderator.id}


def test_speakers_of_a_session_deleted_from_the_draft_get_no_speaker_certificate(event):
    template = services.create_template(
        None, event, services.TemplateData(kind=CertificateKind.SPEAKER, title="Speaker", body="for {event}")
    )
    kept, dropped = factories.SessionFactory(event=event), factories.SessionFactory(event=event)
    speaker, gone = factories.PersonFactory(name="Still Speaking"), factories.PersonFactory(name="Cancelled Talk")
    agenda_services.set_speakers(kept, [(speaker, SpeakerRole.SPEAKER)])
    agenda_services.set_speakers(dropped, [(gone, SpeakerRole.SPEAKER)])
    agenda_services.publish_agenda(event, None, agenda_services.draft_digest(event))
    # Published, so deleting it only takes it out of the draft until the next publish.
    assert agenda_services.delete_session(dropped) is False

    run = services.start_run(None, template, RunSource.SPEAKERS)
    issued = set(db.session.scalars(sa.select(Certificate.person_id).where(Certificate.run_id == run.id)))
    assert issued == {speaker.id}


def test_a_csv_list_in_korean_excel_encoding_with_citations(event, mail_outbox):
    template = services.create_template(
        None, event, services.TemplateData(kind=CertificateKind.COMPLETION, title="Completion", body="{citation}")
    )
    known = factories.PersonFactory(name="Kim Min-ji", email="minji@example.org")
    raw = (
        "이름;이메일;소속;사유\r\n"
        "김민지;MINJI@example.org;Seoul;15 weeks of the Smart City Champions program\r\n"
        "박정숙;jungsook@example.org;WeGO;Mentor of the program\r\n"
    ).encode("cp949")
    rows = services.parse_recipient_csv(raw)
    assert [row.email for row in rows] == ["minji@example.org", "jungsook@example.org"]

    run = services.start_run(None, template, RunSource.CSV, csv_rows=rows, send_email=True)
    db.session.commit()
    certificates = {
        c.recipient_name: c for c in db.session.scalars(sa.select(Certificate).where(Certificate.run_id == run.id))
    }
    # The known person keeps their name; the new one is created from the row.
    assert set(certificates) == {"Kim Min-ji", "박정숙"}
    assert certificates["Kim Min-ji"].person_id == known.id
    assert certificates["박정숙"].citation == "Mentor of the program"
    assert sorted(message["To"].addresses[0].addr_spec for message in mail_outbox) == [
        "jungsook@example.org",
        "minji@example.org",
    ]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty"),
        (b"name,email\n", "no_rows"),
        (b"who,where\nA,B\n", "missing_columns"),
        (b"name,email\nAna,not-an-email\n", "bad_rows"),
        (b"PK\x03\x04 a workbook", "not_csv"),
    ],
)
def test_bad_csv_lists_are_refused_with_a_reason(raw, code):
    with pytest.raises(DomainError) as refused:
        services.parse_recipient_csv(raw)
    assert refused.value.code == code


def test_organizers_run_a_bulk_issue_and_download_both_files(organizer_client, event, app):
    app.config["CERTIFICATE_PROCESSES"] = 2  # the worker pool, as in production
    template = attendance_template(event)
    checkin_list = factories.CheckInListFactory(event=event, name="Door")
    names = [f"Attendee {n:02}" for n in range(30)]
    for name in names:
        badge = attendee(event, name)
        checkin_services.redeem_badge(event, badge.code, checkin_list)
    db.session.commit()
    slug = event.slug

    form = organizer_client.client.get(f"/manage/events/{slug}/certificates/templates/{template.id}/runs")
    assert "Door" in form.get_data(as_text=True)
    response = organizer_client.post(
        f"/manage/events/{slug}/certificates/templates/{template.id}/runs",
        {"source": "checked_in_list", "list_id": str(checkin_list.id)},
    )
    assert response.status_code == 302
    run = db.session.scalar(sa.select(CertificateRun).where(CertificateRun.event_id == event.id))
    status = organizer_client.client.get(f"/manage/events/{slug}/certificates/runs/{run.id}/status").get_json()
    assert status == {
        "id": run.id,
        "status": "done",
        "total": 30,
        "done": 30,
        "issued": 30,
        "skipped": 0,
        "finished": True,
    }
    merged = organizer_client.client.get(f"/manage/events/{slug}/certificates/runs/{run.id}.pdf")
    assert merged.mimetype == "application/pdf"
    texts = page_texts(merged.data)
    assert [next(name for name in names if name in text) for text in texts] == names  # in order, one a page
    archive = organizer_client.client.get(f"/manage/events/{slug}/certificates/runs/{run.id}.zip")
    assert archive.mimetype == "application/zip" and len(zipfile.ZipFile(io.BytesIO(archive.data)).namelist()) == 30
    page = organizer_client.client.get(f"/manage/events/{slug}/certificates").get_data(as_text=True)
    assert "30 issued, 0 already held one" in page
