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
kept for the process (``IMAGE_CACHE``, for the static images; generated ``data:`` images are dropped after
each render). Big batches (a thousand badges, two hundred certificates) go through ``render_chunks``: chunks
rendered on a pool of worker processes and merged with pypdf, because WeasyPrint keeps a whole document in
memory and the memory is not given back to the OS afterwards. Badges, certificates and the agenda programme
all render through this module.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import io
import mimetypes
import multiprocessing
import os
import re
import resource
import threading
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, TypeVar

import jinja2
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


#: The app's templates folder (PDF templates are rendered outside Flask, e.g. in worker processes).
TEMPLATES_ROOT = STATIC_ROOT.parent / "templates"


@lru_cache(maxsize=16)
def template(name: str) -> jinja2.Template:
    """The Jinja template ``name`` (under templates/) for a PDF, outside Flask: autoescaped, so user text
    stays text, and strict about undefined values; loaded once per process."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_ROOT)), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return environment.get_template(name)


def text_direction(text: str) -> str:
    """ "rtl" if the first strong character is right-to-left (Arabic, Hebrew), else "ltr"."""
    for char in text:
        bidi = unicodedata.bidirectional(char)
        if bidi in ("R", "AL"):
            return "rtl"
        if bidi == "L":
            return "ltr"
    return "ltr"


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
    """Don't build the 16 page-margin boxes of a page whose stylesheets give none of them any content.

    WeasyPrint builds and lays out all 16 ``@top-left`` ... boxes for every page (with the page's style
    where no rule names them), only to drop those whose ``content`` is ``normal``, ``none`` or ``inhibit``:
    about a tenth of the time of a one-page badge. When that holds for all 16, the original yields nothing,
    so skipping it changes no output. Pages that do have margin boxes (the agenda programme's page numbers)
    go through the original.
    """
    import weasyprint.layout as layout
    import weasyprint.layout.page as layout_page

    if getattr(layout.make_margin_boxes, "eventsys_wrapped", False):
        return
    original = layout_page.make_margin_boxes
    empty = ("normal", "none", "inhibit")

    def make_margin_boxes(context: Any, page: Any, state: Any) -> Any:
        page_type = page.page_type
        for at_keyword in _MARGIN_BOXES:
            style = context.style_for(page_type, at_keyword)
            if style is not None and style["content"] not in empty:
                return original(context, page, state)
        return iter(())

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
    # One render at a time per process: the image cache is shared, and pruning it must not pull a generated
    # image from under another thread's render (rendering holds the GIL nearly all the time anyway).
    with _RENDER_LOCK:
        try:
            pdf = document.write_pdf(stylesheets=sheets, font_config=font_config(), cache=IMAGE_CACHE)
        finally:
            _prune_image_cache()
    assert pdf is not None
    return pdf


def _prune_image_cache() -> None:
    """Keep only the images of files (logos, signatures) in ``IMAGE_CACHE``; drop generated ``data:`` ones.

    WeasyPrint keys the cache by URL (the decoded image) and by an md5 of the URL (the image's bytes); a
    QR code is a new ``data:`` URI on every badge, so keeping those would grow the cache with every download.
    """
    for url in [key for key in IMAGE_CACHE if key.startswith("file:") and key not in _KEPT_IMAGE_KEYS]:
        _KEPT_IMAGE_KEYS.add(url)
        digest = hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()
        _KEPT_IMAGE_KEYS.update(f"{digest}-{slot}-" for slot in ("source", "stream", "streamalpha"))
    for key in [key for key in IMAGE_CACHE if key not in _KEPT_IMAGE_KEYS]:
        del IMAGE_CACHE[key]


_KEPT_IMAGE_KEYS: set[str] = set()
_RENDER_LOCK = threading.Lock()


# --- Big batches: chunks on worker processes, merged with pypdf ---------------------------------------------

#: Worker processes for a bulk run (the machine has two cores).
PROCESSES = 2

Job = TypeVar("Job")

#: The largest resident set (KiB) a render worker of this process reported (see ``peak_rss_mb``).
_worker_peak_kib = 0


def chunked(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


#: Warm-ups of the renderer modules, run once in the workers' fork server (``eventsys_pdf_warm``).
_WORKER_WARM_UPS: list[Callable[[], None]] = []
#: Warm-ups already run in this process (a worker inherits the fork server's).
_WARMED: set[Callable[[], None]] = set()


def warm_up_workers(warm_up: Callable[[], None]) -> Callable[[], None]:
    """Register a renderer module's ``warm_up`` to run in the fork server before workers are forked."""
    if warm_up not in _WORKER_WARM_UPS:
        _WORKER_WARM_UPS.append(warm_up)
    return warm_up


def run_worker_warm_ups() -> None:
    """In the fork server: run the registered warm-ups, then freeze what they loaded (see ``_worker_start``).

    A failing warm-up is logged and left to the workers (they run it again and fail visibly there).
    """
    import logging

    for warm_up in _WORKER_WARM_UPS:
        try:
            warm_up()
        except Exception:
            logging.getLogger(__name__).exception("PDF worker warm-up %s failed", warm_up)
        else:
            _WARMED.add(warm_up)
    gc.collect()
    gc.freeze()


def _worker_start(warm_up: Callable[[], None] | None) -> None:
    """A render worker's start: load what every chunk needs (unless the fork server did), then keep the
    garbage collector off it.

    Everything loaded by then (modules, the parsed stylesheet, fonts, templates) lives as long as the worker,
    so ``gc.freeze()`` moves it out of the collector's sight: collections during a chunk then walk only that
    chunk's objects instead of the whole heap. Frozen in the fork server already, the inherited objects are
    not even touched (a collection would write to every one of them and copy their pages into the worker).
    """
    if warm_up is not None and warm_up not in _WARMED:
        warm_up()
        _WARMED.add(warm_up)
        gc.collect()
    gc.freeze()


def _run_chunk(task: tuple[Callable[[Any], bytes], Any]) -> tuple[bytes, int]:
    """In a worker: render one chunk with the garbage collector paused; (PDF bytes, the worker's peak RSS).

    WeasyPrint allocates hundreds of thousands of small objects per chunk, which would set off dozens of
    collections of a growing heap; reference counting frees nearly all of them when the chunk is done, and
    one collection afterwards takes the few cycles.
    """
    render_chunk, job = task
    gc.disable()
    try:
        data = render_chunk(job)
    finally:
        gc.enable()
    gc.collect()
    return data, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


#: The fork server imports this module first (from this folder, on its ``PYTHONPATH`` only): it lets the
#: renderers be imported without ``eventsys/__init__`` and the web stack it loads (see the module).
_BOOT_FOLDER = Path(__file__).resolve().parent / "pdf_boot"
_BOOT_MODULE = "eventsys_pdf_boot"
#: ... and this one last: it runs the renderers' warm-ups (``warm_up_workers``) before any worker is forked.
_WARM_MODULE = "eventsys_pdf_warm"


def _pool_context(preload: Sequence[str]) -> multiprocessing.context.ForkServerContext:
    """The forkserver context, its server started: workers are forked from a lean server process that has
    imported only WeasyPrint and the renderer modules (``preload``), not from the caller, which may hold an
    app and a thousand rows. The server lives until this process exits and serves every later batch."""
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([_BOOT_MODULE, __name__, *preload, _WARM_MODULE])
    # The server is a new interpreter started with this process's environment (Python 3.11 ignores the
    # sys.path it is handed): the boot folder and the app's root go on its PYTHONPATH for its start only.
    saved = os.environ.get("PYTHONPATH")
    paths = [str(_BOOT_FOLDER), str(STATIC_ROOT.parent), *([saved] if saved else [])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    try:
        forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return context


def start_workers(preload: Sequence[str] = ()) -> None:
    """Start the process that render workers fork from now, so that its imports overlap the caller's own
    work (loading rows). Optional: ``render_chunks`` starts it when needed."""
    _pool_context(preload)


class PDFConcatenator:
    """Writes PDFs one after the other into one PDF file, page by page as they arrive, in little memory.

    pypdf's ``PdfWriter.append`` keeps every object of every chunk until the end (a thousand badges: 50 MB
    in the process that merges, and 30 ms a chunk to clone them). Here each chunk's objects are read with
    pypdf, renumbered and written to ``out`` at once; only the byte offsets of the objects (for the cross-
    reference table) and the page numbers are kept. Everything reachable from the pages is copied (content,
    resources, fonts, images); the page tree, catalogue (its ``/Lang`` is kept) and document information are
    written anew at the end. Outlines and named destinations are not carried over: badges and certificates
    have none.
    """

    def __init__(self, out: IO[bytes]) -> None:
        _import_pypdf()
        self.out = out
        self.start = out.tell() if out.seekable() else 0
        self.written = 0
        self.offsets: list[int | None] = [None]  # object 0 is the free list head
        self.page_ids: list[int] = []
        self.lang: Any = None
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self.pages_id = self._reserve()

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.written += len(data)

    def _reserve(self) -> int:
        self.offsets.append(None)
        return len(self.offsets) - 1

    def _write_object(self, number: int, obj: Any) -> None:
        from pypdf.generic import PdfObject

        buffer = io.BytesIO()
        assert isinstance(obj, PdfObject)
        obj.write_to_stream(buffer)
        self.offsets[number] = self.written
        self._write(b"%d 0 obj\n%s\nendobj\n" % (number, buffer.getvalue()))

    def add(self, reader: Any, pages: Sequence[Any] | None = None, *, used_resources_only: bool = False) -> int:
        """Append ``pages`` (default: all) of ``reader`` (a ``pypdf.PdfReader``); returns how many.

        WeasyPrint gives every page of a document the same resources (all its images and fonts); with
        ``used_resources_only`` a page takes along only the images and fonts its content draws with (for
        one page out of a chunk: one person's certificate, not the whole chunk's QR codes).
        """

        numbers: dict[int, int] = {}
        queue: list[int] = []

        def number_for(reference: IndirectObject) -> int:
            if reference.idnum not in numbers:
                numbers[reference.idnum] = self._reserve()
                queue.append(reference.idnum)
            return numbers[reference.idnum]

        if self.lang is None:
            self.lang = reader.trailer["/Root"].get_object().get("/Lang")
        references = [page.indirect_reference for page in (reader.pages if pages is None else pages)]
        page_numbers = {reference.idnum for reference in references}
        for reference in references:
            self.page_ids.append(number_for(reference))
        parent = IndirectObject(self.pages_id, 0, None)  # type: ignore[arg-type]
        while queue:
            idnum = queue.pop(0)
            obj = reader.get_object(idnum)
            if idnum in page_numbers:
                page = DictionaryObject(obj)
                if used_resources_only and "/Resources" in page:
                    page[NameObject("/Resources")] = _used_resources(obj)
                page[NameObject("/Parent")] = parent
                obj = page
            self.offsets[numbers[idnum]] = self.written
            self._write(b"%d 0 obj\n%s\nendobj\n" % (numbers[idnum], _serialized(obj, number_for, self.pages_id)))
        return len(references)

    def finish(self, title: str = "") -> int:
        """Write the page tree, catalogue, information and cross-reference table; returns the page count."""
        from pypdf.generic import (
            ArrayObject,
            DictionaryObject,
            IndirectObject,
            NameObject,
            NumberObject,
            TextStringObject,
        )

        def ref(number: int) -> IndirectObject:
            return IndirectObject(number, 0, None)  # type: ignore[arg-type]

        tree = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Kids"): ArrayObject(ref(number) for number in self.page_ids),
                NameObject("/Count"): NumberObject(len(self.page_ids)),
            }
        )
        self._write_object(self.pages_id, tree)
        catalog = DictionaryObject(
            {NameObject("/Type"): NameObject("/Catalog"), NameObject("/Pages"): ref(self.pages_id)}
        )
        if self.lang is not None:
            catalog[NameObject("/Lang")] = self.lang
        catalog_id = self._reserve()
        self._write_object(catalog_id, catalog)
        info = DictionaryObject({NameObject("/Producer"): TextStringObject("eventsys (WeasyPrint)")})
        if title:
            info[NameObject("/Title")] = TextStringObject(title)
        info_id = self._reserve()
        self._write_object(info_id, info)
        xref = self.written
        lines = [b"xref\n0 %d\n" % len(self.offsets), b"0000000000 65535 f \n"]
        for offset in self.offsets[1:]:
            assert offset is not None, "an object was referenced but never written"
            lines.append(b"%010d 00000 n \n" % offset)
        self._write(b"".join(lines))
        self._write(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(self.offsets), catalog_id, info_id, xref)
        )
        return len(self.page_ids)


def _import_pypdf() -> None:
    """pypdf's object classes, imported when first needed (render workers never merge: their fork server
    starts a tenth of a second sooner without it)."""
    global ArrayObject, DictionaryObject, FloatObject, IndirectObject, NameObject, NumberObject, StreamObject
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        IndirectObject,
        NameObject,
        NumberObject,
        StreamObject,
    )


_NAMES: dict[str, bytes] = {}
#: Long arrays of numbers (glyph widths) already written while splitting one chunk, by id (object, bytes).
_NUMBER_ARRAYS: dict[int, tuple[Any, bytes]] = {}


def _numbers_only(array: Any) -> bool:
    """Whether ``array`` holds only numbers and arrays of numbers (a font's glyph widths)."""
    return all(
        type(item) is NumberObject
        or type(item) is FloatObject
        or (isinstance(item, ArrayObject) and all(type(i) is NumberObject or type(i) is FloatObject for i in item))
        for item in array
    )


def _serialized(obj: Any, number_for: Callable[[Any], int], own: int) -> bytes:
    """``obj`` as PDF syntax, its references renumbered by ``number_for`` (one pass, no copies).

    pypdf's own ``write_to_stream`` escapes every name character by character and goes through a stream for
    every number; fonts carry thousands of them (glyph widths), so names are cached and numbers formatted
    here. A reference to object number ``own`` made by the caller (the new page tree) is written as it is.
    """
    kind = type(obj)
    if kind is NumberObject:
        return b"%d" % obj
    if kind is FloatObject:
        return obj.myrepr().encode()
    if kind is NameObject:
        name = _NAMES.get(obj)
        if name is None:
            buffer = io.BytesIO()
            obj.write_to_stream(buffer)
            name = _NAMES[obj] = buffer.getvalue()
        return name
    if kind is IndirectObject:
        return b"%d 0 R" % (own if obj.pdf is None and obj.idnum == own else number_for(obj))
    if isinstance(obj, ArrayObject):
        cached = _NUMBER_ARRAYS.get(id(obj))
        if cached is not None and cached[0] is obj:
            return cached[1]
        data = b"[" + b" ".join([_serialized(item, number_for, own) for item in obj]) + b"]"
        if len(obj) > 8 and _numbers_only(obj):
            _NUMBER_ARRAYS[id(obj)] = (obj, data)  # glyph widths: the same for every page of a chunk
        return data
    if isinstance(obj, DictionaryObject):
        items = [
            _serialized(NameObject(key), number_for, own) + b" " + _serialized(value, number_for, own)
            for key, value in obj.items()
            if key != "/Length"
        ]
        if isinstance(obj, StreamObject):
            items.append(b"/Length %d" % len(obj._data))
            return b"<<" + b"\n".join(items) + b">>\nstream\n" + obj._data + b"\nendstream"
        return b"<<" + b"\n".join(items) + b">>"
    buffer = io.BytesIO()
    obj.write_to_stream(buffer)
    return buffer.getvalue()


_DRAWN_XOBJECT = re.compile(rb"/([^\s/<>\[\]()%]+)\s+Do\b")
_SET_FONT = re.compile(rb"/([^\s/<>\[\]()%]+)\s+[-+.\d]+\s+Tf\b")


def _used_resources(page: Any) -> Any:
    """``page``'s resources with only the images (``Do``) and fonts (``Tf``) its content stream names."""

    contents = page["/Contents"].get_object()
    streams = [item.get_object() for item in contents] if isinstance(contents, ArrayObject) else [contents]
    content = b"\n".join(stream.get_data() for stream in streams)
    used = {
        "/XObject": {b"/" + name for name in _DRAWN_XOBJECT.findall(content)},
        "/Font": {b"/" + name for name in _SET_FONT.findall(content)},
    }
    resources = DictionaryObject(page["/Resources"].get_object())
    for kind, names in used.items():
        if kind in resources:
            entries = resources[kind].get_object()
            resources[NameObject(kind)] = DictionaryObject(
                {NameObject(key): value for key, value in entries.items() if key.encode() in names}
            )
    return resources


def split_pages(reader: Any, titles: Sequence[str]) -> list[bytes]:
    """One PDF per page of ``reader`` (a ``pypdf.PdfReader``), each with only what its page uses, titled."""
    out = []
    _NUMBER_ARRAYS.clear()
    for page, title in zip(reader.pages, titles, strict=True):
        buffer = io.BytesIO()
        single = PDFConcatenator(buffer)
        single.lang = reader.trailer["/Root"].get_object().get("/Lang")
        single.add(reader, [page], used_resources_only=True)
        single.finish(title)
        out.append(buffer.getvalue())
    _NUMBER_ARRAYS.clear()
    return out


def render_chunks(
    render_chunk: Callable[[Job], bytes],
    jobs: Sequence[Job],
    out: IO[bytes],
    *,
    title: str = "",
    processes: int = PROCESSES,
    warm_up: Callable[[], None] | None = None,
    preload: Sequence[str] = (),
    chunks_per_worker: int | None = None,
    on_chunk: Callable[[Job, Any], None] | None = None,
) -> int:
    """Render ``jobs`` (one PDF each) and write them, in order, as one PDF to ``out``; returns its pages.

    ``render_chunk`` and ``warm_up`` are module-level functions (they are sent to worker processes by name);
    ``preload`` names the modules they live in. With ``processes`` > 1 and more than one job, the chunks are
    rendered on that many workers, each warmed up once and replaced after ``chunks_per_worker`` chunks
    (None: never) to bound its memory. Each chunk is written to ``out`` as it arrives (``PDFConcatenator``),
    then ``on_chunk(job, reader)`` is called with its ``pypdf.PdfReader`` (progress, checks, per-person files).
    """
    from pypdf import PdfReader

    global _worker_peak_kib
    merged = PDFConcatenator(out)

    def merge(job: Job, data: bytes) -> None:
        reader = PdfReader(io.BytesIO(data))
        merged.add(reader)
        if on_chunk is not None:
            on_chunk(job, reader)

    if processes <= 1 or len(jobs) <= 1:
        for job in jobs:
            merge(job, render_chunk(job))
    else:
        context = _pool_context(preload)
        with context.Pool(
            min(processes, len(jobs)), _worker_start, (warm_up,), maxtasksperchild=chunks_per_worker
        ) as pool:
            results = pool.imap(_run_chunk, [(render_chunk, job) for job in jobs])
            for job, (data, peak) in zip(jobs, results, strict=True):
                _worker_peak_kib = max(_worker_peak_kib, peak)
                merge(job, data)
    return merged.finish(title)


def peak_rss_mb() -> float:
    """The largest resident set of this process, its finished children or any render worker it used, in MB.

    Render workers are children of the fork server, not of this process, so they report their own peak with
    every chunk (Linux ``ru_maxrss``, in KiB).
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children, _worker_peak_kib) / 1024
