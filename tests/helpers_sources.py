"""A fake arXiv + HuggingFace built from recorded payloads, for the source and fetch tests.

FakeServices.handle answers like the real services: the export API parses `search_query`
(cat:X AND submittedDate:[A TO B]) or `id_list` and pages with start/max_results; RSS feeds and
HF daily lists are served per category/date. It runs behind httpx.MockTransport or a real local
HTTP server (LocalServer), with scripted faults and a request log on a fake clock.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import textwrap
import threading
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import httpx

from digest.models import Announcement

FIXTURES = Path(__file__).parent / "fixtures"
DAY = dt.date(2025, 6, 2)  # digest date (Asia/Shanghai) of the recorded cs.CV listing
ET = dt.timezone(dt.timedelta(hours=-4))  # US Eastern daylight time in June
ANNOUNCEMENT = Announcement(  # Sunday 2025-06-01 20:00 ET: submissions Thu 14:00 ET to Fri 14:00 ET
    released=dt.datetime(2025, 6, 1, 20, 0, tzinfo=ET),
    window_start=dt.datetime(2025, 5, 29, 18, 0, tzinfo=dt.UTC),
    window_end=dt.datetime(2025, 5, 30, 18, 0, tzinfo=dt.UTC),
)
OLDER_CROSS = "2505.23798"  # cross-list of a paper submitted before the window: only RSS knows it
LATE = "2505.24062"  # given a time after the window: the API must leave it out
HF_OLD_CV = "2505.18842"  # on HF, not announced today, a cs.CV paper: an HF-only entry
EXTRA_CATEGORIES = {HF_OLD_CV: ["cs.CV", "cs.AI"]}  # HF-only papers' categories; others are cs.CL
_ATOM = "http://arxiv.org/schemas/atom"
_WINDOW = re.compile(r"^cat:(\S+) AND submittedDate:\[(\d{12}) TO (\d{12})\]$")


def fixture(name: str) -> str:
    """Text of tests/fixtures/NAME."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def day_records() -> list[dict]:
    """The recorded 2025-06-02 cs.CV listing, each record given a submission time.

    All fall inside the announcement window, 9 minutes apart in listing order, except OLDER_CROSS
    (two days earlier) and LATE (an hour after the window end).
    """
    rows = [json.loads(line) for line in fixture("days/arxiv_cs.CV_2025-06-02.jsonl").splitlines()]
    for i, row in enumerate(rows):
        row["published"] = ANNOUNCEMENT.window_start + dt.timedelta(minutes=5 + 9 * i)
        row["version"] = 1
    by_id = {r["id"]: r for r in rows}
    by_id[OLDER_CROSS]["published"] = ANNOUNCEMENT.window_start - dt.timedelta(days=2)
    by_id[LATE]["published"] = ANNOUNCEMENT.window_end + dt.timedelta(hours=1)
    return rows


def hf_records(text: str) -> list[dict]:
    """Export-API records for HF papers arXiv did not list today (categories from EXTRA_CATEGORIES)."""
    out = []
    for item in json.loads(text):
        paper = item["paper"]
        out.append(
            {
                "id": paper["id"],
                "version": 2,
                "title": paper["title"],
                "authors": [a["name"] for a in paper["authors"]],
                "abstract": paper["summary"],
                "categories": EXTRA_CATEGORIES.get(paper["id"], ["cs.CL", "cs.AI"]),
                "comment": None,
                "published": dt.datetime(2025, 5, 24, 12, 0, tzinfo=dt.UTC),
            }
        )
    return out


def _primary(record: dict) -> str:
    return next(c for c in record["categories"] if re.match(r"^[a-z-]+\.[A-Za-z-]+$|^[a-z-]+$", c))


def atom_entry(record: dict, *, style: str = "root") -> str:
    """One Atom <entry>; style 'root' (namespaces on the feed, primary without scheme) or 'element'."""
    stamp = record["published"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    title, abstract = record["title"], record["abstract"]
    cats = "".join(f'<category term={quoteattr(c)} scheme="{_ATOM}"/>' for c in record["categories"])
    authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in record["authors"])
    if style == "element":  # 2025 format: arXiv's hard wraps, namespaces declared on each element
        title = textwrap.fill(
            title, 70, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False
        )
        comment = (
            f'<arxiv:comment xmlns:arxiv="{_ATOM}">{escape(record["comment"])}</arxiv:comment>'
            if record.get("comment")
            else ""
        )
        primary = (
            f'<arxiv:primary_category xmlns:arxiv="{_ATOM}" term="{_primary(record)}" scheme="{_ATOM}"/>'
        )
        abstract = f"  {abstract}\n"
    else:
        comment = (
            f"<arxiv:comment>{escape(record['comment'])}</arxiv:comment>" if record.get("comment") else ""
        )
        primary = f'<arxiv:primary_category term="{_primary(record)}"/>'
    return (
        f"<entry><id>http://arxiv.org/abs/{record['id']}v{record['version']}</id>"
        f"<updated>{stamp}</updated><published>{stamp}</published><title>{escape(title)}</title>"
        f"<summary>{escape(abstract)}</summary>{authors}{comment}{primary}{cats}</entry>\n"
    )


def atom_feed(records: list[dict], *, total: int, start: int, per_page: int, style: str = "root") -> str:
    """An export-API answer page holding `records`."""
    entries = "".join(atom_entry(r, style=style) for r in records)
    if style == "element":
        os_ns = ' xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
        head = '<feed xmlns="http://www.w3.org/2005/Atom">'
    else:
        os_ns = ""
        head = (
            '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            f'xmlns:arxiv="{_ATOM}" xmlns="http://www.w3.org/2005/Atom">'
        )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?>\n{head}<id>https://arxiv.org/api/fake</id>"
        f"<title>arXiv Query</title><updated>2025-06-02T00:00:00Z</updated>"
        f"<opensearch:itemsPerPage{os_ns}>{per_page}</opensearch:itemsPerPage>"
        f"<opensearch:totalResults{os_ns}>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex{os_ns}>{start}</opensearch:startIndex>\n{entries}</feed>\n"
    )


def error_feed(message: str) -> str:
    """arXiv's error answer to a bad query."""
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        "<opensearch:totalResults>1</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex>"
        "<opensearch:itemsPerPage>1</opensearch:itemsPerPage>"
        f"<entry><id>http://arxiv.org/api/errors#{message.replace(' ', '_')}</id><title>Error</title>"
        f"<summary>{escape(message)}</summary><updated>2025-06-02T00:00:00-04:00</updated>"
        '<link href="http://arxiv.org/api/errors" rel="alternate" type="text/html"/>'
        "<author><name>arXiv api core</name></author></entry></feed>\n"
    )


def rss_feed(pub_date: str, items: list[tuple[dict, str]], *, type_elements: bool = True) -> str:
    """A cs.CV RSS feed dated `pub_date` (RFC 822) holding (record, announce_type) items."""
    body = []
    for record, kind in items:
        cats = "".join(f"<category>{escape(c)}</category>" for c in record["categories"])
        abstract = " ".join(record["abstract"].split())
        element = f"<arxiv:announce_type>{kind}</arxiv:announce_type>" if type_elements else ""
        body.append(
            f"<item><title>{escape(record['title'])}</title><link>https://arxiv.org/abs/{record['id']}</link>"
            f"<description>arXiv:{record['id']}v{record['version']} Announce Type: {kind} \n"
            f"Abstract: {escape(abstract)}</description>"
            f'<guid isPermaLink="false">oai:arXiv.org:{record["id"]}v{record["version"]}</guid>{cats}'
            f"<pubDate>{pub_date}</pubDate>{element}<dc:creator>{escape(', '.join(record['authors']))}"
            "</dc:creator></item>\n"
        )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<rss xmlns:arxiv="{_ATOM}" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>cs.CV updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.CV</link>"
        f"<pubDate>{pub_date}</pubDate>\n{''.join(body)}</channel></rss>\n"
    )


def listing_rss(records: list[dict], pub_date: str = "Mon, 02 Jun 2025 00:00:00 -0400") -> str:
    """The day's cs.CV feed: new for cs.CV-primary records, cross for the others, plus one replacement."""
    items = [(r, "new" if r["categories"][0] == "cs.CV" else "cross") for r in records if r["id"] != LATE]
    replaced = {
        "id": "2409.00001",
        "version": 3,
        "title": "An old paper, revised",
        "authors": ["A. Author"],
        "abstract": "Revised.",
        "categories": ["cs.CV"],
    }
    return rss_feed(pub_date, [*items, (replaced, "replace")])


class FakeClock:
    """time.monotonic and time.sleep stand-ins: sleeping advances the clock, calls are recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Request:
    """One request the fake saw."""

    at: float
    kind: str  # api, rss, hf
    params: dict[str, str]
    path: str
    agent: str = ""  # the User-Agent sent


@dataclass
class FakeServices:
    """The export API, RSS and HF daily papers, answering from recorded data."""

    records: list[dict]
    clock: FakeClock = field(default_factory=FakeClock)
    latency: float = 0.25  # seconds each request takes on the fake clock
    rss: dict[str, str] = field(default_factory=dict)  # category -> feed text (missing: 404)
    hf: dict[str, str] = field(default_factory=dict)  # date -> JSON text (missing: "[]")
    api_faults: list[object] = field(default_factory=list)  # per API request: status, "connect", "empty"
    id_list_status: int | None = None  # answer every id_list request with this status
    hf_status: int | None = None  # answer every HF request with this status
    indexed: int | None = None  # the search index lags: a window search finds at most this many papers
    broken_ids: dict[str, str | None] = field(
        default_factory=dict
    )  # record id -> <id> text sent (None: no <id>)
    # record id -> (element, text sent): a <published> or <updated> holding garbage (None: left out)
    broken_dates: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    style: str = "root"
    log: list[Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request."""
        path = request.url.path
        kind = "api" if path == "/api/query" else "rss" if path.startswith("/rss/") else "hf"
        self.log.append(
            Request(self.clock(), kind, dict(request.url.params), path, request.headers.get("User-Agent", ""))
        )
        self.clock.now += self.latency
        if kind == "api":
            return self._api(request)
        if kind == "rss":
            text = self.rss.get(path.rsplit("/", 1)[-1])
            return httpx.Response(200, text=text) if text is not None else httpx.Response(404, text="no feed")
        if self.hf_status is not None:
            return httpx.Response(self.hf_status, json={"error": "Internal Error"})
        return httpx.Response(200, text=self.hf.get(request.url.params.get("date", ""), "[]"))

    def _api(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        fault = self.api_faults.pop(0) if self.api_faults else None
        if fault == "connect":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if isinstance(fault, int):
            return httpx.Response(
                fault, text="<html>Service Unavailable</html>", headers={"Retry-After": "5"}
            )
        if params.get("id_list"):  # the arxiv package sends an empty id_list with a search
            if self.id_list_status is not None:
                return httpx.Response(self.id_list_status, text="down")
            wanted = params["id_list"].split(",")
            found = [r for r in self.records if r["id"] in wanted]
        else:
            match = _WINDOW.match(params.get("search_query", ""))
            if match is None:
                return httpx.Response(400, text=error_feed("malformed search_query"))
            cat, low, high = match.groups()
            found = sorted(
                (
                    r
                    for r in self.records
                    if cat in r["categories"]
                    and low <= r["published"].astimezone(dt.UTC).strftime("%Y%m%d%H%M") <= high
                ),
                key=lambda r: r["published"],
            )
            if self.indexed is not None:
                found = found[: self.indexed]
        start, size = int(params.get("start", 0)), int(params.get("max_results", 10))
        page = [] if fault == "empty" else found[start : start + size]
        text = atom_feed(page, total=len(found), start=start, per_page=size, style=self.style)
        for record in page:
            if record["id"] in self.broken_ids:
                good = f"<id>http://arxiv.org/abs/{record['id']}v{record['version']}</id>"
                bad = self.broken_ids[record["id"]]
                text = text.replace(good, "" if bad is None else f"<id>{escape(bad)}</id>")
            if record["id"] in self.broken_dates:
                name, bad = self.broken_dates[record["id"]]
                good = f"<{name}>{record['published'].astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}</{name}>"
                text = text.replace(good, "" if bad is None else f"<{name}>{escape(bad)}</{name}>", 1)
        return httpx.Response(200, text=text)

    def client(self) -> httpx.Client:
        """An httpx.Client whose requests this fake answers in process."""
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def requests(self, kind: str) -> list[Request]:
        """Logged requests of one kind."""
        return [r for r in self.log if r.kind == kind]


def standard_services(**kwargs: object) -> FakeServices:
    """The 2025-06-02 day: listing records + HF-only records, its RSS feed and HF list (under both dates)."""
    hf_text = fixture("days/hf_daily_papers_2025-06-02.json")
    records = day_records()
    known = {r["id"] for r in records}
    records += [r for r in hf_records(hf_text) if r["id"] not in known]
    services = FakeServices(records=records, **kwargs)  # type: ignore[arg-type]
    services.rss["cs.CV"] = listing_rss(day_records())
    services.hf = {"2025-06-02": hf_text}
    return services


class LocalServer:
    """A real HTTP server on 127.0.0.1 in a thread, answering with FakeServices.handle."""

    def __init__(self, services: FakeServices) -> None:
        fake = services

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                port = self.server.server_address[1]
                response = fake.handle(
                    httpx.Request(
                        "GET",
                        f"http://127.0.0.1:{port}{self.path}",
                        headers={"User-Agent": self.headers.get("User-Agent", "")},
                    )
                )
                body = response.content
                self.send_response(response.status_code)
                self.send_header("Content-Type", response.headers.get("Content-Type", "text/xml"))
                if "Retry-After" in response.headers:
                    self.send_header("Retry-After", response.headers["Retry-After"])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
