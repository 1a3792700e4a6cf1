"""Certificates: a bulk run of 200 attendance certificates (the full design: logo, three signatures, QR).

    python bench/certificates.py [--certificates 200] [--rounds 3] [--processes 2]

Seeds a temporary SQLite database (or ``DATABASE_URL``) with an event in Seoul, a certificate template with
a logo and three signature images, and ``--certificates`` recipients issued through the CSV bulk source (about
40% Korean names in Hangul, the rest Latin with accents, some Arabic and Cyrillic), without rendering.

Each round runs the run's rendering job (``eventsys.certificates.services.render_run``, the code the task queue
runs) in a fresh process, as a freshly started queue worker would: it loads the certificates, draws the QR
codes, renders chunks in ``--processes`` worker processes, merges them with pypdf into one PDF and writes the
ZIP of one PDF per person.

- ``per_cert_ms``: the job's wall time inside that process divided by the number of certificates, including
  loading fonts and stylesheets and starting the render processes;
- ``peak_rss_mb``: the largest resident set of any process of the jobs: ``ru_maxrss`` of the job processes
  (RUSAGE_CHILDREN) and of the render workers, which report theirs (``eventsys.common.pdf.peak_rss_mb``);
- ``single_ms``: one certificate PDF rendered in a warm process (median of 10).

Prints progress to stderr and one JSON line to stdout (medians over the rounds). Bounded by ``--deadline``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KOREAN_FAMILY = "김이박최정강조윤장임한오서신권황안송류"
KOREAN_GIVEN = ["민준", "서연", "도윤", "지우", "하준", "정숙", "시우", "지민", "은서", "현우"]
LATIN = ["José Ñúñez", "Ana Pérez", "Łukasz Żółw", "Anaïs Lefèvre", "João Conceição", "Søren Ørsted", "Zoë Brontë"]
OTHER = ["محمد بن راشد", "فاطمة الزهراء", "Наталья Иванова", "Олег Петров"]


def log(message: str) -> None:
    print(f"[certificates] {message}", file=sys.stderr, flush=True)


def make_app(database_url: str, folder: Path):  # type: ignore[no-untyped-def]
    from eventsys import create_app

    return create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url,
        TASKS_IMMEDIATE=False,
        TASKS_SQLITE_PATH=str(folder / "huey.db"),
        CERTIFICATE_IMAGE_DIR=str(folder / "images"),
        CERTIFICATE_PDF_DIR=str(folder / "pdfs"),
    )


def _png(size: tuple[int, int], colour: tuple[int, int, int, int]) -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", size, (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 7):
        draw.line([(x, size[1] * 0.7), (x + 20, size[1] * 0.3)], fill=colour, width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed(database_url: str, folder: Path, count: int) -> int:
    """Tables, an event, a template with logo and signatures, and ``count`` issued certificates; the run's id."""
    from datetime import UTC, datetime, timedelta

    from eventsys.certificates import services
    from eventsys.certificates.models import CertificateKind, RunSource
    from eventsys.events.models import Event, EventFormat, EventStatus
    from eventsys.extensions import db

    app = make_app(database_url, folder)
    with app.app_context():
        db.drop_all()
        db.create_all()
        starts = datetime(2022, 2, 23, 5, 0, tzinfo=UTC)
        event = Event(
            name="WeGO 2022 Activities Kick-off",
            slug="bench-kickoff",
            format=EventFormat.HYBRID,
            timezone="Asia/Seoul",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2, minutes=30),
            venue_name="Seoul",
            status=EventStatus.PUBLISHED,
        )
        db.session.add(event)
        db.session.flush()
        signatures = [
            services.SignatureData(name, position, image=_png((360, 120), (20, 30, 90, 255)))
            for name, position in (
                ("Oh Se-hoon", "Mayor of Seoul and President of WeGO"),
                ("Park Jung-sook", "Secretary General of WeGO"),
                ("Mariana Ruiz", "Director of International Affairs, Mexico City"),
            )
        ]
        template = services.create_template(
            None,
            event,
            services.TemplateData(
                kind=CertificateKind.ATTENDANCE,
                title="Certificate of Attendance",
                intro="This is to certify that",
                body="attended {event} on {date}. {citation}",
                signatures=signatures,
                logo=_png((600, 200), (0, 90, 60, 255)),
            ),
        )
        rng = random.Random(7)
        rows = []
        for n in range(count):
            roll = rng.random()
            if roll < 0.4:
                name = rng.choice(KOREAN_FAMILY) + rng.choice(KOREAN_GIVEN)
            elif roll < 0.85:
                name = f"{rng.choice(LATIN)} {n}"
            else:
                name = rng.choice(OTHER)
            citation = "for taking part in every session of the day" if n % 3 == 0 else None
            rows.append(services.CsvRecipient(n + 2, name, f"person{n}@example.org", "Seoul", citation))
        run = services.start_run(None, template, RunSource.CSV, csv_rows=rows)
        db.session.commit()
        return run.id


def render_round(database_url: str, folder: Path, run_id: int, processes: int) -> dict[str, float]:
    """One rendering job, timed inside this (fresh) process."""
    started = time.perf_counter()
    from eventsys.certificates import services
    from eventsys.certificates.models import CertificateRun, RunStatus
    from eventsys.common import pdf
    from eventsys.extensions import db

    app = make_app(database_url, folder)
    with app.app_context():
        run = db.session.get(CertificateRun, run_id)
        run.status = RunStatus.QUEUED
        db.session.commit()
        job_started = time.perf_counter()
        services.render_run(run, processes=processes)
        db.session.commit()
        seconds = time.perf_counter() - job_started
        done = run.done
    return {
        "seconds": seconds,
        "process_seconds": time.perf_counter() - started,
        "done": done,
        "own_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_mb": pdf.peak_rss_mb(),  # this process and the render workers it used
    }


def single_round(database_url: str, folder: Path, run_id: int) -> dict[str, float]:
    """One certificate PDF as a recipient downloads it, in a warm process: the median of 10."""
    import sqlalchemy as sa

    from eventsys.certificates import services
    from eventsys.certificates.models import Certificate
    from eventsys.extensions import db

    app = make_app(database_url, folder)
    with app.app_context():
        certificate = db.session.scalars(sa.select(Certificate).where(Certificate.run_id == run_id).limit(1)).one()
        services.certificate_pdf(certificate)  # warm: fonts, stylesheet, template
        times = []
        for _ in range(10):
            started = time.perf_counter()
            services.certificate_pdf(certificate)
            times.append((time.perf_counter() - started) * 1000)
    return {"single_ms": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--certificates", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=110.0)
    parser.add_argument("--role", choices=("main", "seed", "render", "single"), default="main")
    parser.add_argument("--database-url")
    parser.add_argument("--folder")
    parser.add_argument("--run-id", type=int)
    args = parser.parse_args()

    if args.role == "seed":
        print(seed(args.database_url, Path(args.folder), args.certificates))
        return
    if args.role == "single":
        print(json.dumps(single_round(args.database_url, Path(args.folder), args.run_id)))
        return
    if args.role == "render":
        print(json.dumps(render_round(args.database_url, Path(args.folder), args.run_id, args.processes)))
        return

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-certificates-") as tmp:
        folder = Path(tmp)
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
        env = {**os.environ, "EVENTSYS_INSTANCE_PATH": str(folder / "instance")}
        common = ["--database-url", database_url, "--folder", str(folder)]
        log(f"seeding {args.certificates} certificates")
        seeded = subprocess.run(
            [sys.executable, __file__, "--role", "seed", "--certificates", str(args.certificates), *common],
            capture_output=True,
            text=True,
            env=env,
            timeout=args.deadline,
            check=False,
        )
        if seeded.returncode != 0:
            sys.stderr.write(seeded.stderr)
            raise SystemExit("seeding failed")
        run_id = int(seeded.stdout.strip().splitlines()[-1])
        rounds = []
        for number in range(1, args.rounds + 1):
            left = args.deadline - (time.monotonic() - began)
            if left < 10:
                log("deadline reached; stopping early")
                break
            result = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--role",
                    "render",
                    "--run-id",
                    str(run_id),
                    "--processes",
                    str(args.processes),
                    *common,
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=left,
                check=False,
            )
            if result.returncode != 0:
                sys.stderr.write(result.stderr)
                raise SystemExit("rendering failed")
            rounds.append(json.loads(result.stdout.strip().splitlines()[-1]))
            log(f"round {number}: {rounds[-1]['seconds']:.2f} s for {rounds[-1]['done']} certificates")
        # The largest process of the bulk jobs, before the single download: a job process (reaped by this one)
        # or a render worker (a child of multiprocessing's fork server, so it reports its own peak).
        children_peak = max(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, *(r["peak_rss_mb"] for r in rounds)
        )
        single = subprocess.run(
            [sys.executable, __file__, "--role", "single", "--run-id", str(run_id), *common],
            capture_output=True,
            text=True,
            env=env,
            timeout=max(10.0, args.deadline - (time.monotonic() - began)),
            check=False,
        )
        single_ms = json.loads(single.stdout.strip().splitlines()[-1])["single_ms"] if single.returncode == 0 else None
    seconds = statistics.median(r["seconds"] for r in rounds)
    done = rounds[0]["done"]
    print(
        json.dumps(
            {
                "bench": "certificates",
                "certificates": done,
                "per_cert_ms": round(seconds / done * 1000, 1),
                "peak_rss_mb": round(children_peak, 1),
                "seconds": round(seconds, 2),
                "process_seconds": round(statistics.median(r["process_seconds"] for r in rounds), 2),
                "single_ms": round(single_ms, 1) if single_ms is not None else None,
                "job_process_rss_mb": round(max(r["own_rss_mb"] for r in rounds), 1),
                "processes": args.processes,
                "rounds": len(rounds),
                "targets": {"per_cert_ms": 40, "peak_rss_mb": 200},
            }
        )
    )


if __name__ == "__main__":
    main()
