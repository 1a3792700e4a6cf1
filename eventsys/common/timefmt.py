"""Time zones: store UTC, keep the event's IANA zone, show times in the viewer's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_date, format_time
from flask_babel import get_locale


@cache
def all_timezones() -> frozenset[str]:
    """Every IANA zone name this machine knows."""
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    return name in all_timezones()


class NonexistentLocalTime(ValueError):
    """A wall-clock time skipped by a daylight-saving change (e.g. 02:30 on a spring-forward night)."""


def local_to_utc(naive: datetime, tz_name: str) -> datetime:
    """Interpret a wall-clock time in ``tz_name`` and return it in UTC.

    Times that do not exist in that zone (skipped by a DST change) raise NonexistentLocalTime;
    ambiguous times (repeated by a DST change) take the first occurrence.
    """
    tz = ZoneInfo(tz_name)
    aware = naive.replace(tzinfo=tz, fold=0)
    in_utc = aware.astimezone(UTC)
    if in_utc.astimezone(tz).replace(tzinfo=None) != naive:
        raise NonexistentLocalTime(naive.isoformat())
    return in_utc


def utc_to_local(value: datetime, tz_name: str) -> datetime:
    """The wall-clock time in ``tz_name`` for a UTC datetime, without tzinfo (for form fields)."""
    return value.astimezone(ZoneInfo(tz_name)).replace(tzinfo=None)


def format_in_zone(value: datetime | None, tz_name: str, date_format: str = "medium") -> str:
    """Format ``value`` in ``tz_name`` in the current locale: date, time to the minute, and the zone."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz_name))
    return _format_minute(local.replace(second=0, microsecond=0), tz_name, date_format, str(get_locale() or "en"))


@lru_cache(maxsize=2048)
def _format_minute(local: datetime, tz_name: str, date_format: str, locale: str) -> str:
    """``format_in_zone`` of one minute: a door rush or a page of sessions asks for the same few minutes again."""
    text = (
        f"{format_date(local, format=date_format, locale=locale)} {format_time(local, format='short', locale=locale)}"
    )
    return f"{text} ({zone_label(local, tz_name)})"


def zone_label(value: datetime, tz_name: str) -> str:
    """A short, unambiguous label for the zone at ``value``: the city and the UTC offset."""
    local = value.astimezone(ZoneInfo(tz_name))
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    city = tz_name.rsplit("/", 1)[-1].replace("_", " ")
    gmt = f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")
    return f"{city}, {gmt}"
