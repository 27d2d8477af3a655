"""arXiv's export API through the `arxiv` package, behind the politeness gate shared with RSS and PDFs.

The package pages the answers and parses them. Three things it cannot do are done here, each small:
one gate for every arXiv request (its delay is per client and on the wall clock), retries that honour
Retry-After (tenacity; the package retries at once, on any status), and telling a broken answer or a
broken entry from an empty one (it turns both into fewer results, silently).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import arxiv
import httpx
import requests

from digest.config import ArxivConfig
from digest.errors import FetchError, ParseError
from digest.fetch.http import (
    TRANSIENT_EXCEPTIONS,
    Gate,
    Transient,
    one_line,
    public_url,
    raise_if_transient,
)
from digest.ids import parse_id
from digest.models import Paper

log = logging.getLogger("digest.fetch.arxiv")
ID_BATCH = 100  # ids per id_list request: keeps the URL short
_ATOM = "{http://www.w3.org/2005/Atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_NETWORK_FAILURES = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)

# Real arXiv categories (cs.CV, cond-mat.mtrl-sci, q-bio.NC, hep-th); not ACM/MSC classes (I.4.10, 68T07).
_CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[a-z]+)*)?$")
_PARAGRAPH = re.compile(r"\n\s*\n|\n[ \t]+")  # arXiv marks a new paragraph by an indented line


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


def _optional(text: str | None) -> str | None:
    return clean_title(text or "") or None


def paper_from_result(result: arxiv.Result) -> Paper:
    """A Paper from one result of the `arxiv` package; ValueError when its entry id holds no arXiv id."""
    paper_id, version = parse_id(result.entry_id)
    categories = arxiv_categories(result.categories)
    primary = (result.primary_category or "").strip()
    if not _CATEGORY.match(primary):
        primary = categories[0] if categories else ""
    if primary and primary not in categories:
        categories.insert(0, primary)
    return Paper(
        id=paper_id,
        version=version,
        title=clean_title(result.title),
        authors=[clean_title(a.name) for a in result.authors if a.name.strip()],
        abstract=clean_abstract(result.summary),
        categories=categories,
        primary_category=primary or None,
        comment=_optional(result.comment),
        journal_ref=_optional(result.journal_ref),
        published=result.published,
        updated=result.updated,
    )


def _error_summary(entry: ET.Element) -> str | None:
    """The message of arXiv's error entry (id http://arxiv.org/api/errors#...), None for a paper."""
    raw_id = (entry.findtext(f"{_ATOM}id") or "").strip()
    if "arxiv.org/api/errors" not in raw_id:
        return None
    return clean_title(entry.findtext(f"{_ATOM}summary") or "") or raw_id


def check_answer(text: str | bytes, *, start: int = 0) -> bytes:
    """The export-API Atom page without the entries the `arxiv` package cannot read, each named in a warning.

    Raises ParseError unless `text` is an Atom page. The package reads a broken answer as an empty page,
    drops an entry without <id> unnamed and raises on one unreadable date, losing the whole page; here the
    first is an error and the others cost one paper each, named. A page with no entries though more
    results remain is Transient (arXiv's index blinks; ask again).
    """
    raw = text.encode() if isinstance(text, str) else text
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ParseError(f"arXiv export API returned malformed Atom: {exc}") from exc
    if root.tag != f"{_ATOM}feed":
        raise ParseError(
            f"arXiv export API returned malformed Atom: root element is <{root.tag}>, expected an Atom <feed>"
        )
    entries = root.findall(f"{_ATOM}entry")
    total = (root.findtext(f"{_OPENSEARCH}totalResults") or "").strip()
    if not entries and total.isdigit() and start < int(total):
        raise Transient(f"empty page at start={start} of {total}")
    broken = []
    for position, entry in enumerate(entries, start + 1):
        error = _error_summary(entry)
        if error is not None:
            raise ParseError(f"arXiv export API reported an error: {error} (check the query or ids sent)")
        problem = _entry_problem(entry)
        if problem:
            title = clean_title(entry.findtext(f"{_ATOM}title") or "") or "(no title)"
            log.warning(
                "arXiv export API entry %d %r has %s: skipped, the rest is kept", position, title, problem
            )
            broken.append(entry)
    if not broken:
        return raw
    for entry in broken:
        root.remove(entry)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _entry_problem(entry: ET.Element) -> str | None:
    """Why the arxiv package or paper_from_result cannot read this entry, None when it is usable."""
    raw_id = (entry.findtext(f"{_ATOM}id") or "").strip()
    if not raw_id:
        return "no <id>"
    try:
        parse_id(raw_id)
    except ValueError:
        return f"the <id> {raw_id[:80]!r}, not an arXiv id"
    for name in ("published", "updated"):
        stamp = (entry.findtext(f"{_ATOM}{name}") or "").strip()
        if not stamp:
            return f"no <{name}>"
        try:  # as the package reads it
            dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return f"the <{name}> {stamp[:40]!r}, not a date"
    return None


def _error_detail(text: str) -> str:
    """' (message)' from an error feed sent with a 4xx, else ''."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return ""
    found = [m for m in (_error_summary(e) for e in root.iter(f"{_ATOM}entry")) if m]
    return f" ({'; '.join(found)})" if found else ""


class _GatedSession(requests.Session):
    """The `arxiv` package's HTTP session: the shared gate, a timeout, our User-Agent, answers checked."""

    def __init__(self, cfg: ArxivConfig, gate: Gate, user_agent: str | None) -> None:
        super().__init__()
        self.cfg = cfg
        self.gate = gate
        self.user_agent = user_agent
        self.requests = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Send one export-API request in its turn; raise Transient, FetchError or ParseError for a bad answer."""
        headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items() if k.lower() != "user-agent"}
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        kwargs.setdefault("timeout", self.cfg.timeout_s)
        with self.gate.lock:
            self.gate.wait_turn()
            self.requests += 1
            try:
                response = super().request(method, url, *args, headers=headers, **kwargs)
            except _NETWORK_FAILURES as exc:
                raise Transient.of(exc) from exc
            except requests.RequestException as exc:
                raise FetchError(
                    f"arXiv export API {public_url(str(url))} failed: {one_line(exc)}; "
                    "check sources.arxiv.api_url"
                ) from exc
        raise_if_transient(response.status_code, response.headers.get("Retry-After"))
        if response.status_code != 200:
            raise FetchError(
                f"arXiv export API {public_url(str(url))} answered HTTP {response.status_code}"
                f"{_error_detail(response.text)}; the request was refused, check sources.arxiv"
            )
        start = parse_qs(urlsplit(str(url)).query).get("start", ["0"])[0]
        # the package reads response.content: hand it the page without the entries it cannot read
        response._content = check_answer(response.content, start=int(start) if start.isdigit() else 0)
        return response


class ArxivClient:
    """Polite arXiv client: the export API (via `arxiv`) and RSS, one request at a time, min_interval_s apart."""

    def __init__(
        self,
        cfg: ArxivConfig,
        http: httpx.Client,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.http = http
        self.sleep = sleep
        self.gate = Gate(cfg.min_interval_s, sleep=sleep, clock=clock)
        # The package's own delay and retries are off: the gate spaces requests (across API, RSS and PDFs,
        # on an injectable clock) and tenacity retries (with backoff and the server's Retry-After).
        self.api = arxiv.Client(page_size=cfg.page_size, delay_seconds=0, num_retries=0)
        self.api.query_url_format = f"{cfg.api_url}?{{}}"
        self._session = _GatedSession(cfg, self.gate, http.headers.get("User-Agent"))
        self._rss_requests = 0
        # arxiv.Client takes no session argument; its requests go through this attribute.
        self.api._session = self._session

    @property
    def requests(self) -> int:
        """HTTP requests sent to arXiv so far, for run reports."""
        return self._session.requests + self._rss_requests

    def _collect(self, search: arxiv.Search) -> list[Paper]:
        """Every result of `search`, all pages; a retry resumes at the first result not yet read."""
        papers: dict[str, Paper] = {}
        read = 0

        def pages() -> None:
            nonlocal read
            try:
                for result in self.api.results(search, offset=read):
                    read += 1
                    try:
                        paper = paper_from_result(result)
                    except ValueError:
                        continue  # check_answer has named it
                    papers.setdefault(paper.id, paper)
            except arxiv.UnexpectedEmptyPageError as exc:  # past the last page: the total shrank meanwhile
                raise Transient(f"empty page at start={read}") from exc
            except ValueError as exc:  # a date the package cannot read
                raise ParseError(f"arXiv export API answer could not be read: {one_line(exc)}") from exc

        attempts = self.cfg.max_retries + 1
        try:
            with self.gate.lock:  # backoff holds the gate too: nothing else goes to arXiv meanwhile
                self.gate.retry_policy(attempts)(pages)
        except Transient as exc:
            raise FetchError(
                f"arXiv export API {public_url(self.cfg.api_url)} failed after {attempts} attempt(s) "
                f"(last: {exc}); arXiv may be down or rate-limiting, try again later"
            ) from exc
        return list(papers.values())

    def search_window(self, category: str, start: dt.datetime, end: dt.datetime) -> list[Paper]:
        """Every paper in `category` submitted between start and end, oldest first, all pages."""
        return self._collect(
            arxiv.Search(
                query=window_query(category, start, end),
                max_results=None,
                sort_by=arxiv.SortCriterion.SubmittedDate,
                sort_order=arxiv.SortOrder.Ascending,
            )
        )

    def by_ids(self, ids: Iterable[str]) -> list[Paper]:
        """The latest version of each paper id (unknown ids are left out), ID_BATCH ids per request."""
        unique = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        papers: list[Paper] = []
        for i in range(0, len(unique), ID_BATCH):
            papers += self._collect(arxiv.Search(id_list=unique[i : i + ID_BATCH], max_results=None))
        return papers

    def rss(self, category: str) -> str | None:
        """The raw RSS feed of `category`, or None on any failure (RSS is optional)."""
        url = f"{self.cfg.rss_url.rstrip('/')}/{category}"

        def get() -> httpx.Response:
            self.gate.wait_turn()
            self._rss_requests += 1
            try:
                response = self.http.get(url, timeout=self.cfg.timeout_s, follow_redirects=True)
            except TRANSIENT_EXCEPTIONS as exc:
                raise Transient.of(exc) from exc
            raise_if_transient(response.status_code, response.headers.get("Retry-After"))
            return response

        with self.gate.lock:
            try:
                response = self.gate.retry_policy(2)(get)
            except (Transient, httpx.HTTPError, httpx.InvalidURL):
                return None
        return response.text if response.status_code == 200 else None


def _utc_minute(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"window bound {value.isoformat()} must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y%m%d%H%M")


def window_query(category: str, start: dt.datetime, end: dt.datetime) -> str:
    """The export-API search_query for submissions to `category` between start and end (in GMT)."""
    return f"cat:{category} AND submittedDate:[{_utc_minute(start)} TO {_utc_minute(end)}]"
