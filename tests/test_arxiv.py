"""arXiv: recorded export-API payloads through the `arxiv` package and a local server, RSS, the polite client."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import httpx
import pytest

from digest.config import ArxivConfig
from digest.errors import FetchError, ParseError
from digest.fetch.arxiv import (
    ArxivClient,
    arxiv_categories,
    check_answer,
    clean_abstract,
    window_query,
)
from digest.fetch.rss import parse_rss
from digest.ids import id_sort_key, parse_id
from digest.models import Paper
from tests.helpers_sources import (
    ANNOUNCEMENT,
    LATE,
    OLDER_CROSS,
    FakeClock,
    FakeServices,
    LocalServer,
    day_records,
    error_feed,
    fixture,
)

UTC = dt.UTC

# --- Atom (recorded pages served by a local server, read by the arxiv package) ----------------


class _Recorded:
    """Answers every export-API request with one recorded page, its totalResults set to its entries."""

    def __init__(self, text: str, status: int = 200) -> None:
        total = text.count("<entry>") + text.count("<entry ")
        self.text = re.sub(r"(<opensearch:totalResults[^>]*>)\d+", rf"\g<1>{total}", text)
        self.status = status
        self.log: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(str(request.url))
        return httpx.Response(self.status, text=self.text)


@contextmanager
def _served(fake: object, **cfg: object) -> Iterator[ArxivClient]:
    clock = getattr(fake, "clock", None) or FakeClock()
    with LocalServer(fake) as server, httpx.Client(trust_env=False) as http:  # type: ignore[arg-type]
        config = ArxivConfig(
            **{
                "page_size": 50,
                "api_url": f"{server.url}/api/query",  # type: ignore[arg-type]
                "rss_url": f"{server.url}/rss",
                **cfg,
            }
        )
        yield ArxivClient(config, http, sleep=clock.sleep, clock=clock)


def _papers(text: str) -> list[Paper]:
    with _served(_Recorded(text)) as client:
        return client.by_ids(["2202.12139"])


def test_atom_sample_fields() -> None:
    papers = _papers(fixture("arxiv_export_api_sample.xml"))
    assert len(papers) == 10 and len({p.id for p in papers}) == 10
    first = papers[0]
    assert (first.id, first.version, first.primary_category) == ("2202.12139", 1, "cs.SE")
    assert first.categories == ["cs.SE", "cs.LG"]
    assert (
        first.title
        == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    )
    assert first.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.journal_ref is not None and first.journal_ref.startswith(
        "Artificial Intelligence in Software"
    )
    assert first.published == dt.datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert first.updated is not None and first.updated.tzinfo is not None


def test_atom_namespaces_on_root_and_primary_without_scheme() -> None:
    papers = _papers(fixture("arxiv_export_api_2026_excerpt.xml"))
    assert [p.id for p in papers] == ["2403.17411", "2507.20198"]
    survey = papers[1]
    assert (survey.version, survey.primary_category, survey.categories) == (5, "cs.CV", ["cs.CV"])
    assert survey.comment is not None and survey.comment.startswith("For ongoing updates")


def test_atom_namespaces_on_elements_and_hard_wraps() -> None:
    papers = _papers(fixture("arxiv_export_api_sample_2025_crosslist.xml"))
    rdd = papers[0]
    assert (rdd.id, rdd.version, rdd.primary_category) == ("2510.14968", 1, "cs.RO")
    assert rdd.title == (
        "RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in Long-Horizon Tasks"
    )
    assert "cs.CV" in rdd.categories and rdd.categories[0] == "cs.RO"
    assert "\n" not in rdd.abstract and "  " not in rdd.abstract
    assert rdd.abstract.startswith(
        "To tackle long-horizon tasks, recent hierarchical vision-language-action (VLAs)"
    )
    assert rdd.comment == (
        "39th Conference on Neural Information Processing Systems (NeurIPS 2025); "
        "Project Website: rdd-neurips.github.io"
    )
    assert rdd.published == dt.datetime(2025, 10, 16, 17, 59, 37, tzinfo=UTC)


def test_atom_id_list_answer() -> None:
    papers = _papers(fixture("arxiv_export_api_idlist_sample.xml"))
    assert [p.id for p in papers] == ["1707.08567"]
    assert len(papers[0].authors) == 34 and papers[0].authors[-1] == "Hirosuke Yamamoto"


def test_atom_built_from_listing_keeps_paragraphs_and_drops_class_strings() -> None:
    records = day_records()
    for style in ("root", "element"):
        papers = _papers(_feed(records, style))
        assert [p.id for p in papers] == [r["id"] for r in records]
        by_id = {p.id: p for p in papers}
        legal = by_id["2505.24826"]  # its abstract has two paragraphs
        assert legal.abstract.count("\n\n") == 1 and "\n" not in legal.abstract.replace("\n\n", "")
        assert (
            legal.title
            == "LegalEval-Q: A New Benchmark for The Quality Evaluation of LLM-Generated Legal Text"
        )
        robot = by_id["2505.24654"]  # categories cs.RO, cs.CV, "68T40, 68T45, 68M25,"
        assert robot.categories == ["cs.RO", "cs.CV"] and robot.primary_category == "cs.RO"
        assert all(p.published is not None and p.published.tzinfo is not None for p in papers)


def _feed(records: list[dict], style: str) -> str:
    from tests.helpers_sources import atom_feed

    return atom_feed(records, total=len(records), start=0, per_page=len(records), style=style)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://arxiv.org/abs/2510.14968v1", ("2510.14968", 1)),
        ("https://arxiv.org/abs/2203.01250", ("2203.01250", None)),
        ("oai:arXiv.org:2203.01250v3", ("2203.01250", 3)),
        ("http://arxiv.org/abs/math/0601001v2", ("math/0601001", 2)),
        ("http://arxiv.org/abs/math.GT/0309136v1", ("math.GT/0309136", 1)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("0704.0001v12", ("0704.0001", 12)),
    ],
)
def test_parse_id(raw: str, expected: tuple[str, int | None]) -> None:
    assert parse_id(raw) == expected


def test_old_style_id_in_atom() -> None:
    text = fixture("arxiv_export_api_2026_excerpt.xml").replace("2403.17411v1", "math/0601001v2", 1)
    first = _papers(text)[0]
    assert (first.id, first.version) == ("math/0601001", 2)


def test_parse_id_rejects_error_entry_ids() -> None:
    with pytest.raises(ValueError, match="not an arXiv id"):
        parse_id("http://arxiv.org/api/errors#bad")


def test_categories_filter_acm_and_msc_classes() -> None:
    terms = [
        "cs.CV",
        "I.4.10",
        "68T07",
        "cond-mat.mtrl-sci",
        "I.2.10; I.4.8",
        "68T40, 68T45, 68M25,",
        "physics.med-ph",
        "q-bio.NC",
        "hep-th",
        "cs.CV",
        "42A85",
    ]
    assert arxiv_categories(terms) == ["cs.CV", "cond-mat.mtrl-sci", "physics.med-ph", "q-bio.NC", "hep-th"]


def test_clean_abstract_unwraps_and_keeps_paragraphs() -> None:
    text = "  First line\nwrapped here.\n  Second paragraph\nalso wrapped.\n\nThird.\n"
    assert clean_abstract(text) == "First line wrapped here.\n\nSecond paragraph also wrapped.\n\nThird."


def test_error_feed_is_parse_error_with_its_summary() -> None:
    with pytest.raises(ParseError, match="incorrect id format for 1234.1234v"):
        check_answer(error_feed("incorrect id format for 1234.1234v"))


@pytest.mark.parametrize("text", ["<feed><entry><id>x</entry></feed>", "", "Service Unavailable"])
def test_malformed_atom_is_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="^arXiv export API returned malformed Atom: "):
        check_answer(text)


def test_html_instead_of_atom_is_parse_error() -> None:
    with pytest.raises(ParseError, match="expected an Atom <feed>"):
        check_answer("<html><body>Rate exceeded.</body></html>")


# --- RSS --------------------------------------------------------------------------------------


def test_rss_sample_item_and_channel_date() -> None:
    feed = parse_rss(fixture("arxiv_rss_cs.CV_sample.xml"))
    assert feed.date == dt.date(2025, 9, 22)
    [item] = feed.items
    assert (item.id, item.version, item.announce_type) == ("2203.01250", 3, "replace-cross")
    assert item.title == "Mass concentration in rescaled first order integral functionals"
    assert item.authors == ["Antonin Monteil", "Paul Pegon"]
    assert item.categories == ["math.AP", "math.OC"] and item.primary_category == "math.AP"
    assert item.abstract.startswith("We consider first order local minimization problems")
    assert item.to_paper().primary_category == "math.AP"


def test_rss_announce_type_from_description_with_space_before_newline() -> None:
    text = fixture("arxiv_rss_cs.CV_sample.xml")
    text = text.replace("<arxiv:announce_type>replace-cross</arxiv:announce_type>", "")
    assert "Announce Type: replace-cross \nAbstract:" in text
    [item] = parse_rss(text).items
    assert item.announce_type == "replace-cross"
    assert not item.abstract.startswith("arXiv:")


def test_rss_multi_category_announce_types() -> None:
    feed = parse_rss(fixture("arxiv_rss_multi_category_sample.xml"))
    assert feed.date == dt.date(2026, 9, 24)
    assert [(i.id, i.announce_type) for i in feed.items] == [
        ("2609.26811", "new"),
        ("2609.26820", "new"),
        ("2205.06398", "cross"),
        ("2009.13987", "replace"),
    ]
    assert feed.items[1].authors == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    stripped = parse_rss(
        fixture("arxiv_rss_multi_category_sample.xml").replace(
            "<arxiv:announce_type>cross</arxiv:announce_type>", ""
        )
    )
    assert stripped.items[2].announce_type == "cross"


def test_rss_empty_holiday_feed() -> None:
    feed = parse_rss(fixture("arxiv_rss_empty_holiday.xml"))
    assert feed.items == [] and feed.date == dt.date(2025, 12, 31)


def test_rss_date_falls_back_to_last_build_date_in_eastern_time() -> None:
    text = fixture("arxiv_rss_cs.CV_sample.xml").replace(
        "<pubDate>Mon, 22 Sep 2025 00:00:00 -0400</pubDate>\n    <skipDays>", "<skipDays>"
    )
    assert "Mon, 22 Sep 2025 00:00:00 -0400" not in text
    assert parse_rss(text).date == dt.date(2025, 9, 22)  # 04:00:01 UTC is 00:00:01 in New York
    no_dates = text.replace("<lastBuildDate>Mon, 22 Sep 2025 04:00:01 +0000</lastBuildDate>", "")
    assert parse_rss(no_dates).date is None


def test_rss_malformed_or_not_rss() -> None:
    with pytest.raises(ParseError, match="malformed XML"):
        parse_rss("<rss><channel>")
    with pytest.raises(ParseError, match="no <channel>"):
        parse_rss("<html/>")


# --- window query -----------------------------------------------------------------------------


def test_window_query_in_gmt() -> None:
    expected = "cat:cs.CV AND submittedDate:[202505291800 TO 202505301800]"
    assert window_query("cs.CV", ANNOUNCEMENT.window_start, ANNOUNCEMENT.window_end) == expected
    eastern = ZoneInfo("America/New_York")
    start = dt.datetime(2025, 5, 29, 14, 0, tzinfo=eastern)
    assert window_query("cs.CV", start, start + dt.timedelta(days=1)) == expected
    with pytest.raises(ValueError, match="timezone-aware"):
        window_query("cs.CV", dt.datetime(2025, 5, 29, 18), ANNOUNCEMENT.window_end)


def test_id_sort_key_orders_announcement_ids() -> None:
    ids = ["2505.24877", "2505.9999", "math/0601001", "2505.23883", "2412.00001"]
    assert sorted(ids, key=id_sort_key) == [
        "math/0601001",
        "2412.00001",
        "2505.9999",
        "2505.23883",
        "2505.24877",
    ]


# --- client -----------------------------------------------------------------------------------


def _gaps(services: FakeServices) -> list[float]:
    times = [r.at for r in services.log]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def _window(client: ArxivClient) -> list[Paper]:
    return client.search_window("cs.CV", ANNOUNCEMENT.window_start, ANNOUNCEMENT.window_end)


def test_search_window_pages_and_excludes_outside_window() -> None:
    services = FakeServices(records=day_records())
    with _served(services) as client:
        papers = _window(client)
        assert client.requests == 4
    ids = [p.id for p in papers]
    assert len(ids) == 152 and len(set(ids)) == 152
    assert OLDER_CROSS not in ids and LATE not in ids
    assert ids == [r["id"] for r in day_records() if r["id"] not in (OLDER_CROSS, LATE)]  # ascending by time
    calls = services.requests("api")
    assert [c.params["start"] for c in calls] == ["0", "50", "100", "150"]
    assert {(c.params["max_results"], c.params["sortBy"], c.params["sortOrder"]) for c in calls} == {
        ("50", "submittedDate", "ascending")
    }
    assert calls[0].params["search_query"] == "cat:cs.CV AND submittedDate:[202505291800 TO 202505301800]"
    assert all(gap >= 3.0 for gap in _gaps(services))  # politeness: one request per 3 s
    assert services.clock.sleeps == [pytest.approx(2.75)] * 3  # 3 s minus the 0.25 s each request took


def test_one_page_of_up_to_2000_by_default() -> None:
    services = FakeServices(records=day_records())
    with _served(services, page_size=ArxivConfig().page_size) as client:
        assert len(_window(client)) == 152
    assert [c.params["max_results"] for c in services.requests("api")] == ["2000"]


def test_namespaces_on_elements_through_the_client() -> None:
    services = FakeServices(records=day_records(), style="element")
    with _served(services, page_size=200) as client:
        papers = _window(client)
    assert len(papers) == 152 and papers[0].primary_category == "cs.CV"


def test_503_then_200_is_retried_with_backoff_and_politeness() -> None:
    services = FakeServices(records=day_records(), api_faults=[503])
    with _served(services, page_size=200) as client:
        assert len(_window(client)) == 152
    assert len(services.requests("api")) == 2
    # Backoff: max(3 s base, Retry-After 5 s); the politeness gate then needs no extra wait.
    assert services.clock.sleeps == [5.0]
    assert _gaps(services) == [pytest.approx(5.25)]  # the 503 took 0.25 s, then 5 s of backoff


def test_retries_exhausted_names_url_and_status() -> None:
    services = FakeServices(records=day_records(), api_faults=[503] * 10)
    with _served(services, max_retries=2) as client, pytest.raises(FetchError) as info:
        client.by_ids(["2505.23883"])
    message = str(info.value)
    assert "/api/query failed" in message and "HTTP 503" in message
    assert "id_list" not in message and "?" not in message and "3 attempt(s)" in message
    assert len(services.requests("api")) == 3
    assert services.clock.sleeps == [5.0, 6.0]  # 3 s, 6 s backoff (Retry-After 5 s wins once)


def test_connection_error_then_success() -> None:
    services = FakeServices(records=day_records(), api_faults=["connect"])
    with _served(services) as client:
        [paper] = client.by_ids(["2505.23883"])
    assert paper.id == "2505.23883"
    assert services.clock.sleeps == [3.0]


def test_connection_errors_exhausted() -> None:
    services = FakeServices(records=day_records(), api_faults=["connect"] * 3)
    with _served(services, max_retries=2) as client, pytest.raises(FetchError, match="ConnectionError"):
        client.by_ids(["2505.23883"])


def test_transient_empty_page_is_retried_from_where_it_stopped() -> None:
    services = FakeServices(records=day_records(), api_faults=[None, "empty"])
    with _served(services, page_size=100) as client:
        assert len(_window(client)) == 152
    assert [c.params["start"] for c in services.requests("api")] == ["0", "100", "100"]


def test_persistent_empty_page_fails() -> None:
    services = FakeServices(records=day_records(), api_faults=["empty"] * 5)
    with (
        _served(services, max_retries=1) as client,
        pytest.raises(FetchError, match="empty page at start=0 of 152"),
    ):
        _window(client)


def test_empty_window_is_not_an_error() -> None:
    services = FakeServices(records=day_records())
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    with _served(services) as client:
        assert client.search_window("cs.CV", start, start + dt.timedelta(days=1)) == []
    assert len(services.requests("api")) == 1


def test_bad_request_with_error_feed_is_not_retried() -> None:
    fake = _Recorded(error_feed("malformed id 99"), status=400)
    with _served(fake) as client, pytest.raises(FetchError, match=r"HTTP 400 \(malformed id 99\)"):
        client.by_ids(["99"])
    assert len(fake.log) == 1


def test_malformed_atom_from_server_is_parse_error() -> None:
    with _served(_Recorded("<feed><entry>")) as client, pytest.raises(ParseError, match="malformed Atom"):
        _window(client)


def test_by_ids_batches_of_100() -> None:
    records = day_records()
    services = FakeServices(records=records)
    ids = [r["id"] for r in records] + ["2505.23883", "2501.99999"]  # a duplicate and an unknown id
    with _served(services, page_size=2000) as client:
        papers = client.by_ids(ids)
        assert client.by_ids([]) == []
    assert sorted(p.id for p in papers) == sorted(r["id"] for r in records)
    calls = services.requests("api")
    assert [len(c.params["id_list"].split(",")) for c in calls] == [100, 55]
    assert not calls[0].params.get("search_query")


def test_one_user_agent_for_api_and_rss() -> None:
    services = FakeServices(records=day_records(), rss={"cs.CV": fixture("arxiv_rss_cs.CV_sample.xml")})
    with (
        LocalServer(services) as server,
        httpx.Client(headers={"User-Agent": "digest-test/1"}, trust_env=False) as http,
    ):
        cfg = ArxivConfig(api_url=f"{server.url}/api/query", rss_url=f"{server.url}/rss", min_interval_s=0)
        client = ArxivClient(cfg, http)
        client.by_ids(["2505.23883"])
        client.rss("cs.CV")
    assert [r.agent for r in services.log] == ["digest-test/1"] * 2


def test_rss_returns_text_or_none() -> None:
    services = FakeServices(records=[], rss={"cs.CV": fixture("arxiv_rss_cs.CV_sample.xml")})
    with _served(services) as client:
        assert client.rss("cs.CV") == fixture("arxiv_rss_cs.CV_sample.xml")
        assert client.rss("cs.XX") is None
    assert [r.path for r in services.log] == ["/rss/cs.CV", "/rss/cs.XX"]
    assert _gaps(services) == [pytest.approx(3.0)]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    clock = FakeClock()
    down = ArxivClient(
        ArxivConfig(), httpx.Client(transport=httpx.MockTransport(refuse)), sleep=clock.sleep, clock=clock
    )
    assert down.rss("cs.CV") is None
    assert clock.sleeps == [3.0]  # one retry of a network failure


def test_an_entry_with_a_missing_or_garbage_id_is_skipped_with_a_warning(caplog) -> None:
    records = day_records()
    garbage, missing = records[3], records[7]
    services = FakeServices(
        records=records, broken_ids={garbage["id"]: "oai:arXiv.org:not-an-id", missing["id"]: None}
    )
    with (
        _served(services, min_interval_s=0, max_retries=0) as client,
        caplog.at_level(logging.WARNING, logger="digest"),
    ):
        papers = _window(client)
    ids = [p.id for p in papers]
    assert len(ids) == 150 and garbage["id"] not in ids and missing["id"] not in ids
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not-an-id" in w and garbage["title"] in w and "skipped" in w for w in warnings)
    assert any("no <id>" in w and missing["title"] in w and "skipped" in w for w in warnings)


@pytest.mark.parametrize(
    "element, text, named",
    [
        ("published", "yesterday-ish", "'yesterday-ish'"),
        ("updated", "  ", "no <updated>"),
        ("published", "2025-05-29T18:05:00+25:00", "+25:00"),
        ("updated", "2025-13-45T99:99:99Z", "2025-13-45"),
        ("published", None, "no <published>"),
    ],
)
def test_an_entry_with_a_missing_or_garbage_date_is_skipped_and_named_not_the_page(
    caplog, element, text, named
) -> None:
    records = day_records()
    broken = records[5]
    services = FakeServices(records=records, broken_dates={broken["id"]: (element, text)})
    with (
        _served(services, min_interval_s=0, max_retries=0) as client,
        caplog.at_level(logging.WARNING, logger="digest"),
    ):
        papers = _window(client)
    ids = [p.id for p in papers]
    assert len(ids) == 151 and broken["id"] not in ids
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(named in w and broken["title"] in w and "skipped" in w for w in warnings), warnings
