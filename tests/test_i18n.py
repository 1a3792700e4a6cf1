"""Languages: Korean and Spanish pages, the language switcher, localized dates, and complete catalogs.

The conftest's ``app`` fixture keeps one app context for the whole test, and Flask-Babel 4 caches the
chosen locale on ``flask.g``: without the autouse fixture below, the first request's language would
stick to every later request of the test. It empties ``g`` when each request starts, as a real server does.

The compiled catalogs (``.mo``, gitignored) are built by ``make translations``; ``_compiled_catalogs``
rebuilds any that are missing or out of date from the ``.po`` files, so ``pytest`` alone works too.
"""

from __future__ import annotations

import io
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask
from flask.testing import FlaskClient
from wtforms.i18n import messages_path

from eventsys.events.models import EventFormat, EventKind
from tests import factories
from tests.conftest import Browser

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "eventsys" / "translations"
POT = TRANSLATIONS / "messages.pot"
LANGUAGES = ("ko", "es")
# The keywords `make messages` passes to pybabel extract, on top of Babel's defaults.
EXTRA_KEYWORDS = {"_l": None, "lazy_gettext": None}


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def compiled(lang: str) -> bytes:
    """The .mo bytes ``pybabel compile`` makes from the language's .po (fuzzy entries left out)."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(po_path(lang), lang), use_fuzzy=False)
    return buffer.getvalue()


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogs() -> None:
    """Compile ko and es from their .po when the .mo is missing or differs (as `make translations` does)."""
    for lang in LANGUAGES:
        mo = po_path(lang).with_suffix(".mo")
        data = compiled(lang)
        if mo.exists() and mo.read_bytes() == data:
            continue
        try:
            # Write atomically: another test run may be reading the catalog.
            fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the app may run as another user
            os.replace(tmp, mo)
        except OSError as error:
            pytest.fail(f"cannot write {mo} ({error}); run `make translations` to compile the catalogs")


def page(client: FlaskClient, url: str, lang: str | None = None) -> str:
    headers = {"Accept-Language": lang} if lang else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def resolved(location: str) -> tuple[str, str]:
    """Where a browser on http://localhost/ goes for this Location: (host, path). Strips tabs as browsers do."""
    parts = urlsplit(urljoin("http://localhost/", location))
    return parts.netloc, parts.path


def localized(value: datetime, tz: str, lang: str) -> str:
    """Date and time as the event pages show them: medium date, short time, in the event's zone."""
    local = value.astimezone(ZoneInfo(tz))
    return f"{format_date(local, format='medium', locale=lang)} {format_time(local, format='short', locale=lang)}"


# --- Pages in the visitor's language -----------------------------------------------------------------


def test_korean_navigation_and_event_page(client: FlaskClient) -> None:
    event = factories.EventFactory(kind=EventKind.GENERAL_ASSEMBLY, format=EventFormat.HYBRID, invitation_only=True)
    html = page(client, f"/events/{event.slug}", "ko-KR,ko;q=0.9,en;q=0.5")
    assert '<html lang="ko">' in html
    for korean in (
        "행사",  # Events (navigation)
        "로그인",  # Log in
        "언어",  # Language
        "본문 바로가기",  # Skip to content
        "<dt>일시</dt>",  # When
        "<dt>장소</dt>",  # Where
        "<dt>등록</dt>",  # Registration
        "총회",  # General Assembly (enum label)
        "하이브리드(대면 및 온라인)",  # Hybrid (enum label)
        "초청받은 분만 참가하실 수 있습니다.",  # By invitation only.
        "온라인 참가 등록을 하신 분께는 접속용 개인 링크를 보내 드립니다.",
    ):
        assert korean in html, korean
    for english in ("Events", "When", "Where", "Log in", "General Assembly", "By invitation only"):
        assert english not in html, english


def test_spanish_navigation_and_event_page(client: FlaskClient) -> None:
    event = factories.EventFactory(kind=EventKind.KICKOFF, format=EventFormat.IN_PERSON)
    html = page(client, f"/events/{event.slug}", "es-MX,es;q=0.9")
    assert '<html lang="es">' in html
    for spanish in ("Eventos", "Iniciar sesión", "Idioma", "<dt>Fecha y hora</dt>", "<dt>Lugar</dt>", "Presencial"):
        assert spanish in html, spanish
    assert "When" not in html and "Where" not in html


def test_english_without_accept_language(client: FlaskClient) -> None:
    event = factories.EventFactory()
    html = page(client, f"/events/{event.slug}")
    assert '<html lang="en">' in html
    assert "<dt>When</dt>" in html and "<dt>Where</dt>" in html


def test_unsupported_language_falls_back_to_english(client: FlaskClient) -> None:
    html = page(client, "/", "de-DE,de;q=0.9,fr;q=0.8")
    assert '<html lang="en">' in html and "Events" in html


def test_event_list_and_error_pages_are_translated(client: FlaskClient) -> None:
    assert "아직 게시된 행사가 없습니다." in page(client, "/", "ko")
    missing = client.get("/events/no-such-event", headers={"Accept-Language": "es"})
    assert missing.status_code == 404
    assert "Página no encontrada" in missing.get_data(as_text=True)
    wrong_method = client.get("/language", headers={"Accept-Language": "ko"})
    assert wrong_method.status_code == 405
    assert "허용되지 않는 요청 방식" in wrong_method.get_data(as_text=True)
    assert "Method Not Allowed" not in wrong_method.get_data(as_text=True)


def test_login_prompt_flash_is_translated(client: FlaskClient) -> None:
    response = client.get("/manage/", headers={"Accept-Language": "ko"})
    assert response.status_code == 302
    html = page(client, response.headers["Location"], "ko")
    assert "이 페이지를 보려면 로그인해 주십시오." in html


@pytest.mark.parametrize("lang", LANGUAGES)
def test_wtforms_builtin_messages_are_translated(browser: Browser, lang: str) -> None:
    """Flask-WTF translates WTForms' own validator messages with WTForms' catalogs (WTF_I18N_ENABLED)."""
    expected = Translations.load(messages_path(), [lang], domain="wtforms").gettext("This field is required.")
    assert expected != "This field is required."
    response = browser.post("/login", {"email": "", "password": ""}, headers={"Accept-Language": lang})
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)


# --- Dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ko", "es", "en"])
def test_event_times_are_formatted_in_the_visitors_locale(client: FlaskClient, lang: str) -> None:
    starts = datetime(2030, 2, 23, 5, 0, tzinfo=UTC)  # 14:00 in Seoul
    event = factories.EventFactory(timezone="Asia/Seoul", starts_at=starts, ends_at=starts.replace(hour=8))
    html = page(client, f"/events/{event.slug}", lang)
    assert localized(starts, "Asia/Seoul", lang) in html
    if lang == "ko":
        assert "2030. 2. 23." in html
        assert "Feb 23, 2030" not in html
    for other in {"ko", "es", "en"} - {lang}:
        assert format_date(starts, format="medium", locale=other) not in html


# --- The language switcher ---------------------------------------------------------------------------


def test_switcher_overrides_accept_language_and_returns_to_next(browser: Browser) -> None:
    event = factories.EventFactory()
    url = f"/events/{event.slug}"
    response = browser.post("/language", {"language": "es", "next": url}, headers={"Accept-Language": "ko"})
    assert response.status_code == 302
    assert resolved(response.headers["Location"]) == ("localhost", url)

    html = page(browser.client, url, "ko")
    assert '<html lang="es">' in html and "<dt>Fecha y hora</dt>" in html
    assert '<option value="es" lang="es" selected>' in html

    browser.post("/language", {"language": "en", "next": url}, headers={"Accept-Language": "ko"})
    html = page(browser.client, url, "ko")
    assert '<html lang="en">' in html and "<dt>When</dt>" in html


def test_switcher_keeps_the_query_string(browser: Browser) -> None:
    response = browser.post("/language", {"language": "ko", "next": "/?page=2"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/?page=2"


@pytest.mark.parametrize("code", ["xx", "", "KO", "ko-KR", "../en", "fr"])
def test_switcher_refuses_unknown_languages(browser: Browser, code: str) -> None:
    response = browser.post("/language", {"language": code, "next": "/"})
    assert response.status_code == 400
    assert '<html lang="en">' in page(browser.client, "/")


def test_switcher_needs_the_csrf_token(client: FlaskClient) -> None:
    assert client.post("/language", data={"language": "ko", "next": "/"}).status_code == 400


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path",
        "https://evil.example",
        "https://evil.example/events/",
        "http:evil.example",
        "/\\evil.example",
        "/\t/evil.example",  # browsers drop tabs and newlines inside URLs: this would be //evil.example
        "/\n/evil.example",
        "/\r\n/evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_switcher_never_redirects_off_site(browser: Browser, target: str) -> None:
    response = browser.post("/language", {"language": "ko", "next": target})
    assert response.status_code == 302
    assert resolved(response.headers["Location"]) == ("localhost", "/")


# --- Catalogs ----------------------------------------------------------------------------------------


def _untranslated(catalog: Catalog, template: Catalog) -> list[str]:
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id, message.context)
        if translated is None:
            problems.append(f"missing: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not all(translated.string if isinstance(translated.string, tuple) else [translated.string]):
            problems.append(f"untranslated: {message.id!r}")
    return problems


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_is_complete(lang: str) -> None:
    """Every string in messages.pot is translated, not fuzzy, with the same placeholders.

    A new user-facing string fails this (via ``test_template_is_up_to_date``) until it is translated:
    run ``make messages``, then translate the new entries in eventsys/translations/{ko,es}/LC_MESSAGES/messages.po
    (remove any ``#, fuzzy`` flag) and run ``make translations``.
    """
    template = read_catalog(POT)
    catalog = read_catalog(po_path(lang), lang)
    assert not catalog.fuzzy, f"the {lang} catalog header is marked fuzzy: pybabel compile would skip it"
    problems = _untranslated(catalog, template)
    assert not problems, f"{lang} catalog: run `make messages` and translate:\n" + "\n".join(problems)
    format_errors = [f"{message.id!r}: {errors}" for message, errors in catalog.check()]
    assert not format_errors, f"{lang} placeholders differ from the English:\n" + "\n".join(format_errors)


def test_template_is_up_to_date() -> None:
    """Every string marked in eventsys/ and templates/ is in messages.pot.

    Fails when someone marks a new string: run ``make messages``, then translate the new entries in the
    ko and es messages.po (``test_catalog_is_complete`` then says which are left).
    """
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
    extracted = {
        (_singular(message), context)
        for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords
        )
    }
    in_template = {(_singular(message.id), message.context) for message in read_catalog(POT) if message.id}
    missing = sorted(repr(msgid) for msgid, _context in extracted - in_template)
    assert not missing, "not in messages.pot: run `make messages` and translate them:\n" + "\n".join(missing)


def _singular(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_po_and_is_used(app: Flask, lang: str) -> None:
    """The .mo the app loads holds every translation of the .po (run `make translations` if not)."""
    mo = po_path(lang).with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make translations`"
    with mo.open("rb") as f:
        loaded = read_mo(f)
    catalog = read_catalog(po_path(lang), lang)
    stale = [m.id for m in catalog if m.id and not m.fuzzy and loaded.get(m.id, m.context) is None]
    assert not stale, f"{mo} is out of date: run `make translations`; missing {stale[:5]}"

    from flask_babel import force_locale, gettext

    with app.test_request_context("/"), force_locale(lang):
        assert gettext("Events") == catalog.get("Events").string
