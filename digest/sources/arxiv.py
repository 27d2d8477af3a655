"""arXiv: parse export-API Atom and RSS (pure), and a polite client for the export API and RSS feeds."""

from __future__ import annotations

import datetime as dt
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import httpx

from digest.config import ArxivConfig
from digest.errors import FetchError, ParseError
from digest.ids import parse_id
from digest.models import Paper
from digest.retrying import retry_after_header
from digest.sources.http import (
    TRANSIENT_EXCEPTIONS,
    Gate,
    is_transient_status,
    one_line,
    public_url,
)

ET_ZONE = ZoneInfo("America/New_York")  # arXiv's clock: RSS dates are listing days in US Eastern
ID_BATCH = 100  # ids per id_list request
_MAX_RETRY_AFTER_S = 300.0

# Real arXiv categories (cs.CV, cond-mat.mtrl-sci, q-bio.NC, hep-th); not ACM/MSC classes (I.4.10, 68T07).
_CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[a-z]+)*)?$")
_ANNOUNCE = re.compile(r"Announce Type:\s*([A-Za-z-]+)")
_PARAGRAPH = re.compile(r"\n\s*\n|\n[ \t]+")  # arXiv marks a new paragraph by an indented line


def split_id(text: str) -> tuple[str, int | None]:
    """'http://arxiv.org/abs/2510.14968v1' -> ('2510.14968', 1); raise ValueError if no arXiv id."""
    return parse_id(text)


def clean_title(text: str) -> str:
    """Collapse hard line wraps and runs of whitespace to single spaces."""
    return " ".join(text.split())


def clean_abstract(text: str) -> str:
    """Unwrap hard line wraps into spaces, keeping paragraphs (separated by a blank line)."""
    text = text.replace("\r\n", "\n").strip()
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def arxiv_categories(terms: Iterable[str]) -> list[str]:
    """Keep real arXiv categories, in order and without duplicates; drop ACM/MSC class strings."""
    seen: list[str] = []
    for term in terms:
        term = term.strip()
        if _CATEGORY.match(term) and term not in seen:
            seen.append(term)
    return seen


def _local(tag: object) -> str:
    # Match on local names: arXiv declares namespaces on the root or on each element, and some
    # recorded feeds use no namespace at all.
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element, name: str) -> str:
    for c in el:
        if _local(c.tag) == name:
            return "".join(c.itertext())
    return ""


def _optional(text: str) -> str | None:
    return clean_title(text) or None


def _datetime(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _xml(text: str, what: str) -> ET.Element:
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError(f"{what}: {exc}") from exc


def _error_summary(entry: ET.Element) -> str | None:
    """The message of arXiv's error entry (id http://arxiv.org/api/errors#...), None for a paper."""
    raw_id = _text(entry, "id").strip()
    if "arxiv.org/api/errors" not in raw_id:
        return None
    return clean_title(_text(entry, "summary")) or raw_id


@dataclass(frozen=True)
class AtomPage:
    """One page of an export-API answer."""

    papers: list[Paper]
    total_results: int
    start_index: int
    items_per_page: int


def _int(root: ET.Element, name: str, default: int) -> int:
    text = _text(root, name).strip()
    try:
        return int(text)
    except ValueError:
        return default


def _entry_paper(entry: ET.Element) -> Paper:
    raw_id = _text(entry, "id").strip()
    error = _error_summary(entry)
    if error is not None:
        raise ParseError(f"arXiv export API reported an error: {error} (check the query or ids sent)")
    try:
        paper_id, version = split_id(raw_id)
    except ValueError as exc:
        raise ParseError(f"arXiv export API entry has no recognisable arXiv id ({raw_id!r}); "
                         "the Atom format may have changed") from exc
    categories = arxiv_categories(c.get("term", "") for c in _children(entry, "category"))
    primary = next((c.get("term", "").strip() for c in _children(entry, "primary_category")), "")
    if not _CATEGORY.match(primary):
        primary = categories[0] if categories else ""
    if primary and primary not in categories:
        categories.insert(0, primary)
    return Paper(
        id=paper_id,
        version=version,
        title=clean_title(_text(entry, "title")),
        authors=[clean_title(_text(a, "name")) for a in _children(entry, "author") if _text(a, "name").strip()],
        abstract=clean_abstract(_text(entry, "summary")),
        categories=categories,
        primary_category=primary or None,
        comment=_optional(_text(entry, "comment")),
        journal_ref=_optional(_text(entry, "journal_ref")),
        published=_datetime(_text(entry, "published")),
        updated=_datetime(_text(entry, "updated")),
    )


def parse_atom(text: str) -> AtomPage:
    """Parse one export-API Atom page; raise ParseError for malformed XML or arXiv's error feed."""
    root = _xml(text, "arXiv export API returned malformed Atom")
    if _local(root.tag) != "feed":
        raise ParseError(f"arXiv export API returned malformed Atom: root element is <{_local(root.tag)}>, "
                         "expected <feed>")
    papers = [_entry_paper(e) for e in _children(root, "entry")]
    return AtomPage(
        papers=papers,
        total_results=_int(root, "totalResults", len(papers)),
        start_index=_int(root, "startIndex", 0),
        items_per_page=_int(root, "itemsPerPage", len(papers)),
    )


@dataclass(frozen=True)
class RssItem:
    """One item of an arXiv RSS feed."""

    id: str
    version: int | None
    announce_type: str | None  # new, cross, replace, replace-cross
    title: str
    abstract: str
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    @property
    def primary_category(self) -> str | None:
        """The item's first category, which arXiv lists first as the primary one."""
        return self.categories[0] if self.categories else None

    def to_paper(self) -> Paper:
        """A Paper from the feed's own fields (no comment, dates or journal ref)."""
        return Paper(id=self.id, version=self.version, title=self.title, authors=list(self.authors),
                     abstract=self.abstract, categories=list(self.categories),
                     primary_category=self.primary_category)


@dataclass(frozen=True)
class RssFeed:
    """An arXiv RSS feed: the listing date it carries and its items (none on holidays)."""

    date: dt.date | None
    items: list[RssItem]


def _rss_date(channel: ET.Element) -> dt.date | None:
    for name in ("pubDate", "lastBuildDate"):
        text = _text(channel, name).strip()
        if not text:
            continue
        try:
            stamp = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            continue
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        return stamp.astimezone(ET_ZONE).date()
    return None


def _rss_item(item: ET.Element) -> RssItem | None:
    description = _text(item, "description")
    for raw in (_text(item, "guid"), description.split(" ", 1)[0], _text(item, "link")):
        try:
            paper_id, version = split_id(raw.removeprefix("arXiv:"))
            break
        except ValueError:
            continue
    else:
        return None
    announce = _text(item, "announce_type").strip().lower()
    if not announce:
        match = _ANNOUNCE.search(description)
        announce = match.group(1).lower() if match else ""
    _, has_abstract, abstract = description.partition("Abstract:")
    authors = [a.strip() for a in _text(item, "creator").split(",") if a.strip()]
    return RssItem(
        id=paper_id,
        version=version,
        announce_type=announce or None,
        title=clean_title(_text(item, "title")),
        abstract=clean_abstract(abstract if has_abstract else description),
        authors=[clean_title(a) for a in authors],
        categories=arxiv_categories("".join(c.itertext()) for c in _children(item, "category")),
    )


def parse_rss(text: str) -> RssFeed:
    """Parse an arXiv RSS 2.0 feed; raise ParseError if it is not one."""
    root = _xml(text, "arXiv RSS feed is malformed XML")
    channel = root if _local(root.tag) == "channel" else next(iter(_children(root, "channel")), None)
    if channel is None:
        raise ParseError(f"arXiv RSS feed has no <channel> (root <{_local(root.tag)}>); the feed format changed")
    items = [_rss_item(i) for i in _children(channel, "item")]
    return RssFeed(date=_rss_date(channel), items=[i for i in items if i is not None])


def _utc_minute(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"window bound {value.isoformat()} must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y%m%d%H%M")


def window_query(category: str, start: dt.datetime, end: dt.datetime) -> str:
    """The export-API search_query for submissions to `category` between start and end (in GMT)."""
    return f"cat:{category} AND submittedDate:[{_utc_minute(start)} TO {_utc_minute(end)}]"


class ArxivClient:
    """Polite export-API and RSS client: one request at a time, min_interval_s apart, with retries."""

    def __init__(self, cfg: ArxivConfig, http: httpx.Client, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.http = http
        self.sleep = sleep
        self.gate = Gate(cfg.min_interval_s, sleep=sleep, clock=clock)
        self.requests = 0  # HTTP requests sent, for run reports

    def _send(self, url: str, params: dict[str, str | int] | None) -> httpx.Response:
        self.gate.wait_turn()
        self.requests += 1
        return self.http.get(url, params=params, timeout=self.cfg.timeout_s, follow_redirects=True)

    def _page(self, params: dict[str, str | int], *, start: int) -> AtomPage:
        """GET one export-API page, retrying transient failures and transient empty pages."""
        url = self.cfg.api_url
        base_delay = max(self.cfg.min_interval_s, 1.0)
        last = "no answer"
        attempts = self.cfg.max_retries + 1
        hint: float | None = None
        with self.gate.lock:
            for attempt in range(attempts):
                if attempt:
                    # Exponential backoff; a server's Retry-After wins when longer (capped: never hang).
                    self.sleep(max(base_delay * 2 ** (attempt - 1), min(hint or 0.0, _MAX_RETRY_AFTER_S)))
                try:
                    response = self._send(url, params)
                except TRANSIENT_EXCEPTIONS as exc:
                    last, hint = f"{type(exc).__name__}: {one_line(exc)}", None
                    continue
                status = response.status_code
                if is_transient_status(status):
                    last, hint = f"HTTP {status}", retry_after_header(response.headers.get("Retry-After"))
                    continue
                if status != 200:
                    raise FetchError(f"arXiv export API {public_url(url)} answered HTTP {status}"
                                     f"{_error_detail(response.text)}; the request was refused, check sources.arxiv")
                page = parse_atom(response.text)
                if not page.papers and start < page.total_results:
                    # arXiv sometimes answers a page with no entries though more remain; ask again.
                    last, hint = f"empty page at start={start} of {page.total_results} results", None
                    continue
                return page
        raise FetchError(f"arXiv export API {public_url(url)} failed after {attempts} attempt(s) "
                         f"(last: {last}); arXiv may be down or rate-limiting, try again later")

    def _all_pages(self, params: dict[str, str | int], *, page_size: int) -> list[Paper]:
        papers: dict[str, Paper] = {}
        start = 0
        while True:
            page = self._page({**params, "start": start, "max_results": page_size}, start=start)
            for paper in page.papers:
                papers.setdefault(paper.id, paper)
            start += len(page.papers)
            if not page.papers or start >= page.total_results:
                return list(papers.values())

    def search_window(self, category: str, start: dt.datetime, end: dt.datetime) -> list[Paper]:
        """Every paper in `category` submitted between start and end, oldest first, all pages."""
        params: dict[str, str | int] = {"search_query": window_query(category, start, end),
                                        "sortBy": "submittedDate", "sortOrder": "ascending"}
        return self._all_pages(params, page_size=self.cfg.page_size)

    def by_ids(self, ids: Iterable[str]) -> list[Paper]:
        """The latest version of each paper id (unknown ids are left out), 100 ids per request."""
        unique = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        papers: list[Paper] = []
        for i in range(0, len(unique), ID_BATCH):
            batch = unique[i:i + ID_BATCH]
            papers += self._all_pages({"id_list": ",".join(batch)}, page_size=len(batch))
        return papers

    def rss(self, category: str) -> str | None:
        """The raw RSS feed of `category`, or None on any failure (RSS is optional)."""
        url = f"{self.cfg.rss_url.rstrip('/')}/{category}"
        with self.gate.lock:
            try:
                response = self._send(url, None)
            except (httpx.HTTPError, httpx.InvalidURL):
                return None
        return response.text if response.status_code == 200 else None


def _error_detail(text: str) -> str:
    """' (message)' from an error feed sent with a 4xx, else ''."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return ""
    summaries = [m for m in (_error_summary(e) for e in _children(root, "entry")) if m]
    return f" ({'; '.join(summaries)})" if summaries else ""
