"""arXiv: Atom/RSS parsers on recorded payloads, window queries, and the polite client against a fake."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest

from digest.config import ArxivConfig
from digest.errors import FetchError, ParseError
from digest.ids import id_sort_key
from digest.sources.arxiv import (
    ArxivClient,
    arxiv_categories,
    clean_abstract,
    parse_atom,
    parse_rss,
    split_id,
    window_query,
)
from tests.helpers_sources import (
    ANNOUNCEMENT,
    LATE,
    OLDER_CROSS,
    FakeClock,
    FakeServices,
    day_records,
    error_feed,
    fixture,
)

UTC = dt.UTC

# --- Atom -------------------------------------------------------------------------------------


def test_atom_sample_fields_and_paging_numbers() -> None:
    page = parse_atom(fixture("arxiv_export_api_sample.xml"))
    assert (page.total_results, page.start_index, page.items_per_page, len(page.papers)) == (214881, 0, 10, 10)
    first = page.papers[0]
    assert (first.id, first.version, first.primary_category) == ("2202.12139", 1, "cs.SE")
    assert first.categories == ["cs.SE", "cs.LG"]
    assert first.title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert first.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.journal_ref is not None and first.journal_ref.startswith("Artificial Intelligence in Software")
    assert first.published == dt.datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert first.updated is not None and first.updated.tzinfo is not None
    assert len({p.id for p in page.papers}) == 10


def test_atom_namespaces_on_root_and_primary_without_scheme() -> None:
    page = parse_atom(fixture("arxiv_export_api_2026_excerpt.xml"))
    assert [p.id for p in page.papers] == ["2403.17411", "2507.20198"]
    survey = page.papers[1]
    assert (survey.version, survey.primary_category, survey.categories) == (5, "cs.CV", ["cs.CV"])
    assert survey.comment is not None and survey.comment.startswith("For ongoing updates")
    assert page.total_results == 1435012 and page.items_per_page == 20


def test_atom_namespaces_on_elements_and_hard_wraps() -> None:
    page = parse_atom(fixture("arxiv_export_api_sample_2025_crosslist.xml"))
    assert (page.total_results, page.items_per_page) == (5619, 2)
    rdd = page.papers[0]
    assert (rdd.id, rdd.version, rdd.primary_category) == ("2510.14968", 1, "cs.RO")
    assert rdd.title == ("RDD: Retrieval-Based Demonstration Decomposer for Planner Alignment in "
                         "Long-Horizon Tasks")
    assert "cs.CV" in rdd.categories and rdd.categories[0] == "cs.RO"
    assert "\n" not in rdd.abstract and "  " not in rdd.abstract
    assert rdd.abstract.startswith("To tackle long-horizon tasks, recent hierarchical vision-language-action (VLAs)")
    assert rdd.comment == ("39th Conference on Neural Information Processing Systems (NeurIPS 2025); "
                           "Project Website: rdd-neurips.github.io")
    assert rdd.published == dt.datetime(2025, 10, 16, 17, 59, 37, tzinfo=UTC)


def test_atom_id_list_answer() -> None:
    page = parse_atom(fixture("arxiv_export_api_idlist_sample.xml"))
    assert page.total_results == 1 and [p.id for p in page.papers] == ["1707.08567"]
    assert len(page.papers[0].authors) == 34 and page.papers[0].authors[-1] == "Hirosuke Yamamoto"


def test_atom_built_from_listing_keeps_paragraphs_and_drops_class_strings() -> None:
    records = day_records()
    for style in ("root", "element"):
        papers = parse_atom(_feed(records, style)).papers
        assert [p.id for p in papers] == [r["id"] for r in records]
        by_id = {p.id: p for p in papers}
        legal = by_id["2505.24826"]  # its abstract has two paragraphs
        assert legal.abstract.count("\n\n") == 1 and "\n" not in legal.abstract.replace("\n\n", "")
        assert legal.title == "LegalEval-Q: A New Benchmark for The Quality Evaluation of LLM-Generated Legal Text"
        robot = by_id["2505.24654"]  # categories cs.RO, cs.CV, "68T40, 68T45, 68M25,"
        assert robot.categories == ["cs.RO", "cs.CV"] and robot.primary_category == "cs.RO"
        assert all(p.published is not None and p.published.tzinfo is not None for p in papers)


def _feed(records: list[dict], style: str) -> str:
    from tests.helpers_sources import atom_feed

    return atom_feed(records, total=len(records), start=0, per_page=len(records), style=style)


@pytest.mark.parametrize(("raw", "expected"), [
    ("http://arxiv.org/abs/2510.14968v1", ("2510.14968", 1)),
    ("https://arxiv.org/abs/2203.01250", ("2203.01250", None)),
    ("oai:arXiv.org:2203.01250v3", ("2203.01250", 3)),
    ("http://arxiv.org/abs/math/0601001v2", ("math/0601001", 2)),
    ("http://arxiv.org/abs/math.GT/0309136v1", ("math.GT/0309136", 1)),
    ("hep-th/9901001", ("hep-th/9901001", None)),
    ("0704.0001v12", ("0704.0001", 12)),
])
def test_split_id(raw: str, expected: tuple[str, int | None]) -> None:
    assert split_id(raw) == expected


def test_old_style_id_in_atom() -> None:
    text = fixture("arxiv_export_api_2026_excerpt.xml").replace("2403.17411v1", "math/0601001v2", 1)
    assert (parse_atom(text).papers[0].id, parse_atom(text).papers[0].version) == ("math/0601001", 2)


def test_split_id_rejects_non_ids() -> None:
    with pytest.raises(ValueError, match="not an arXiv id"):
        split_id("http://arxiv.org/api/errors#bad")


def test_categories_filter_acm_and_msc_classes() -> None:
    terms = ["cs.CV", "I.4.10", "68T07", "cond-mat.mtrl-sci", "I.2.10; I.4.8", "68T40, 68T45, 68M25,",
             "physics.med-ph", "q-bio.NC", "hep-th", "cs.CV", "42A85"]
    assert arxiv_categories(terms) == ["cs.CV", "cond-mat.mtrl-sci", "physics.med-ph", "q-bio.NC", "hep-th"]


def test_clean_abstract_unwraps_and_keeps_paragraphs() -> None:
    text = "  First line\nwrapped here.\n  Second paragraph\nalso wrapped.\n\nThird.\n"
    assert clean_abstract(text) == "First line wrapped here.\n\nSecond paragraph also wrapped.\n\nThird."


def test_error_feed_is_parse_error_with_its_summary() -> None:
    with pytest.raises(ParseError, match="incorrect id format for 1234.1234v"):
        parse_atom(error_feed("incorrect id format for 1234.1234v"))


@pytest.mark.parametrize("text", ["<feed><entry><id>x</entry></feed>", "", "Service Unavailable"])
def test_malformed_atom_is_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="^arXiv export API returned malformed Atom: "):
        parse_atom(text)


def test_html_instead_of_atom_is_parse_error() -> None:
    with pytest.raises(ParseError, match="expected <feed>"):
        parse_atom("<html><body>Rate exceeded.</body></html>")


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
        ("2609.26811", "new"), ("2609.26820", "new"), ("2205.06398", "cross"), ("2009.13987", "replace")]
    assert feed.items[1].authors == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    stripped = parse_rss(fixture("arxiv_rss_multi_category_sample.xml").replace(
        "<arxiv:announce_type>cross</arxiv:announce_type>", ""))
    assert stripped.items[2].announce_type == "cross"


def test_rss_empty_holiday_feed() -> None:
    feed = parse_rss(fixture("arxiv_rss_empty_holiday.xml"))
    assert feed.items == [] and feed.date == dt.date(2025, 12, 31)


def test_rss_date_falls_back_to_last_build_date_in_eastern_time() -> None:
    text = fixture("arxiv_rss_cs.CV_sample.xml").replace(
        "<pubDate>Mon, 22 Sep 2025 00:00:00 -0400</pubDate>\n    <skipDays>", "<skipDays>")
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
    assert sorted(ids, key=id_sort_key) == ["math/0601001", "2412.00001", "2505.9999", "2505.23883", "2505.24877"]


# --- client -----------------------------------------------------------------------------------


def _client(services: FakeServices, **cfg: object) -> ArxivClient:
    config = ArxivConfig(**{"page_size": 50, **cfg})  # type: ignore[arg-type]
    return ArxivClient(config, services.client(), sleep=services.clock.sleep, clock=services.clock)


def _gaps(services: FakeServices) -> list[float]:
    times = [r.at for r in services.log]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_search_window_pages_and_excludes_outside_window() -> None:
    services = FakeServices(records=day_records())
    papers = _client(services).search_window("cs.CV", ANNOUNCEMENT.window_start, ANNOUNCEMENT.window_end)
    ids = [p.id for p in papers]
    assert len(ids) == 152 and len(set(ids)) == 152
    assert OLDER_CROSS not in ids and LATE not in ids
    assert ids == [r["id"] for r in day_records() if r["id"] not in (OLDER_CROSS, LATE)]  # ascending by time
    calls = services.requests("api")
    assert [c.params["start"] for c in calls] == ["0", "50", "100", "150"]
    assert {(c.params["max_results"], c.params["sortBy"], c.params["sortOrder"]) for c in calls} == {
        ("50", "submittedDate", "ascending")}
    assert calls[0].params["search_query"] == "cat:cs.CV AND submittedDate:[202505291800 TO 202505301800]"
    assert all(gap >= 3.0 for gap in _gaps(services))  # politeness: one request per 3 s
    assert services.clock.sleeps == [pytest.approx(2.75)] * 3  # 3 s minus the 0.25 s each request took


def test_namespaces_on_elements_through_the_client() -> None:
    services = FakeServices(records=day_records(), style="element")
    papers = _client(services, page_size=200).search_window(
        "cs.CV", ANNOUNCEMENT.window_start, ANNOUNCEMENT.window_end)
    assert len(papers) == 152 and papers[0].primary_category == "cs.CV"


def test_503_then_200_is_retried_with_backoff_and_politeness() -> None:
    services = FakeServices(records=day_records(), api_faults=[503])
    papers = _client(services, page_size=200).search_window(
        "cs.CV", ANNOUNCEMENT.window_start, ANNOUNCEMENT.window_end)
    assert len(papers) == 152
    assert len(services.requests("api")) == 2
    # Backoff: max(3 s base, Retry-After 5 s); the politeness gate then needs no extra wait.
    assert services.clock.sleeps == [5.0]
    assert _gaps(services) == [pytest.approx(5.25)]  # the 503 took 0.25 s, then 5 s of backoff


def test_retries_exhausted_names_url_and_status() -> None:
    services = FakeServices(records=day_records(), api_faults=[503] * 10)
    client = _client(services, max_retries=2)
    with pytest.raises(FetchError) as info:
        client.by_ids(["2505.23883"])
    message = str(info.value)
    assert "https://export.arxiv.org/api/query" in message and "HTTP 503" in message
    assert "id_list" not in message and "?" not in message and "3 attempt(s)" in message
    assert len(services.requests("api")) == 3
    assert services.clock.sleeps == [5.0, 6.0]  # 3 s, 6 s backoff (Retry-After 5 s wins once)


def test_connection_error_then_success() -> None:
    services = FakeServices(records=day_records(), api_faults=["connect"])
    [paper] = _client(services).by_ids(["2505.23883"])
    assert paper.id == "2505.23883"
    assert services.clock.sleeps == [3.0]


def test_connection_errors_exhausted() -> None:
    services = FakeServices(records=day_records(), api_faults=["connect"] * 3)
    with pytest.raises(FetchError, match="ConnectError"):
        _client(services, max_retries=2).by_ids(["2505.23883"])


def test_transient_empty_page_is_retried() -> None:
    services = FakeServices(records=day_records(), api_faults=[None, "empty"])
    papers = _client(services, page_size=100).search_window(
        "cs.CV", ANNOUNCEMENT.window_start, ANNOUNCEMENT.window_end)
    assert len(papers) == 152
    assert [c.params["start"] for c in services.requests("api")] == ["0", "100", "100"]


def test_persistent_empty_page_fails() -> None:
    services = FakeServices(records=day_records(), api_faults=["empty"] * 5)
    with pytest.raises(FetchError, match="empty page at start=0 of 152"):
        _client(services, max_retries=1).search_window(
            "cs.CV", ANNOUNCEMENT.window_start, ANNOUNCEMENT.window_end)


def test_empty_window_is_not_an_error() -> None:
    services = FakeServices(records=day_records())
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert _client(services).search_window("cs.CV", start, start + dt.timedelta(days=1)) == []
    assert len(services.requests("api")) == 1


def test_bad_request_with_error_feed_is_not_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=error_feed("malformed id 99"))

    clock = FakeClock()
    client = ArxivClient(ArxivConfig(), httpx.Client(transport=httpx.MockTransport(handler)),
                         sleep=clock.sleep, clock=clock)
    with pytest.raises(FetchError, match=r"HTTP 400 \(malformed id 99\)"):
        client.by_ids(["99"])
    assert clock.sleeps == []


def test_malformed_atom_from_server_is_parse_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<feed><entry>")

    clock = FakeClock()
    client = ArxivClient(ArxivConfig(), httpx.Client(transport=httpx.MockTransport(handler)),
                         sleep=clock.sleep, clock=clock)
    with pytest.raises(ParseError, match="malformed Atom"):
        client.search_window("cs.CV", ANNOUNCEMENT.window_start, ANNOUNCEMENT.window_end)


def test_by_ids_batches_of_100() -> None:
    records = day_records()
    services = FakeServices(records=records)
    ids = [r["id"] for r in records] + ["2505.23883", "2501.99999"]  # a duplicate and an unknown id
    papers = _client(services).by_ids(ids)
    assert sorted(p.id for p in papers) == sorted(r["id"] for r in records)
    calls = services.requests("api")
    assert [len(c.params["id_list"].split(",")) for c in calls] == [100, 55]
    assert [c.params["max_results"] for c in calls] == ["100", "55"]
    assert "search_query" not in calls[0].params
    assert _client(services).by_ids([]) == []


def test_rss_returns_text_or_none() -> None:
    services = FakeServices(records=[], rss={"cs.CV": fixture("arxiv_rss_cs.CV_sample.xml")})
    client = _client(services)
    assert client.rss("cs.CV") == fixture("arxiv_rss_cs.CV_sample.xml")
    assert client.rss("cs.XX") is None
    assert [r.path for r in services.log] == ["/rss/cs.CV", "/rss/cs.XX"]
    assert _gaps(services) == [pytest.approx(3.0)]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    clock = FakeClock()
    down = ArxivClient(ArxivConfig(), httpx.Client(transport=httpx.MockTransport(refuse)),
                       sleep=clock.sleep, clock=clock)
    assert down.rss("cs.CV") is None
