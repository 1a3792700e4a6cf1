"""PDF rendering with WeasyPrint, locked down: badges today, the agenda programme and certificates later.

``render_pdf(html, stylesheets=..., base_url=...)`` turns an HTML string into PDF bytes. What it may load
is decided by ``SafeURLFetcher``:

- ``data:`` URIs (generated images such as QR codes, which the caller embeds itself);
- ``file:`` URLs that resolve (symlinks and ``..`` followed) to a regular file inside the app's ``static/``
  folder (stylesheets, logos, fonts shipped with the app);
- nothing else: no ``http(s)``/``ftp`` (no SSRF, e.g. the cloud metadata address 169.254.169.254), no file
  outside ``static/`` (``/etc/passwd``), no devices (``/dev/urandom`` would hang the renderer).

User text never becomes markup: templates are autoescaped, so a name such as ``<img src="file:///etc/passwd">``
prints as text and nothing is fetched. The fetcher is the second line of defence.

Fonts are the system's Noto families (Debian's fonts-noto-core and fonts-noto-cjk, installed by
``bootstrap.sh``), found through fontconfig: ``FONT_STACK`` covers Latin with accents, Cyrillic, Greek,
Hangul, Chinese and Japanese, and Arabic. WeasyPrint embeds the subset of glyphs a document uses.

Speed: parsing CSS and loading fonts cost more than laying out one small page, so stylesheets are parsed
once per process (``stylesheet()``), one ``FontConfiguration`` is shared, and WeasyPrint's image cache is
kept for the process (``IMAGE_CACHE``). Big batches are rendered in chunks in recycled worker processes
and merged with pypdf (see ``eventsys.checkin.badge_render``): WeasyPrint keeps a whole document in
memory and the memory is not given back to the OS afterwards.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import urllib.parse
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

#: The app's static folder (the only directory the fetcher reads from, unless told otherwise).
STATIC_ROOT = Path(__file__).resolve().parent.parent.parent / "static"

#: Font families for any user text; fontconfig picks, glyph by glyph, the first family that has it.
FONT_STACK = '"Noto Sans", "Noto Sans CJK KR", "Noto Sans Arabic", "Noto Naskh Arabic", sans-serif'

#: Largest file the fetcher hands to WeasyPrint (static assets are small; a huge one is a mistake).
MAX_FETCH_BYTES = 5 * 1024 * 1024


class URLRefused(ValueError):
    """The fetcher refused a URL: not a ``data:`` URI, or not a file inside the allowed folders."""


class SafeURLFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves only ``data:`` URIs and files inside ``roots``.

    ``calls`` records every URL asked for, so tests can check what rendering tried to load.
    """

    def __init__(self, roots: Iterable[str | os.PathLike[str]] = (STATIC_ROOT,), **kwargs: Any) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, **kwargs)
        self.roots = tuple(Path(root).resolve() for root in roots)
        self.calls: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        self.calls.append(url)
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            return self._file(url)
        raise URLRefused(f"refused to fetch {url[:200]!r}: only data: URIs and the app's static files")

    def _data(self, url: str) -> URLFetcherResponse:
        header, _, payload = url[len("data:") :].partition(",")
        media_type, *params = header.split(";")
        if "base64" in params:
            try:
                body = base64.b64decode(payload, validate=False)
            except ValueError as error:
                raise URLRefused("malformed data: URI") from error
        else:
            body = urllib.parse.unquote_to_bytes(payload)
        return URLFetcherResponse(url, body=body, headers={"Content-Type": media_type or "text/plain"})

    def allowed_path(self, url: str) -> Path | None:
        """The file a ``file:`` URL names, if it is a regular file inside one of the roots."""
        parsed = urllib.parse.urlsplit(url)
        if parsed.netloc not in ("", "localhost"):
            return None
        try:
            path = Path(urllib.parse.unquote(parsed.path)).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return None
        if not any(path.is_relative_to(root) for root in self.roots):
            return None
        if not path.is_file():  # no devices, FIFOs or directories
            return None
        return path

    def _file(self, url: str) -> URLFetcherResponse:
        path = self.allowed_path(url)
        if path is None:
            raise URLRefused(f"refused to read {url[:200]!r}: outside the app's static files")
        if path.stat().st_size > MAX_FETCH_BYTES:
            raise URLRefused(f"refused to read {url[:200]!r}: too large")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": media_type})


def safe_url_fetcher(extra_roots: Sequence[str | os.PathLike[str]] = ()) -> SafeURLFetcher:
    """A fetcher for the app's static folder (plus ``extra_roots``, e.g. a folder of generated images)."""
    return SafeURLFetcher((STATIC_ROOT, *extra_roots))


@lru_cache(maxsize=1)
def font_config() -> FontConfiguration:
    """The process's shared font configuration (fonts are looked up and loaded once)."""
    return FontConfiguration()


#: WeasyPrint's image cache, shared by every render in this process (a logo is decoded once).
IMAGE_CACHE: dict[str, Any] = {}

_STYLESHEETS: dict[tuple[str, float], CSS] = {}


def stylesheet(path: str | os.PathLike[str]) -> CSS:
    """The parsed stylesheet at ``path`` (inside static/), parsed once per process and file version."""
    resolved = Path(path).resolve()
    key = (str(resolved), resolved.stat().st_mtime)
    css = _STYLESHEETS.get(key)
    if css is None:
        fetcher = safe_url_fetcher()
        if fetcher.allowed_path(resolved.as_uri()) is None:
            raise URLRefused(f"stylesheet {path} is not one of the app's static files")
        css = CSS(filename=str(resolved), url_fetcher=fetcher, font_config=font_config())
        _STYLESHEETS[key] = css
    return css


_MARGIN_BOXES = tuple(
    f"@{side}-{where}"
    for side, places in (
        ("top", ("left-corner", "left", "center", "right", "right-corner")),
        ("bottom", ("left-corner", "left", "center", "right", "right-corner")),
        ("left", ("top", "middle", "bottom")),
        ("right", ("top", "middle", "bottom")),
    )
    for where in places
)


def _skip_absent_margin_boxes() -> None:
    """Don't build the 16 page-margin boxes of a page whose stylesheets define none of them.

    WeasyPrint builds and lays out all 16 ``@top-left`` ... boxes for every page, only to drop them when
    none has content: about a tenth of the time of a one-page badge. When no stylesheet has a rule for any
    of them (``style_for`` answers None for all), the original would yield nothing, so skipping it changes
    no output. Pages that do have margin boxes (an agenda's page numbers) go through the original.
    """
    import weasyprint.layout as layout

    original = layout.make_margin_boxes
    if getattr(original, "eventsys_wrapped", False):
        return

    def make_margin_boxes(context: Any, page: Any, state: Any) -> Any:
        page_type = page.page_type
        if all(context.style_for(page_type, at_keyword) is None for at_keyword in _MARGIN_BOXES):
            return iter(())
        return original(context, page, state)

    make_margin_boxes.eventsys_wrapped = True  # type: ignore[attr-defined]
    layout.make_margin_boxes = make_margin_boxes


_skip_absent_margin_boxes()


def render_pdf(
    html: str,
    *,
    stylesheets: Sequence[CSS | str | os.PathLike[str]] = (),
    base_url: str | None = None,
    url_fetcher: SafeURLFetcher | None = None,
) -> bytes:
    """Render ``html`` (an autoescaped template's output) to PDF bytes with the safe fetcher.

    ``stylesheets`` are parsed ``CSS`` objects or paths of static files (parsed once per process).
    ``base_url`` resolves relative URLs; it defaults to the static folder, so ``css/x.css`` works.
    """
    fetcher = url_fetcher or safe_url_fetcher()
    sheets = [sheet if isinstance(sheet, CSS) else stylesheet(sheet) for sheet in stylesheets]
    document = HTML(string=html, base_url=base_url or STATIC_ROOT.as_uri() + "/", url_fetcher=fetcher)
    pdf = document.write_pdf(stylesheets=sheets, font_config=font_config(), cache=IMAGE_CACHE)
    assert pdf is not None
    return pdf
