"""Badges: a 1,000-badge bulk PDF (A6, one per page, the full design) and a single badge download.

    python bench/badges.py [--badges 1000] [--rounds 3] [--processes 2]

Seeds a temporary SQLite database (or ``DATABASE_URL``) with an event in Seoul and ``--badges`` confirmed
in-person registrations as at a Seoul event: about 40% Korean names in Hangul, the rest Latin with accents,
some Arabic and Cyrillic, and a few very long names; organizations, titles and categories vary. Their badges
are issued while seeding (attendees download them before the event).

Each round runs the organizers' bulk job (``eventsys.checkin.badges.render_batch``, the same code the task
queue runs) in a fresh process, as a freshly started queue worker would: it loads the badges, draws the QR
codes, renders chunks of 50 in ``--processes`` worker processes and merges them with pypdf into one file.

- ``seconds``: the job's wall time inside that process (from the batch being picked up to the file written
  and ``printed_at`` recorded), including loading fonts and stylesheets and starting the render processes;
- ``process_seconds``: the same plus the interpreter start and the app's imports;
- ``peak_rss_mb``: the largest resident set of any process of the jobs (a job process or a render worker):
  Linux ``ru_maxrss``, of the job processes as this process reaps them (RUSAGE_CHILDREN) and of the render
  workers as they report it with every chunk (they are children of multiprocessing's fork server, which
  this process never reaps), see ``eventsys.common.pdf.peak_rss_mb``;
- ``single_ms``: one badge downloaded from the attendee's manage link (``GET /r/<token>/badge.pdf``) through
  the app, in a warm process: the median of 20;
- ``reportlab_seconds``: the same badges drawn with ReportLab's canvas and QR widget in one process, as pretix
  and Indico do (``bench/badges_reportlab.py``, which says how it compares: same design and people, Noto
  TrueType fonts, Hangul in a non-embedded CID font), timed the same way as ``seconds``; and
  ``speedup_vs_reportlab`` = ``reportlab_seconds / seconds`` (target: at least 3.5). ``--no-reportlab``
  skips it; it is also skipped (null) when the deadline leaves no time for it.

Prints progress to stderr and one JSON line to stdout (medians over the rounds). Bounded by ``--deadline``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[badges] {message}", file=sys.stderr, flush=True)


# --- Names as at a Seoul event --------------------------------------------------------------------------------

KOREAN_FAMILY = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진나"
KOREAN_GIVEN = [
    "민준",
    "서연",
    "도윤",
    "지우",
    "하준",
    "서윤",
    "시우",
    "지민",
    "은서",
    "현우",
    "수빈",
    "지훈",
    "예은",
    "성민",
    "혜진",
    "영호",
    "미경",
    "정훈",
    "소영",
    "태희",
    "경수",
    "유진",
    "동현",
    "보람",
]
LATIN_FIRST = [
    "José",
    "María",
    "François",
    "Zoë",
    "Jürgen",
    "Łukasz",
    "Søren",
    "Ana Sofía",
    "Björn",
    "Inês",
    "Ngozi",
    "Thảo",
    "Çağlar",
    "Amélie",
    "Nuño",
    "Dvořák",
    "Andrés",
    "Émilie",
    "Håkon",
    "Zuzana",
]
LATIN_LAST = [
    "García Márquez",
    "Lefèvre",
    "Müller",
    "Wąsowski",
    "Kierkegaard",
    "Pérez",
    "Ångström",
    "Gonçalves",
    "Nguyễn",
    "Öztürk",
    "Dupré",
    "Štěpánek",
    "Fernández",
    "Høeg",
    "Okonkwo",
    "Sánchez",
    "Rossi",
    "Kovač",
]
ARABIC = ["محمد بن راشد", "فاطمة الزهراء", "عبد الله العلي", "خالد المنصوري", "نورة القاسمي", "أحمد الهاشمي"]
CYRILLIC = ["Александр Пушкин", "Наталья Иванова", "Дмитрий Соколов", "Ольга Смирнова", "Айгерим Нурланова"]
LONG = [
    "Maria Fernanda de los Ángeles Rodríguez-Villanueva y Castellanos",
    "Sir Bartholomew Maximilian Featherstonehaugh-Cholmondeley III",
    "Nguyễn Thị Minh Khai Phạm Hoàng Bảo Ngọc Trần",
    "Wolfeschlegelsteinhausenbergerdorff Hubert Blaine",
]
ORGANIZATIONS = [
    "Seoul Metropolitan Government",
    "Ciudad de México",
    "Ville de Paris",
    "City of Ulaanbaatar",
    "Dubai Municipality",
    "Moscow City Government",
    "Embassy of Spain in Korea",
    "Korea Herald",
    "World Smart Sustainable Cities Organization",
    "서울디지털재단",
    "Gobierno de la Ciudad de Buenos Aires",
]
TITLES = [
    "Mayor",
    "Director, Smart City Policy",
    "Deputy Secretary-General",
    "Press officer",
    "정책관",
    "Chief Information Officer",
    "Ambassador",
    "Youth delegate",
    None,
]


def seoul_name(rng: random.Random, n: int) -> str:
    if n % 100 in (7, 57):
        return LONG[n % len(LONG)]
    r = rng.random()
    if r < 0.40:
        return rng.choice(KOREAN_FAMILY) + rng.choice(KOREAN_GIVEN)
    if r < 0.88:
        return f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
    if r < 0.95:
        return rng.choice(ARABIC)
    return rng.choice(CYRILLIC)


# --- The app --------------------------------------------------------------------------------------------------


def make_app(database_url: str, workdir: Path):  # type: ignore[no-untyped-def]
    from eventsys import create_app

    return create_app(
        "development",
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY="bench-secret",  # noqa: S106 (benchmark only)
        TASKS_IMMEDIATE=True,
        BADGE_PDF_DIR=str(workdir / "pdfs"),
        WTF_CSRF_ENABLED=False,
    )


def seed(database_url: str, workdir: Path, count: int) -> tuple[int, str]:
    """An event with ``count`` confirmed in-person registrations and their badges; returns (event id, a token)."""
    from eventsys.checkin import badges
    from eventsys.common.tokens import new_token
    from eventsys.events.models import Category, Event, EventFormat, EventStatus, Organization, OrganizationKind, Person
    from eventsys.extensions import db
    from eventsys.registration.models import Mode, Registration, RegistrationStatus

    rng = random.Random(2022)
    app = make_app(database_url, workdir)
    with app.app_context():
        db.create_all()
        now = datetime.now(UTC)
        event = Event(
            name="WeGO 2022 Executive Committee Kick-off",
            slug=f"wego-kickoff-{rng.randrange(10**6)}",
            format=EventFormat.HYBRID,
            timezone="Asia/Seoul",
            starts_at=now + timedelta(days=30),
            ends_at=now + timedelta(days=31),
            status=EventStatus.PUBLISHED,
        )
        organizations = [Organization(name=name, kind=next(iter(OrganizationKind))) for name in ORGANIZATIONS]
        db.session.add_all([event, *organizations])
        db.session.flush()
        categories = list(Category)
        registrations = []
        for n in range(count):
            person = Person(
                name=seoul_name(rng, n),
                email=f"person{n}@example.org",
                title=rng.choice(TITLES),
                organization=rng.choice(organizations),
            )
            registration = Registration(
                event=event,
                person=person,
                mode=Mode.IN_PERSON,
                status=RegistrationStatus.CONFIRMED,
                category=rng.choice(categories) if rng.random() < 0.9 else None,
                consent_at=now,
                confirmed_at=now,
                language="en",
                manage_token=new_token(),
            )
            registrations.append(registration)
        db.session.add_all(registrations)
        db.session.flush()
        for registration in registrations:
            badges.issue_badge(registration)
        db.session.commit()
        return event.id, registrations[0].manage_token


# --- One round of the bulk job, in its own process ------------------------------------------------------------


def run_job(database_url: str, workdir: Path, event_id: int, processes: int) -> None:
    """The job process: what a queue worker does for one bulk badge PDF. Prints its timings as JSON."""
    started = time.perf_counter()
    from eventsys.checkin import badges
    from eventsys.checkin.models import BadgeBatch, BadgeBatchStatus
    from eventsys.extensions import db

    app = make_app(database_url, workdir)
    with app.app_context():
        batch = BadgeBatch(event_id=event_id, layout="a6")
        db.session.add(batch)
        db.session.commit()
        job_started = time.perf_counter()
        badges.render_batch(batch, processes=processes)
        db.session.commit()
        job_seconds = time.perf_counter() - job_started
        assert batch.status is BadgeBatchStatus.DONE
        path = badges.batch_path(batch)
        assert path is not None
        from pypdf import PdfReader

        pages = len(PdfReader(path).pages)
        size = path.stat().st_size
    from eventsys.common import pdf

    report = {
        "seconds": job_seconds,
        "imports_seconds": job_started - started,
        "pages": pages,
        "bytes": size,
        "peak_rss_mb": pdf.peak_rss_mb(),  # this process and the render workers it used
    }
    print(json.dumps(report), flush=True)


def one_round(database_url: str, workdir: Path, event_id: int, processes: int, timeout: float) -> dict[str, float]:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--job", database_url, str(workdir), str(event_id), str(processes)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        out, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise
    # communicate() has reaped the child: the kernel now counts it, and the render workers it waited for, in
    # this process's RUSAGE_CHILDREN, whose ru_maxrss is the largest of them (see peak_rss_of_children_mb).
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"the job process failed ({child.returncode})")
    report = json.loads(out.decode().strip().splitlines()[-1])
    report["process_seconds"] = wall
    return report


def reportlab_round(database_url: str, workdir: Path, event_id: int, timeout: float) -> dict[str, float] | None:
    """The same badges drawn with ReportLab in a fresh process (bench/badges_reportlab.py); None if skipped."""
    try:
        import reportlab  # noqa: F401
    except ImportError:
        log("ReportLab is not installed (requirements-dev.txt): skipping the comparison")
        return None
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "badges_reportlab.py"), database_url, str(workdir), str(event_id)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log(f"ReportLab did not finish within the {timeout:.0f} s the deadline left: no comparison")
        return None
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise RuntimeError("the ReportLab run failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_of_children_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# --- A single download through the app ------------------------------------------------------------------------


def single_download_ms(database_url: str, workdir: Path, token: str) -> float:
    app = make_app(database_url, workdir)
    client = app.test_client()
    url = f"/r/{token}/badge.pdf"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "application/pdf", first.status_code
    times = []
    for _ in range(20):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--badges", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=110.0)
    parser.add_argument("--no-reportlab", action="store_true", help="skip the ReportLab comparison")
    args = parser.parse_args()
    deadline = time.monotonic() + args.deadline

    with tempfile.TemporaryDirectory(prefix="bench-badges-") as tmp:
        workdir = Path(tmp)
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
        log(f"seeding {args.badges} confirmed in-person registrations with badges ({database_url.split(':')[0]})")
        started = time.perf_counter()
        event_id, token = seed(database_url, workdir, args.badges)
        log(f"seeded in {time.perf_counter() - started:.1f} s")

        rounds = []
        # Time kept for the ReportLab run (about 20-35 s here) after the rounds and the single download.
        reserve = 0 if args.no_reportlab else 45
        for number in range(args.rounds):
            remaining = deadline - time.monotonic()
            if remaining < 15 or (rounds and remaining < 15 + reserve):
                log("stopping early: deadline")
                break
            report = one_round(database_url, workdir, event_id, args.processes, timeout=remaining)
            rounds.append(report)
            log(
                f"round {number + 1}: job {report['seconds']:.2f} s, with start-up {report['process_seconds']:.2f} s, "
                f"{report['pages']} pages, {report['bytes'] / 1e6:.1f} MB"
            )
        # The largest process of any round: a job process (reaped by this one) or a render worker (reported).
        peak = max(peak_rss_of_children_mb(), *(r["peak_rss_mb"] for r in rounds))
        single = single_download_ms(database_url, workdir, token)
        log(f"single badge download: {single:.1f} ms (median of 20)")
        reportlab = None
        if not args.no_reportlab:
            remaining = deadline - time.monotonic()
            log(f"the same badges with ReportLab (up to {remaining:.0f} s)")
            reportlab = reportlab_round(database_url, workdir, event_id, remaining) if remaining > 10 else None
            if reportlab is not None:
                log(f"ReportLab: {reportlab['seconds']:.2f} s for {reportlab['pages']} pages")

    result = {
        "bench": "badges",
        "badges": args.badges,
        "seconds": round(statistics.median(r["seconds"] for r in rounds), 2),
        "process_seconds": round(statistics.median(r["process_seconds"] for r in rounds), 2),
        "peak_rss_mb": round(peak, 1),
        "single_ms": round(single, 1),
        "processes": args.processes,
        "rounds": len(rounds),
        "pages": rounds[-1]["pages"],
        "pdf_mb": round(rounds[-1]["bytes"] / 1e6, 2),
        "cpus": os.cpu_count(),
        "reportlab_seconds": round(reportlab["seconds"], 2) if reportlab else None,
        "speedup_vs_reportlab": None,
        "reportlab_peak_rss_mb": round(reportlab["peak_rss_mb"], 1) if reportlab else None,
        "targets": {"seconds": 5, "peak_rss_mb": 200, "single_ms": 150, "speedup_vs_reportlab": 3.5},
    }
    if reportlab:
        result["speedup_vs_reportlab"] = round(reportlab["seconds"] / result["seconds"], 2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--job":
        run_job(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
