"""Reading invitation lists as Excel writes them: encodings, separators, header names, per-row checks.

This module only parses and validates the file; it touches no database. ``services.plan_import`` and
``services.import_rows`` decide what each row does to the people and invitations of an event.

Encodings, in the order they are tried:

1. A byte-order mark names the encoding: UTF-8 ("CSV UTF-8" in Excel) or UTF-16 (Excel's "Unicode text").
2. Strict UTF-8. Legacy single- and double-byte encodings almost never form valid multi-byte UTF-8 by
   accident, so a file that decodes is UTF-8.
3. CP949 (Korean Excel; a superset of EUC-KR) and Windows-1252 (Western Excel) are ambiguous: many byte
   strings are valid in both. Korean text decodes under CP949 to common Hangul syllables (both bytes
   0xA1-0xFE, the KS X 1001 block), while Western text that happens to be valid CP949 decodes to rare
   extension syllables and Hanja (its accented letters are followed by plain ASCII). So CP949 wins only
   when its non-ASCII characters are mostly common Hangul; otherwise Windows-1252. A Korean file is never
   shown as "Ã¬Â..." and "Alizée" never becomes Hangul.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eventsys.common.errors import DomainError
from eventsys.events.models import CATEGORY_LABELS, Category

#: Largest file accepted. A list of a few thousand invitees is far smaller.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
#: Most rows in one file; the preview shows every row.
MAX_ROWS = 5000

LANGUAGES = ("en", "ko", "es")

ENCODING_LABELS = {
    "utf-8-sig": _l("UTF-8 with byte-order mark"),
    "utf-8": _l("UTF-8"),
    "utf-16": _l("Unicode (UTF-16)"),
    "cp949": _l("Korean (CP949)"),
    "cp1252": _l("Western European (Windows-1252)"),
}

DELIMITER_LABELS = {
    ",": _l("comma-separated"),
    ";": _l("semicolon-separated"),
    "\t": _l("tab-separated"),
}

COLUMNS = ("name", "email", "organization", "title", "category", "language")
REQUIRED_COLUMNS = ("name", "email", "category")

#: Header names accepted for each column (compared case-insensitively, spaces, "-" and "_" ignored).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "nombre", "nombrecompleto", "이름", "성명"),
    "email": (
        "email",
        "emailaddress",
        "mail",
        "correo",
        "correoelectrónico",
        "correoelectronico",
        "이메일",
        "전자우편",
    ),
    "organization": (
        "organization",
        "organisation",
        "org",
        "organización",
        "organizacion",
        "institución",
        "institucion",
        "소속",
        "기관",
        "조직",
        "소속기관",
    ),
    "title": ("title", "position", "jobtitle", "cargo", "título", "titulo", "puesto", "직함", "직위", "직책"),
    "category": ("category", "categoría", "categoria", "구분", "분류", "범주"),
    "language": ("language", "lang", "idioma", "lengua", "언어"),
}

CATEGORY_ALIASES: dict[str, Category] = {
    "membercity": Category.MEMBER_CITY,
    "member": Category.MEMBER_CITY,
    "city": Category.MEMBER_CITY,
    "ciudadmiembro": Category.MEMBER_CITY,
    "회원도시": Category.MEMBER_CITY,
    "partner": Category.PARTNER,
    "socio": Category.PARTNER,
    "파트너": Category.PARTNER,
    "embassy": Category.EMBASSY,
    "embajada": Category.EMBASSY,
    "대사관": Category.EMBASSY,
    "speaker": Category.SPEAKER,
    "ponente": Category.SPEAKER,
    "orador": Category.SPEAKER,
    "연사": Category.SPEAKER,
    "youth": Category.YOUTH,
    "juventud": Category.YOUTH,
    "jóvenes": Category.YOUTH,
    "jovenes": Category.YOUTH,
    "청년": Category.YOUTH,
    "press": Category.PRESS,
    "prensa": Category.PRESS,
    "언론": Category.PRESS,
    "staff": Category.STAFF,
    "personal": Category.STAFF,
    "직원": Category.STAFF,
}

LANGUAGE_ALIASES: dict[str, str] = {
    "en": "en",
    "english": "en",
    "inglés": "en",
    "ingles": "en",
    "영어": "en",
    "ko": "ko",
    "kr": "ko",
    "korean": "ko",
    "한국어": "ko",
    "coreano": "ko",
    "es": "es",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "스페인어": "es",
    "castellano": "es",
}

#: Magic numbers of files people upload by mistake, with what to tell them.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "workbook"),  # .xlsx, .ods, .zip
    (b"\xd0\xcf\x11\xe0", "workbook"),  # .xls
    (b"%PDF", "binary"),
    (b"\x89PNG", "binary"),
    (b"\xff\xd8\xff", "binary"),
    (b"GIF8", "binary"),
)


class ImportFileError(DomainError):
    """The file as a whole cannot be read: too large, not text, no usable header."""

    def __init__(self, message: str, *, code: str, status: int = 400) -> None:
        super().__init__(message, code=code, field="file")
        self.status = status


def _key(text: str) -> str:
    """A header or value reduced for comparison: case-folded, without spaces, hyphens and underscores."""
    return "".join(ch for ch in text.strip().casefold() if ch not in " -_.")


@dataclass
class ParsedRow:
    """One data row of the file, its cleaned values, and what is wrong with it."""

    line: int  #: line number in the file (the header is line 1)
    name: str
    email: str
    organization: str | None
    title: str | None
    category: Category | None
    language: str
    raw_category: str = ""
    raw_language: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    encoding: str
    delimiter: str
    rows: list[ParsedRow]
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def encoding_label(self) -> str:
        return str(ENCODING_LABELS[self.encoding])

    @property
    def delimiter_label(self) -> str:
        return str(DELIMITER_LABELS[self.delimiter])

    @property
    def description(self) -> str:
        """E.g. "Korean (CP949), semicolon-separated"."""
        return f"{self.encoding_label}, {self.delimiter_label}"

    @property
    def error_count(self) -> int:
        return sum(1 for row in self.rows if row.errors)


# --- Decoding ---------------------------------------------------------------------------------------


def _refuse_binary(raw: bytes) -> None:
    for signature, kind in _BINARY_SIGNATURES:
        if raw.startswith(signature):
            if kind == "workbook":
                raise ImportFileError(
                    _(
                        "This is a spreadsheet workbook, not a CSV file. In Excel, choose File > Save As > "
                        "CSV UTF-8, then upload that file."
                    ),
                    code="not_csv",
                )
            raise ImportFileError(_("This file is not a text (CSV) file."), code="not_text")
    if b"\x00" in raw:
        raise ImportFileError(_("This file is not a text (CSV) file."), code="not_text")


def _is_common_hangul(ch: str) -> bool:
    """A Hangul syllable from the KS X 1001 block that Korean text is written in (both bytes >= 0xA1)."""
    if not "\uac00" <= ch <= "\ud7a3":
        return False
    encoded = ch.encode("cp949")
    return len(encoded) == 2 and encoded[1] >= 0xA1


def _looks_korean(text: str) -> bool:
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return False
    common = sum(1 for ch in non_ascii if _is_common_hangul(ch))
    return common >= 0.8 * len(non_ascii)


def decode_upload(raw: bytes) -> tuple[str, str]:
    """The file's text and the name of its encoding (a key of ENCODING_LABELS)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ImportFileError(_("This file is not a text (CSV) file."), code="not_text") from None
    _refuse_binary(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            raise ImportFileError(
                _("The file says it is UTF-8 but contains bytes that are not. Save it again as CSV UTF-8."),
                code="bad_encoding",
            ) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    korean: str | None
    try:
        korean = raw.decode("cp949")
    except UnicodeDecodeError:
        korean = None
    try:
        western: str | None = raw.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if korean is not None and (western is None or _looks_korean(korean)):
        return korean, "cp949"
    if western is not None:
        return western, "cp1252"
    raise ImportFileError(
        _("The text encoding of this file could not be recognised. In Excel, choose File > Save As > CSV UTF-8."),
        code="bad_encoding",
    )


def _sniff_delimiter(text: str) -> str:
    """The separator of the header line: the most frequent of comma, semicolon and tab outside quotes."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = dict.fromkeys(DELIMITER_LABELS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# --- Rows -------------------------------------------------------------------------------------------


def _has_control_characters(value: str) -> bool:
    return any(ord(ch) < 32 and ch not in "\t\r\n" for ch in value)


def _map_header(header: list[str]) -> tuple[dict[str, int], list[str]]:
    lookup = {_key(alias): column for column, aliases in HEADER_ALIASES.items() for alias in aliases}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        column = lookup.get(_key(title))
        if column is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if column in positions:
            raise ImportFileError(
                _("The column “%(column)s” appears twice in the header.", column=title.strip()), code="duplicate_column"
            )
        positions[column] = index
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        raise ImportFileError(
            _(
                "The first line must name the columns. Missing: %(missing)s. Expected columns: %(expected)s.",
                missing=", ".join(missing),
                expected=", ".join(COLUMNS),
            ),
            code="missing_columns",
        )
    return positions, ignored


def parse_category(value: str) -> Category | None:
    key = _key(value)
    if not key:
        return None
    for category in Category:
        if key in (_key(category.value), _key(str(CATEGORY_LABELS[category]))):
            return category
    return CATEGORY_ALIASES.get(key)


def parse_language(value: str) -> str | None:
    return LANGUAGE_ALIASES.get(_key(value)) if value.strip() else "en"


def _check_row(row: ParsedRow) -> None:
    if not row.name:
        row.errors.append(_("The name is missing."))
    elif len(row.name) > 200:
        row.errors.append(_("The name is longer than 200 characters."))
    if not row.email:
        row.errors.append(_("The email address is missing."))
    else:
        try:
            row.email = validate_email(row.email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            row.errors.append(_("“%(email)s” is not a valid email address.", email=row.email))
    if row.organization and len(row.organization) > 200:
        row.errors.append(_("The organization is longer than 200 characters."))
    if row.title and len(row.title) > 300:
        row.errors.append(_("The title is longer than 300 characters."))
    if row.category is None:
        if row.raw_category:
            row.errors.append(
                _(
                    "Unknown category “%(value)s”. Use one of: %(choices)s.",
                    value=row.raw_category,
                    choices=", ".join(c.value for c in Category),
                )
            )
        else:
            row.errors.append(_("The category is missing."))
    if row.language not in LANGUAGES:
        row.errors.append(_("Unknown language “%(value)s”. Use en, ko or es.", value=row.raw_language))
    values = (row.name, row.email, row.organization or "", row.title or "", row.raw_category, row.raw_language)
    if any(_has_control_characters(value) for value in values):
        row.errors.append(_("This row contains characters that are not allowed."))


def parse_invitation_csv(raw: bytes) -> ParsedFile:
    """Decode, split and check an uploaded invitation list. Raises ImportFileError for unusable files."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ImportFileError(
            _("The file is too large (at most %(mb)s MB).", mb=MAX_UPLOAD_BYTES // (1024 * 1024)),
            code="too_large",
            status=413,
        )
    if not raw.strip():
        raise ImportFileError(_("The file is empty."), code="empty")
    text, encoding = decode_upload(raw)
    if any(ord(ch) < 32 and ch not in "\t\r\n\x1a" for ch in text[:4096]) and encoding != "utf-16":
        raise ImportFileError(_("This file is not a text (CSV) file."), code="not_text")
    delimiter = _sniff_delimiter(text)
    numbered: list[tuple[int, list[str]]] = []  # (line where the record starts, its cells), blank lines dropped
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        start = 1
        for record in reader:
            if any(value.strip() for value in record):
                numbered.append((start, record))
            start = reader.line_num + 1
    except csv.Error:
        raise ImportFileError(_("This file could not be read as CSV."), code="not_csv") from None
    if not numbered:
        raise ImportFileError(_("The file is empty."), code="empty")
    (_header_line, header), data = numbered[0], numbered[1:]
    positions, ignored = _map_header(header)
    if not data:
        raise ImportFileError(_("The file has a header but no rows."), code="no_rows")
    if len(data) > MAX_ROWS:
        raise ImportFileError(
            _("The file has more than %(count)s rows; split it into smaller files.", count=MAX_ROWS), code="too_many"
        )

    def cell(record: list[str], column: str) -> str:
        index = positions.get(column)
        return record[index].strip() if index is not None and index < len(record) else ""

    rows = []
    for line, record in data:
        raw_category, raw_language = cell(record, "category"), cell(record, "language")
        row = ParsedRow(
            line=line,
            name=" ".join(cell(record, "name").split()),
            email=cell(record, "email"),
            organization=cell(record, "organization") or None,
            title=cell(record, "title") or None,
            category=parse_category(raw_category),
            language=parse_language(raw_language) or "",
            raw_category=raw_category,
            raw_language=raw_language,
        )
        _check_row(row)
        rows.append(row)
    return ParsedFile(encoding=encoding, delimiter=delimiter, rows=rows, ignored_columns=ignored)
